-- SPDX-License-Identifier: Apache-2.0
-- The resources the sandbox API serves: group, version, kind, plural, scope, short names, verbs,
-- subresources, the schema file that validates them and the columns `kubectl get` shows.
-- CustomResourceDefinitions add entries at run time (kip.sandbox.crds). Pure data and lookups.
local M = {}

local ALL_VERBS = { "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch" }

-- Columns: {name, type, jsonpath-ish getter, priority}; the first is always Name.
-- Getters are functions of the object, filled in kip.sandbox.tables.
local builtin = {
  { group = "", version = "v1", kind = "Namespace", resource = "namespaces", namespaced = false, short = { "ns" }, status = true, schema = "namespace-v1" },
  { group = "", version = "v1", kind = "Node", resource = "nodes", namespaced = false, short = { "no" }, status = true, schema = "node-v1" },
  { group = "", version = "v1", kind = "Pod", resource = "pods", namespaced = true, short = { "po" }, status = true, schema = "pod-v1", categories = { "all" }, log = true },
  { group = "", version = "v1", kind = "Service", resource = "services", namespaced = true, short = { "svc" }, status = true, schema = "service-v1", categories = { "all" } },
  { group = "", version = "v1", kind = "ConfigMap", resource = "configmaps", namespaced = true, short = { "cm" }, schema = "configmap-v1" },
  { group = "", version = "v1", kind = "Secret", resource = "secrets", namespaced = true, schema = "secret-v1" },
  { group = "", version = "v1", kind = "ServiceAccount", resource = "serviceaccounts", namespaced = true, short = { "sa" }, schema = "serviceaccount-v1" },
  { group = "", version = "v1", kind = "PersistentVolumeClaim", resource = "persistentvolumeclaims", namespaced = true, short = { "pvc" }, status = true, schema = "persistentvolumeclaim-v1" },
  { group = "", version = "v1", kind = "PersistentVolume", resource = "persistentvolumes", namespaced = false, short = { "pv" }, status = true },
  { group = "", version = "v1", kind = "Event", resource = "events", namespaced = true, short = { "ev" }, schema = "event-v1" },
  { group = "", version = "v1", kind = "ResourceQuota", resource = "resourcequotas", namespaced = true, short = { "quota" }, status = true, schema = "resourcequota-v1" },
  { group = "", version = "v1", kind = "LimitRange", resource = "limitranges", namespaced = true, short = { "limits" }, schema = "limitrange-v1" },
  { group = "", version = "v1", kind = "Endpoints", resource = "endpoints", namespaced = true, short = { "ep" } },
  { group = "apps", version = "v1", kind = "Deployment", resource = "deployments", namespaced = true, short = { "deploy" }, status = true, scale = true,
    schema = "deployment-apps-v1", categories = { "all" } },
  { group = "apps", version = "v1", kind = "ReplicaSet", resource = "replicasets", namespaced = true, short = { "rs" }, status = true, scale = true, categories = { "all" } },
  { group = "apps", version = "v1", kind = "StatefulSet", resource = "statefulsets", namespaced = true, short = { "sts" }, status = true, scale = true,
    schema = "statefulset-apps-v1", categories = { "all" } },
  { group = "apps", version = "v1", kind = "ControllerRevision", resource = "controllerrevisions", namespaced = true },
  { group = "apps", version = "v1", kind = "DaemonSet", resource = "daemonsets", namespaced = true, short = { "ds" }, status = true, schema = "daemonset-apps-v1", categories = { "all" } },
  { group = "batch", version = "v1", kind = "Job", resource = "jobs", namespaced = true, status = true, schema = "job-batch-v1", categories = { "all" } },
  { group = "batch", version = "v1", kind = "CronJob", resource = "cronjobs", namespaced = true, short = { "cj" }, status = true, schema = "cronjob-batch-v1", categories = { "all" } },
  { group = "networking.k8s.io", version = "v1", kind = "Ingress", resource = "ingresses", namespaced = true, short = { "ing" }, status = true, schema = "ingress-networking-v1" },
  { group = "networking.k8s.io", version = "v1", kind = "NetworkPolicy", resource = "networkpolicies", namespaced = true, short = { "netpol" }, schema = "networkpolicy-networking-v1" },
  { group = "rbac.authorization.k8s.io", version = "v1", kind = "Role", resource = "roles", namespaced = true, schema = "role-rbac-v1" },
  { group = "rbac.authorization.k8s.io", version = "v1", kind = "RoleBinding", resource = "rolebindings", namespaced = true, schema = "rolebinding-rbac-v1" },
  { group = "rbac.authorization.k8s.io", version = "v1", kind = "ClusterRole", resource = "clusterroles", namespaced = false, schema = "clusterrole-rbac-v1" },
  { group = "rbac.authorization.k8s.io", version = "v1", kind = "ClusterRoleBinding", resource = "clusterrolebindings", namespaced = false, schema = "clusterrolebinding-rbac-v1" },
  { group = "policy", version = "v1", kind = "PodDisruptionBudget", resource = "poddisruptionbudgets", namespaced = true, short = { "pdb" }, status = true, schema = "poddisruptionbudget-policy-v1" },
  { group = "autoscaling", version = "v2", kind = "HorizontalPodAutoscaler", resource = "horizontalpodautoscalers", namespaced = true, short = { "hpa" }, status = true,
    schema = "horizontalpodautoscaler-autoscaling-v2", categories = { "all" } },
  { group = "coordination.k8s.io", version = "v1", kind = "Lease", resource = "leases", namespaced = true, schema = "lease-coordination-v1" },
  { group = "storage.k8s.io", version = "v1", kind = "StorageClass", resource = "storageclasses", namespaced = false, short = { "sc" } },
  { group = "apiextensions.k8s.io", version = "v1", kind = "CustomResourceDefinition", resource = "customresourcedefinitions", namespaced = false, short = { "crd", "crds" }, status = true },
}

