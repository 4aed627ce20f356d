-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.sessions: the console's refresh sessions, kept in memory (kipperd is one process;
-- a restart logs everyone out, which is the safe failure). A refresh token is rotated on every use
-- and stored only as its SHA-256; a rotated-out token presented again revokes its whole family
-- (reuse detection). Sessions expire absolutely and when idle, die with the user's sessions_epoch
-- (bumped on password change), and are bounded per user. Also the refresh cookie: Set-Cookie
-- values and a strict, never-raising Cookie header parser. Uses kip.tls and kip.host.
local host = require "kip.host"
local tls = require "kip.tls"

local M = {}

M.COOKIE_NAME = "kipper_refresh"
M.REFRESH_PATH = "/api/v1/auth/refresh"
M.DEFAULT_ABSOLUTE_TTL = 7 * 86400 -- seconds from login
M.DEFAULT_IDLE_TTL = 86400 -- seconds from the last refresh
M.DEFAULT_MAX_PER_USER = 10 -- the oldest session goes when a user opens one more
M.DEFAULT_MAX_RETIRED = 64 -- rotated-out hashes remembered per session, for reuse detection
M.TOKEN_BYTES = 32
M.MAX_TOKEN_LENGTH = 128 -- longer presented tokens are refused before hashing
M.MAX_COOKIE_HEADER = 8192 -- longer Cookie headers are not parsed
local SWEEP_EVERY = 64 -- creates between two sweeps of expired sessions

local Store = {}
Store.__index = Store

local function positive_int(v, what)
  if math.type(v) ~= "integer" or v < 1 then error("sessions.new: " .. what .. " must be a positive integer", 3) end
  return v
end

