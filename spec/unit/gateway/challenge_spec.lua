-- SPDX-License-Identifier: Apache-2.0
-- kipper_gateway.challenge: the exact message, single-use nonces that expire (clock passed in),
-- and the proof: a signature by the key of the served certificate verifies and gives the pin
-- (SHA-256 of the SubjectPublicKeyInfo DER, checked against openssl); other keys, other messages
-- and junk do not.
local challenge = require "kipper_gateway.challenge"
local fs = require "kip.fs"
local helpers = require "helpers"
local proc = require "kip.proc"
local tls = require "kip.tls"

local function self_signed(key_type)
  local key = tls.generate_key(key_type or "ecdsa-p256")
  local cert = assert(tls.create_certificate({ key = key, subject = { CN = "203-0-113-10.kipper.run" },
    sans = { "203-0-113-10.kipper.run" }, days = 30 }))
  return key, cert
end

describe("kipper_gateway.challenge", function()
  it("builds the message byte for byte", function()
    assert.equal("kipper-gateway-challenge-v1\ncluster=203-0-113-10\nip=203.0.113.10\nnonce=N1\ntoken-sha256=abc",
      challenge.message("203-0-113-10", "203.0.113.10", "N1", "abc"))
  end)

  describe("nonces", function()
    local info = { cluster = "203-0-113-10", ip = "203.0.113.10", port = 443, scheme = "https", token_sha256 = "t" }

    it("are single use and carry the claim and the message", function()
      local book = challenge.new_book()
      local c = assert(book:issue(info, 1000))
      assert.equal(1600, c.expires_at)
      assert.equal(43, #c.nonce)
      assert.equal(challenge.message("203-0-113-10", "203.0.113.10", c.nonce, "t"), c.message)
      local got = assert(book:take(c.nonce, 1001))
      assert.equal("203-0-113-10", got.cluster)
      assert.equal(c.message, got.message)
      local again, why = book:take(c.nonce, 1001)
      assert.is_nil(again)
      assert.matches("unknown or already used", why)
    end)

    it("expire after ten minutes, and an expired one is used up too", function()
      local book = challenge.new_book()
      local c = assert(book:issue(info, 1000))
      local got, why = book:take(c.nonce, 1600)
      assert.is_nil(got)
      assert.matches("expired", why)
      assert.is_nil((book:take(c.nonce, 1000)))
    end)

    it("keep at most a few per cluster and a bounded total", function()
      local n = 0
      local book = challenge.new_book({ max_per_cluster = 2, max_total = 3, random = function() n = n + 1; return "n" .. n end })
      assert(book:issue(info, 0))
      assert(book:issue(info, 0))
      assert(book:issue(info, 0)) -- pushes n1 out
      assert.is_nil((book:take("n1", 1)))
      assert(book:take("n2", 1))
      local other = { cluster = "203-0-113-11", ip = "203.0.113.11", port = 443, scheme = "https", token_sha256 = "u" }
      assert(book:issue(other, 0))
      assert(book:issue(other, 0))
      local c, why = book:issue({ cluster = "203-0-113-12", ip = "203.0.113.12", port = 443, scheme = "https", token_sha256 = "v" }, 0)
      assert.is_nil(c)
      assert.matches("too many", why)
      book:drop("203-0-113-11")
      assert(book:issue({ cluster = "203-0-113-12", ip = "203.0.113.12", port = 443, scheme = "https", token_sha256 = "v" }, 0))
      book:sweep(600)
      assert.equal(0, book.total)
    end)
  end)

  describe("proofs", function()
    local message = challenge.message("203-0-113-10", "203.0.113.10", "N", string.rep("0", 64))

    for _, kt in ipairs({ "ecdsa-p256", "ed25519", "rsa-2048" }) do
      it("verify a " .. kt .. " signature by the served certificate's key and pin that key", function()
        local key, cert = self_signed(kt)
        local chain = cert:pem()
        local pin = assert(challenge.verify(chain, message, tls.base64url_encode(key:sign(message))))
        assert.equal(challenge.pin(key), pin)
        -- the pin as openssl computes it
        local dir = helpers.tmpdir()
        assert(fs.write(dir .. "/c.pem", chain))
        local r = assert(proc.run({ "sh", "-c", "openssl x509 -in c.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum" },
          { cwd = dir }))
        helpers.rmtree(dir)
        assert.equal(r.stdout:match("^(%x+)"), pin)
      end)
    end

    it("refuse another key, another message, a bad encoding and junk certificates", function()
      local key, cert = self_signed()
      local other = tls.generate_key("ecdsa-p256")
      local chain = cert:pem()
      local pin, why = challenge.verify(chain, message, tls.base64url_encode(other:sign(message)))
      assert.is_nil(pin)
      assert.matches("does not verify", why)
      assert.is_nil((challenge.verify(chain, message .. "\n", tls.base64url_encode(key:sign(message)))))
      assert.is_nil((challenge.verify(chain, message .. "x", tls.base64url_encode(key:sign(message)))))
      pin, why = challenge.verify(chain, message, "not base64url!")
      assert.is_nil(pin)
      assert.matches("base64url", why)
      pin, why = challenge.verify("junk", message, tls.base64url_encode(key:sign(message)))
      assert.is_nil(pin)
      assert.matches("cannot be read", why)
    end)

    it("use the leaf, the first certificate of the chain", function()
      local key, cert = self_signed()
      local _, ca = self_signed()
      local chain = cert:pem() .. ca:pem()
      assert(challenge.verify(chain, message, tls.base64url_encode(key:sign(message))))
      assert.is_nil((challenge.verify(ca:pem() .. cert:pem(), message, tls.base64url_encode(key:sign(message)))))
    end)
  end)
end)
