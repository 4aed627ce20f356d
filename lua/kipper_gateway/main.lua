-- SPDX-License-Identifier: Apache-2.0
-- kipper-gateway's entry point (core/src/host/main.c built as kipper-gateway calls main(argv)): the
-- settings, the registry, the registration API on kip.server, the proxy (kip.gateway), and the
-- loop: ticks expire names and push routes, SIGHUP reloads the certificates and the registry
-- file, SIGTERM or SIGINT drains and exits 0. Uses kip.cli.errors, kip.log, kip.server,
-- kip.gateway, kip.util.ratelimit and kipper_gateway.config/registry/api/challenge/metrics.
local api = require "kipper_gateway.api"
local challenge = require "kipper_gateway.challenge"
local config = require "kipper_gateway.config"
local errors = require "kip.cli.errors"
local help = require "kip.cli.help"
local gateway = require "kip.gateway"
local json = require "kip.json"
local log = require "kip.log"
local metrics = require "kipper_gateway.metrics"
local ratelimit = require "kip.util.ratelimit"
local registry = require "kipper_gateway.registry"
local server = require "kip.server"

local M = {}

local HELP = [[
kipper-gateway: the reverse proxy for *.ZONE. A wildcard DNS record sends every
APP-A-B-C-D.ZONE and A-B-C-D.ZONE to the gateway, which proxies each request to the cluster at
A.B.C.D found in its registry, keeping the Host header. Clusters register themselves through the
API (proving they hold the key of the certificate they serve), operators with the admin token.

Usage:
  kipper-gateway --zone ZONE --registry FILE --api-listen ADDRESS:PORT [flags]
  kipper-gateway --config FILE [flags]

Flags:
%s

Durations: 30d, 12h, 15m, 90s, or a plain number of days.
Signals: SIGHUP reloads the certificates and the registry file; SIGTERM or SIGINT stop accepting,
let open connections finish (--drain-timeout) and exit 0.
API: POST /v1/clusters, GET|DELETE /v1/clusters/ID, POST /v1/clusters/ID/{proof,challenge,heartbeat},
GET /v1/clusters (admin), GET /healthz, GET /metrics. See docs/gateway.md and docs/gateway-protocol.md.

Examples:
  kipper-gateway --listen 0.0.0.0:80 --tls-listen 0.0.0.0:443 \
    --cert /etc/kipper-gateway/wildcard.pem --key /etc/kipper-gateway/wildcard.key \
    --zone kipper.run --registry /var/lib/kipper-gateway/registry.json \
    --api-listen 0.0.0.0:8443 --admin-token-file /etc/kipper-gateway/admin-token
  kipper-gateway --config /etc/kipper-gateway/config.yaml --log-format json
  curl -H "Authorization: Bearer $(cat admin-token)" -d '{"cluster":"203-0-113-10","ip":"203.0.113.10"}' \
    http://127.0.0.1:8443/v1/clusters
]]

local function help_text()
  return string.format(HELP, help.flag_lines(config.flags))
end

---Starts the proxy, or returns nil when no proxy listener is configured.
local function start_proxy(cfg)
  if not cfg.listen and not cfg.tls_listen then return nil end
  local gw, err = gateway.start({
    listen = cfg.listen, tls_listen = cfg.tls_listen, certs = cfg.certs, zone = cfg.zone,
    workers = cfg.workers, allow_private = cfg.allow_private, access_log = cfg.access_log,
    timeouts = cfg.timeouts,
  })
  if not gw then errors.fail("cannot start the proxy: " .. tostring(err), "Check the listen addresses and the certificates.") end
  return gw
end

