-- SPDX-License-Identifier: Apache-2.0
-- Discovery documents of the sandbox API: /version, /api, /apis, /apis/GROUP and the
-- APIResourceList of each group version, as client-go's legacy discovery reads them.
local yaml = require "kip.yaml"

local M = {}

M.VERSION = {
  major = "1", minor = "34", gitVersion = "v1.34.0+kip-sandbox", gitCommit = "",
  gitTreeState = "clean", buildDate = "", goVersion = "", compiler = "kip-sandbox",
  platform = "linux/amd64",
}

local function arr(t) return yaml.array(t or {}) end

function M.api_versions(address)
  return { kind = "APIVersions", versions = arr({ "v1" }),
    serverAddressByClientCIDRs = arr({ { clientCIDR = "0.0.0.0/0", serverAddress = address } }) }
end

local function group_doc(registry, name)
  local g = registry.groups[name]
  if not g then return nil end
  local versions = arr({})
  for _, v in ipairs(g.versions) do
    versions[#versions + 1] = { groupVersion = name .. "/" .. v, version = v }
  end
  return { kind = "APIGroup", apiVersion = "v1", name = name, versions = versions, preferredVersion = versions[1] }
end

function M.api_group(registry, name)
  return group_doc(registry, name)
end

function M.api_group_list(registry)
  local groups = arr({})
  for _, name in ipairs(registry:group_names()) do
    local doc = group_doc(registry, name)
    doc.kind, doc.apiVersion = nil, nil
    groups[#groups + 1] = doc
  end
  return { kind = "APIGroupList", apiVersion = "v1", groups = groups }
end

---@return table|nil the APIResourceList of group/version
function M.resource_list(registry, group, version)
  local defs = registry:in_group_version(group, version)
  if #defs == 0 then return nil end
  local resources = arr({})
  for _, d in ipairs(defs) do
    resources[#resources + 1] = {
      name = d.resource, singularName = d.singular, namespaced = d.namespaced, kind = d.kind,
      verbs = arr(d.verbs), shortNames = d.short and arr(d.short) or nil,
      categories = d.categories and arr(d.categories) or nil,
    }
    if d.status then
      resources[#resources + 1] = { name = d.resource .. "/status", singularName = "", namespaced = d.namespaced,
        kind = d.kind, verbs = arr({ "get", "patch", "update" }) }
    end
    if d.scale then
      resources[#resources + 1] = { name = d.resource .. "/scale", singularName = "", namespaced = d.namespaced,
        group = "autoscaling", version = "v1", kind = "Scale", verbs = arr({ "get", "patch", "update" }) }
    end
    if d.log then
      resources[#resources + 1] = { name = d.resource .. "/log", singularName = "", namespaced = true,
        kind = d.kind, verbs = arr({ "get" }) }
    end
    if d.kind == "Pod" and d.group == "" then
      -- kubectl drain looks for this entry to evict rather than delete
      resources[#resources + 1] = { name = "pods/eviction", singularName = "", namespaced = true,
        group = "policy", version = "v1", kind = "Eviction", verbs = arr({ "create" }) }
    end
  end
  return { kind = "APIResourceList", apiVersion = "v1", groupVersion = group == "" and version or (group .. "/" .. version),
    resources = resources }
end

-- OpenAPI v3: enough for kubectl to see that every resource takes fieldValidation, dryRun,
-- fieldManager and force (so it validates on the server, against the schemas), with each kind's
-- schema where the sandbox has one.
local function gv_path(group, version)
  return group == "" and ("api/" .. version) or ("apis/" .. group .. "/" .. version)
end

---The /openapi/v3 root: one entry per group version. `stamp` changes when resources change.
function M.openapi_root(registry, stamp)
  local paths = {}
  for _, def in ipairs(registry.list) do
    local p = gv_path(def.group, def.version)
    paths[p] = { serverRelativeURL = "/openapi/v3/" .. p .. "?hash=" .. stamp }
  end
  return { paths = paths }
end

local QUERY_PARAMS = { "dryRun", "fieldManager", "fieldValidation", "force", "pretty" }

---The OpenAPI v3 document of one group version, or nil.
---@param schema_of fun(def: table): table|nil the schema of a resource's kind
function M.openapi_gv(registry, group, version, schema_of)
  local defs = registry:in_group_version(group, version)
  if #defs == 0 then return nil end
  local paths, schemas = {}, {}
  local params = yaml.array({})
  for _, name in ipairs(QUERY_PARAMS) do
    params[#params + 1] = { name = name, ["in"] = "query", schema = { type = "string", uniqueItems = true } }
  end
  for _, d in ipairs(defs) do
    local gvk = { group = d.group, version = d.version, kind = d.kind }
    local ref = (d.group == "" and "io.k8s.api.core" or ("io.kip.sandbox." .. d.group)) .. "." .. d.version .. "." .. d.kind
    local response = { ["200"] = { description = "OK", content = { ["application/json"] = { schema = { ["$ref"] = "#/components/schemas/" .. ref } } } } }
    local base = "/" .. gv_path(d.group, d.version) .. (d.namespaced and "/namespaces/{namespace}/" or "/") .. d.resource
    local function op(verb)
      return { operationId = verb .. d.kind, responses = response, parameters = params,
        ["x-kubernetes-action"] = verb, ["x-kubernetes-group-version-kind"] = gvk }
    end
    paths[base] = { get = op("list"), post = op("post") }
    paths[base .. "/{name}"] = { get = op("get"), put = op("put"), patch = op("patch"), delete = op("delete") }
    schemas[ref] = schema_of(d) or { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true }
    schemas[ref]["x-kubernetes-group-version-kind"] = yaml.array({ gvk })
  end
  return { openapi = "3.0.0", info = { title = "Kubernetes (kip sandbox)", version = "v1.34.0" },
    paths = paths, components = { schemas = schemas } }
end

return M
