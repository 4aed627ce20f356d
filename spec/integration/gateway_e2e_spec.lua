-- SPDX-License-Identifier: Apache-2.0
-- kipper-gateway end to end: the real program with both proxy listeners, two workers, a wildcard
-- and a per-name certificate from a test CA, and --allow-private-upstreams. A cluster on
-- 127.0.0.N:443 (openssl s_server -www) registers itself through the API with kip.domain's client
-- and proves with its key; curl reaches it over https and http through the gateway; a new key on
-- 443 is refused by the pin; SIGHUP swaps the certificate files under an open connection (and keeps
-- them when a file is bad); access log lines; many connections over both workers; SIGTERM drains a
-- slow request and exits 0. A keep-alive upstream (spec/helpers/gw_upstream.py), registered by the
-- operator, serves the requests that need one. Needs root for port 443. Uses helpers.gateway,
-- kip.domain, kip.http, kip.tls, kip.proc, kip.fs.
local domain_api = require "kip.domain.api"
local domain_register = require "kip.domain.register"
local domain_store = require "kip.domain.store"
local fs = require "kip.fs"
local gateway = require "helpers.gateway"
local helpers = require "helpers"
local http = require "kip.http"
local json = require "kip.json"
local metrics = require "kip.reconcile.metrics"
local proc = require "kip.proc"
local tls = require "kip.tls"

if not (proc.run({ "id", "-u" }) or { stdout = "" }).stdout:match("^0%s") then
  describe("kipper-gateway end to end", function() pending("needs root (the cluster listens on port 443)") end)
  return
end

local ADMIN = "spec-admin-token-" .. tls.random_token(16)
local KEEPALIVE_HOST = "hello-127-0-0-1.kipper.run" -- the operator's cluster 127-0-0-1: gw_upstream.py

