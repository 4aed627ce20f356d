-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.auth: the console API's auth endpoints under /api/v1/auth (login, refresh, logout,
-- me, password) and bearer-token authentication for every other endpoint. Access tokens are
-- EdDSA JWTs (kipperd.auth.jwt; issuer kipperd, audience kipper-console, 15 min) carrying sub (the
-- e-mail), role and sessions_epoch; the signing key lives in Secret kipper-system/kipperd-jwt-key
-- (made at first start). Refresh tokens live in kipperd.auth.sessions, sent as an HttpOnly,
-- SameSite=Strict cookie scoped to /api/v1/auth (refresh and logout). The API authenticates by
-- the Authorization header only, never by cookie (CSRF). Logins are limited per user and client
-- (kipperd.auth.login_limit). Uses kipperd.auth.*, kipperd.api.router, kip.tls and kip.log.
local jwt = require "kipperd.auth.jwt"
local log = require "kip.log"
local login_limit = require "kipperd.auth.login_limit"
local router = require "kipperd.api.router"
local sessions = require "kipperd.auth.sessions"
local tls = require "kip.tls"
local users = require "kipperd.auth.users"

local M = {}

M.KEY_NAMESPACE = "kipper-system"
M.KEY_SECRET = "kipperd-jwt-key"
M.KEY_DATA = "key.pem"
M.ISSUER = "kipperd"
M.AUDIENCE = "kipper-console"
M.TTL = 900
M.COOKIE_PATH = "/api/v1/auth" -- refresh and logout both need the cookie
M.BASE = "/api/v1/auth"

local BAD_LOGIN = "wrong e-mail or password"

---The JWT signer, its key read from Secret kipper-system/kipperd-jwt-key, or made and stored there
---when the Secret does not exist (a concurrent creator wins: its key is read back).
---@param c table a kip.k8s client
---@return table|nil signer
---@return string? message
---@return string? code
function M.load_signer(c)
  for _ = 1, 3 do
    local secret, err, code = c:get("v1", "Secret", M.KEY_SECRET, M.KEY_NAMESPACE)
    if secret then
      local pem = secret.data and secret.data[M.KEY_DATA] and tls.base64_decode(secret.data[M.KEY_DATA])
      local key, kerr = jwt.load_key(pem)
      if not key then
        return nil, string.format("Secret %s/%s: %s is not an Ed25519 private key: %s", M.KEY_NAMESPACE, M.KEY_SECRET,
          M.KEY_DATA, tostring(kerr)), "invalid"
      end
      local ok, signer = pcall(jwt.new_signer, { key = key, issuer = M.ISSUER, audience = M.AUDIENCE, ttl = M.TTL })
      if not ok then return nil, tostring(signer), "invalid" end
      return signer
    end
    if code ~= "notfound" then return nil, err, code end
    local key = jwt.generate_key()
    local ok, cerr, ccode = c:create({ apiVersion = "v1", kind = "Secret", type = "Opaque",
      metadata = { name = M.KEY_SECRET, namespace = M.KEY_NAMESPACE,
        labels = { ["app.kubernetes.io/managed-by"] = "kipper" } },
      data = { [M.KEY_DATA] = tls.base64_encode(jwt.key_to_pem(key)) } }, { field_manager = "kipperd" })
    if ok then
      log.info("made the console's token signing key", { secret = M.KEY_NAMESPACE .. "/" .. M.KEY_SECRET })
    elseif ccode ~= "alreadyexists" then
      return nil, cerr, ccode
    end
  end
  return nil, "the signing key Secret kept changing", "conflict"
end

local Api = {}
Api.__index = Api

---The auth API.
---@param opts {client: table, users?: table, signer?: table, secure_cookies?: boolean, sessions?: table, limiter?: table}
---client: a kip.k8s client (the signing key); users: what kipperd.auth.users reads and writes
---through (kipperd.auth.user_cache; default client); signer: until set (set_signer), auth answers
---503; secure_cookies (default true): the refresh cookie's Secure attribute.
function M.new(opts)
  local self = setmetatable({
    client = assert(opts.client, "auth.new: client is required"),
    users = opts.users or opts.client,
    signer = opts.signer,
    secure = opts.secure_cookies ~= false,
    sessions = opts.sessions or sessions.new(),
    limiter = opts.limiter or login_limit.new(),
    epochs = {}, -- email -> the newest sessions_epoch seen (every live session began with a login here)
  }, Api)
  return self
