-- SPDX-License-Identifier: Apache-2.0
-- `kip user add|list|role|remove|reset-password`: the console's local users (kipperd's REST API
-- logs them in), kept in Secret kipper-system/kipper-users as scrypt hashes. A password is read
-- from the first line of stdin (--password-stdin) or generated and printed once. Uses
-- kipperd.auth.users, kip.cli.errors and kip.cli.confirm.
local errors = require "kip.cli.errors"
local json = require "kip.json"
local users = require "kipperd.auth.users"

local ROLE_HELP = "admin (everything, users too), deployer (deploy and manage apps and services) or viewer (read only)"

local password_flag = { name = "password-stdin", help = "read the password from the first line of stdin (at least 12 characters) " ..
  "instead of generating one" }

-- Turns a users.* failure into a kip error: bad input is a usage error (status 2), the rest status 1.
local function check(value, msg, code)
  if value ~= nil then return value end
  if code == "invalid" then errors.usage(msg) end
  if code == "notfound" and msg and msg:match("^no user ") then
    errors.fail(msg, "'kip user list' shows the users.")
  end
  if code == "notfound" then
    errors.fail("cannot write the users: " .. tostring(msg), "Is Kipper installed on this cluster (namespace kipper-system)?")
  end
  if code == "lastadmin" then errors.fail(msg, "'kip user role EMAIL admin' makes another user an admin.") end
  if code == "alreadyexists" then errors.fail(msg, "'kip user reset-password EMAIL' gives them a new password.") end
  errors.fail(tostring(msg))
end

local function email_arg(ctx)
  local e, msg = users.check_email(ctx.args.EMAIL)
  if not e then errors.usage(msg) end
  return e
end

-- The new password: stdin's first line (checked against the policy before anything is sent), or a
-- generated one (second result true).
local function new_password(ctx)
  if not ctx.flags["password-stdin"] then return users.generate_password(), true end
  local line = io.stdin:read("l")
  if not line or line == "" then
    errors.usage("--password-stdin: standard input is empty", "Pipe the password in: printf '%s\\n' \"$PW\" | kip user ... --password-stdin")
  end
  line = line:gsub("\r$", "")
  local ok, msg = require("kipperd.auth.passwords").check_policy(line)
  if not ok then errors.usage("--password-stdin: " .. msg) end
  return line, false
end

local function show_generated(email, password)
  io.stdout:write(string.format("Password for %s (shown once; keep it safe):\n  %s\n", email, password))
end

local verbs = {}

verbs.add = {
  summary = "Add a user who can log in to the console",
  description = "Roles: " .. ROLE_HELP .. ".\n" ..
    "Without --password-stdin kip generates a strong password and prints it once.",
  args = { { name = "EMAIL", help = "the user's e-mail address (stored lower-cased)" } },
  flags = {
    { name = "role", arg = "ROLE", choices = users.ROLES, help = "admin, deployer or viewer" },
    password_flag,
  },
  examples = {
    "kip user add ana@example.com --role deployer",
    "printf '%s\\n' \"$PASSWORD\" | kip user add ci@example.com --role viewer --password-stdin",
  },
  run = function(ctx)
    local email = email_arg(ctx)
    if not ctx.flags.role then errors.usage("missing --role", "Use --role admin, deployer or viewer.") end
    local password, generated = new_password(ctx)
    local u = check(users.add(ctx:client(), email, ctx.flags.role, password))
    ctx:say("User %s added with role %s.", u.email, u.role)
    if generated then show_generated(u.email, password) end
    return 0
  end,
}

verbs.list = {
  summary = "List the users and their roles (never their passwords)",
  output = true,
  examples = { "kip user list", "kip user list -o json" },
  run = function(ctx)
    local list = check(users.list(ctx:client()))
    if ctx.flags.output ~= "table" then ctx:show(json.array(list)) return 0 end
    if #list == 0 then
      io.stderr:write("No users yet. Add one with 'kip user add EMAIL --role ROLE'.\n")
      return 0
    end
    ctx:show(list, {
      { "EMAIL", function(u) return u.email end },
      { "ROLE", function(u) return u.role end },
      { "CREATED", function(u) return u.created_at or "" end },
      { "UPDATED", function(u) return u.updated_at or "" end },
    })
    return 0
  end,
}

verbs.role = {
  summary = "Change a user's role",
  description = "Roles: " .. ROLE_HELP .. ". The last admin cannot be demoted. The user's console sessions\n" ..
    "end (they log in again under the new role).",
  args = { { name = "EMAIL", help = "the user" }, { name = "ROLE", help = "admin, deployer or viewer" } },
  examples = { "kip user role ana@example.com admin", "kip user role bo@example.com viewer" },
  run = function(ctx)
    local email = email_arg(ctx)
    local role, msg = users.check_role(ctx.args.ROLE)
    if not role then errors.usage(msg) end
    local c = ctx:client()
    local before = check(users.get(c, email))
    local u = check(users.set_role(c, email, role))
    if before.role == u.role then
      ctx:say("User %s already has role %s.", u.email, u.role)
      return 0
    end
    -- the sessions opened under the old role end (the console's API does the same)
    check(users.end_sessions(c, email))
    ctx:say("User %s now has role %s; their console sessions end.", u.email, u.role)
    return 0
  end,
}

verbs.remove = {
  summary = "Remove a user (not the last admin)",
  args = { { name = "EMAIL", help = "the user" } },
  flags = { { name = "yes", short = "y", help = "do not ask for confirmation" } },
  examples = { "kip user remove bo@example.com", "kip user remove bo@example.com --yes" },
  run = function(ctx)
    local email = email_arg(ctx)
    local c = ctx:client()
    local u = check(users.get(c, email))
    require("kip.cli.confirm").typed(string.format("remove user %s (role %s)", u.email, u.role), u.email, ctx.flags.yes)
    check(users.remove(c, email))
    ctx:say("User %s removed.", email)
    return 0
  end,
}

verbs["reset-password"] = {
  summary = "Give a user a new password and end their sessions",
  description = "Without --password-stdin kip generates a strong password and prints it once. The user's\n" ..
    "console sessions end (their refresh tokens stop working).",
  args = { { name = "EMAIL", help = "the user" } },
  flags = { password_flag },
  examples = {
    "kip user reset-password admin@example.com",
    "kip user reset-password ana@example.com --password-stdin < new-password.txt",
  },
  run = function(ctx)
    local email = email_arg(ctx)
    local password, generated = new_password(ctx)
    local u = check(users.set_password(ctx:client(), email, password))
    ctx:say("Password of %s reset; their sessions end.", u.email)
    if generated then show_generated(u.email, password) end
    return 0
  end,
}

return {
  summary = "Manage the console's users: add, list, change roles, remove, reset passwords",
  description = "Users log in to the console and kipperd's REST API with an e-mail address and a password.\n" ..
    "They live in the cluster, in Secret kipper-system/kipper-users, as scrypt hashes.",
  verbs = verbs,
  verb_order = { "add", "list", "role", "remove", "reset-password" },
}
