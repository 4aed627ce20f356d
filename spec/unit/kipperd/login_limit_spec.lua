-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.login_limit: failures per user and per client on a fake clock, Retry-After values,
-- success resetting the user, case-folded emails, hostile arguments, and the key bound.
local login_limit = require "kipperd.auth.login_limit"

-- A limiter on a clock the test moves: 5 failures per 900 s per user, 20 per client by default.
local function fixture(opts)
  local t = { now = 0 }
  opts = opts or {}
  opts.clock = function() return t.now end
  t.lim = login_limit.new(opts)
  return t
end

-- Charges n failed attempts, asserting each was allowed.
local function fail(lim, n, email, ip)
  for i = 1, n do
    assert.is_true((lim:attempt(email, ip)), "attempt " .. i)
  end
end

describe("kipperd.auth.login_limit", function()
  it("allows 5 failures per user, then says how long to wait, and refills over the window", function()
    local f = fixture()
    fail(f.lim, 5, "ann@example.com", "192.0.2.1")
    local ok, wait = f.lim:attempt("ann@example.com", "192.0.2.9") -- another client: still the same user
    assert.is_false(ok)
    assert.is_true(wait >= 180 and wait <= 181, tostring(wait)) -- one attempt back every 900 / 5 s
    assert.is_false((f.lim:check("ann@example.com", "192.0.2.1")))
    assert.is_true((f.lim:attempt("bob@example.com", "192.0.2.1"))) -- other users are untouched
    f.now = 181
    assert.is_true((f.lim:attempt("ann@example.com", "192.0.2.1")))
    assert.is_false((f.lim:attempt("ann@example.com", "192.0.2.1")))
    f.now = 181 + 900
    fail(f.lim, 5, "ann@example.com", "192.0.2.2")
  end)

  it("refused attempts are not charged again", function()
    local f = fixture()
    fail(f.lim, 5, "ann@example.com", "192.0.2.1")
    for _ = 1, 50 do assert.is_false((f.lim:attempt("ann@example.com", "192.0.2.1"))) end
    -- the client paid for 5 attempts only: 15 more for other users
    for i = 1, 15 do assert.is_true((f.lim:attempt("u" .. i .. "@example.com", "192.0.2.1")), "user " .. i) end
    assert.is_false((f.lim:attempt("u16@example.com", "192.0.2.1")))
  end)

  it("limits a client spraying many users to 20 failures", function()
    local f = fixture()
    for i = 1, 20 do assert.is_true((f.lim:attempt("u" .. i .. "@example.com", "198.51.100.7")), "user " .. i) end
    local ok, wait = f.lim:attempt("u21@example.com", "198.51.100.7")
    assert.is_false(ok)
    assert.equal(45, wait) -- 900 / 20
    -- the refused client did not cost u21 anything
    fail(f.lim, 5, "u21@example.com", "198.51.100.8")
    assert.is_true((f.lim:attempt("x@example.com", "198.51.100.8")))
  end)

  it("answers the longer wait when both limits refuse", function()
    local f = fixture({ user_failures = 2, client_failures = 3, window = 60 })
    fail(f.lim, 2, "ann@example.com", "192.0.2.1")
    fail(f.lim, 1, "bob@example.com", "192.0.2.1")
    local ok, wait = f.lim:attempt("ann@example.com", "192.0.2.1")
    assert.is_false(ok)
    assert.equal(30, wait) -- the user's 60 / 2, longer than the client's 60 / 3
  end)

  it("success resets the user's failures and gives the client its attempt back", function()
    local f = fixture({ user_failures = 3, client_failures = 4 })
    fail(f.lim, 2, "ann@example.com", "192.0.2.1")
    fail(f.lim, 1, "ann@example.com", "192.0.2.1")
    f.lim:success("ann@example.com", "192.0.2.1")
    fail(f.lim, 1, "ann@example.com", "192.0.2.1")
    fail(f.lim, 2, "ann@example.com", "192.0.2.2") -- 3 for ann since the success
    assert.is_false((f.lim:attempt("ann@example.com", "192.0.2.3")))
    fail(f.lim, 1, "bob@example.com", "192.0.2.1") -- the client's 4th: the success cost nothing
    assert.is_false((f.lim:attempt("carol@example.com", "192.0.2.1")))
  end)

  it("counts emails case-insensitively", function()
    local f = fixture({ user_failures = 2 })
    fail(f.lim, 1, "Ann@Example.com", "192.0.2.1")
    fail(f.lim, 1, "ann@example.com", "192.0.2.2")
    assert.is_false((f.lim:attempt("ANN@EXAMPLE.COM", "192.0.2.3")))
  end)

  it("never raises on what a request sends", function()
    local f = fixture({ user_failures = 2 })
    for _, v in ipairs({ 42, {}, true, "", string.rep("a", 100000), "\0\255" }) do
      assert.is_boolean((f.lim:attempt(v, v)))
      f.lim:success(v, v)
    end
    -- missing values share one bucket rather than escaping the limit
    fail(f.lim, 2, nil, "192.0.2.1")
    assert.is_false((f.lim:attempt(nil, "192.0.2.2")))
    -- very long emails share the bucket of their first 320 bytes
    local long = string.rep("b", 320)
    fail(f.lim, 2, long .. "1", "192.0.2.3")
    assert.is_false((f.lim:attempt(long .. "2", "192.0.2.4")))
  end)

  it("bounds the users it tracks: when full, new users wait until buckets refill", function()
    local f = fixture({ max_keys = 2, user_failures = 1, client_failures = 100 })
    fail(f.lim, 1, "a@example.com", "192.0.2.1")
    fail(f.lim, 1, "b@example.com", "192.0.2.1")
    local ok, wait = f.lim:attempt("c@example.com", "192.0.2.1")
    assert.is_false(ok)
    assert.is_true(wait >= 1)
    f.now = 900
    f.lim:sweep()
    assert.is_true((f.lim:attempt("c@example.com", "192.0.2.1")))
  end)

  it("does not charge the user when a full client table refuses the attempt", function()
    local f = fixture({ max_keys = 1, user_failures = 2, client_failures = 2 })
    fail(f.lim, 1, "a@example.com", "192.0.2.1")
    assert.is_false((f.lim:attempt("a@example.com", "192.0.2.2"))) -- no room for a second client
    fail(f.lim, 1, "a@example.com", "192.0.2.1") -- a still had this one
    assert.is_false((f.lim:attempt("a@example.com", "192.0.2.1")))
  end)

  it("raises on misuse", function()
    assert.has_error(function() login_limit.new({ window = 0 }) end)
    assert.has_error(function() login_limit.new({ user_failures = 1.5 }) end)
    assert.has_error(function() login_limit.new({ clock = 1 }) end)
    assert.has_error(function() login_limit.new({ per_user = 5 }) end)
  end)
end)