---A session store.
---@param opts? {clock?: fun(): number, absolute_ttl?: integer, idle_ttl?: integer, max_per_user?: integer, max_retired?: integer}
---clock defaults to host.monotonic (sessions never outlive the process, so durations suffice).
---@return table store
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("sessions.new: opts must be a table", 2) end
  for k in pairs(opts) do
    if not ({ clock = 1, absolute_ttl = 1, idle_ttl = 1, max_per_user = 1, max_retired = 1 })[k] then
      error("sessions.new: unknown option " .. tostring(k), 2)
    end
  end
  local clock = opts.clock or host.monotonic
  if type(clock) ~= "function" then error("sessions.new: clock must be a function", 2) end
  return setmetatable({
    clock = clock,
    absolute_ttl = positive_int(opts.absolute_ttl or M.DEFAULT_ABSOLUTE_TTL, "absolute_ttl"),
    idle_ttl = positive_int(opts.idle_ttl or M.DEFAULT_IDLE_TTL, "idle_ttl"),
    max_per_user = positive_int(opts.max_per_user or M.DEFAULT_MAX_PER_USER, "max_per_user"),
    max_retired = positive_int(opts.max_retired or M.DEFAULT_MAX_RETIRED, "max_retired"),
    _by_hash = {}, -- sha256 hex -> family (its current token's hash and its retired ones)
    _by_user = {}, -- email -> list of families, oldest first
    _count = 0, _creates = 0, _next_id = 0,
  }, Store)
end

-- A copy of a family's public fields: callers never hold the store's tables.
local function view(fam)
  return {
    id = fam.id, email = fam.email, epoch = fam.epoch, created_at = fam.created_at,
    last_used = fam.last_used, expires_at = math.min(fam.created_at + fam.absolute_ttl, fam.last_used + fam.idle_ttl),
  }
end

-- Removes a family and every hash that points at it.
function Store:_drop(fam)
  if fam.dropped then return end
  fam.dropped = true
  self._by_hash[fam.current] = nil
  for _, h in ipairs(fam.retired) do self._by_hash[h] = nil end
  local list = self._by_user[fam.email]
  if list then
    for i, f in ipairs(list) do
      if f == fam then table.remove(list, i) break end
    end
    if #list == 0 then self._by_user[fam.email] = nil end
  end
  self._count = self._count - 1
end

function Store:_expired(fam, now)
  return now >= fam.created_at + fam.absolute_ttl or now >= fam.last_used + fam.idle_ttl
end

-- A fresh token and its hash, or nil, message, code.
local function new_token()
  local token, err, code = tls.random_token(M.TOKEN_BYTES)
  if not token then return nil, err, code end
  return token, tls.sha256_hex(token)
end

---Opens a session for a user who just logged in.
---@param email string
---@param sessions_epoch integer the user's current epoch
---@return string|nil token the refresh token (for the cookie; the store keeps only its hash)
---@return table|string session {id, email, epoch, created_at, last_used, expires_at}, or a message
---@return string? code on failure ("io" from the random generator)
function Store:create(email, sessions_epoch)
  if type(email) ~= "string" or email == "" then error("sessions:create: email must be a non-empty string", 2) end
  if math.type(sessions_epoch) ~= "integer" then error("sessions:create: sessions_epoch must be an integer", 2) end
  local token, hash, code = new_token()
  if not token then return nil, hash, code end
  local now = self.clock()
  self._creates = self._creates + 1
  if self._creates % SWEEP_EVERY == 0 then self:sweep() end
  self._next_id = self._next_id + 1
  local fam = {
    id = self._next_id, email = email, epoch = sessions_epoch, created_at = now, last_used = now,
    absolute_ttl = self.absolute_ttl, idle_ttl = self.idle_ttl, current = hash, retired = {},
  }
  local old = self._by_user[email]
  while old and #old >= self.max_per_user do self:_drop(old[1]) end
  local list = self._by_user[email] -- _drop removes an emptied list
  if not list then
    list = {}
    self._by_user[email] = list
  end
  list[#list + 1] = fam
  self._by_hash[hash] = fam
  self._count = self._count + 1
  return token, view(fam)
end

-- The family a presented token belongs to (current or retired), or nil; never raises.
function Store:_find(token)
  if type(token) ~= "string" or #token == 0 or #token > M.MAX_TOKEN_LENGTH or token:find("[^%w_-]") then
    return nil
  end
  local hash = tls.sha256_hex(token)
  local fam = self._by_hash[hash]
  return fam, hash
end

---Trades a refresh token for a new one (rotation). Never raises on the token: whatever a client
---sends is refused with a reason. A rotated-out token revokes its whole session ("reused").
---@param token any the presented refresh token
---@param epoch_of fun(email: string): integer|nil the user's current sessions_epoch, nil if the user is gone
---@return string|nil token the new refresh token
---@return table|string session, or a message
---@return string? code "invalid" (unknown or malformed), "reused", "expired", "revoked" (epoch bumped or user gone), or tls's code
function Store:refresh(token, epoch_of)
  if type(epoch_of) ~= "function" then error("sessions:refresh: epoch_of must be a function", 2) end
  local fam, hash = self:_find(token)
  if not fam then return nil, "unknown refresh token", "invalid" end
  if hash ~= fam.current then
    self:_drop(fam)
    return nil, "refresh token reused; the session is revoked", "reused"
  end
  local now = self.clock()
  if self:_expired(fam, now) then
    self:_drop(fam)
    return nil, "session expired", "expired"
  end
  local epoch = epoch_of(fam.email)
  if epoch ~= fam.epoch then
    self:_drop(fam)
    return nil, "session revoked", "revoked"
  end
  local new, new_hash, code = new_token()
  if not new then return nil, new_hash, code end -- the old token stays valid: nothing was rotated
  fam.retired[#fam.retired + 1] = hash
  if #fam.retired > self.max_retired then
    self._by_hash[table.remove(fam.retired, 1)] = nil
  end
  fam.current = new_hash
  fam.last_used = now
  self._by_hash[new_hash] = fam
  return new, view(fam)
end

---Logout: revokes the session a token belongs to (current or rotated-out). Never raises on the token.
---@return boolean revoked whether a session was found
function Store:revoke(token)
  local fam = self:_find(token)
  if not fam then return false end
  self:_drop(fam)
  return true
end

---Revokes every session of a user (password change, removal, role change).
---@return integer count how many were revoked
function Store:revoke_user(email)
  local list = self._by_user[email]
  if not list then return 0 end
  local n = #list
  for i = n, 1, -1 do self:_drop(list[i]) end
  return n
end

---A user's live sessions, oldest first (copies).
---@return table[]
function Store:list(email)
  local out, now = {}, self.clock()
  for _, fam in ipairs(self._by_user[email] or {}) do
    if not self:_expired(fam, now) then out[#out + 1] = view(fam) end
  end
  return out
end

---Drops expired sessions (create does so now and then; kipperd may call it on a tick).
---@return integer dropped
function Store:sweep()
  local now, dead = self.clock(), {}
  for _, list in pairs(self._by_user) do
    for _, fam in ipairs(list) do
      if self:_expired(fam, now) then dead[#dead + 1] = fam end
    end
  end
  for _, fam in ipairs(dead) do self:_drop(fam) end
  return #dead
end

---How many sessions are held (expired ones included until swept).
function Store:count() return self._count end

-- what RFC 6265's cookie-octet excludes: controls, space, DQUOTE, comma, semicolon, backslash, DEL, non-ASCII
local BAD_OCTET = "[\0-\32\34\44\59\92\127-\255]"
-- RFC 7230 token characters, for cookie names
local TOKEN_CHARS = "^[!#$%%&'*+%-.^_`|~%w]+$"
-- a cookie path: visible ASCII but semicolon
local PATH_CHARS = "^/[!-:<-~]*$"

---A Set-Cookie value for the refresh cookie. Raises on a token, name or path that cannot be
---sent safely (the server made them). Pass an empty token with max_age 0 to clear the cookie.
---@param token string
---@param opts? {name?: string, path?: string, max_age?: integer, secure?: boolean}
---name defaults to COOKIE_NAME, path to REFRESH_PATH, max_age to DEFAULT_ABSOLUTE_TTL; secure
---defaults to true (false only for the plain-http sandbox).
---@return string
function M.cookie(token, opts)
  opts = opts or {}
  local name = opts.name or M.COOKIE_NAME
  local path = opts.path or M.REFRESH_PATH
  local max_age = opts.max_age or M.DEFAULT_ABSOLUTE_TTL
  if type(token) ~= "string" or token:find(BAD_OCTET) then error("sessions.cookie: token has characters a cookie cannot carry", 2) end
  if type(name) ~= "string" or not name:find(TOKEN_CHARS) then error("sessions.cookie: bad cookie name", 2) end
  if type(path) ~= "string" or not path:find(PATH_CHARS) then error("sessions.cookie: path must start with / and hold no ; or controls", 2) end
  if math.type(max_age) ~= "integer" or max_age < 0 then error("sessions.cookie: max_age must be an integer >= 0", 2) end
  local secure = opts.secure
  if secure == nil then secure = true end
  if type(secure) ~= "boolean" then error("sessions.cookie: secure must be a boolean", 2) end
  return string.format("%s=%s; Path=%s; Max-Age=%d; HttpOnly;%s SameSite=Strict", name, token, path, max_age,
    secure and " Secure;" or "")
end

---The Set-Cookie value that clears the refresh cookie (logout).
---@param opts? {name?: string, path?: string, secure?: boolean}
function M.clear_cookie(opts)
  opts = opts or {}
  return M.cookie("", { name = opts.name, path = opts.path, secure = opts.secure, max_age = 0 })
end

---The value of cookie `name` in a Cookie request header, or nil. Strict and never raises on the
---header: a missing, non-string, oversized header, a value outside RFC 6265's cookie-octets, or a
---name sent twice (cookie tossing) all give nil. Other malformed pairs are skipped.
---@param header any the Cookie header as received
---@param name? string defaults to COOKIE_NAME
---@return string|nil value
function M.parse_cookie(header, name)
  name = name or M.COOKIE_NAME
  if type(name) ~= "string" or not name:find(TOKEN_CHARS) then error("sessions.parse_cookie: bad cookie name", 2) end
  if type(header) ~= "string" or #header > M.MAX_COOKIE_HEADER then return nil end
  local found
  for pair in (header .. ";"):gmatch("([^;]*);") do
    local k, v = pair:match("^[ \t]*([^=]-)[ \t]*=[ \t]*(.-)[ \t]*$")
    if k == name then
      if found then return nil end -- sent twice: refuse rather than guess which one
      local inner = v:match('^"(.*)"$')
      if inner then v = inner end
      if v == "" or v:find(BAD_OCTET) then return nil end
      found = v
    end
  end
  return found
end

return M
