-- SPDX-License-Identifier: Apache-2.0
-- kip.gateway's peer_certificate (core/src/bind/l_gateway_tls.c): the chain a TLS server presents,
-- fetched from the main thread and from a kip.server handler (the host lock is released while it
-- waits), its failures as nil, msg, code, and its argument checks. The TLS server is kip.server's
-- TLS front on loopback. The C side (SNI, timeouts) is tested in core/tests/test_gw_tls.c.
local fs = require "kip.fs"
local gateway = require "kip.gateway"
local helpers = require "helpers"
local http = require "kip.http"
local server = require "kip.server"
local tls = require "kip.tls"

local function registered()
  if gateway.peer_certificate then return true end
  pending("gateway.peer_certificate is not in kip.gateway's table yet")
  return false
end

describe("kip.gateway.peer_certificate", function()
  local dir, tls_srv, api, leaf, ca
  setup(function()
    dir = helpers.tmpdir()
    local ca_key = assert(tls.generate_key("ecdsa-p256"))
    ca = assert(tls.create_certificate({ subject = { CN = "test-ca" }, key = ca_key, ca = true }))
    local key = assert(tls.generate_key("ecdsa-p256"))
    leaf = assert(tls.create_certificate({ subject = { CN = "203-0-113-10.kipper.run" },
      sans = { "203-0-113-10.kipper.run" }, key = key, issuer = { cert = ca, key = ca_key }, usage = "server" }))
    assert(fs.write(dir .. "/server.pem", leaf:pem() .. ca:pem() .. key:private_pem()))
    tls_srv = assert(server.listen({ listen = "127.0.0.1:0", cert_file = dir .. "/server.pem",
      handler = function() return { body = "tls" } end }))
    local port = tls_srv:port()
    -- plain HTTP: its handler fetches from the TLS server; its own port answers no TLS
    api = assert(server.listen({ listen = "127.0.0.1:0", handler = function()
      local pem, err = gateway.peer_certificate("127.0.0.1", port, { timeout = 5 })
      return { body = pem or err }
    end }))
  end)
  teardown(function()
    if tls_srv then tls_srv:close() end
    if api then api:close() end
    helpers.rmtree(dir)
  end)

  it("returns the chain the server presents, leaf first", function()
    if not registered() then return end
    local pem = assert(gateway.peer_certificate("127.0.0.1", tls_srv:port(), { sni = "203-0-113-10.kipper.run" }))
    assert.equal(leaf:pem() .. ca:pem(), pem)
    local first = assert(tls.load_certificate(pem))
    assert.equal(leaf:fingerprint(), first:fingerprint())
  end)

  it("works from a kip.server handler, which holds the host lock until it waits", function()
    if not registered() then return end
    local c <close> = http.client()
    local r = assert(c:request({ url = "http://127.0.0.1:" .. api:port() .. "/", timeout = 10 }))
    assert.equal(leaf:pem() .. ca:pem(), r.body)
  end)

  it("returns nil, msg, code when nothing answers TLS there", function()
    if not registered() then return end
    local pem, err, code = gateway.peer_certificate("127.0.0.1", api:port(), { timeout = 1 })
    assert.is_nil(pem)
    assert.is_string(err)
    assert.is_true(code == "tls" or code == "timeout", code)
    pem, err, code = gateway.peer_certificate("127.0.0.1", 1, { timeout = 3 }) -- tcpmux: nothing listens
    assert.is_nil(pem)
    assert.equal("connect", code, err)
    pem, err, code = gateway.peer_certificate("kipper.run", 443)
    assert.is_nil(pem)
    assert.equal("invalid", code, err)
  end)

  it("raises on misuse", function()
    if not registered() then return end
    assert.has_error(function() gateway.peer_certificate("127.0.0.1", 70000) end)
    assert.has_error(function() gateway.peer_certificate("127.0.0.1", 443, { timeout = -1 }) end)
    assert.has_error(function() gateway.peer_certificate("127.0.0.1", 443, { sni = true }) end)
    assert.has_error(function() gateway.peer_certificate(nil, 443) end)
  end)
end)
