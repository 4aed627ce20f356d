-- SPDX-License-Identifier: Apache-2.0
-- Shared by the reconcile policy specs: a policy ctx over a list of observed objects (with label
-- selectors, deterministic random bytes and clock), and a sandbox API in this process with Kipper's
-- CRDs and fieldValidation=Strict through which emitted objects and statuses are checked against
-- the Kubernetes v1.34 schemas and the CRDs' own. Uses kip.sandbox.api, .validate and .status.
local api_mod = require "kip.sandbox.api"
local crds = require "kip.platform.crds"
local plugins = require "kip.plugins"
local sandbox_status = require "kip.sandbox.status"
local tables = require "kip.util.tables"
local validate = require "kip.sandbox.validate"
local yaml = require "kip.yaml"

local M = {}

M.CLUSTER = { clusterId = "203-0-113-10", zone = "kipper.run", issuer = "letsencrypt", storageClass = "local-path", ingressClass = "traefik" }

---A reconcile policy through the plugin search order, as kipperd loads it.
function M.policy(name)
  return assert(plugins.load("reconciler", name))
end

local function matches(obj, selector)
  local l = obj.metadata.labels or {}
  for k, v in pairs(selector or {}) do
    if l[k] ~= v then return false end
  end
  return true
end

---A policy ctx. opts.observed: objects the "informers" hold; opts.cluster (default M.CLUSTER);
---opts.catalog. ctx.random(n) gives 2n hex digits, a different digit pair on each call;
---ctx.calls counts the random calls.
---@return table ctx
function M.ctx(opts)
  opts = opts or {}
  local observed = opts.observed or {}
  local ctx = { cluster = opts.cluster or tables.copy(M.CLUSTER), catalog = opts.catalog, calls = 0 }
  function ctx.observed(api_version, kind, namespace, name)
    for _, o in ipairs(observed) do
      if o.apiVersion == api_version and o.kind == kind and o.metadata.name == name and o.metadata.namespace == namespace then
        return tables.copy(o)
      end
    end
  end
  function ctx.observed_list(api_version, kind, namespace, selector)
    local out = {}
    for _, o in ipairs(observed) do
      if o.apiVersion == api_version and o.kind == kind and (namespace == nil or o.metadata.namespace == namespace)
        and matches(o, selector) then
        out[#out + 1] = tables.copy(o)
      end
    end
    return out
  end
  function ctx.random(n)
    ctx.calls = ctx.calls + 1
    return string.rep(string.format("%02x", 16 + ctx.calls), n)
  end
  function ctx.now() return "2025-06-01T12:00:00Z" end
  return ctx
end

---A sandbox API in this process that refuses unknown fields, with Kipper's CRDs registered.
function M.new_api()
  local api = api_mod.new({ address = "127.0.0.1:6443" })
  api.field_validation = "Strict"
  local crd_def = api.registry:get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
  for _, c in ipairs(crds.all()) do api:create(crd_def, nil, c, { manager = "kip" }) end
  return api
end

-- Runs fn; nil when it passes, else the message of the Status it raised (other errors propagate).
local function refusal(fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then return nil end
  if sandbox_status.is(err) then return err.message end
  error(err, 0)
end
M.refusal = refusal

-- The shared schemas have no ControllerRevision: its fields are checked here as apps/v1 defines
-- them (revision int64, required; data any object), besides the API's write path.
local function check_revision(obj)
  local known = { apiVersion = true, kind = true, metadata = true, revision = true, data = true }
  for k in pairs(obj) do
    if not known[k] then return "unknown field " .. k end
  end
  if math.type(obj.revision) ~= "integer" or obj.revision < 0 then return "revision must be a non-negative integer" end
  if type(obj.data) ~= "table" then return "data must be an object" end
  local name = obj.metadata and obj.metadata.name
  if type(name) ~= "string" or #name > 253 or not name:match("^[a-z0-9][-a-z0-9.]*$") or not name:match("[a-z0-9]$") then
    return "metadata.name " .. tostring(name) .. " is not a DNS subdomain"
  end
  return nil
end

---Creates every object through the API's write path (Strict); namespaces an object needs are
---made first. Returns the refusals, "Kind name: message" each.
---@return string[]
function M.apply_all(api, objects)
  local refused = {}
  local ns_def = api.registry:get("", "v1", "namespaces")
  for _, obj in ipairs(objects) do
    local where = obj.kind .. " " .. tostring(obj.metadata and obj.metadata.name)
    local msg
    if obj.kind == "ControllerRevision" and obj.apiVersion == "apps/v1" then msg = check_revision(obj) end
    if not msg then
      local def = api.registry:by_kind(obj.apiVersion, obj.kind)
      if not def then
        msg = "the sandbox does not serve " .. obj.apiVersion
      else
        local ns = obj.metadata.namespace
        if def.namespaced and ns and not api.store:get(ns_def, nil, ns) then
          api:create(ns_def, nil, { metadata = { name = ns } }, { manager = "test" })
        end
        if def.kind == "Namespace" and api.store:get(ns_def, nil, obj.metadata.name) then
          msg = refusal(validate.check, api, def, tables.copy(obj), "Strict")
        else
          msg = refusal(api.create, api, def, ns, obj, { manager = "kipperd" })
        end
      end
    end
    if msg then refused[#refused + 1] = where .. ": " .. msg end
  end
  return refused
end

---Checks a resource with a policy's status against its CRD (conditions get the
---lastTransitionTime and the status the observedGeneration the engine adds), and each condition's
---reason and type against the CRD's patterns and for a message. Nil when it passes.
---@return string|nil message
function M.check_status(api, resource, status)
  local def = api.registry:by_kind(resource.apiVersion, resource.kind)
  local obj = tables.copy(resource)
  obj.status = tables.copy(status)
  obj.status.observedGeneration = 1
  for i, c in ipairs(obj.status.conditions or {}) do
    c.lastTransitionTime = "2025-06-01T12:00:00Z"
    -- the CRD's patterns, which the sandbox does not check
    local r = c.reason
    if type(r) ~= "string" or not r:match("^[A-Za-z][A-Za-z0-9_,:]*$") or not r:match("[A-Za-z0-9_]$") then
      return string.format("status.conditions[%d].reason %q is not CamelCase", i - 1, tostring(r))
    end
    if type(c.type) ~= "string" or not c.type:match("^[A-Za-z0-9][-A-Za-z0-9_.]*$") then
      return string.format("status.conditions[%d].type %q is not a condition type", i - 1, tostring(c.type))
    end
    if type(c.message) ~= "string" or c.message == "" then
      return string.format("status.conditions[%d] (%s) has no message", i - 1, c.type)
    end
  end
  return refusal(validate.check, api, def, obj, "Strict")
end

---The objects of a result of one kind (and name).
function M.find(objects, kind, name)
  for _, o in ipairs(objects) do
    if o.kind == kind and (name == nil or o.metadata.name == name) then return o end
  end
end

---Plain data as JSON would carry it (array marks and empty tables made comparable).
function M.plain(v)
  return yaml.decode(yaml.encode(v))
end

return M
