-- SPDX-License-Identifier: Apache-2.0
-- kipperd's heartbeats to the kipper-gateway the cluster is registered with: every interval it
-- reads Secret kipper-system/kipper-gateway {gateway, cluster, token} (written by `kip domain
-- register`) and sends POST /v1/clusters/ID/heartbeat, which keeps the cluster's name. Runs on the
-- server loop's ticks, so every request has a short timeout; a failure is logged, counted and
-- tried again sooner. Uses kip.domain.api, kip.domain.register, kip.domain.store and kip.log.
local api_mod = require "kip.domain.api"
local log = require "kip.log"
local register = require "kip.domain.register"
local store = require "kip.domain.store"

local M = {}

M.METRIC = "kipperd_gateway_heartbeats_total"
M.RETRY = 300      -- seconds before another try after a failure (at most the interval)
M.TIMEOUT = 5      -- seconds a heartbeat may take, connect included

local Heartbeat = {}
Heartbeat.__index = Heartbeat

---A heartbeat sender (not started: call tick(now) on the loop's ticks).
---@param opts {client: table, interval: number, metrics: table, timeout?: number, retry?: number}
function M.new(opts)
  opts.metrics:counter(M.METRIC,
    "Heartbeats sent to the kipper-gateway, by result (ok, error, unregistered: no Secret " ..
    store.NAMESPACE .. "/" .. store.NAME .. ").")
  return setmetatable({ client = opts.client, interval = opts.interval, metrics = opts.metrics,
    timeout = opts.timeout or M.TIMEOUT, retry = math.min(opts.retry or M.RETRY, opts.interval), next_at = 0 }, Heartbeat)
end

---Sends one heartbeat now. Returns the result ("ok", "error", "unregistered") and the gateway's
---answer or the error.
function Heartbeat:send()
  local reg, err = store.load(self.client)
  if not reg then
    if err then return "error", err end
    return "unregistered"
  end
  local api, aerr = api_mod.new({ url = reg.gateway, timeout = self.timeout, connect_timeout = math.min(3, self.timeout) })
  if not api then return "error", "Secret " .. store.NAMESPACE .. "/" .. store.NAME .. ": " .. aerr end
  local answer, herr = register.heartbeat(api, reg)
  api:close()
  if not answer then return "error", herr end
  return "ok", answer, reg
end

---Sends a heartbeat when one is due.
---@param now number seconds (the loop's clock)
function Heartbeat:tick(now)
  if now < self.next_at then return end
  local result, detail, reg = self:send()
  self.metrics:inc(M.METRIC, { result = result })
  if result == "ok" then
    log.info("gateway heartbeat", { cluster = reg.cluster, gateway = reg.gateway, state = detail.state,
      expires_at = detail.expires_at })
    self.next_at = now + self.interval
  elseif result == "unregistered" then
    log.debug("no gateway registration: no heartbeat sent", { secret = store.NAMESPACE .. "/" .. store.NAME })
    self.next_at = now + self.retry
  else
    log.warn("gateway heartbeat failed", { error = detail, retry_in = self.retry })
    self.next_at = now + self.retry
  end
  return result
end

return M
