-- SPDX-License-Identifier: Apache-2.0
-- kipper-gateway's /metrics: the proxy's counters (gw:stats()) as kipper_gateway_<name> (a counter
-- ending in _total; connections_active a gauge), the registrations by state and the API's
-- requests by endpoint and status, in the Prometheus text format. Uses kip.reconcile.metrics.
local prom = require "kip.reconcile.metrics"

local M = {}

M.CONTENT_TYPE = prom.CONTENT_TYPE
local GAUGES = { connections_active = "client connections open now" }

local Collector = {}
Collector.__index = Collector

function M.new()
  return setmetatable({ api = {} }, Collector)
end

---Counts one API request.
---@param endpoint string e.g. "register", "proof"
---@param status integer the status answered
function Collector:count(endpoint, status)
  local key = endpoint .. "\0" .. tostring(status)
  self.api[key] = (self.api[key] or 0) + 1
end

---The exposition.
---@param stats table<string, integer>|nil gw:stats(), nil when the proxy is not running
---@param counts table<string, integer> registrations by state
---@return string
function Collector:render(stats, counts)
  local r = prom.new()
  local names = {}
  for name in pairs(stats or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local v = stats[name]
    if math.type(v) or type(v) == "number" then
      if GAUGES[name] then
        r:gauge("kipper_gateway_" .. name, GAUGES[name])
        r:set("kipper_gateway_" .. name, nil, v)
      else
        local metric = "kipper_gateway_" .. name .. (name:match("_total$") and "" or "_total")
        r:counter(metric, "the proxy's " .. name:gsub("_", " "))
        r:inc(metric, nil, v)
      end
    end
  end
  r:gauge("kipper_gateway_registrations", "registered clusters by state")
  for _, state in ipairs({ "pending", "active", "expired" }) do
    r:set("kipper_gateway_registrations", { state = state }, counts[state] or 0)
  end
  r:counter("kipper_gateway_api_requests_total", "registration API requests by endpoint and status")
  for key, n in pairs(self.api) do
    local endpoint, code = key:match("^(.-)%z(.*)$")
    r:inc("kipper_gateway_api_requests_total", { endpoint = endpoint, code = code }, n)
  end
  return r:render()
end

return M
