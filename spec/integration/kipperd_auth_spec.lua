-- SPDX-License-Identifier: Apache-2.0
-- kipperd's auth endpoints (/api/v1/auth/...) over real HTTP: the sandbox API, the real kipperd
-- (helpers.kipperd, with --insecure-cookies since it serves plain HTTP), users made with
-- kipperd.auth.users (real scrypt parameters, since kipperd checks them: few logins), and kip.http
-- as the client. Login (right, wrong password, unknown user), the rate limit, me with a bearer token,
-- forged tokens (tampered, alg none, HS256 with the public key, expired or for another issuer or
-- audience, signed with kipperd's real key), refresh rotation and replay, logout, password change; the
-- signing key Secret. Uses helpers.sandbox, helpers.kipperd, kip.http, kip.json, kip.tls, kip.k8s.
local http = require "kip.http"
local json = require "kip.json"
local jwt = require "kipperd.auth.jwt"
local k8s = require "kip.k8s"
local kipperd = require "helpers.kipperd"
local sandbox = require "helpers.sandbox"
local tls = require "kip.tls"
local users = require "kipperd.auth.users"

describe("kipperd auth API", function()
  local sb, c, kd, client, base

  local ANN, ANN_PW = "ann@example.com", "correct horse battery staple"
  local BOB, BOB_PW = "bob@example.com", "another long passphrase here"

  setup(function()
    sb = sandbox.start()
    c = assert(k8s.connect({ kubeconfig = sb.kubeconfig }))
    kipperd.prepare(c)
    assert(users.add(c, ANN, "admin", ANN_PW))
    assert(users.add(c, BOB, "viewer", BOB_PW))
    kd = kipperd.start({ kubeconfig = sb.kubeconfig, policies = "app", args = { "--insecure-cookies" } })
    base = string.format("http://127.0.0.1:%d", kd.port)
    client = http.client({})
  end)

  teardown(function()
    if client then client:close() end
    if kd and kd:running() then kd:stop() end
    if c then c:close() end
    if sb then sb:stop() end
  end)

  local function header(r, name)
    for k, v in pairs(r.headers or {}) do
      if k:lower() == name:lower() then return v end
    end
  end

  -- one request: method, path, body (a table is sent as JSON), extra headers -> response, decoded JSON
  local function call(method, path, body, headers)
    local h = { ["Content-Type"] = "application/json" }
    for k, v in pairs(headers or {}) do h[k] = v end
    local r = assert(client:request({ method = method, url = base .. path, timeout = 30, headers = h,
      body = type(body) == "table" and json.encode(body) or body }))
    local ok, doc = pcall(json.decode, r.body or "")
    return r, ok and doc or nil
  end

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

  -- waits until the signing key is loaded (auth answers something other than 503)
  local function wait_auth()
    assert(sandbox.eventually(function()
      local r = call("GET", "/api/v1/auth/me")
      return r.status == 401
    end, 20), "the auth API did not start: " .. kd:output())
  end

  it("logs in, answers me with the bearer token, and keeps the signing key in a Secret", function()
    wait_auth()
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
