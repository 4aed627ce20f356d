-- SPDX-License-Identifier: Apache-2.0
-- Checks a service catalog entry (see kip.catalog.services for the shape) and says clearly what is
-- wrong: the field, what it must be, and what it is. Pure Lua; uses kip.policy.resources for the
-- profile names and kip.policy.quantity for storage sizes.
local quantity = require "kip.policy.quantity"
local resources = require "kip.policy.resources"

local M = {}

-- Keys of the credentials Secret that the policy fills in itself.
M.COMPUTED_KEYS = { host = true, port = true, url = true }

local FIELDS = {
  description = true, image = true, version = true, port = true, ports = true, data_path = true, storage = true,
  profile = true, credentials = true, env = true, url = true, args = true, command = true,
  security_context = true, probe = true,
}
local POD_SECURITY = { runAsUser = true, runAsGroup = true, fsGroup = true, fsGroupChangePolicy = true, supplementalGroups = true }
local TAG = "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
local ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
local SECRET_KEY = "^[-._a-zA-Z0-9]+$"

-- A DNS label (RFC 1123) of at most max characters.
local function dns_label(s, max)
  return type(s) == "string" and #s >= 1 and #s <= max and s:match("^[a-z0-9][-a-z0-9]*$") ~= nil and s:sub(-1) ~= "-"
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function port_ok(p)
  return math.type(p) == "integer" and p >= 1 and p <= 65535
end

local function string_list(v)
  if type(v) ~= "table" or #v == 0 then return false end
  for k, x in pairs(v) do
    if math.type(k) ~= "integer" or type(x) ~= "string" then return false end
  end
  return true
end

local function check_credentials(e, fail)
  if type(e.credentials) ~= "table" then fail("credentials must be a table of key = value or key = { random = BYTES }") end
  for _, need in ipairs({ "username", "password" }) do
    if e.credentials[need] == nil then fail("credentials must have %q (the credentials Secret always holds it)", need) end
  end
  for k, v in pairs(e.credentials) do
    if type(k) ~= "string" or not k:match(SECRET_KEY) then fail("credentials key %s is not a valid Secret key", show(k)) end
    if M.COMPUTED_KEYS[k] then fail("credentials key %q is reserved: kipperd fills in host, port and url", k) end
    if type(v) == "table" then
      local n = v.random
      if math.type(n) ~= "integer" or n < 8 or n > 64 or next(v, next(v)) ~= nil then
        fail("credentials.%s must be a string or { random = BYTES } with BYTES from 8 to 64", k)
      end
    elseif type(v) ~= "string" or v == "" then
      fail("credentials.%s must be a non-empty string or { random = BYTES }", k)
    end
  end
end

local function check_env(e, fail)
  if type(e.env) ~= "table" then fail("env must be a list of { name = VAR, key = CREDENTIAL } or { name = VAR, value = TEXT }") end
  local seen = {}
  for i, item in ipairs(e.env) do
    local where = string.format("env[%d]", i)
    if type(item) ~= "table" or type(item.name) ~= "string" or not item.name:match(ENV_NAME) then
      fail("%s.name must be an environment variable name (letters, digits and _)", where)
    end
    if seen[item.name] then fail("%s sets %s a second time", where, item.name) end
    seen[item.name] = true
    if (item.key == nil) == (item.value == nil) then fail("%s (%s) must have exactly one of key and value", where, item.name) end
    if item.key ~= nil and not (e.credentials[item.key] ~= nil or M.COMPUTED_KEYS[item.key]) then
      fail("%s (%s) names credentials key %s, which is not in credentials (nor host, port or url)", where, item.name, show(item.key))
    end
    if item.value ~= nil and type(item.value) ~= "string" then fail("%s (%s) value must be a string", where, item.name) end
    for k in pairs(item) do
      if k ~= "name" and k ~= "key" and k ~= "value" then fail("%s has unknown field %s", where, show(k)) end
    end
  end
end

local function check_url(e, fail)
  if type(e.url) ~= "string" or e.url == "" then fail("url must be a template like postgres://{username}:{password}@{host}:{port}/{database}") end
  for key in e.url:gmatch("{([^}]*)}") do
    if e.credentials[key] == nil and not M.COMPUTED_KEYS[key] then
      fail("url names {%s}, which is not a credentials key (nor host or port)", key)
    end
  end