end

function Api:set_signer(signer) self.signer = signer end

---Drops expired sessions and refilled rate-limit buckets (call now and then).
function Api:sweep()
  self.sessions:sweep()
  self.limiter:sweep()
end

local function unavailable()
  return router.error(503, "kipperd is starting: the token signing key is not loaded yet", "Try again in a few seconds.")
end

local function api_failure(err)
  log.warn("console API: the users could not be read", { error = tostring(err) })
  return router.error(503, "the cluster API did not answer", "Try again in a few seconds.")
end

-- users.authenticate through the users' copy; when the copy refuses and the API holds a newer
-- users Secret than the one checked (a password set elsewhere whose watch event was not applied
-- yet, or was applied while scrypt ran), once more.
function Api:_authenticate(email, password)
  local seen = self.users.version and self.users:version()
  local user, err, code = users.authenticate(self.users, email, password)
  if user or err or not seen or not self.users:refresh(seen) then return user, err, code end
  return users.authenticate(self.users, email, password)
end

function Api:_cookie(token)
  return sessions.cookie(token, { path = M.COOKIE_PATH, secure = self.secure })
end

function Api:_clear_cookie()
  return sessions.clear_cookie({ path = M.COOKIE_PATH, secure = self.secure })
end

function Api:_note_epoch(email, epoch)
  local cur = self.epochs[email]
  if not cur or epoch > cur then self.epochs[email] = epoch end
end

-- The token answer for a user and a refresh token.
function Api:_issue(user, refresh)
  local token, claims = self.signer:issue({ sub = user.email, role = user.role, sessions_epoch = user.sessions_epoch })
  return router.json(200, {
    token = token, token_type = "Bearer", expires_in = self.signer.ttl,
    expires_at = os.date("!%Y-%m-%dT%H:%M:%SZ", claims.exp),
    user = { email = user.email, role = user.role },
  }, { ["Set-Cookie"] = self:_cookie(refresh) })
end

local function unauthorized(message, hint)
  return router.error(401, message, hint, { ["WWW-Authenticate"] = 'Bearer realm="kipper", error="invalid_token"' })
end

M.WS_TOKEN_PREFIX = "bearer."

