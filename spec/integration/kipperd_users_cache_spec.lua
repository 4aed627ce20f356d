-- SPDX-License-Identifier: Apache-2.0
-- kipperd's copy of the users Secret (kipperd.auth.user_cache) with the real kipperd and the
-- sandbox API (verbose: its log names every request): once the watch synced, authenticating a
-- request reads no Secret from the API (the sandbox's log and kipperd_users_cache_hits_total show
-- it); changes made through another client, as `kip user` makes them, reach kipperd with the
-- watch (a reset password and a removal refuse the old token, an added user logs in; polled with
-- a deadline), and kipperd's own reset refuses the token on the very next request. Uses
-- helpers.console_api, helpers.sandbox, kip.fs, kip.host and kipperd.auth.users.
local console_api = require "helpers.console_api"
local fs = require "kip.fs"
local monotonic = require("kip.host").monotonic
local sandbox = require "helpers.sandbox"
local users = require "kipperd.auth.users"

describe("kipperd's copy of the users", function()
  local env, sb, c, kd

  local ANN, ANN_PW = "ann@example.com", "correct horse battery staple"
  local BOB, BOB_PW = "bob@example.com", "another long passphrase here"
  local CAL, CAL_PW = "cal@example.com", "a third long passphrase"
  local DEE, DEE_PW = "dee@example.com", "a fourth long passphrase"
  local SECRET_GET = "GET /api/v1/namespaces/kipper-system/secrets/kipper-users -> "

  setup(function()
    env = console_api.start({ policies = "app", sandbox = { verbose = true }, users = {
      { email = ANN, role = "admin", password = ANN_PW }, { email = BOB, role = "viewer", password = BOB_PW },
      { email = CAL, role = "viewer", password = CAL_PW } } })
    sb, c, kd = env.sb, env.c, env.kd
  end)

  teardown(function()
    if env then env:stop() end
  end)

  local function call(method, path, body, token) return env:request(method, path, body, token) end
  local function login(email, password) return env:login(email, password) end

  local function me(token) return (call("GET", "/api/v1/auth/me", nil, token)).status end

  -- GETs of the users Secret the sandbox API answered so far
  local function secret_gets()
    local n = 0
    for _ in (fs.read(sb.dir .. "/err.log") or ""):gmatch((SECRET_GET:gsub("%p", "%%%0"))) do n = n + 1 end
    return n
  end

  local function hits() return kd:metrics()["kipperd_users_cache_hits_total"] or 0 end

  -- Seconds until fn() is true, polled; fails after `limit`. The watch brings a change in well
  -- under a second; the limits leave room for a loaded sanitizer build, and stay far below what
  -- would pass without the watch (a token lives 15 minutes).
  local WATCH_LIMIT = 30
  local function time_until(fn, limit, what)
    local t0 = monotonic()
    assert(sandbox.eventually(fn, limit), what .. " did not happen within " .. limit .. " s: " .. kd:output())
    return monotonic() - t0
  end

  it("authenticates from its copy: no GET of the users Secret per request", function()
    assert(sandbox.eventually(function() return me(nil) == 401 end, 20), "the auth API did not start: " .. kd:output())
    local token = login(ANN, ANN_PW)
    -- the watch syncs shortly after the start: from then on requests are hits
    time_until(function()
      local h = hits()
      return me(token) == 200 and hits() > h
    end, WATCH_LIMIT, "a cache hit")
    local gets, h0 = secret_gets(), hits()
    for _ = 1, 50 do assert.equal(200, me(token)) end
    local r, doc = call("GET", "/api/v1/users", nil, token) -- the users endpoint reads the copy too
    assert.equal(200, r.status, r.body)
    assert.equal(3, #doc.items)
    assert.equal(gets, secret_gets())
    assert.is_true(hits() >= h0 + 51)
    -- the log does name such GETs: one made here shows
    assert(c:get("v1", "Secret", "kipper-users", "kipper-system"))
    assert(sandbox.eventually(function() return secret_gets() == gets + 1 end, WATCH_LIMIT))
  end)

  it("refuses a token shortly after its password is reset through another client", function()
    local token = login(BOB, BOB_PW)
    assert.equal(200, me(token))
    assert(users.set_password(c, BOB, "bob's new long passphrase"))
    local took = time_until(function() return me(token) == 401 end, WATCH_LIMIT, "the revocation")
    assert.is_true(took < WATCH_LIMIT)
    local r, doc = call("GET", "/api/v1/auth/me", nil, token)
    assert.equal(401, r.status)
    assert.equal("the token was revoked", doc.error)
    assert.is_string(login(BOB, "bob's new long passphrase"))
  end)

  it("refuses a token shortly after its user is removed through another client", function()
    local token = login(CAL, CAL_PW)
    assert.equal(200, me(token))
    assert(users.remove(c, CAL))
    time_until(function() return me(token) == 401 end, WATCH_LIMIT, "the refusal")
    local r = call("POST", "/api/v1/auth/login", { email = CAL, password = CAL_PW })
    assert.equal(401, r.status)
  end)

  it("lets a user added through another client log in", function()
    local admin = login(ANN, ANN_PW)
    assert(users.add(c, DEE, "deployer", DEE_PW))
    -- the admin's list (read from the copy) shows the new user once the watch brought it
    time_until(function()
      local _, doc = call("GET", "/api/v1/users", nil, admin)
      for _, u in ipairs(doc and doc.items or {}) do
        if u.email == DEE then return true end
      end
    end, WATCH_LIMIT, "the new user in the list")
    local gets = secret_gets()
    local token = login(DEE, DEE_PW)
    local _, who = call("GET", "/api/v1/auth/me", nil, token)
    assert.equal(DEE, who.email)
    assert.equal("deployer", who.role)
    assert.equal(gets, secret_gets())
  end)

  it("refuses a token on the next request after kipperd itself resets the password", function()
    local admin = login(ANN, ANN_PW)
    local token = login(DEE, DEE_PW)
    assert.equal(200, me(token))
    local r = call("POST", "/api/v1/users/" .. DEE .. "/reset-password", nil, admin)
    assert.equal(200, r.status, r.body)
    assert.equal(401, me(token)) -- no wait: the write's answer is the copy now
    r = call("PUT", "/api/v1/users/" .. BOB .. "/role", { role = "deployer" }, admin)
    assert.equal(200, r.status, r.body)
    local _, doc = call("GET", "/api/v1/users", nil, admin)
    local roles = {}
    for _, u in ipairs(doc.items) do roles[u.email] = u.role end
    assert.equal("deployer", roles[BOB])
  end)
end)
