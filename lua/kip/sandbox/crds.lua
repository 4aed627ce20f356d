-- SPDX-License-Identifier: Apache-2.0
-- CustomResourceDefinitions in the sandbox API: creating or changing one registers its resources
-- (each served version, with the openAPIV3Schema enforced, the status subresource and printer
-- columns) and marks it Established; deleting one removes its resources and their objects.
-- Stored custom resources read back with the defaults of the storage version's schema
-- (kip.sandbox.defaults), as kube-apiserver defaults what it reads from etcd.
local defaults = require "kip.sandbox.defaults"
local store_mod = require "kip.sandbox.store"
local tables = require "kip.util.tables"
local time = require "kip.util.time"
local yaml = require "kip.yaml"

local M = {}

local function served_versions(crd)
  local out = {}
  for _, v in ipairs((crd.spec or {}).versions or {}) do
    if v.served ~= false then out[#out + 1] = v end
  end
  return out
end

-- Removes the CRD's resources from discovery; with `objects`, its custom resources go too
-- (each with a DELETED event, so watches see them go).
local function unregister(api, crd, objects)
  local spec = crd.spec or {}
  local names = spec.names or {}
  for _, v in ipairs(spec.versions or {}) do
    local def = api.registry:get(spec.group or "", v.name, names.plural or "")
    if def and def.crd then
      if objects then
        for _, obj in ipairs(api.store:list(def)) do api:purge(def, obj) end
        api.store:drop_resource(def)
      end
      api.registry:remove(def.group, def.version, def.resource)
    end
  end
  api.registry.stamp = (api.registry.stamp or 0) + 1
end

-- The defaulted form of a stored object, or nil when defaulting changes nothing.
local function defaulted(def, obj)
  if type(def.openapi) ~= "table" then return nil end
  local copy = tables.copy(obj)
  defaults.structural(def.openapi, copy)
  if tables.equal(copy, obj) then return nil end
  return copy
end

-- Stored objects get the defaults a changed schema adds, as kube-apiserver applies the storage
-- version's defaults when it reads from etcd: the defaulted object takes the stored one's place
-- without a new resourceVersion or a watch event, since nothing was written.
local function default_stored(api, def, only)
  local bucket = api.store.objects[store_mod.def_key(def)]
  for key, obj in pairs(bucket or {}) do
    if only == nil or obj == only then
      local copy = defaulted(def, obj)
      if copy then bucket[key] = copy end
    end
  end
end

local function storage_def(api, crd)
  local spec = crd.spec or {}
  for _, v in ipairs(spec.versions or {}) do
    if v.storage then
      local def = api.registry:get(spec.group or "", v.name, (spec.names or {}).plural or "")
      return def and def.crd and def or nil
    end
  end
  return nil
end

local function register(api, crd)
  local spec = crd.spec or {}
  local names = spec.names or {}
  if type(spec.group) ~= "string" or type(names.plural) ~= "string" or type(names.kind) ~= "string" then return end
  for _, v in ipairs(served_versions(crd)) do
    local schema = v.schema and v.schema.openAPIV3Schema
    api.registry:add({
      group = spec.group, version = v.name, kind = names.kind, resource = names.plural,
      singular = names.singular or names.kind:lower(), namespaced = spec.scope ~= "Cluster",
      short = names.shortNames and tables.copy(names.shortNames) or nil,
      categories = names.categories and tables.copy(names.categories) or nil,
      status = v.subresources and v.subresources.status ~= nil or false,
      scale = v.subresources and v.subresources.scale ~= nil or false,
      crd = true, openapi = schema and tables.copy(schema) or nil,
      printer_columns = v.additionalPrinterColumns and tables.copy(v.additionalPrinterColumns) or nil,
    })
  end
  api.registry.stamp = (api.registry.stamp or 0) + 1
end

local function established(crd)
  for _, c in ipairs(((crd.status or {}).conditions) or {}) do
    if c.type == "Established" and c.status == "True" then return true end
  end
  return false
end

---Hooks CRD handling into the API (and registers CRDs read from a state file).
function M.install(api)
  local crd_def = api.registry:get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
  local function on_crd(obj, event)
    if event == "DELETED" then
      unregister(api, obj, true)
      return
    end
    unregister(api, obj)
    if not obj.metadata.deletionTimestamp then
      register(api, obj)
      local def = storage_def(api, obj)
      if def then default_stored(api, def) end
    end
    if not established(obj) and event ~= "DELETED" then
      local now = time.format_rfc3339()
      local names = tables.copy((obj.spec or {}).names) or {}
      names.singular = names.singular or (names.kind or ""):lower()
      local st = {
        acceptedNames = names,
        storedVersions = yaml.array({}),
        conditions = yaml.array({
          { type = "NamesAccepted", status = "True", reason = "NoConflicts", message = "no conflicts found", lastTransitionTime = now },
          { type = "Established", status = "True", reason = "InitialNamesAccepted", message = "the initial names have been accepted", lastTransitionTime = now },
        }),
      }
      for _, v in ipairs((obj.spec or {}).versions or {}) do
        if v.storage then st.storedVersions[#st.storedVersions + 1] = v.name end
      end
      api:update(crd_def, nil, obj.metadata.name, { metadata = obj.metadata, status = st },
        { manager = "kube-apiserver", subresource = "status" })
    end
  end
  api:on_change(function(_, def, obj, event)
    if def == crd_def then on_crd(obj, event) end
  end)
  api.after_load = function(def, obj)
    if def == crd_def then
      register(api, obj)
    elseif def.crd and defaulted(def, obj) then
      -- a state file written before a default existed, or by a sandbox that did not default
      default_stored(api, def, obj)
    end
  end
end

---Checks a CRD before it is stored: names that make sense and a name of PLURAL.GROUP.
function M.check(api, crd)
  local status = require "kip.sandbox.status"
  local def = api.registry:get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
  local spec = crd.spec or {}
  local names = spec.names or {}
  local causes = {}
  if type(spec.group) ~= "string" or spec.group == "" then causes[#causes + 1] = { field = "spec.group", reason = "FieldValueRequired", message = "Required value" } end
  if type(names.plural) ~= "string" or names.plural == "" then causes[#causes + 1] = { field = "spec.names.plural", reason = "FieldValueRequired", message = "Required value" } end
  if type(names.kind) ~= "string" or names.kind == "" then causes[#causes + 1] = { field = "spec.names.kind", reason = "FieldValueRequired", message = "Required value" } end
  if spec.scope ~= "Namespaced" and spec.scope ~= "Cluster" then
    causes[#causes + 1] = { field = "spec.scope", reason = "FieldValueNotSupported", message = 'Unsupported value: "' .. tostring(spec.scope) .. '": supported values: "Cluster", "Namespaced"' }
  end
  local storage = 0
  for i, v in ipairs(spec.versions or {}) do
    if v.storage then storage = storage + 1 end
    if v.served ~= false and not (v.schema and v.schema.openAPIV3Schema) then
      causes[#causes + 1] = { field = string.format("spec.versions[%d].schema.openAPIV3Schema", i - 1), reason = "FieldValueRequired", message = "Required value: schemas are required" }
    end
  end
  if storage ~= 1 then causes[#causes + 1] = { field = "spec.versions", message = "Invalid value: must have exactly one version marked as storage version" } end
  if #causes == 0 and crd.metadata.name ~= names.plural .. "." .. spec.group then
    causes[#causes + 1] = { field = "metadata.name", message = string.format('Invalid value: "%s": must be spec.names.plural+"."+spec.group', tostring(crd.metadata.name)) }
  end
  if #causes > 0 then status.invalid(def, crd.metadata.name, causes) end
end

return M
