-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.login_limit: login attempts limited per user and per client IP, as failures per
-- window (by default 5 per 15 minutes per user, 20 per client) with two kip.util.ratelimit token
-- buckets. Every attempt is charged up front, before the password is checked, so concurrent guesses
-- cannot slip past the count; success refunds the client's charge and resets the user's bucket.
-- Refusals say how long to wait (for Retry-After). In memory: kipperd is one process.
local host = require "kip.host"
local ratelimit = require "kip.util.ratelimit"

local M = {}

M.DEFAULT_USER_FAILURES = 5
M.DEFAULT_CLIENT_FAILURES = 20
M.DEFAULT_WINDOW = 900 -- seconds over which that many failures are allowed
M.DEFAULT_MAX_KEYS = 100000 -- users and clients tracked each; when full, new keys wait
M.MAX_KEY_LENGTH = 320 -- longer emails are cut to this (they cannot be real accounts)

local Limiter = {}
Limiter.__index = Limiter

---A login limiter.
---@param opts? {user_failures?: integer, client_failures?: integer, window?: integer, max_keys?: integer, clock?: fun(): number}
---clock defaults to host.monotonic.
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("login_limit.new: opts must be a table", 2) end
  for k, v in pairs(opts) do
    if k == "clock" then
      if type(v) ~= "function" then error("login_limit.new: clock must be a function", 2) end
    elseif ({ user_failures = 1, client_failures = 1, window = 1, max_keys = 1 })[k] then
      if math.type(v) ~= "integer" or v < 1 then error("login_limit.new: " .. k .. " must be a positive integer", 2) end
    else
      error("login_limit.new: unknown option " .. tostring(k), 2)
    end
  end
  local window = opts.window or M.DEFAULT_WINDOW
  local max_keys = opts.max_keys or M.DEFAULT_MAX_KEYS
  local function bucket(n)
    return ratelimit.new({ rate = n / window, burst = n, max_clients = max_keys, cost = {} })
  end
  return setmetatable({
    clock = opts.clock or host.monotonic,
    users = bucket(opts.user_failures or M.DEFAULT_USER_FAILURES),
    clients = bucket(opts.client_failures or M.DEFAULT_CLIENT_FAILURES),
  }, Limiter)
end

-- The user's bucket key: emails compare case-insensitively, so "Ann@" and "ann@" share one.
local function user_key(email)
  if type(email) ~= "string" then return "" end
  return email:sub(1, M.MAX_KEY_LENGTH):lower()
end

local function client_key(ip)
  if type(ip) ~= "string" then return "" end
  return ip:sub(1, M.MAX_KEY_LENGTH)
end

---Charges one login attempt to the user and the client before the password is checked. Never
---raises on its arguments (they come from the request).
---@param email any as typed at login
---@param ip any the client's address
---@return boolean allowed
---@return integer|nil retry_after whole seconds to wait when refused (the longer of the two limits)
function Limiter:attempt(email, ip)
  local now, u, c = self.clock(), user_key(email), client_key(ip)
  local uok, uwait = self.users:peek(u, "login", now)
  local cok, cwait = self.clients:peek(c, "login", now)
  if not (uok and cok) then return false, math.max(uwait or 0, cwait or 0) end
  local ok, wait = self.users:take(u, "login", now)
  if not ok then return false, wait end -- only when max_keys users are tracked
  ok, wait = self.clients:take(c, "login", now)
  if not ok then
    self.users:refund(u, "login", now)
    return false, wait
  end
  return true
end

---After a successful login: the user starts afresh and the client gets its attempt back.
function Limiter:success(email, ip)
  self.users:reset(user_key(email))
  self.clients:refund(client_key(ip), "login", self.clock())
end

---Whether an attempt would be allowed now, without charging (for a status page or a hint).
---@return boolean allowed
---@return integer|nil retry_after
function Limiter:check(email, ip)
  local now = self.clock()
  local uok, uwait = self.users:peek(user_key(email), "login", now)
  local cok, cwait = self.clients:peek(client_key(ip), "login", now)
  if uok and cok then return true end
  return false, math.max(uwait or 0, cwait or 0)
end

---Forgets users and clients whose buckets have filled up again (kipperd may call it on a tick).
function Limiter:sweep()
  local now = self.clock()
  self.users:sweep(now)
  self.clients:sweep(now)
end

return M
