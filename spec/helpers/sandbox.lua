-- SPDX-License-Identifier: Apache-2.0
-- Starts the real `kip sandbox api` for a spec (on a free loopback port, in a temporary folder)
-- and runs the real kubectl against it. Uses helpers, kip.proc and kip.fs.
local fs = require "kip.fs"
local helpers = require "helpers"
local proc = require "kip.proc"

local M = {}

local Sandbox = {}
Sandbox.__index = Sandbox

---Starts a sandbox API; call :stop() in teardown.
---@param opts? {state?: string, dir?: string}
function M.start(opts)
  opts = opts or {}
  assert(proc.which("kubectl"), "kubectl is not installed: the sandbox specs drive the real kubectl")
  local dir = opts.dir or helpers.tmpdir()
  local sb = setmetatable({ dir = dir, kubeconfig = dir .. "/kubeconfig", owns_dir = not opts.dir }, Sandbox)
  fs.remove(sb.kubeconfig)
  local cmd = string.format("exec %q sandbox api --listen 127.0.0.1:%s --kubeconfig-out %q --certs-dir %q " ..
    "--node-name sandbox-node --pod-start-delay 0.2 %s > %q 2> %q < /dev/null",
    helpers.kip_bin(), opts.port or "0", sb.kubeconfig, dir .. "/tls",
    opts.state and string.format("--state %q", opts.state) or "", dir .. "/out.log", dir .. "/err.log")
  local r = assert(proc.run({ "sh", "-c", cmd .. " & echo $!" }))
  sb.pid = assert(tonumber(r.stdout:match("%d+")), "no pid from " .. r.stdout)
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

function Sandbox:stop(keep_dir)
  if self.pid then
    proc.run({ "kill", tostring(self.pid) })
    M.eventually(function() return not fs.exists("/proc/" .. self.pid .. "/status") or
      (fs.read("/proc/" .. self.pid .. "/status") or ""):match("State:%s+Z") end, 5)
    self.pid = nil
  end
  if self.owns_dir and not keep_dir then helpers.rmtree(self.dir) end
end

return M
