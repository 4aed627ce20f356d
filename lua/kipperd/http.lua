-- SPDX-License-Identifier: Apache-2.0
-- kipperd's HTTP endpoints (served by kip.server): /healthz (the process is alive), /readyz
-- (informers synced and the API reachable) and /metrics (Prometheus text); paths under /api/ go to
-- the JSON API's router (kipperd.api.router) when one is given; every other path goes to the
-- console (kipperd.static) when one is served. Handlers only read the engine's state: they run on
-- the server's threads. Uses kip.reconcile.metrics.
local metrics = require "kip.reconcile.metrics"

local M = {}

local function text(code, body, content_type, extra)
  local headers = { ["Content-Type"] = content_type or "text/plain; charset=utf-8", ["Cache-Control"] = "no-cache" }
  for k, v in pairs(extra or {}) do headers[k] = v end
  return { status = code, headers = headers, body = body }
end

---The request handler for an engine.
---@param engine table kip.reconcile.engine
---@param api? table a kipperd.api.router for /api/
---@param console? table a kipperd.static console for everything else
---@return fun(req: kip.server.Request): kip.server.Response
function M.handler(engine, api, console)
  return function(req)
    if api and api:owns(req.path) then return api:handle(req) end
    if req.method ~= "GET" and req.method ~= "HEAD" then
      return text(405, "method not allowed\n", nil, { Allow = "GET, HEAD" })
    end
    if req.path == "/healthz" or req.path == "/livez" then return text(200, "ok\n") end
    if req.path == "/readyz" then
      local ready, why = engine:ready()
      if ready then return text(200, "ok\n") end
      return text(503, "not ready: " .. tostring(why) .. "\n")
    end
    if req.path == "/metrics" then return text(200, engine:render_metrics(), metrics.CONTENT_TYPE) end
    if console then return console:handle(req) end
    return text(404, "not found: kipperd serves /healthz, /readyz and /metrics\n")
  end
end

return M
