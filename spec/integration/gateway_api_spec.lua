-- SPDX-License-Identifier: Apache-2.0
-- The real kipper-gateway (bin/kipper-gateway beside the kip under test) and its registration API,
-- driven with curl (from chosen loopback source addresses) and kip.http: operator registrations,
-- the self-registration refusals, rate limits, the challenge end to end against openssl s_server
-- serving a self-signed certificate on 127.0.0.N:443, restarts, kill -9 right after an
-- acknowledged registration, SIGHUP reloading an edited registry file, heartbeats reviving a held
-- name, and the start-up checks. Needs root for port 443. Uses helpers.gateway, kip.proc, kip.fs,
-- kip.http, kip.tls.
local fs = require "kip.fs"
local gateway = require "helpers.gateway"
local helpers = require "helpers"
local http = require "kip.http"
local json = require "kip.json"
local proc = require "kip.proc"
local tls = require "kip.tls"

local ADMIN = "spec-admin-token-" .. tls.random_token(16)

local loopback, start = gateway.loopback, gateway.start

-- curl: status, decoded JSON body (or the text), headers (lower-case names)
local function curl(method, url, opts)
  opts = opts or {}
  local argv = { "curl", "-s", "-S", "-i", "-X", method, "-H", "Expect:", "--max-time", "20" }
  if opts.from then argv[#argv + 1] = "--interface"; argv[#argv + 1] = opts.from end
  if opts.cacert then argv[#argv + 1] = "--cacert"; argv[#argv + 1] = opts.cacert end
  if opts.token then argv[#argv + 1] = "-H"; argv[#argv + 1] = "Authorization: Bearer " .. opts.token end
  if opts.host then argv[#argv + 1] = "-H"; argv[#argv + 1] = "Host: " .. opts.host end
  local body = opts.body
  if type(body) == "table" then body = assert(json.encode(body)) end
  if body then
    argv[#argv + 1] = "-H"; argv[#argv + 1] = "Content-Type: application/json"
    argv[#argv + 1] = "--data-binary"; argv[#argv + 1] = "@-"
  end
  argv[#argv + 1] = url
  local r = assert(proc.run(argv, { stdin = body, timeout = 30 }))
  assert(r.status == 0, "curl failed: " .. r.stderr)
  local head, rest = r.stdout:match("^(.-)\r\n\r\n(.*)$")
  local status = tonumber(head:match("^HTTP/%S+ (%d+)"))
  local headers = {}
  for name, value in head:gmatch("\r\n([^:\r\n]+):%s*([^\r\n]*)") do headers[name:lower()] = value end
  return status, json.decode(rest) or rest, headers
end

local function admin(method, g, path, body)
  return curl(method, g:url(path), { token = ADMIN, body = body })
end

describe("kipper-gateway's API", function()
  local dir, g

  setup(function()
    dir = helpers.tmpdir()
    assert(fs.write(dir .. "/admin-token", ADMIN .. "\n", { mode = "0600" }))
    g = start(dir, { "--allow-private-upstreams" })
  end)

  teardown(function()
    if g then g:stop() end
    if dir then helpers.rmtree(dir) end
  end)

  it("registers, reads, lists and deletes clusters for the operator, saving the registry file", function()
    local status, body = admin("POST", g, "/v1/clusters", { cluster = "127-0-0-1", ip = "127.0.0.1", port = 8080, scheme = "http" })
    assert.equal(201, status, json.encode(body))
    assert.equal("active", body.state)
    assert.equal("admin", body.owner)
    local saved = json.decode(assert(fs.read(dir .. "/registry.json")))
    assert.equal(8080, saved.clusters["127-0-0-1"].port)
    assert.equal(tonumber("600", 8), fs.stat(dir .. "/registry.json").mode)
    local c <close> = http.client({ token = ADMIN })
    local r = assert(c:request({ url = g:url("/v1/clusters/127-0-0-1") }))
    assert.equal(200, r.status)
    assert.equal("http", json.decode(r.body).scheme)
    r = assert(c:request({ url = g:url("/v1/clusters") }))
    assert.equal("127-0-0-1", json.decode(r.body).clusters[1].cluster)
    r = assert(c:request({ url = g:url("/v1/clusters/127-0-0-1"), method = "DELETE" }))
    assert.equal(204, r.status)
    r = assert(c:request({ url = g:url("/v1/clusters/127-0-0-1") }))
    assert.equal(404, r.status)
    assert.equal("application/json", r.headers["content-type"])
    assert.is_string(json.decode(r.body).error)
  end)

  it("refuses a foreign name, a body over 4 KiB, bad JSON and a missing token", function()
    local from = loopback()
    local other = loopback()
    local status, body = curl("POST", g:url("/v1/clusters"), { from = from, body = { cluster = other:gsub("%.", "-"), ip = other } })
    assert.equal(403, status)
    assert.equal("the request comes from " .. from .. ", not from " .. other, body.error)
    status, body = curl("POST", g:url("/v1/clusters"), { from = from, body = { cluster = other:gsub("%.", "-"), ip = from } })
    assert.equal(403, status)
    assert.matches("is not the name of", body.error)
    status, body = curl("POST", g:url("/v1/clusters"), { from = from, body = '{"cluster":"' .. string.rep("x", 5000) .. '"}' })
    assert.equal(413, status)
    assert.matches("over 4096 bytes", body.error)
    status, body = curl("POST", g:url("/v1/clusters"), { from = from, body = '{"cluster": ' })
    assert.equal(400, status)
    assert.matches("not JSON", body.error)
    status, body = curl("GET", g:url("/v1/clusters"), { from = loopback() })
    assert.equal(401, status)
    assert.is_string(body.hint)
  end)

  it("answers 429 with Retry-After once a client is over its rate, and other clients go on", function()
    local from = loopback()
    local status, headers
    for _ = 1, 10 do
      status, _, headers = curl("POST", g:url("/v1/clusters"), { from = from, body = "{" })
      if status == 429 then break end
      assert.equal(400, status)
    end
    assert.equal(429, status)
    assert.matches("^%d+$", headers["retry-after"])
    assert.equal(400, (curl("POST", g:url("/v1/clusters"), { from = loopback(), body = "{" })))
  end)

  describe("the challenge, end to end", function()
    local ip, key, cert_pem, server, sdir

    setup(function()
      ip = loopback()
      sdir = helpers.tmpdir()
      key = tls.generate_key("ecdsa-p256")
      local cluster = ip:gsub("%.", "-")
      local cert = assert(tls.create_certificate({ key = key, subject = { CN = cluster .. ".kipper.run" },
        sans = { cluster .. ".kipper.run" }, days = 30 }))
      cert_pem = cert:pem()
      assert(fs.write(sdir .. "/cert.pem", cert_pem))
      assert(fs.write(sdir .. "/key.pem", key:private_pem(), { mode = "0600" }))
      server = gateway.s_server({ ip = ip, cert = sdir .. "/cert.pem", key = sdir .. "/key.pem", log = sdir .. "/s_server.log" })
    end)

    teardown(function()
      if server then server.stop() end
      if sdir then helpers.rmtree(sdir) end
    end)

    local function pin_by_openssl()
      local r = assert(proc.run({ "sh", "-c", "openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum" },
        { stdin = cert_pem }))
      return r.stdout:match("^(%x+)")
    end

    it("registers from the claimed address, proves with the served key, pins it; replays and other keys get 403", function()
      local cluster = ip:gsub("%.", "-")
      local status, reg = curl("POST", g:url("/v1/clusters"), { from = ip, body = { cluster = cluster, ip = ip } })
      assert.equal(202, status, json.encode(reg))
      assert.equal("pending", reg.state)
      local token, ch = reg.token, reg.challenge
      assert.equal(string.format("kipper-gateway-challenge-v1\ncluster=%s\nip=%s\nnonce=%s\ntoken-sha256=%s",
        cluster, ip, ch.nonce, tls.sha256_hex(token)), ch.message)
      -- a wrong key: 403, and the nonce is used up
      local wrong = tls.generate_key("ecdsa-p256")
      local proof = { nonce = ch.nonce, signature = tls.base64url_encode(wrong:sign(ch.message)) }
      local body
      status, body = curl("POST", g:url("/v1/clusters/" .. cluster .. "/proof"), { token = token, body = proof, from = loopback() })
      assert.equal(403, status)
      assert.matches("does not verify", body.error)
      proof.signature = tls.base64url_encode(key:sign(ch.message))
      status, body = curl("POST", g:url("/v1/clusters/" .. cluster .. "/proof"), { token = token, body = proof, from = loopback() })
      assert.equal(403, status)
      assert.matches("already used", body.error)
      -- a new challenge, signed by the served key
      status, body = curl("POST", g:url("/v1/clusters/" .. cluster .. "/challenge"), { token = token, body = {}, from = loopback() })
      assert.equal(200, status)
      ch = body.challenge
      proof = { nonce = ch.nonce, signature = tls.base64url_encode(key:sign(ch.message)) }
      status, body = curl("POST", g:url("/v1/clusters/" .. cluster .. "/proof"), { token = token, body = proof, from = loopback() })
      assert.equal(200, status, json.encode(body) .. "\n" .. g:output())
      assert.equal("active", body.state)
      assert.equal(pin_by_openssl(), body.pin)
      assert.is_string(body.expires_at)
      -- replayed
      status = curl("POST", g:url("/v1/clusters/" .. cluster .. "/proof"), { token = token, body = proof, from = loopback() })
      assert.equal(403, status)
      status, body = curl("GET", g:url("/v1/clusters/" .. cluster), { token = token })
      assert.equal(200, status)
      assert.equal("active", body.state)
      assert.equal(pin_by_openssl(), body.pin)
      assert.equal(pin_by_openssl(), json.decode(assert(fs.read(dir .. "/registry.json"))).clusters[cluster].pin)
      -- the name is held against others; the owner's heartbeat renews it
      status = curl("POST", g:url("/v1/clusters"), { from = ip, body = { cluster = cluster, ip = ip } })
      assert.equal(409, status)
      status, body = curl("POST", g:url("/v1/clusters/" .. cluster .. "/heartbeat"), { token = token })
      assert.equal(200, status)
      assert.equal("active", body.state)
    end)
  end)

  it("serves /healthz and /metrics with the registrations by state", function()
    assert.equal(200, (curl("GET", g:url("/healthz"))))
    local _, text = curl("GET", g:url("/metrics"))
    local m = require("kip.reconcile.metrics").parse(text)
    assert.is_number(m['kipper_gateway_registrations{state="active"}'])
    assert.is_true(m['kipper_gateway_api_requests_total{code="201",endpoint="register"}'] >= 1)
  end)
end)

describe("kipper-gateway's API over TLS (--api-cert)", function()
  local dir, g

  setup(function()
    dir = helpers.tmpdir()
    assert(fs.write(dir .. "/admin-token", ADMIN .. "\n", { mode = "0600" }))
    local key = tls.generate_key("ecdsa-p256")
    local cert = assert(tls.create_certificate({ subject = { CN = "gateway api" }, sans = { "127.0.0.1" }, key = key, days = 1 }))
    assert(fs.write(dir .. "/api.pem", cert:pem() .. key:private_pem(), { mode = "0600" }))
    assert(fs.write(dir .. "/ca.pem", cert:pem()))
    g = start(dir, { "--allow-private-upstreams", "--api-cert", dir .. "/api.pem" })
  end)

  teardown(function()
    if g then g:stop() end
    if dir then helpers.rmtree(dir) end
  end)

  it("sees each client's own address through TLS, so self-registration still checks the source", function()
    local url = string.format("https://127.0.0.1:%d/v1/clusters", g.port)
    local from, other = loopback(), loopback()
    local status, body = curl("POST", url, { from = from, cacert = dir .. "/ca.pem", body = { cluster = from:gsub("%.", "-"), ip = from } })
    assert.equal(202, status, type(body) == "table" and body.error or body)
    assert.equal("pending", body.state)
    status, body = curl("POST", url, { from = from, cacert = dir .. "/ca.pem", body = { cluster = other:gsub("%.", "-"), ip = other } })
    assert.equal(403, status)
    assert.equal("the request comes from " .. from .. ", not from " .. other, body.error)
  end)
end)

describe("kipper-gateway's routes", function()
  local dir, g, upstream, up_port

  setup(function()
    if not require("kip.gateway").start then return end
    dir = helpers.tmpdir()
    assert(fs.write(dir .. "/admin-token", ADMIN .. "\n", { mode = "0600" }))
    upstream = assert(proc.spawn({ "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir },
      { stdout = dir .. "/upstream.log", stderr = "stdout" }))
    up_port = helpers.eventually(function() return tonumber((fs.read(dir .. "/upstream.log") or ""):match("port (%d+)")) end, 10)
    assert(up_port, "the upstream did not start: " .. tostring(fs.read(dir .. "/upstream.log")))
    g = start(dir, { "--listen", "127.0.0.1:0", "--allow-private-upstreams" })
  end)

  teardown(function()
    if g then g:stop() end
    if upstream then
      upstream:kill("TERM")
      upstream:wait(5)
    end
    if dir then helpers.rmtree(dir) end
  end)

  local function through_proxy()
    return (curl("GET", string.format("http://127.0.0.1:%d/", g.listen), { host = "127-0-0-1.kipper.run" }))
  end

  it("follow registrations, deletions and SIGHUP reloads of the registry file", function()
    if not g then
      pending("kip.gateway.start is not built yet")
      return
    end
    assert.equal(404, through_proxy())
    assert.equal(201, (admin("POST", g, "/v1/clusters", { cluster = "127-0-0-1", port = up_port, scheme = "http" })))
    assert.equal(200, through_proxy())
    assert.equal(204, (admin("DELETE", g, "/v1/clusters/127-0-0-1")))
    assert.equal(404, through_proxy())
    assert(fs.write(dir .. "/registry.json", assert(json.encode({ version = 1, clusters = { ["127-0-0-1"] = {
      ip = "127.0.0.1", port = up_port, scheme = "http", owner = "admin", state = "active",
      created_at = "2026-01-01T00:00:00Z", renewed_at = "2026-01-01T00:00:00Z" } } }))))
    g.p:kill("HUP")
    assert(helpers.eventually(function() return through_proxy() == 200 end, 10), g:output())
    local _, text = curl("GET", g:url("/metrics"))
    local m = require("kip.reconcile.metrics").parse(text)
    assert.is_true(m.kipper_gateway_requests_total >= 4)
    assert.is_true(m.kipper_gateway_responses_2xx_total >= 2)
  end)
end)

describe("kipper-gateway's registry", function()
  local dir

  before_each(function()
    dir = helpers.tmpdir()
    assert(fs.write(dir .. "/admin-token", ADMIN .. "\n", { mode = "0600" }))
  end)

  after_each(function() helpers.rmtree(dir) end)

  it("survives a restart (SIGTERM exits 0)", function()
    local g = start(dir)
    assert.equal(201, (admin("POST", g, "/v1/clusters", { cluster = "203-0-113-10" })))
    local r = g:stop("TERM")
    assert.equal(0, r.status, g:output())
    assert.matches("stopping signal=SIGTERM", g:output(), 1, true)
    g = start(dir)
    local status, body = admin("GET", g, "/v1/clusters/203-0-113-10")
    assert.equal(200, status)
    assert.equal("active", body.state)
    g:stop()
  end)

  it("loses nothing to kill -9 right after a registration was acknowledged", function()
    local g = start(dir, { "--allow-private-upstreams" })
    local ip = loopback()
    assert.equal(201, (admin("POST", g, "/v1/clusters", { cluster = "203-0-113-11" })))
    local status, reg = curl("POST", g:url("/v1/clusters"), { from = ip, body = { cluster = ip:gsub("%.", "-") } })
    assert.equal(202, status)
    g:stop("KILL")
    g = start(dir, { "--allow-private-upstreams" })
    assert.equal(200, (admin("GET", g, "/v1/clusters/203-0-113-11")))
    local body
    status, body = curl("GET", g:url("/v1/clusters/" .. ip:gsub("%.", "-")), { token = reg.token })
    assert.equal(200, status)
    assert.equal("pending", body.state)
    g:stop()
  end)

  it("reloads an edited registry file on SIGHUP, and keeps the old one when the file is bad", function()
    local g = start(dir)
    assert.equal(201, (admin("POST", g, "/v1/clusters", { cluster = "203-0-113-12" })))
    local doc = json.decode(assert(fs.read(dir .. "/registry.json")))
    doc.clusters["203-0-113-13"] = { ip = "203.0.113.13", port = 80, scheme = "http", owner = "admin", state = "active",
      created_at = "2026-01-01T00:00:00Z", renewed_at = "2026-01-01T00:00:00Z" }
    doc.clusters["203-0-113-12"] = nil
    assert(fs.write(dir .. "/registry.json", assert(json.encode(doc))))
    g.p:kill("HUP")
    assert(helpers.eventually(function() return g:output():find("registry reloaded", 1, true) end, 10), g:output())
    assert.matches("added=203-0-113-13", g:output(), 1, true)
    assert.matches("removed=203-0-113-12", g:output(), 1, true)
    assert.equal(200, (admin("GET", g, "/v1/clusters/203-0-113-13")))
    assert.equal(404, (admin("GET", g, "/v1/clusters/203-0-113-12")))
    assert(fs.write(dir .. "/registry.json", "{ broken"))
    g.p:kill("HUP")
    assert(helpers.eventually(function() return g:output():find("was not reloaded", 1, true) end, 10), g:output())
    assert.is_true(g.p:alive())
    assert.equal(200, (admin("GET", g, "/v1/clusters/203-0-113-13")))
    assert.equal(0, g:stop().status)
  end)

  it("expires names on its ticks, holds them, and a heartbeat with the token revives one", function()
    local now = os.time()
    local function at(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end
    local token = tls.random_token(32)
    local function self_rec(ip, renewed)
      return { ip = ip, port = 443, scheme = "https", owner = "self", token_sha256 = tls.sha256_hex(token), pin = string.rep("a", 64),
        state = "active", created_at = at(renewed), renewed_at = at(renewed) }
    end
    local soon, held, freed = loopback(), loopback(), loopback()
    local id = function(ip) return (ip:gsub("%.", "-")) end
    assert(fs.write(dir .. "/registry.json", assert(json.encode({ version = 1, clusters = {
      [id(soon)] = self_rec(soon, now - 112), -- expires in about 8 s with a 2 min TTL
      [id(held)] = self_rec(held, now - 200), -- on hold
      [id(freed)] = self_rec(freed, now - 4000), -- past the hold: freed
    } }))))
    local g = start(dir, { "--heartbeat-ttl", "120s", "--hold", "1h", "--allow-private-upstreams" })
    -- the tick moves the states and saves them
    assert(helpers.eventually(function()
      local doc = json.decode(fs.read(dir .. "/registry.json") or "")
      return doc and doc.clusters[id(held)].state == "expired" and doc.clusters[id(freed)] == nil
    end, 10), g:output())
    assert.matches("registration freed cluster=" .. id(freed), g:output(), 1, true)
    local status, body = curl("GET", g:url("/v1/clusters/" .. id(held)), { token = token })
    assert.equal(200, status)
    assert.equal("expired", body.state)
    assert.equal(409, (curl("POST", g:url("/v1/clusters"), { body = { cluster = id(held) }, from = held })))
    status, body = curl("POST", g:url("/v1/clusters/" .. id(held) .. "/heartbeat"), { token = token })
    assert.equal(200, status)
    assert.equal("active", body.state)
    assert.equal("active", json.decode(assert(fs.read(dir .. "/registry.json"))).clusters[id(held)].state)
    assert(helpers.eventually(function()
      local doc = json.decode(fs.read(dir .. "/registry.json") or "")
      return doc and doc.clusters[id(soon)].state == "expired"
    end, 40), g:output())
    g:stop()
  end)

  describe("at start", function()
    local function run(args)
      local argv = { gateway.bin(), "--zone", "kipper.run", "--registry", dir .. "/registry.json", "--api-listen", "127.0.0.1:0" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      return assert(proc.run(argv, { timeout = 20 }))
    end

    it("refuses a corrupt registry file, naming it and the reason", function()
      assert(fs.write(dir .. "/registry.json", '{"version":1,"clusters":{"x":{}}}'))
      local r = run({})
      assert.equal(1, r.status)
      assert.matches(dir .. "/registry.json", r.stderr, 1, true)
      assert.matches('"x" is not a cluster id', r.stderr, 1, true)
    end)

    it("refuses an admin token file others can read, and an empty one", function()
      assert(fs.write(dir .. "/loose", ADMIN, { mode = "0644" }))
      local r = run({ "--admin-token-file", dir .. "/loose" })
      assert.equal(1, r.status)
      assert.matches("can be read or written by others", r.stderr)
      assert(fs.write(dir .. "/empty", "", { mode = "0600" }))
      r = run({ "--admin-token-file", dir .. "/empty" })
      assert.equal(1, r.status)
      assert.matches("is empty", r.stderr)
    end)

    it("exits 2 on usage errors and 0 with --help", function()
      local r = assert(proc.run({ gateway.bin() }, { timeout = 20 }))
      assert.equal(2, r.status)
      assert.matches("is required", r.stderr, 1, true)
      r = assert(proc.run({ gateway.bin(), "--help" }, { timeout = 20 }))
      assert.equal(0, r.status)
      assert.matches("Examples:", r.stdout, 1, true)
    end)
  end)
end)
