-- SPDX-License-Identifier: Apache-2.0
-- kipperd's entry point (core/src/host/main.c built as kipperd calls main(argv)): the command
-- line, the connection (a kubeconfig or the pod's service account), the cluster settings, the
-- reconcile engine with its policies, the auto-tuner (kipperd.autotune) and the HTTP endpoints, all driven by kip.server's loop
-- until SIGTERM or SIGINT (exit 0). Uses kip.cli.args/errors, kip.k8s, kip.log, kip.server,
-- kip.plugins, kip.reconcile.engine, kipperd.settings, kipperd.heartbeat, kipperd.http and
-- kipperd.api (the console's JSON API: router, auth, and the users' copy polled on each tick) and
-- kipperd.static (the console's files).
local args = require "kip.cli.args"
local engine_mod = require "kip.reconcile.engine"
local errors = require "kip.cli.errors"
local help = require "kip.cli.help"
local k8s = require "kip.k8s"
local log = require "kip.log"
local plugins = require "kip.plugins"
local server = require "kip.server"
local settings = require "kipperd.settings"
local strings = require "kip.util.strings"

local M = {}

M.flags = {
  { name = "kubeconfig", arg = "FILE", help = "talk to the API of this kubeconfig's current context" },
  { name = "context", arg = "NAME", help = "with --kubeconfig: use this context instead of the current one" },
  { name = "in-cluster", help = "talk to the API of the cluster kipperd runs in (its pod's service account)" },
  { name = "listen", arg = "ADDRESS:PORT", default = "0.0.0.0:8080", help = "where to serve /healthz, /readyz and /metrics (port 0 picks a free one)" },
  { name = "cluster-id", arg = "ID", help = "the cluster ID for generated hosts (default: kipper-config's clusterId)" },
  { name = "zone", arg = "ZONE", help = "the DNS zone of generated hosts (default: kipper-config's zone, else kipper.run)" },
  { name = "policies", arg = "NAMES", default = "app,service,project", help = "the reconcile policies to run, comma-separated" },
  { name = "resync", arg = "SECONDS", default = "600", help = "reconcile every resource again this often (unchanged ones cost no write)" },
  { name = "gateway-heartbeat", arg = "SECONDS", default = "21600", help = "renew the cluster's name at its kipper-gateway this often (0: never)" },
  { name = "autotune-interval", arg = "SECONDS", default = "30", help = "run the auto-tuner (docs/autotune.md) this often (0: never)" },
  { name = "console", arg = "DIR", help = "serve the built console from DIR at / (default: $KIP_CONSOLE_DIR, PREFIX/share/kipper/console, build/console)" },
  { name = "insecure-cookies", help = "refresh cookie without Secure (only for a console served over plain HTTP: the sandbox)" },
  { name = "log-format", arg = "FORMAT", choices = { "text", "json" }, default = "text", help = "text or json log lines" },
  { name = "verbose", short = "v", help = "log every apply and delete" },
  { name = "help", short = "h", help = "show this help" },
}

local HELP = [[
kipperd: Kipper's controllers. Watches the App, Service and Project resources (kipper.run/v1alpha1)
and reconciles each into the Kubernetes objects its policy wants (plugins/reconcilers/NAME.lua,
replaceable through KIP_PLUGIN_PATH), with server-side apply (field manager kipperd), owner
references, pruning, finalizers, status and conditions, and retries with back-off.

Usage:
  kipperd --kubeconfig FILE [flags]
  kipperd --in-cluster [flags]

Flags:
%s

Cluster settings come from ConfigMap kipper-system/kipper-config (clusterId, zone, issuer,
storageClass, ingressClass); --cluster-id and --zone override it.

When `kip domain register` stored Secret kipper-system/kipper-gateway, kipperd sends the gateway a
heartbeat every --gateway-heartbeat seconds, which keeps the cluster's name.

Every --autotune-interval seconds the auto-tuner (policy plugins/tuners/autotune.lua) looks at each
App's OOM kills and usage (metrics.k8s.io) and, per spec.autotune.mode, records a recommendation or
changes spec.resources (field manager kipperd-autotune), with an Event and condition AutoTuned.

Endpoints: /healthz (alive), /readyz (informers synced, API reachable), /metrics (Prometheus), the
console's JSON API under /api/v1: POST /api/v1/auth/login, refresh, logout and password, GET
/api/v1/auth/me (tokens signed with the key in Secret kipper-system/kipperd-jwt-key, made at first
start), then cluster, projects, apps, services, routes and users (GET /api/v1/openapi.json
describes every endpoint; docs/api.md), and the built console at / (--console; without one
found, a log line says so).
SIGTERM or SIGINT stops kipperd cleanly (exit status 0).

Environment:
  KIP_PLUGIN_PATH   colon-separated plugin roots searched before KIP_HOME/plugins and the built-ins
  KIP_CONSOLE_DIR   the console's folder when --console is not given
  KIP_LOG_LEVEL     debug, info, warn, error or off

Examples:
  kipperd --kubeconfig ~/.kip/sandbox/kubeconfig --listen 127.0.0.1:8080
  kipperd --in-cluster --listen 0.0.0.0:8080
  curl -s 127.0.0.1:8080/metrics | grep kipperd_reconcile_total
]]

local function help_text()
  return string.format(HELP, help.flag_lines(M.flags))
end

local function parse(argv)
  local tokens = table.move(argv, 1, #argv, 1, {})
  for _, t in ipairs(tokens) do
    if t == "--help" or t == "-h" then return nil end
  end
  local flags = args.parse(tokens, { flags = M.flags, args = {}, command = "kipperd" })
  if flags.kubeconfig and flags["in-cluster"] then
    errors.usage("--kubeconfig and --in-cluster exclude each other")
  end
  if not flags.kubeconfig and not flags["in-cluster"] then
    if os.getenv("KUBERNETES_SERVICE_HOST") then
      flags["in-cluster"] = true
    else
      errors.usage("--kubeconfig FILE or --in-cluster is required",
        "Run 'kipperd --help' for its flags.")
    end
  end
  if not flags.listen:match(":%d+$") then errors.usage(string.format("--listen takes ADDRESS:PORT, not %q", flags.listen)) end
  local resync = tonumber(flags.resync)
  if not resync or resync < 1 then errors.usage(string.format("--resync takes a number of seconds (1 or more), not %q", flags.resync)) end
  flags.resync = resync
  local beat = tonumber(flags["gateway-heartbeat"])
  if not beat or beat < 0 then
    errors.usage(string.format("--gateway-heartbeat takes a number of seconds (0 turns it off), not %q", flags["gateway-heartbeat"]))
  end
  flags["gateway-heartbeat"] = beat
  local tune = tonumber(flags["autotune-interval"])
  if not tune or tune < 0 then
    errors.usage(string.format("--autotune-interval takes a number of seconds (0 turns it off), not %q", flags["autotune-interval"]))
  end
  flags["autotune-interval"] = tune
  local names = {}
  for _, n in ipairs(strings.split(flags.policies, ",")) do
    n = n:match("^%s*(.-)%s*$")
    if n ~= "" then
      if not n:match("^[%w_-]+$") then errors.usage(string.format("--policies: %q is not a policy name", n)) end
      names[#names + 1] = n
    end
  end
  flags.policies = names
  return flags
end

M.SETTINGS_ATTEMPTS = 10

-- Reads the cluster settings on the loop's ticks (so SIGTERM works meanwhile), asking the API again
-- after 1, 2, ... 5 s while it does not answer; gives up after M.SETTINGS_ATTEMPTS tries.
local function settings_loader(client, flags)
  local attempts, next_try = 0, 0
  ---@return table|nil settings
  ---@return string|nil failure the last error once it gave up
  return function(now)
    if now < next_try then return nil end
    attempts = attempts + 1
    local s, msg = settings.load(client, { cluster_id = flags["cluster-id"], zone = flags.zone })
    if s then
      if msg then log.warn(msg) end
      return s
    end
    log.warn(msg, { attempt = attempts })
    if attempts >= M.SETTINGS_ATTEMPTS then return nil, msg end
    next_try = now + math.min(attempts, 5)
    return nil
  end
end

-- The service catalog (built-ins and plugins/catalog/*.lua) for ctx.catalog, when kip has one.
local function catalog()
  if not package.searchpath("kip.catalog.services", package.path) then return nil end
  local mod = require("kip.catalog.services")
  if type(mod.load) ~= "function" then return mod end
  local cat = mod.load()
  for name, err in pairs(cat.errors or {}) do log.warn("service catalog entry left out", { type = name, error = err }) end
  return cat
end

-- The console to serve at /: --console DIR or $KIP_CONSOLE_DIR (which must hold one), else the
-- first one found; none found is logged and kipperd goes on (the API works without it).
local function open_console(dir)
  local static = require("kipperd.static")
  local found, ferr, named = static.find_dir(dir)
  if not found then
    if named then errors.fail(ferr, "Build the console (make), or point --console or KIP_CONSOLE_DIR at its folder.") end
    log.info("console: not served: " .. ferr .. "; the API works without it (build it, or pass --console DIR)")
    return nil
  end
  local console, cerr = static.new({ root = found })
  if not console then errors.fail("--console: " .. tostring(cerr)) end
  log.info("console: serving " .. found .. " at /")
  return console
end

local function run(argv)
  plugins.install_searcher()
  local flags = parse(argv)
  if not flags then
    io.stdout:write(help_text())
    return 0
  end
  if flags.verbose then log.set_level("debug") end
  log.set_format(flags["log-format"])
  local conn, cerr
  if flags["in-cluster"] then
    conn, cerr = k8s.kubeconfig.in_cluster()
  else
    conn, cerr = k8s.kubeconfig.load({ path = flags.kubeconfig, context = flags.context })
  end
  if not conn then errors.fail(cerr) end
  local client = k8s.client.new(conn, { timeout = 30, user_agent = "kipperd/" .. require("kip.host").version() })
  local policies, perr, missing = engine_mod.load_policies(flags.policies)
  if not policies then errors.fail(perr, "Fix the policy, or leave it out with --policies.") end
  for _, name in ipairs(missing) do
    log.warn("no reconcile policy " .. name .. " in any plugin root: not reconciled", { policy = name })
  end
  local engine = engine_mod.new({ client = client, conn = conn, policies = policies, catalog = catalog() })
  local api_router, api = require("kipperd.api").new({
    client = k8s.client.new(conn, { timeout = 30, user_agent = "kipperd/" .. require("kip.host").version() }),
    engine = engine, catalog = engine.catalog, secure_cookies = not flags["insecure-cookies"] })
  local auth = api.auth
  local console = open_console(flags.console)
  -- each open live-log WebSocket holds a server thread: room for all of them and the API besides
  local srv, lerr = server.listen({ listen = flags.listen, threads = 8 + require("kipperd.logs").MAX_SESSIONS,
    handler = require("kipperd.http").handler(engine, api_router, console) })
  if not srv then errors.fail("cannot listen on " .. flags.listen .. ": " .. tostring(lerr), "Pick another address with --listen.") end
  local host = flags.listen:match("^(.*):%d+$")
  local kinds = {}
  for _, p in ipairs(policies) do kinds[#kinds + 1] = p.policy.kind end
  log.info("started", { listen = string.format("%s:%d", host, srv:port()), server = conn.server,
    kinds = table.concat(kinds, ",") })
  local load = settings_loader(client, flags)
  local heartbeat = flags["gateway-heartbeat"] > 0 and require("kipperd.heartbeat").new({ client = client,
    interval = flags["gateway-heartbeat"], metrics = engine.metrics }) or nil
  local tuner
  if flags["autotune-interval"] > 0 then
    local autotune = require "kipperd.autotune"
    local tpolicy, terr = autotune.load_policy()
    if not tpolicy then errors.fail("cannot load the tuner policy: " .. tostring(terr), "Fix plugins/tuners/autotune.lua, or pass --autotune-interval 0.") end
    -- its own client: its requests are not the engine's (kipperd_api_requests_total)
    tuner = autotune.new({ client = k8s.client.new(conn, { timeout = 30, user_agent = "kipperd/" .. require("kip.host").version() }),
      interval = flags["autotune-interval"], policy = tpolicy })
  end
  local failure
  local next_resync, next_key, next_sweep, next_users = 0, 0, 0, 0
  local why = srv:run({ tick = 0.02, on_tick = function(now)
    -- the console's users: a watched copy of their Secret (until it syncs, reads GET it)
    if now >= next_users then -- start() is cheap once started
      local ok, uerr = api.users:start()
      if not ok then
        log.warn("console API: cannot watch the users Secret", { error = uerr })
        next_users = now + 5
      end
    end
    api.users:poll()
    if not engine.cluster then
      local cluster, err = load(now)
      if cluster then
        log.info("cluster settings", { clusterId = cluster.clusterId, zone = cluster.zone, issuer = cluster.issuer })
        engine:set_cluster(cluster)
      elseif err then
        failure = err
        srv:stop()
      end
      return
    end
    if not auth.signer and now >= next_key then
      local signer, kerr = require("kipperd.api.auth").load_signer(auth.client)
      if signer then
        auth:set_signer(signer)
      else
        log.warn("console API: cannot load the token signing key", { error = kerr })
        next_key = now + 5
      end
    end
    if now >= next_sweep then
      auth:sweep()
      next_sweep = now + 60
    end
    engine:step(0.25)
    engine:probe(10)
    if heartbeat then heartbeat:tick(now) end
    if tuner and engine:ready() then tuner:tick(now) end
    if api.logs then
      -- a failure in the live logs ends their sessions (clients see the close and may reconnect),
      -- not kipperd
      local ok, step_err = xpcall(api.logs.step, debug.traceback, api.logs, now)
      if not ok then
        log.error("live logs failed: their sessions end", { error = tostring(step_err) })
        pcall(api.logs.close, api.logs)
      end
    end
    if now >= next_resync then
      if next_resync > 0 then log.debug("resync", { queued = engine:resync() }) end
      next_resync = now + flags.resync
    end
  end })
  api.users:close()
  if failure then
    engine:close()
    srv:close()
    errors.fail(failure, "Check that the API server is reachable with these credentials.")
  end
  log.info("stopping", { signal = why })
  engine:close()
  srv:close() -- open log WebSockets get a close frame (1001)
  if api.logs then api.logs:close() end
  return 0
end

---Runs kipperd.
---@param argv string[] argv[0] the program as invoked, argv[1..] the arguments
---@return integer status the exit status
function M.main(argv)
  return errors.run_program("kipperd", run, nil, argv)
end

return M
