-- SPDX-License-Identifier: Apache-2.0
-- One policy's controller: its work queue and reconcile(key). A reconcile reads the resource from
-- the cache, calls the policy with a ctx, server-side applies the objects it wants (field manager
-- kipperd, forced; skipped when the live copy is current), deletes the owned objects it no longer
-- wants and the `delete` refs, and writes status through the status subresource. A resource being
-- deleted gets its policy's finalize() and then loses the finalizer. Failures set Ready=False
-- (ReconcileError, or the reason of a spec error a policy raised with kip.policy.invalid) with the
-- message and requeue with back-off. Uses kip.informer (queue), kip.log,
-- kip.host (clock) and kip.reconcile.*.
local context = require "kip.reconcile.context"
local deps_mod = require "kip.reconcile.deps"
local host = require "kip.host"
local informer = require "kip.informer"
local json = require "kip.json"
local log = require "kip.log"
local objects = require "kip.reconcile.objects"
local owner = require "kip.reconcile.owner"
local prune = require "kip.reconcile.prune"
local status = require "kip.reconcile.status"

local M = {}

M.FIELD_MANAGER = "kipperd"

local Controller = {}
Controller.__index = Controller

---A controller for a policy.
---@param policy table the policy module (api_version, kind, owns, reads, finalizer, reconcile, finalize)
---@param opts {name: string, engine: table, base_delay?: number, max_delay?: number}
---  engine: {client, cache, deps, metrics, cluster, catalog, on_write?}
function M.new(policy, opts)
  local self = setmetatable({ policy = policy, name = opts.name, engine = opts.engine,
    api_version = policy.api_version, kind = policy.kind,
    queue = informer.queue({ base_delay = opts.base_delay or 0.05, max_delay = opts.max_delay or 300 }),
    allowed = {}, owned = {}, read = {}, kind_keys = {}, warned = {} }, Controller)
  local function add(kk)
    if not self.allowed[kk] then
      self.allowed[kk] = true
      self.kind_keys[#self.kind_keys + 1] = kk
    end
  end
  add(objects.kind_key(policy.api_version, policy.kind))
  for _, k in ipairs(policy.owns or {}) do
    add(objects.kind_key(k[1], k[2]))
    self.owned[objects.kind_key(k[1], k[2])] = true
  end
  for _, k in ipairs(policy.reads or {}) do
    add(objects.kind_key(k[1], k[2]))
    self.read[objects.kind_key(k[1], k[2])] = true
  end
  return self
end

---Whether the informers of every kind the policy reconciles, owns or reads have listed them.
---@return boolean
---@return string|nil waiting
function Controller:synced()
  if self.is_synced then return true end
  local ok, waiting = self.engine.cache:synced(self.kind_keys)
  if ok then
    self.is_synced = true
    log.info("reconciling", { kind = self.kind, policy = self.name })
  end
  return ok, waiting
end

---The resources to queue for a change to an object of a kind the policy reads, from its optional
---enqueue_for(obj, ctx) hook (in addition to what the engine finds itself).
---@param obj table
---@return string[] keys
function Controller:enqueue_for(obj)
  if type(self.policy.enqueue_for) ~= "function" or not self.is_synced then return {} end
  local rec = deps_mod.recorder()
  local ctx = context.new({ cache = self.engine.cache, recorder = rec, cluster = self.engine.cluster,
    catalog = self.engine.catalog, allowed = self.allowed, policy = self.name })
  local ok, list = pcall(self.policy.enqueue_for, obj, ctx)
  if not ok then
    log.warn(string.format("policy %s: enqueue_for failed", self.name), { error = tostring(list) })
    return {}
  end
  local keys = {}
  for _, r in ipairs(type(list) == "table" and list or {}) do
    if type(r) == "table" and type(r.name) == "string" then keys[#keys + 1] = owner.key(r.namespace, r.name) end
  end
  return keys
end

---Checks a policy module's shape; returns nil and what is wrong.
---@param policy any
---@param name string
---@return boolean|nil ok
---@return string|nil message
function M.check_policy(policy, name)
  if type(policy) ~= "table" then return nil, string.format("policy %s is not a table", name) end
  if type(policy.api_version) ~= "string" or type(policy.kind) ~= "string" then
    return nil, string.format("policy %s needs api_version and kind", name)
  end
  if type(policy.reconcile) ~= "function" then return nil, string.format("policy %s has no reconcile function", name) end
  for _, field in ipairs({ "owns", "reads" }) do
    if policy[field] ~= nil then
      if type(policy[field]) ~= "table" then return nil, string.format("policy %s: %s must be a list", name, field) end
      for i, k in ipairs(policy[field]) do
        if type(k) ~= "table" or type(k[1]) ~= "string" or type(k[2]) ~= "string" then
          return nil, string.format("policy %s: %s[%d] must be { apiVersion, kind }", name, field, i)
        end
      end
    end
  end
  if policy.finalizer ~= nil and type(policy.finalizer) ~= "string" then
    return nil, string.format("policy %s: finalizer must be a string", name)
  end
  return true
end

---The id of a resource in the engine's tables: "Kind|key".
function Controller:id(key)
  return self.kind .. "|" .. key
end

-- The message of a Lua error without the "file:line: " prefix error() adds.
local function plain(err)
  local msg = tostring(err)
  return (msg:gsub("^[^\n]-:%d+: ", ""))
end

local function api_error(what, err, code)
  return { message = string.format("%s: %s", what, tostring(err)), code = code }
end

local function describe(obj)
  local ns = obj.metadata.namespace
  return string.format("%s %s%s", obj.kind, ns and ns ~= "" and (ns .. "/") or "", obj.metadata.name)
end

-- Whether the kind is namespaced (from the cache, else discovery).
function Controller:_namespaced(api_version, kind)
  local k = self.engine.cache:kind(api_version, kind)
  if k and k.namespaced ~= nil then return k.namespaced end
  local res, err, code = self.engine.client:resource(api_version, kind)
  if not res then return nil, err, code end
  return res.namespaced
end

function Controller:_wrote(obj)
  self.engine.cache:wrote(obj)
end

-- Calls a policy function with a ctx; records what it read. Returns its result or nil, message.
function Controller:_call(fn_name, resource, key)
  local rec = deps_mod.recorder()
  local ctx = context.new({ cache = self.engine.cache, recorder = rec, cluster = self.engine.cluster,
    catalog = self.engine.catalog, allowed = self.allowed, policy = self.name })
  local ok, result = xpcall(self.policy[fn_name], debug.traceback, resource, ctx)
  self.engine.deps:record(self:id(key), rec.reads)
  if not ok then
    -- a spec error (kip.policy.invalid): {reason, message}, reported as it is
    if type(result) == "table" and type(result.reason) == "string" and type(result.message) == "string" then
      return nil, { message = result.message, reason = result.reason }
    end
    log.debug(string.format("policy %s: %s raised", self.name, fn_name), { resource = key, error = tostring(result) })
    local first = tostring(result):match("^[^\n]*")
    return nil, { message = string.format("the %s policy failed: %s", self.name, plain(first)) }
  end
  if type(result) ~= "table" then
    return nil, { message = string.format("the %s policy's %s returned a %s, not a table", self.name, fn_name, type(result)) }
  end
  return result
end

-- Deletes one object by reference; a missing one is fine.
function Controller:_delete(api_version, kind, namespace, name, uid)
  local cache = self.engine.cache
  if cache:kind(api_version, kind) then
    local live = cache:get(api_version, kind, namespace, name)
    if not live or live.metadata.deletionTimestamp or (uid and live.metadata.uid ~= uid) then return true end
  end
  local ok, err, code = self.engine.client:delete(api_version, kind, name, namespace, { uid = uid })
  if not ok and code ~= "notfound" and not (uid and code == "conflict") then
    return nil, api_error(string.format("cannot delete %s %s%s", kind, namespace and (namespace .. "/") or "", name), err, code)
  end
  cache:deleted(api_version, kind, namespace, name)
  log.debug("deleted", { kind = kind, namespace = namespace, name = name })
  return true
end

-- Applies the policy's objects; returns the decorated objects or nil, error.
function Controller:_apply(resource, wanted)
  local cache, client = self.engine.cache, self.engine.client
  local owner_namespaced = resource.metadata.namespace ~= nil and resource.metadata.namespace ~= ""
  local out = {}
  for i, obj in ipairs(wanted) do
    if type(obj) ~= "table" or type(obj.apiVersion) ~= "string" or type(obj.kind) ~= "string"
        or type(obj.metadata) ~= "table" or type(obj.metadata.name) ~= "string" then
      return nil, { message = string.format("the %s policy's object %d has no apiVersion, kind or metadata.name", self.name, i) }
    end
    local namespaced, nerr, ncode = self:_namespaced(obj.apiVersion, obj.kind)
    if namespaced == nil then return nil, api_error(string.format("cannot apply %s %s", obj.kind, obj.metadata.name), nerr, ncode) end
    local want, warning = objects.decorate(obj, resource, { namespaced = namespaced, owner_namespaced = owner_namespaced })
    if warning and not self.warned[warning] then
      self.warned[warning] = true
      log.warn(warning)
    end
    out[#out + 1] = want
    local live
    if cache:kind(want.apiVersion, want.kind) then
      live = cache:get(want.apiVersion, want.kind, want.metadata.namespace, want.metadata.name)
    end
    if not objects.is_current(want, live) then
      local applied, err, code = client:apply(want, { field_manager = M.FIELD_MANAGER, force = true })
      if not applied then return nil, api_error("cannot apply " .. describe(want), err, code) end
      self:_wrote(applied)
      log.debug("applied", { object = describe(want) })
    end
  end
  return out
end

-- Deletes the owned objects no longer wanted.
function Controller:_prune(resource, applied)
  local label = owner.label(resource.kind, resource.metadata.namespace, resource.metadata.name)
  local existing = self.engine.cache:owned_by(label)
  for _, e in ipairs(prune.plan(existing, prune.wanted(applied), self.owned)) do
    local ok, err = self:_delete(e.api_version, e.kind, e.namespace, e.name, e.uid)
    if not ok then return nil, err end
  end
  return true
end

-- Writes status (when it changed) through the status subresource, at the resourceVersion the
-- reconcile read: the patch replaces lists such as conditions whole, so a write from a cache that
-- lags behind another writer (the auto-tuner's AutoTuned condition) would undo it. A conflict
-- requeues the key, and the next reconcile reads the newer copy.
function Controller:_write_status(resource, new_status)
  local patch = status.patch(new_status, resource.status)
  if not patch then return true end
  local md = resource.metadata
  patch.metadata = { resourceVersion = md.resourceVersion }
  local written, err, code = self.engine.client:patch(self.api_version, self.kind, md.name, md.namespace, patch,
    { subresource = "status", field_manager = M.FIELD_MANAGER })
  if not written then
    if code == "notfound" then return true end
    return nil, api_error("cannot write the status of " .. describe(resource), err, code)
  end
  self:_wrote(written)
  return true
end

local function has_finalizer(resource, name)
  for _, f in ipairs(resource.metadata.finalizers or {}) do
    if f == name then return true end
  end
  return false
end

-- Sets metadata.finalizers (a merge patch guarded by the resourceVersion).
function Controller:_set_finalizers(resource, list)
  local md = resource.metadata
  local written, err, code = self.engine.client:patch(self.api_version, self.kind, md.name, md.namespace,
    { metadata = { finalizers = json.array(list), resourceVersion = md.resourceVersion } },
    { field_manager = M.FIELD_MANAGER })
  if not written then
    if code == "notfound" then return true end
    return nil, api_error("cannot update the finalizers of " .. describe(resource), err, code)
  end
  self:_wrote(written)
  return written
end

-- A resource being deleted: finalize() and the finalizer's removal, when it has ours.
function Controller:_finalize(resource, key)
  local fin = self.policy.finalizer
  if not fin or not has_finalizer(resource, fin) then return true end
  if type(self.policy.finalize) == "function" then
    local result, err = self:_call("finalize", resource, key)
    if not result then return nil, err end
    if type(result.message) == "string" and result.message ~= "" then
      log.info(result.message, { kind = self.kind, resource = key })
    end
    for _, ref in ipairs(result.delete or {}) do
      local ok, derr = self:_delete(ref.apiVersion, ref.kind, ref.namespace, ref.name)
      if not ok then return nil, derr end
    end
  end
  local rest = {}
  for _, f in ipairs(resource.metadata.finalizers) do
    if f ~= fin then rest[#rest + 1] = f end
  end
  local ok, err = self:_set_finalizers(resource, rest)
  if not ok then return nil, err end
  self.engine.deps:forget(self:id(key))
  log.info("finalized", { kind = self.kind, resource = key })
  return true
end

---Reconciles one resource. Returns true, or nil and {message, code (the API's), reason (a spec
---error's)}.
---@param key string "namespace/name" or "name"
---@return boolean|nil ok
---@return {message: string, code: string|nil, reason: string|nil}|nil err
function Controller:reconcile(key)
  local ns, name = owner.split_key(key)
  local resource = self.engine.cache:get(self.api_version, self.kind, ns, name)
  if not resource then
    self.engine.deps:forget(self:id(key))
    self.engine.label_owner[owner.label(self.kind, ns, name)] = nil
    return true
  end
  if resource.metadata.deletionTimestamp then return self:_finalize(resource, key) end
  local fin = self.policy.finalizer
  if fin and not has_finalizer(resource, fin) then
    local list = {}
    for _, f in ipairs(resource.metadata.finalizers or {}) do list[#list + 1] = f end
    list[#list + 1] = fin
    local written, err = self:_set_finalizers(resource, list)
    if not written then return nil, err end
    if written ~= true then resource = written end
  end
  -- a shortened owner label cannot be parsed back: remember whose it is
  self.engine.label_owner[owner.label(self.kind, ns, name)] = self:id(key)
  local result, perr = self:_call("reconcile", resource, key)
  if not result then return nil, perr end
  local applied, aerr = self:_apply(resource, result.objects or {})
  if not applied then return nil, aerr end
  local ok, err = self:_prune(resource, applied)
  if not ok then return nil, err end
  for _, ref in ipairs(result.delete or {}) do
    ok, err = self:_delete(ref.apiVersion, ref.kind, ref.namespace, ref.name)
    if not ok then return nil, err end
  end
  local new_status = status.build(result.status, resource.status, resource.metadata.generation, context.now())
  return self:_write_status(resource, new_status)
end

-- After a failure: Ready=False with the message and reason ReconcileError, or a spec error's own
-- reason (unless the resource is gone or being deleted, or the failure was a write conflict).
function Controller:_report(key, err)
  if err.code == "conflict" then return end
  local ns, name = owner.split_key(key)
  local resource = self.engine.cache:get(self.api_version, self.kind, ns, name)
  if not resource or resource.metadata.deletionTimestamp then return end
  local s = status.failed(resource.status, err.message, resource.metadata.generation, context.now(), err.reason)
  local ok, werr = self:_write_status(resource, s)
  if not ok then log.warn("cannot report a reconcile error", { resource = key, error = werr.message }) end
end

---Takes one key from the queue (without waiting) and reconciles it.
---@return boolean worked whether there was a key
function Controller:process_one()
  if not self:synced() then return false end
  local key = self.queue:get(0)
  if not key then return false end
  local metrics = self.engine.metrics
  local started = host.monotonic()
  local ok, call_ok, err = xpcall(self.reconcile, debug.traceback, self, key)
  if not ok then
    log.error("internal error in a reconcile", { kind = self.kind, resource = key, error = call_ok })
    call_ok, err = nil, { message = "internal error in kipperd: " .. plain(tostring(call_ok):match("^[^\n]*")) }
  end
  local labels = { kind = self.kind }
  metrics:observe("kipperd_reconcile_duration_seconds", labels, host.monotonic() - started)
  if call_ok then
    metrics:inc("kipperd_reconcile_total", { kind = self.kind, result = "success" })
    self.queue:forget(key)
  elseif err.code == "conflict" then
    -- a write at a resourceVersion someone else moved on from: not a failure, the next reconcile
    -- reads the newer copy
    metrics:inc("kipperd_reconcile_total", { kind = self.kind, result = "conflict" })
    local delay = self.queue:add_rate_limited(key)
    log.debug("reconcile met a newer copy: again", { kind = self.kind, resource = key, error = err.message,
      retry = string.format("%.2fs", delay) })
  else
    metrics:inc("kipperd_reconcile_total", { kind = self.kind, result = "error" })
    metrics:inc("kipperd_reconcile_errors_total", labels)
    local delay = self.queue:add_rate_limited(key)
    log.warn("reconcile failed", { kind = self.kind, resource = key, error = err.message,
      retry = string.format("%.2fs", delay) })
    local rok, rerr = xpcall(self._report, debug.traceback, self, key, err)
    if not rok then log.error("internal error reporting a reconcile error", { error = rerr }) end
  end
  self.queue:done(key)
  return true
end

---Queues a resource.
function Controller:add(key)
  self.queue:add(key)
end

return M
