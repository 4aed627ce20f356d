-- SPDX-License-Identifier: Apache-2.0
-- The gateway benchmark (issue 6): wrk through kipper-gateway, nginx, HAProxy and Caddy, each
-- configured the same (one worker, the same upstream, keep-alive to it, X-Forwarded-For set, the
-- same certificate, no access log), plain HTTP and TLS: requests/s and p50/p99 latency (the best
-- of interleaved rounds, so that other work on the machine hits every proxy alike); then the
-- proxy's memory (RSS of its processes) holding 10,000 idle keep-alive connections
-- (bench/gateway_idle.py). Everything runs on loopback on free ports, in a temporary folder, and
-- is stopped at the end. Prints a Markdown section for BENCHMARKS.md.
-- Uses kip.proc, kip.fs, kip.host and kip.server.sleep; the peers are the Debian packages nginx-light,
-- haproxy, caddy and wrk (plus openssl, curl, python3, taskset and prlimit).
-- Run from the repository root: build/bin/kip lua bench/gateway.lua
-- Environment: GW_BENCH_SECONDS (each wrk run, default 5), GW_BENCH_ROUNDS (default 4),
-- GW_BENCH_QUIET_WAIT (seconds a run may wait for a quiet machine, default 3), GW_BENCH_IDLE (idle
-- connections, default 10000), GW_BENCH_CONNECTIONS (wrk's, default 64), GW_BENCH_PEERS (e.g.
-- "nginx,haproxy": a subset), GW_BENCH_PERF (e.g. "kipper-gateway,nginx": perf profiles of those),
-- GW_BENCH_GATEWAY ("program": build/bin/kipper-gateway registered through its admin API, the
-- default; "lua": kip.gateway started by bench/gateway_serve.lua), KIP (default build/bin/kip),
-- KIPPER_GATEWAY (default: beside KIP).
local fs = require "kip.fs"
local host = require "kip.host"
local proc = require "kip.proc"
local sleep = require("kip.server").sleep

local HOST = "bench-127-0-0-1.kipper.run"
local SECONDS = tonumber(os.getenv("GW_BENCH_SECONDS") or "") or 5
local ROUNDS = tonumber(os.getenv("GW_BENCH_ROUNDS") or "") or 4
local IDLE = tonumber(os.getenv("GW_BENCH_IDLE") or "") or 10000
local KIP = os.getenv("KIP") or "build/bin/kip"
local GATEWAY_MODE = os.getenv("GW_BENCH_GATEWAY") or "program"
local WRK_THREADS, WRK_CONNECTIONS = 2, tonumber(os.getenv("GW_BENCH_CONNECTIONS") or "") or 64

local function say(fmt, ...)
  io.stderr:write("bench gateway: ", string.format(fmt, ...), "\n")
end

local function run(argv, opts)
  local r, err = proc.run(argv, opts or { timeout = 120 })
  assert(r, err)
  if r.status ~= 0 then
    error(string.format("%s failed (%s): %s%s", argv[1], tostring(r.status), r.stdout, r.stderr), 0)
  end
  return r.stdout
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function write(path, text, mode)
  assert(fs.write(path, text, { mode = mode }))
end

for _, tool in ipairs({ "wrk", "nginx", "haproxy", "caddy", "openssl", "curl", "python3", "taskset", "prlimit" }) do
  if not proc.which(tool) then
    error("bench gateway: " .. tool .. " is missing: apt-get install nginx-light haproxy caddy wrk openssl curl python3 util-linux", 0)
  end
end

-- open files: the hard limit, up to 65536 (raising it needs CAP_SYS_RESOURCE)
local hard = trim(run({ "sh", "-c", "ulimit -Hn" }))
local NOFILE = hard == "unlimited" and 65536 or math.min(65536, tonumber(hard) or 1024)
if NOFILE < IDLE + 1024 then
  error(string.format("bench gateway: %d idle connections need %d open files; the hard limit is %d", IDLE, IDLE + 1024, NOFILE), 0)
end

-- CPUs: with two or more, the proxy under test gets CPU 0 to itself; the upstream and wrk share
-- CPU 1 (and the rest). With one, nothing is pinned.
local ncpu = tonumber(trim(run({ "nproc" }))) or 1
local PROXY_CPU = ncpu >= 2 and "0" or nil
local OTHER_CPU = ncpu >= 2 and (ncpu == 2 and "1" or "1-" .. (ncpu - 1)) or nil

