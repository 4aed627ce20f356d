-- SPDX-License-Identifier: Apache-2.0
-- The kipper-gateway proxy (core/src/gateway/, driven through kip.gateway) with real clients: curl,
-- Python raw sockets (spec/helpers/gw_client.py) and openssl s_client, in front of a raw-socket
-- Python upstream (spec/helpers/gw_upstream.py) on loopback. Covers routing, refusals (framing,
-- sizes, slow heads, hosts, private upstreams), keep-alive and pooling, streamed chunked bodies,
-- WebSocket tunnels, X-Forwarded-*, timeouts, route and certificate swaps, draining, and TLS.
local fs = require "kip.fs"
local gateway = require "kip.gateway"
local helpers = require "helpers"
local json = require "kip.json"
local proc = require "kip.proc"
local tls = require "kip.tls"

local ZONE = "kipper.run"
local CLUSTER = "127-0-0-1"
local HOST = "hello-127-0-0-1.kipper.run"

local dir, upstream, up_port

local function start_upstream(name)
  local pf = dir .. "/" .. name .. ".port"
  local p = assert(proc.spawn({ "python3", "spec/helpers/gw_upstream.py", "--port-file", pf, "--lifetime", "280" },
    { stderr = dir .. "/" .. name .. ".err" }))
  local port = helpers.eventually(function()
    local t = fs.read(pf)
    return t and tonumber(t)
  end)
  assert(port, "the upstream did not start")
  return p, port
end

local function start_gateway(opts)
  opts = opts or {}
  local o = { listen = "127.0.0.1:0", zone = ZONE, allow_private = true, workers = opts.workers or 2,
    access_log = dir .. "/access.log", timeouts = opts.timeouts }
  for k, v in pairs(opts) do if k ~= "routes" then o[k] = v end end
  local gw = assert(gateway.start(o))
  assert(gw:set_routes(opts.routes or { [CLUSTER] = { ip = "127.0.0.1", port = up_port, scheme = "http" } }))
  return gw
end

