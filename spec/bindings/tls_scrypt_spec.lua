-- SPDX-License-Identifier: Apache-2.0
-- tls.scrypt against the RFC 7914 section 12 vectors and the `openssl kdf` tool; the default
-- parameters; option checks that raise; the host lock released while it runs (a kip.server
-- handler answers during a scrypt call on the main thread). Uses kip.tls, kip.proc, kip.server.
local tls = require "kip.tls"
local proc = require "kip.proc"
local server = require "kip.server"

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

describe("kip.tls.scrypt", function()
  it("matches RFC 7914 section 12, vectors 1 to 3", function()
    assert.equals("77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
      .. "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906",
      hex(tls.scrypt("", "", { N = 16, r = 1, p = 1, length = 64 })))
    assert.equals("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
      .. "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
      hex(tls.scrypt("password", "NaCl", { N = 1024, r = 8, p = 16, length = 64 })))
    assert.equals("7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
      .. "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887",
      hex(tls.scrypt("pleaseletmein", "SodiumChloride", { N = 16384, r = 8, p = 1, length = 64 })))
  end)

  it("defaults to N = 32768, r = 8, p = 1, 32 bytes, as `openssl kdf` computes it", function()
    local key = tls.scrypt("correct horse battery", "0123456789abcdef")
    assert.equals(32, #key)
    assert.equals(key, tls.scrypt("correct horse battery", "0123456789abcdef", { N = 32768, r = 8, p = 1, length = 32 }))
    local r = assert(proc.run({ "openssl", "kdf", "-keylen", "32", "-kdfopt", "pass:correct horse battery",
      "-kdfopt", "salt:0123456789abcdef", "-kdfopt", "n:32768", "-kdfopt", "r:8", "-kdfopt", "p:1",
      "-kdfopt", "maxmem_bytes:67108864", "SCRYPT" }, { timeout = 60 }))
    assert.equals(0, r.status, r.stderr)
    assert.equals(hex(key), (r.stdout:gsub("[:%s]", "")):lower())
  end)

  it("takes binary passwords and salts, and distinguishes them", function()
    local a = tls.scrypt("pass\0word", "salt", { N = 16, r = 1 })
    local b = tls.scrypt("pass", "salt", { N = 16, r = 1 })
    assert.not_equals(a, b)
    assert.not_equals(a, tls.scrypt("pass\0word", "salt\0", { N = 16, r = 1 }))
    assert.equals(1024, #tls.scrypt("x", "y", { N = 16, r = 1, length = 1024 }))
  end)

  it("raises on misuse", function()
    local bad = {
      { { N = 1 }, "N must be a power of two" },
      { { N = 0 }, "N must be a power of two" },
      { { N = 1000 }, "N must be a power of two" },
      { { N = 2 ^ 21 // 1 }, "N must be a power of two" },
      { { N = -16 }, "must not be negative" },
      { { N = 16.5 }, "must be an integer" },
      { { N = "16" }, "must be an integer" },
      { { r = 0 }, "r must be" },
      { { r = 33 }, "r must be" },
      { { p = 0 }, "p must be" },
      { { p = 17 }, "p must be" },
      { { N = 1048576 }, "MiB cap" },
      { { length = 0 }, "length must be" },
      { { length = 1025 }, "length must be" },
      { { n = 16 }, "unknown option 'n'" },
      { { 16 }, "unknown option '1'" },
    }
    for _, case in ipairs(bad) do
      local ok, err = pcall(tls.scrypt, "pw", "salt", case[1])
      assert.is_false(ok)
      assert.matches(case[2], err, 1, true)
    end
    assert.has_error(function() tls.scrypt(nil, "salt") end)
    assert.has_error(function() tls.scrypt("pw") end)
    assert.has_error(function() tls.scrypt("pw", "salt", "N=16") end)
    assert.has_error(function() tls.scrypt(("x"):rep(2 ^ 20 + 1), "salt", { N = 16, r = 1 }) end)
  end)

  it("releases the host lock while it runs, so server handlers answer meanwhile", function()
    local seen = false
    local srv <close> = assert(server.listen({ listen = "127.0.0.1:0", handler = function()
      seen = true
      return { status = 200, body = "ok" }
    end }))
    -- curl in another process makes the request; only a handler thread can set `seen`, and it
    -- needs the host lock, which this thread holds except inside blocking calls such as scrypt
    local curl = assert(proc.spawn({ "curl", "-s", "-o", "/dev/null", "http://127.0.0.1:" .. srv:port() .. "/" }))
    local calls = 0
    while not seen and calls < 600 do
      tls.scrypt("pw", "salt", { N = 16384, r = 8 })
      calls = calls + 1
    end
    local answered = seen -- before curl:wait, which releases the lock too
    curl:wait(30)
    assert.is_true(answered, "no request was answered during " .. calls .. " scrypt calls")
  end)
end)
