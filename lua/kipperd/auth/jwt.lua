-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.jwt: the console API's short-lived access tokens, compact JWS (RFC 7515/7519) signed
-- with Ed25519 (alg "EdDSA", RFC 8037). The algorithm is fixed here: a token's header never picks
-- it. A signer issues with its current key and verifies against a set of public keys by kid, so a
-- rotated-out key keeps verifying until it is removed. verify never raises on untrusted input; it
-- returns the claims or nil, reason, code ("expired" or "invalid"). A token verified once is
-- remembered (up to M.SEEN_MAX, forgotten when the accepted keys change): its next uses check only
-- its times, which spares kipperd an Ed25519 verification per API request. Uses kip.tls and kip.json.
local tls = require "kip.tls"
local json = require "kip.json"

local M = {}

M.ALG = "EdDSA"
M.MAX_TOKEN_LENGTH = 8192 -- bytes; longer tokens are refused before any decoding
M.DEFAULT_TTL = 900
M.DEFAULT_LEEWAY = 30 -- seconds of clock skew tolerated on exp, nbf and iat
M.SEEN_MAX = 4096 -- verified tokens remembered (their signature is not checked again; times are)

-- the claims issue sets itself; callers may not pass them
local RESERVED = { iss = true, aud = true, iat = true, nbf = true, exp = true, jti = true }
-- the only header fields accepted (no jwk, jku, x5u, x5c, crit...)
local HEADER_FIELDS = { alg = true, typ = true, kid = true }

local function is_ed25519(key)
  if type(key) ~= "userdata" then return false end
  local ok, t = pcall(function() return key:type() end)
  return ok and t == "ed25519"
end

local function is_private(key)
  local ok, p = pcall(function() return key:is_private() end)
  return ok and p == true
end

local function check_kid(kid)
  if type(kid) ~= "string" or #kid == 0 or #kid > 128 or kid:find("[^%w%._%-]") then
    error("jwt: kid must be 1 to 128 characters of [A-Za-z0-9._-]", 3)
  end
end

---A kid derived from a key's public half: 16 base64url characters of the SHA-256 of its public PEM.
---@param key userdata kip.tls.Key
---@return string
function M.key_id(key)
  return tls.base64url_encode(tls.sha256(key:public_pem()):sub(1, 12))
end

---A new Ed25519 signing key.
---@return userdata kip.tls.Key
function M.generate_key()
  return tls.generate_key("ed25519")
end

---The private key as PKCS#8 PEM (to keep it in a Secret).
---@param key userdata a private Ed25519 kip.tls.Key
---@return string
function M.key_to_pem(key)
  if not is_ed25519(key) then error("jwt.key_to_pem: not an Ed25519 kip.tls.Key", 2) end
  return key:private_pem()
end

---Reads an Ed25519 key (private, or public for a verify-only key) from PEM.
---@param pem string
---@return userdata|nil key
---@return string|nil error
function M.load_key(pem)
  if type(pem) ~= "string" then return nil, "PEM text expected" end
  local ok, key, err = pcall(tls.load_key, pem)
  if not ok then return nil, tostring(key) end
  if not key then return nil, err end
  if key:type() ~= "ed25519" then return nil, "not an Ed25519 key (" .. key:type() .. ")" end
  return key
end

local Signer = {}
Signer.__index = Signer