local function run(argv)
  local cfg = config.parse(argv)
  if not cfg then
    io.stdout:write(help_text())
    return 0
  end
  log.set_format(cfg.log_format)
  if cfg.verbose then log.set_level("debug") end
  local admin_token
  if cfg.admin_token_file then
    admin_token = config.read_admin_token(cfg.admin_token_file)
  else
    log.warn("no --admin-token-file: operator requests (admin registrations, listing) are refused")
  end
  local store, rerr = registry.open(cfg.registry, { ttl = cfg.ttl, hold = cfg.hold })
  if not store then
    errors.fail("cannot load the registry: " .. tostring(rerr),
      "Fix the file or move it away (a missing file starts an empty registry).")
  end
  -- the file must be writable before anything is acknowledged
  local ok, werr = store:save()
  if not ok then errors.fail("cannot write the registry: " .. tostring(werr), "Check the folder's permissions.") end

  local gw = start_proxy(cfg)
  local pushed
  local function sync_routes()
    local routes = registry.routes(store.records)
    local text = assert(json.encode(routes, { sort = true }))
    if text == pushed then return end
    if gw then
      local pushed_ok, err = pcall(gw.set_routes, gw, routes)
      if not pushed_ok then
        log.error("the proxy refused the routes; it keeps the previous ones", { error = tostring(err) })
        return
      end
    end
    pushed = text
    local n = 0
    for _ in pairs(routes) do n = n + 1 end
    log.debug("routes", { clusters = n })
  end
  sync_routes()

  local book = challenge.new_book()
  local limiter = ratelimit.new({ rate = cfg.api_rate, burst = cfg.api_burst })
  local collector = metrics.new()
  local handler = api.handler({
    store = store, book = book, limiter = limiter, metrics = collector,
    metrics_content_type = metrics.CONTENT_TYPE, zone = cfg.zone, allow_private = cfg.allow_private,
    admin_token = admin_token,
    is_public_ip = function(ip) return gateway.is_public_ip(ip) == true end,
    fetch_chain = challenge.fetch_chain, clock = os.time,
    monotonic = require("kip.host").monotonic,
    on_change = sync_routes, stats = function() return gw and gw:stats() or nil end,
  })
  local srv, lerr = server.listen({ listen = cfg.api_listen, threads = 16, max_body = 65536, handler = handler,
    cert_file = cfg.api_cert })
  if not srv then
    if gw then gw:close() end
    errors.fail("cannot listen on " .. cfg.api_listen .. ": " .. tostring(lerr), "Pick another address with --api-listen.")
  end
  local fields = { api = string.format("%s:%d", cfg.api_listen:match("^(.*):%d+$"), srv:port()), zone = cfg.zone,
    registry = cfg.registry, clusters = #store:list() }
  if gw then
    local ports = gw:ports()
    if cfg.listen then fields.listen = string.format("%s:%d", cfg.listen:match("^(.*):%d+$"), ports.listen) end
    if cfg.tls_listen then fields.tls_listen = string.format("%s:%d", cfg.tls_listen:match("^(.*):%d+$"), ports.tls_listen) end
  else
    log.warn("no --listen or --tls-listen: serving the API only")
  end
  log.info("started", fields)

  local function tick()
    local now = os.time()
    local changes, serr = store:advance(now)
    for _, c in ipairs(changes) do
      log.info(c.to == "gone" and "registration freed" or "registration " .. c.to, { cluster = c.cluster, was = c.from })
    end
    if serr then log.error("cannot save the registry", { path = cfg.registry, error = serr }) end
    book:sweep(now)
    limiter:sweep(now)
    sync_routes()
  end

  local function reload()
    log.info("SIGHUP: reloading")
    if gw and #cfg.certs > 0 then
      local cok, cerr = gw:set_certs(cfg.certs)
      if cok then
        log.info("certificates reloaded", { pairs = #cfg.certs })
      else
        log.error("the certificates were not reloaded; the old ones stay", { error = cerr })
      end
    end
    local diff, why = store:reload()
    if not diff then
      log.error("the registry file was not reloaded; the old registry stays", { error = why })
      return
    end
    local what = { clusters = #store:list() }
    for _, k in ipairs({ "added", "removed", "changed" }) do
      if #diff[k] > 0 then what[k] = table.concat(diff[k], ",") end
    end
    log.info("registry reloaded", what)
    for _, id in ipairs(diff.removed) do book:drop(id) end
    tick()
  end

  local why
  while true do
    why = srv:run({ tick = 1, hup = true, on_tick = tick })
    if why ~= "SIGHUP" then break end
    reload()
  end
  log.info("stopping", { signal = why })
  if gw then
    if not gw:drain(cfg.timeouts.drain) then log.warn("drain timed out: some connections were cut", { seconds = cfg.timeouts.drain }) end
  end
  srv:close()
  if gw then gw:close() end
  log.info("stopped")
  return 0
end

---Runs kipper-gateway.
---@param argv string[] argv[0] the program as invoked, argv[1..] the arguments
---@return integer status the exit status
function M.main(argv)
  return errors.run_program("kipper-gateway", run, nil, argv)
end

return M
