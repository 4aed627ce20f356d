-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.user_cache: kipperd's in-memory copy of Secret kipper-system/kipper-users, fed by a
-- kip.informer watching that one Secret (field selector metadata.name=kipper-users), so that
-- authenticating a request does not GET it from the API. It stands in for the kip.k8s client that
-- kipperd.auth.users takes (get, create, update; other objects go to the real client), so users.lua
-- is the same for kipperd and `kip user`: a get of the users Secret is answered from the copy (a
-- fresh deep copy) once the informer has synced, else from the API; a create or update goes to the
-- API and the Secret it answers replaces the copy at once, so kipperd's own revocations (reset,
-- password change, role change, removal) are immediate; a conflict re-reads the Secret from the
-- API into the copy, so a retried write starts from the current one. Changes made elsewhere (`kip
-- user` from the CLI) arrive with the watch event, polled on kipperd's main loop tick (M.poll);
-- a login the copy refuses reads the Secret once more from the API (M.refresh), so a password set
-- elsewhere works at once.
--
-- Never older than seen: the copy is fed from two streams, the watch (in resourceVersion order)
-- and kipperd's own writes and reads (each the API's state at its moment), which interleave: a
-- watch event polled after a write returned may predate it. So every offered Secret is compared
-- with the newest resourceVersion seen (including a deletion's) as integers, which etcd-backed
-- API servers and the sandbox API hand out, and an older one is dropped. A deletion, or a
-- resourceVersion that is not an integer (opaque, as the API allows), empties the copy: reads go
-- to the API until a newer Secret comes, which is slower but never stale. A watch that is down
-- (the API restarting) leaves the copy as it was: changes from elsewhere wait for its reconnect.
-- Uses kip.informer and kip.util.tables; counts kipperd_users_cache_hits_total / misses_total in a
-- kip.reconcile.metrics registry when given one.
local informer = require "kip.informer"
local tables = require "kip.util.tables"

local M = {}

M.NAMESPACE = "kipper-system"
M.SECRET = "kipper-users"
M.HITS = "kipperd_users_cache_hits_total"
M.MISSES = "kipperd_users_cache_misses_total"

local Cache = {}
Cache.__index = Cache

---A cache (not started) over a kip.k8s client.
---@param opts {client: table, metrics?: table, backoff_min?: number, backoff_max?: number}
---client: the kip.k8s client for the API (its conn also opens the watch); metrics: a
---kip.reconcile.metrics registry for the hit and miss counters
---@return table cache with get/create/update as kip.k8s.Client's
function M.new(opts)
  local self = setmetatable({ client = assert(opts.client, "user_cache.new: client is required"),
    metrics = opts.metrics, secret = nil, rv = -1, hits = 0, misses = 0,
    backoff_min = opts.backoff_min, backoff_max = opts.backoff_max }, Cache)
  if self.metrics then
    self.metrics:counter(M.HITS, "Reads of the console's users answered from kipperd's copy of Secret kipper-users.")
    self.metrics:counter(M.MISSES, "Reads of the console's users that GET Secret kipper-users (the watch not synced yet).")
  end
  return self
end

local function is_users_secret(api_version, kind, name, namespace)
  return api_version == "v1" and kind == "Secret" and name == M.SECRET and namespace == M.NAMESPACE
end

local function rv_of(obj)
  local md = type(obj) == "table" and obj.metadata
  return md and math.tointeger(tonumber(md.resourceVersion))
end

-- Takes a Secret the API showed (watch, write or read) unless one newer was seen.
function Cache:_offer(secret)
  local rv = rv_of(secret)
  if not rv then
    self.secret = nil -- opaque resourceVersions cannot be ordered: read from the API
    return
  end
  if rv < self.rv then return end
  self.rv, self.secret = rv, secret
end

-- The Secret is gone (or its deletion was seen late): read from the API until a newer one comes.
function Cache:_gone(secret)
  local rv = rv_of(secret)
  if rv and rv > self.rv then self.rv = rv end
  self.secret = nil
end

---Starts the watch of the users Secret.
---@return true|nil ok
---@return string? message
---@return string? code
function Cache:start()
  if self.informer then return true end
  local inf = informer.new({ conn = self.client.conn, path = "/api/v1/namespaces/" .. M.NAMESPACE .. "/secrets",
    field_selector = "metadata.name=" .. M.SECRET, backoff_min = self.backoff_min, backoff_max = self.backoff_max })
  inf:on({
    on_add = function(obj) self:_offer(obj) end,
    on_update = function(_, new) self:_offer(new) end,
    on_delete = function(obj) self:_gone(obj) end,
  })
  local ok, err, code = inf:start()
  if not ok then
    inf:close()
    return nil, err, code
  end
  self.informer = inf
  return true
end

---Applies the watch events queued (call on the main loop's tick).
---@return integer events
function Cache:poll()
  return self.informer and self.informer:poll(0) or 0
end

---Stops the watch for good; reads go to the API again.
function Cache:close()
  if self.informer then self.informer:close() end
  self.informer, self.secret = nil, nil
end

---Whether reads are answered from the copy now (the watch synced and a current Secret held).
---@return boolean
function Cache:serving()
  return self.secret ~= nil and self.informer ~= nil and self.informer:synced()
end

---Hits and misses so far, and whether the copy serves.
---@return {hits: integer, misses: integer, serving: boolean, resource_version: integer|nil}
function Cache:stats()
  return { hits = self.hits, misses = self.misses, serving = self:serving(),
    resource_version = self.secret and self.rv or nil }
end

function Cache:_count(hit)
  if hit then self.hits = self.hits + 1 else self.misses = self.misses + 1 end
  if self.metrics then self.metrics:inc(hit and M.HITS or M.MISSES) end
end

---As kip.k8s.Client:get; the users Secret comes from the copy when it serves.
function Cache:get(api_version, kind, name, namespace)
  if not is_users_secret(api_version, kind, name, namespace) then
    return self.client:get(api_version, kind, name, namespace)
  end
  if self:serving() then
    self:_count(true)
    return tables.copy(self.secret)
  end
  self:_count(false)
  local secret, err, code, status = self.client:get(api_version, kind, name, namespace)
  if secret then self:_offer(tables.copy(secret)) end
  return secret, err, code, status
end

---The resourceVersion of the Secret the copy serves, or nil when reads go to the API.
---@return integer|nil
function Cache:version()
  return self:serving() and self.rv or nil
end

---Reads the users Secret from the API into the copy, for a login the copy refused: a password
---reset elsewhere (`kip user reset-password`, the sandbox's admin) works at once, not only after
---the watch event is polled.
---@param since integer the version (Cache:version) the refused login read
---@return boolean newer whether the copy now holds a newer Secret than that, or serves no more
function Cache:refresh(since)
  local secret = self.client:get("v1", "Secret", M.SECRET, M.NAMESPACE)
  if secret then self:_offer(secret) end
  return self.rv > since or not self:serving()
end

-- After a write of obj answered (written, or err and code): the copy takes what was written, or
-- after a conflict the Secret as it is now.
function Cache:_after_write(obj, written, code)
  local md = type(obj.metadata) == "table" and obj.metadata or {}
  if not is_users_secret(obj.apiVersion, obj.kind, md.name, md.namespace) then return end
  if written then
    self:_offer(tables.copy(written))
  elseif code == "conflict" or code == "alreadyexists" then
    local current = self.client:get("v1", "Secret", M.SECRET, M.NAMESPACE)
    if current then self:_offer(current) end
  end
end

---As kip.k8s.Client:create; a created users Secret replaces the copy.
function Cache:create(obj, opts)
  local written, err, code, status = self.client:create(obj, opts)
  self:_after_write(obj, written, code)
  return written, err, code, status
end

---As kip.k8s.Client:update; an updated users Secret replaces the copy.
function Cache:update(obj, opts)
  local written, err, code, status = self.client:update(obj, opts)
  self:_after_write(obj, written, code)
  return written, err, code, status
end

return M
