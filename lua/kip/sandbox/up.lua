-- SPDX-License-Identifier: Apache-2.0
-- `kip sandbox up`: the local stand-in for a whole Kipper cluster. Starts `kip sandbox api`,
-- kipperd and kipper-gateway as child processes (logs and state under $KIP_HOME/sandbox), puts
-- Kipper's resource types and settings on the API, registers the sandbox cluster with the gateway
-- (zone `localhost`, routed to kipperd), adds a `sandbox` cluster to kip's configuration and makes
-- it current, prints what to try, then watches the children until Ctrl-C (or one of them dies) and
-- stops them. kipperd serves the built console (--console) when there is one, and the console's
-- admin login is made once and printed at each start (kip.sandbox.console). Uses kip.proc (spawn),
-- kip.server (the wait loop and a status page), kip.http, kip.k8s, kip.tls (the gateway's admin
-- token), kip.platform and kipperd.static (finding the console).
local components = require "kip.platform.components"
local config = require "kip.config"
local crds = require "kip.platform.crds"
local fs = require "kip.fs"
local host = require "kip.host"
local http = require "kip.http"
local json = require "kip.json"
local k8s = require "kip.k8s"
local local_cluster = require "kip.install.local_cluster"
local proc = require "kip.proc"
local server = require "kip.server"
local tls = require "kip.tls"


local M = {}

-- The gateway's zone in the sandbox: browsers and curl resolve every *.localhost name to this machine.
M.GATEWAY_ZONE = "localhost"

