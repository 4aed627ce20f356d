-- SPDX-License-Identifier: Apache-2.0
-- For the specs of kip's app, service, project and apply commands: a real sandbox API with
-- Kipper's CRDs and kipper-config (helpers.kipperd.prepare), a KIP_HOME whose config.yaml has a
-- "sandbox" cluster with its kubeconfig, the real kip run against it (in the foreground, in the
-- background while the spec changes the cluster, or on a terminal), status written through the
-- status subresource as kipperd would, and the real kipperd when it and the policies exist.
-- Uses helpers, helpers.sandbox, helpers.kipperd, kip.k8s, kip.fs, kip.json and kip.proc.
local fs = require "kip.fs"
local helpers = require "helpers"
local json = require "kip.json"
local k8s = require "kip.k8s"
local kipperd = require "helpers.kipperd"
local proc = require "kip.proc"
local sandbox = require "helpers.sandbox"

local M = {}

M.AV = "kipper.run/v1alpha1"
M.eventually = helpers.eventually

local Env = {}
Env.__index = Env

---Whether kipperd and the real policies are there to test against, and if not, why.
---@return boolean
---@return string|nil reason
function M.kipperd_available()
  if not fs.exists(kipperd.bin()) then return false, kipperd.bin() .. " is not built yet" end
  for _, p in ipairs({ "app", "service", "project" }) do
    if not fs.exists("plugins/reconcilers/" .. p .. ".lua") then
      return false, "plugins/reconcilers/" .. p .. ".lua does not exist yet"
    end
  end
  return true
end

---Starts a sandbox with Kipper's types and a KIP_HOME for it; with opts.kipperd, kipperd too.
---@param opts? {kipperd?: boolean, config_data?: table, extra_config?: string}
function M.start(opts)
  opts = opts or {}
  local env = setmetatable({}, Env)
  env.sb = sandbox.start()
  env.c = assert(k8s.connect({ kubeconfig = env.sb.kubeconfig }))
  kipperd.prepare(env.c, opts.config_data)
  env.home = helpers.tmpdir()
  env:write_config(opts.extra_config)
  if opts.kipperd then
    env.kd = kipperd.start({ kubeconfig = env.sb.kubeconfig })
    assert(env.kd:wait_ready(30), "kipperd is not ready: " .. env.kd:output())
  end
  return env
end

---(Re)writes config.yaml: one cluster "sandbox", current, with extra lines for its entry.
function Env:write_config(extra)
  helpers.write(self.home .. "/config.yaml", string.format([[
apiVersion: kipper.run/v1alpha1
kind: Config
current-cluster: sandbox
clusters:
- name: sandbox
  server: %s
  kubeconfig: %s
  domain: 203-0-113-10.kipper.run
%s]], self.sb.url, self.sb.kubeconfig, extra or ""), tonumber("600", 8))
end

function Env:stop()
  if self.kd then self.kd:stop() end
  if self.c then self.c:close() end
  if self.sb then self.sb:stop() end
  if self.home then helpers.rmtree(self.home) end
end

---Runs kip with KIP_HOME set.
---@return {status: integer, stdout: string, stderr: string}
function Env:kip(args, opts)
  opts = opts or {}
  local e = { KIP_HOME = self.home }
  for k, v in pairs(opts.env or {}) do e[k] = v end
  return helpers.kip(args, { env = e, stdin = opts.stdin, timeout = opts.timeout })
end

---Runs kip and asserts it succeeded; returns the result.
function Env:ok(args, opts)
  local r = self:kip(args, opts)
  assert(r.status == 0, string.format("kip %s exited %s:\n%s%s", table.concat(args, " "), tostring(r.status), r.stdout, r.stderr))
  return r
end

