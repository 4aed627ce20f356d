-- SPDX-License-Identifier: Apache-2.0
-- Starts the real kipperd (build/bin/kipperd, next to the kip under test) against a sandbox API
-- for a spec or a benchmark: Kipper's CRDs and the kipper-config ConfigMap go on the API first
-- (prepare), then kipperd runs in the background with its log in a file; its /healthz, /readyz
-- and /metrics are read with kip.http; stop() sends SIGTERM and returns the exit status. Uses
-- helpers, kip.proc, kip.fs, kip.http, kip.k8s, kip.platform.crds and kip.reconcile.metrics.
local fs = require "kip.fs"
local helpers = require "helpers"
local http = require "kip.http"
local metrics = require "kip.reconcile.metrics"
local proc = require "kip.proc"

local M = {}

---Path of the kipperd under test: $KIPPERD_BIN, else bin/kipperd beside the kip under test.
function M.bin()
  local env = os.getenv("KIPPERD_BIN")
  if env and env ~= "" then return env end
  local kip = helpers.kip_bin()
  local dir = kip:match("^(.*)/[^/]+$") or "."
  if fs.exists(dir .. "/bin/kipperd") then return dir .. "/bin/kipperd" end
  return dir .. "/kipperd"
end

---Puts Kipper's CRDs, namespace kipper-system and ConfigMap kipper-config on the API.
---@param client table a kip.k8s client
---@param data? table<string, string> the ConfigMap's data (default: a cluster ID, issuer letsencrypt)
function M.prepare(client, data)
  for _, crd in ipairs(require("kip.platform.crds").all()) do
    assert(client:apply(crd, { field_manager = "spec", force = true }))
  end
  client:forget_discovery()
  assert(client:apply({ apiVersion = "v1", kind = "Namespace", metadata = { name = "kipper-system" } },
    { field_manager = "spec", force = true }))
  assert(client:apply({ apiVersion = "v1", kind = "ConfigMap", metadata = { name = "kipper-config", namespace = "kipper-system" },
    data = data or { clusterId = "203-0-113-10", zone = "kipper.run", issuer = "letsencrypt",
      storageClass = "local-path", ingressClass = "traefik" } }, { field_manager = "spec", force = true }))
end

local Kipperd = {}
Kipperd.__index = Kipperd

---Starts kipperd; waits until it listens.
---@param opts {kubeconfig: string, dir?: string, plugin_path?: string|false, policies?: string, args?: string[], verbose?: boolean}
function M.start(opts)
  local dir = opts.dir or helpers.tmpdir()
  local self = setmetatable({ dir = dir, owns_dir = not opts.dir, log = dir .. "/kipperd.log" }, Kipperd)
  local argv = { M.bin(), "--kubeconfig", opts.kubeconfig, "--listen", "127.0.0.1:0" }
  if opts.policies then argv[#argv + 1] = "--policies"; argv[#argv + 1] = opts.policies end
  if opts.verbose then argv[#argv + 1] = "-v" end
  for _, a in ipairs(opts.args or {}) do argv[#argv + 1] = a end
  local quoted = {}
  for i, a in ipairs(argv) do quoted[i] = string.format("%q", a) end
  local env = opts.plugin_path and string.format("KIP_PLUGIN_PATH=%q ", opts.plugin_path) or "KIP_PLUGIN_PATH= "
  -- a shell waits for kipperd and keeps its pid and exit status in files (it is not our child)
  local pid_file, status_file = dir .. "/kipperd.pid", dir .. "/kipperd.status"
  fs.remove(pid_file)
  fs.remove(status_file)
  local cmd = string.format("(env %s%s > %q 2>&1 < /dev/null & echo $! > %q; wait $!; echo $? > %q) > /dev/null 2>&1 < /dev/null &",
    env, table.concat(quoted, " "), self.log, pid_file, status_file)
  assert(proc.run({ "sh", "-c", cmd }))
  self.pid = assert(helpers.eventually(function() return tonumber((fs.read(pid_file) or ""):match("%d+")) end, 5))
  self.status_file = status_file
  self.port = helpers.eventually(function()
    return tonumber((fs.read(self.log) or ""):match("listen=[%d.]+:(%d+)"))
  end, 15)
  assert(self.port, "kipperd did not start: " .. tostring(fs.read(self.log)))
  self.http = http.client({})
  return self
end

function Kipperd:running()
  return not self.exit_status and not fs.exists(self.status_file)
end

---GET a path of kipperd's endpoint: status, body.
function Kipperd:get(path)
  local r, err = self.http:request({ url = string.format("http://127.0.0.1:%d%s", self.port, path), timeout = 10 })
  if not r then return nil, err end
  return r.status, r.body
end

---kipperd's metrics as {["name{labels}"] = value}.
function Kipperd:metrics()
  local status, body = self:get("/metrics")
  assert(status == 200, "GET /metrics: " .. tostring(status) .. " " .. tostring(body))
  return metrics.parse(body)
end

---Waits until /readyz answers 200.
function Kipperd:wait_ready(seconds)
  return helpers.eventually(function() return self:get("/readyz") == 200 end, seconds or 20)
end

---kipperd's log so far.
function Kipperd:output()
  return fs.read(self.log) or ""
end

---Peak resident memory in KiB (VmHWM), while it runs.
function Kipperd:peak_rss_kib()
  local st = fs.read("/proc/" .. self.pid .. "/status") or ""
  return tonumber(st:match("VmHWM:%s+(%d+)"))
end

---Sends SIGTERM (or `signal`) and returns the exit status (once stopped, the same again).
function Kipperd:stop(signal)
  if self.exit_status then return self.exit_status end
  if self:running() then proc.run({ "kill", "-" .. (signal or "TERM"), tostring(self.pid) }) end
  -- generous: a sanitizer build on a loaded machine takes its time to close and check for leaks
  helpers.eventually(function() return not self:running() end, 60)
  if self.http then self.http:close() end
  self.http = nil
  self.exit_status = tonumber((fs.read(self.status_file) or ""):match("%d+")) or -1
  if self.owns_dir then helpers.rmtree(self.dir) end
  return self.exit_status
end

return M