-- curl through the gateway: returns status, body, num_connects and the raw stdout
local function curl(port, urls, extra)
  local argv = { "curl", "-s", "-S", "--max-time", "20", "-w", "\n%{http_code} %{num_connects}\n" }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  for _, u in ipairs(type(urls) == "table" and urls or { urls }) do
    argv[#argv + 1] = "--resolve"
    argv[#argv + 1] = (u:match("^https?://([^/:]+)") or HOST) .. ":" .. port .. ":127.0.0.1"
    argv[#argv + 1] = u
  end
  local r = assert(proc.run(argv, { timeout = 60 }))
  return r
end

local function url(port, path, host)
  return "http://" .. (host or HOST) .. ":" .. port .. path
end

local function get_json(port, path, host, extra)
  local r = curl(port, url(port, path, host), extra)
  local body, code = r.stdout:match("^(.*)\n(%d+) %d+\n$")
  return tonumber(code), body and json.decode(body), body, r
end

local function raw(port, bytes, opts)
  opts = opts or {}
  local r = assert(proc.run({ "python3", "spec/helpers/gw_client.py", "raw", tostring(port),
    "--timeout", tostring(opts.timeout or 5), "--pause", tostring(opts.pause or 1) }, { stdin = bytes, timeout = 60 }))
  return r.stdout
end

local function status_of(resp)
  return tonumber(resp:match("^HTTP/1%.1 (%d%d%d)"))
end

local function upstream_counts()
  local r = assert(proc.run({ "curl", "-s", "http://127.0.0.1:" .. up_port .. "/stats" }))
  return json.decode(r.stdout)
end

local function header(headers, name)
  local found
  for _, h in ipairs(headers) do
    if h[1]:lower() == name:lower() then
      assert(found == nil, "duplicate header " .. name)
      found = h[2]
    end
  end
  return found
end

setup(function()
  dir = helpers.tmpdir()
  upstream, up_port = start_upstream("up")
end)

teardown(function()
  if upstream then
    upstream:kill()
    upstream:wait(5)
  end
  helpers.rmtree(dir)
end)

describe("kip.gateway proxy (plain HTTP)", function()
  local gw, port
  setup(function()
    gw = start_gateway()
    port = gw:ports().listen
  end)
  teardown(function() gw:close() end)

  it("proxies with Host kept, X-Forwarded-* set and the client's ones dropped, hop-by-hop removed", function()
    local code, echo = get_json(port, "/echo?a=1", nil, {
      "-H", "X-Forwarded-For: 6.6.6.6", "-H", "X-Real-IP: 6.6.6.6", "-H", "Forwarded: for=6.6.6.6",
      "-H", "X-Forwarded-Proto: https", "-H", "Connection: X-Secret", "-H", "X-Secret: 1",
      "-H", "Keep-Alive: timeout=5", "-H", "TE: trailers", "-H", "X-Kept: yes" })
    assert.equal(200, code)
    assert.equal("GET", echo.method)
    assert.equal("/echo?a=1", echo.target)
    assert.equal("HTTP/1.1", echo.version)
    assert.equal(HOST .. ":" .. port, header(echo.headers, "Host"))
    assert.equal("127.0.0.1", header(echo.headers, "X-Forwarded-For"))
    assert.equal("127.0.0.1", header(echo.headers, "X-Real-IP"))
    assert.equal("http", header(echo.headers, "X-Forwarded-Proto"))
    assert.equal(HOST .. ":" .. port, header(echo.headers, "X-Forwarded-Host"))
    assert.equal("keep-alive", header(echo.headers, "Connection"))
    assert.is_nil(header(echo.headers, "Forwarded"))
    assert.is_nil(header(echo.headers, "X-Secret"))
    assert.is_nil(header(echo.headers, "Keep-Alive"))
    assert.is_nil(header(echo.headers, "TE"))
    assert.equal("yes", header(echo.headers, "X-Kept"))
  end)

  it("keeps the client connection alive and reuses pooled upstream connections", function()
    local before = gw:stats()
    local urls = {}
    for i = 1, 5 do urls[i] = url(port, "/echo?n=" .. i) end
    local r = curl(port, urls)
    local connects, n = 0, 0
    for code, c in r.stdout:gmatch("\n(%d+) (%d+)\n") do
      assert.equal("200", code)
      connects = connects + tonumber(c)
      n = n + 1
    end
    assert.equal(5, n)
    assert.equal(1, connects)   -- one connection for five requests
    local ids = {}
    for id in r.stdout:gmatch('"conn": (%d+)') do ids[id] = true end
    local distinct = 0
    for _ in pairs(ids) do distinct = distinct + 1 end
    assert.equal(1, distinct)   -- and one upstream connection behind it
    -- a response is counted when the worker logs it, which may be just after the client read it
    assert(helpers.eventually(function() return gw:stats().responses_2xx - before.responses_2xx >= 5 end, 10))
    local after = gw:stats()
    assert.is_true(after.upstream_reused - before.upstream_reused >= 4)
    assert.equal(5, after.requests_total - before.requests_total)
    assert.equal(5, after.responses_2xx - before.responses_2xx)
  end)

  it("drops a pooled upstream connection the upstream closed, and the next requests (with a body too) go through", function()
    local code, first = get_json(port, "/drop?s=0.2")
    assert.equal(200, code)
    -- the upstream closes that connection 0.2 s later, while it sits idle in the gateway's pool
    require("kip.server").sleep(0.6)
    local _, second = get_json(port, "/echo")
    assert.are_not.equal(first.conn, second.conn)
    local r = curl(port, url(port, "/echo"), { "--data-binary", "hello", "-H", "Content-Type: text/plain" })
    local body, status = r.stdout:match("^(.*)\n(%d+) %d+\n$")
    assert.equal("200", status, r.stdout .. r.stderr)
    assert.equal(5, json.decode(body).body_len)
  end)

  it("answers 404 for an unknown cluster and 400 for other hosts, without upstream traffic", function()
    local before = upstream_counts()
    local code, _, body = get_json(port, "/", "hello-198-51-100-7.kipper.run")
    assert.equal(404, code)
    assert.matches("No cluster", body)
    for _, host in ipairs({ "hello-127-0-0-1.other.zone", "a.hello-127-0-0-1.kipper.run", "127.0.0.1", "bad_name-1-2-3-4.kipper.run" }) do
      local resp = raw(port, "GET / HTTP/1.1\r\nHost: " .. host .. "\r\n\r\n")
      assert.equal(400, status_of(resp), host)
      assert.matches("Connection: close", resp)
    end
    assert.equal(before.requests, upstream_counts().requests)
    assert.is_true(gw:stats().refused_host >= 4)
  end)

  it("refuses smuggling attempts and oversized heads", function()
    local before_up = upstream_counts()
    local before = gw:stats()
    local h = "Host: " .. HOST .. "\r\n"
    local cases = {
      { "POST /echo HTTP/1.1\r\n" .. h .. "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
      { "POST /echo HTTP/1.1\r\n" .. h .. "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400 },
      { "POST /echo HTTP/1.1\r\n" .. h .. "Content-Length: 5, 5\r\n\r\nhello", 400 },
      { "POST /echo HTTP/1.1\r\n" .. h .. "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501 },
      { "GET /echo HTTP/1.1\r\n" .. h .. "X-Big: " .. string.rep("a", 20000) .. "\r\n\r\n", 431 },
      { "GET /" .. string.rep("a", 9000) .. " HTTP/1.1\r\n" .. h .. "\r\n", 414 },
      { "GET /echo HTTP/1.1\r\n" .. h .. "X-Fold: a\r\n b\r\n\r\n", 400 },
      { "GET /echo HTTP/1.1\nHost: " .. HOST .. "\n\n", 400 },
      { "GET /echo HTTP/1.1\r\n\r\n", 400 },
      { "GET /echo HTTP/2.0\r\n" .. h .. "\r\n", 505 },
      { "CONNECT 127.0.0.1:22 HTTP/1.1\r\n" .. h .. "\r\n", 501 },
    }
    for i, case in ipairs(cases) do
      local resp = raw(port, case[1])
      assert.equal(case[2], status_of(resp), "case " .. i .. ": " .. resp:sub(1, 80))
      assert.matches("Connection: close", resp)
    end
    assert.equal(before_up.requests, upstream_counts().requests)
    assert.is_true(gw:stats().refused_framing - before.refused_framing >= 5)
  end)

  it("refuses a bad chunk size in a streamed body with 400 and closes", function()
    local resp = raw(port, "POST /echo HTTP/1.1\r\nHost: " .. HOST .. "\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "5\r\nhello\r\nzz\r\n\r\n")
    assert.equal(400, status_of(resp))
    assert.matches("Connection: close", resp)
    local resp2 = raw(port, "POST /echo HTTP/1.1\r\nHost: " .. HOST .. "\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "5\r\nhelloXX\r\n0\r\n\r\n")
    assert.equal(400, status_of(resp2))
  end)

  it("does not let a pipelined second request ride on a body", function()
    local h = "Host: " .. HOST .. "\r\n"
    local resp = raw(port, "POST /echo HTTP/1.1\r\n" .. h .. "Content-Length: 4\r\n\r\nabcd"
      .. "GET /echo?second=1 HTTP/1.1\r\n" .. h .. "Connection: close\r\n\r\n")
    local n = 0
    for _ in resp:gmatch("HTTP/1%.1 200") do n = n + 1 end
    assert.equal(2, n)
    assert.matches('"body_len": 4', resp)
    assert.matches('"target": "/echo%?second=1"', resp)
  end)

  it("streams a large chunked upload with the exact bytes to the upstream", function()
    local r = assert(proc.run({ "python3", "spec/helpers/gw_client.py", "upload", tostring(port), HOST, "/echo",
      tostring(3 * 1024 * 1024) }, { timeout = 60 }))
    local out = json.decode(r.stdout)
    assert.matches("^HTTP/1%.1 200", out.head)
    local echo = json.decode(out.body)
    assert.equal(out.sent_len, echo.body_len)
    assert.equal(out.sent_sha256, echo.body_sha256)
  end)

  it("streams a large chunked download", function()
    local n = 5 * 1024 * 1024 + 17
    local r = curl(port, url(port, "/chunked?n=" .. n), { "-o", dir .. "/down.bin", "-D", dir .. "/down.head" })
    assert.matches("\n200 1\n$", r.stdout)
    local data = assert(fs.read(dir .. "/down.bin"))
    assert.equal(n, #data)
    local head = assert(fs.read(dir .. "/down.head"))
    assert.matches("[Tt]ransfer%-[Ee]ncoding: chunked", head)
    local sum = head:match("X%-Sha256: (%x+)")
    assert.equal(sum, tls.sha256_hex(data))
  end)

  it("passes a body until close and closes the client connection after it", function()
    local r = curl(port, url(port, "/close?n=100000"), { "-D", "-" })
    assert.matches("Connection: close", r.stdout)
    assert.matches(string.rep("x", 100000), r.stdout, 1, true)
  end)

  it("forwards Expect: 100-continue and the interim response", function()
    local r = curl(port, url(port, "/continue"), { "-H", "Expect: 100-continue", "--data-binary", string.rep("b", 5000) })
    assert.matches('"body_len": 5000', r.stdout)
    assert.matches("\n200 1\n$", r.stdout)
  end)

  it("tunnels a WebSocket after 101", function()
    local before = gw:stats().websocket_tunnels
    local r = assert(proc.run({ "python3", "spec/helpers/gw_client.py", "ws", tostring(port), HOST }, { timeout = 30 }))
    local out = json.decode(r.stdout)
    assert.equal(101, out.status, r.stdout .. r.stderr)
    assert.is_true(out.accept_ok)
    assert.same({ true, true, true }, out.echoed)
    assert.matches("[Uu]pgrade: websocket", out.head)
    assert.equal(before + 1, gw:stats().websocket_tunnels)
  end)

  it("keeps an open connection working across set_routes", function()
    local before = upstream_counts()
    -- one curl run: request, then (while the connection is idle) routes swapped by a second gateway call
    assert(gw:set_routes({ [CLUSTER] = { ip = "127.0.0.1", port = up_port, scheme = "http" },
      ["198-51-100-7"] = { ip = "198.51.100.7", port = 80, scheme = "http" } }))
    local code = get_json(port, "/echo")
    assert.equal(200, code)
    assert.equal(before.requests + 1, upstream_counts().requests)
  end)

  it("writes one JSON access log line per request, escaping what the client sent", function()
    raw(port, "GET /echo?log=1 HTTP/1.1\r\nHost: " .. HOST .. "\r\nConnection: close\r\n\r\n")
    raw(port, "GET /echo?log=2 HTTP/1.1\r\nHost: a\"b\\c\xff.kipper.run\r\nConnection: close\r\n\r\n")
    local log = assert(fs.read(dir .. "/access.log"))
    local last, weird
    for line in log:gmatch("[^\n]+") do
      local e = assert(json.decode(line), line)
      if e.path == "/echo?log=1" then last = e end
      if e.path == "/echo?log=2" then weird = e end
    end
    assert.is_table(last)
    assert.equal("GET", last.method)
    assert.equal(200, last.status)
    assert.equal(HOST, last.host)
    assert.equal("127.0.0.1", last.client)
    assert.equal(CLUSTER, last.cluster)
    assert.equal("127.0.0.1:" .. up_port, last.upstream)
    assert.is_true(last.bytes_in > 0 and last.bytes_out > 0)
    if weird then
      assert.equal(400, weird.status)
      assert.equal("a\"b\\c\u{ff}.kipper.run", weird.host)
    end
    assert.is_number(last.duration_ms)
  end)
end)

describe("kip.gateway proxy refusals and timeouts", function()
  it("refuses private upstreams unless allow_private", function()
    local gw = start_gateway({ allow_private = false })
    local port = gw:ports().listen
    local before = upstream_counts()
    local code = get_json(port, "/echo")
    assert.equal(502, code)
    assert.equal(1, gw:stats().refused_private)
    assert.equal(before.requests, upstream_counts().requests)
    gw:close()
  end)

  it("answers 502 when the upstream is down and 504 when it is slow", function()
    -- a port nothing listens on: bind one and close it
    local gw = start_gateway({ timeouts = { upstream = 1, connect = 2 }, routes = {
      [CLUSTER] = { ip = "127.0.0.1", port = up_port, scheme = "http" },
      ["127-0-0-2"] = { ip = "127.0.0.1", port = 1, scheme = "http" } } })
    local port = gw:ports().listen
    local code = get_json(port, "/echo", "hello-127-0-0-2.kipper.run")
    assert.equal(502, code)
    code = get_json(port, "/slow?s=3")
    assert.equal(504, code)
    -- counted when the worker logs the response, which may be just after the client read it
    assert(helpers.eventually(function() return gw:stats().responses_5xx >= 2 end, 10), gw:stats().responses_5xx)
    local s = gw:stats()
    assert.is_true(s.upstream_errors >= 1)
    assert.is_true(s.upstream_timeouts >= 1)
    gw:close()
  end)

  it("answers 408 to a head that arrives too slowly", function()
    local gw = start_gateway({ timeouts = { header = 1 } })
    local port = gw:ports().listen
    local resp = raw(port, "GET /echo HTTP/1.1\r\nHost: " .. HOST .. "\r\n\n--PAUSE--\n", { pause = 3, timeout = 6 })
    assert.equal(408, status_of(resp))
    gw:close()
  end)

  it("closes an idle keep-alive connection silently", function()
    local gw = start_gateway({ timeouts = { idle = 1 } })
    local port = gw:ports().listen
    local resp = raw(port, "GET /echo HTTP/1.1\r\nHost: " .. HOST .. "\r\n\r\n", { timeout = 5 })
    local n = 0
    for _ in resp:gmatch("HTTP/1%.1 ") do n = n + 1 end
    assert.equal(1, n)   -- the response, then a close without another answer (before the 5 s read timeout)
    assert.equal(0, gw:stats().connections_active)
    gw:close()
  end)

  it("drain lets a slow request in flight finish, with Connection: close", function()
    local gw = start_gateway()
    local port = gw:ports().listen
    local out = dir .. "/drain.out"
    local p = assert(proc.spawn({ "curl", "-s", "-D", "-", "--resolve", HOST .. ":" .. port .. ":127.0.0.1",
      url(port, "/slow?s=2") }, { stdout = out }))
    assert(helpers.eventually(function() return gw:stats().connections_active == 1 end))
    helpers.eventually(function() return upstream_counts().requests > 0 end)
    assert.is_true(gw:drain(10))
    p:wait(10)
    local resp = assert(fs.read(out))
    assert.matches("^HTTP/1%.1 200", resp)
    assert.matches("Connection: close", resp)
    assert.matches('"slept"', resp)
    -- no more listening
    local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url(port, "/echo", "127.0.0.1") })
    assert.equal("000", r.stdout)
    gw:close()
  end)

  it("drain cuts what does not finish in time and says so", function()
    local gw = start_gateway()
    local port = gw:ports().listen
    local p = assert(proc.spawn({ "curl", "-s", "--resolve", HOST .. ":" .. port .. ":127.0.0.1", url(port, "/slow?s=5") }))
    assert(helpers.eventually(function() return gw:stats().connections_active == 1 end))
    assert.is_false(gw:drain(0.5))
    p:wait(10)
    gw:close()
  end)
end)

describe("kip.gateway binding", function()
  it("parses hosts and tests addresses", function()
    local h = assert(gateway.parse_host("Console-203-0-113-10.kipper.run", ZONE))
    assert.same({ cluster = "203-0-113-10", ip = "203.0.113.10", app = "console" }, h)
    local none, why = gateway.parse_host("x.other", ZONE)
    assert.is_nil(none)
    assert.is_string(why)
    assert.is_true(gateway.is_public_ip("203.0.113.10"))
    assert.is_false(gateway.is_public_ip("10.1.2.3"))
    local bad, msg = gateway.is_public_ip("junk")
    assert.is_nil(bad)
    assert.equal("not an IPv4 address", msg)
  end)

  it("refuses bad options and a closed handle", function()
    local gw = start_gateway()
    assert.has_error(function() gateway.start({ listen = "nonsense", zone = ZONE }) end)
    assert.has_error(function() gateway.start({ tls_listen = "127.0.0.1:0", zone = ZONE }) end)
    assert.has_error(function() gw:set_routes({ [CLUSTER] = { ip = "not-an-ip" } }) end)
    assert.has_error(function() gw:set_routes({ [CLUSTER] = { ip = "1.2.3.4", pin = "abc" } }) end)
    gw:close()
    assert.has_error(function() gw:stats() end)
    gw:close()   -- idempotent
  end)
end)

-- --- TLS --------------------------------------------------------------------------------------------

-- A self-signed certificate for sans, written as dir/name.crt and dir/name.key; returns the pin.
local function make_cert(name, sans)
  local key = assert(tls.generate_key("ecdsa-p256"))
  local cert = assert(tls.create_certificate({ subject = { CN = sans[1] }, sans = sans, key = key, usage = "server" }))
  assert(fs.write(dir .. "/" .. name .. ".crt", cert:pem()))
  assert(fs.write(dir .. "/" .. name .. ".key", key:private_pem(), { mode = tonumber("600", 8) }))
  local der = tls.base64_decode((key:public_pem():gsub("%-%-%-%-%-[^\n]*%-%-%-%-%-", ""):gsub("%s", "")))
  return tls.sha256_hex(der), { cert = dir .. "/" .. name .. ".crt", key = dir .. "/" .. name .. ".key" }
end

local function s_client(port, args, stdin)
  local argv = { "openssl", "s_client", "-connect", "127.0.0.1:" .. port }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return assert(proc.run(argv, { stdin = stdin or "", timeout = 30 }))
end

describe("kip.gateway proxy (TLS)", function()
  local gw, port, wild, special, special_host
  setup(function()
    local _
    _, wild = make_cert("wild", { "*.kipper.run", "kipper.run" })
    _, special = make_cert("special", { "special-127-0-0-1.kipper.run" })
    special_host = "special-127-0-0-1.kipper.run"
    gw = start_gateway({ tls_listen = "127.0.0.1:0", certs = { wild, special } })
    port = gw:ports().tls_listen
  end)
  teardown(function() gw:close() end)

  it("terminates TLS for curl with X-Forwarded-Proto https", function()
    local r = curl(port, "https://" .. HOST .. ":" .. port .. "/echo", { "-k" })
    local body, code = r.stdout:match("^(.*)\n(%d+) %d+\n$")
    assert.equal("200", code, r.stderr)
    local echo = json.decode(body)
    assert.equal("https", header(echo.headers, "X-Forwarded-Proto"))
    assert.equal(HOST .. ":" .. port, header(echo.headers, "Host"))
  end)

  it("picks the certificate by SNI and offers ALPN http/1.1", function()
    local r = s_client(port, { "-servername", special_host, "-alpn", "h2,http/1.1" })
    assert.matches("subject=CN ?= ?special%-127%-0%-0%-1%.kipper%.run", r.stdout)
    assert.matches("ALPN protocol: http/1.1", r.stdout)
    r = s_client(port, { "-servername", HOST })
    assert.matches("subject=CN ?= ?%*%.kipper%.run", r.stdout)
  end)

  it("refuses TLS 1.1", function()
    local r = s_client(port, { "-servername", HOST, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0" })
    assert.is_false(r.ok)
    assert.matches("Cipher is %(NONE%)", r.stdout)
    assert.matches("no peer certificate available", r.stdout)
  end)

  it("resumes sessions", function()
    local sess = dir .. "/sess.pem"
    local req = "GET /echo HTTP/1.1\r\nHost: " .. HOST .. "\r\nConnection: close\r\n\r\n"
    local before = gw:stats()
    local r1 = s_client(port, { "-servername", HOST, "-sess_out", sess, "-ign_eof" }, req)
    assert.matches("HTTP/1.1 200", r1.stdout)
    local r2 = s_client(port, { "-servername", HOST, "-sess_in", sess, "-ign_eof" }, req)
    assert.matches("Reused, TLSv1", r2.stdout)
    assert.matches("HTTP/1.1 200", r2.stdout)
    local after = gw:stats()
    assert.is_true(after.tls_handshakes - before.tls_handshakes >= 2)
    assert.is_true(after.tls_resumed - before.tls_resumed >= 1)
  end)

  it("keeps an open TLS connection working across set_certs; new handshakes get the new set", function()
    local out = dir .. "/certswap.out"
    local req = "GET /echo?swap=1 HTTP/1.1\r\nHost: " .. HOST .. "\r\n\r\n"
    local req2 = "GET /echo?swap=2 HTTP/1.1\r\nHost: " .. HOST .. "\r\nConnection: close\r\n\r\n"
    fs.write(dir .. "/certswap.in", req .. "\n--PAUSE--\n" .. req2)
    local before = gw:stats().requests_total
    local p = assert(proc.spawn({ "sh", "-c", "python3 spec/helpers/gw_client.py raw " .. port .. " --tls " .. HOST
      .. " --pause 2 --timeout 8 < " .. dir .. "/certswap.in" }, { stdout = out }))
    assert(helpers.eventually(function() return gw:stats().requests_total > before end))
    assert(gw:set_certs({ special }))
    p:wait(20)
    local resp = assert(fs.read(out))
    assert.matches("swap=1", resp)
    assert.matches("swap=2", resp)
    local r = s_client(port, { "-servername", HOST })
    assert.matches("subject=CN ?= ?special%-127%-0%-0%-1%.kipper%.run", r.stdout)   -- the only pair now
    local ok, err = gw:set_certs({ { cert = dir .. "/missing.crt", key = dir .. "/missing.key" } })
    assert.is_nil(ok)
    assert.is_string(err)
    assert(gw:set_certs({ wild, special }))
  end)
end)

describe("kip.gateway proxy (TLS upstream)", function()
  local tls_up, tls_port, pin
  setup(function()
    local pair
    pin, pair = make_cert("upstream", { "127-0-0-1.kipper.run" })
    local pf = dir .. "/tlsup.port"
    tls_up = assert(proc.spawn({ "python3", "spec/helpers/gw_upstream.py", "--port-file", pf, "--lifetime", "200",
      "--tls-cert", pair.cert, "--tls-key", pair.key }, { stderr = dir .. "/tlsup.err" }))
    tls_port = helpers.eventually(function()
      local t = fs.read(pf)
      return t and tonumber(t)
    end)
    assert(tls_port)
  end)
  teardown(function()
    tls_up:kill()
    tls_up:wait(5)
  end)

  it("connects with SNI <cluster>.<zone>, checks the pin and pools the connection", function()
    local gw = start_gateway({ routes = { [CLUSTER] = { ip = "127.0.0.1", port = tls_port, scheme = "https", pin = pin } } })
    local port = gw:ports().listen
    local r = curl(port, { url(port, "/echo"), url(port, "/echo") })
    local n = 0
    for body in r.stdout:gmatch("({.-})\n200 %d\n") do
      local echo = json.decode(body)
      assert.equal("127-0-0-1.kipper.run", echo.sni)
      assert.equal(HOST .. ":" .. port, header(echo.headers, "Host"))
      n = n + 1
    end
    assert.equal(2, n, r.stdout)
    local s = gw:stats()
    assert.equal(1, s.upstream_connects)
    assert.equal(1, s.upstream_reused)
    gw:close()
  end)

  it("refuses an upstream whose key does not match the pin", function()
    local gw = start_gateway({ routes = { [CLUSTER] = { ip = "127.0.0.1", port = tls_port, scheme = "https",
      pin = string.rep("ab", 32) } } })
    local port = gw:ports().listen
    local code = get_json(port, "/echo")
    assert.equal(502, code)
    assert.equal(1, gw:stats().refused_pin)
    gw:close()
  end)
end)