local function tail(path, n)
  local lines = {}
  for l in (fs.read(path) or ""):gmatch("[^\n]+") do lines[#lines + 1] = l end
  return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end

-- Polls check() every 0.1 s for up to seconds; returns its value or nil.
local function wait_for(seconds, check)
  local deadline = os.time() + seconds
  repeat
    local v = check()
    if v then return v end
    server.sleep(0.1)
  until os.time() > deadline
  return check()
end

local Up = {}
Up.__index = Up

function Up:say(fmt, ...)
  self.out:write(string.format(fmt, ...), "\n")
  self.out:flush()
end

function Up:start(name, argv, log)
  local p, err = proc.spawn(argv, { stdout = log, stderr = "stdout" })
  if not p then return nil, string.format("cannot start %s: %s", name, err) end
  self.children[#self.children + 1] = { name = name, process = p, log = log }
  return p
end

function Up:stop_all()
  for i = #self.children, 1, -1 do
    local c = self.children[i]
    if c.process:alive() then
      c.process:kill("TERM")
      if not c.process:wait(10) then
        c.process:kill("KILL")
        c.process:wait(5)
      end
    end
  end
end

-- The API: started, reachable, with Kipper's types and settings.
function Up:start_api()
  local d = self.dir
  fs.remove(d .. "/kubeconfig")
  local p, err = self:start("the sandbox API", { host.exe(), "sandbox", "api", "--listen", self.opts.listen,
    "--kubeconfig-out", d .. "/kubeconfig", "--certs-dir", d .. "/tls", "--state", d .. "/state.json",
    "--manifests-dir", d .. "/manifests", "--node-name", "sandbox" }, d .. "/api.log")
  if not p then return nil, err end
  local client = wait_for(30, function()
    if not p:alive() then return "dead" end
    if not fs.exists(d .. "/kubeconfig") then return nil end
    local c = k8s.connect({ kubeconfig = d .. "/kubeconfig", timeout = 5 })
    return c and c:request("GET", "/readyz", { raw = true }) and c
  end)
  if client == "dead" or not client then
    return nil, "the sandbox API did not start:\n" .. tail(d .. "/api.log", 15)
  end
  self.client = client
  local settings = { ["cluster.id"] = self.cluster_id, ["domain.zone"] = "kipper.run", ["acme.email"] = "", storage = "local-path" }
  local objects = crds.all()
  for _, list in ipairs({ components.namespace(), components.cluster_config(settings), components.user_roles() }) do
    for _, o in ipairs(list) do objects[#objects + 1] = o end
  end
  for _, o in ipairs(objects) do
    local ok, aerr = client:apply(o, { field_manager = "kip", force = true })
    if not ok then return nil, string.format("cannot apply %s %s: %s", o.kind, o.metadata.name, aerr) end
  end
  return true
end

-- A program built next to kip (build/bin in the source tree, PREFIX/bin installed).
local function sibling(name)
  local exe = host.exe():gsub("/[^/]+$", "") .. "/" .. name
  if not fs.exists(exe) then return nil, exe .. " does not exist: build it with 'make'" end
  return exe
end

function Up:start_kipperd()
  local exe, xerr = sibling("kipperd")
  if not exe then return nil, xerr end
  local url = "http://" .. self.opts.kipperd_listen
  local argv = { exe, "--kubeconfig", self.dir .. "/kubeconfig", "--listen", self.opts.kipperd_listen, "--insecure-cookies" }
  local console_dir, cerr = require("kipperd.static").find_dir()
  if console_dir then
    argv[#argv + 1] = "--console"
    argv[#argv + 1] = console_dir
  end
  self.console_dir, self.console_missing = console_dir, cerr
  local p, err = self:start("kipperd", argv, self.dir .. "/kipperd.log")
  if not p then return nil, err end
  local ready = wait_for(30, function()
    if not p:alive() then return "dead" end
    local r = http.request({ url = url .. "/readyz", timeout = 2 })
    return r and r.status == 200
  end)
  if ready ~= true then return nil, "kipperd did not become ready:\n" .. tail(self.dir .. "/kipperd.log", 15) end
  self.kipperd_url = url
  return true
end

-- The gateway: proxies CLUSTER.localhost and APP-CLUSTER.localhost names to the sandbox's one HTTP
-- server, kipperd, as it would to a cluster's ingress; the sandbox registers itself with the admin
-- token (a cluster on a server proves its claim instead: docs/gateway-protocol.md).
function Up:start_gateway()
  local exe, xerr = sibling("kipper-gateway")
  if not exe then return nil, xerr end
  local d = self.dir .. "/gateway"
  local ok, err = fs.mkdir(d, { mode = config.DIR_MODE })
  if not ok then return nil, err end
  local token_file = d .. "/admin-token"
  local token = fs.read(token_file)
  if not token or token == "" then
    token = tls.random_token()
    ok, err = fs.write(token_file, token, { mode = 384 })
    if not ok then return nil, err end
  end
  local api = "http://" .. self.opts.gateway_api_listen
  local p, perr = self:start("kipper-gateway", { exe, "--listen", self.opts.gateway_listen,
    "--api-listen", self.opts.gateway_api_listen, "--zone", M.GATEWAY_ZONE, "--registry", d .. "/registry.json",
    "--admin-token-file", token_file, "--allow-private-upstreams", "--access-log", d .. "/access.log" },
    self.dir .. "/gateway.log")
  if not p then return nil, perr end
  local ready = wait_for(30, function()
    if not p:alive() then return "dead" end
    local r = http.request({ url = api .. "/healthz", timeout = 2 })
    return r and r.status == 200
  end)
  if ready ~= true then return nil, "kipper-gateway did not become ready:\n" .. tail(self.dir .. "/gateway.log", 15) end
  local ip = self.cluster_id:gsub("-", ".")
  local r, rerr = http.request({ method = "POST", url = api .. "/v1/clusters", timeout = 5,
    headers = { Authorization = "Bearer " .. token, ["Content-Type"] = "application/json" },
    body = json.encode({ cluster = self.cluster_id, ip = ip, scheme = "http",
      port = tonumber(self.opts.kipperd_listen:match(":(%d+)$")) }) })
  if not r or r.status >= 300 then
    return nil, "kipper-gateway refused the sandbox's registration: " .. tostring(r and r.body or rerr)
  end
  local port = self.opts.gateway_listen:match(":(%d+)$")
  self.gateway_url = string.format("http://%s.%s:%s", self.cluster_id, M.GATEWAY_ZONE, port)
  self.gateway_api = api
  return true
end

---The lines about the console for the summary: its address (kipperd's, and the gateway's) and the
---admin login, or why it is not served.
---@param up table the running sandbox (console_dir, kipperd_url, gateway_url)
---@param login {email: string, password: string, file: string, changed?: boolean}
---@return string
function M.console_lines(up, login)
  if not up.console_dir then
    return string.format("  console:  not served: %s\n            (make builds it when npm is installed; the API works without it)",
      tostring(up.console_missing))
  end
  local lines = { string.format("  console:  %s/   (also %s/ through the gateway)", up.kipperd_url, up.gateway_url) }
  if login.changed then
    lines[2] = string.format("  login:    %s   (password changed in the console; delete %s and restart to reset it)",
      login.email, login.file)
  else
    lines[2] = string.format("  login:    %s   password: %s   (kept in %s)", login.email, login.password, login.file)
  end
  return table.concat(lines, "\n")
end

-- The status page: what runs, as JSON.
function Up:status()
  local out = { cluster = "sandbox", api = self.api_url, kipperd = self.kipperd_url, gateway = self.gateway_url,
    gateway_api = self.gateway_api, console = self.console_dir and (self.kipperd_url .. "/") or nil, components = {} }
  for _, c in ipairs(self.children) do
    out.components[#out.components + 1] = { name = c.name, pid = c.process:pid(), running = c.process:alive(), log = c.log }
  end
  return out
end

---@param opts {listen: string, kipperd_listen: string, gateway_listen: string, gateway_api_listen: string, status_listen: string, fresh?: boolean, out?: file*}
---@return integer exit status
---@return string|nil message on failure
function M.run(opts)
  local dir = config.home() .. "/sandbox"
  local ok, err = fs.mkdir(dir, { mode = config.DIR_MODE })
  if not ok then return 1, err end
  if opts.fresh then fs.remove(dir .. "/state.json") end
  local up = setmetatable({ opts = opts, dir = dir, children = {}, out = opts.out or io.stdout,
    cluster_id = (opts.listen:match("^([%d.]+):") or "127.0.0.1"):gsub("%.", "-") }, Up)
  local function fail(message)
    up:stop_all()
    return 1, message
  end
  up:say("kip sandbox: starting the sandbox API on %s", opts.listen)
  ok, err = up:start_api()
  if not ok then return fail(err) end
  up.api_url = up.client.conn.server
  up:say("kip sandbox: starting kipperd on %s", opts.kipperd_listen)
  ok, err = up:start_kipperd()
  if not ok then return fail(err) end
  up:say("kip sandbox: starting kipper-gateway on %s", opts.gateway_listen)
  ok, err = up:start_gateway()
  if not ok then return fail(err) end
  local entry = { name = "sandbox", server = up.api_url, kubeconfig = dir .. "/kubeconfig", domain = up.cluster_id .. ".kipper.run" }
  ok, err = local_cluster.register(entry)
  if not ok then return fail("cannot add the sandbox cluster to kip's configuration: " .. tostring(err)) end
  local login, lerr = require("kip.sandbox.console").ensure_admin(up.client, dir)
  if not login then return fail(lerr) end
  local srv, serr = server.listen({ listen = opts.status_listen, threads = 2, handler = function()
    return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = json.encode(up:status()) }
  end })
  if not srv then return fail("cannot serve the status page: " .. tostring(serr)) end
  local status_url = string.format("http://%s:%d/", opts.status_listen:match("^(.*):%d+$"), srv:port())
  up:say([[

Kipper's sandbox is up: a simulated cluster on this machine (no container runs; pods and their
logs are simulated).
  api:      %s   (kubeconfig %s)
  kipperd:  %s   (/metrics, /healthz, /readyz)
  gateway:  %s   (APP-%s too, routed to kipperd; API %s)
%s
  status:   %s
  logs:     %s/*.log
  cluster:  "sandbox" is now kip's current cluster

Try:
  kip app deploy --name hello --image nginxinc/nginx-unprivileged:1.27 --port 8080
  kip app list
  kip app logs hello
  kip service add postgres --name db
  kubectl --kubeconfig %s get deployments,pods
  curl %s/healthz          (through the gateway)

Ctrl-C stops it; the objects are kept in %s/state.json for the next 'kip sandbox up'.]],
    up.api_url, entry.kubeconfig, up.kipperd_url, up.gateway_url, up.cluster_id .. "." .. M.GATEWAY_ZONE, up.gateway_api,
    M.console_lines(up, login), status_url, dir, entry.kubeconfig, up.gateway_url, dir)
  local died
  local why = srv:run({ tick = 1, on_tick = function()
    for _, c in ipairs(up.children) do
      if not c.process:alive() then
        died = c
        srv:stop()
      end
    end
  end })
  srv:close()
  up:stop_all()
  if died then
    return 1, string.format("%s stopped unexpectedly; everything was stopped. Its log ends with:\n%s", died.name, tail(died.log, 15))
  end
  up:say("kip sandbox: stopped (%s)", why)
  return 0
end

return M