---A signer. opts.key (private Ed25519 kip.tls.Key) is required; kid defaults to jwt.key_id(key),
---issuer to "kipperd", audience to "kipper-console", ttl to 900 s, leeway to 30 s, clock to os.time.
---@param opts {key: userdata, kid?: string, issuer?: string, audience?: string, ttl?: integer, leeway?: integer, clock?: fun(): number}
function M.new_signer(opts)
  if type(opts) ~= "table" then error("jwt.new_signer: options table expected", 2) end
  local key = opts.key
  if not is_ed25519(key) or not is_private(key) then
    error("jwt.new_signer: key must be a private Ed25519 kip.tls.Key", 2)
  end
  local kid = opts.kid or M.key_id(key)
  check_kid(kid)
  local issuer, audience = opts.issuer or "kipperd", opts.audience or "kipper-console"
  if type(issuer) ~= "string" or issuer == "" then error("jwt.new_signer: issuer must be a non-empty string", 2) end
  if type(audience) ~= "string" or audience == "" then error("jwt.new_signer: audience must be a non-empty string", 2) end
  local ttl, leeway = opts.ttl or M.DEFAULT_TTL, opts.leeway or M.DEFAULT_LEEWAY
  if math.type(ttl) ~= "integer" or ttl <= 0 then error("jwt.new_signer: ttl must be a positive integer", 2) end
  if math.type(leeway) ~= "integer" or leeway < 0 then error("jwt.new_signer: leeway must be a non-negative integer", 2) end
  local clock = opts.clock or os.time
  if type(clock) ~= "function" then error("jwt.new_signer: clock must be a function", 2) end
  for k in pairs(opts) do
    if not ({ key = 1, kid = 1, issuer = 1, audience = 1, ttl = 1, leeway = 1, clock = 1 })[k] then
      error("jwt.new_signer: unknown option " .. tostring(k), 2)
    end
  end
  local self = setmetatable({
    issuer = issuer, audience = audience, ttl = ttl, leeway = leeway, clock = clock,
    _key = key, _kid = kid, _verify = {}, _seen = {}, _seen_count = 0,
  }, Signer)
  self._verify[kid] = key:public_key()
  return self
end

---The kid tokens are issued with now.
function Signer:kid() return self._kid end

---Accepts tokens signed by key (its public half is kept) under kid from now on.
---@param kid string
---@param key userdata an Ed25519 kip.tls.Key, private or public
function Signer:add_verify_key(kid, key)
  check_kid(kid)
  if not is_ed25519(key) then error("jwt: add_verify_key: key must be an Ed25519 kip.tls.Key", 2) end
  self._verify[kid] = key:public_key()
  self:_forget()
end

---Stops accepting tokens signed under kid. The current signing kid cannot be removed.
---@param kid string
function Signer:remove_verify_key(kid)
  if kid == self._kid then error("jwt: remove_verify_key: " .. kid .. " is the current signing key", 2) end
  self._verify[kid] = nil
  self:_forget()
end

