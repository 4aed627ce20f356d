-- SPDX-License-Identifier: Apache-2.0
-- kip.domain.message: cluster ids from IPv4 addresses, the exact challenge message, the check
-- that refuses to sign anything but that message, and signatures the cluster's key verifies.
local message = require "kip.domain.message"
local tls = require "kip.tls"

describe("kip.domain.message", function()
  local TOKEN = "tok-abc_123"
  local want = { cluster = "203-0-113-10", ip = "203.0.113.10", token = TOKEN }

  it("makes cluster ids from IPv4 addresses only", function()
    assert.equal("203-0-113-10", message.cluster_id("203.0.113.10"))
    assert.equal("0-0-0-0", message.cluster_id("0.0.0.0"))
    for _, bad in ipairs({ "203.0.113", "203.0.113.256", "203.0.113.010", "2001:db8::1", "host.example", "1.2.3.4 ", "" }) do
      assert.is_nil(message.cluster_id(bad), bad)
    end
    assert.equal("203-0-113-10.kipper.run", message.domain("203-0-113-10", "kipper.run"))
    assert.equal("https://console-203-0-113-10.kipper.run", message.console_url("203-0-113-10", "kipper.run"))
  end)

  it("builds the message byte for byte: LF line ends, no trailing LF, the token's sha256", function()
    local text = message.text({ cluster = "203-0-113-10", ip = "203.0.113.10", nonce = "n0nce", token = TOKEN })
    assert.equal("kipper-gateway-challenge-v1\ncluster=203-0-113-10\nip=203.0.113.10\nnonce=n0nce\ntoken-sha256=" ..
      tls.sha256_hex(TOKEN), text)
    assert.is_nil(text:find("\r", 1, true))
    assert.not_equal("\n", text:sub(-1))
  end)

  it("accepts the gateway's challenge only when it is exactly the message for this cluster, ip, nonce and token", function()
    local good = message.text({ cluster = want.cluster, ip = want.ip, nonce = "abc", token = TOKEN })
    assert.equal(good, (message.check({ nonce = "abc", message = good }, want)))
    local cases = {
      { nonce = "abc", message = good .. "\n" },
      { nonce = "abc", message = good:gsub("\n", "\r\n") },
      { nonce = "xyz", message = good },
      { nonce = "abc", message = message.text({ cluster = "198-51-100-7", ip = "198.51.100.7", nonce = "abc", token = TOKEN }) },
      { nonce = "abc", message = message.text({ cluster = want.cluster, ip = want.ip, nonce = "abc", token = "other" }) },
      { nonce = "abc", message = "GET / HTTP/1.1\r\n\r\n" },
      { nonce = "a\nb", message = good },
      { nonce = "abc" },
      { message = good },
    }
    for i, c in ipairs(cases) do
      local text, why = message.check(c, want)
      assert.is_nil(text, "case " .. i)
      assert.is_string(why)
    end
    assert.is_nil((message.check(nil, want)))
  end)

  it("signs with the key so that its public half verifies the base64url signature", function()
    for _, typ in ipairs({ "ecdsa-p256", "ed25519", "rsa-2048" }) do
      local key = tls.generate_key(typ)
      local text = message.text({ cluster = want.cluster, ip = want.ip, nonce = "abc", token = TOKEN })
      local sig = message.sign(key, text)
      assert.matches("^[%w_%-]+$", sig)
      assert.is_true(key:public_key():verify(text, assert(tls.base64url_decode(sig))), typ)
      assert.is_false(key:public_key():verify(text .. "x", assert(tls.base64url_decode(sig))), typ)
    end
  end)
end)
