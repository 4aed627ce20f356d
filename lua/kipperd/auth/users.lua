-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.users: the console's local users, kept in Secret kipper-system/kipper-users as one
-- JSON document under data key users.json: {"version": 1, "users": [{email, role, password,
-- created_at, updated_at, sessions_epoch}, ...]}. One document rather than a key per user: e-mail
-- addresses are not valid Secret data keys ('@'), and the invariants span users (no duplicate, at
-- least one admin), so every change reads, checks and rewrites the whole list at one
-- resourceVersion (optimistic concurrency; a 409 re-reads and retries). Functions take a kip.k8s
-- client and return nil, message, code on failure (codes: "invalid", "notfound",
-- "alreadyexists", "lastadmin", "conflict", or the client's). What they return is a view of a
-- user, never its password hash. Uses kipperd.auth.passwords, kip.tls and kip.json.
local json = require "kip.json"
local passwords = require "kipperd.auth.passwords"
local tls = require "kip.tls"

local M = {}

M.NAMESPACE = "kipper-system"
M.SECRET = "kipper-users"
M.KEY = "users.json"
M.ROLES = { "admin", "deployer", "viewer" }
M.MAX_ATTEMPTS = 5 -- writes tried before giving up on concurrent changes
M.GENERATED_LENGTH = 24 -- characters of a generated password
M.FIELD_MANAGER = "kipper"

-- scrypt parameters for new hashes; nil means the current ones (passwords.N, R, P). Specs set
-- cheap ones here; nothing else should.
M.hash_params = nil

local IS_ROLE = {}
for _, r in ipairs(M.ROLES) do IS_ROLE[r] = true end

local function now()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

---Normalises and checks an e-mail address: trimmed, lower-cased, one '@' with a dotted domain,
---no spaces or control characters, at most 254 bytes.
---@param email any
---@return string|nil email
---@return string? message
function M.check_email(email)
  if type(email) ~= "string" then return nil, "an e-mail address is required" end
  local e = email:match("^%s*(.-)%s*$"):lower()
  if e == "" then return nil, "an e-mail address is required" end
  if #e > 254 then return nil, "the e-mail address is too long (at most 254 characters)" end
  local loc, domain = e:match("^([^@]+)@([^@]+)$")
  if not loc or e:find("[%s%c:/\\\"'<>,;]") or #loc > 64
    or not domain:match("^[%w%-]+%.[%w%-%.]*[%w]$") or domain:find("%.%.") then
    return nil, string.format("%q is not an e-mail address such as ana@example.com", email)
  end
  return e
end

---Checks a role name.
---@return string|nil role
---@return string? message
function M.check_role(role)
  if type(role) == "string" and IS_ROLE[role] then return role end
  return nil, string.format("unknown role %q (use %s)", tostring(role), table.concat(M.ROLES, ", "))
end

---A user without its password hash: what callers may show.
---@param user table a stored user
---@return {email: string, role: string, created_at: string, updated_at: string, sessions_epoch: integer}
function M.view(user)
  return { email = user.email, role = user.role, created_at = user.created_at, updated_at = user.updated_at,
    sessions_epoch = user.sessions_epoch }
end

---A new random password: 24 characters of unpadded base64url (144 bits).
---@return string
function M.generate_password()
  local bytes = assert(tls.random(18))
  return tls.base64url_encode(bytes):sub(1, M.GENERATED_LENGTH)
end

-- Reads the Secret: returns secret (nil when it does not exist yet), the list of stored users.
local function load(c)
  local secret, err, code = c:get("v1", "Secret", M.SECRET, M.NAMESPACE)
  if not secret then
    if code == "notfound" then return nil, {} end
    return nil, nil, err, code
  end
  local raw = secret.data and secret.data[M.KEY]
  if raw == nil then return secret, {} end
  local text = tls.base64_decode(raw)
  local ok, doc = pcall(json.decode, text or "")
  if not (text and ok and type(doc) == "table" and type(doc.users) == "table") then
    return nil, nil, string.format("Secret %s/%s: key %s is not a users document", M.NAMESPACE, M.SECRET, M.KEY), "invalid"
  end
  local list = {}
  for _, u in ipairs(doc.users) do
    if type(u) == "table" and type(u.email) == "string" then list[#list + 1] = u end
  end
  return secret, list
end

local function find(list, email)
  for i, u in ipairs(list) do
    if u.email == email then return u, i end
  end
  return nil
end

local function admins(list)
  local n = 0
  for _, u in ipairs(list) do
    if u.role == "admin" then n = n + 1 end
  end
  return n
end

-- Reads the users, lets change(list) alter them (it returns a result, or nil, message, code to
-- stop without writing), then writes them back at the resourceVersion read; on a conflict it
-- starts over, up to MAX_ATTEMPTS times.
local function mutate(c, change)
  for _ = 1, M.MAX_ATTEMPTS do
    local secret, list, err, code = load(c)
    if not list then return nil, err, code end
    local result, cerr, ccode = change(list)
    if result == nil then return nil, cerr, ccode end
    table.sort(list, function(a, b) return a.email < b.email end)
    local data = tls.base64_encode(json.encode({ version = 1, users = json.array(list) }))
    local ok, werr, wcode
    if secret then
      secret.data = secret.data or {}
      secret.data[M.KEY] = data
      ok, werr, wcode = c:update(secret, { field_manager = M.FIELD_MANAGER })
    else
      ok, werr, wcode = c:create({ apiVersion = "v1", kind = "Secret", type = "Opaque",
        metadata = { name = M.SECRET, namespace = M.NAMESPACE, labels = { ["app.kubernetes.io/managed-by"] = "kipper" } },
        data = { [M.KEY] = data } }, { field_manager = M.FIELD_MANAGER })
    end
    if ok then return result end
    if wcode ~= "conflict" and wcode ~= "alreadyexists" then return nil, werr, wcode end
  end
  return nil, "the users changed concurrently too many times; try again", "conflict"
end

local function hash(password)
  local ok, msg = passwords.check_policy(password)
  if not ok then return nil, msg, "invalid" end
  local h, err, code = passwords.hash(password, M.hash_params)
  if not h then return nil, err, code end
  return h
end

---Every user (views), sorted by e-mail.
---@return table[]|nil
---@return string? message
---@return string? code
function M.list(c)
  local _, list, err, code = load(c)
  if not list then return nil, err, code end
  local out = {}
  for _, u in ipairs(list) do out[#out + 1] = M.view(u) end
  table.sort(out, function(a, b) return a.email < b.email end)
  return json.array(out)
end

---One user (a view), or nil, message, "notfound".
function M.get(c, email)
  local e, msg = M.check_email(email)
  if not e then return nil, msg, "invalid" end
  local _, list, err, code = load(c)
  if not list then return nil, err, code end
  local u = find(list, e)
  if not u then return nil, string.format("no user %s", e), "notfound" end
  return M.view(u)
end

---Adds a user; refuses a bad e-mail or role, a password the policy refuses, or an existing user.
---@return table|nil user the view of the new user
function M.add(c, email, role, password)
  local e, msg = M.check_email(email)
  if not e then return nil, msg, "invalid" end
  local r, rmsg = M.check_role(role)
  if not r then return nil, rmsg, "invalid" end
  local h, herr, hcode = hash(password)
  if not h then return nil, herr, hcode end
  return mutate(c, function(list)
    if find(list, e) then return nil, string.format("user %s already exists", e), "alreadyexists" end
    local t = now()
    local u = { email = e, role = r, password = h, created_at = t, updated_at = t, sessions_epoch = 1 }
    list[#list + 1] = u
    return M.view(u)
  end)
end

---Changes a user's role; refuses demoting the last admin.
function M.set_role(c, email, role)
  local e, msg = M.check_email(email)
  if not e then return nil, msg, "invalid" end
  local r, rmsg = M.check_role(role)
  if not r then return nil, rmsg, "invalid" end
  return mutate(c, function(list)
    local u = find(list, e)
    if not u then return nil, string.format("no user %s", e), "notfound" end
    if u.role == "admin" and r ~= "admin" and admins(list) <= 1 then
      return nil, string.format("%s is the last admin; make another user admin first", e), "lastadmin"
    end
    if u.role ~= r then u.role, u.updated_at = r, now() end
    return M.view(u)
  end)
end

---Sets a user's password (after the policy) and bumps sessions_epoch, which revokes their sessions.
function M.set_password(c, email, password)
  local e, msg = M.check_email(email)
  if not e then return nil, msg, "invalid" end
  local h, herr, hcode = hash(password)
  if not h then return nil, herr, hcode end
  return mutate(c, function(list)
    local u = find(list, e)
    if not u then return nil, string.format("no user %s", e), "notfound" end
    u.password, u.updated_at = h, now()
    u.sessions_epoch = (math.tointeger(u.sessions_epoch) or 0) + 1
    return M.view(u)
  end)
end

---Bumps a user's sessions_epoch, which revokes the access and refresh tokens they hold (after a
---role change, say).
---@return table|nil user the view, with the new epoch
function M.end_sessions(c, email)
  local e, msg = M.check_email(email)
  if not e then return nil, msg, "invalid" end
  return mutate(c, function(list)
    local u = find(list, e)
    if not u then return nil, string.format("no user %s", e), "notfound" end
    u.sessions_epoch = (math.tointeger(u.sessions_epoch) or 0) + 1
    return M.view(u)
  end)
end

---Removes a user; refuses removing the last admin.
---@return table|nil user the view of the removed user
function M.remove(c, email)
  local e, msg = M.check_email(email)
  if not e then return nil, msg, "invalid" end
  return mutate(c, function(list)
    local u, i = find(list, e)
    if not u then return nil, string.format("no user %s", e), "notfound" end
    if u.role == "admin" and admins(list) <= 1 then
      return nil, string.format("%s is the last admin; make another user admin first", e), "lastadmin"
    end
    table.remove(list, i)
    return M.view(u)
  end)
end

---Checks an e-mail and password: the user's view when they match, else nil (an unknown or
---malformed e-mail still costs one scrypt derivation). When the stored hash uses weaker
---parameters than the current ones it is replaced (best effort; sessions are kept).
---@return table|nil user
---@return string? message only for a failure to read the users (not for a wrong password)
---@return string? code
function M.authenticate(c, email, password)
  local e = M.check_email(email)
  local _, list, err, code = load(c)
  if not list then
    passwords.verify(password, nil)
    return nil, err, code
  end
  local u = e and find(list, e)
  if not passwords.verify(password, u and u.password or nil) then return nil end
  if passwords.needs_rehash(u.password) and M.hash_params == nil then
    local h = passwords.hash(password)
    if h then
      mutate(c, function(l)
        local cur = find(l, e)
        if not cur or cur.password ~= u.password then return nil end -- changed meanwhile: leave it
        cur.password = h
        return true
      end)
    end
  end
  return M.view(u)
end

return M
