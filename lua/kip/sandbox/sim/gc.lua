-- SPDX-License-Identifier: Apache-2.0
-- Garbage collection and namespace termination in the sandbox: dependents whose owners are gone
-- are deleted (background), owners deleted in the foreground wait for their dependents, orphaning
-- strips owner references, and a terminating namespace deletes its contents before it goes.
local tables = require "kip.util.tables"
local yaml = require "kip.yaml"

local M = {}

local function without(list, value)
  local out = yaml.array({})
  for _, v in ipairs(list or {}) do if v ~= value then out[#out + 1] = v end end
  return out
end

local function has(list, value)
  for _, v in ipairs(list or {}) do if v == value then return true end end
  return false
end

-- Every object of every resource, with its definition.
local function all_objects(api)
  local out = {}
  for _, def in ipairs(api.registry.list) do
    for _, obj in ipairs(api.store:list(def)) do out[#out + 1] = { def = def, obj = obj } end
  end
  return out
end

local function drop_finalizer(api, def, obj, name)
  local new = tables.copy(obj)
  new.metadata.finalizers = without(obj.metadata.finalizers, name)
  api:update(def, obj.metadata.namespace, obj.metadata.name, new, { manager = "kube-controller-manager" })
end

local function terminate_namespace(api, ns_def, ns, everything)
  local name = ns.metadata.name
  local left = 0
  for _, e in ipairs(everything) do
    if e.def.namespaced and e.obj.metadata.namespace == name then
      left = left + 1
      if not e.obj.metadata.deletionTimestamp then
        pcall(api.delete, api, e.def, name, e.obj.metadata.name, {})
      end
    end
  end
  if left > 0 then return end
  local current = api.store:get(ns_def, nil, name)
  if current and has(current.spec and current.spec.finalizers, "kubernetes") then
    local new = tables.copy(current)
    new.spec.finalizers = without(current.spec.finalizers, "kubernetes")
    api:update(ns_def, nil, name, new, { manager = "kube-controller-manager" })
  end
  current = api.store:get(ns_def, nil, name)
  if current and #(current.metadata.finalizers or {}) == 0 then api:purge(ns_def, current) end
end

function M.run(sim)
  local api = sim.api
  local everything = all_objects(api)
  local by_uid, dependents = {}, {}
  for _, e in ipairs(everything) do by_uid[e.obj.metadata.uid] = e end
  for _, e in ipairs(everything) do
    for _, ref in ipairs(e.obj.metadata.ownerReferences or {}) do
      dependents[ref.uid] = dependents[ref.uid] or {}
      table.insert(dependents[ref.uid], e)
    end
  end
  -- owners being deleted
  for _, e in ipairs(everything) do
    local md = e.obj.metadata
    if md.deletionTimestamp then
      local deps = dependents[md.uid] or {}
      if has(md.finalizers, "orphan") then
        for _, d in ipairs(deps) do
          local new = tables.copy(d.obj)
          local refs = yaml.array({})
          for _, r in ipairs(d.obj.metadata.ownerReferences) do if r.uid ~= md.uid then refs[#refs + 1] = r end end
          new.metadata.ownerReferences = #refs > 0 and refs or nil
          api:update(d.def, d.obj.metadata.namespace, d.obj.metadata.name, new, { manager = "kube-controller-manager" })
        end
        drop_finalizer(api, e.def, api.store:get(e.def, md.namespace, md.name), "orphan")
      elseif has(md.finalizers, "foregroundDeletion") then
        for _, d in ipairs(deps) do
          if not d.obj.metadata.deletionTimestamp then
            pcall(api.delete, api, d.def, d.obj.metadata.namespace, d.obj.metadata.name, { propagation = "Foreground" })
          end
        end
        if #deps == 0 then drop_finalizer(api, e.def, e.obj, "foregroundDeletion") end
      end
      if e.def.kind == "Namespace" then terminate_namespace(api, e.def, e.obj, everything) end
    end
  end
  -- dependents whose owners are all gone
  for _, e in ipairs(everything) do
    local refs = e.obj.metadata.ownerReferences
    if refs and #refs > 0 and not e.obj.metadata.deletionTimestamp then
      local alive = false
      for _, r in ipairs(refs) do alive = alive or by_uid[r.uid] ~= nil end
      if not alive and api.store:get(e.def, e.obj.metadata.namespace, e.obj.metadata.name) then
        pcall(api.delete, api, e.def, e.obj.metadata.namespace, e.obj.metadata.name, {})
      end
    end
  end
end

return M
