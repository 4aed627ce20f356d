-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.logs: GET /api/v1/projects/{project}/apps/{app}/logs, an App's live logs over a
-- WebSocket. The token comes in the offered subprotocols ("kipper.logs.v1, bearer.TOKEN", see
-- kipperd.api.auth), the caller needs the project's viewer role; a refused upgrade gets an ordinary
-- JSON error (401, 403, 404, 400, 503) and no WebSocket. Accepted, it answers subprotocol
-- kipper.logs.v1 and hands the rest to a kipperd.logs hub (deps.logs, stepped by kipperd's main
-- loop): one text frame per line, "[POD] text". Uses kipperd.api.environment and .router,
-- kipperd.logs, kip.apps.pods and kip.apps.api.
local api = require "kip.apps.api"
local environment = require "kipperd.api.environment"
local hub_mod = require "kipperd.logs"
local pods = require "kip.apps.pods"
local router = require "kipperd.api.router"

local M = {}

M.PROTOCOL = "kipper.logs.v1"
M.DEFAULT_TAIL = 100
M.MAX_TAIL = 10000

local PATH = "/api/v1/projects/{project}/apps/{app}/logs"

-- Whether the client offered the logs subprotocol.
local function offers_protocol(req)
  for p in ((req.headers or {})["sec-websocket-protocol"] or ""):gmatch("[^,%s]+") do
    if p == M.PROTOCOL then return true end
  end
  return false
end

-- tail and previous from the query, or nil and the 400 response.
local function options(req)
  local q = router.query(req)
  local tail = M.DEFAULT_TAIL
  if q.tail and q.tail ~= "" then
    tail = math.tointeger(tonumber(q.tail))
    if not tail or tail < 0 or tail > M.MAX_TAIL then
      return nil, router.error(400, string.format("tail must be a whole number from 0 to %d, not %q", M.MAX_TAIL, q.tail))
    end
  end
  local previous = q.previous
  if previous == nil or previous == "" or previous == "false" or previous == "0" then
    previous = false
  elseif previous == "true" or previous == "1" then
    previous = true
  else
    return nil, router.error(400, string.format("previous must be true or false, not %q", previous))
  end
  return { tail = tail, previous = previous }
end

---Adds the logs route; deps.logs becomes the hub (made here when not given).
---@param r table kipperd.api.router
---@param deps kipperd.api.Deps
function M.routes(r, deps)
  deps.logs = deps.logs or hub_mod.new({ conn = deps.client.conn, metrics = deps.engine and deps.engine.metrics })
  local hub, c = deps.logs, deps.client

  r:add("GET", PATH, function(req)
    if not req.websocket then
      return router.error(400, "this endpoint is a WebSocket",
        "Open it with Upgrade: websocket and Sec-WebSocket-Protocol: " .. M.PROTOCOL .. ", bearer.TOKEN.")
    end
    local user, project = deps.access:project(req, "viewer", "read logs")
    if not user then return project end
    if not offers_protocol(req) then
      return router.error(400, "the WebSocket must offer the subprotocol " .. M.PROTOCOL,
        "Sec-WebSocket-Protocol: " .. M.PROTOCOL .. ", bearer.TOKEN")
    end
    local opts, bad = options(req)
    if not opts then return bad end
    local ns = environment.namespace(req, project)
    local name = req.params.app
    local app, err, code = c:get(api.API_VERSION, "App", name, ns)
    if not app then
      if code == "notfound" or code == "invalid" then
        return environment.not_found(project, ns, "app", name)
      end
      return router.api_failed(err)
    end
    local stream = hub:open({ namespace = ns, app = name, selector = pods.selector(c, ns, name), tail = opts.tail,
      previous = opts.previous })
    if not stream then
      return router.error(503, string.format("too many open log streams (%d)", hub.max), "Close one, or try again later.",
        { ["Retry-After"] = "5" })
    end
    return { status = 101, websocket = stream, subprotocol = M.PROTOCOL }
  end, { summary = "Live logs of an app's pods (WebSocket)", tag = "Apps", access = "project viewer",
    query = { environment = environment.QUERY.environment,
      tail = "lines of each pod's log to start with (default 100, at most 10000); pods found later are sent from their start",
      previous = "true: the previous container's log of each pod (after a restart), then the WebSocket closes" },
    status = 101,
    description = "Open with Upgrade: websocket and Sec-WebSocket-Protocol: kipper.logs.v1, bearer.TOKEN " ..
      "(a browser: new WebSocket(url, [\"kipper.logs.v1\", \"bearer.\" + token])). The server answers 101 with " ..
      "kipper.logs.v1; each text frame is one line \"[POD] text\" (no newline), from every pod of the app, and " ..
      "pods that start later are followed. A refused upgrade gets an ordinary JSON error and no WebSocket: " ..
      "401 (no or bad token), 404 (no such project or app, or not visible), 400 (bad query, not a WebSocket, " ..
      "subprotocol missing), 503 (too many open log streams, or the Kubernetes API failed). kipperd closes " ..
      "with 1001 when it stops; closing the WebSocket ends the pods' log streams." })
end

return M
