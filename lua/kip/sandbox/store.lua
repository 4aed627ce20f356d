-- SPDX-License-Identifier: Apache-2.0
-- The sandbox API's object store: objects by resource, namespace and name; one resourceVersion
-- counter; a bounded log of change events for watches resuming from a resourceVersion (older
-- ones answer 410 Gone); watchers notified on every change. Objects are replaced, never mutated
-- in place, so a listed object stays as it was. Pure Lua.
local M = {}

local Store = {}
Store.__index = Store

M.EVENT_LOG_SIZE = 10000

---@return table store
function M.new()
  return setmetatable({
    rv = 1,                 -- last resourceVersion handed out
    objects = {},           -- key(def) -> { ["ns/name"] = object }
    events = {},            -- ring of {rv=, type=, key=, namespace=, object=}
    first_event = 1, next_event = 1,
    watchers = {},          -- array of watcher tables
  }, Store)
end

local function def_key(def)
  return def.group .. "/" .. def.resource
end
M.def_key = def_key

local function obj_key(ns, name)
  return (ns or "") .. "/" .. name
end

function Store:next_rv()
  self.rv = self.rv + 1
  return self.rv
end

---@return table|nil object
function Store:get(def, ns, name)
  local bucket = self.objects[def_key(def)]
  return bucket and bucket[obj_key(def.namespaced and ns or nil, name)]
end

---Objects of a resource, sorted by namespace then name; all namespaces when ns is nil.
---@return table[]
function Store:list(def, ns)
  local out = {}
  local bucket = self.objects[def_key(def)]
  if not bucket then return out end
  for _, obj in pairs(bucket) do
    if ns == nil or not def.namespaced or obj.metadata.namespace == ns then out[#out + 1] = obj end
  end
  table.sort(out, function(a, b)
    local an, bn = a.metadata.namespace or "", b.metadata.namespace or ""
    if an ~= bn then return an < bn end
    return a.metadata.name < b.metadata.name
  end)
  return out
end

---Every resource key that holds objects (for garbage collection and namespace deletion).
function Store:each_bucket()
  return pairs(self.objects)
end

local function record(self, kind, def, obj, old)
  local ev = { rv = tonumber(obj.metadata.resourceVersion), type = kind, key = def_key(def),
    namespace = obj.metadata.namespace, object = obj, old = old }
  self.events[self.next_event] = ev
  self.next_event = self.next_event + 1
  if self.next_event - self.first_event > M.EVENT_LOG_SIZE then
    self.events[self.first_event] = nil
    self.first_event = self.first_event + 1
  end
  local keep = {}
  for _, w in ipairs(self.watchers) do
    local alive = true
    if w.key == ev.key and (w.namespace == nil or w.namespace == ev.namespace) then
      alive = w.on_event(ev) ~= false
    end
    if alive then keep[#keep + 1] = w end
  end
  self.watchers = keep
end

---Stores obj (already carrying its new resourceVersion) and tells watchers.
---@param kind "ADDED"|"MODIFIED"
function Store:put(def, obj, kind)
  local k = def_key(def)
  self.objects[k] = self.objects[k] or {}
  local key = obj_key(def.namespaced and obj.metadata.namespace or nil, obj.metadata.name)
  local old = self.objects[k][key]
  self.objects[k][key] = obj
  record(self, kind, def, obj, old)
end

---Removes the object; obj is its final state (with a new resourceVersion) for the DELETED event.
function Store:remove(def, obj)
  local bucket = self.objects[def_key(def)]
  if bucket then bucket[obj_key(def.namespaced and obj.metadata.namespace or nil, obj.metadata.name)] = nil end
  record(self, "DELETED", def, obj)
end

---Events of a resource after resourceVersion `since`, or nil when the log no longer reaches back
---that far (the caller answers 410 Gone).
---@return table[]|nil
function Store:events_since(def, ns, since)
  -- from the future (the API restarted without its state) or from before what the log holds
  if since > self.rv or since < (self.compacted_rv or 0) then return nil end
  local first = self.events[self.first_event]
  if first and since < first.rv - 1 and self.first_event > 1 then return nil end
  local out, k = {}, def_key(def)
  for i = self.first_event, self.next_event - 1 do
    local ev = self.events[i]
    if ev.rv > since and ev.key == k and (ns == nil or ev.namespace == ns) then out[#out + 1] = ev end
  end
  return out
end

---Registers a watcher: on_event(ev) is called for each later change (ev.old is the object before a
---MODIFIED); returning false ends it.
---@return table watcher (pass to unwatch)
function Store:watch(def, ns, on_event)
  local w = { key = def_key(def), namespace = def.namespaced and ns or nil, on_event = on_event }
  self.watchers[#self.watchers + 1] = w
  return w
end

function Store:unwatch(w)
  for i, x in ipairs(self.watchers) do
    if x == w then table.remove(self.watchers, i) return end
  end
end

---Drops every object of a resource (when its CRD goes away).
function Store:drop_resource(def)
  self.objects[def_key(def)] = nil
end

return M
