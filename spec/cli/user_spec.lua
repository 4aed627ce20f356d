-- SPDX-License-Identifier: Apache-2.0
-- `kip user add|list|role|remove|reset-password` through the real kip against the real sandbox
-- API: checks before anything is sent, passwords from stdin or generated and printed once (and
-- then accepted by kipperd.auth.users.authenticate), list without hashes, the last admin kept,
-- sessions_epoch bumped by a reset, and typed confirmation on remove. Uses helpers.kipcli.
local json = require "kip.json"
local kipcli = require "helpers.kipcli"
local tls = require "kip.tls"
local users = require "kipperd.auth.users"

local PW = "correct horse battery"

describe("kip user (sandbox API)", function()
  local env

  setup(function() env = kipcli.start() end)
  teardown(function() if env then env:stop() end end)

  local function secret_text()
    local s = env.c:get("v1", "Secret", "kipper-users", "kipper-system")
    return s and tls.base64_decode(s.data["users.json"]) or nil
  end

  it("refuses bad e-mails, roles and passwords before sending anything", function()
    local cases = {
      { { "user", "add", "not-an-email", "--role", "viewer" }, "is not an e-mail address" },
      { { "user", "add", "ana@example.com" }, "missing --role" },
      { { "user", "add", "ana@example.com", "--role", "boss" }, "--role must be one of admin, deployer, viewer" },
      { { "user", "add", "ana@example.com", "--role", "admin", "--password-stdin" }, "standard input is empty" },
      { { "user", "add", "ana@example.com", "--role", "admin", "--password-stdin" }, "the password is too short", "short\n" },
      { { "user", "role", "ana@example.com", "owner" }, "unknown role \"owner\"" },
      { { "user", "reset-password", "x@" }, "is not an e-mail address" },
    }
    for _, case in ipairs(cases) do
      local r = env:kip(case[1], { stdin = case[3] or "" })
      assert.equal(2, r.status, table.concat(case[1], " ") .. ": " .. r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
    end
    assert.is_nil(secret_text())
    local r = env:kip({ "user", "list" })
    assert.equal(0, r.status, r.stderr)
    assert.matches("No users yet", r.stderr, 1, true)
  end)

  it("adds a user with a generated password, printed once and accepted", function()
    local r = env:ok({ "user", "add", "Admin@Example.com", "--role", "admin" })
    assert.matches("User admin@example.com added with role admin.", r.stdout, 1, true)
    local pw = r.stdout:match("shown once; keep it safe%):\n  (%S+)\n")
    assert(pw, r.stdout)
    assert.equal(users.GENERATED_LENGTH, #pw)
    assert(users.authenticate(env.c, "admin@example.com", pw))
    assert.is_nil(secret_text():find(pw, 1, true))
  end)

  it("adds a user with a password from stdin, and refuses a duplicate", function()
    local r = env:ok({ "user", "add", "ana@example.com", "--role", "deployer", "--password-stdin" }, { stdin = PW .. "\n" })
    assert.matches("User ana@example.com added with role deployer.", r.stdout, 1, true)
    assert.is_nil(r.stdout:find("Password", 1, true))
    assert(users.authenticate(env.c, "ana@example.com", PW))
    r = env:kip({ "user", "add", "ANA@example.com", "--role", "viewer" })
    assert.equal(1, r.status)
    assert.matches("user ana@example.com already exists", r.stderr, 1, true)
  end)

  it("lists users without their hashes, as a table or JSON", function()
    local r = env:ok({ "user", "list" })
    assert.matches("^EMAIL%s+ROLE%s+CREATED%s+UPDATED\n", r.stdout)
    assert.matches("\nadmin@example.com%s+admin%s", r.stdout)
    assert.matches("\nana@example.com%s+deployer%s", r.stdout)
    assert.is_nil(r.stdout:find("scrypt", 1, true))
    r = env:ok({ "user", "list", "-o", "json" })
    local list = json.decode(r.stdout)
    assert.equal(2, #list)
    assert.equal("admin@example.com", list[1].email)
    assert.is_nil(list[1].password)
    assert.is_nil(r.stdout:find("scrypt", 1, true))
  end)

  it("changes roles but keeps the last admin", function()
    local r = env:kip({ "user", "role", "admin@example.com", "viewer" })
    assert.equal(1, r.status)
    assert.matches("admin@example.com is the last admin", r.stderr, 1, true)
    r = env:kip({ "user", "role", "nobody@example.com", "viewer" })
    assert.equal(1, r.status)
    assert.matches("no user nobody@example.com", r.stderr, 1, true)
    local before = assert(users.get(env.c, "ana@example.com")).sessions_epoch
    r = env:ok({ "user", "role", "ana@example.com", "admin" })
    assert.matches("User ana@example.com now has role admin; their console sessions end.", r.stdout, 1, true)
    local u = assert(users.get(env.c, "ana@example.com"))
    assert.equal("admin", u.role)
    assert.equal(before + 1, u.sessions_epoch)
    r = env:ok({ "user", "role", "ana@example.com", "admin" })
    assert.matches("User ana@example.com already has role admin.", r.stdout, 1, true)
    assert.equal(before + 1, assert(users.get(env.c, "ana@example.com")).sessions_epoch)
  end)

  it("resets a password: the old one stops working and sessions_epoch goes up", function()
    local before = assert(users.get(env.c, "ana@example.com")).sessions_epoch
    local r = env:ok({ "user", "reset-password", "ana@example.com" })
    assert.matches("Password of ana@example.com reset", r.stdout, 1, true)
    local pw = assert(r.stdout:match("shown once; keep it safe%):\n  (%S+)\n"), r.stdout)
    assert.is_nil(users.authenticate(env.c, "ana@example.com", PW))
    local u = assert(users.authenticate(env.c, "ana@example.com", pw))
    assert.equal(before + 1, u.sessions_epoch)
    env:ok({ "user", "reset-password", "ana@example.com", "--password-stdin" }, { stdin = PW .. "\n" })
    assert(users.authenticate(env.c, "ana@example.com", PW))
  end)

  it("removes a user after typed confirmation, never the last admin", function()
    local r = env:kip({ "user", "remove", "ana@example.com" })
    assert.equal(1, r.status)
    assert.matches("without confirmation", r.stderr, 1, true)
    r = env:kip_tty({ "user", "remove", "ana@example.com" }, { ["to confirm"] = "wrong" })
    assert.matches("not confirmed", r.output, 1, true)
    assert(users.get(env.c, "ana@example.com"))
    r = env:kip_tty({ "user", "remove", "ana@example.com" }, { ["Type \"ana@example.com\" to confirm"] = "ana@example.com" })
    assert.equal(0, r.status, r.output)
    assert.matches("User ana@example.com removed.", r.output, 1, true)
    local _, _, code = users.get(env.c, "ana@example.com")
    assert.equal("notfound", code)
    r = env:kip({ "user", "remove", "admin@example.com", "--yes" })
    assert.equal(1, r.status)
    assert.matches("admin@example.com is the last admin", r.stderr, 1, true)
    r = env:kip({ "user", "remove", "ana@example.com", "--yes" })
    assert.equal(1, r.status)
    assert.matches("no user ana@example.com", r.stderr, 1, true)
  end)
end)