local Registry = {}
Registry.__index = Registry

---@return table registry with the built-in resources
function M.new()
  local r = setmetatable({ list = {}, by_path = {}, groups = {} }, Registry)
  for _, def in ipairs(builtin) do r:add(def) end
  return r
end

local function gv(def)
  return def.group == "" and def.version or (def.group .. "/" .. def.version)
end
M.group_version = gv

---Adds (or replaces) a resource definition.
function Registry:add(def)
  def.verbs = def.verbs or ALL_VERBS
  def.api_version = gv(def)
  def.singular = def.singular or def.kind:lower()
  local key = def.group .. "/" .. def.version .. "/" .. def.resource
  if self.by_path[key] then self:remove(def.group, def.version, def.resource) end
  self.by_path[key] = def
  self.list[#self.list + 1] = def
  local g = self.groups[def.group]
  if not g then
    g = { name = def.group, versions = {} }
    self.groups[def.group] = g
  end
  local known = false
  for _, v in ipairs(g.versions) do known = known or v == def.version end
  if not known then table.insert(g.versions, def.version) end
  return def
end

function Registry:remove(group, version, resource)
  local key = group .. "/" .. version .. "/" .. resource
  local def = self.by_path[key]
  if not def then return end
  self.by_path[key] = nil
  for i, d in ipairs(self.list) do
    if d == def then table.remove(self.list, i) break end
  end
  local still = false
  for _, d in ipairs(self.list) do still = still or (d.group == group and d.version == version) end
  if not still and self.groups[group] then
    local g = self.groups[group]
    for i, v in ipairs(g.versions) do
      if v == version then table.remove(g.versions, i) break end
    end
    if #g.versions == 0 then self.groups[group] = nil end
  end
end

---@return table|nil def the resource served at group/version/resource
function Registry:get(group, version, resource)
  return self.by_path[group .. "/" .. version .. "/" .. resource]
end

---@return table|nil def the resource of an apiVersion and kind
function Registry:by_kind(api_version, kind)
  for _, d in ipairs(self.list) do
    if d.api_version == api_version and d.kind == kind then return d end
  end
end

---@return table[] defs of one group/version
function Registry:in_group_version(group, version)
  local out = {}
  for _, d in ipairs(self.list) do
    if d.group == group and d.version == version then out[#out + 1] = d end
  end
  return out
end

---@return string[] group names, "" (core) first then sorted
function Registry:group_names()
  local names = {}
  for name in pairs(self.groups) do
    if name ~= "" then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

return M
