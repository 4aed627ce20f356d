-- SPDX-License-Identifier: Apache-2.0
-- What a Project is made of: a namespace per environment (PROJECT for an environment named
-- "default" or like the project, PROJECT-ENV otherwise) with Pod Security labels, a ResourceQuota
-- and LimitRange where the environment has a quota, a RoleBinding per member and namespace, and a
-- ClusterRoleBinding letting the members read Projects
-- (owner: admin, deployer: edit, viewer: view). Uses kip.policy.hash and .invalid.
local hash = require "kip.policy.hash"
local invalid = require "kip.policy.invalid"
local labels_mod = require "kip.policy.labels"

local M = {}

M.READER_ROLE = "kipper-project-reader" -- made by kip install (kip.platform.components.user_roles)

M.ROLES = { owner = "admin", deployer = "edit", viewer = "view" }
M.RESERVED = { default = true, ["kipper-system"] = true, ["cert-manager"] = true, longhorn = true, ["longhorn-system"] = true }
-- What a container gets when it names no requests or limits (the standard profile), so pods fit a quota.
M.DEFAULT_REQUEST = { cpu = "100m", memory = "256Mi" }
M.DEFAULT_LIMIT = { cpu = "500m", memory = "512Mi" }

---The namespace of one environment of a project.
---@param project string
---@param env string
---@return string
function M.namespace(project, env)
  if env == "default" or env == project then return project end
  return project .. "-" .. env
end

---The environments of a project: spec.environments, or one named "default" when there are none.
---@param spec table
---@return table[]
function M.environments(spec)
  local envs = spec.environments
  if envs == nil or #envs == 0 then return { { name = "default" } } end
  return envs
end

---The namespaces of a project, one per environment, checked: each a DNS label, none twice, none
---reserved for the system.
---@param project string
---@param spec table
---@return {name: string, env: table}[]
function M.plan(project, spec)
  local out, seen = {}, {}
  for _, env in ipairs(M.environments(spec)) do
    local ns = M.namespace(project, env.name)
    if #ns > 63 then
      invalid.raise("NamespaceTooLong", "environment %s of project %s would be namespace %s, longer than 63 characters: "
        .. "shorten the project or environment name", env.name, project, ns)
    end
    if M.RESERVED[ns] or ns:match("^kube%-") then
      invalid.raise("NamespaceReserved", "environment %s of project %s would be namespace %s, which the system uses: rename the project or environment",
        env.name, project, ns)
    end
    if seen[ns] then
      invalid.raise("NamespaceConflict", "environments %s and %s of project %s both map to namespace %s: rename one",
        seen[ns], env.name, project, ns)
    end
    seen[ns] = env.name
    out[#out + 1] = { name = ns, env = env }
  end
  return out
end

---The Namespace of an environment.
function M.namespace_object(project, ns, env)
  return { apiVersion = "v1", kind = "Namespace", metadata = { name = ns, labels = {
    [labels_mod.PROJECT] = project, [labels_mod.ENVIRONMENT] = env.name,
    [labels_mod.PART_OF] = "kipper", [labels_mod.MANAGED_BY] = "kipperd",
    ["pod-security.kubernetes.io/enforce"] = "baseline", ["pod-security.kubernetes.io/warn"] = "restricted",
  } } }
end

local function quantity_text(v)
  if math.type(v) == "integer" then return tostring(v) end
  return v
end

---The ResourceQuota and LimitRange of an environment with a quota, or nothing.
---@return table[] objects
function M.quota_objects(ns, env, labels)
  local q = env.quota
  if not q or (q.cpu == nil and q.memory == nil and q.pods == nil) then return {} end
  local hard = {}
  if q.cpu ~= nil then hard["requests.cpu"] = quantity_text(q.cpu) end
  if q.memory ~= nil then hard["requests.memory"] = quantity_text(q.memory) end
  if q.pods ~= nil then hard.pods = tostring(q.pods) end
  return {
    { apiVersion = "v1", kind = "ResourceQuota", metadata = { name = "kipper-quota", namespace = ns, labels = labels },
      spec = { hard = hard } },
    { apiVersion = "v1", kind = "LimitRange", metadata = { name = "kipper-defaults", namespace = ns, labels = labels },
      spec = { limits = { { type = "Container", defaultRequest = M.DEFAULT_REQUEST, default = M.DEFAULT_LIMIT } } } },
  }
end

---The RoleBinding of a member in a namespace, named after the role and a hash of the e-mail
---(roleRef cannot change, so a new role is a new binding and the old one is pruned).
function M.role_binding(ns, member, labels)
  local role = member.role or "viewer"
  local cluster_role = M.ROLES[role]
  if not cluster_role then
    invalid.raise("InvalidRole", "member %s has role %q: use owner, deployer or viewer", tostring(member.email), tostring(role))
  end
  return { apiVersion = "rbac.authorization.k8s.io/v1", kind = "RoleBinding",
    metadata = { name = "kipper-" .. role .. "-" .. hash.short(member.email), namespace = ns, labels = labels,
      annotations = { ["kipper.run/member"] = member.email } },
    roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = cluster_role },
    subjects = { { kind = "User", apiGroup = "rbac.authorization.k8s.io", name = member.email } } }
end

---The ClusterRoleBinding of kipper-project-reader (made by kip install) to every member, so they can
---read Projects (cluster-scoped: their namespace roles do not cover them); none without members.
---@return table[] objects
function M.reader_objects(project, members, labels)
  if #members == 0 then return {} end
  local subjects = {}
  for _, m in ipairs(members) do
    subjects[#subjects + 1] = { kind = "User", apiGroup = "rbac.authorization.k8s.io", name = m.email }
  end
  return {
    { apiVersion = "rbac.authorization.k8s.io/v1", kind = "ClusterRoleBinding",
      metadata = { name = "kipper-project-" .. project, labels = labels },
      roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = M.READER_ROLE }, subjects = subjects },
  }
end

return M
