-- SPDX-License-Identifier: Apache-2.0
-- The reconcile engine: a controller per policy over shared informers (one per kind), event
-- routing (a resource's own changes queue it; a change to an object queues the resource that owns
-- it, by ownerReference or owner label, and the resources whose last reconcile read it), and the
-- step that the host's loop calls: deliver events, then reconcile queued keys for a time budget.
-- Counts reconciles, errors, queue depth, latency and API requests (kip.reconcile.metrics).
-- Uses kip.plugins (policies), kip.host (clock), kip.log and kip.reconcile.*.
local cache_mod = require "kip.reconcile.cache"
local controller = require "kip.reconcile.controller"
local deps_mod = require "kip.reconcile.deps"
local host = require "kip.host"
local log = require "kip.log"
local metrics_mod = require "kip.reconcile.metrics"
local objects = require "kip.reconcile.objects"
local owner = require "kip.reconcile.owner"
local plugins = require "kip.plugins"
local tables = require "kip.util.tables"

local M = {}

M.DEFAULT_POLICIES = { "app", "service", "project" }

local Engine = {}
Engine.__index = Engine

---Loads reconcile policies by name through the plugin search order. A name no root has is
---skipped (with its name in `missing`); one that fails to load is an error.
---@param names string[]
---@return table[]|nil policies {name, policy}
---@return string|nil message
---@return string[] missing
function M.load_policies(names)
  local out, missing, by_kind = {}, {}, {}
  for _, name in ipairs(names) do
    if not plugins.search(plugins.module_name("reconciler", name)) then
      missing[#missing + 1] = name
    else
      local policy, err = plugins.load("reconciler", name)
      if not policy then return nil, string.format("cannot load the reconcile policy %s: %s", name, err), missing end
      local ok, cerr = controller.check_policy(policy, name)
      if not ok then return nil, cerr, missing end
      -- resources are told apart by kind in queues and owner labels: one policy per kind
      if by_kind[policy.kind] then
        return nil, string.format("policies %s and %s both reconcile kind %s: run one of them", by_kind[policy.kind], name,
          policy.kind), missing
      end
      by_kind[policy.kind] = name
      out[#out + 1] = { name = name, policy = policy }
    end
  end
  return out, nil, missing
end

local function declare_metrics(m)
  m:counter("kipperd_reconcile_total", "Reconciles, by kind and result (success, error, or conflict: a write met a newer copy and is retried).")
  m:counter("kipperd_reconcile_errors_total", "Reconciles that failed, by kind.")
  m:gauge("kipperd_workqueue_depth", "Keys waiting in the work queue, by kind.")
  m:histogram("kipperd_reconcile_duration_seconds", "How long a reconcile took, by kind.")
  m:counter("kipperd_api_requests_total",
    "Requests kipperd's client sent to the Kubernetes API (informers' lists and watches: kipperd_informer_requests_total).")
  m:counter("kipperd_informer_requests_total", "List pages and watches the informers requested, by kind.")
  m:counter("kipperd_informer_events_total", "Watch events the informers applied, by kind.")
  m:gauge("kipperd_informer_synced", "Whether the informer of a kind has listed it (1) or not yet (0).")
end

-- Counts each request of a kip.k8s client, and remembers whether the API answered lately.
local function instrument(client, engine)
  local request = client.request
  client.request = function(c, method, path, opts)
    local r, err, code, st = request(c, method, path, opts)
    engine.metrics:inc("kipperd_api_requests_total")
    if r or (code ~= "connect" and code ~= "tls" and code ~= "timeout" and code ~= "io") then
      engine.api_ok, engine.api_seen = true, host.monotonic()
    else
      engine.api_ok, engine.api_error = false, err
    end
    return r, err, code, st
  end
end

---An engine (not started). Without opts.cluster it waits for set_cluster before it starts.
---@param opts {client: table, conn: table, policies: {name: string, policy: table}[], cluster?: table,
---  catalog?: any, base_delay?: number, max_delay?: number}
function M.new(opts)
  local self = setmetatable({ client = opts.client, cluster = opts.cluster, catalog = opts.catalog,
    controllers = {}, by_kind = {}, by_kind_key = {}, primary_kinds = {}, label_owner = {},
    deps = deps_mod.new(), metrics = metrics_mod.new(), api_ok = nil, next_start = 0 }, Engine)
  declare_metrics(self.metrics)
  instrument(self.client, self)
  self.cache = cache_mod.new({ conn = opts.conn, on_event = function(kk, typ, old, new) self:_on_event(kk, typ, old, new) end })
  -- kinds read by anyone, or reconciled, are watched whole; kinds only owned, by our label only
  local whole = {}
  for _, p in ipairs(opts.policies) do
    whole[objects.kind_key(p.policy.api_version, p.policy.kind)] = true
    for _, k in ipairs(p.policy.reads or {}) do whole[objects.kind_key(k[1], k[2])] = true end
  end
  local managed = owner.MANAGED_BY_LABEL .. "=" .. owner.MANAGED_BY
  for _, p in ipairs(opts.policies) do
    local pol = p.policy
    local c = controller.new(pol, { name = p.name, engine = self, base_delay = opts.base_delay, max_delay = opts.max_delay })
    self.controllers[#self.controllers + 1] = c
    self.by_kind[pol.kind] = c
    self.by_kind_key[objects.kind_key(pol.api_version, pol.kind)] = c
    self.primary_kinds[pol.kind] = { api_version = pol.api_version, namespaced = true }
    self.cache:add_kind(pol.api_version, pol.kind)
    for _, list in ipairs({ pol.owns or {}, pol.reads or {} }) do
      for _, k in ipairs(list) do
        local kk = objects.kind_key(k[1], k[2])
        self.cache:add_kind(k[1], k[2], { label_selector = not whole[kk] and managed or nil })
      end
    end
  end
  return self
end

-- Whether a change to a resource is one its controller acts on (not only its status).
local function interesting(old, new)
  if not old then return true end
  local a, b = old.metadata or {}, new.metadata or {}
  return a.generation ~= b.generation or a.deletionTimestamp ~= b.deletionTimestamp
    or not tables.equal(a.labels, b.labels) or not tables.equal(a.annotations, b.annotations)
    or not tables.equal(a.finalizers, b.finalizers) or a.uid ~= b.uid
end

function Engine:_queue(id)
  local kind, key = id:match("^([^|]+)|(.*)$")
  local c = kind and self.by_kind[kind]
  if c then c:add(key) end
end

function Engine:_on_event(kk, typ, old, new)
  local md = new.metadata or {}
  local key = owner.key(md.namespace, md.name)
  local c = self.by_kind_key[kk]
  if c and (typ ~= "MODIFIED" or interesting(old, new)) then c:add(key) end
  local targets = {}
  for _, obj in ipairs({ new, old }) do
    for _, o in ipairs(owner.owners(obj, self.primary_kinds)) do
      targets[o.kind .. "|" .. owner.key(o.namespace, o.name)] = true
    end
    local labels = obj.metadata and obj.metadata.labels or {}
    local by_label = self.label_owner[labels[owner.OWNER_LABEL] or ""]
    if by_label then targets[by_label] = true end
    self.deps:readers(kk, key, md.namespace, labels, targets)
  end
  for id in pairs(targets) do self:_queue(id) end
  for _, ctrl in ipairs(self.controllers) do
    if ctrl.read[kk] then
      for _, k in ipairs(ctrl:enqueue_for(new)) do ctrl:add(k) end
    end
  end
end

---Queues every resource of every controller again (a periodic resync: what a missed event or a
---change outside the watched objects left behind is put right). Reconciles that find everything
---current write nothing.
---@return integer queued
function Engine:resync()
  local n = 0
  for _, c in ipairs(self.controllers) do
    if self.cache:kind(c.api_version, c.kind) then
      for _, obj in ipairs(self.cache:list(c.api_version, c.kind)) do
        c:add(owner.key(obj.metadata.namespace, obj.metadata.name))
        n = n + 1
      end
    end
  end
  return n
end

---Sets the cluster settings policies see as ctx.cluster (the engine starts once it has them).
---@param cluster table
function Engine:set_cluster(cluster)
  self.cluster = cluster
end

---Starts the informers (those of kinds the API does not serve yet are tried again by step).
---@return boolean all
---@return string|nil message
function Engine:start()
  local all, err = self.cache:start(self.client)
  for _, c in ipairs(self.controllers) do
    local k = self.cache:kind(c.api_version, c.kind)
    if k and k.namespaced ~= nil then self.primary_kinds[c.kind].namespaced = k.namespaced end
  end
  if not all and err ~= self.start_error then log.warn("waiting for a kind the API does not serve yet", { kind = err }) end
  self.start_error = err
  self.started = all
  return all, err
end

---One round: informers not started are tried again (every 2 s), events are delivered, then queued
---keys are reconciled, one per controller in turn, until none is left or `budget` seconds passed.
---@param budget number seconds
---@return integer reconciled
function Engine:step(budget)
  if not self.cluster then return 0 end
  local now = host.monotonic()
  if not self.started and now >= self.next_start then
    self.next_start = now + 2
    self:start()
  end
  self.cache:poll()
  local deadline = now + budget
  local n = 0
  repeat
    local worked = false
    for _, c in ipairs(self.controllers) do
      if c:process_one() then
        worked = true
        n = n + 1
      end
    end
    if worked then self.cache:poll() end
  until not worked or host.monotonic() >= deadline
  return n
end

---Keys waiting in all queues.
function Engine:pending()
  local n = 0
  for _, c in ipairs(self.controllers) do n = n + c.queue:len() end
  return n
end

---Checks that the API answers when nothing else asked it for `idle` seconds (GET /version).
---@param idle number
function Engine:probe(idle)
  if self.api_seen and host.monotonic() - self.api_seen < idle then return end
  self.client:request("GET", "/version")
end

---Whether kipperd is ready: informers synced and the API reachable.
---@return boolean ready
---@return string|nil why not
function Engine:ready()
  if not self.cluster then return false, "waiting for the cluster settings (ConfigMap kipper-system/kipper-config)" end
  if not self.started then return false, "waiting for kinds the API does not serve: " .. tostring(self.start_error) end
  local ok, waiting = self.cache:synced()
  if not ok then return false, "informer not synced: " .. tostring(waiting) end
  if self.api_ok == false then return false, "the API is not reachable: " .. tostring(self.api_error) end
  return true
end

---The metrics in the Prometheus text format (gauges refreshed).
---@return string
function Engine:render_metrics()
  local m = self.metrics
  for _, c in ipairs(self.controllers) do m:set("kipperd_workqueue_depth", { kind = c.kind }, c.queue:len()) end
  for kk, st in pairs(self.cache:stats()) do
    local kind = kk:gsub("|", "/")
    m:set("kipperd_informer_requests_total", { kind = kind }, st.pages + st.watches)
    m:set("kipperd_informer_events_total", { kind = kind }, st.events)
  end
  for _, kk in ipairs(self.cache.order) do
    local k = self.cache.kinds[kk]
    m:set("kipperd_informer_synced", { kind = (kk:gsub("|", "/")) }, (k.informer and k.informer:synced()) and 1 or 0)
  end
  return m:render()
end

---Stops the informers and the queues.
function Engine:close()
  for _, c in ipairs(self.controllers) do c.queue:shutdown() end
  self.cache:close()
  for _, c in ipairs(self.controllers) do c.queue:close() end
end

return M
