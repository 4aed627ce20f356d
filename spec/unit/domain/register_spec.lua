-- SPDX-License-Identifier: Apache-2.0
-- kip.domain.register against a scripted gateway (a fake api with call()): the claim, the token
-- kept before the proof, the signature over the exact message, refusing a foreign message,
-- hints for 409/403, the pin compared with the key's, and the curl claim's config on stdin.
-- Also kip.domain.store's Secret and pin, and kip.platform.default_tls.
local default_tls = require "kip.platform.default_tls"
local json = require "kip.json"
local message = require "kip.domain.message"
local register = require "kip.domain.register"
local store = require "kip.domain.store"
local tls = require "kip.tls"

-- A fake gateway: answers[i] = function(method, path, opts) -> answer | nil, err, code, hint
local function fake(answers)
  local api = { url = "https://gw.test", timeout = 5, calls = {} }
  function api.call(self, method, path, opts)
    self.calls[#self.calls + 1] = { method = method, path = path, opts = opts }
    local f = assert(answers[#self.calls], "unexpected call " .. method .. " " .. path)
    return f(method, path, opts)
  end
  return api
end

local CL, IP = "203-0-113-10", "203.0.113.10"

describe("kip.domain.register", function()
  local key = tls.generate_key("ecdsa-p256")

  local function challenge(token, nonce)
    return { nonce = nonce or "n1", expires_at = "2030-01-01T00:00:00Z",
      message = message.text({ cluster = CL, ip = IP, nonce = nonce or "n1", token = token }) }
  end

  it("claims, keeps the token first, signs exactly the message and sends the proof", function()
    local kept
    local api = fake({
      function(method, path, opts)
        assert.equal("POST", method)
        assert.equal("/v1/clusters", path)
        assert.same({ cluster = CL, ip = IP, port = 443, scheme = "https" }, opts.body)
        assert.is_nil(opts.token)
        return { cluster = CL, state = "pending", token = "T1", challenge = challenge("T1") }
      end,
      function(method, path, opts)
        assert.equal("T1", kept, "the token is stored before the proof")
        assert.equal("POST /v1/clusters/" .. CL .. "/proof", method .. " " .. path)
        assert.equal("T1", opts.token)
        assert.equal("n1", opts.body.nonce)
        local sig = assert(tls.base64url_decode(opts.body.signature))
        assert.is_true(key:public_key():verify(challenge("T1").message, sig))
        return { cluster = CL, state = "active", pin = store.pin(key), expires_at = "2030-02-01T00:00:00Z" }
      end,
    })
    local reg = assert(register.register({ api = api, cluster = CL, ip = IP, key = key, on_token = function(t) kept = t end }))
    assert.equal("active", reg.state)
    assert.equal("T1", reg.token)
    assert.is_true(reg.new_token)
    assert.equal(store.pin(key), reg.pin)
  end)

  it("re-registers with the stored token, which the gateway does not send again", function()
    local api = fake({
      function(_, _, opts)
        assert.equal("OLD", opts.token)
        return { cluster = CL, state = "pending", challenge = challenge("OLD", "n2") }
      end,
      function(_, _, opts)
        assert.equal("OLD", opts.token)
        return { state = "active", pin = store.pin(key) }
      end,
    })
    local called = false
    local reg = assert(register.register({ api = api, cluster = CL, ip = IP, key = key, token = "OLD",
      on_token = function() called = true end }))
    assert.equal("OLD", reg.token)
    assert.is_false(reg.new_token)
    assert.is_false(called)
  end)

  it("refuses to sign a message that is not the contract's for this cluster", function()
    local api = fake({
      function()
        local c = challenge("T1")
        c.message = message.text({ cluster = "198-51-100-7", ip = "198.51.100.7", nonce = "n1", token = "T1" })
        return { state = "pending", token = "T1", challenge = c }
      end,
    })
    local reg, err, code = register.register({ api = api, cluster = CL, ip = IP, key = key })
    assert.is_nil(reg)
    assert.equal("challenge", code)
    assert.matches("refusing to sign", err, 1, true)
    assert.equal(1, #api.calls, "no proof was sent")
  end)

  it("explains a name held by another owner, and a refused claim", function()
    local api = fake({ function() return nil, "registering x: the gateway answered 409: held", "conflict" end })
    local _, err, code, hint = register.register({ api = api, cluster = CL, ip = IP, key = key })
    assert.equal("conflict", code)
    assert.matches("409", err, 1, true)
    assert.matches("another owner", hint, 1, true)
    api = fake({ function() return nil, "registering x: the gateway answered 403: source address", "refused" end })
    _, _, code, hint = register.register({ api = api, cluster = CL, ip = IP, key = key })
    assert.equal("refused", code)
    assert.matches("cluster's own address (" .. IP .. ")", hint, 1, true)
  end)

  it("says what the gateway checks when it refuses the proof", function()
    local api = fake({
      function() return { state = "pending", token = "T1", challenge = challenge("T1") } end,
      function() return nil, "proving x: the gateway answered 403: signature does not verify", "refused" end,
    })
    local _, err, code, hint, partial = register.register({ api = api, cluster = CL, ip = IP, key = key })
    assert.equal("refused", code)
    assert.matches("signature does not verify", err, 1, true)
    assert.matches("kube-system/kipper-default-tls", hint, 1, true)
    assert.equal("T1", partial.token)
  end)

  it("refuses a pin that is not its key's", function()
    local api = fake({
      function() return { state = "pending", token = "T1", challenge = challenge("T1") } end,
      function() return { state = "active", pin = string.rep("0", 64) } end,
    })
    local _, err, code = register.register({ api = api, cluster = CL, ip = IP, key = key })
    assert.equal("challenge", code)
    assert.matches("pinned key", err, 1, true)
  end)

  it("refuses a cluster name that is not the ip's", function()
    local _, err, code = register.register({ api = fake({}), cluster = "198-51-100-7", ip = IP, key = key })
    assert.equal("invalid", code)
    assert.matches("not the dashed form", err, 1, true)
  end)

  it("sends the curl claim's body and token on stdin, never in the command line", function()
    local seen
    local claim = register.curl_claim(function(cmd, o)
      seen = { cmd = cmd, stdin = o.stdin }
      return { status = 0, stdout = json.encode({ state = "pending", token = "T9" }) .. "\n202", stderr = "" }
    end)
    local answer = assert(claim({ url = "https://gw.test", timeout = 5 }, { cluster = CL, ip = IP }, "SECRET\"TOKEN", "registering"))
    assert.equal("T9", answer.token)
    assert.equal("curl --config -", seen.cmd)
    assert.matches('header = "Authorization: Bearer SECRET\\"TOKEN"', seen.stdin, 1, true)
    assert.matches('url = "https://gw.test/v1/clusters"', seen.stdin, 1, true)
    assert.matches('data%-binary = "{', seen.stdin)
    local _, err, code
    claim = register.curl_claim(function()
      return { status = 0, stdout = '{"error":"name held","hint":"wait"}\n409', stderr = "" }
    end)
    _, err, code = claim({ url = "https://gw.test", timeout = 5 }, {}, nil, "registering")
    assert.equal("conflict", code)
    assert.matches("409: name held", err, 1, true)
    claim = register.curl_claim(function() return { status = 7, stdout = "\n000", stderr = "curl: (7) Failed to connect" } end)
    _, err, code = claim({ url = "https://gw.test", timeout = 5 }, {}, nil, "registering")
    assert.equal("unreachable", code)
    assert.matches("Failed to connect", err, 1, true)
  end)
end)

describe("kip.domain.store and kip.platform.default_tls", function()
  it("round-trips the registration through its Secret", function()
    local s = store.secret({ gateway = "https://gw.test", cluster = CL, token = "T" })
    assert.equal("kipper-system", s.metadata.namespace)
    assert.equal("kipper-gateway", s.metadata.name)
    assert.same({ gateway = "https://gw.test", cluster = CL, token = "T" }, store.decode(s))
    s.data.token = nil
    local reg, why = store.decode(s)
    assert.is_nil(reg)
    assert.matches("has no token", why, 1, true)
  end)

  it("pins the key as the sha256 of its SubjectPublicKeyInfo DER", function()
    local key = tls.generate_key("ecdsa-p256")
    local cert = assert(tls.create_certificate({ subject = { CN = "x" }, key = key, days = 1 }))
    local pem = cert:public_key():public_pem()
    local der = tls.base64_decode((pem:gsub("%-%-%-%-%-[^\n]*%-%-%-%-%-", ""):gsub("%s", "")))
    assert.equal(tls.sha256_hex(der), store.pin(key))
    assert.equal(64, #store.pin(key))
  end)

  it("makes a usable default certificate for <cluster>.<zone>", function()
    local host = default_tls.host({ ["cluster.id"] = CL, ["domain.zone"] = "kipper.run" })
    assert.equal("203-0-113-10.kipper.run", host)
    local s = default_tls.secret(host)
    assert.equal("kubernetes.io/tls", s.type)
    assert.equal("kube-system", s.metadata.namespace)
    assert.is_true((default_tls.usable(s)))
    local cert = assert(tls.load_certificate(assert(tls.base64_decode(s.data["tls.crt"]))))
    assert.same({ host }, cert:sans())
    assert.equal("ecdsa-p256", cert:public_key():type())
    -- another key under the certificate is not usable
    local other = default_tls.secret(host)
    s.data["tls.key"] = other.data["tls.key"]
    assert.is_false((default_tls.usable(s)))
    assert.is_false((default_tls.usable(nil)))
    assert.equal("console.example.com", default_tls.host({ ["cluster.id"] = "", ["console.host"] = "console.example.com" }))
  end)

  it("makes k3s's Traefik serve it as the default certificate", function()
    local hcc = require("kip.platform.components").traefik({ ["traefik.redirect_https"] = false, ["traefik.trusted_ips"] = "" })[1]
    local values = assert(require("kip.yaml").decode(hcc.spec.valuesContent))
    assert.same({ default = { defaultCertificate = { secretName = "kipper-default-tls" } } }, values.tlsStore)
  end)
end)