---Starts kip in the background (its output in files); returns a handle whose :wait() gives the
---result once kip exits.
function Env:kip_bg(args)
  local dir = helpers.tmpdir()
  local argv = { helpers.kip_bin() }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local quoted = {}
  for i, a in ipairs(argv) do quoted[i] = string.format("%q", a) end
  -- a shell waits for kip and keeps its pid and exit status in files (it is not our child)
  local cmd = string.format("(env -u KIP_CLUSTER -u KIP_PLUGIN_PATH -u KIP_LOG_LEVEL KIP_HOME=%q %s > %q 2> %q < /dev/null & " ..
    "echo $! > %q; wait $!; echo $? > %q) > /dev/null 2>&1 < /dev/null &", self.home, table.concat(quoted, " "),
    dir .. "/out", dir .. "/err", dir .. "/pid", dir .. "/status")
  assert(proc.run({ "sh", "-c", cmd }))
  local pid = assert(M.eventually(function() return tonumber((fs.read(dir .. "/pid") or ""):match("%d+")) end, 5))
  local h = { pid = pid }
  ---Sends SIGTERM to this kip (when it still runs).
  function h.stop()
    if not fs.exists(dir .. "/status") then proc.run({ "kill", "-TERM", tostring(pid) }) end
  end
  ---Waits up to seconds (default 60) for kip to exit.
  function h.wait(_, seconds)
    local done = M.eventually(function() return fs.exists(dir .. "/status") and (fs.read(dir .. "/status") or ""):match("%d+") end,
      seconds or 60)
    local r = { status = tonumber(done or ""), stdout = fs.read(dir .. "/out") or "", stderr = fs.read(dir .. "/err") or "" }
    helpers.rmtree(dir)
    return r
  end
  ---What kip printed so far.
  function h.output() return (fs.read(dir .. "/out") or "") .. (fs.read(dir .. "/err") or "") end
  return h
end

---Runs kip on a terminal (spec/helpers/pty_run.py), answering prompts; returns {status, output}.
---@param answers table<string, string> prompt text -> answer
function Env:kip_tty(args, answers)
  local argv = { "python3", "spec/helpers/pty_run.py", "--timeout", "30" }
  for prompt, text in pairs(answers or {}) do argv[#argv + 1] = "--answer"; argv[#argv + 1] = prompt .. "=" .. text end
  argv[#argv + 1] = "--"
  argv[#argv + 1] = "env"
  argv[#argv + 1] = "KIP_HOME=" .. self.home
  argv[#argv + 1] = helpers.kip_bin()
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r = assert(proc.run(argv, { timeout = 60, env = { KIP_CLUSTER = false, KIP_PLUGIN_PATH = false } }))
  return { status = r.status, output = r.stdout .. r.stderr }
end

---GET an object (namespace default unless given).
function Env:get(av, kind, name, ns)
  return self.c:get(av, kind, name, ns or "default")
end

---An App, Service or Project (kipper.run/v1alpha1).
function Env:kipper(kind, name, ns)
  if kind == "Project" then return self.c:get(M.AV, kind, name) end
  return self.c:get(M.AV, kind, name, ns or "default")
end

---Writes an object's status through the status subresource, as kipperd would; observedGeneration
---defaults to the object's generation.
function Env:set_status(kind, name, ns, status)
  local obj = assert(self:kipper(kind, name, ns))
  if status.observedGeneration == nil then status.observedGeneration = obj.metadata.generation end
  for _, c in ipairs(status.conditions or {}) do c.lastTransitionTime = c.lastTransitionTime or os.date("!%Y-%m-%dT%H:%M:%SZ") end
  if status.conditions then status.conditions = json.array(status.conditions) end
  obj.status = status
  return assert(self.c:update_status(obj))
end

---Applies objects with kubectl-like ownership ("spec" field manager).
function Env:put(obj)
  return assert(self.c:apply(obj, { field_manager = "spec", force = true }))
end

---Runs kubectl against the sandbox; asserts success, returns stdout.
function Env:kubectl(args, stdin)
  return self.sb:ok(args, stdin)
end

return M
