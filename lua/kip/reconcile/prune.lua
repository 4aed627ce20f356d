-- SPDX-License-Identifier: Apache-2.0
-- Pruning: which of the objects a resource made before (found by its owner label in the kinds its
-- policy owns) it no longer wants. Retained objects (kipper.run/retain: "true") and objects being
-- deleted already are left alone. Pure.
local M = {}

---The identity of an object in the engine's tables: "apiVersion|Kind|namespace/name".
---@param api_version string
---@param kind string
---@param namespace string|nil
---@param name string
---@return string
function M.id(api_version, kind, namespace, name)
  return api_version .. "|" .. kind .. "|" .. ((namespace and namespace ~= "") and (namespace .. "/") or "") .. name
end

---The set of ids of a list of objects.
---@param objects table[]
---@return table<string, boolean>
function M.wanted(objects)
  local set = {}
  for _, o in ipairs(objects) do
    set[M.id(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name)] = true
  end
  return set
end

---What to delete: the existing objects not in wanted, unless retained or being deleted. Sorted by id.
---@param existing {api_version: string, kind: string, namespace: string|nil, name: string, uid: string|nil,
---  retain: boolean|nil, deleting: boolean|nil}[] the owned objects that carry the owner's label
---@param wanted table<string, boolean> ids (M.wanted)
---@param owned_kinds table<string, boolean> "apiVersion|Kind" of the policy's owns
---@return table[] to_delete entries of existing
function M.plan(existing, wanted, owned_kinds)
  local out = {}
  for _, e in ipairs(existing) do
    local id = M.id(e.api_version, e.kind, e.namespace, e.name)
    if owned_kinds[e.api_version .. "|" .. e.kind] and not wanted[id] and not e.retain and not e.deleting then
      out[#out + 1] = e
    end
  end
  table.sort(out, function(a, b)
    return M.id(a.api_version, a.kind, a.namespace, a.name) < M.id(b.api_version, b.kind, b.namespace, b.name)
  end)
  return out
end

return M