---The bearer token a WebSocket upgrade carries in Sec-WebSocket-Protocol (browsers cannot set
---Authorization there): the offered protocol "bearer.TOKEN", as in
---`new WebSocket(url, ["kipper.logs.v1", "bearer." + token])`.
---@param req table kip.server request
---@return string|nil token
function M.websocket_token(req)
  local offered = (req.headers or {})["sec-websocket-protocol"]
  if type(offered) ~= "string" then return nil end
  for p in offered:gmatch("[^,%s]+") do
    if p:sub(1, #M.WS_TOKEN_PREFIX) == M.WS_TOKEN_PREFIX then return p:sub(#M.WS_TOKEN_PREFIX + 1) end
  end
end

---Authenticates a token (an access token from login or refresh): the user (a view, current from
---the users Secret) and the claims, or nil and the 401/503 response.
---@param token string|nil
---@return table|nil user
---@return table claims_or_response
function Api:authenticate_token(token)
  if not self.signer then return nil, unavailable() end
  if type(token) ~= "string" or not token:match("^[%w%-_%.]+$") then return nil, unauthorized("invalid token") end
  local claims, _, code = self.signer:verify(token)
  if not claims then
    if code == "expired" then return nil, unauthorized("the token has expired", "Refresh it with POST /api/v1/auth/refresh.") end
    return nil, unauthorized("invalid token")
  end
  if type(claims.sub) ~= "string" or math.type(claims.sessions_epoch) ~= "integer" then
    return nil, unauthorized("invalid token")
  end
  local user, err, ecode = users.get(self.users, claims.sub)
  if not user then
    if ecode == "notfound" or ecode == "invalid" then return nil, unauthorized("invalid token") end
    return nil, api_failure(err)
  end
  self:_note_epoch(user.email, user.sessions_epoch)
  if user.sessions_epoch ~= claims.sessions_epoch then
    return nil, unauthorized("the token was revoked", "Log in again.")
  end
  return user, claims
end

---Authenticates a request by its bearer token only (cookies are never looked at): the
---Authorization header, or for a WebSocket upgrade the offered subprotocol "bearer.TOKEN"
---(M.websocket_token). The user and the claims, or nil and the 401/503 response.
---@param req table kip.server request
---@return table|nil user
---@return table claims_or_response
function Api:authenticate(req)
  if not self.signer then return nil, unavailable() end
  local auth = (req.headers or {})["authorization"]
  local token = type(auth) == "string" and auth:match("^[Bb]earer +([%w%-_%.]+)%s*$")
  if not token and req.websocket then token = M.websocket_token(req) end
  if not token then
    local hint = req.websocket and "Offer the subprotocol bearer.TOKEN (Sec-WebSocket-Protocol: kipper.logs.v1, bearer.TOKEN)."
      or "Send Authorization: Bearer TOKEN (from POST /api/v1/auth/login)."
    return nil, router.error(401, "authentication required", hint, { ["WWW-Authenticate"] = 'Bearer realm="kipper"' })
  end
  return self:authenticate_token(token)
end

function Api:login(req)
  if not self.signer then return unavailable() end
  local body, bad = router.body(req)
  if not body then return bad end
  local email, password = body.email, body.password
  if type(email) ~= "string" or email == "" or type(password) ~= "string" or password == "" then
    return router.error(400, "email and password are required", 'Send {"email": "...", "password": "..."}.')
  end
  local allowed, wait = self.limiter:attempt(email, req.remote_addr)
  if not allowed then
    wait = math.max(1, math.ceil(wait or 1))
    return router.error(429, "too many login attempts", string.format("Try again in %d seconds.", wait),
      { ["Retry-After"] = tostring(wait) })
  end
  local user, err = self:_authenticate(email, password)
  if not user then
    if err then return api_failure(err) end
    log.info("console login refused", { client = req.remote_addr })
    return router.error(401, BAD_LOGIN)
  end
  self.limiter:success(email, req.remote_addr)
  self:_note_epoch(user.email, user.sessions_epoch)
  local refresh, sess = self.sessions:create(user.email, user.sessions_epoch)
  if not refresh then return router.error(500, "cannot open a session: " .. tostring(sess)) end
  log.info("console login", { user = user.email, client = req.remote_addr })
  return self:_issue(user, refresh)
end

function Api:refresh(req)
  if not self.signer then return unavailable() end
  local token = sessions.parse_cookie((req.headers or {})["cookie"])
  if not token then return router.error(401, "no session", "Log in with POST /api/v1/auth/login.") end
  -- rotation first, against the newest epoch this process saw (no wait in between, so two
  -- concurrent uses of one token cannot both rotate); then the user as stored now
  local new, sess, code = self.sessions:refresh(token, function(email) return self.epochs[email] end)
  if not new then
    if code == "reused" then log.warn("refresh token reused: session revoked", { client = req.remote_addr }) end
    local msg = code == "reused" and "the session was revoked (refresh token reused)"
      or code == "expired" and "the session has expired" or code == "revoked" and "the session was revoked"
      or "no session"
    return router.error(401, msg, "Log in again.", { ["Set-Cookie"] = self:_clear_cookie() })
  end
  local user, err, ecode = users.get(self.users, sess.email)
  if not user then
    if ecode == "notfound" then
      self.sessions:revoke(new)
      return router.error(401, "the session was revoked", "Log in again.", { ["Set-Cookie"] = self:_clear_cookie() })
    end
    -- keep the rotated session (the cookie carries it) but issue no access token
    local res = api_failure(err)
    res.headers["Set-Cookie"] = self:_cookie(new)
    return res
  end
  self:_note_epoch(user.email, user.sessions_epoch)
  if user.sessions_epoch ~= sess.epoch then
    self.sessions:revoke(new)
    return router.error(401, "the session was revoked", "Log in again.", { ["Set-Cookie"] = self:_clear_cookie() })
  end
  return self:_issue(user, new)
end

function Api:logout(req)
  local token = sessions.parse_cookie((req.headers or {})["cookie"])
  if token then self.sessions:revoke(token) end
  return router.empty(204, { ["Set-Cookie"] = self:_clear_cookie() })
end

function Api:me(req)
  local user, claims = self:authenticate(req)
  if not user then return claims end
  return router.json(200, { email = user.email, role = user.role, created_at = user.created_at,
    updated_at = user.updated_at, expires_at = os.date("!%Y-%m-%dT%H:%M:%SZ", claims.exp) })
end

function Api:password(req)
  local user, res = self:authenticate(req)
  if not user then return res end
  local body, bad = router.body(req)
  if not body then return bad end
  if type(body.current) ~= "string" or type(body.new) ~= "string" or body.new == "" then
    return router.error(400, "current and new are required", 'Send {"current": "...", "new": "..."}.')
  end
  local allowed, wait = self.limiter:attempt(user.email, req.remote_addr)
  if not allowed then
    wait = math.max(1, math.ceil(wait or 1))
    return router.error(429, "too many attempts", string.format("Try again in %d seconds.", wait),
      { ["Retry-After"] = tostring(wait) })
  end
  local ok, err = self:_authenticate(user.email, body.current)
  if not ok then
    if err then return api_failure(err) end
    return router.error(403, "the current password is wrong")
  end
  self.limiter:success(user.email, req.remote_addr)
  local updated, serr, scode = users.set_password(self.users, user.email, body.new)
  if not updated then
    if scode == "invalid" then return router.error(400, serr) end
    return api_failure(serr)
  end
  self:_note_epoch(updated.email, updated.sessions_epoch)
  local n = self.sessions:revoke_user(updated.email)
  log.info("console password changed", { user = updated.email, sessions_revoked = n })
  return router.empty(204, { ["Set-Cookie"] = self:_clear_cookie() })
end

---Ends a user's sessions in this process (their refresh tokens), after their sessions_epoch was
---bumped to epoch (nil: the user is gone) by a password reset, a role change or removal.
---@return integer revoked how many sessions ended
function Api:revoke_user(email, epoch)
  if epoch then self:_note_epoch(email, epoch) end
  return self.sessions:revoke_user(email)
end

---Adds the auth routes to a kipperd.api.router.
function Api:routes(r)
  local login = { token = "eyJhbGciOiJFZERTQSJ9...", token_type = "Bearer", expires_in = 900,
    expires_at = "2026-01-01T00:15:00Z", user = { email = "ana@example.com", role = "admin" } }
  r:add("POST", M.BASE .. "/login", function(req) return self:login(req) end, { summary = "Log in: an access token and a refresh cookie",
    tag = "Auth", access = "public", body = { email = "ana@example.com", password = "correct horse battery staple" },
    response = login, description = "Answers the access token (15 minutes) and sets the HttpOnly refresh cookie " ..
      "(Path=/api/v1/auth). Wrong e-mail or password: 401. Too many attempts: 429 with Retry-After." })
  r:add("POST", M.BASE .. "/refresh", function(req) return self:refresh(req) end, { summary = "A new access token from the refresh cookie",
    tag = "Auth", access = "public (the refresh cookie)", response = login,
    description = "Rotates the refresh cookie. A revoked, expired or replayed refresh token: 401 (a replay ends the session)." })
  r:add("POST", M.BASE .. "/logout", function(req) return self:logout(req) end, { summary = "Log out: ends the refresh cookie's session",
    tag = "Auth", access = "public (the refresh cookie)", status = 204 })
  r:add("GET", M.BASE .. "/me", function(req) return self:me(req) end, { summary = "The current user", tag = "Auth",
    access = "any user", response = { email = "ana@example.com", role = "admin", created_at = "2026-01-01T00:00:00Z",
      updated_at = "2026-01-01T00:00:00Z", expires_at = "2026-01-01T00:15:00Z" } })
  r:add("POST", M.BASE .. "/password", function(req) return self:password(req) end, { summary = "Change your password (ends every session)",
    tag = "Auth", access = "any user", status = 204, body = { current = "the current password", new = "at least 12 characters" },
    description = "A wrong current password: 403. The new one must have at least 12 characters (400)." })
end

return M
