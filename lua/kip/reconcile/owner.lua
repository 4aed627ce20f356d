-- SPDX-License-Identifier: Apache-2.0
-- Who owns what: the kipper.run/owner label ("<Kind>.<namespace>.<name>"), keys of the work
-- queues ("ns/name", or "name" for cluster-scoped resources), the ownerReference to a resource,
-- and the owners an object names (its controller ownerReference, else its owner label). Pure;
-- uses kip.tls (sha256) for owner labels longer than a label value may be.
local tls = require "kip.tls"

local M = {}

M.OWNER_LABEL = "kipper.run/owner"
M.MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
M.MANAGED_BY = "kipperd"
M.RETAIN_ANNOTATION = "kipper.run/retain"

local MAX_LABEL = 63

---The work-queue key of an object: "namespace/name", or "name" when it has no namespace.
---@param namespace string|nil
---@param name string
---@return string
function M.key(namespace, name)
  if namespace and namespace ~= "" then return namespace .. "/" .. name end
  return name
end

---The namespace (nil for cluster-scoped) and name of a key.
---@param key string
---@return string|nil namespace
---@return string name
function M.split_key(key)
  local ns, name = key:match("^([^/]*)/(.*)$")
  if ns then return ns, name end
  return nil, key
end

---The kipper.run/owner label value for a resource. At most 63 characters: a longer one keeps its
---first 46 characters and adds "_" (which no kind, namespace or name has) and 16 hex digits of the
---sha256 of the whole, so it stays unique. Such a label cannot be parsed back: the engine
---remembers whose it is, and objects that have one also have an ownerReference (unless retained).
---@param kind string
---@param namespace string|nil
---@param name string
---@return string
function M.label(kind, namespace, name)
  local full = string.format("%s.%s.%s", kind, namespace or "", name)
  if #full <= MAX_LABEL then return full end
  return full:sub(1, MAX_LABEL - 17):gsub("[^%w]+$", "") .. "_" .. tls.sha256_hex(full):sub(1, 16)
end

---The kind, namespace (nil when empty) and name an owner label names, or nil for a shortened one.
---@param value string
---@return string|nil kind
---@return string|nil namespace
---@return string|nil name
function M.parse_label(value)
  if type(value) ~= "string" or value:find("_", 1, true) then return nil end
  local kind, ns, name = value:match("^(%w+)%.([%w-]*)%.(.+)$")
  if not kind then return nil end
  return kind, ns ~= "" and ns or nil, name
end

---The ownerReference that makes a resource the controller of its objects.
---@param resource table the resource (apiVersion, kind, metadata.name and uid)
---@return table
function M.reference(resource)
  return { apiVersion = resource.apiVersion, kind = resource.kind, name = resource.metadata.name,
    uid = resource.metadata.uid, controller = true, blockOwnerDeletion = true }
end

---Whether an object is annotated kipper.run/retain: "true" (no ownerReference, never pruned).
---@param obj table
---@return boolean
function M.retained(obj)
  local a = obj.metadata and obj.metadata.annotations
  return type(a) == "table" and a[M.RETAIN_ANNOTATION] == "true"
end

---The owners an object names, as {kind, namespace, name} (namespace nil for cluster-scoped owners):
---its controller ownerReferences whose kind is one of `kinds` (kind -> {api_version, namespaced}),
---then its owner label when that parses and names one of them.
---@param obj table
---@param kinds table<string, {api_version: string, namespaced: boolean}>
---@return {kind: string, namespace: string|nil, name: string}[]
function M.owners(obj, kinds)
  local out, seen = {}, {}
  local md = obj.metadata or {}
  local function add(kind, ns, name)
    local id = kind .. "|" .. M.key(ns, name)
    if not seen[id] then
      seen[id] = true
      out[#out + 1] = { kind = kind, namespace = ns, name = name }
    end
  end
  for _, ref in ipairs(type(md.ownerReferences) == "table" and md.ownerReferences or {}) do
    local k = kinds[ref.kind]
    if k and ref.controller == true and ref.apiVersion == k.api_version and type(ref.name) == "string" then
      add(ref.kind, k.namespaced and md.namespace or nil, ref.name)
    end
  end
  local labels = type(md.labels) == "table" and md.labels or {}
  local kind, ns, name = M.parse_label(labels[M.OWNER_LABEL])
  if kind and kinds[kind] then add(kind, kinds[kind].namespaced and ns or nil, name) end
  return out
end

return M
