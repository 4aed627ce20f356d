-- SPDX-License-Identifier: Apache-2.0
-- kip.util.ratelimit: token buckets per key (client IP), with the clock passed in.
local ratelimit = require "kip.util.ratelimit"

describe("kip.util.ratelimit", function()
  it("allows a burst, then refills at the rate, telling when to retry", function()
    local lim = ratelimit.new({ rate = 5, burst = 20 })
    for i = 1, 20 do assert.is_true((lim:take("203.0.113.1", "read", 100)), "read " .. i) end
    local ok, retry = lim:take("203.0.113.1", "read", 100)
    assert.is_false(ok)
    assert.equal(1, retry)
    assert.is_true((lim:take("203.0.113.1", "read", 100.2)))
    assert.is_false((lim:take("203.0.113.1", "read", 100.2)))
  end)

  it("keeps one bucket per client", function()
    local lim = ratelimit.new({ rate = 1, burst = 1 })
    assert.is_true((lim:take("203.0.113.1", "read", 0)))
    assert.is_false((lim:take("203.0.113.1", "read", 0)))
    assert.is_true((lim:take("203.0.113.2", "read", 0)))
  end)

  it("makes POSTs and proofs cost more", function()
    local lim = ratelimit.new({ rate = 5, burst = 20 })
    for _ = 1, 5 do assert.is_true((lim:take("a", "post", 0))) end
    local ok, retry = lim:take("a", "post", 0)
    assert.is_false(ok)
    assert.equal(1, retry)
    lim = ratelimit.new({ rate = 5, burst = 20 })
    assert.is_true((lim:take("a", "proof", 0)))
    assert.is_true((lim:take("a", "proof", 0)))
    ok, retry = lim:take("a", "proof", 0)
    assert.is_false(ok)
    assert.equal(2, retry)
    assert.is_true((lim:take("a", "proof", 2)))
  end)

  it("caps a cost above the burst, so a request is never refused for good", function()
    local lim = ratelimit.new({ rate = 1, burst = 2 })
    assert.is_true((lim:take("a", "proof", 0)))
    assert.is_false((lim:take("a", "proof", 1)))
    assert.is_true((lim:take("a", "proof", 2)))
  end)

  it("forgets quiet clients and bounds how many it tracks", function()
    local lim = ratelimit.new({ rate = 1, burst = 2, max_clients = 2 })
    assert.is_true((lim:take("a", "read", 0)))
    assert.is_true((lim:take("b", "read", 0)))
    local ok, retry = lim:take("c", "read", 0)
    assert.is_false(ok)
    assert.equal(1, retry)
    assert.is_true((lim:take("c", "read", 1))) -- a and b filled up again and were swept
    lim:sweep(10)
    assert.equal(0, lim.n)
  end)

  it("peeks without taking, refunds up to the burst, and resets a key", function()
    local lim = ratelimit.new({ rate = 1, burst = 2 })
    assert.is_true((lim:peek("a", "read", 0)))
    assert.is_true((lim:take("a", "read", 0)))
    assert.is_true((lim:take("a", "read", 0)))
    for _ = 1, 3 do -- peeking never changes the answer
      local ok, retry = lim:peek("a", "read", 0)
      assert.is_false(ok)
      assert.equal(1, retry)
    end
    assert.is_false((lim:take("a", "read", 0)))
    lim:refund("a", "read", 0)
    assert.is_true((lim:take("a", "read", 0)))
    lim:refund("a", "read", 0)
    lim:refund("a", "read", 0)
    lim:refund("a", "read", 0) -- never above the burst
    assert.is_true((lim:take("a", "read", 0)))
    assert.is_true((lim:take("a", "read", 0)))
    assert.is_false((lim:take("a", "read", 0)))
    lim:reset("a")
    assert.equal(0, lim.n)
    assert.is_true((lim:take("a", "read", 0)))
    lim:reset("nobody") -- unknown keys are fine
    assert.equal(1, lim.n)
  end)
end)
