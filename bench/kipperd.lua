-- SPDX-License-Identifier: Apache-2.0
-- kipperd's console API under load: the sandbox API with an App of two pods, the real kipperd
-- (helpers.console_api). Measures kipperd's memory (VmRSS) idle and holding N live log WebSockets
-- (default 100, all following the App's pods; spec/helpers/ws_client.py --hold), its CPU while it
-- feeds them, its threads and descriptors after they close and after thousands of open/close
-- cycles (default 4000); then latency under wrk of GET /healthz
-- and GET /api/v1/auth/me with a bearer token (which reads the users from kipperd's watched copy
-- of their Secret; the copy's hits and misses are shown), next to `kubectl get --raw` of that
-- Secret against the same sandbox (a process per request, as a script would use it). Prints a
-- Markdown section for BENCHMARKS.md.
-- Run from the repository root: build/kip lua bench/kipperd.lua
-- Environment: KD_BENCH_STREAMS (default 100), KD_BENCH_SECONDS (each wrk run and the hold, default
-- 5), KD_BENCH_CONNECTIONS (wrk's, default 16), KD_BENCH_CYCLES (open/close cycles, default 4000),
-- KIP_BIN (the kip whose bin/kipperd runs).
package.path = "spec/?.lua;spec/?/init.lua;" .. package.path
local console_api = require "helpers.console_api"
local fs = require "kip.fs"
local monotonic = require("kip.host").monotonic
local json = require "kip.json"
local proc = require "kip.proc"
local sleep = require("kip.server").sleep
local ws = require "helpers.ws"

local STREAMS = tonumber(os.getenv("KD_BENCH_STREAMS") or "") or 100
local SECONDS = tonumber(os.getenv("KD_BENCH_SECONDS") or "") or 5
local CONNECTIONS = tonumber(os.getenv("KD_BENCH_CONNECTIONS") or "") or 16
local CYCLES = tonumber(os.getenv("KD_BENCH_CYCLES") or "") or 4000
local ADMIN, PW = "bench@example.com", "a long enough passphrase"

local function say(fmt, ...) io.stderr:write("bench kipperd: ", string.format(fmt, ...), "\n") end

for _, tool in ipairs({ "wrk", "kubectl", "python3" }) do
  if not proc.which(tool) then error("bench kipperd: " .. tool .. " is missing", 0) end
end

local function status_kib(pid, field)
  return tonumber((fs.read("/proc/" .. pid .. "/status") or ""):match(field .. ":%s+(%d+)"))
end

local function count(dir)
  local n = 0
  for _ in pairs(fs.list(dir) or {}) do n = n + 1 end
  return n
end

-- CPU seconds (user + system) a process used so far, from /proc/PID/stat.
local function cpu_seconds(pid)
  local rest = (fs.read("/proc/" .. pid .. "/stat") or ""):match("%) (.*)$") or ""
  local f = {}
  for x in rest:gmatch("%S+") do f[#f + 1] = x end
  return ((tonumber(f[12]) or 0) + (tonumber(f[13]) or 0)) / 100
end

-- wrk's requests/s and latency percentiles (ms) for one URL.
local function wrk(url, headers)
  local argv = { "wrk", "-t2", "-c" .. CONNECTIONS, "-d" .. SECONDS .. "s", "--latency" }
  for _, h in ipairs(headers or {}) do argv[#argv + 1] = "-H"; argv[#argv + 1] = h end
  argv[#argv + 1] = url
  local r = assert(proc.run(argv, { timeout = SECONDS + 30 }))
  assert(r.status == 0, r.stderr)
  local function ms(label)
    local v, unit = r.stdout:match("%s" .. label .. "%s+([%d.]+)(%a+)")
    v = tonumber(v)
    if not v then return nil end
    return unit == "us" and v / 1000 or unit == "s" and v * 1000 or v
  end
  local non2xx = tonumber(r.stdout:match("Non%-2xx or 3xx responses: (%d+)")) or 0
  return { rps = tonumber(r.stdout:match("Requests/sec:%s+([%d.]+)")), p50 = ms("50%%"), p99 = ms("99%%"), errors = non2xx }
end

local function proc_count()
  local r = proc.run({ "nproc" })
  return r and r.stdout:match("%d+") or "?"
end

local function median(xs)
  table.sort(xs)
  return xs[math.ceil(#xs / 2)]
end

say("starting the sandbox API and kipperd")
local env = console_api.start({ users = { { email = ADMIN, role = "admin", password = PW } } })
local ok, err = pcall(function()
  local c, pid = env.c, env.kd.pid
  assert(c:create({ apiVersion = "kipper.run/v1alpha1", kind = "Project", metadata = { name = "bench" }, spec = {} }))
  assert(env:project_ready("bench"), "project bench is not ready")
  local status = env:call("POST", "/api/v1/projects/bench/apps", { name = "web", image = "nginxdemos/hello:0.3", replicas = 2 }, ADMIN)
  assert(status == 201, "deploy: " .. tostring(status))
  assert(console_api.eventually(function()
    local list = c:list("v1", "Pod", { namespace = "bench", label_selector = "app.kubernetes.io/name=web" })
    local n = 0
    for _, p in ipairs(list and list.items or {}) do if p.status and p.status.phase == "Running" then n = n + 1 end end
    return n == 2
  end, 60), "the pods did not start")
  local token = env:token(ADMIN)
  sleep(2)
  local idle_rss, idle_threads, idle_fds = status_kib(pid, "VmRSS"), count("/proc/" .. pid .. "/task"), count("/proc/" .. pid .. "/fd")

  say("holding %d log WebSockets for %d s", STREAMS, SECONDS)
  local url = string.format("ws://127.0.0.1:%d/api/v1/projects/bench/apps/web/logs?tail=10", env.kd.port)
  local holder = ws.spawn(url, { protocols = { "kipper.logs.v1", "bearer." .. token }, hold = { STREAMS, SECONDS + 3 } })
  assert(holder:wait_for("holding", 60), "the WebSockets did not open: " .. json.encode(holder:events()))
  sleep(2) -- every session has started
  local cpu0, wall0 = cpu_seconds(pid), monotonic()
  sleep(SECONDS)
  local wall1 = monotonic()
  local cpu_pct = (cpu_seconds(pid) - cpu0) / math.max(0.001, wall1 - wall0) * 100
  local busy_rss, busy_threads = status_kib(pid, "VmRSS"), count("/proc/" .. pid .. "/task")
  local held = holder:stop(60)
  local summary = ws.find(held, "held") or {}
  assert(summary.open == STREAMS, "held: " .. json.encode(held))
  console_api.eventually(function() return count("/proc/" .. pid .. "/task") == idle_threads end, 20)
  sleep(1)
  local after_threads, after_fds = count("/proc/" .. pid .. "/task"), count("/proc/" .. pid .. "/fd")

  say("%d log WebSocket open/close cycles (half closed, half dropped)", CYCLES)
  local cyc0 = monotonic()
  local cycled = 0
  for _, how in ipairs({ "close", "drop" }) do
    local ev = ws.run(url, { protocols = { "kipper.logs.v1", "bearer." .. token }, cycles = CYCLES // 2,
      steps = { "read:1", how }, wait = 600 })
    assert(ev[1] and ev[1].ok == CYCLES // 2, "cycles: " .. json.encode(ev[1]))
    cycled = cycled + ev[1].ok
  end
  local cycle_s = monotonic() - cyc0
  console_api.eventually(function() return count("/proc/" .. pid .. "/task") == idle_threads end, 60)
  sleep(1)
  local cycled_threads, cycled_fds = count("/proc/" .. pid .. "/task"), count("/proc/" .. pid .. "/fd")
  local cycled_rss = status_kib(pid, "VmRSS")

  say("wrk: /healthz and /api/v1/auth/me")
  local base = string.format("http://127.0.0.1:%d", env.kd.port)
  local health = wrk(base .. "/healthz")
  local m0 = env.kd:metrics()
  local me = wrk(base .. "/api/v1/auth/me", { "Authorization: Bearer " .. token })
  local m1 = env.kd:metrics()
  local function delta(name) return (m1[name] or 0) - (m0[name] or 0) end
  local hits, misses = delta("kipperd_users_cache_hits_total"), delta("kipperd_users_cache_misses_total")
  local kc = {}
  for _ = 1, 20 do
    local w0 = monotonic()
    local r = assert(proc.run({ "kubectl", "--kubeconfig", env.sb.kubeconfig, "get", "--raw",
      "/api/v1/namespaces/kipper-system/secrets/kipper-users" }, { timeout = 30 }))
    assert(r.status == 0, r.stderr)
    kc[#kc + 1] = (monotonic() - w0) * 1000
  end
  local peak = status_kib(pid, "VmHWM")

  local cpu = (fs.read("/proc/cpuinfo") or ""):match("model name%s*:%s*([^\n]+)") or "unknown CPU"
  print(string.format([[
## kipperd: console API and live logs (%s)

Command: `build/kip lua bench/kipperd.lua` (part of `make bench`). Machine: %s cores, %s. Server: the
sandbox API (`kip sandbox api`) with one App of 2 pods whose simulated logs print a line a second each;
kipperd with its real policies. wrk: 2 threads, %d connections, %d s, on loopback.

| what | value |
|---|---|
| kipperd RSS idle | %.1f MiB (%d threads, %d descriptors) |
| kipperd RSS with %d open log WebSockets (each following 2 pods, tail=10) | %.1f MiB (%d threads) |
| kipperd CPU while feeding them | %.1f %% of one core (%d frames received in %d s) |
| threads and descriptors once they closed | %d threads, %d descriptors |
| %d open/close cycles of a log WebSocket (tail=10, one frame read; half closed, half dropped) | %.1f s; then %d threads, %d descriptors, %.1f MiB RSS |
| kipperd peak RSS (VmHWM) over the whole run | %.1f MiB |
| GET /healthz under wrk | %.0f req/s, p50 %.2f ms, p99 %.2f ms |
| GET /api/v1/auth/me (bearer token) under wrk | %.0f req/s, p50 %.2f ms, p99 %.2f ms%s; users read from kipperd's copy %d times, from the API %d |
| `kubectl get --raw` of the users Secret (one process per request, median of 20) | %.1f ms |

kipperd runs 8 + 128 server threads (each open log WebSocket holds one, plus a writer thread while
open); after the WebSockets close, the descriptors left over the idle count are the pod-list
client's (kept for the next session). /api/v1/auth/me checks the token (its Ed25519 signature once:
kipperd remembers verified tokens and checks only their times again) and reads the user from
kipperd's copy of the users Secret, kept current by a watch, so no request waits for the API; its
handlers run under kipperd's one Lua lock, so with many connections the tail grows with the queue
for it. kubectl pays a process start, its kubeconfig and a TLS
handshake per request, which an API client of kipperd does not.
]], os.date("!%Y-%m-%d"), proc_count(), cpu, CONNECTIONS, SECONDS,
    idle_rss / 1024, idle_threads, idle_fds, STREAMS, busy_rss / 1024, busy_threads, cpu_pct,
    summary.frames or 0, SECONDS + 3, after_threads, after_fds, cycled, cycle_s, cycled_threads, cycled_fds,
    cycled_rss / 1024, peak / 1024,
    health.rps or 0, health.p50 or 0, health.p99 or 0, me.rps or 0, me.p50 or 0, me.p99 or 0,
    me.errors > 0 and string.format(" (%d non-2xx)", me.errors) or "", hits, misses, median(kc)))
end)
env:stop()
if not ok then error(err, 0) end
