-- SPDX-License-Identifier: Apache-2.0
-- kipperd's auto-tuner: every --autotune-interval seconds (on the main loop's tick) it reads each
-- App whose spec.autotune.mode is not off, its pods, their usage (metrics.k8s.io) and the
-- namespace's ResourceQuotas, keeps a short usage history per App, asks the tuner policy
-- (plugins/tuners/autotune.lua, replaceable through KIP_PLUGIN_PATH) what to change, and records or
-- applies it (kipperd.autotune.record). Uses kip.plugins, kip.log, kip.util.time and
-- kipperd.autotune.*.
local gather = require "kipperd.autotune.gather"
local log = require "kip.log"
local plugins = require "kip.plugins"
local record = require "kipperd.autotune.record"
local time = require "kip.util.time"

local M = {}

M.API_VERSION = "kipper.run/v1alpha1"
M.HISTORY = 60 -- samples kept per App

local Tuner = {}
Tuner.__index = Tuner

---Loads the tuner policy (plugins/tuners/NAME.lua) through the plugin search order.
---@param name? string default "autotune"
---@return table|nil policy
---@return string|nil err
function M.load_policy(name)
  local policy, err = plugins.load("tuner", name or "autotune")
  if not policy then return nil, err end
  for _, fn in ipairs({ "decide", "settings", "current" }) do
    if type(policy[fn]) ~= "function" then
      return nil, string.format("the tuner policy %s has no %s function", name or "autotune", fn)
    end
  end
  return policy
end

---A tuner (idle until its first tick).
---@param opts {client: table, interval: number, policy: table, clock?: fun(): number}
---  clock: Unix seconds (default os.time)
function M.new(opts)
  return setmetatable({ client = opts.client, interval = opts.interval, policy = opts.policy,
    clock = opts.clock or os.time, next_run = 0, history = {}, warned = {} }, Tuner)
end

-- The effective memoryLimit, memory and cpu of the App now, as quantities.
function Tuner:_current(app)
  local cur = self.policy.current(app)
  local q = require "kip.policy.quantity"
  return { memoryLimit = q.format_memory(cur.limits.memory), memory = q.format_memory(cur.requests.memory),
    cpu = q.format_cpu(cur.requests.cpu) }
end

function Tuner:_warn_once(key, msg, fields)
  if self.warned[key] then return end
  self.warned[key] = true
  log.warn(msg, fields)
end

-- Keeps the App's samples (after its last change, at most M.HISTORY).
function Tuner:_remember(uid, sample, since)
  local list = self.history[uid] or {}
  if sample then list[#list + 1] = sample end
  local keep = {}
  for _, s in ipairs(list) do
    if not since or s.time > since then keep[#keep + 1] = s end
  end
  while #keep > M.HISTORY do table.remove(keep, 1) end
  self.history[uid] = keep
  return keep
end

-- Tunes one App of a namespace view; returns the plan written.
function Tuner:_tune(app, view, now)
  local at = type(app.status) == "table" and type(app.status.autotune) == "table" and app.status.autotune or {}
  local mode = self.policy.settings(app).mode
  local since = mode == "auto" and at.lastChange and time.parse_rfc3339(at.lastChange.time)
    or mode == "recommend" and at.recommendation and time.parse_rfc3339(at.recommendation.time) or nil
  local mine = gather.app(view, app, now)
  local samples = self:_remember(app.metadata.uid, mine.sample, since)
  local replicas = math.max(tonumber((app.spec or {}).replicas) or 1, #mine.pods)
  local result = self.policy.decide({ app = app, pods = mine.pods, samples = samples, quotas = mine.quotas,
    now = now, last_change = since, replicas = replicas })
  local stamp = time.format_rfc3339(now)
  local plan = record.plan(app, result, self:_current(app), stamp)
  record.write(self.client, app, plan, stamp)
  if plan.apply then self.history[app.metadata.uid] = {} end
  return plan
end

---One pass over every App. Returns how many Apps it looked at.
---@return integer apps
function Tuner:run_once()
  local apps, err = self.client:list(M.API_VERSION, "App", { all_namespaces = true, all = true })
  if not apps then
    self:_warn_once("apps", "autotune: cannot list Apps", { error = err })
    return 0
  end
  self.warned.apps = nil
  local by_ns, seen = {}, {}
  for _, app in ipairs(apps.items or {}) do
    seen[app.metadata.uid] = true
    local ns = app.metadata.namespace
    by_ns[ns] = by_ns[ns] or {}
    table.insert(by_ns[ns], app)
  end
  for uid in pairs(self.history) do
    if not seen[uid] then self.history[uid] = nil end
  end
  local now = self.clock()
  local n = 0
  for ns, list in pairs(by_ns) do
    local view, verr = gather.namespace(self.client, ns)
    if not view then
      log.warn("autotune: cannot read the namespace's pods", { namespace = ns, error = verr })
    else
      if view.metrics_error then
        self:_warn_once("metrics", "autotune: no usage from metrics.k8s.io (is metrics-server installed?): only OOM kills are acted on",
          { error = view.metrics_error })
      end
      for _, app in ipairs(list) do
        if not app.metadata.deletionTimestamp then
          local ok, perr = xpcall(self._tune, debug.traceback, self, app, view, now)
          if not ok then log.warn("autotune: the tuner failed for an App", { app = ns .. "/" .. app.metadata.name, error = perr }) end
          n = n + 1
        end
      end
    end
  end
  return n
end

---Runs a pass when the interval has passed (call on every loop tick).
---@param now number monotonic seconds
function Tuner:tick(now)
  if now < self.next_run then return end
  self.next_run = now + self.interval
  self:run_once()
end

return M
