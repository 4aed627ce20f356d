-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.sessions: rotation, reuse detection (a replayed token revokes the family), absolute
-- and idle expiry on a fake clock, logout, epoch bumps, the per-user bound, the Set-Cookie value and
-- the Cookie parser against hostile headers. Uses kip.tls to check what the store keeps.
local sessions = require "kipperd.auth.sessions"
local tls = require "kip.tls"

-- A store on a clock the test moves, and a users table standing in for kipperd.auth.users.
local function fixture(opts)
  local t = { now = 1000, epochs = { ["ann@example.com"] = 1, ["bob@example.com"] = 7 } }
  opts = opts or {}
  opts.clock = function() return t.now end
  t.store = sessions.new(opts)
  t.epoch_of = function(email) return t.epochs[email] end
  return t
end

describe("kipperd.auth.sessions", function()
  describe("create and refresh", function()
    it("hands out random 32-byte tokens and keeps only their SHA-256", function()
      local f = fixture()
      local tok, s = f.store:create("ann@example.com", 1)
      assert.matches("^[%w_-]+$", tok)
      assert.equal(43, #tok)
      assert.equal("ann@example.com", s.email)
      assert.equal(1, s.epoch)
      assert.equal(1000 + 86400, s.expires_at) -- idle expiry comes first
      local tok2 = f.store:create("ann@example.com", 1)
      assert.not_equal(tok, tok2)
      -- nothing the store holds contains the token itself
      for k, v in pairs(f.store._by_hash) do
        assert.not_equal(tok, k)
        assert.not_equal(tok, v.current)
      end
      assert.is_table(f.store._by_hash[tls.sha256_hex(tok)])
    end)

    it("rotates: the new token works, the session keeps its id", function()
      local f = fixture()
      local t1, s1 = f.store:create("ann@example.com", 1)
      f.now = 1100
      local t2, s2 = f.store:refresh(t1, f.epoch_of)
      assert.is_string(t2)
      assert.not_equal(t1, t2)
      assert.equal(s1.id, s2.id)
      assert.equal(1100, s2.last_used)
      local t3, s3 = f.store:refresh(t2, f.epoch_of)
      assert.is_string(t3)
      assert.equal(s1.id, s3.id)
      assert.equal(1, f.store:count())
    end)

    it("revokes the whole family when a rotated-out token comes back", function()
      local f = fixture()
      local t1 = f.store:create("ann@example.com", 1)
      local t2 = assert(f.store:refresh(t1, f.epoch_of))
      local t3 = assert(f.store:refresh(t2, f.epoch_of))
      local other = f.store:create("ann@example.com", 1) -- another browser: not part of the family
      local tok, msg, code = f.store:refresh(t1, f.epoch_of) -- the attacker replays a stolen token
      assert.is_nil(tok)
      assert.matches("reused", msg)
      assert.equal("reused", code)
      -- the legitimate holder's current token is dead too, and so is every old one
      assert.same({ nil, "unknown refresh token", "invalid" }, { f.store:refresh(t3, f.epoch_of) })
      assert.equal("invalid", select(3, f.store:refresh(t2, f.epoch_of)))
      assert.is_string((f.store:refresh(other, f.epoch_of)))
      assert.equal(1, f.store:count())
    end)

    it("refuses malformed and unknown tokens without raising", function()
      local f = fixture()
      f.store:create("ann@example.com", 1)
      assert.equal("invalid", select(3, f.store:refresh(nil, f.epoch_of)))
      for _, bad in ipairs({ 42, {}, "", string.rep("a", 129), "a b", "a;b", "\0", "tok\r\n", "é",
        tls.random_token(32) }) do
        local tok, _, code = f.store:refresh(bad, f.epoch_of)
        assert.is_nil(tok)
        assert.equal("invalid", code)
      end
      assert.equal(1, f.store:count())
    end)

    it("raises on misuse", function()
      local f = fixture()
      assert.has_error(function() f.store:create(nil, 1) end)
      assert.has_error(function() f.store:create("ann@example.com", "1") end)
      assert.has_error(function() f.store:refresh("x", 1) end)
      assert.has_error(function() sessions.new({ ttl = 5 }) end)
      assert.has_error(function() sessions.new({ idle_ttl = 0 }) end)
      assert.has_error(function() sessions.new({ clock = 5 }) end)
    end)
  end)

  describe("expiry", function()
    it("ends a session idle for idle_ttl, even one refreshed before", function()
      local f = fixture({ idle_ttl = 100, absolute_ttl = 1000 })
      local t1 = f.store:create("ann@example.com", 1)
      f.now = 1099
      local t2 = assert(f.store:refresh(t1, f.epoch_of)) -- just in time: idle restarts
      f.now = 1198
      local t3 = assert(f.store:refresh(t2, f.epoch_of))
      f.now = 1298 -- exactly idle_ttl after the last use
      assert.same({ nil, "session expired", "expired" }, { f.store:refresh(t3, f.epoch_of) })
      assert.equal(0, f.store:count())
      assert.equal("invalid", select(3, f.store:refresh(t3, f.epoch_of)))
    end)

    it("ends a session absolute_ttl after login however often it is refreshed", function()
      local f = fixture({ idle_ttl = 100, absolute_ttl = 250 })
      local tok = f.store:create("ann@example.com", 1)
      for now = 1050, 1200, 50 do
        f.now = now
        tok = assert(f.store:refresh(tok, f.epoch_of))
      end
      f.now = 1249
      local _, s = assert(f.store:refresh(tok, f.epoch_of))
      assert.equal(1250, s.expires_at)
      tok = _
      f.now = 1250
      assert.equal("expired", select(3, f.store:refresh(tok, f.epoch_of)))
    end)

    it("sweeps expired sessions and lists only live ones", function()
      local f = fixture({ idle_ttl = 100 })
      f.store:create("ann@example.com", 1)
      f.now = 1050
      f.store:create("ann@example.com", 1)
      f.now = 1120
      assert.equal(1, #f.store:list("ann@example.com"))
      assert.equal(2, f.store:count())
      assert.equal(1, f.store:sweep())
      assert.equal(1, f.store:count())
      f.now = 2000
      assert.equal(1, f.store:sweep())
      assert.equal(0, f.store:count())
      assert.same({}, f.store:list("ann@example.com"))
    end)
  end)

  describe("revocation", function()
    it("logout revokes by the current or a rotated-out token, once", function()
      local f = fixture()
      local t1 = f.store:create("ann@example.com", 1)
      local t2 = assert(f.store:refresh(t1, f.epoch_of))
      assert.is_true(f.store:revoke(t2))
      assert.is_false(f.store:revoke(t2))
      assert.equal("invalid", select(3, f.store:refresh(t2, f.epoch_of))) -- replay after logout
      local t3 = f.store:create("ann@example.com", 1)
      local t4 = assert(f.store:refresh(t3, f.epoch_of))
      assert.is_true(f.store:revoke(t3))
      assert.equal("invalid", select(3, f.store:refresh(t4, f.epoch_of)))
      assert.is_false(f.store:revoke(nil))
      assert.is_false(f.store:revoke("nonsense"))
    end)

    it("a bumped sessions_epoch (password change) or a removed user revokes on the next refresh", function()
      local f = fixture()
      local ann = f.store:create("ann@example.com", 1)
      local bob = f.store:create("bob@example.com", 7)
      f.epochs["ann@example.com"] = 2
      assert.same({ nil, "session revoked", "revoked" }, { f.store:refresh(ann, f.epoch_of) })
      assert.equal("invalid", select(3, f.store:refresh(ann, f.epoch_of)))
      assert.is_string((f.store:refresh(bob, f.epoch_of)))
      f.epochs["bob@example.com"] = nil
      local bob2 = f.store:create("bob@example.com", 7)
      assert.equal("revoked", select(3, f.store:refresh(bob2, f.epoch_of)))
    end)

    it("revoke_user ends every session of one user at once", function()
      local f = fixture()
      local a1 = f.store:create("ann@example.com", 1)
      local a2 = f.store:create("ann@example.com", 1)
      local b = f.store:create("bob@example.com", 7)
      assert.equal(2, f.store:revoke_user("ann@example.com"))
      assert.equal(0, f.store:revoke_user("ann@example.com"))
      assert.is_nil((f.store:refresh(a1, f.epoch_of)))
      assert.is_nil((f.store:refresh(a2, f.epoch_of)))
      assert.is_string((f.store:refresh(b, f.epoch_of)))
      assert.equal(1, f.store:count())
    end)

    it("keeps at most max_per_user sessions, dropping the oldest", function()
      local f = fixture({ max_per_user = 3 })
      local toks = {}
      for i = 1, 5 do
        f.now = 1000 + i
        toks[i] = f.store:create("ann@example.com", 1)
      end
      assert.equal(3, f.store:count())
      assert.is_nil((f.store:refresh(toks[1], f.epoch_of)))
      assert.is_nil((f.store:refresh(toks[2], f.epoch_of)))
      for i = 3, 5 do assert.is_string((f.store:refresh(toks[i], f.epoch_of))) end
      local one = fixture({ max_per_user = 1 })
      one.store:create("ann@example.com", 1)
      local last = one.store:create("ann@example.com", 1)
      assert.equal(1, #one.store:list("ann@example.com"))
      assert.is_string((one.store:refresh(last, one.epoch_of)))
    end)

    it("forgets all but max_retired old hashes of a long-lived session", function()
      local f = fixture({ max_retired = 2 })
      local first = f.store:create("ann@example.com", 1)
      local tok = first
      for _ = 1, 5 do tok = assert(f.store:refresh(tok, f.epoch_of)) end
      local n = 0
      for _ in pairs(f.store._by_hash) do n = n + 1 end
      assert.equal(3, n) -- the current hash and two retired ones
      assert.equal("invalid", select(3, f.store:refresh(first, f.epoch_of))) -- too old to recognise
      assert.is_string((f.store:refresh(tok, f.epoch_of)))
    end)
  end)

  describe("cookie", function()
    it("sets HttpOnly, Secure, SameSite=Strict, the refresh path and Max-Age", function()
      local tok = tls.random_token(32)
      assert.equal("kipper_refresh=" .. tok .. "; Path=/api/v1/auth/refresh; Max-Age=604800; HttpOnly; Secure; SameSite=Strict",
        sessions.cookie(tok))
      assert.equal("kipper_refresh=" .. tok .. "; Path=/api/v1/auth/refresh; Max-Age=60; HttpOnly; SameSite=Strict",
        sessions.cookie(tok, { max_age = 60, secure = false }))
      assert.equal("r=" .. tok .. "; Path=/x; Max-Age=5; HttpOnly; Secure; SameSite=Strict",
        sessions.cookie(tok, { name = "r", path = "/x", max_age = 5 }))
      assert.equal("kipper_refresh=; Path=/api/v1/auth/refresh; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
        sessions.clear_cookie())
    end)

    it("refuses to build a cookie that would inject attributes", function()
      assert.has_error(function() sessions.cookie("a; Path=/") end)
      assert.has_error(function() sessions.cookie("a\r\nSet-Cookie: x=1") end)
      assert.has_error(function() sessions.cookie(nil) end)
      assert.has_error(function() sessions.cookie("a", { path = "/x; Domain=evil" }) end)
      assert.has_error(function() sessions.cookie("a", { path = "relative" }) end)
      assert.has_error(function() sessions.cookie("a", { name = "a=b" }) end)
      assert.has_error(function() sessions.cookie("a", { max_age = -1 }) end)
      assert.has_error(function() sessions.cookie("a", { max_age = 1.5 }) end)
      assert.has_error(function() sessions.cookie("a", { secure = "no" }) end)
    end)

    it("parses the refresh cookie out of a Cookie header", function()
      local tok = tls.random_token(32)
      assert.equal(tok, sessions.parse_cookie("kipper_refresh=" .. tok))
      assert.equal(tok, sessions.parse_cookie("theme=dark; kipper_refresh=" .. tok .. "; lang=en"))
      assert.equal(tok, sessions.parse_cookie("a=1;kipper_refresh=" .. tok .. ";b=2"))
      assert.equal(tok, sessions.parse_cookie(' kipper_refresh = "' .. tok .. '" '))
      assert.equal("v", sessions.parse_cookie("x=1; r=v", "r"))
      assert.equal(tok, sessions.parse_cookie("junk; =; ==; a b=c d; kipper_refresh=" .. tok)) -- other junk is skipped
    end)

    it("never raises and answers nil on hostile headers", function()
      local hostile = {
        42, {}, true, "", ";", ";;;;", "=", "kipper_refresh", "kipper_refresh=", "kipper_refresh=\"\"",
        "kipper_refresh=a; kipper_refresh=b", -- tossed: sent twice
        "kipper_refresh=a b", "kipper_refresh=a,b", "kipper_refresh=a\\b", "kipper_refresh=a\"b",
        "kipper_refresh=\"a", "kipper_refresh=a\0b", "kipper_refresh=a\r\nX-Evil: 1", "kipper_refresh=caf\xc3\xa9",
        "Kipper_Refresh=abc", "xkipper_refresh=abc", "kipper_refreshx=abc", "kipper_refresh x=abc",
        "kipper_refresh=" .. string.rep("a", 9000),
        string.rep("a=b; ", 2000) .. "kipper_refresh=abc",
        string.rep(";", 100000), string.rep("=", 100000), string.rep(" ", 8000) .. "=",
      }
      assert.is_nil(sessions.parse_cookie(nil))
      for i = 1, #hostile do
        local ok, v = pcall(sessions.parse_cookie, hostile[i])
        assert.is_true(ok, tostring(v))
        assert.is_nil(v, "case " .. i)
      end
      for _ = 1, 200 do -- random bytes never raise either
        local ok = pcall(sessions.parse_cookie, tls.random(64))
        assert.is_true(ok)
      end
      assert.has_error(function() sessions.parse_cookie("a=b", "bad name") end)
    end)
  end)
end)
