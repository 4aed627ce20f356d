-- SPDX-License-Identifier: Apache-2.0
-- The labels and annotations reconcile policies put on the objects they want, and read from the
-- resources they reconcile: selector labels, the common app.kubernetes.io/* set, and the
-- kipper.run/* annotations users set (allow-root, delete-data). Pure Lua, no dependencies.
local M = {}

M.NAME = "app.kubernetes.io/name"
M.INSTANCE = "app.kubernetes.io/instance"
M.COMPONENT = "app.kubernetes.io/component"
M.PART_OF = "app.kubernetes.io/part-of"
M.MANAGED_BY = "app.kubernetes.io/managed-by"

-- kipper.run/* keys
M.ALLOW_ROOT = "kipper.run/allow-root"       -- on an App: "true" drops the restricted securityContext
M.DELETE_DATA = "kipper.run/delete-data"     -- on a Service: "true" deletes its volume and credentials with it
M.RETAIN = "kipper.run/retain"               -- on an emitted object: "true" = no ownerReference, never pruned
M.REVISION_OF = "kipper.run/revision-of"     -- on an App's ControllerRevisions: the App's name
M.REVISION = "kipper.run/revision"           -- on an App's Deployment: the revision number it runs
M.TEMPLATE_HASH = "kipper.run/template-hash" -- on a Deployment or StatefulSet: hash of the pod template applied
M.PROJECT = "kipper.run/project"             -- on a Project's namespaces and objects
M.ENVIRONMENT = "kipper.run/environment"     -- on a Project's namespaces

---The labels a workload selects its pods by. Fixed for the life of the resource (selectors of
---Deployments and StatefulSets cannot change).
---@param instance string the resource's name
---@param component "app"|"service"
---@param name? string app.kubernetes.io/name (default: instance; a Service uses its type)
---@return table<string, string>
function M.selector(instance, component, name)
  return { [M.NAME] = name or instance, [M.INSTANCE] = instance, [M.COMPONENT] = component }
end

---The selector labels plus part-of=kipper and managed-by=kipperd, and extra ones.
---@return table<string, string>
function M.common(instance, component, name, extra)
  local out = M.selector(instance, component, name)
  out[M.PART_OF] = "kipper"
  out[M.MANAGED_BY] = "kipperd"
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

---Whether a resource carries annotation key with the value "true".
---@param resource table
---@param key string
---@return boolean
function M.is_true(resource, key)
  local a = resource.metadata and resource.metadata.annotations
  return a ~= nil and a[key] == "true"
end

---Whether obj is controlled by resource (a controller ownerReference of its kind and name).
---@param obj table an observed object
---@param resource table the App, Service or Project
---@return boolean
function M.controlled_by(obj, resource)
  for _, ref in ipairs((obj.metadata or {}).ownerReferences or {}) do
    if ref.controller then return ref.kind == resource.kind and ref.name == resource.metadata.name end
  end
  return false
end

return M
