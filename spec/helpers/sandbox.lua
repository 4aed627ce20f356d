-- SPDX-License-Identifier: Apache-2.0
-- Starts the real `kip sandbox api` for a spec (on a free loopback port, in a temporary folder)
-- and runs the real kubectl against it; starts `kip sandbox agent`s that join it. Uses helpers,
-- kip.proc and kip.fs.
local fs = require "kip.fs"
local helpers = require "helpers"
local proc = require "kip.proc"

local M = {}

local Sandbox = {}
Sandbox.__index = Sandbox

-- Runs cmd (a shell command line) in the background; returns its pid.
local function spawn(cmd)
  local r = assert(proc.run({ "sh", "-c", cmd .. " & echo $!" }))
  return assert(tonumber(r.stdout:match("%d+")), "no pid from " .. r.stdout)
end

---Starts a sandbox API; call :stop() in teardown.
---@param opts? {state?: string, dir?: string, port?: integer, manifests_dir?: string, node_token_file?: string,
---  node_monitor_grace?: number, verbose?: boolean}
function M.start(opts)
  opts = opts or {}
  assert(proc.which("kubectl"), "kubectl is not installed: the sandbox specs drive the real kubectl")
  local dir = opts.dir or helpers.tmpdir()
  local sb = setmetatable({ dir = dir, kubeconfig = dir .. "/kubeconfig", owns_dir = not opts.dir,
    node_token_file = opts.node_token_file, agents = {} }, Sandbox)
  fs.remove(sb.kubeconfig)
  local extra = {}
  if opts.state then extra[#extra + 1] = string.format("--state %q", opts.state) end
  if opts.manifests_dir then extra[#extra + 1] = string.format("--manifests-dir %q", opts.manifests_dir) end
  if opts.node_token_file then extra[#extra + 1] = string.format("--node-token-file %q", opts.node_token_file) end
  if opts.node_monitor_grace then extra[#extra + 1] = string.format("--node-monitor-grace %s", opts.node_monitor_grace) end
  if opts.verbose then extra[#extra + 1] = "-v" end
  local cmd = string.format("exec %q sandbox api --listen 127.0.0.1:%s --kubeconfig-out %q --certs-dir %q " ..
    "--node-name sandbox-node --pod-start-delay 0.2 %s > %q 2> %q < /dev/null",
    helpers.kip_bin(), opts.port or "0", sb.kubeconfig, dir .. "/tls",
    table.concat(extra, " "), dir .. "/out.log", dir .. "/err.log")
  sb.pid = spawn(cmd)
  assert(M.eventually(function()
    return fs.exists(sb.kubeconfig) and sb:kubectl({ "get", "--raw", "/readyz" }).status == 0
  end, 10), "the sandbox API did not come up: " .. tostring(fs.read(dir .. "/err.log")))
  local out = assert(fs.read(dir .. "/out.log"))
  sb.url = out:match("(https://[%d.]+:%d+)")
  sb.port = tonumber(sb.url:match(":(%d+)$"))
  return sb
end

M.eventually = helpers.eventually

---Runs kubectl with this sandbox's kubeconfig.
---@return {status: integer, stdout: string, stderr: string}
function Sandbox:kubectl(args, stdin, timeout)
  local argv = { "kubectl", "--kubeconfig", self.kubeconfig }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r, err, code, partial = proc.run(argv, { stdin = stdin, timeout = timeout or 30 })
  if not r then
    partial = partial or {}
    return { status = -1, stdout = partial.stdout or "", stderr = (partial.stderr or "") .. err, timed_out = code == "timeout" }
  end
  return r
end

---kubectl that must succeed; returns its stdout.
function Sandbox:ok(args, stdin)
  local r = self:kubectl(args, stdin)
  assert(r.status == 0, "kubectl " .. table.concat(args, " ") .. " failed: " .. r.stderr)
  return r.stdout
end

---Starts `kip sandbox agent` against this sandbox (which needs node_token_file); stop it with
---agent:stop() (SIGTERM) or let sb:stop() do it.
---@param opts {node_name: string, token_file?: string, labels?: string, interval?: number, server?: string}
---@return {pid: integer, log: string, stop: fun(self): (integer|nil), output: fun(self): string, running: fun(self): boolean}
function Sandbox:agent(opts)
  local log = string.format("%s/agent-%s.log", self.dir, opts.node_name)
  local cmd = string.format("exec %q sandbox agent --server %q --token-file %q --node-name %q " ..
    "--node-status-update-frequency %s %s > %q 2>&1 < /dev/null",
    helpers.kip_bin(), opts.server or self.url, opts.token_file or self.node_token_file, opts.node_name,
    opts.interval or 1, opts.labels and string.format("--labels %q", opts.labels) or "", log)
  -- a shell waits for the agent and keeps its pid and exit status in files (it is not our child)
  local pid_file, status_file = log .. ".pid", log .. ".status"
  fs.remove(pid_file)
  fs.remove(status_file)
  spawn(string.format("(%s & echo $! > %q; wait $!; echo $? > %q) > /dev/null 2>&1 < /dev/null",
    (cmd:gsub("^exec ", "")), pid_file, status_file))
  local pid = assert(M.eventually(function() return tonumber((fs.read(pid_file) or ""):match("%d+")) end, 5))
  local agent = { pid = pid, log = log }
  function agent.output() return fs.read(log) or "" end
  function agent.running() return not fs.exists(status_file) end
  ---SIGTERM to the agent; returns its exit status.
  function agent.stop()
    if agent.running() then proc.run({ "kill", "-TERM", tostring(pid) }) end
    M.eventually(function() return fs.exists(status_file) end, 10)
    return tonumber((fs.read(status_file) or ""):match("%d+"))
  end
  self.agents[#self.agents + 1] = agent
  return agent
end

function Sandbox:stop(keep_dir)
  for _, a in ipairs(self.agents or {}) do a.stop() end
  self.agents = {}
  if self.pid then
    proc.run({ "kill", tostring(self.pid) })
    M.eventually(function() return not fs.exists("/proc/" .. self.pid .. "/status") or
      (fs.read("/proc/" .. self.pid .. "/status") or ""):match("State:%s+Z") end, 5)
    self.pid = nil
  end
  if self.owns_dir and not keep_dir then helpers.rmtree(self.dir) end
end

return M
