-- SPDX-License-Identifier: Apache-2.0
-- The Project reconcile policy: from a Project (kipper.run/v1alpha1, cluster-scoped) to a namespace
-- per environment with Pod Security labels, quotas and limit defaults where asked, and RoleBindings
-- for its members; its status says which namespaces exist. Pure: reads only the Project and ctx.
-- Uses kip.policy.project, .status, .labels and .invalid.
local invalid = require "kip.policy.invalid"
local labels = require "kip.policy.labels"
local project = require "kip.policy.project"
local status = require "kip.policy.status"

local M = {
  api_version = "kipper.run/v1alpha1",
  kind = "Project",
  owns = { { "v1", "Namespace" }, { "v1", "ResourceQuota" }, { "v1", "LimitRange" }, { "rbac.authorization.k8s.io/v1", "RoleBinding" },
    { "rbac.authorization.k8s.io/v1", "ClusterRoleBinding" } },
  reads = { { "v1", "Namespace" } }, -- watched whole: a namespace that exists already is refused, not taken over
  finalizer = nil,
}

-- Refuses a namespace that exists and belongs to no project or another one.
local function check_taken(name, ns, observed)
  if not observed then return end
  local owner = (observed.metadata.labels or {})[labels.PROJECT]
  if owner ~= name then
    invalid.raise("NamespaceTaken", "namespace %s already exists and %s: %s", ns,
      owner and ("belongs to project " .. owner) or "belongs to no project",
      owner and "rename this project's environment" or string.format("to adopt it, label it: kubectl label namespace %s %s=%s", ns, labels.PROJECT, name))
  end
end

---@param resource table the Project
---@param ctx table the policy context
---@return {objects: table[], status: table}
function M.reconcile(resource, ctx)
  local name, spec = resource.metadata.name, resource.spec or {}
  local objects, namespaces, pending = {}, {}, {}
  local common = { [labels.PROJECT] = name, [labels.PART_OF] = "kipper", [labels.MANAGED_BY] = "kipperd" }
  for _, p in ipairs(project.plan(name, spec)) do
    local observed = ctx.observed("v1", "Namespace", nil, p.name)
    check_taken(name, p.name, observed)
    namespaces[#namespaces + 1] = p.name
    if not (observed and (observed.status or {}).phase == "Active") then pending[#pending + 1] = p.name end
    objects[#objects + 1] = project.namespace_object(name, p.name, p.env)
    for _, o in ipairs(project.quota_objects(p.name, p.env, common)) do objects[#objects + 1] = o end
    for _, m in ipairs(spec.members or {}) do objects[#objects + 1] = project.role_binding(p.name, m, common) end
  end
  for _, o in ipairs(project.reader_objects(name, spec.members or {}, common)) do objects[#objects + 1] = o end
  local ready
  if #pending == 0 then
    ready = status.condition("Ready", true, "NamespacesActive", string.format(#namespaces == 1 and "namespace %s is active" or "namespaces %s are active",
      table.concat(namespaces, ", ")))
  else
    ready = status.condition("Ready", false, "NamespacesPending", string.format(#pending == 1 and "waiting for namespace %s" or "waiting for namespaces %s",
      table.concat(pending, ", ")))
  end
  return {
    objects = objects,
    status = { phase = #pending == 0 and "Ready" or "Pending", namespaces = namespaces, conditions = { ready } },
  }
end

return M
