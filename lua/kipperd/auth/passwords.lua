-- SPDX-License-Identifier: Apache-2.0
-- kipperd's local-user passwords: scrypt hashes stored as "scrypt$N$r$p$<salt>$<hash>" (salt and
-- hash unpadded base64url), checked in constant time, flagged for rehashing when their parameters
-- fall below the current ones; and the policy for new passwords. Uses kip.tls (scrypt, random,
-- equal, base64url). Each hash or verify takes ~50-100 ms: call it from a request thread.
local tls = require "kip.tls"

local M = {}

M.N, M.R, M.P = 32768, 8, 1 -- the current scrypt parameters (RFC 7914's interactive-login choice)
M.HASH_LEN = 32 -- bytes of derived key
M.SALT_LEN = 16 -- bytes of random salt
M.MIN_CHARS = 12 -- the policy for new passwords
M.MAX_BYTES = 1024 -- longer passwords are refused outright (and never hashed)

-- What parse accepts; tls.scrypt enforces the rest (power of two, memory). A hash shorter than
-- HASH_LEN is refused: scrypt's output is a prefix of its longer outputs, so a truncated hash
-- would still verify, with fewer bits to guess.
local MIN_SALT, MIN_HASH, MAX_HASH = 8, M.HASH_LEN, 64

-- Stands in for a missing user's hash, so that an unknown email costs as much as a wrong password.
local DUMMY_SALT = ("\0"):rep(M.SALT_LEN)

local function usable(password)
  return type(password) == "string" and #password > 0 and #password <= M.MAX_BYTES
end

-- A decimal without sign or leading zeros, at most 8 digits, as an integer; nil otherwise.
local function parse_uint(s)
  if not s:match("^[1-9]%d?%d?%d?%d?%d?%d?%d?$") then return nil end
  return math.tointeger(tonumber(s))
end

---Parses a stored hash. Never raises.
---@param stored any
---@return {N: integer, r: integer, p: integer, salt: string, hash: string}|nil
---@return string? message
function M.parse(stored)
  if type(stored) ~= "string" or #stored > 512 then return nil, "not a stored password hash" end
  local n, r, p, salt64, hash64 = stored:match("^scrypt%$(%d+)%$(%d+)%$(%d+)%$([%w_-]+)%$([%w_-]+)$")
  if not n then return nil, "not a stored password hash (scrypt$N$r$p$salt$hash)" end
  n, r, p = parse_uint(n), parse_uint(r), parse_uint(p)
  if not (n and r and p) then return nil, "bad scrypt parameters" end
  local salt, hash = tls.base64url_decode(salt64), tls.base64url_decode(hash64)
  if not (salt and hash) then return nil, "bad base64url in the stored hash" end
  if #salt < MIN_SALT or #hash < MIN_HASH or #hash > MAX_HASH then return nil, "bad salt or hash length" end
  return { N = n, r = r, p = p, salt = salt, hash = hash }
end

---Hashes a password with a fresh 16-byte salt under the current parameters (or params, for tests
---and migrations).
---@param password string 1 to 1024 bytes
---@param params? {N?: integer, r?: integer, p?: integer}
---@return string|nil stored "scrypt$N$r$p$<salt>$<hash>"
---@return string? message
---@return string? code "invalid" for an empty or too long password
function M.hash(password, params)
  if type(password) ~= "string" then error("passwords.hash: password must be a string", 2) end
  if not usable(password) then
    return nil, ("a password must be 1 to %d bytes long"):format(M.MAX_BYTES), "invalid"
  end
  params = params or {}
  local n, r, p = params.N or M.N, params.r or M.R, params.p or M.P
  local salt, err, code = tls.random(M.SALT_LEN)
  if not salt then return nil, err, code end
  local key
  key, err, code = tls.scrypt(password, salt, { N = n, r = r, p = p, length = M.HASH_LEN })
  if not key then return nil, err, code end
  return ("scrypt$%d$%d$%d$%s$%s"):format(n, r, p, tls.base64url_encode(salt), tls.base64url_encode(key))
end

---Whether password matches stored, compared in constant time. Never raises: a malformed stored
---string, parameters tls.scrypt refuses or a password that is not 1 to 1024 bytes give false.
---A nil stored (no such user) still runs one derivation with the current parameters, so that an
---unknown user takes as long as a wrong password.
---@param password any
---@param stored string|nil
---@return boolean
function M.verify(password, stored)
  if stored == nil then
    pcall(tls.scrypt, usable(password) and password or "", DUMMY_SALT, { N = M.N, r = M.R, p = M.P, length = M.HASH_LEN })
    return false
  end
  if not usable(password) then return false end
  local rec = M.parse(stored)
  if not rec then return false end
  local ok, key = pcall(tls.scrypt, password, rec.salt, { N = rec.N, r = rec.r, p = rec.p, length = #rec.hash })
  if not ok or type(key) ~= "string" then return false end
  return tls.equal(key, rec.hash)
end

---Whether stored should be replaced by a new hash (after a successful login): its parameters or
---salt length are below the current ones, or it does not parse.
---@param stored any
---@return boolean
function M.needs_rehash(stored)
  local rec = M.parse(stored)
  if not rec then return true end
  return rec.N < M.N or rec.r < M.R or rec.p < M.P or #rec.salt < M.SALT_LEN
end

---The policy for a new password (at create, reset and change): at least 12 characters (UTF-8
---characters, not bytes), at most 1024 bytes, not only whitespace.
---@param password any
---@return boolean|nil ok
---@return string? message for the user
function M.check_policy(password)
  if type(password) ~= "string" or password == "" then return nil, "a password is required" end
  if #password > M.MAX_BYTES then
    return nil, ("the password is too long: at most %d bytes"):format(M.MAX_BYTES)
  end
  local chars = utf8.len(password)
  if not chars then return nil, "the password is not valid UTF-8 text" end
  if chars < M.MIN_CHARS then
    return nil, ("the password is too short: at least %d characters, this one has %d"):format(M.MIN_CHARS, chars)
  end
  if not password:find("%S") then return nil, "the password must not be only spaces" end
  return true
end

return M
