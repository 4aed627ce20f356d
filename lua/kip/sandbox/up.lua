-- SPDX-License-Identifier: Apache-2.0
-- `kip sandbox up`: the local stand-in for a whole Kipper cluster. Starts `kip sandbox api` and
-- kipperd as child processes (logs and state under $KIP_HOME/sandbox), puts Kipper's resource types
-- and settings on the API, adds a `sandbox` cluster to kip's configuration and makes it current,
-- prints what to try, then watches the children until Ctrl-C (or one of them dies) and stops them.
-- Uses kip.proc (spawn), kip.server (the wait loop and a status page), kip.k8s and kip.platform.
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

local M = {}

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

function Up:start_kipperd()
  local exe = host.exe():gsub("/[^/]+$", "") .. "/kipperd"
  if not fs.exists(exe) then return nil, exe .. " does not exist: build it with 'make'" end
  local url = "http://" .. self.opts.kipperd_listen
  local p, err = self:start("kipperd", { exe, "--kubeconfig", self.dir .. "/kubeconfig", "--listen", self.opts.kipperd_listen },
    self.dir .. "/kipperd.log")
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

-- The status page: what runs, as JSON.
function Up:status()
  local out = { cluster = "sandbox", api = self.api_url, kipperd = self.kipperd_url, components = {} }
  for _, c in ipairs(self.children) do
    out.components[#out.components + 1] = { name = c.name, pid = c.process:pid(), running = c.process:alive(), log = c.log }
  end
  return out
end

---@param opts {listen: string, kipperd_listen: string, status_listen: string, fresh?: boolean, out?: file*}
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
  local entry = { name = "sandbox", server = up.api_url, kubeconfig = dir .. "/kubeconfig", domain = up.cluster_id .. ".kipper.run" }
  ok, err = local_cluster.register(entry)
  if not ok then return fail("cannot add the sandbox cluster to kip's configuration: " .. tostring(err)) end
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
  status:   %s
  logs:     %s/*.log
  cluster:  "sandbox" is now kip's current cluster

Try:
  kip app deploy --name hello --image nginxinc/nginx-unprivileged:1.27 --port 8080
  kip app list
  kip app logs hello
  kip service add postgres --name db
  kubectl --kubeconfig %s get deployments,pods

Ctrl-C stops it; the objects are kept in %s/state.json for the next 'kip sandbox up'.]],
    up.api_url, entry.kubeconfig, up.kipperd_url, status_url, dir, entry.kubeconfig, dir)
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