describe("kipper-gateway end to end", function()
  local dir, g, ca, ca_key, wild, api_cert, upstream, up_port, ip, cluster, server, reg

  -- A certificate for sans signed by the test CA, written to dir/name.crt (with the CA after it, as
  -- a full chain) and dir/name.key.
  local function issue(name, sans)
    local key = tls.generate_key("ecdsa-p256")
    local cert = assert(tls.create_certificate({ subject = { CN = sans[1] }, sans = sans, key = key,
      issuer = { cert = ca, key = ca_key }, usage = "server", days = 2 }))
    assert(fs.write(dir .. "/" .. name .. ".crt", cert:pem() .. ca:pem()))
    assert(fs.write(dir .. "/" .. name .. ".key", key:private_pem(), { mode = "0600" }))
    return cert
  end

  -- The cluster's own certificate (self-signed, as kip install makes it) on ip:443.
  local function serve_cluster(name)
    if server then server.stop() end
    local key = tls.generate_key("ecdsa-p256")
    local cert = assert(tls.create_certificate({ key = key, subject = { CN = cluster .. ".kipper.run" },
      sans = { cluster .. ".kipper.run" }, days = 2 }))
    assert(fs.write(dir .. "/" .. name .. ".crt", cert:pem()))
    assert(fs.write(dir .. "/" .. name .. ".key", key:private_pem(), { mode = "0600" }))
    server = gateway.s_server({ ip = ip, cert = dir .. "/" .. name .. ".crt", key = dir .. "/" .. name .. ".key",
      log = dir .. "/" .. name .. ".log" })
    return key
  end

  -- curl through the gateway (names resolved to 127.0.0.1, https checked against the test CA):
  -- status, body, the curl result
  local function curl(url, extra)
    local host, port = url:match("^https?://([^/:]+):(%d+)")
    local argv = { "curl", "-sS", "--max-time", "20", "--resolve", host .. ":" .. port .. ":127.0.0.1",
      "--cacert", dir .. "/ca.crt", "-w", "\n%{http_code}" }
    for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
    argv[#argv + 1] = url
    local r = assert(proc.run(argv, { timeout = 30 }))
    local body, code = r.stdout:match("^(.*)\n(%d+)$")
    return tonumber(code), body, r
  end

  local function https(host, path) return string.format("https://%s:%d%s", host, g.tls_listen, path or "/") end
  local function plain(host, path) return string.format("http://%s:%d%s", host, g.listen, path or "/") end

  local function get_metrics()
    local c <close> = http.client({})
    local r = assert(c:request({ url = g:url("/metrics") }))
    assert.equal(200, r.status)
    return metrics.parse(r.body)
  end

  local function upstream_requests()
    local r = assert(proc.run({ "curl", "-s", "http://127.0.0.1:" .. up_port .. "/stats" }))
    return json.decode(r.stdout).requests
  end

  -- The serial of the certificate the TLS listener serves for sni (openssl s_client), and what
  -- s_client printed.
  local function served_serial(sni)
    local r = assert(proc.run({ "openssl", "s_client", "-connect", "127.0.0.1:" .. g.tls_listen, "-servername", sni },
      { stdin = "", timeout = 20 }))
    local cert = tls.load_certificate(r.stdout)
    return cert and cert:serial(), r.stdout
  end

  -- The serials served for sni over n connections, which the kernel spreads over both workers'
  -- listening sockets: one serial (a string) when they all agree, else a list.
  local function serials_over(sni, n)
    local seen, list = {}, {}
    for _ = 1, n do
      local serial = served_serial(sni) or "none"
      if not seen[serial] then
        seen[serial] = true
        list[#list + 1] = serial
      end
    end
    return #list == 1 and list[1] or list
  end

  -- Sends SIGHUP and waits for the log line that answers it.
  local function hup(expect)
    local n = g:count(expect)
    g.p:kill("HUP")
    assert(helpers.eventually(function() return g:count(expect) > n end, 10), g:output())
  end

  setup(function()
    dir = helpers.tmpdir()
    assert(fs.write(dir .. "/admin-token", ADMIN .. "\n", { mode = "0600" }))
    ca_key = tls.generate_key("ecdsa-p256")
    ca = assert(tls.create_certificate({ subject = { CN = "kip spec gateway CA" }, key = ca_key, ca = true, days = 2 }))
    assert(fs.write(dir .. "/ca.crt", ca:pem()))
    wild = issue("wild", { "*.kipper.run", "kipper.run" })
    api_cert = issue("api", { "api.kipper.run" })
    local pf = dir .. "/up.port"
    upstream = assert(proc.spawn({ "python3", "spec/helpers/gw_upstream.py", "--port-file", pf, "--lifetime", "280" },
      { stderr = dir .. "/up.err" }))
    up_port = helpers.eventually(function() return tonumber(fs.read(pf) or "") end)
    assert(up_port, "the upstream did not start: " .. tostring(fs.read(dir .. "/up.err")))
    g = gateway.start(dir, { "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0",
      "--cert", dir .. "/wild.crt", "--key", dir .. "/wild.key", "--cert", dir .. "/api.crt", "--key", dir .. "/api.key",
      "--workers", "2", "--allow-private-upstreams", "--access-log", dir .. "/access.log",
      "--api-burst", "100" }) -- the cluster proves twice within seconds (the rate limit is gateway_api_spec's)
    assert(g.listen and g.tls_listen, g:output())
    local admin = assert(domain_api.new({ url = g:url() }))
    assert(admin:call("POST", "/v1/clusters", { token = ADMIN,
      body = { cluster = "127-0-0-1", ip = "127.0.0.1", port = up_port, scheme = "http" } }))
    admin:close()
    ip = gateway.loopback()
    cluster = ip:gsub("%.", "-")
  end)

  teardown(function()
    if g then g:stop() end
    if server then server.stop() end
    if upstream then
      upstream:kill()
      upstream:wait(5)
    end
    if dir then helpers.rmtree(dir) end
  end)

  it("serves the wildcard certificate, and the per-name one by SNI, both checked against the test CA", function()
    local serial, text = served_serial(KEEPALIVE_HOST)
    assert.equal(wild:serial(), serial)
    assert.matches("1 s: ?CN ?= ?kip spec gateway CA", text) -- the chain in the file is sent
    assert.equal(api_cert:serial(), (served_serial("api.kipper.run")))
    -- curl checks the chain and the name: api.kipper.run is no cluster name, so the proxy answers 400
    local code, _, r = curl(https("api.kipper.run"))
    assert.equal(400, code, r.stderr)
    code, _, r = curl(https(KEEPALIVE_HOST, "/echo"))
    assert.equal(200, code, r.stderr)
  end)

  it("a cluster registers itself from its address, proves with its key, and is reached over https and http", function()
    local key = serve_cluster("cluster")
    -- kip's own client, its requests sent from the cluster's address as the gateway demands
    local api = assert(domain_api.new({ url = g:url(), local_address = ip }))
    local err
    reg, err = domain_register.register({ api = api, cluster = cluster, ip = ip, key = key })
    api:close()
    assert.is_table(reg, tostring(err) .. "\n" .. g:output())
    assert.equal("active", reg.state)
    assert.equal(domain_store.pin(key), reg.pin)
    assert.is_true(reg.new_token)
    local saved = json.decode(assert(fs.read(dir .. "/registry.json"))).clusters[cluster]
    assert.equal("active", saved.state)
    assert.equal(tls.sha256_hex(reg.token), saved.token_sha256)
    -- routed: s_server's status page through the TLS listener (verified by curl) and the plain one
    local host = "app-" .. cluster .. ".kipper.run"
    local code, body, r
    assert(helpers.eventually(function()
      code, body, r = curl(https(host))
      return code == 200
    end, 10), tostring(code) .. " " .. r.stderr .. "\n" .. g:output())
    assert.matches("Ciphers supported in s_server binary", body, 1, true)
    code, body = curl(plain(host))
    assert.equal(200, code)
    assert.matches("Ciphers supported in s_server binary", body, 1, true)
  end)

  it("refuses the cluster once it serves another key (502), counts it in /metrics, and routes again once it is proved", function()
    local host = "app-" .. cluster .. ".kipper.run"
    assert.equal(200, (curl(https(host))))
    local before = get_metrics().kipper_gateway_refused_pin_total
    assert.is_number(before)
    serve_cluster("other-key")
    local code, body = curl(https(host))
    assert.equal(502, code)
    assert.matches("<html", body:lower(), 1, true)
    assert.equal(502, (curl(plain(host))))
    assert.equal(before + 2, get_metrics().kipper_gateway_refused_pin_total)
    -- the owner proves the new key with its token: the gateway pins it and routes again
    local key = tls.load_key(assert(fs.read(dir .. "/other-key.key")))
    local api = assert(domain_api.new({ url = g:url(), local_address = ip }))
    local again, err = domain_register.register({ api = api, cluster = cluster, ip = ip, key = key, token = reg.token })
    api:close()
    assert.is_table(again, tostring(err) .. "\n" .. g:output())
    assert.is_false(again.new_token)
    assert.equal(domain_store.pin(key), again.pin)
    assert.are_not.equal(reg.pin, again.pin)
    assert(helpers.eventually(function() return curl(https(host)) == 200 end, 10), g:output())
    assert.equal(before + 2, get_metrics().kipper_gateway_refused_pin_total)
  end)

  it("reloads the certificate files on SIGHUP under an open TLS connection, and keeps them when a file is bad", function()
    local out, go = dir .. "/hup.out", dir .. "/hup.go"
    assert(fs.write(dir .. "/hup.in", "GET /echo?hup=1 HTTP/1.1\r\nHost: " .. KEEPALIVE_HOST .. "\r\n\r\n"
      .. "\n--PAUSE--\n" .. "GET /echo?hup=2 HTTP/1.1\r\nHost: " .. KEEPALIVE_HOST .. "\r\nConnection: close\r\n\r\n"))
    local before = upstream_requests()
    local client = assert(proc.spawn({ "sh", "-c", string.format(
      "exec python3 spec/helpers/gw_client.py raw %d --tls %s --wait-file %s --timeout 20 < %s",
      g.tls_listen, KEEPALIVE_HOST, go, dir .. "/hup.in") }, { stdout = out }))
    -- the first request went through the connection opened with the old certificate
    assert(helpers.eventually(function() return upstream_requests() > before end), "the first request did not arrive")
    local new = issue("wild", { "*.kipper.run", "kipper.run" })
    hup("certificates reloaded")
    assert(fs.write(go, ""))
    assert.is_true(client:wait(30).ok)
    local resp = assert(fs.read(out))
    local n = 0
    for _ in resp:gmatch("HTTP/1%.1 200") do n = n + 1 end
    assert.equal(2, n, resp)
    assert.matches("hup=1", resp, 1, true)
    assert.matches("hup=2", resp, 1, true)
    -- new connections get the new wildcard certificate; SNI still picks the per-name one
    assert.are_not.equal(wild:serial(), new:serial())
    assert.equal(new:serial(), serials_over(KEEPALIVE_HOST, 8)) -- both workers took them
    assert.equal(api_cert:serial(), serials_over("api.kipper.run", 4))
    assert.equal(200, (curl(https(KEEPALIVE_HOST, "/echo"))))
    -- a bad file: the error is logged and the set loaded last stays
    local good = assert(fs.read(dir .. "/wild.crt"))
    assert(fs.write(dir .. "/wild.crt", "not a certificate\n"))
    hup("the certificates were not reloaded; the old ones stay")
    assert.matches("the certificates were not reloaded; the old ones stay error=[^\n]*wild%.crt", g:output())
    assert.equal(new:serial(), serials_over(KEEPALIVE_HOST, 8))
    assert.equal(200, (curl(https(KEEPALIVE_HOST, "/echo"))))
    assert(fs.write(dir .. "/wild.crt", good))
    hup("certificates reloaded")
    wild = new
  end)

  it("writes a JSON access log line with every documented field for each proxied request", function()
    assert.equal(200, (curl(https(KEEPALIVE_HOST, "/echo?log=e2e"), { "-H", "User-Agent: e2e" })))
    assert.equal(404, (curl(plain("app-198-51-100-7.kipper.run", "/?log=unknown"))))
    local lines = {}
    assert(helpers.eventually(function()
      lines = {}
      for line in (fs.read(dir .. "/access.log") or ""):gmatch("[^\n]+") do
        local path = line:match('"path":"([^"]*)"')
        if path == "/echo?log=e2e" or path == "/?log=unknown" then lines[path] = line end
      end
      return lines["/echo?log=e2e"] and lines["/?log=unknown"]
    end))
    local fields = { "time", "client", "host", "method", "path", "status", "bytes_in", "bytes_out", "duration_ms",
      "cluster", "upstream" }
    for _, line in pairs(lines) do
      for _, f in ipairs(fields) do assert.matches('"' .. f .. '":', line, 1, true) end
    end
    local e = assert(json.decode(lines["/echo?log=e2e"]))
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", e.time)
    assert.equal("127.0.0.1", e.client)
    assert.equal(KEEPALIVE_HOST .. ":" .. g.tls_listen, e.host)
    assert.equal("GET", e.method)
    assert.equal(200, e.status)
    assert.equal("127-0-0-1", e.cluster)
    assert.equal("127.0.0.1:" .. up_port, e.upstream)
    assert.is_true(e.bytes_in > 0 and e.bytes_out > 0)
    assert.is_true(math.type(e.duration_ms) == "integer" and e.duration_ms >= 0)
    local unknown = assert(json.decode(lines["/?log=unknown"]))
    assert.equal(404, unknown.status)
    assert.equal("", unknown.cluster) -- not routed
    assert.matches('"upstream":null', lines["/?log=unknown"], 1, true)
  end)

  it("serves many connections with two workers, each with its own listening socket", function()
    for _, port in ipairs({ g.listen, g.tls_listen }) do
      local r = assert(proc.run({ "ss", "-Hltn", "sport = :" .. port }))
      local n = 0
      for _ in r.stdout:gmatch("LISTEN") do n = n + 1 end
      assert.equal(2, n, r.stdout)
    end
    local before = get_metrics().kipper_gateway_connections_total
    -- 160 requests, each on its own connection (Connection: close), half over TLS, 16 at a time
    local argv = { "curl", "-sS", "--max-time", "30", "-Z", "--parallel-max", "16", "-H", "Connection: close",
      "--cacert", dir .. "/ca.crt", "-w", "%{http_code} %{num_connects}\n",
      "--resolve", KEEPALIVE_HOST .. ":" .. g.listen .. ":127.0.0.1", "--resolve", KEEPALIVE_HOST .. ":" .. g.tls_listen .. ":127.0.0.1" }
    for i = 1, 80 do
      for _, u in ipairs({ plain(KEEPALIVE_HOST, "/echo?many=" .. i), https(KEEPALIVE_HOST, "/echo?many=" .. i) }) do
        argv[#argv + 1] = "-o"
        argv[#argv + 1] = "/dev/null"
        argv[#argv + 1] = u
      end
    end
    local r = assert(proc.run(argv, { timeout = 60 }))
    assert.equal(0, r.status, r.stderr)
    local ok, connects = 0, 0
    for code, c in r.stdout:gmatch("(%d+) (%d+)\n") do
      if code == "200" then ok = ok + 1 end
      connects = connects + tonumber(c)
    end
    assert.equal(160, ok, r.stdout)
    assert.equal(160, connects)
    assert.is_true(get_metrics().kipper_gateway_connections_total - before >= 160)
    -- the workers' access log lines never mix: every line is one JSON object
    local logged
    helpers.eventually(function()
      logged = 0
      for line in assert(fs.read(dir .. "/access.log")):gmatch("[^\n]*\n") do
        local e = json.decode(line)
        assert.is_table(e, line)
        if e.path:match("^/echo%?many=") and e.status == 200 then logged = logged + 1 end
      end
      return logged == 160
    end, 5)
    assert.equal(160, logged)
  end)

  it("drains on SIGTERM: slow requests in flight (http and https) complete, new connections are refused, exit status 0", function()
    local before = upstream_requests()
    local slow = {}
    for i, url in ipairs({ plain(KEEPALIVE_HOST, "/slow?s=5"), https(KEEPALIVE_HOST, "/slow?s=5") }) do
      slow[i] = { out = dir .. "/slow-" .. i .. ".out" }
      slow[i].p = assert(proc.spawn({ "curl", "-sS", "-D", "-", "--max-time", "30", "--cacert", dir .. "/ca.crt",
        "--resolve", KEEPALIVE_HOST .. ":" .. g.listen .. ":127.0.0.1", "--resolve", KEEPALIVE_HOST .. ":" .. g.tls_listen .. ":127.0.0.1",
        url }, { stdout = slow[i].out }))
    end
    assert(helpers.eventually(function() return upstream_requests() >= before + 2 end), "the slow requests did not arrive")
    g.p:kill("TERM")
    -- the listeners close while the requests are still in flight
    local function connect(url, port)
      return assert(proc.run({ "curl", "-s", "-o", "/dev/null", "--max-time", "2", "--cacert", dir .. "/ca.crt",
        "--resolve", KEEPALIVE_HOST .. ":" .. port .. ":127.0.0.1", url })).status
    end
    local refused = helpers.eventually(function()
      return connect(plain(KEEPALIVE_HOST, "/echo"), g.listen) == 7 and slow[1].p:alive() and slow[2].p:alive()
    end, 4)
    assert.is_true(refused == true, "new connections were not refused while the slow requests ran")
    assert.equal(7, connect(https(KEEPALIVE_HOST, "/echo"), g.tls_listen)) -- curl: could not connect
    for _, s in ipairs(slow) do
      assert.is_true(s.p:wait(30).ok)
      local resp = assert(fs.read(s.out))
      assert.matches("^HTTP/1%.1 200", resp)
      assert.matches("[Cc]onnection: close", resp)
      assert.matches('"slept"', resp, 1, true)
    end
    local result = assert(g.p:wait(20), "kipper-gateway did not exit after the drain")
    g.result = result
    assert.equal(0, result.status, g:output())
    assert.matches("stopping signal=SIGTERM", g:output(), 1, true)
    assert.is_nil(g:output():find("drain timed out", 1, true))
  end)
end)