local function pinned(cpu, argv)
  local out = { "prlimit", "--nofile=" .. NOFILE .. ":" .. NOFILE, "--" }
  if cpu then
    out[#out + 1] = "taskset"; out[#out + 1] = "-c"; out[#out + 1] = cpu
  end
  for _, a in ipairs(argv) do out[#out + 1] = a end
  return out
end

-- free loopback ports, all bound at once so that none is handed out twice
local function free_ports(n)
  local out = run({ "python3", "-c", [[
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
]], tostring(n) })
  local ports = {}
  for p in out:gmatch("%d+") do ports[#ports + 1] = tonumber(p) end
  return ports
end

-- /proc accounting: a process and its descendants (nginx's master and worker)
local function tree(pid)
  local pids, i = { pid }, 1
  while pids[i] do
    local kids = fs.read("/proc/" .. pids[i] .. "/task/" .. pids[i] .. "/children") or ""
    for k in kids:gmatch("%d+") do pids[#pids + 1] = tonumber(k) end
    i = i + 1
  end
  return pids
end

local function rss_kib(pid)
  local total = 0
  for _, p in ipairs(tree(pid)) do
    local st = fs.read("/proc/" .. p .. "/status") or ""
    total = total + (tonumber(st:match("VmRSS:%s*(%d+)")) or 0)
  end
  return total
end

local CLK_TCK = tonumber(trim(run({ "getconf", "CLK_TCK" }))) or 100
local function cpu_seconds(pid)
  local total = 0
  for _, p in ipairs(tree(pid)) do
    local rest = (fs.read("/proc/" .. p .. "/stat") or ""):match("%) (.*)$") or ""
    local f = {}
    for x in rest:gmatch("%S+") do f[#f + 1] = x end
    total = total + (tonumber(f[12]) or 0) + (tonumber(f[13]) or 0)
  end
  return total / CLK_TCK
end

local LOADAVG = (fs.read("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)") or "?"

-- jiffies one CPU ("cpu0"; "cpu" for all) spent running tasks (user, nice, system) or stolen by the
-- hypervisor, and in all, from /proc/stat; interrupt time is left out (loopback traffic's softirqs,
-- which are the proxies' and wrk's)
local function cpu_jiffies(cpu)
  local line = ("\n" .. (fs.read("/proc/stat") or "")):match("\n" .. cpu .. " ([^\n]+)") or ""
  local f = {}
  for x in line:gmatch("%d+") do f[#f + 1] = tonumber(x) end
  local total = 0
  for _, x in ipairs(f) do total = total + x end
  return (f[1] or 0) + (f[2] or 0) + (f[3] or 0) + (f[8] or 0), total
end

-- The temporary folder holds the pid of this process: a run that was interrupted (its processes
-- end with it) leaves its folder, which the next run removes.
for _, name in ipairs(fs.list("/tmp") or {}) do
  local dir = "/tmp/" .. name
  if name:match("^kip%-bench%-gw%.%w+$") then
    local pid = tonumber(trim(fs.read(dir .. "/pid") or ""))
    if pid and not fs.exists("/proc/" .. pid) then proc.run({ "rm", "-rf", "--", dir }) end
  end
end
local work = trim(run({ "mktemp", "-d", "/tmp/kip-bench-gw.XXXXXX" }))
write(work .. "/pid", (fs.read("/proc/self/stat") or ""):match("^(%d+)") or "", 384)
local started = {}   -- every process this script started, stopped at the end

local function start(name, argv, opts)
  opts = opts or {}
  fs.remove(work .. "/" .. name .. ".out")
  local p, err = proc.spawn(argv, { stdout = work .. "/" .. name .. ".out", stderr = "stdout", env = opts.env, cwd = opts.cwd })
  assert(p, err)
  started[#started + 1] = p
  return p
end

local function stop(p)
  if not p:alive() then return end
  p:kill("TERM")
  if not p:wait(10) then
    p:kill("KILL")
    p:wait(5)
  end
end

local function output(name)
  return fs.read(work .. "/" .. name .. ".out") or ""
end

-- curl through a proxy: {status, headers (lower-cased names), tls = "TLSv1.3 / cipher"}
local function fetch(port, tls, extra)
  local url = (tls and "https://" or "http://") .. HOST .. ":" .. port .. "/"
  local argv = { "curl", "-sS", "-v", "-o", "/dev/null", "-D", "-", "--max-time", "5", "--noproxy", "*",
    "--resolve", HOST .. ":" .. port .. ":127.0.0.1", "-k" }
  for _, h in ipairs(extra or {}) do argv[#argv + 1] = "-H"; argv[#argv + 1] = h end
  argv[#argv + 1] = url
  local r = proc.run(argv, { timeout = 10 })
  if not r or r.status ~= 0 then return nil end
  local status = tonumber(r.stdout:match("^HTTP/[%d.]+ (%d+)"))
  local headers = {}
  for name, value in r.stdout:gmatch("\n([%w-]+):%s*([^\r\n]*)") do headers[name:lower()] = value end
  return { status = status, headers = headers, tls = r.stderr:match("SSL connection using ([^\r\n]+)") }
end

local function wait_ready(name, p, port)
  local deadline = host.monotonic() + 20
  while host.monotonic() < deadline do
    if not p:alive() then error(name .. " exited: " .. output(name), 0) end
    local r = fetch(port, false)
    if r and r.status == 200 then return end
    sleep(0.1)
  end
  error(name .. " did not answer in 20 s: " .. output(name), 0)
end

-- the certificate every TLS listener serves (ECDSA P-256, for the name and the zone's wildcard, and
-- 127.0.0.1: wrk sends the URL's host, 127.0.0.1, as SNI, and Caddy picks certificates by SNI)
local CERT, KEY, PEM = work .. "/cert.pem", work .. "/key.pem", work .. "/haproxy.pem"
run({ "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
  "-subj", "/CN=" .. HOST, "-addext", "subjectAltName=DNS:" .. HOST .. ",DNS:*.kipper.run,IP:127.0.0.1",
  "-keyout", KEY, "-out", CERT })
write(PEM, assert(fs.read(CERT)) .. assert(fs.read(KEY)), 384)

local BODY = ("kipper-gateway bench body 0123456789abcdef "):rep(25):sub(1, 1024)

local function nginx_temp_paths(dir)
  assert(fs.mkdir(dir .. "/tmp"))
  run({ "chmod", "1777", dir .. "/tmp" })
  local t = {}
  for _, kind in ipairs({ "client_body", "proxy", "fastcgi", "uwsgi", "scgi" }) do
    t[#t + 1] = string.format("  %s_temp_path %s/tmp/%s;", kind, dir, kind)
  end
  return table.concat(t, "\n")
end

-- The upstream: nginx answering every request with a fixed 1 KiB body, echoing the
-- X-Forwarded-For it received (X-Seen-XFF) so the harness can check each proxy sets it.
local function start_upstream(port)
  local dir = work .. "/upstream"
  assert(fs.mkdir(dir))
  write(dir .. "/nginx.conf", string.format([[
worker_processes 1;
pid %s/nginx.pid;
error_log stderr error;
events { worker_connections 8192; }
http {
  access_log off;
%s
  keepalive_timeout 300s;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:%d default_server backlog=4096;
    location / {
      default_type text/plain;
      add_header X-Seen-XFF $http_x_forwarded_for;
      return 200 "%s";
    }
  }
}
]], dir, nginx_temp_paths(dir), port, BODY))
  local p = start("upstream", pinned(OTHER_CPU, { "nginx", "-p", dir, "-e", "stderr", "-c", dir .. "/nginx.conf", "-g", "daemon off;" }))
  local deadline = host.monotonic() + 20
  while host.monotonic() < deadline do
    if not p:alive() then error("upstream nginx exited: " .. output("upstream"), 0) end
    local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--noproxy", "*", "http://127.0.0.1:" .. port .. "/" }, { timeout = 5 })
    if r and r.stdout == "200" then return p end
    sleep(0.1)
  end
  error("upstream nginx did not answer: " .. output("upstream"), 0)
end

-- The peers. Each start(ports) returns the process; ports = {plain, tls, upstream, api}.
local peers = {}

peers[#peers + 1] = { name = "nginx", version = function()
  return (run({ "sh", "-c", "nginx -v 2>&1" }):match("nginx/(%S+)"))
end, start = function(ports)
  local dir = work .. "/nginx"
  assert(fs.mkdir(dir))
  write(dir .. "/nginx.conf", string.format([[
worker_processes 1;
worker_rlimit_nofile %d;
pid %s/nginx.pid;
error_log stderr error;
events { worker_connections %d; }
http {
  access_log off;
%s
  keepalive_timeout 300s;
  keepalive_requests 10000000;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_certificate %s;
  ssl_certificate_key %s;
  upstream up {
    server 127.0.0.1:%d;
    keepalive 64;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:%d default_server backlog=4096;
    listen 127.0.0.1:%d ssl default_server backlog=4096;
    return 404;
  }
  server {
    listen 127.0.0.1:%d;
    listen 127.0.0.1:%d ssl;
    server_name %s;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Real-IP $remote_addr;
    }
  }
}
]], NOFILE, dir, math.max(4096, IDLE + 2048), nginx_temp_paths(dir), CERT, KEY, ports[3], ports[1], ports[2], ports[1], ports[2], HOST))
  return start("nginx", pinned(PROXY_CPU, { "nginx", "-p", dir, "-e", "stderr", "-c", dir .. "/nginx.conf", "-g", "daemon off;" }))
end }

peers[#peers + 1] = { name = "HAProxy", version = function()
  return (run({ "haproxy", "-v" }):match("version (%S+)"))
end, start = function(ports)
  local dir = work .. "/haproxy"
  assert(fs.mkdir(dir))
  local hosts = string.format("%s %s:%d %s:%d", HOST, HOST, ports[1], HOST, ports[2])
  -- HAProxy wants 2 x maxconn open files; without CAP_SYS_RESOURCE the hard limit may be lower,
  -- and `no strict-limits` lets it run anyway (idle client connections take one file each)
  local maxconn = math.max(4096, IDLE + 2048)
  write(dir .. "/haproxy.cfg", string.format([[
global
  nbthread 1
  maxconn %d
  no strict-limits
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 300s
  http-reuse always
frontend fe
  bind 127.0.0.1:%d backlog 4096
  bind 127.0.0.1:%d ssl crt %s alpn http/1.1 backlog 4096
  maxconn %d
  http-request deny deny_status 404 unless { hdr(host) -i %s }
  http-request set-header X-Forwarded-For %%[src]
  http-request set-header X-Real-IP %%[src]
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http unless { ssl_fc }
  http-request set-header X-Forwarded-Host %%[req.hdr(host)]
  default_backend up
backend up
  server up 127.0.0.1:%d
]], maxconn, ports[1], ports[2], PEM, maxconn, hosts, ports[3]))
  return start("haproxy", pinned(PROXY_CPU, { "haproxy", "-db", "-f", dir .. "/haproxy.cfg" }))
end }

peers[#peers + 1] = { name = "Caddy", version = function()
  return (run({ "caddy", "version" }):match("v?(%S+)"))
end, start = function(ports)
  local dir = work .. "/caddy"
  assert(fs.mkdir(dir))
  write(dir .. "/Caddyfile", string.format([[
{
  admin off
  auto_https off
  default_sni %s
  servers {
    timeouts {
      idle 300s
    }
  }
}
http://:%d {
  bind 127.0.0.1
  @bench host %s
  handle @bench {
    reverse_proxy 127.0.0.1:%d {
      header_up X-Real-IP {remote_host}
    }
  }
  handle {
    respond 404
  }
}
https://:%d {
  bind 127.0.0.1
  tls %s %s {
    protocols tls1.2 tls1.3
  }
  @bench host %s
  handle @bench {
    reverse_proxy 127.0.0.1:%d {
      header_up X-Real-IP {remote_host}
    }
  }
  handle {
    respond 404
  }
}
]], HOST, ports[1], HOST, ports[3], ports[2], CERT, KEY, HOST, ports[3]))
  return start("caddy", pinned(PROXY_CPU, { "caddy", "run", "--adapter", "caddyfile", "--config", dir .. "/Caddyfile" }),
    { env = { HOME = dir, XDG_DATA_HOME = dir .. "/data", XDG_CONFIG_HOME = dir .. "/config", GOMAXPROCS = "1" } })
end }

-- kipper-gateway: the program, with the route registered through its admin API (default), or the
-- kip.gateway binding started by bench/gateway_serve.lua.
local GATEWAY_BIN = os.getenv("KIPPER_GATEWAY")
if not GATEWAY_BIN then
  local beside = (KIP:match("^(.*)/[^/]*$") or ".") .. "/kipper-gateway"
  GATEWAY_BIN = fs.exists(beside) and beside or "build/bin/kipper-gateway"
end
table.insert(peers, 1, { name = "kipper-gateway", version = function()
  -- the kip built alongside it says its version and commit: "kip 0.1.0 (596b3da)"
  local r = proc.run({ KIP, "version" }, { timeout = 10 })
  return (r and r.status == 0 and r.stdout:match("^kip (%S+ %([^)]*%))")) or "this tree"
end, start = function(ports)
  local dir = work .. "/kipper-gateway"
  fs.mkdir(dir)
  if GATEWAY_MODE == "lua" then
    return start("kipper-gateway", pinned(PROXY_CPU, { KIP, "lua", "bench/gateway_serve.lua", tostring(ports[1]), tostring(ports[2]),
      tostring(ports[3]), CERT, KEY }))
  end
  local token = "bench-" .. trim(run({ "openssl", "rand", "-hex", "16" }))
  write(dir .. "/admin-token", token, 384)
  -- the idle timeout the other proxies get too (300 s), so the idle connections stay open
  write(dir .. "/config.json", '{"timeouts": {"idle": 300}}', 384)
  local p = start("kipper-gateway", pinned(PROXY_CPU, { GATEWAY_BIN, "--listen", "127.0.0.1:" .. ports[1],
    "--tls-listen", "127.0.0.1:" .. ports[2], "--cert", CERT, "--key", KEY, "--zone", "kipper.run",
    "--registry", dir .. "/registry.json", "--api-listen", "127.0.0.1:" .. ports[4],
    "--admin-token-file", dir .. "/admin-token", "--workers", "1", "--allow-private-upstreams", "--config", dir .. "/config.json" }))
  local body = string.format('{"cluster":"127-0-0-1","ip":"127.0.0.1","port":%d,"scheme":"http"}', ports[3])
  local deadline = host.monotonic() + 20
  while true do
    if not p:alive() then error("kipper-gateway exited: " .. output("kipper-gateway"), 0) end
    local r = proc.run({ "curl", "-sS", "-o", dir .. "/register.out", "-w", "%{http_code}", "--noproxy", "*", "--max-time", "5",
      "-X", "POST", "-H", "Authorization: Bearer " .. token, "-H", "Content-Type: application/json", "--data", body,
      "http://127.0.0.1:" .. ports[4] .. "/v1/clusters" }, { timeout = 10 })
    if r and (r.stdout == "201" or r.stdout == "200") then break end
    if r and r.stdout ~= "000" then
      error("kipper-gateway refused the registration (" .. r.stdout .. "): " .. (fs.read(dir .. "/register.out") or ""), 0)
    end
    if host.monotonic() > deadline then error("kipper-gateway's API did not answer: " .. output("kipper-gateway"), 0) end
    sleep(0.1)
  end
  return p
end })

-- wrk output -> {rps, p50, p99 (ms), requests, errors}
local UNIT_MS = { us = 0.001, ms = 1, s = 1000, m = 60000 }
local function parse_wrk(text)
  local function latency(pct)
    local v, unit = text:match("\n%s*" .. pct .. "%%%s+([%d.]+)(%a+)")
    return v and tonumber(v) * UNIT_MS[unit] or nil
  end
  local r = { rps = tonumber(text:match("Requests/sec:%s*([%d.]+)")), p50 = latency(50), p99 = latency(99),
    requests = tonumber(text:match("(%d+) requests in")), non2xx = tonumber(text:match("Non%-2xx or 3xx responses:%s*(%d+)")) or 0,
    errors = text:match("Socket errors: ([^\n]+)") }
  if not (r.rps and r.p50 and r.p99) then error("cannot read wrk's output:\n" .. text, 0) end
  return r
end

-- wrk's output; with time_file (and GNU time installed), its CPU seconds (user system) go there
local GNU_TIME = fs.exists("/usr/bin/time")
local function wrk(port, tls, seconds, time_file)
  local url = (tls and "https" or "http") .. "://127.0.0.1:" .. port .. "/"
  local argv = { "wrk", "-t" .. WRK_THREADS, "-c" .. WRK_CONNECTIONS, "-d" .. seconds .. "s", "--latency", "-H", "Host: " .. HOST, url }
  if time_file and GNU_TIME then
    table.move(argv, 1, #argv, 6)
    argv[1], argv[2], argv[3], argv[4], argv[5] = "/usr/bin/time", "-f", "%U %S", "-o", time_file
  end
  return run(pinned(OTHER_CPU, argv), { timeout = seconds + 60 })
end

-- one measured wrk run (after a 2-second warm-up), with the CPU the proxy and the upstream used
-- Waits (up to QUIET_WAIT seconds, default 3) until the machine is quiet: less than 10% of all CPUs busy
-- over half a second. The proxies are idle meanwhile, so what is busy is other work.
local QUIET_WAIT = tonumber(os.getenv("GW_BENCH_QUIET_WAIT") or "") or 3
local function wait_quiet()
  local deadline = host.monotonic() + QUIET_WAIT
  repeat
    local b0, j0 = cpu_jiffies("cpu")
    sleep(0.5)
    local b1, j1 = cpu_jiffies("cpu")
    if j1 > j0 and (b1 - b0) / (j1 - j0) < 0.1 then return true end
  until host.monotonic() > deadline
  return false
end

local function load(p, upstream, port, tls, warm_up)
  if warm_up then wrk(port, tls, 2) end
  wait_quiet()
  local c0, u0, t0 = cpu_seconds(p:pid()), cpu_seconds(upstream:pid()), host.monotonic()
  local b0 = cpu_jiffies("cpu")
  local time_file = work .. "/wrk.time"
  fs.remove(time_file)
  local r = parse_wrk(wrk(port, tls, SECONDS, time_file))
  local dt = host.monotonic() - t0
  local b1 = cpu_jiffies("cpu")
  r.cpu = (cpu_seconds(p:pid()) - c0) / dt
  r.us_per_request = r.rps > 0 and r.cpu / r.rps * 1e6 or 0
  r.upstream_cpu = (cpu_seconds(upstream:pid()) - u0) / dt
  local wu, ws = (fs.read(time_file) or ""):match("([%d.]+) ([%d.]+)")
  r.wrk_cpu = wu and (tonumber(wu) + tonumber(ws)) / dt or 0
  -- other work on the machine meanwhile, in CPUs: all CPUs' busy time but the proxy's, the
  -- upstream's and wrk's (without GNU time, wrk's counts as other work)
  r.others = math.max(0, (b1 - b0) / CLK_TCK / dt - r.cpu - r.upstream_cpu - r.wrk_cpu)
  if r.non2xx > 0 or r.rps == 0 or r.errors then
    error(string.format("wrk: %s requests, %d answers not 2xx, socket errors: %s", tostring(r.requests), r.non2xx, tostring(r.errors)), 0)
  end
  return r
end

-- a proxy's RSS fresh and holding IDLE keep-alive connections (a fresh process for each)
local function idle_memory(peer, tls)
  local ports = free_ports(4)
  ports[3] = peer.upstream_port
  local p = peer.start(ports)
  local name = peer.file
  wait_ready(name, p, ports[1])
  assert(fetch(ports[2], true), peer.name .. ": no TLS answer")
  sleep(0.5)
  local before = rss_kib(p:pid())
  local check = work .. "/idle.check"
  local argv = { "python3", "bench/gateway_idle.py", tostring(tls and ports[2] or ports[1]), tostring(IDLE), HOST, "--check-file", check }
  if tls then argv[#argv + 1] = "--tls" end
  local iname = "idle-" .. name .. (tls and "-tls" or "-plain")
  local idle = start(iname, pinned(OTHER_CPU, argv))
  local t0 = host.monotonic()
  while not output(iname):match("open %d+") do
    if not idle:alive() then error(peer.name .. ": the idle client failed: " .. output(iname), 0) end
    if not p:alive() then error(peer.name .. " exited: " .. output(name), 0) end
    sleep(0.1)
  end
  local setup = host.monotonic() - t0
  sleep(1)
  local after = rss_kib(p:pid())
  write(check, "")
  while not output(iname):match("alive %d+") do
    if not idle:alive() then error(peer.name .. ": the idle client failed: " .. output(iname), 0) end
    sleep(0.05)
  end
  local alive = tonumber(output(iname):match("alive (%d+)"))
  stop(idle)
  stop(p)
  return { before = before, after = after, alive = alive, setup = setup }
end

-- GW_BENCH_PERF=kipper-gateway,nginx: after the measured runs, `perf record -g` of the proxy under
-- another wrk run; the hottest symbols go to standard error (not into the table)
local PERF = os.getenv("GW_BENCH_PERF")
local function profile(name, p, port, tls)
  if not proc.which("perf") then say("perf is not installed: no profile"); return end
  -- system calls and context switches per request (perf stat on the tracepoint: cheap)
  local stat_file = work .. "/perf-stat-" .. name:lower() .. (tls and "-tls" or "-plain") .. ".csv"
  local events = { "raw_syscalls:sys_enter", "context-switches" }
  for _, call in ipairs({ "recvfrom", "sendto", "read", "write", "readv", "writev", "recvmsg", "sendmsg", "epoll_wait", "epoll_pwait",
    "epoll_ctl", "accept4", "close", "setsockopt", "futex", "clock_gettime", "getpid" }) do
    events[#events + 1] = "syscalls:sys_enter_" .. call
  end
  local st = start("perf-stat", { "perf", "stat", "-x", ",", "-o", stat_file, "-e", table.concat(events, ","),
    "-p", table.concat(tree(p:pid()), ","), "--", "sleep", tostring(SECONDS) })
  sleep(0.3)
  local w = parse_wrk(wrk(port, tls, SECONDS))
  st:wait(SECONDS + 30)
  local stat = fs.read(stat_file) or ""
  local syscalls = tonumber(stat:match("\n(%d+),[^,]*,raw_syscalls:sys_enter"))
  local switches = tonumber(stat:match("\n(%d+),[^,]*,context%-switches"))
  -- perf stat counts SECONDS from 0.3 s before wrk starts, so it sees SECONDS - 0.3 s of wrk's run
  local requests = w.rps * (SECONDS - 0.3)
  local calls = {}
  for n, call in stat:gmatch("\n(%d+),[^,]*,syscalls:sys_enter_([%w_]+)") do
    if tonumber(n) / requests >= 0.01 then calls[#calls + 1] = string.format("%s %.2f", call, tonumber(n) / requests) end
  end
  say("%s (%s): %.2f system calls (%s) and %.3f context switches per request (perf stat over %d s, %.0f req/s)", name,
    tls and "TLS" or "plain", (syscalls or 0) / requests, table.concat(calls, ", "), (switches or 0) / requests, SECONDS, w.rps)
  local data = work .. "/perf-" .. name:lower() .. (tls and "-tls" or "-plain") .. ".data"
  local rec = start("perf-record", { "perf", "record", "-F", "999", "-g", "-p", table.concat(tree(p:pid()), ","), "-o", data,
    "--", "sleep", tostring(SECONDS) })
  sleep(0.5)
  wrk(port, tls, SECONDS)
  rec:wait(SECONDS + 30)
  local r = proc.run({ "perf", "report", "-i", data, "--no-children", "--stdio", "--sort", "dso,symbol", "--percent-limit", "0.7",
    "-g", "none" }, { timeout = 120, max_output = 16 * 1024 * 1024 })
  local lines = {}
  for line in ((r and r.stdout) or ""):gmatch("[^\n]+") do
    if not line:match("^#") and line:match("%S") then lines[#lines + 1] = (line:gsub("%s+%-%s+%-%s*$", "")) end
  end
  local dsos = {}
  local d = proc.run({ "perf", "report", "-i", data, "--no-children", "--stdio", "--sort", "dso", "-g", "none" },
    { timeout = 120, max_output = 16 * 1024 * 1024 })
  for pct, dso in ((d and d.stdout) or ""):gmatch("\n%s*([%d.]+)%%%s+(%S+)") do
    if tonumber(pct) >= 1 then dsos[#dsos + 1] = dso .. " " .. pct .. "%" end
  end
  say("perf profile of %s under wrk (%s): %s; self time by symbol:\n%s", name, tls and "TLS" or "plain", table.concat(dsos, ", "),
    table.concat(lines, "\n", 1, math.min(#lines, 40)))
end

-- starts a peer for the load runs and checks it behaves like the others: routed by Host (another
-- name gets no 200), X-Forwarded-For replaced by the client's address, TLS 1.3 on the TLS port
local function start_peer(peer)
  local ports = free_ports(4)
  ports[3] = peer.upstream_port
  local row = { name = peer.name, version = peer.version(), runs = { plain = {}, tls = {} } }
  say("%s %s", peer.name, row.version)
  local p = peer.start(ports)
  wait_ready(peer.file, p, ports[1])
  local r = fetch(ports[1], false, { "X-Forwarded-For: 192.0.2.66" })
  assert(r and r.status == 200, peer.name .. ": no 200 for " .. HOST)
  assert(r.headers["x-seen-xff"] == "127.0.0.1", peer.name .. ": the upstream saw X-Forwarded-For " .. tostring(r.headers["x-seen-xff"]))
  local t = fetch(ports[2], true)
  assert(t and t.status == 200, peer.name .. ": no 200 over TLS")
  assert(t.tls and t.tls:match("^TLSv1%.3"), peer.name .. ": TLS " .. tostring(t.tls))
  row.tls_info = t.tls
  local other = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--noproxy", "*", "-H", "Host: other-127-0-0-2.kipper.run",
    "http://127.0.0.1:" .. ports[1] .. "/" }, { timeout = 10 })
  row.other_host = other and other.stdout
  return { peer = peer, p = p, ports = ports, row = row }
end

-- ROUNDS rounds; in each, every peer gets a plain and a TLS run in turn, so that other work on the
-- machine hits them alike; each proxy's figures are those of its best run (the most requests/s:
-- other work only slows a run down)
local OTHERS_MAX, BEST_OTHERS_MAX = 0, 0
local function load_rounds(running, upstream)
  for round = 1, ROUNDS do
    for _, s in ipairs(running) do
      for _, mode in ipairs({ "plain", "tls" }) do
        local r = load(s.p, upstream, mode == "tls" and s.ports[2] or s.ports[1], mode == "tls", round == 1)
        table.insert(s.row.runs[mode], r)
        say("  round %d %s %s: %.0f req/s, p50 %.3f ms, p99 %.3f ms, CPU: proxy %.0f%% (%.1f µs/req), upstream %.0f%%, wrk %.0f%%, other work %.0f%%",
          round, s.row.name, mode, r.rps, r.p50, r.p99, r.cpu * 100, r.us_per_request, r.upstream_cpu * 100, r.wrk_cpu * 100, r.others * 100)
        OTHERS_MAX = math.max(OTHERS_MAX, r.others)
      end
    end
  end
  for _, s in ipairs(running) do
    for _, mode in ipairs({ "plain", "tls" }) do
      local best
      for _, r in ipairs(s.row.runs[mode]) do
        if not best or r.rps > best.rps then best = r end
      end
      s.row[mode] = { rps = best.rps, p50 = best.p50, p99 = best.p99, cpu = best.cpu, upstream_cpu = best.upstream_cpu,
        us = best.us_per_request, others = best.others }
      BEST_OTHERS_MAX = math.max(BEST_OTHERS_MAX, best.others)
    end
  end
end

local function cpu_model()
  return trim(((fs.read("/proc/cpuinfo") or ""):match("model name%s*:%s*([^\n]+)")) or "unknown CPU")
end

local function report(rows, direct, upstream_version)
  local nginx
  for _, row in ipairs(rows) do if row.name == "nginx" then nginx = row end end
  local function ratio(a, b) return (a and b and b ~= 0) and string.format("%.2fx", a / b) or "-" end
  local out = {}
  local function add(fmt, ...) out[#out + 1] = string.format(fmt, ...) end
  add("## kipper-gateway against nginx, HAProxy and Caddy (%s)", os.date("!%Y-%m-%d"))
  add("")
  add("Command: `make bench` (bench/gateway.lua; alone: `build/bin/kip lua bench/gateway.lua`). Machine: %d cores, %s,", ncpu, cpu_model())
  add("%s. Each proxy: one worker (nginx `worker_processes 1`, HAProxy `nbthread 1`, Caddy `GOMAXPROCS=1`,", trim(run({ "uname", "-sr" })))
  add("kipper-gateway `--workers 1`), %s, no access log, keep-alive to the upstream, X-Forwarded-For set to",
    PROXY_CPU and "pinned to CPU " .. PROXY_CPU or "not pinned")
  add("the client's address, the same ECDSA P-256 certificate, TLS 1.3. Upstream: nginx %s, one worker%s,", upstream_version,
    OTHER_CPU and " pinned to CPU " .. OTHER_CPU .. " with wrk" or "")
  add("answering `return 200` with a 1 KiB body. Load: wrk %d threads, %d connections, `--latency`, Host", WRK_THREADS, WRK_CONNECTIONS)
  add("`%s`, %d rounds of %d s runs (every proxy plain, then TLS, in turn, after one 2 s warm-up; each", HOST, ROUNDS, SECONDS)
  add("run waits up to %d s for the machine to be quiet). Each proxy's figures are from its best run (the most", QUIET_WAIT)
  add("requests/s: other work on the machine only slows a run down). CPU: the share of one CPU the proxy used")
  add("during that run; CPU µs/req: its CPU time (user + system) per request, which other work disturbs least.")
  add("Direct to the upstream, without a proxy: %.0f requests/s, p99 %.2f ms. Load average at the start: %s;", direct.rps, direct.p99, LOADAVG)
  add("other work on the machine (its busy time but the proxy's, the upstream's and wrk's) took up to %.0f%% of a CPU",
    OTHERS_MAX * 100)
  add("during a run, up to %.0f%% in the runs shown.", BEST_OTHERS_MAX * 100)
  add("")
  add("| proxy | version | plain req/s | p50 (ms) | p99 (ms) | CPU | CPU µs/req | TLS req/s | p50 (ms) | p99 (ms) | CPU | CPU µs/req |")
  add("|---|---|---|---|---|---|---|---|---|---|---|---|")
  for _, row in ipairs(rows) do
    add("| %s | %s | %.0f | %.3f | %.3f | %.0f%% | %.1f | %.0f | %.3f | %.3f | %.0f%% | %.1f |", row.name, row.version, row.plain.rps,
      row.plain.p50, row.plain.p99, row.plain.cpu * 100, row.plain.us, row.tls.rps, row.tls.p50, row.tls.p99, row.tls.cpu * 100, row.tls.us)
  end
  add("")
  add("Requests/s of every run, in the order they ran (the spread is other work on the machine and the")
  add("hypervisor; the table above takes each proxy's best):")
  add("")
  add("| proxy | plain | TLS |")
  add("|---|---|---|")
  for _, row in ipairs(rows) do
    local function list(runs)
      local t = {}
      for _, r in ipairs(runs) do t[#t + 1] = string.format("%.0f", r.rps) end
      return table.concat(t, ", ")
    end
    add("| %s | %s | %s |", row.name, list(row.runs.plain), list(row.runs.tls))
  end
  if IDLE > 0 then
    add("")
    add("Memory: RSS of the proxy's processes (nginx: master and worker), fresh after one request, then holding")
    add("%d idle keep-alive connections (bench/gateway_idle.py: each did one request; a fresh process for plain", IDLE)
    add("and for TLS). Per connection = (holding - fresh) / %d.", IDLE)
    add("")
    add("| proxy | fresh (MiB) | %d plain (MiB) | per conn (KiB) | %d TLS (MiB) | per conn (KiB) | still open |", IDLE, IDLE)
    add("|---|---|---|---|---|---|---|")
    for _, row in ipairs(rows) do
      local ip, it = row.idle_plain, row.idle_tls
      row.per_plain = (ip.after - ip.before) / IDLE
      row.per_tls = (it.after - it.before) / IDLE
      add("| %s | %.1f | %.1f | %.2f | %.1f | %.2f | %d + %d |", row.name, ip.before / 1024, ip.after / 1024, row.per_plain,
        it.after / 1024, row.per_tls, ip.alive, it.alive)
    end
  end
  if nginx then
    add("")
    add("Ratios to nginx (requests/s: higher is better; latency and memory: lower is better):")
    add("")
    add("| proxy | plain req/s | plain p99 | plain CPU/req | TLS req/s | TLS p99 | TLS CPU/req | memory per conn, plain | per conn, TLS |")
    add("|---|---|---|---|---|---|---|---|---|")
    for _, row in ipairs(rows) do
      add("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", row.name, ratio(row.plain.rps, nginx.plain.rps), ratio(row.plain.p99, nginx.plain.p99),
        ratio(row.plain.us, nginx.plain.us), ratio(row.tls.rps, nginx.tls.rps), ratio(row.tls.p99, nginx.tls.p99), ratio(row.tls.us, nginx.tls.us),
        ratio(row.per_plain, nginx.per_plain), ratio(row.per_tls, nginx.per_tls))
    end
  end
  add("")
  add("Negotiated: %s. Another Host (other-127-0-0-2.kipper.run) answered: %s.", rows[1].tls_info or "?",
    (function()
      local t = {}
      for _, row in ipairs(rows) do t[#t + 1] = row.name .. " " .. tostring(row.other_host) end
      return table.concat(t, ", ")
    end)())
  add("")
  add("What is measured: HTTP/1.1 keep-alive request rate and latency through one proxy worker with one")
  add("route, a small body, TLS sessions set up once (wrk keeps its %d connections), and idle memory.", WRK_CONNECTIONS)
  add("Not measured: TLS handshake rate, large or streamed bodies, WebSocket, HTTP/2, many routes, access")
  add("logging, more than one worker, or an HTTPS upstream (kipper-gateway's usual upstream is a cluster's")
  add("HTTPS ingress with a pinned key; here every proxy speaks plain HTTP to the upstream). The upstream")
  add("and wrk share %s, so the direct figure is a ceiling no proxy can pass here. RSS counts shared",
    OTHER_CPU and "CPU " .. OTHER_CPU or "the machine's CPUs")
  add("library pages in full, so per connection is the fairer memory figure; nginx's `worker_connections`")
  add("and HAProxy's `maxconn` are set to %d (nginx allocates its connection table up front: it is in", math.max(4096, IDLE + 2048))
  add("the fresh figure), and HAProxy runs with `no strict-limits` when the open-file limit (%d here) is", NOFILE)
  add("below the 2 x maxconn it asks for.")
  print(table.concat(out, "\n"))
end

local ok, err = pcall(function()
  local up_port = free_ports(1)[1]
  local upstream = start_upstream(up_port)
  local upstream_version = peers[2].version()
  local only = os.getenv("GW_BENCH_PEERS")
  wait_quiet()
  local direct = parse_wrk(wrk(up_port, false, SECONDS))
  say("direct to the upstream: %.0f req/s, p99 %.3f ms", direct.rps, direct.p99)
  local running = {}
  for _, peer in ipairs(peers) do
    if not only or ("," .. only .. ","):lower():find("," .. peer.name:lower() .. ",", 1, true) then
      peer.upstream_port = up_port
      peer.file = peer.name:lower()
      running[#running + 1] = start_peer(peer)
    end
  end
  load_rounds(running, upstream)
  for _, s in ipairs(running) do
    if PERF and ("," .. PERF .. ","):lower():find("," .. s.peer.name:lower() .. ",", 1, true) then
      profile(s.peer.name, s.p, s.ports[1], false)
      profile(s.peer.name, s.p, s.ports[2], true)
    end
    stop(s.p)
  end
  local rows = {}
  for _, s in ipairs(running) do
    local row = s.row
    if IDLE > 0 then
      row.idle_plain = idle_memory(s.peer, false)
      say("%s: %d idle plain: RSS %.1f -> %.1f MiB, %d still open (opened in %.1f s)", row.name, IDLE, row.idle_plain.before / 1024,
        row.idle_plain.after / 1024, row.idle_plain.alive, row.idle_plain.setup)
      row.idle_tls = idle_memory(s.peer, true)
      say("%s: %d idle TLS: RSS %.1f -> %.1f MiB, %d still open (opened in %.1f s)", row.name, IDLE, row.idle_tls.before / 1024,
        row.idle_tls.after / 1024, row.idle_tls.alive, row.idle_tls.setup)
    end
    rows[#rows + 1] = row
  end
  report(rows, direct, upstream_version)
end)
for i = #started, 1, -1 do pcall(stop, started[i]) end
assert(work:match("^/tmp/kip%-bench%-gw%."))
proc.run({ "rm", "-rf", "--", work })
if not ok then error(err, 0) end
