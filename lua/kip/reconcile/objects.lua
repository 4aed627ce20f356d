-- SPDX-License-Identifier: Apache-2.0
-- What the engine does to the objects a policy wants before applying them, and how it tells that
-- an apply would change nothing: decorate() adds the owner label, managed-by, the ownerReference
-- and an annotation with a hash of the object as applied; is_current() says whether the live copy
-- still carries that hash and every field we set (then the apply is skipped: it would be a no-op on
-- the server, but it costs a request). The hash catches fields a policy stopped setting, which a
-- containment test alone cannot see. Pure; uses kip.json (sorted encoding), kip.tls (sha256,
-- base64), kip.util.tables and kip.reconcile.owner.
local json = require "kip.json"
local owner = require "kip.reconcile.owner"
local tables = require "kip.util.tables"
local tls = require "kip.tls"

local M = {}

M.HASH_ANNOTATION = "kipper.run/applied-hash"

---Whether everything in want is in have (maps key by key, lists item by item, numbers by value;
---an empty map or list is in an absent field, as API servers often drop them).
---@param want any
---@param have any
---@return boolean
function M.contains(want, have)
  if type(want) ~= "table" then return want == have end
  if have == nil and next(want) == nil then return true end
  if type(have) ~= "table" then return false end
  for k, v in pairs(want) do
    if not M.contains(v, have[k]) then return false end
  end
  return true
end

---A short stable hash of an object (16 hex digits of the sha256 of its sorted JSON), ignoring the
---hash annotation itself.
---@param obj table
---@return string
function M.hash(obj)
  local copy = tables.copy(obj)
  local a = copy.metadata and copy.metadata.annotations
  if a then
    a[M.HASH_ANNOTATION] = nil
    if next(a) == nil then copy.metadata.annotations = nil end
  end
  return tls.sha256_hex(assert(json.encode(copy, { sort = true }))):sub(1, 16)
end

-- A Secret's stringData, folded into data (base64) as the API server does, so that the object we
-- apply and the one we read back compare.
local function fold_string_data(obj)
  if obj.apiVersion ~= "v1" or obj.kind ~= "Secret" or type(obj.stringData) ~= "table" then return end
  obj.data = type(obj.data) == "table" and obj.data or {}
  for k, v in pairs(obj.stringData) do obj.data[k] = tls.base64_encode(tostring(v)) end
  obj.stringData = nil
end

---The object as the engine applies it: a copy of `obj` in the owner's namespace when it has none
---(and its kind is namespaced), with labels kipper.run/owner and app.kubernetes.io/managed-by, an
---ownerReference to the resource (not for retained objects, nor across namespaces), and the hash
---annotation.
---@param obj table the object a policy wants
---@param resource table the resource that wants it
---@param opts {namespaced: boolean, owner_namespaced: boolean} whether obj's and the resource's kinds are namespaced
---@return table applied
---@return string|nil warning why no ownerReference was added, when one should have been
function M.decorate(obj, resource, opts)
  local out = tables.copy(obj)
  fold_string_data(out)
  out.metadata = out.metadata or {}
  local md = out.metadata
  local rmd = resource.metadata
  if opts.namespaced then
    if (md.namespace == nil or md.namespace == "") and opts.owner_namespaced then md.namespace = rmd.namespace end
  else
    md.namespace = nil
  end
  md.labels = md.labels or {}
  md.labels[owner.OWNER_LABEL] = owner.label(resource.kind, rmd.namespace, rmd.name)
  md.labels[owner.MANAGED_BY_LABEL] = owner.MANAGED_BY
  local warning
  if not owner.retained(out) then
    if opts.owner_namespaced and md.namespace ~= rmd.namespace then
      warning = string.format("%s %s is not in %s's namespace %s: it gets no ownerReference",
        out.kind, md.name, resource.kind, rmd.namespace)
    else
      local refs = json.array({})
      for _, r in ipairs(type(md.ownerReferences) == "table" and md.ownerReferences or {}) do
        if r.uid ~= rmd.uid then refs[#refs + 1] = r end
      end
      refs[#refs + 1] = owner.reference(resource)
      md.ownerReferences = refs
    end
  end
  md.annotations = md.annotations or {}
  md.annotations[M.HASH_ANNOTATION] = M.hash(out)
  return out, warning
end

---Whether the live object already is what applying `want` (from decorate) would make it: it
---carries want's hash and every field of want.
---@param want table
---@param live table|nil
---@return boolean
function M.is_current(want, live)
  if type(live) ~= "table" or type(live.metadata) ~= "table" then return false end
  local a = live.metadata.annotations
  if type(a) ~= "table" or a[M.HASH_ANNOTATION] ~= want.metadata.annotations[M.HASH_ANNOTATION] then return false end
  return M.contains(want, live)
end

---"apiVersion|Kind", the key of a kind in the engine's tables.
---@param api_version string
---@param kind string
---@return string
function M.kind_key(api_version, kind)
  return api_version .. "|" .. kind
end

---A reference to an object: {apiVersion, kind, name, namespace}.
---@param obj table
---@return {apiVersion: string, kind: string, name: string, namespace: string|nil}
function M.ref(obj)
  return { apiVersion = obj.apiVersion, kind = obj.kind, name = obj.metadata.name, namespace = obj.metadata.namespace }
end

return M
