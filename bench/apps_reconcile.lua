-- SPDX-License-Identifier: Apache-2.0
-- kipperd at scale: N Apps (default 1,000) created at once against the sandbox API, with kipperd
-- (build/bin/kipperd) running the real App policy (plugins/reconcilers/app.lua). Measures the time
-- from the first create until every App is Ready (status observed for its generation), the API
-- requests kipperd sent per App (its kipperd_api_requests_total), reconciles per App, and kipperd's
-- peak RSS (VmHWM). Prints a Markdown section for BENCHMARKS.md.
-- Run from the repository root: build/kip lua bench/apps_reconcile.lua [N]
package.path = "spec/?.lua;spec/?/init.lua;" .. package.path
local fs = require "kip.fs"
local host = require "kip.host"
local k8s = require "kip.k8s"
local kipperd = require "helpers.kipperd"
local sandbox = require "helpers.sandbox"
local sleep = require("kip.server").sleep

local N = tonumber(arg and arg[1] or os.getenv("N_APPS") or "") or 1000
local AV = "kipper.run/v1alpha1"

-- CPU seconds (user + system) a process used so far, from /proc/PID/stat.
local function cpu_seconds(pid)
  local st = fs.read("/proc/" .. pid .. "/stat") or ""
  local rest = st:match("%) (.*)$") or ""
  local fields = {}
  for f in rest:gmatch("%S+") do fields[#fields + 1] = f end
  local ticks = (tonumber(fields[12]) or 0) + (tonumber(fields[13]) or 0)
  return ticks / 100
end

local function ready_count(c)
  local list = assert(c:list(AV, "App", { namespace = "default", all = true }))
  local n = 0
  for _, a in ipairs(list.items) do
    local s = a.status or {}
    for _, cond in ipairs(s.conditions or {}) do
      if cond.type == "Ready" and cond.status == "True" and s.observedGeneration == a.metadata.generation then n = n + 1 end
    end
  end
  return n, #list.items
end

local sb = sandbox.start()
local kd
local ok, err = pcall(function()
  local c = assert(k8s.connect({ kubeconfig = sb.kubeconfig, timeout = 120 }))
  kipperd.prepare(c)
  kd = kipperd.start({ kubeconfig = sb.kubeconfig, plugin_path = false, policies = "app" })
  assert(kd:wait_ready(30), "kipperd is not ready: " .. kd:output())
  local before = kd:metrics()
  local kd_cpu0, sb_cpu0 = cpu_seconds(kd.pid), cpu_seconds(sb.pid)
  local t0 = host.monotonic()
  for i = 1, N do
    assert(c:create({ apiVersion = AV, kind = "App", metadata = { name = string.format("app-%04d", i), namespace = "default" },
      spec = { image = "ghcr.io/acme/web:1." .. i, port = 8080, replicas = 1, env = { MODE = "bench" } } }))
  end
  local created = host.monotonic() - t0
  local all_ready, peak_depth = nil, 0
  local deadline = t0 + 1800
  repeat
    sleep(1)
    local depth = kd:metrics()['kipperd_workqueue_depth{kind="App"}'] or 0
    if depth > peak_depth then peak_depth = depth end
    local n = ready_count(c)
    if n == N then all_ready = host.monotonic() - t0 end
  until all_ready or host.monotonic() > deadline
  assert(all_ready, "not every App became Ready in 30 minutes: " .. kd:output():sub(-3000))
  local at_ready = kd:metrics()
  local kd_cpu, sb_cpu = cpu_seconds(kd.pid) - kd_cpu0, cpu_seconds(sb.pid) - sb_cpu0
  -- what it still does once everything is Ready (late status changes, events of its own writes)
  sleep(5)
  local after = kd:metrics()
  local rss = kd:peak_rss_kib()
  local function delta(m, name) return (m[name] or 0) - (before[name] or 0) end
  local requests_ready = delta(at_ready, "kipperd_api_requests_total")
  local requests_settled = delta(after, "kipperd_api_requests_total")
  local reconciles = delta(after, 'kipperd_reconcile_total{kind="App",result="success"}')
  local errors = delta(after, 'kipperd_reconcile_errors_total{kind="App"}')
  local dur_sum = delta(after, 'kipperd_reconcile_duration_seconds_sum{kind="App"}')
  local cpuinfo = fs.read("/proc/cpuinfo") or ""
  local cores = 0
  for _ in cpuinfo:gmatch("processor%s*:") do cores = cores + 1 end
  local mem_kib = tonumber((fs.read("/proc/meminfo") or ""):match("MemTotal:%s+(%d+)")) or 0
  local machine = string.format("%d cores, %s, %d GiB", cores, cpuinfo:match("model name%s*:%s*([^\n]+)") or "unknown CPU",
    math.floor(mem_kib / 1048576 + 0.5))
  print(string.format([[

## kipperd: %d Apps reconciled to Ready (%s)

Command: `make bench` (bench/apps_reconcile.lua; alone: `build/kip lua bench/apps_reconcile.lua [N]`).
Machine: %s. Server: `kip sandbox api` on loopback (pod start-up simulated in 0.2 s),
kipperd (build/bin/kipperd) running the real App policy with one reconcile at a time. The Apps are
created one after another as fast as the API takes them (%.1f s for %d), with kipperd already
running; the clock starts at the first create and stops when a list shows every App Ready for its
generation (polled each second). Requests are kipperd's own client's (kipperd_api_requests_total:
applies, status writes, deletes, discovery); its informers' lists and watches are not in them.

| what | value |
|---|---|
| Apps | %d |
| time until all Ready (s) | %.1f |
| Apps Ready per second | %.1f |
| API requests per App, at all Ready | %.2f |
| API requests per App, 5 s later | %.2f |
| reconciles per App | %.2f (errors: %d) |
| mean reconcile time (ms) | %.2f |
| peak work-queue depth | %d |
| kipperd peak RSS (MiB) | %.1f |
| CPU seconds until all Ready: kipperd / sandbox API | %.1f / %.1f |

The sandbox API is one Lua process that serves the requests and also simulates every Deployment,
ReplicaSet and Pod (its controllers go over all of them when one changes), so the time until all
are Ready is mostly its own: compare the two CPU figures. Each App costs kipperd one apply per
object it does not have yet (env Secret, Deployment, Service, Ingress, ControllerRevision) and a
status write per change of phase; reconciles that find everything current send nothing.
]], N, os.date("!%Y-%m-%d"), machine, created, N, N, all_ready, N / all_ready, requests_ready / N,
    requests_settled / N, reconciles / N, errors, reconciles > 0 and (dur_sum / reconciles * 1000) or 0,
    peak_depth, (rss or 0) / 1024, kd_cpu, sb_cpu))
  c:close()
end)
if kd then kd:stop() end
sb:stop()
if not ok then
  io.stderr:write("bench: ", tostring(err), "\n")
  os.exit(1)
end
