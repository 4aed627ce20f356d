-- SPDX-License-Identifier: Apache-2.0
-- The engine's view of the cluster: one informer per kind (kip.informer, shared by every policy
-- that owns, reads or reconciles the kind), with a light index beside each (labels, owner label,
-- uid, retained, being deleted) for label selectors and pruning, and an overlay of the objects the
-- engine wrote itself, so a reconcile that runs before the watch brings a write back sees it
-- (a Service's generated credentials are never generated twice). Events go to one listener.
-- Uses kip.informer, kip.util.tables and kip.reconcile.owner/prune.
local informer = require "kip.informer"
local owner = require "kip.reconcile.owner"
local prune = require "kip.reconcile.prune"
local tables = require "kip.util.tables"

local M = {}

local Cache = {}
Cache.__index = Cache

---A cache with no kinds yet.
---@param opts {conn: table, on_event?: fun(kind_key: string, type: string, old: table|nil, new: table)}
function M.new(opts)
  return setmetatable({ conn = opts.conn, on_event = opts.on_event, kinds = {}, order = {},
    by_owner = {} }, Cache)
end

local function kind_key(api_version, kind) return api_version .. "|" .. kind end

-- resourceVersion a is not older than b (numbers when both are; else only an equal one).
local function not_older(a, b)
  local x, y = tonumber(a), tonumber(b)
  if x and y then return x >= y end
  return a == b
end

---Declares a kind to watch (once; a later call may widen its label selector to none).
---@param api_version string
---@param kind string
---@param opts? {label_selector?: string}
function Cache:add_kind(api_version, kind, opts)
  local kk = kind_key(api_version, kind)
  local k = self.kinds[kk]
  local selector = opts and opts.label_selector or nil
  if k then
    if k.label_selector ~= selector then k.label_selector = nil end
    return k
  end
  k = { api_version = api_version, kind = kind, key = kk, label_selector = selector,
    meta = {}, by_label = {}, overlay = {} }
  self.kinds[kk] = k
  self.order[#self.order + 1] = kk
  return k
end

---The kind's entry, or nil when it is not watched.
function Cache:kind(api_version, kind)
  return self.kinds[kind_key(api_version, kind)]
end

-- The index entry of an object.
local function entry_of(k, obj)
  local md = obj.metadata or {}
  local labels = {}
  for lk, lv in pairs(type(md.labels) == "table" and md.labels or {}) do labels[lk] = lv end
  return { api_version = k.api_version, kind = k.kind, namespace = md.namespace, name = md.name, uid = md.uid,
    rv = md.resourceVersion, labels = labels, owner = labels[owner.OWNER_LABEL], retain = owner.retained(obj),
    deleting = md.deletionTimestamp ~= nil }
end

function Cache:_unindex(k, key)
  local e = k.meta[key]
  if not e then return end
  k.meta[key] = nil
  for lk, lv in pairs(e.labels) do
    local set = k.by_label[lk .. "=" .. lv]
    if set then
      set[key] = nil
      if next(set) == nil then k.by_label[lk .. "=" .. lv] = nil end
    end
  end
  if e.owner then
    local set = self.by_owner[e.owner]
    if set then
      set[prune.id(k.api_version, k.kind, e.namespace, e.name)] = nil
      if next(set) == nil then self.by_owner[e.owner] = nil end
    end
  end
end

function Cache:_index(k, obj)
  local key = owner.key(obj.metadata.namespace, obj.metadata.name)
  self:_unindex(k, key)
  local e = entry_of(k, obj)
  k.meta[key] = e
  for lk, lv in pairs(e.labels) do
    local lkey = lk .. "=" .. lv
    k.by_label[lkey] = k.by_label[lkey] or {}
    k.by_label[lkey][key] = true
  end
  if e.owner then
    self.by_owner[e.owner] = self.by_owner[e.owner] or {}
    self.by_owner[e.owner][prune.id(k.api_version, k.kind, e.namespace, e.name)] = e
  end
end

function Cache:_event(k, typ, old, new)
  local key = owner.key(new.metadata.namespace, new.metadata.name)
  local o = k.overlay[key]
  if typ == "DELETED" then
    self:_unindex(k, key)
    if o and not_older(new.metadata.resourceVersion, o.metadata.resourceVersion) then k.overlay[key] = nil end
  else
    if o and not_older(new.metadata.resourceVersion, o.metadata.resourceVersion) then k.overlay[key] = nil end
    if not k.overlay[key] then self:_index(k, new) end
  end
  if self.on_event then self.on_event(k.key, typ, old, new) end
end

---Starts the informers of the kinds not started yet. A kind the API does not serve (a CRD not
---installed yet) is left for a later call.
---@param client table a kip.k8s client (discovery)
---@return boolean all every kind has its informer
---@return string|nil message the first kind that could not start, and why
function Cache:start(client)
  local missing
  for _, kk in ipairs(self.order) do
    local k = self.kinds[kk]
    if not k.informer then
      local res, err = client:resource(k.api_version, k.kind)
      if res then
        k.namespaced = res.namespaced
        local inf = informer.new({ conn = self.conn, path = res.path .. "/" .. res.name,
          label_selector = k.label_selector })
        inf:on({
          on_add = function(obj) self:_event(k, "ADDED", nil, obj) end,
          on_update = function(old, new) self:_event(k, "MODIFIED", old, new) end,
          on_delete = function(obj) self:_event(k, "DELETED", nil, obj) end,
        })
        local ok, serr = inf:start()
        if ok then
          k.informer = inf
        else
          inf:close()
          missing = missing or string.format("%s %s: %s", k.api_version, k.kind, tostring(serr))
        end
      else
        missing = missing or string.format("%s %s: %s", k.api_version, k.kind, tostring(err))
      end
    end
  end
  if missing then client:forget_discovery() end
  return missing == nil, missing
end

---Delivers the informers' queued events (to the index, then the listener).
---@return integer events
function Cache:poll()
  local n = 0
  for _, kk in ipairs(self.order) do
    local inf = self.kinds[kk].informer
    if inf then n = n + inf:poll(0) end
  end
  return n
end

---Whether every kind (of `kind_keys`, default all) has an informer whose first list is complete.
---@param kind_keys? string[] "apiVersion|Kind"
---@return boolean
---@return string|nil waiting the first kind not synced yet
function Cache:synced(kind_keys)
  for _, kk in ipairs(kind_keys or self.order) do
    local k = self.kinds[kk]
    if not k or not k.informer or not k.informer:synced() then
      return false, k and (k.api_version .. " " .. k.kind) or kk
    end
  end
  return true
end

---Informer statistics per kind ("apiVersion|Kind" -> kip.informer stats).
function Cache:stats()
  local out = {}
  for _, kk in ipairs(self.order) do
    local inf = self.kinds[kk].informer
    if inf then out[kk] = inf:stats() end
  end
  return out
end

---Stops every informer for good.
function Cache:close()
  for _, kk in ipairs(self.order) do
    local k = self.kinds[kk]
    if k.informer then k.informer:close() end
    k.informer = nil
  end
end

---The object as last seen (a fresh copy), or nil. Raises when the kind is not watched.
---@param api_version string
---@param kind string
---@param namespace string|nil
---@param name string
---@return table|nil
function Cache:get(api_version, kind, namespace, name)
  local k = self.kinds[kind_key(api_version, kind)]
  if not k then error(string.format("kind %s %s is not watched", api_version, kind), 2) end
  local key = owner.key(k.namespaced ~= false and namespace or nil, name)
  local cached = k.informer and k.informer:get(key) or nil
  local o = k.overlay[key]
  if o then
    if cached and not_older(cached.metadata.resourceVersion, o.metadata.resourceVersion) then
      k.overlay[key] = nil
      return cached
    end
    return tables.copy(o)
  end
  return cached
end

-- Whether labels match a selector {key = value}.
local function matches(labels, selector)
  for sk, sv in pairs(selector) do
    if labels[sk] ~= sv then return false end
  end
  return true
end

---The objects of a kind (in namespace, when given) whose labels match selector ({key = value},
---all must match), sorted by namespace and name.
---@param api_version string
---@param kind string
---@param namespace string|nil
---@param selector table<string, string>|nil
---@return table[]
function Cache:list(api_version, kind, namespace, selector)
  local k = self.kinds[kind_key(api_version, kind)]
  if not k then error(string.format("kind %s %s is not watched", api_version, kind), 2) end
  selector = selector or {}
  -- the smallest label set of the selector narrows the search
  local candidates
  for sk, sv in pairs(selector) do
    local set = k.by_label[sk .. "=" .. sv] or {}
    local n = 0
    for _ in pairs(set) do n = n + 1 end
    if not candidates or n < candidates.n then candidates = { set = set, n = n } end
  end
  local keys = {}
  for key in pairs(candidates and candidates.set or k.meta) do
    local e = k.meta[key]
    if e and (namespace == nil or e.namespace == namespace) and matches(e.labels, selector) then keys[#keys + 1] = key end
  end
  table.sort(keys)
  local out = {}
  for _, key in ipairs(keys) do
    local e = k.meta[key]
    out[#out + 1] = self:get(api_version, kind, e.namespace, e.name)
  end
  return out
end

---The index entries of the objects that carry an owner label (every watched kind).
---@param label string
---@return table[] entries {api_version, kind, namespace, name, uid, retain, deleting}
function Cache:owned_by(label)
  local out = {}
  for _, e in pairs(self.by_owner[label] or {}) do out[#out + 1] = e end
  return out
end

---Records an object the engine wrote (the API's answer), until the watch brings it or a newer one.
---@param obj table
function Cache:wrote(obj)
  if type(obj) ~= "table" or type(obj.metadata) ~= "table" then return end
  local k = self.kinds[kind_key(obj.apiVersion or "", obj.kind or "")]
  if not k then return end
  local key = owner.key(obj.metadata.namespace, obj.metadata.name)
  local cached = k.informer and k.informer:get(key)
  if cached and not_older(cached.metadata.resourceVersion, obj.metadata.resourceVersion) then return end
  k.overlay[key] = tables.copy(obj)
  self:_index(k, obj)
end

---Forgets an object the engine deleted from the index (so it is not pruned twice); the watch
---brings its deletion (or its deletionTimestamp) later.
function Cache:deleted(api_version, kind, namespace, name)
  local k = self.kinds[kind_key(api_version, kind)]
  if not k then return end
  local key = owner.key(namespace, name)
  k.overlay[key] = nil
  self:_unindex(k, key)
end

return M
