-- SPDX-License-Identifier: Apache-2.0
-- Readiness and liveness probes: for an App from spec.healthCheck (an HTTP GET of a path, or a TCP
-- connection to the port, the default), for a catalog Service from its entry (a command, an HTTP
-- path, or TCP on its port). Liveness waits longer and tolerates more failures than readiness, so a
-- slow start is not a restart loop. Pure data.
local M = {}

local function pair(handler)
  local readiness = { periodSeconds = 5, timeoutSeconds = 3, failureThreshold = 3 }
  local liveness = { initialDelaySeconds = 15, periodSeconds = 10, timeoutSeconds = 5, failureThreshold = 6 }
  for k, v in pairs(handler) do readiness[k], liveness[k] = v, v end
  return readiness, liveness
end

---@param health table|nil spec.healthCheck: {path?, tcp?, port?}
---@param port integer spec.port
---@return table readiness
---@return table liveness
function M.for_app(health, port)
  health = health or {}
  local p = health.port or port
  if health.path and not health.tcp then
    return pair({ httpGet = { path = health.path, port = p } })
  end
  return pair({ tcpSocket = { port = p } })
end

---@param probe table|nil the catalog entry's probe: {command = {...}} or {http = "/path"} or nil (TCP)
---@param port integer the entry's port
---@return table readiness
---@return table liveness
function M.for_service(probe, port)
  probe = probe or {}
  if probe.command then return pair({ exec = { command = probe.command } }) end
  if probe.http then return pair({ httpGet = { path = probe.http, port = port } }) end
  return pair({ tcpSocket = { port = port } })
end

return M
