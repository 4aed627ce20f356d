-- SPDX-License-Identifier: Apache-2.0
-- kip.server in-process: requests answered by a Lua handler on executor threads while the main
-- thread makes requests with kip.http (both release the host lock while they wait), streamed
-- responses, body limits, handler errors, TLS with required client certificates, run/stop.
local fs = require "kip.fs"
local helpers = require "helpers"
local http = require "kip.http"
local server = require "kip.server"
local tls = require "kip.tls"

describe("kip.server", function()
  local srv, streams, base
  setup(function()
    streams = {}
    srv = assert(server.listen({ listen = "127.0.0.1:0", max_body = 1024, handler = function(req)
      if req.path == "/boom" then error("handler exploded") end
      if req.path == "/stream" then
        local s = server.stream()
        streams[#streams + 1] = s
        s:write("first\n")
        return { status = 200, headers = { ["Content-Type"] = "text/plain" }, stream = s, stream_timeout = 5 }
      end
      return { status = req.path == "/created" and 201 or 200, headers = { ["X-Echo-Method"] = req.method },
        body = table.concat({ req.method, req.path, req.query, req.headers["x-test"] or "-", req.body }, "|") }
    end }))
    base = "http://127.0.0.1:" .. srv:port()
  end)
  teardown(function() srv:close() end)

  it("answers with the handler's status, headers and body", function()
    local c <close> = http.client()
    local r = assert(c:request({ method = "POST", url = base .. "/created?a=1&b=%20", body = "payload",
      headers = { ["X-Test"] = "yes" } }))
    assert.equal(201, r.status)
    assert.equal("POST", r.headers["x-echo-method"])
    assert.equal("POST|/created|a=1&b=%20|yes|payload", r.body)
  end)

  it("answers 500 when the handler raises, and 413 over max_body", function()
    local c <close> = http.client()
    assert.equal(500, assert(c:request({ url = base .. "/boom" })).status)
    assert.equal(413, assert(c:request({ method = "PUT", url = base .. "/x", body = string.rep("x", 2048) })).status)
    assert.equal(200, assert(c:request({ url = base .. "/after" })).status, "the server still answers")
  end)

  it("streams what Lua writes until the stream closes", function()
    local c <close> = http.client()
    local s = assert(c:open({ url = base .. "/stream" }))
    assert.equal("first", s:lines()())
    local mine = streams[#streams]
    assert.is_true(mine:write("second\n"))
    mine:close()
    local rest = {}
    for line in s:lines() do rest[#rest + 1] = line end
    s:close()
    assert.same({ "second" }, rest)
  end)

  it("notices when the reader of a stream goes away", function()
    local c <close> = http.client()
    local s = assert(c:open({ url = base .. "/stream" }))
    assert.equal("first", s:lines()())
    s:close()
    c:close()
    local mine = streams[#streams]
    local open = true
    for _ = 1, 60 do
      open = mine:write("more\n") and mine:is_open()
      if not open then break end
      server.sleep(0.05)
    end
    assert.is_false(open)
  end)

  it("runs ticks until stopped", function()
    local ticks = 0
    local why = srv:run({ tick = 0.01, on_tick = function()
      ticks = ticks + 1
      if ticks == 3 then srv:stop() end
    end })
    assert.equal("stopped", why)
    assert.equal(3, ticks)
  end)

  it("refuses misuse", function()
    assert.has_error(function() server.listen({ listen = "127.0.0.1:0" }) end)
    assert.has_error(function() server.listen({ handler = function() end }) end)
    local s = server.stream()
    s:close()
    assert.has_error(function() s:write("x") end)
    local _, err = server.listen({ listen = "127.0.0.1:" .. srv:port(), handler = function() end })
    assert.is_string(err)
  end)
end)

describe("kip.server over TLS", function()
  local dir, srv, ca, client_cert, client_key
  setup(function()
    dir = helpers.tmpdir()
    local ca_key = assert(tls.generate_key("ecdsa-p256"))
    ca = assert(tls.create_certificate({ subject = { CN = "test-ca" }, key = ca_key, ca = true }))
    local key = assert(tls.generate_key("ecdsa-p256"))
    local cert = assert(tls.create_certificate({ subject = { CN = "server" }, sans = { "127.0.0.1" }, key = key,
      issuer = { cert = ca, key = ca_key }, usage = "server" }))
    local ckey = assert(tls.generate_key("ecdsa-p256"))
    local ccert = assert(tls.create_certificate({ subject = { CN = "alice", O = "team" }, key = ckey,
      issuer = { cert = ca, key = ca_key }, usage = "client" }))
    client_cert, client_key = ccert:pem(), ckey:private_pem()
    assert(fs.write(dir .. "/server.pem", cert:pem() .. key:private_pem()))
    assert(fs.write(dir .. "/ca.pem", ca:pem()))
    srv = assert(server.listen({ listen = "127.0.0.1:0", cert_file = dir .. "/server.pem", ca_file = dir .. "/ca.pem",
      require_client_cert = true, handler = function(req) return { body = tostring(req.client_subject) } end }))
  end)
  teardown(function()
    srv:close()
    helpers.rmtree(dir)
  end)

  it("serves clients with a certificate from its CA and tells the handler who they are", function()
    local c <close> = http.client({ ca_data = ca:pem(), cert_data = client_cert, key_data = client_key })
    local r = assert(c:request({ url = "https://127.0.0.1:" .. srv:port() .. "/" }))
    assert.equal(200, r.status)
    assert.matches("CN=alice", r.body)
    assert.matches("O=team", r.body)
    local again = assert(c:request({ url = "https://127.0.0.1:" .. srv:port() .. "/" }))
    assert.equal(200, again.status, "a reused or resumed connection works too")
  end)

  it("refuses clients without one", function()
    local c <close> = http.client({ ca_data = ca:pem() })
    local r, err, code = c:request({ url = "https://127.0.0.1:" .. srv:port() .. "/" })
    assert.is_nil(r)
    assert.equal("tls", code, err)
  end)

  it("does not serve plain HTTP on the TLS port", function()
    local c <close> = http.client()
    local r = c:request({ url = "http://127.0.0.1:" .. srv:port() .. "/", timeout = 3 })
    assert.is_true(r == nil or r.status >= 400)
  end)
end)