---The kids accepted by verify, sorted.
---@return string[]
function Signer:verify_kids()
  local out = {}
  for kid in pairs(self._verify) do out[#out + 1] = kid end
  table.sort(out)
  return out
end

---The public key accepted under kid, or nil.
---@param kid string
---@return userdata|nil
function Signer:verify_key(kid)
  return type(kid) == "string" and rawget(self._verify, kid) or nil
end

---Signs with a new current key; the previous one keeps verifying until remove_verify_key.
---@param key userdata a private Ed25519 kip.tls.Key
---@param kid? string defaults to jwt.key_id(key)
function Signer:rotate(key, kid)
  if not is_ed25519(key) or not is_private(key) then
    error("jwt: rotate: key must be a private Ed25519 kip.tls.Key", 2)
  end
  kid = kid or M.key_id(key)
  check_kid(kid)
  self._key, self._kid = key, kid
  self._verify[kid] = key:public_key()
  self:_forget()
end

---A signed token carrying claims plus iss, aud, iat, nbf, exp and jti (which claims may not set).
---@param claims? table JSON-encodable object (sub, role, ...)
---@return string token
---@return table claims the full claim set as signed
function Signer:issue(claims)
  claims = claims or {}
  if type(claims) ~= "table" or json.is_array(claims) then error("jwt: issue: claims must be a table", 2) end
  local full = {}
  for k, v in pairs(claims) do
    if type(k) ~= "string" then error("jwt: issue: claim names must be strings", 2) end
    if RESERVED[k] then error("jwt: issue: claim " .. k .. " is set by the signer", 2) end
    full[k] = v
  end
  local now = math.floor(self.clock())
  full.iss, full.aud = self.issuer, self.audience
  full.iat, full.nbf, full.exp = now, now, now + self.ttl
  full.jti = tls.random_token(16)
  local header = assert(json.encode({ alg = M.ALG, typ = "JWT", kid = self._kid }))
  local payload, err = json.encode(full)
  if not payload then error("jwt: issue: claims are not JSON: " .. tostring(err), 2) end
  local input = tls.base64url_encode(header) .. "." .. tls.base64url_encode(payload)
  return input .. "." .. tls.base64url_encode(self._key:sign(input)), full
end

local function invalid(reason) return nil, reason, "invalid" end

-- base64url text (no padding) to a JSON object, or nil
local function decode_object(part)
  local ok, bytes = pcall(tls.base64url_decode, part)
  if not ok or type(bytes) ~= "string" then return nil end
  local ok2, value = pcall(json.decode, bytes)
  if not ok2 or type(value) ~= "table" or json.is_array(value) then return nil end
  return value
end

local function is_number(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

---The token's claims when it is well-formed, signed by a known key, for this issuer and audience,
---and within its validity; else nil, reason and "expired" (only past exp) or "invalid".
---Never raises, whatever token is.
---@param token any
---@return table|nil claims
---@return string|nil reason
---@return "expired"|"invalid"|nil code
function Signer:verify(token)
  local seen = type(token) == "string" and self._seen[token]
  local claims, reason, code
  if seen then
    claims = seen
  else
    claims, reason, code = self:_verify_signature(token)
    if not claims then return nil, reason, code end
  end
  claims, reason, code = self:_check_times(claims)
  if not claims then return nil, reason, code end
  if not seen then
    -- remember what was proven (signature, issuer, audience) for this exact token; the times are
    -- checked on every use, and any change of the accepted keys forgets it all
    if self._seen_count >= M.SEEN_MAX then self:_forget() end
    self._seen[token] = claims
    self._seen_count = self._seen_count + 1
  end
  local copy = {}
  for k, v in pairs(claims) do copy[k] = v end
  return copy
end

-- Everything but the times: form, header, algorithm, key, signature, issuer, audience.
function Signer:_verify_signature(token)
  if type(token) ~= "string" then return invalid("token is not a string") end
  if #token > M.MAX_TOKEN_LENGTH then return invalid("token is too long") end
  local h, p, s = token:match("^([%w_%-]+)%.([%w_%-]+)%.([%w_%-]+)$")
  if not h then return invalid("malformed token") end
  local header = decode_object(h)
  if not header then return invalid("malformed token header") end
  for k in pairs(header) do
    if not HEADER_FIELDS[k] then return invalid("unsupported token header field") end
  end
  if header.alg ~= M.ALG then return invalid("unsupported token algorithm") end
  if header.typ ~= nil and header.typ ~= "JWT" then return invalid("unsupported token type") end
  local kid = header.kid
  local key = type(kid) == "string" and rawget(self._verify, kid) or nil
  if not key then return invalid("unknown signing key") end
  local okd, sig = pcall(tls.base64url_decode, s)
  if not okd or type(sig) ~= "string" or #sig ~= 64 then return invalid("malformed token signature") end
  local okv, good = pcall(key.verify, key, h .. "." .. p, sig)
  if not okv or good ~= true then return invalid("bad token signature") end
  local claims = decode_object(p)
  if not claims then return invalid("malformed token claims") end
  if claims.iss ~= self.issuer then return invalid("wrong token issuer") end
  local aud, aud_ok = claims.aud, false
  if aud == self.audience then
    aud_ok = true
  elseif type(aud) == "table" and json.is_array(aud) then
    for _, a in ipairs(aud) do
      if a == self.audience then aud_ok = true end
    end
  end
  if not aud_ok then return invalid("wrong token audience") end
  if not is_number(claims.exp) then return invalid("token has no expiry") end
  for _, name in ipairs({ "nbf", "iat" }) do
    local v = claims[name]
    if v ~= nil and not is_number(v) then return invalid("token " .. name .. " is not a number") end
  end
  return claims
end

-- exp, nbf and iat against the clock now, with the leeway.
function Signer:_check_times(claims)
  local okc, now = pcall(self.clock)
  if not okc or not is_number(now) then return invalid("no clock") end
  local leeway = self.leeway
  for _, name in ipairs({ "nbf", "iat" }) do
    local v = claims[name]
    if v ~= nil and v > now + leeway then return invalid("token is not valid yet") end
  end
  if now >= claims.exp + leeway then return nil, "token has expired", "expired" end
  return claims
end

-- Forgets every verified token (the accepted keys changed, or the memo is full).
function Signer:_forget()
  self._seen, self._seen_count = {}, 0
end

return M
