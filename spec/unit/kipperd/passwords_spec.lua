-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.passwords: scrypt round trips, wrong passwords, tampered salt, hash and parameters,
-- malformed stored strings (never raise), rehash detection and the policy for new passwords.
-- Uses kip.tls to build hashes by hand. Most cases use cheap parameters (N = 16, r = 1).
local passwords = require "kipperd.auth.passwords"
local tls = require "kip.tls"

local CHEAP = { N = 16, r = 1, p = 1 }

-- Splits a stored string into its six fields.
local function fields(stored)
  local t = {}
  for f in stored:gmatch("[^$]+") do t[#t + 1] = f end
  return t
end

-- A stored string built from fields (after the caller edits them).
local function join(t) return table.concat(t, "$") end

-- Flips the last bit of the base64url field i's decoded bytes.
local function flip(stored, i)
  local t = fields(stored)
  local raw = assert(tls.base64url_decode(t[i]))
  raw = raw:sub(1, -2) .. string.char(raw:byte(-1) ~ 1)
  t[i] = tls.base64url_encode(raw)
  return join(t)
end

describe("kipperd.auth.passwords", function()
  describe("hash and verify", function()
    it("round-trips under the current parameters, in the documented format", function()
      local stored = assert(passwords.hash("correct horse battery staple"))
      local salt64, hash64 = stored:match("^scrypt%$32768%$8%$1%$([%w_-]+)%$([%w_-]+)$")
      assert.is_string(salt64, stored)
      assert.equals(16, #tls.base64url_decode(salt64))
      assert.equals(32, #tls.base64url_decode(hash64))
      -- the hash is scrypt itself, not some other construction
      assert.equals(tls.scrypt("correct horse battery staple", tls.base64url_decode(salt64)), tls.base64url_decode(hash64))
      assert.is_true(passwords.verify("correct horse battery staple", stored))
      assert.is_false(passwords.verify("correct horse battery stapl", stored))
      assert.is_false(passwords.needs_rehash(stored))
    end)

    it("salts every hash afresh", function()
      local a = assert(passwords.hash("same password here", CHEAP))
      local b = assert(passwords.hash("same password here", CHEAP))
      assert.not_equals(fields(a)[5], fields(b)[5])
      assert.not_equals(fields(a)[6], fields(b)[6])
      assert.is_true(passwords.verify("same password here", a))
      assert.is_true(passwords.verify("same password here", b))
    end)

    it("refuses wrong passwords, including prefixes, case changes and NUL tricks", function()
      local stored = assert(passwords.hash("Secret\0Password", CHEAP))
      assert.is_true(passwords.verify("Secret\0Password", stored))
      for _, wrong in ipairs({ "Secret", "secret\0Password", "Secret\0Password ", "Secret\0Passwor", "x" }) do
        assert.is_false(passwords.verify(wrong, stored), wrong)
      end
    end)

    it("refuses empty, too long and non-string passwords", function()
      local ok, msg, code = passwords.hash("")
      assert.is_nil(ok)
      assert.matches("1 to 1024 bytes", msg, 1, true)
      assert.equals("invalid", code)
      assert.is_nil(passwords.hash(("x"):rep(1025)))
      assert.is_string(passwords.hash(("x"):rep(1024), CHEAP))
      assert.has_error(function() passwords.hash(nil) end)
      local stored = assert(passwords.hash("a good password", CHEAP))
      assert.is_false(passwords.verify("", stored))
      assert.is_false(passwords.verify(nil, stored))
      assert.is_false(passwords.verify(42, stored))
      assert.is_false(passwords.verify(("a good password"):rep(100), stored))
    end)

    it("returns false for a missing user (nil stored) after doing the same work", function()
      assert.is_false(passwords.verify("whatever it is", nil))
      assert.is_false(passwords.verify(nil, nil))
    end)
  end)

  describe("tampering", function()
    local stored
    before_each(function() stored = assert(passwords.hash("tamper with me please", CHEAP)) end)

    it("a changed hash or salt fails", function()
      assert.is_true(passwords.verify("tamper with me please", stored))
      assert.is_false(passwords.verify("tamper with me please", flip(stored, 6)))
      assert.is_false(passwords.verify("tamper with me please", flip(stored, 5)))
    end)

    it("changed parameters fail", function()
      for i, v in pairs({ [2] = "32", [3] = "2", [4] = "2" }) do
        local t = fields(stored)
        t[i] = v
        assert.is_false(passwords.verify("tamper with me please", join(t)), join(t))
      end
    end)

    it("a truncated or extended hash fails (scrypt's first 16 bytes are those of a 16-byte output)", function()
      local t = fields(stored)
      local raw = tls.base64url_decode(t[6])
      t[6] = tls.base64url_encode(raw:sub(1, 16))
      assert.is_false(passwords.verify("tamper with me please", join(t)))
      -- An extension byte other than scrypt's own 33rd byte (a fixed byte would match it 1 time in 256).
      local longer = tls.scrypt("tamper with me please", tls.base64url_decode(t[5]),
        { N = CHEAP.N, r = CHEAP.r, p = CHEAP.p, length = #raw + 1 })
      assert.equals(raw, longer:sub(1, #raw))
      t[6] = tls.base64url_encode(raw .. string.char(longer:byte(-1) ~ 0x5a))
      assert.is_false(passwords.verify("tamper with me please", join(t)))
    end)

    it("parameters scrypt refuses give false, never an error", function()
      for _, params in ipairs({ "3$1$1", "0$1$1", "65536$1$1", "1048576$8$1", "16$0$1", "16$99$1", "16$1$0", "16$1$99" }) do
        local t = fields(stored)
        local bad = ("scrypt$%s$%s$%s"):format(params, t[5], t[6])
        local ok, res = pcall(passwords.verify, "tamper with me please", bad)
        assert.is_true(ok, res)
        assert.is_false(res, bad)
      end
    end)
  end)

  describe("malformed stored strings", function()
    local salt = tls.base64url_encode(("s"):rep(16))
    local hash = tls.base64url_encode(("h"):rep(32))
    local cases = {
      "", "scrypt", "scrypt$", "scrypt$$$$$", "bcrypt$16$1$1$" .. salt .. "$" .. hash,
      "scrypt$16$1$1$" .. salt, "scrypt$16$1$1$" .. salt .. "$" .. hash .. "$extra",
      "scrypt$016$1$1$" .. salt .. "$" .. hash, "scrypt$-16$1$1$" .. salt .. "$" .. hash,
      "scrypt$16.0$1$1$" .. salt .. "$" .. hash, "scrypt$99999999999999999999$1$1$" .. salt .. "$" .. hash,
      "scrypt$16$1$1$" .. salt .. "$" .. hash .. "=", "scrypt$16$1$1$" .. salt .. "+$" .. hash,
      "scrypt$16$1$1$A$" .. hash, "scrypt$16$1$1$" .. salt .. "$AAAA",
      "scrypt$16$1$1$" .. salt .. "$" .. tls.base64url_encode(("h"):rep(65)),
      "scrypt$16$1$1$" .. salt .. "$" .. tls.base64url_encode(("h"):rep(31)),
      " scrypt$16$1$1$" .. salt .. "$" .. hash, "scrypt$16$1$1$" .. salt .. "$" .. hash .. "\n",
      ("x"):rep(10000), "scrypt$16$1$1$" .. ("A"):rep(600) .. "$" .. hash,
    }

    it("verify gives false, parse gives nil and a message, needs_rehash gives true", function()
      for _, s in ipairs(cases) do
        local ok, res = pcall(passwords.verify, "any password at all", s)
        assert.is_true(ok, res)
        assert.is_false(res, s)
        local rec, msg = passwords.parse(s)
        assert.is_nil(rec, s)
        assert.is_string(msg)
        assert.is_true(passwords.needs_rehash(s), s)
      end
      for _, v in ipairs({ 42, true, {}, function() end }) do
        assert.is_false(passwords.verify("any password at all", v))
        assert.is_true(passwords.needs_rehash(v))
      end
    end)

    it("the well-formed control case parses", function()
      local rec = assert(passwords.parse("scrypt$16$1$1$" .. salt .. "$" .. hash))
      assert.same({ N = 16, r = 1, p = 1, salt = ("s"):rep(16), hash = ("h"):rep(32) }, rec)
    end)
  end)

  describe("needs_rehash", function()
    local salt16 = tls.base64url_encode(("s"):rep(16))
    local hash32 = tls.base64url_encode(("h"):rep(32))
    local function stored(n, r, p, salt, hash)
      return ("scrypt$%d$%d$%d$%s$%s"):format(n, r, p, salt or salt16, hash or hash32)
    end

    it("is false at or above the current parameters", function()
      assert.is_false(passwords.needs_rehash(stored(32768, 8, 1)))
      assert.is_false(passwords.needs_rehash(stored(65536, 8, 1)))
      assert.is_false(passwords.needs_rehash(stored(32768, 16, 2)))
    end)

    it("is true below them, for a short salt and for a hash that does not parse", function()
      assert.is_true(passwords.needs_rehash(stored(16384, 8, 1)))
      assert.is_true(passwords.needs_rehash(stored(65536, 4, 1)))
      assert.is_true(passwords.needs_rehash(stored(32768, 8, 1, tls.base64url_encode(("s"):rep(8)))))
      assert.is_true(passwords.needs_rehash(stored(32768, 8, 1, nil, tls.base64url_encode(("h"):rep(16)))))
      local cheap = assert(passwords.hash("an old cheap hash", CHEAP))
      assert.is_true(passwords.needs_rehash(cheap))
      assert.is_true(passwords.verify("an old cheap hash", cheap))
    end)
  end)

  describe("check_policy", function()
    it("accepts 12 characters or more", function()
      assert.is_true(passwords.check_policy("twelve chars"))
      assert.is_true(passwords.check_policy(("x"):rep(1024)))
      assert.is_true(passwords.check_policy("ünïcødé-pässwörd"))
    end)

    it("refuses short ones with a message saying how long they must be", function()
      local ok, msg = passwords.check_policy("eleven char")
      assert.is_nil(ok)
      assert.equals("the password is too short: at least 12 characters, this one has 11", msg)
      -- characters, not bytes: 11 two-byte characters are 22 bytes and still too short
      ok, msg = passwords.check_policy(("é"):rep(11))
      assert.is_nil(ok)
      assert.matches("this one has 11", msg, 1, true)
    end)

    it("refuses empty, too long, whitespace-only, invalid UTF-8 and non-strings", function()
      assert.same({ nil, "a password is required" }, { passwords.check_policy("") })
      assert.same({ nil, "a password is required" }, { passwords.check_policy(nil) })
      assert.same({ nil, "the password is too long: at most 1024 bytes" }, { passwords.check_policy(("x"):rep(1025)) })
      assert.same({ nil, "the password must not be only spaces" }, { passwords.check_policy((" "):rep(20)) })
      assert.same({ nil, "the password is not valid UTF-8 text" }, { passwords.check_policy(("\xff"):rep(20)) })
    end)
  end)
end)
