-- SPDX-License-Identifier: Apache-2.0
-- kipperd's auth endpoints (/api/v1/auth/...) over real HTTP: the sandbox API, the real kipperd
-- (with --insecure-cookies since it serves plain HTTP), users made with kipperd.auth.users (real
-- scrypt parameters, since kipperd checks them: few logins), and kip.http as the client. Login
-- (right, wrong password, unknown user), the rate limit, me with a bearer token, forged tokens
-- (tampered, alg none, HS256 with the public key, expired or for another issuer or audience,
-- signed with kipperd's real key), refresh rotation and replay, logout, password change; the
-- signing key Secret. Uses helpers.console_api (the sandbox, kipperd, the users and the client),
-- kip.json, kip.tls and kipperd.auth.{jwt,users}.
local console_api = require "helpers.console_api"
local json = require "kip.json"
local jwt = require "kipperd.auth.jwt"
local tls = require "kip.tls"
local users = require "kipperd.auth.users"

describe("kipperd auth API", function()
  local env, c, kd

  local ANN, ANN_PW = "ann@example.com", "correct horse battery staple"
  local BOB, BOB_PW = "bob@example.com", "another long passphrase here"

  setup(function()
    -- console_api.start waits until the signing key is loaded (auth answers 401, not 503)
    env = console_api.start({ policies = "app", users = {
      { email = ANN, role = "admin", password = ANN_PW }, { email = BOB, role = "viewer", password = BOB_PW } } })
    c, kd = env.c, env.kd
  end)

  teardown(function()
    if env then env:stop() end
  end)

  local header = console_api.header

  -- one request: method, path, body (a table is sent as JSON), extra headers -> response, decoded JSON
  local function call(method, path, body, headers) return env:request(method, path, body, nil, headers) end

  local function bearer(token) return { Authorization = "Bearer " .. token } end

  -- the refresh token in a Set-Cookie header, and the cookie header that sends it
  local function cookie_of(r)
    local sc = header(r, "set-cookie")
    local tok = sc and sc:match("^kipper_refresh=([^;]*)")
    return tok, tok and { Cookie = "kipper_refresh=" .. tok }
  end

  local function login(email, password)
    return call("POST", "/api/v1/auth/login", { email = email, password = password })
  end

  it("logs in, answers me with the bearer token, and keeps the signing key in a Secret", function()
    local r, doc = login(ANN, ANN_PW)
    assert.equal(200, r.status, r.body .. kd:output())
    assert.equal(ANN, doc.user.email)
    assert.equal("admin", doc.user.role)
    assert.is_string(doc.token)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", doc.expires_at)
    local sc = header(r, "set-cookie")
    assert.matches("HttpOnly", sc, 1, true)
    assert.matches("SameSite=Strict", sc, 1, true)
    assert.matches("Path=/api/v1/auth", sc, 1, true)
    assert.is_nil(sc:find("Secure", 1, true)) -- --insecure-cookies
    local me, who = call("GET", "/api/v1/auth/me", nil, bearer(doc.token))
    assert.equal(200, me.status, me.body)
    assert.equal(ANN, who.email)
    assert.equal("admin", who.role)
    local secret = assert(c:get("v1", "Secret", "kipperd-jwt-key", "kipper-system"))
    assert.matches("BEGIN PRIVATE KEY", tls.base64_decode(secret.data["key.pem"]), 1, true)
  end)

  it("answers a wrong password and an unknown user alike, and errors are JSON", function()
    local r1, d1 = login(BOB, "not the password at all")
    local r2, d2 = login("nobody@example.com", "not the password at all")
    assert.equal(401, r1.status)
    assert.equal(401, r2.status)
    assert.equal(d1.error, d2.error)
    assert.is_nil(header(r1, "set-cookie"))
    local r3, d3 = call("POST", "/api/v1/auth/login", "not json")
    assert.equal(400, r3.status)
    assert.is_string(d3.error)
    local r4 = call("POST", "/api/v1/auth/login", string.rep("x", 5000))
    assert.equal(413, r4.status)
    local r5 = call("GET", "/api/v1/auth/login")
    assert.equal(405, r5.status)
    assert.equal("POST", header(r5, "allow"))
    local r6 = call("GET", "/api/v1/nothing")
    assert.equal(404, r6.status)
    assert.equal(200, (kd:get("/healthz")))
  end)

  it("refuses me without a token, with a tampered token, an alg none token or a cookie", function()
    local _, doc = login(ANN, ANN_PW)
    local r = call("GET", "/api/v1/auth/me")
    assert.equal(401, r.status)
    assert.matches("^Bearer", header(r, "www-authenticate"))
    local h, p, s = doc.token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
    local claims = json.decode(tls.base64url_decode(p))
    claims.role, claims.sub = "admin", BOB
    local tampered = h .. "." .. tls.base64url_encode(json.encode(claims)) .. "." .. s
    assert.equal(401, (call("GET", "/api/v1/auth/me", nil, bearer(tampered))).status)
    local none = tls.base64url_encode(json.encode({ alg = "none", typ = "JWT" })) .. "." .. p .. "."
    assert.equal(401, (call("GET", "/api/v1/auth/me", nil, bearer(none))).status)
    local none2 = tls.base64url_encode(json.encode({ alg = "none", typ = "JWT" })) .. "." .. p .. "." .. s
    assert.equal(401, (call("GET", "/api/v1/auth/me", nil, bearer(none2))).status)
    local _, cookie = cookie_of((login(ANN, ANN_PW)))
    assert.equal(401, (call("GET", "/api/v1/auth/me", nil, cookie)).status) -- cookies never authenticate
  end)

  it("refuses tokens signed with kipperd's own key that expired, or name another issuer or audience, and alg swaps", function()
    local _, doc = login(ANN, ANN_PW)
    local claims = json.decode(tls.base64url_decode(doc.token:match("^[^.]+%.([^.]+)%.")))
    local secret = assert(c:get("v1", "Secret", "kipperd-jwt-key", "kipper-system"))
    local key = assert(jwt.load_key(tls.base64_decode(secret.data["key.pem"])))
    local own = { sub = claims.sub, role = claims.role, sessions_epoch = claims.sessions_epoch }
    -- the real key and claims make a token kipperd accepts (so the refusals below are about one thing each)
    local good = jwt.new_signer({ key = key }):issue(own)
    assert.equal(200, (call("GET", "/api/v1/auth/me", nil, bearer(good))).status)
    local past = jwt.new_signer({ key = key, clock = function() return os.time() - 3600 end }):issue(own)
    local r = call("GET", "/api/v1/auth/me", nil, bearer(past))
    assert.equal(401, r.status)
    assert.matches("expired", r.body)
    for _, opts in ipairs({ { issuer = "someone-else" }, { audience = "another-app" } }) do
      opts.key = key
      assert.equal(401, (call("GET", "/api/v1/auth/me", nil, bearer(jwt.new_signer(opts):issue(own)))).status)
    end
    -- alg swap: HS256 keyed with the public key's PEM (the classic confusion), and an unknown alg
    -- over the real signature
    local h, p, sig = good:match("^([^.]+)%.([^.]+)%.([^.]+)$")
    local hdr = json.decode(tls.base64url_decode(h))
    hdr.alg = "HS256"
    local hs_input = tls.base64url_encode(json.encode(hdr)) .. "." .. p
    local pub_pem = key:public_pem()
    local hs = hs_input .. "." .. tls.base64url_encode(tls.hmac_sha256(pub_pem, hs_input))
    assert.equal(401, (call("GET", "/api/v1/auth/me", nil, bearer(hs))).status)
    hdr.alg = "ES256"
    local es = tls.base64url_encode(json.encode(hdr)) .. "." .. p .. "." .. sig
    assert.equal(401, (call("GET", "/api/v1/auth/me", nil, bearer(es))).status)
  end)

  it("rotates the refresh token; a replayed one is refused and kills the session", function()
    local r0, d0 = login(ANN, ANN_PW)
    local t1, c1 = cookie_of(r0)
    assert.is_string(t1)
    assert.equal(401, (call("POST", "/api/v1/auth/refresh")).status)
    local r1, d1 = call("POST", "/api/v1/auth/refresh", nil, c1)
    assert.equal(200, r1.status, r1.body)
    assert.are_not.equal(d0.token, d1.token)
    local t2, c2 = cookie_of(r1)
    assert.are_not.equal(t1, t2)
    assert.equal(200, (call("GET", "/api/v1/auth/me", nil, bearer(d1.token))).status)
    local replay = call("POST", "/api/v1/auth/refresh", nil, c1)
    assert.equal(401, replay.status)
    assert.equal(401, (call("POST", "/api/v1/auth/refresh", nil, c2)).status) -- the family is gone
  end)

  it("logout revokes the session and clears the cookie", function()
    local _, c1 = cookie_of((login(ANN, ANN_PW)))
    local r = call("POST", "/api/v1/auth/logout", nil, c1)
    assert.equal(204, r.status)
    assert.matches("Max-Age=0", header(r, "set-cookie"), 1, true)
    assert.equal(401, (call("POST", "/api/v1/auth/refresh", nil, c1)).status)
  end)

  it("a password change revokes the old access and refresh tokens", function()
    local r0, d0 = login(BOB, BOB_PW)
    assert.equal(200, r0.status, r0.body)
    local _, c0 = cookie_of(r0)
    local wrong = call("POST", "/api/v1/auth/password", { current = "wrong one here", new = "a brand new passphrase" },
      bearer(d0.token))
    assert.equal(403, wrong.status)
    local ok = call("POST", "/api/v1/auth/password", { current = BOB_PW, new = "a brand new passphrase" }, bearer(d0.token))
    assert.equal(204, ok.status, ok.body)
    assert.equal(401, (call("GET", "/api/v1/auth/me", nil, bearer(d0.token))).status)
    assert.equal(401, (call("POST", "/api/v1/auth/refresh", nil, c0)).status)
    assert.equal(2, assert(users.get(c, BOB)).sessions_epoch)
  end)

  it("answers 429 with Retry-After after repeated failures for a user", function()
    local last
    for _ = 1, 6 do
      last = login("carol@example.com", "wrong password " .. tostring(_))
      if last.status == 429 then break end
    end
    assert.equal(429, last.status)
    assert.matches("^%d+$", header(last, "retry-after"))
    assert.is_true(tonumber(header(last, "retry-after")) >= 1)
  end)
end)