end

local function check_ports(e, fail)
  if e.ports == nil then return end
  if type(e.ports) ~= "table" then fail("ports must be a list of { name = NAME, port = NUMBER }") end
  for i, p in ipairs(e.ports) do
    if type(p) ~= "table" or not dns_label(p.name, 15) or p.name:find("--", 1, true) or not p.name:match("%a") or not port_ok(p.port) then
      fail("ports[%d] must be { name = NAME, port = NUMBER }: a name of at most 15 lowercase letters, digits and '-', a port from 1 to 65535", i)
    end
  end
end

local function check_security(e, fail)
  local sc = e.security_context
  if type(sc) ~= "table" then
    fail("security_context must be set, with runAsUser: the non-root user the image runs as (its containers run restricted)")
  end
  for k in pairs(sc) do
    if not POD_SECURITY[k] then
      fail("security_context has unknown field %s (known: fsGroup, fsGroupChangePolicy, runAsGroup, runAsUser, supplementalGroups)", show(k))
    end
  end
  if math.type(sc.runAsUser) ~= "integer" or sc.runAsUser <= 0 then
    fail("security_context.runAsUser must be the image's non-root user id (an integer above 0)")
  end
end

local function check_probe(e, fail)
  local p = e.probe
  if p == nil then return end
  local ok = type(p) == "table" and ((p.command ~= nil and string_list(p.command) and p.http == nil)
    or (type(p.http) == "string" and p.http:sub(1, 1) == "/" and p.command == nil))
  if not ok then fail("probe must be { command = { ... } } or { http = \"/path\" } (or left out for a TCP check on the port)") end
end

---Checks one entry.
---@param name string the service type, e.g. "postgres"
---@param e any the entry
---@return boolean|nil ok
---@return string|nil message `catalog entry "NAME": WHAT`
function M.check(name, e)
  local function fail(fmt, ...)
    error({ message = string.format("catalog entry %q: " .. fmt, name, ...) }, 0)
  end
  local ok, err = pcall(function()
    if not dns_label(name, 63) then
      fail("the type name must be a DNS label: lowercase letters, digits and '-'")
    end
    if type(e) ~= "table" then fail("an entry must be a table (it is a %s)", type(e)) end
    for k in pairs(e) do
      if not FIELDS[k] then fail("unknown field %s", show(k)) end
    end
    if type(e.image) ~= "string" or e.image == "" or e.image:find("[@%s]") or e.image:match(":[^/]*$") then
      fail("image must be an image repository without a tag, e.g. docker.io/library/postgres (it is %s)", show(e.image))
    end
    if type(e.version) ~= "string" or not e.version:match(TAG) or #e.version > 128 then
      fail("version must be an image tag, e.g. \"17\" (it is %s)", show(e.version))
    end
    if not port_ok(e.port) then fail("port must be an integer from 1 to 65535 (it is %s)", show(e.port)) end
    check_ports(e, fail)
    if type(e.data_path) ~= "string" or e.data_path:sub(1, 1) ~= "/" then fail("data_path must be an absolute path (it is %s)", show(e.data_path)) end
    if type(e.storage) ~= "string" or not quantity.parse(e.storage) then fail("storage must be a size like \"10Gi\" (it is %s)", show(e.storage)) end
    if e.profile ~= nil and not resources.PROFILES[e.profile] then
      fail("profile must be lightweight, standard, compute-heavy, memory-heavy or jvm (it is %s)", show(e.profile))
    end
    check_credentials(e, fail)
    check_env(e, fail)
    check_url(e, fail)
    for _, f in ipairs({ "args", "command" }) do
      if e[f] ~= nil and not string_list(e[f]) then fail("%s must be a list of strings", f) end
    end
    check_security(e, fail)
    check_probe(e, fail)
    if e.description ~= nil and type(e.description) ~= "string" then fail("description must be a string") end
  end)
  if ok then return true end
  if type(err) == "table" then return nil, err.message end
  error(err, 0)
end

return M
