-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.users against the real sandbox API: the users document in Secret
-- kipper-system/kipper-users, e-mail and role checks, the password policy, duplicates, the last
-- admin, sessions_epoch, views without hashes, authenticate, and a write that meets a concurrent
-- change (409) and retries. Cheap scrypt parameters (users.hash_params) keep it fast.
local json = require "kip.json"
local k8s = require "kip.k8s"
local sandbox = require "helpers.sandbox"
local tls = require "kip.tls"
local users = require "kipperd.auth.users"

local PW = "correct horse battery"

describe("kipperd.auth.users (sandbox API)", function()
  local sb, c

  setup(function()
    users.hash_params = { N = 16, r = 1, p = 1 }
    sb = sandbox.start()
    c = assert(k8s.connect({ kubeconfig = sb.kubeconfig }))
    assert(c:apply({ apiVersion = "v1", kind = "Namespace", metadata = { name = "kipper-system" } }, { field_manager = "spec" }))
  end)
  teardown(function()
    users.hash_params = nil
    if c then c:close() end
    if sb then sb:stop() end
  end)

  local function stored()
    local s = assert(c:get("v1", "Secret", "kipper-users", "kipper-system"))
    return json.decode(tls.base64_decode(s.data["users.json"])), s
  end

  local function no_hash(v)
    assert.is_nil(v.password)
    for _, val in pairs(v) do assert.is_falsy(tostring(val):find("scrypt%$")) end
  end

  it("checks and normalises e-mail addresses and roles", function()
    assert.equal("ana@example.com", users.check_email("  Ana@Example.COM "))
    for _, bad in ipairs({ "", "ana", "ana@", "@example.com", "ana@example", "a b@example.com", "ana@@example.com",
      "ana@example..com", "an\1a@example.com", ("x"):rep(250) .. "@example.com" }) do
      assert.is_nil(users.check_email(bad), bad)
    end
    assert.is_nil(users.check_email(nil))
    assert.equal("viewer", users.check_role("viewer"))
    local r, msg = users.check_role("root")
    assert.is_nil(r)
    assert.matches("unknown role \"root\" (use admin, deployer, viewer)", msg, 1, true)
  end)

  it("lists nothing before the Secret exists; refuses bad input without creating it", function()
    local _
    assert.same({}, assert(users.list(c)))
    local u, msg, code = users.add(c, "ana@example.com", "admin", "short")
    assert.is_nil(u)
    assert.equal("invalid", code)
    assert.matches("too short", msg)
    u, msg, code = users.add(c, "nope", "admin", PW)
    assert.is_nil(u)
    assert.equal("invalid", code, msg)
    u, _, code = users.add(c, "ana@example.com", "boss", PW)
    assert.is_nil(u)
    assert.equal("invalid", code)
    local _, _, gcode = c:get("v1", "Secret", "kipper-users", "kipper-system")
    assert.equal("notfound", gcode)
    local _, _, ncode = users.get(c, "ana@example.com")
    assert.equal("notfound", ncode)
  end)

  it("adds users into one document, lower-cased, refusing duplicates; views carry no hash", function()
    local ana = assert(users.add(c, "Ana@Example.com", "admin", PW))
    no_hash(ana)
    assert.equal("ana@example.com", ana.email)
    assert.equal("admin", ana.role)
    assert.equal(1, ana.sessions_epoch)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", ana.created_at)
    assert(users.add(c, "bo@example.com", "viewer", PW .. "!"))
    local u, msg, code = users.add(c, "ANA@example.com", "viewer", PW)
    assert.is_nil(u)
    assert.equal("alreadyexists", code)
    assert.matches("user ana@example.com already exists", msg, 1, true)
    local doc, s = stored()
    assert.equal("Opaque", s.type)
    assert.equal(1, doc.version)
    assert.equal(2, #doc.users)
    assert.equal("ana@example.com", doc.users[1].email)
    assert.matches("^scrypt%$16%$1%$1%$", doc.users[1].password)
    assert.equal("admin", doc.users[1].role) -- the duplicate did not change her
    local list = assert(users.list(c))
    assert.same({ "ana@example.com", "bo@example.com" }, { list[1].email, list[2].email })
    for _, v in ipairs(list) do no_hash(v) end
    no_hash(assert(users.get(c, "BO@example.com")))
  end)

  it("authenticates the right password only, by any case of the e-mail", function()
    local u = assert(users.authenticate(c, "ANA@example.com", PW))
    assert.equal("ana@example.com", u.email)
    no_hash(u)
    assert.is_nil(users.authenticate(c, "ana@example.com", PW .. "x"))
    assert.is_nil(users.authenticate(c, "ana@example.com", ""))
    assert.is_nil(users.authenticate(c, "ana@example.com", nil))
    assert.is_nil(users.authenticate(c, "nobody@example.com", PW))
    assert.is_nil(users.authenticate(c, "not an email", PW))
    assert.is_nil(users.authenticate(c, "bo@example.com", PW))
  end)

  it("changes roles and keeps at least one admin", function()
    local _
    local u, msg, code = users.set_role(c, "ana@example.com", "viewer")
    assert.is_nil(u)
    assert.equal("lastadmin", code)
    assert.matches("ana@example.com is the last admin", msg, 1, true)
    u, _, code = users.remove(c, "ana@example.com")
    assert.is_nil(u)
    assert.equal("lastadmin", code)
    _, _, code = users.set_role(c, "nobody@example.com", "viewer")
    assert.equal("notfound", code)
    _, _, code = users.set_role(c, "bo@example.com", "owner")
    assert.equal("invalid", code)
    assert.equal("admin", assert(users.set_role(c, "bo@example.com", "admin")).role)
    assert.equal("deployer", assert(users.set_role(c, "ana@example.com", "deployer")).role)
    assert.equal("deployer", assert(users.get(c, "ana@example.com")).role)
    _, _, code = users.remove(c, "bo@example.com")
    assert.equal("lastadmin", code)
  end)

  it("sets a password after the policy and bumps sessions_epoch", function()
    local _, msg, code = users.set_password(c, "ana@example.com", "eleven char")
    assert.equal("invalid", code)
    assert.matches("too short", msg)
    _, _, code = users.set_password(c, "ana@example.com", ("            "))
    assert.equal("invalid", code)
    assert.equal(1, assert(users.get(c, "ana@example.com")).sessions_epoch)
    local u = assert(users.set_password(c, "ana@example.com", "a brand new passphrase"))
    assert.equal(2, u.sessions_epoch)
    no_hash(u)
    assert.is_nil(users.authenticate(c, "ana@example.com", PW))
    assert.equal(2, assert(users.authenticate(c, "ana@example.com", "a brand new passphrase")).sessions_epoch)
    _, _, code = users.set_password(c, "nobody@example.com", "a brand new passphrase")
    assert.equal("notfound", code)
  end)


  it("ends a user's sessions by bumping sessions_epoch, keeping the password and role", function()
    local before = assert(users.get(c, "ana@example.com"))
    local u = assert(users.end_sessions(c, "ANA@example.com"))
    assert.equal(before.sessions_epoch + 1, u.sessions_epoch)
    assert.equal(before.role, u.role)
    no_hash(u)
    assert.equal(u.sessions_epoch, assert(users.authenticate(c, "ana@example.com", "a brand new passphrase")).sessions_epoch)
    local _, _, code = users.end_sessions(c, "nobody@example.com")
    assert.equal("notfound", code)
    _, _, code = users.end_sessions(c, "not an address")
    assert.equal("invalid", code)
  end)
  it("retries a write that meets a concurrent change (409) and keeps both changes", function()
    local raced = 0
    -- a client whose first update is preceded by another writer's change, so its resourceVersion is stale
    local racing = setmetatable({
      update = function(_, obj, opts)
        if raced == 0 then
          raced = 1
          assert(users.add(c, "cy@example.com", "viewer", PW))
        end
        local r, err, code = c:update(obj, opts)
        if code == "conflict" then raced = raced + 1 end
        return r, err, code
      end,
    }, { __index = function(_, k) local v = c[k]; if type(v) == "function" then return function(_, ...) return v(c, ...) end end return v end })
    assert(users.add(racing, "di@example.com", "deployer", PW))
    assert.equal(2, raced) -- one conflict, then success
    local list = assert(users.list(c))
    local emails = {}
    for _, v in ipairs(list) do emails[#emails + 1] = v.email end
    assert.same({ "ana@example.com", "bo@example.com", "cy@example.com", "di@example.com" }, emails)
  end)

  it("gives up after MAX_ATTEMPTS conflicts", function()
    local always = setmetatable({
      update = function(_, obj, opts)
        obj.metadata.resourceVersion = "1"
        return c:update(obj, opts)
      end,
    }, { __index = function(_, k) local v = c[k]; if type(v) == "function" then return function(_, ...) return v(c, ...) end end return v end })
    local u, msg, code = users.set_role(always, "cy@example.com", "deployer")
    assert.is_nil(u)
    assert.equal("conflict", code)
    assert.matches("try again", msg)
    assert.equal("viewer", assert(users.get(c, "cy@example.com")).role)
  end)

  it("removes users", function()
    assert.equal("cy@example.com", assert(users.remove(c, "CY@example.com")).email)
    local _, _, code = users.get(c, "cy@example.com")
    assert.equal("notfound", code)
    _, _, code = users.remove(c, "cy@example.com")
    assert.equal("notfound", code)
    assert.equal(3, #stored().users)
  end)

  it("reports a Secret that does not hold a users document, and authenticate refuses", function()
    local _, s = stored()
    local saved = s.data["users.json"]
    s.data["users.json"] = tls.base64_encode("not json")
    s = assert(c:update(s))
    local list, msg, code = users.list(c)
    assert.is_nil(list)
    assert.equal("invalid", code)
    assert.matches("not a users document", msg)
    assert.is_nil(users.authenticate(c, "ana@example.com", "a brand new passphrase"))
    _, _, code = users.add(c, "ed@example.com", "viewer", PW)
    assert.equal("invalid", code)
    s.data["users.json"] = saved
    assert(c:update(s)) -- at the resourceVersion the broken document got
    assert(users.authenticate(c, "ana@example.com", "a brand new passphrase"))
  end)

  it("replaces a hash with weaker parameters at a successful login, keeping sessions", function()
    local before = assert(users.get(c, "di@example.com"))
    users.hash_params = nil
    local ok, u = pcall(users.authenticate, c, "di@example.com", PW)
    users.hash_params = { N = 16, r = 1, p = 1 }
    assert(ok, u)
    assert(u)
    local doc = stored()
    local di
    for _, x in ipairs(doc.users) do if x.email == "di@example.com" then di = x end end
    assert.matches("^scrypt%$32768%$8%$1%$", di.password)
    assert.equal(before.sessions_epoch, di.sessions_epoch)
    assert(users.authenticate(c, "di@example.com", PW))
    assert.is_nil(users.authenticate(c, "di@example.com", PW .. "?"))
  end)

  it("generates strong passwords the policy accepts", function()
    local a, b = users.generate_password(), users.generate_password()
    assert.equal(24, #a)
    assert.not_equal(a, b)
    assert.matches("^[%w_%-]+$", a)
    assert.is_true(require("kipperd.auth.passwords").check_policy(a))
  end)
end)
