-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.users: the console's users, for admins only, as `kip user` manages them (kipperd.auth.users,
-- Secret kipper-system/kipper-users): list, create (a password generated and returned once when
-- none is given), role change, password reset (generated, returned once) and removal. The last
-- admin is never demoted or removed (409). A reset, a role change and a removal end the user's
-- sessions: their sessions_epoch is bumped (access tokens refused) and their refresh tokens
-- revoked. Uses kipperd.auth.users, kipperd.api.router and kip.json.
local json = require "kip.json"
local log = require "kip.log"
local router = require "kipperd.api.router"
local users = require "kipperd.auth.users"

local M = {}

local BASE = "/api/v1/users"

local USER = { email = "ana@example.com", role = "deployer", created_at = "2026-01-01T00:00:00Z",
  updated_at = "2026-01-01T00:00:00Z" }

-- What the API shows of a user.
local function view(u)
  return { email = u.email, role = u.role, created_at = u.created_at, updated_at = u.updated_at }
end

-- The response for a kipperd.auth.users failure.
local function failure(msg, code)
  if code == "invalid" then return router.error(400, tostring(msg)) end
  if code == "notfound" and tostring(msg):match("^no user ") then
    return router.error(404, tostring(msg), "GET /api/v1/users lists the users.")
  end
  if code == "alreadyexists" then
    return router.error(409, tostring(msg), "POST /api/v1/users/EMAIL/reset-password gives them a new password.")
  end
  if code == "lastadmin" then return router.error(409, tostring(msg), "Make another user an admin first.") end
  log.warn("console API: the users could not be changed", { error = tostring(msg) })
  return router.error(503, "the users could not be read or written: " .. tostring(msg), "Try again; see kipperd's log.")
end

-- Refuses fields a body should not have, naming the first.
local function unknown_field(body, allowed)
  for k in pairs(body) do
    if not allowed[k] then return router.error(400, string.format("unknown field %q", tostring(k))) end
  end
end

---Adds the user routes.
---@param r table kipperd.api.router
---@param deps kipperd.api.Deps
function M.routes(r, deps)
  -- users are read and written through kipperd's copy of their Secret when there is one
  local check, c, auth = deps.access, deps.users or deps.client, deps.auth

  -- ends the sessions of a user whose epoch changed (nil: removed)
  local function end_sessions(email, epoch)
    local n = auth:revoke_user(email, epoch)
    log.info("console sessions ended", { user = email, sessions_revoked = n })
  end

  r:add("GET", BASE, function(req)
    local admin, res = check:admin(req)
    if not admin then return res end
    local list, err, code = users.list(c)
    if not list then return failure(err, code) end
    local items = {}
    for _, u in ipairs(list) do items[#items + 1] = view(u) end
    return router.json(200, { items = json.array(items) })
  end, { summary = "List the users and their roles", tag = "Users", access = "admin", response = { items = { USER } } })

  r:add("POST", BASE, function(req)
    local admin, res = check:admin(req)
    if not admin then return res end
    local body, bad = router.body(req)
    if not body then return bad end
    local refused = unknown_field(body, { email = true, role = true, password = true })
    if refused then return refused end
    local email, emsg = users.check_email(body.email)
    if not email then return router.error(400, "email: " .. emsg) end
    local role, rmsg = users.check_role(body.role)
    if not role then return router.error(400, "role: " .. rmsg) end
    local password, generated = body.password, false
    if password == nil then
      password, generated = users.generate_password(), true
    elseif type(password) ~= "string" then
      return router.error(400, "password: a string is required (leave it out to have one generated)")
    end
    local u, err, code = users.add(c, email, role, password)
    if not u then
      if code == "invalid" then return router.error(400, "password: " .. tostring(err)) end
      return failure(err, code)
    end
    log.info("console user added", { user = u.email, role = u.role, by = admin.email })
    return router.json(201, { user = view(u), password = generated and password or nil })
  end, { summary = "Add a user (a password is generated and returned once when none is given)", tag = "Users",
    access = "admin", status = 201, conflict = "The user exists.", optional = { "password" },
    body = { email = "ana@example.com", role = "deployer", password = "at least 12 characters" },
    response = { user = USER, password = "generated-only-when-none-was-sent" } })

  r:add("PUT", BASE .. "/{email}/role", function(req)
    local admin, res = check:admin(req)
    if not admin then return res end
    local body, bad = router.body(req)
    if not body then return bad end
    local refused = unknown_field(body, { role = true })
    if refused then return refused end
    local role, rmsg = users.check_role(body.role)
    if not role then return router.error(400, "role: " .. rmsg) end
    local before, berr, bcode = users.get(c, req.params.email)
    if not before then return failure(berr, bcode) end
    local u, err, code = users.set_role(c, before.email, role)
    if not u then return failure(err, code) end
    if before.role ~= u.role then
      local ended, eerr, ecode = users.end_sessions(c, u.email)
      if not ended then return failure(eerr, ecode) end
      end_sessions(u.email, ended.sessions_epoch)
      u = ended
      log.info("console user role changed", { user = u.email, role = u.role, by = admin.email })
    end
    return router.json(200, view(u))
  end, { summary = "Change a user's role (their sessions end; the last admin keeps the role)", tag = "Users",
    access = "admin", conflict = "It would leave no admin.", body = { role = "viewer" }, response = USER })

  r:add("POST", BASE .. "/{email}/reset-password", function(req)
    local admin, res = check:admin(req)
    if not admin then return res end
    local password = users.generate_password()
    local u, err, code = users.set_password(c, req.params.email, password)
    if not u then return failure(err, code) end
    end_sessions(u.email, u.sessions_epoch)
    log.info("console password reset", { user = u.email, by = admin.email })
    return router.json(200, { password = password })
  end, { summary = "Give a user a generated password, returned once; their sessions end", tag = "Users",
    access = "admin", response = { password = "generated-password" } })

  r:add("DELETE", BASE .. "/{email}", function(req)
    local admin, res = check:admin(req)
    if not admin then return res end
    local u, err, code = users.remove(c, req.params.email)
    if not u then return failure(err, code) end
    end_sessions(u.email, nil)
    log.info("console user removed", { user = u.email, by = admin.email })
    return router.empty(204)
  end, { summary = "Remove a user (not the last admin); their sessions end", tag = "Users", access = "admin",
    status = 204, conflict = "It is the last admin." })
end

return M
