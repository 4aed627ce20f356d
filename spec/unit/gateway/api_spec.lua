-- SPDX-License-Identifier: Apache-2.0
-- kipper_gateway.api, its handler called directly with request tables (no server, no network: the
-- certificate fetch is a stub, the clock a variable): admin registration, the self-registration
-- rules, challenges and proofs, heartbeats and the lifecycle, tokens, limits and errors.
local api = require "kipper_gateway.api"
local challenge = require "kipper_gateway.challenge"
local fs = require "kip.fs"
local gateway = require "kip.gateway"
local helpers = require "helpers"
local json = require "kip.json"
local metrics = require "kipper_gateway.metrics"
local ratelimit = require "kip.util.ratelimit"
local registry = require "kipper_gateway.registry"
local tls = require "kip.tls"

local ADMIN = "admin-token-0123456789abcdef"
local DAY = 86400

describe("kipper_gateway.api", function()
  local dir, ctx, handler, now, served, changes, level

  setup(function()
    level = require("kip.log").level()
    require("kip.log").set_level("off")
  end)
  teardown(function() require("kip.log").set_level(level) end)

  local function request(method, path, body, opts)
    opts = opts or {}
    local headers = {}
    if opts.token then headers.authorization = "Bearer " .. opts.token end
    local res = handler({ method = method, path = path, query = "", headers = headers, remote_port = 40000,
      body = type(body) == "table" and assert(json.encode(body)) or body or "", remote_addr = opts.from or "203.0.113.10" })
    local decoded = res.body ~= "" and res.headers["Content-Type"] == "application/json" and json.decode(res.body) or nil
    return res.status, decoded, res
  end

  local function key_and_chain()
    local key = tls.generate_key("ecdsa-p256")
    local cert = assert(tls.create_certificate({ key = key, subject = { CN = "203-0-113-10.kipper.run" }, days = 30 }))
    return key, cert:pem()
  end

  before_each(function()
    dir = helpers.tmpdir()
    now = 1800000000
    changes = 0
    served = {}
    local store = assert(registry.open(dir .. "/reg.json", { ttl = 30 * DAY, hold = 90 * DAY }))
    ctx = {
      store = store, book = challenge.new_book(), limiter = ratelimit.new({ rate = 1000, burst = 1000 }),
      metrics = metrics.new(), metrics_content_type = metrics.CONTENT_TYPE, zone = "kipper.run",
      allow_private = false, admin_token = ADMIN, is_public_ip = function(ip) return gateway.is_public_ip(ip) == true end,
      fetch_chain = function(ip, port, sni)
        served.asked = { ip = ip, port = port, sni = sni }
        if served.chain then return served.chain end
        return nil, "connection refused"
      end,
      clock = function() return now end, monotonic = function() return now end,
      on_change = function() changes = changes + 1 end, stats = function() return nil end,
    }
    handler = api.handler(ctx)
  end)

  after_each(function() helpers.rmtree(dir) end)

  -- a self-registration proved with a fresh key: token, pin, key
  local function register_and_prove(id, ip)
    ip = ip or "203.0.113.10"
    id = id or registry.dashed(ip)
    local status, body = request("POST", "/v1/clusters", { cluster = id, ip = ip }, { from = ip })
    assert.equal(202, status)
    local key, chain = key_and_chain()
    served.chain = chain
    local sig = tls.base64url_encode(key:sign(body.challenge.message))
    local pstatus, proof = request("POST", "/v1/clusters/" .. id .. "/proof", { nonce = body.challenge.nonce, signature = sig },
      { token = body.token, from = "198.51.100.7" })
    assert.equal(200, pstatus, json.encode(proof))
    return body.token, proof.pin, key
  end

  describe("for the operator", function()
    it("registers any cluster active at once, lists, reads and deletes it", function()
      local status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-20", ip = "203.0.113.20", port = 8080, scheme = "http" },
        { token = ADMIN, from = "198.51.100.1" })
      assert.equal(201, status)
      assert.same({ cluster = "203-0-113-20", zone = "kipper.run", ip = "203.0.113.20", port = 8080, scheme = "http", owner = "admin",
        state = "active", created_at = "2027-01-15T08:00:00Z", renewed_at = "2027-01-15T08:00:00Z" }, body)
      assert.equal(1, changes)
      local saved = json.decode(assert(fs.read(dir .. "/reg.json")))
      assert.equal("admin", saved.clusters["203-0-113-20"].owner)
      status, body = request("GET", "/v1/clusters", nil, { token = ADMIN })
      assert.equal(200, status)
      assert.equal("203-0-113-20", body.clusters[1].cluster)
      status, body = request("GET", "/v1/clusters/203-0-113-20", nil, { token = ADMIN })
      assert.equal(200, status)
      assert.equal(8080, body.port)
      assert.equal(204, (request("DELETE", "/v1/clusters/203-0-113-20", nil, { token = ADMIN })))
      assert.equal(404, (request("GET", "/v1/clusters/203-0-113-20", nil, { token = ADMIN })))
      assert.same({}, json.decode(assert(fs.read(dir .. "/reg.json"))).clusters)
    end)

    it("defaults to https on 443, checks the fields, and refuses private addresses unless allowed", function()
      local status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-20" }, { token = ADMIN })
      assert.equal(201, status)
      assert.equal(443, body.port)
      assert.equal("https", body.scheme)
      assert.equal("203.0.113.20", body.ip)
      for _, bad in ipairs({ { cluster = "web" }, { cluster = "203-0-113-20", port = 0 }, { cluster = "203-0-113-20", scheme = "ftp" },
        { cluster = "203-0-113-20", ip = "203.0.113" }, { cluster = "203-0-113-20", extra = 1 }, { cluster = "203-0-113-20", pin = "x" } }) do
        assert.equal(400, (request("POST", "/v1/clusters", bad, { token = ADMIN })), json.encode(bad))
      end
      status, body = request("POST", "/v1/clusters", { cluster = "10-0-0-1" }, { token = ADMIN })
      assert.equal(403, status)
      assert.matches("allow%-private%-upstreams", body.hint)
      ctx.allow_private = true
      assert.equal(201, (request("POST", "/v1/clusters", { cluster = "10-0-0-1" }, { token = ADMIN })))
    end)
  end)

  describe("self-registration", function()
    it("answers 202 with a token shown once and a challenge bound to name, IP and token", function()
      local status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-10", ip = "203.0.113.10" })
      assert.equal(202, status)
      assert.equal("pending", body.state)
      assert.equal(43, #body.token)
      assert.equal(challenge.message("203-0-113-10", "203.0.113.10", body.challenge.nonce, tls.sha256_hex(body.token)),
        body.challenge.message)
      assert.equal("2027-01-15T08:10:00Z", body.challenge.expires_at)
      -- stored hashed, saved before the answer
      local text = assert(fs.read(dir .. "/reg.json"))
      assert.is_nil(text:find(body.token, 1, true))
      assert.equal(tls.sha256_hex(body.token), json.decode(text).clusters["203-0-113-10"].token_sha256)
      assert.equal(0, changes) -- nothing routed yet
    end)

    it("is refused for another IP's name, from another address, or for a private address", function()
      local status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-11", ip = "203.0.113.10" })
      assert.equal(403, status)
      assert.matches("not the name of", body.error)
      status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-11", ip = "203.0.113.11" })
      assert.equal(403, status)
      assert.equal("the request comes from 203.0.113.10, not from 203.0.113.11", body.error)
      status, body = request("POST", "/v1/clusters", { cluster = "192-168-1-5" }, { from = "192.168.1.5" })
      assert.equal(403, status)
      assert.equal("192.168.1.5 is not a public address", body.error)
      ctx.allow_private = true
      assert.equal(202, (request("POST", "/v1/clusters", { cluster = "192-168-1-5" }, { from = "::ffff:192.168.1.5" })))
    end)

    it("refuses bodies over 4 KiB, bad JSON and unknown fields, as JSON errors", function()
      local status, body, res = request("POST", "/v1/clusters", string.rep(" ", 4097))
      assert.equal(413, status)
      assert.equal("application/json", res.headers["Content-Type"])
      assert.matches("4096", body.error)
      status, body = request("POST", "/v1/clusters", "{nope")
      assert.equal(400, status)
      assert.matches("not JSON", body.error)
      assert.equal(400, (request("POST", "/v1/clusters", "[1]")))
      assert.equal(400, (request("POST", "/v1/clusters", { cluster = "203-0-113-10", owner = "admin" })))
    end)

    it("proves the claim: fetches the chain with the cluster's SNI, checks the signature, pins the key and routes", function()
      local token, pin, key = register_and_prove()
      assert.same({ ip = "203.0.113.10", port = 443, sni = "203-0-113-10.kipper.run" }, served.asked)
      assert.equal(challenge.pin(key), pin)
      assert.equal(1, changes)
      local status, body = request("GET", "/v1/clusters/203-0-113-10", nil, { token = token })
      assert.equal(200, status)
      assert.equal("active", body.state)
      assert.equal(pin, body.pin)
      assert.is_nil(body.token_sha256)
      assert.equal("2027-02-14T08:00:00Z", body.expires_at)
      assert.same({ ["203-0-113-10"] = { ip = "203.0.113.10", port = 443, scheme = "https", pin = pin } },
        registry.routes(ctx.store.records))
    end)

    it("refuses a wrong key, a replayed nonce, another cluster's nonce and a missing token", function()
      local status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-10" })
      assert.equal(202, status)
      local token, c = body.token, body.challenge
      local _, chain = key_and_chain()
      served.chain = chain
      local wrong = tls.generate_key("ecdsa-p256")
      local proof = { nonce = c.nonce, signature = tls.base64url_encode(wrong:sign(c.message)) }
      status, body = request("POST", "/v1/clusters/203-0-113-10/proof", proof, { token = token })
      assert.equal(403, status)
      assert.matches("does not verify", body.error)
      status, body = request("POST", "/v1/clusters/203-0-113-10/proof", proof, { token = token })
      assert.equal(403, status)
      assert.matches("already used", body.error)
      assert.equal(401, (request("POST", "/v1/clusters/203-0-113-10/proof", proof)))
      assert.equal(401, (request("POST", "/v1/clusters/203-0-113-10/proof", proof, { token = "guess" })))
      served.chain = nil
      status, body = request("POST", "/v1/clusters/203-0-113-10/challenge", {}, { token = token })
      assert.equal(200, status)
      status, body = request("POST", "/v1/clusters/203-0-113-10/proof", { nonce = body.challenge.nonce, signature = "AA" }, { token = token })
      assert.equal(403, status)
      assert.matches("cannot read the certificate served on 203.0.113.10:443: connection refused", body.error, 1, true)
      assert.equal("pending", ctx.store:get("203-0-113-10").state)
    end)

    it("keeps a proved name for its owner: 409 for others, a new challenge without a new token for the owner", function()
      local token = register_and_prove()
      local status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-10" })
      assert.equal(409, status)
      assert.matches("another owner", body.error)
      status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-10", port = 8443 }, { token = token })
      assert.equal(202, status)
      assert.is_nil(body.token)
      assert.equal("active", body.state)
      -- a re-pin through the new challenge moves the port only once proved
      assert.equal(443, ctx.store:get("203-0-113-10").port)
      local key, chain = key_and_chain()
      served.chain = chain
      status = request("POST", "/v1/clusters/203-0-113-10/proof",
        { nonce = body.challenge.nonce, signature = tls.base64url_encode(key:sign(body.challenge.message)) }, { token = token })
      assert.equal(200, status)
      assert.equal(8443, served.asked.port)
      assert.equal(8443, ctx.store:get("203-0-113-10").port)
      assert.equal(challenge.pin(key), ctx.store:get("203-0-113-10").pin)
    end)

    it("lets someone else at the same IP take over a registration that was never proved", function()
      local _, first = request("POST", "/v1/clusters", { cluster = "203-0-113-10" })
      local status, second = request("POST", "/v1/clusters", { cluster = "203-0-113-10" })
      assert.equal(202, status)
      assert.are_not.equal(first.token, second.token)
      assert.equal(403, (request("POST", "/v1/clusters/203-0-113-10/proof", { nonce = first.challenge.nonce, signature = "AA" },
        { token = second.token })))
    end)
  end)

  describe("the lifecycle", function()
    it("expires a name after the TTL, holds it for its owner, and a heartbeat revives it", function()
      local token = register_and_prove()
      changes = 0
      now = now + 30 * DAY
      local status, body = request("GET", "/v1/clusters/203-0-113-10", nil, { token = token })
      assert.equal(200, status)
      assert.equal("expired", body.state)
      assert.equal(409, (request("POST", "/v1/clusters", { cluster = "203-0-113-10" })))
      status, body = request("POST", "/v1/clusters/203-0-113-10/heartbeat", nil, { token = token })
      assert.equal(200, status)
      assert.same({ cluster = "203-0-113-10", zone = "kipper.run", state = "active", renewed_at = registry.format_time(now),
        expires_at = registry.format_time(now + 30 * DAY) }, body)
      assert.equal(1, changes)
    end)

    it("frees a name after the hold", function()
      local token = register_and_prove()
      now = now + 120 * DAY
      assert.equal(404, (request("POST", "/v1/clusters/203-0-113-10/heartbeat", nil, { token = token })))
      local status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-10" })
      assert.equal(202, status)
      assert.is_string(body.token)
    end)

    it("refuses a heartbeat before the proof", function()
      local _, body = request("POST", "/v1/clusters", { cluster = "203-0-113-10" })
      local status, err = request("POST", "/v1/clusters/203-0-113-10/heartbeat", nil, { token = body.token })
      assert.equal(409, status)
      assert.matches("not proved", err.error)
    end)

    it("lets the owner delete its name, but not another's", function()
      local token = register_and_prove()
      register_and_prove(nil, "203.0.113.11")
      assert.equal(401, (request("DELETE", "/v1/clusters/203-0-113-11", nil, { token = token })))
      assert.equal(204, (request("DELETE", "/v1/clusters/203-0-113-10", nil, { token = token })))
      assert.equal(404, (request("GET", "/v1/clusters/203-0-113-10", nil, { token = ADMIN })))
    end)
  end)

  describe("limits and errors", function()
    it("answers 429 with Retry-After when a client is over its rate; the operator is not limited", function()
      ctx.limiter = ratelimit.new({ rate = 1, burst = 8 })
      assert.equal(400, (request("POST", "/v1/clusters", "{")))
      assert.equal(400, (request("POST", "/v1/clusters", "{")))
      local status, body, res = request("POST", "/v1/clusters", "{")
      assert.equal(429, status)
      assert.equal("4", res.headers["Retry-After"])
      assert.matches("too many requests", body.error)
      assert.equal(200, (request("GET", "/v1/clusters", nil, { token = ADMIN })))
      assert.equal(200, (request("GET", "/v1/clusters", nil, { token = ADMIN })))
      assert.equal(200, (request("GET", "/v1/clusters", nil, { token = ADMIN, from = "203.0.113.10" })))
    end)

    it("needs the admin token for the list, and says what went wrong", function()
      local status, body, res = request("GET", "/v1/clusters")
      assert.equal(401, status)
      assert.matches("Bearer", res.headers["WWW-Authenticate"])
      assert.is_string(body.hint)
      assert.equal(401, (request("GET", "/v1/clusters", nil, { token = "wrong" })))
      assert.equal(405, (request("PUT", "/v1/clusters")))
      assert.equal(404, (request("GET", "/v2")))
      assert.equal(404, (request("GET", "/v1/clusters/nope", nil, { token = ADMIN })))
    end)

    it("answers 500 and keeps memory as it was when the registry cannot be saved", function()
      ctx.store.path = dir .. "/gone/reg.json"
      local status, body = request("POST", "/v1/clusters", { cluster = "203-0-113-20" }, { token = ADMIN })
      assert.equal(500, status)
      assert.matches("cannot be saved", body.error)
      assert.is_nil(ctx.store:get("203-0-113-20"))
    end)

    it("serves /healthz and /metrics with the registrations by state and the API's requests", function()
      register_and_prove()
      request("POST", "/v1/clusters", { cluster = "203-0-113-11" }, { from = "203.0.113.11" })
      assert.equal(200, (request("GET", "/healthz")))
      ctx.stats = function() return { connections_active = 3, requests_total = 10, responses_2xx = 9 } end
      local _, _, res = request("GET", "/metrics")
      local m = require("kip.reconcile.metrics").parse(res.body)
      assert.equal(1, m['kipper_gateway_registrations{state="active"}'])
      assert.equal(1, m['kipper_gateway_registrations{state="pending"}'])
      assert.equal(0, m['kipper_gateway_registrations{state="expired"}'])
      assert.equal(3, m.kipper_gateway_connections_active)
      assert.equal(10, m.kipper_gateway_requests_total)
      assert.equal(9, m.kipper_gateway_responses_2xx_total)
      assert.equal(2, m['kipper_gateway_api_requests_total{code="202",endpoint="register"}'])
      assert.equal(1, m['kipper_gateway_api_requests_total{code="200",endpoint="proof"}'])
      assert.matches("# TYPE kipper_gateway_connections_active gauge", res.body, 1, true)
      assert.matches("# TYPE kipper_gateway_requests_total counter", res.body, 1, true)
    end)
  end)
end)
