-- SPDX-License-Identifier: Apache-2.0
-- kip.util.ratelimit: token buckets keyed by any string (a client IP, a user), refilled at `rate`
-- tokens a second up to `burst`; a request costs tokens by kind (kipper-gateway's defaults: a read
-- 1, a POST more, a proof, which makes the gateway connect out, most). Shared by kipper-gateway's
-- registration API and kipperd's login limits. Pure, no requires: the caller passes the clock.
local M = {}

M.DEFAULT_RATE = 5
M.DEFAULT_BURST = 20
M.MAX_CLIENTS = 100000
-- what a request costs, by kind
M.COST = { read = 1, post = 4, proof = 10 }

local Limiter = {}
Limiter.__index = Limiter

---A limiter.
---@param opts? {rate?: number, burst?: number, max_clients?: integer, cost?: table<string, number>}
function M.new(opts)
  opts = opts or {}
  return setmetatable({
    rate = opts.rate or M.DEFAULT_RATE, burst = opts.burst or M.DEFAULT_BURST,
    max_clients = opts.max_clients or M.MAX_CLIENTS, cost = opts.cost or M.COST,
    buckets = {}, n = 0,
  }, Limiter)
end

---Takes the cost of one request of `kind` from key's bucket (ip names any key).
---@param ip string the bucket's key: a client IP, a user...
---@param kind string a key of the cost table (unknown kinds cost 1)
---@param now number seconds (any monotonic clock)
---@return boolean allowed
---@return integer|nil retry_after whole seconds until the request would be allowed
function Limiter:take(ip, kind, now)
  local cost = math.min(self.cost[kind] or 1, self.burst)
  local b = self.buckets[ip]
  if not b then
    if self.n >= self.max_clients then self:sweep(now) end
    if self.n >= self.max_clients then return false, 1 end
    b = { tokens = self.burst, at = now }
    self.buckets[ip] = b
    self.n = self.n + 1
  else
    b.tokens = math.min(self.burst, b.tokens + (now - b.at) * self.rate)
    b.at = now
  end
  if b.tokens >= cost then
    b.tokens = b.tokens - cost
    return true
  end
  return false, math.max(1, math.ceil((cost - b.tokens) / self.rate))
end

---Whether a request of `kind` would be allowed now, without taking anything.
---@return boolean allowed
---@return integer|nil retry_after whole seconds until it would be
function Limiter:peek(ip, kind, now)
  local cost = math.min(self.cost[kind] or 1, self.burst)
  local b = self.buckets[ip]
  if not b then return true end -- a new bucket starts full (take may still refuse when max_clients are tracked)
  local tokens = math.min(self.burst, b.tokens + (now - b.at) * self.rate)
  if tokens >= cost then return true end
  return false, math.max(1, math.ceil((cost - tokens) / self.rate))
end

---Gives back the cost of one request of `kind` (a refund), never above `burst`.
function Limiter:refund(ip, kind, now)
  local b = self.buckets[ip]
  if not b then return end
  b.tokens = math.min(self.burst, b.tokens + (now - b.at) * self.rate + math.min(self.cost[kind] or 1, self.burst))
  b.at = now
end

---Forgets key's bucket: its next request starts from a full one.
function Limiter:reset(ip)
  if self.buckets[ip] then
    self.buckets[ip] = nil
    self.n = self.n - 1
  end
end

---Forgets the buckets that have filled up again (clients that went quiet).
function Limiter:sweep(now)
  for ip, b in pairs(self.buckets) do
    if b.tokens + (now - b.at) * self.rate >= self.burst then
      self.buckets[ip] = nil
      self.n = self.n - 1
    end
  end
end

return M
