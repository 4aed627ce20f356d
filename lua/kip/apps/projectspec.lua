-- SPDX-License-Identifier: Apache-2.0
-- The Project spec from `kip project create` flags (--environment ENV[:cpu=..,memory=..,pods=..],
-- --member EMAIL[:ROLE]) or from a console API body ({environments: [{name, quota}], members:
-- [{email, role}]}): the same checks, each a clear usage error before anything is sent, naming the
-- flag or the field; and the namespaces the environments would get, checked. Uses kip.apps.api,
-- kip.apps.appspec (quantities), kip.apps.namespace and kip.json.
local api = require "kip.apps.api"
local appspec = require "kip.apps.appspec"
local errors = require "kip.cli.errors"
local json = require "kip.json"
local names = require "kip.util.names"
local namespace = require "kip.apps.namespace"

local M = {}

M.ROLES = { "owner", "deployer", "viewer" }
-- Namespaces the system uses, which no environment may take (kube-* too).
M.RESERVED = { default = true, ["kipper-system"] = true, ["cert-manager"] = true, longhorn = true, ["longhorn-system"] = true }

local function quoted(v)
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

-- Whether v is a list: a JSON array, or a table whose keys are exactly 1..n (empty counts).
local function is_list(v)
  if type(v) ~= "table" then return false end
  if json.is_array(v) then return true end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

---Whether text looks like an e-mail address.
function M.is_email(text)
  return type(text) == "string" and #text >= 3 and #text <= 254 and text:match("^[^%s@:]+@[^%s@:]+$") ~= nil
end

---Whether role is a project role (owner, deployer, viewer).
function M.is_role(role)
  for _, r in ipairs(M.ROLES) do if r == role then return true end end
  return false
end

---Checks one quota item (cpu, memory: quantities; pods: a whole number); returns its value.
---@param where string how the environment is named in messages ("--environment prod")
---@param k string
---@param v any a string (flags) or a JSON value
function M.quota_item(where, k, v)
  if k == "cpu" or k == "memory" then
    if not appspec.is_quantity(v) then
      errors.usage(string.format("%s: %s takes a quantity such as 4, 500m or 8Gi, not %s", where, k, quoted(v)))
    end
    return v
  elseif k == "pods" then
    local n = (type(v) == "string" or type(v) == "number") and math.tointeger(tonumber(v)) or nil
    if not n or n < 0 then errors.usage(string.format("%s: pods takes a whole number, not %s", where, quoted(v))) end
    return n
  end
  errors.usage(string.format("%s: unknown quota %s (use cpu, memory and pods)", where, quoted(k)))
end

---Parses one --environment value.
---@param text string e.g. "production:cpu=4,memory=8Gi,pods=50"
---@return {name: string, quota?: table}
function M.environment(text)
  local name, quota_text = text:match("^([^:]*):(.*)$")
  name = name or text
  api.check_name("environment", name)
  local env = { name = name }
  if quota_text then
    local quota = {}
    for item in (quota_text .. ","):gmatch("([^,]*),") do
      local k, v = item:match("^%s*(%w+)%s*=%s*(.-)%s*$")
      if not k then
        errors.usage(string.format("--environment %s: quota items are KEY=VALUE with KEY cpu, memory or pods, not %q", name, item))
      end
      quota[k] = M.quota_item("--environment " .. name, k, v)
    end
    env.quota = quota
  end
  return env
end

---Parses one --member value: EMAIL or EMAIL:ROLE (default role viewer).
---@return {email: string, role: string}
function M.member(text)
  local email, role = text:match("^(.*):(%a+)$")
  email = email or text
  role = role or "viewer"
  if not M.is_email(email) then
    errors.usage(string.format("--member takes EMAIL:ROLE such as ana@example.com:deployer; %q is not an e-mail address", email))
  end
  if not M.is_role(role) then
    errors.usage(string.format("--member %s: unknown role %q (use %s)", email, role, table.concat(M.ROLES, ", ")))
  end
  return { email = email, role = role }
end

-- Lists of parsed items, refusing a key given twice.
local function unique(items, key, twice)
  local out, seen = json.array({}), {}
  for _, x in ipairs(items) do
    if seen[x[key]] then errors.usage(twice(x[key])) end
    seen[x[key]] = true
    out[#out + 1] = x
  end
  return out
end

---The spec from the flags.
---@param f table parsed flags: display-name, environment (list), member (list)
---@return table spec
function M.spec(f)
  local spec = {}
  if f["display-name"] then spec.displayName = f["display-name"] end
  if f.environment then
    local envs = {}
    for i, text in ipairs(f.environment) do envs[i] = M.environment(text) end
    spec.environments = unique(envs, "name", function(n) return string.format("--environment %s is given twice", n) end)
  end
  if f.member then
    local members = {}
    for i, text in ipairs(f.member) do members[i] = M.member(text) end
    spec.members = unique(members, "email", function(e) return string.format("--member %s is given twice", e) end)
  end
  return spec
end

---The members from a console API body's list [{email, role}] (role default viewer).
---@param list any
---@return table members
function M.body_members(list)
  if not is_list(list) then
    errors.usage("members takes a list of {email, role}")
  end
  local members = {}
  for i, m in ipairs(list) do
    local where = string.format("members[%d]", i)
    if type(m) ~= "table" then errors.usage(where .. " takes {email, role}") end
    if not M.is_email(m.email) then errors.usage(string.format("%s.email: %s is not an e-mail address", where, quoted(m.email))) end
    local role = m.role == nil and "viewer" or m.role
    if not M.is_role(role) then
      errors.usage(string.format("%s.role: unknown role %s (use %s)", where, quoted(role), table.concat(M.ROLES, ", ")))
    end
    members[i] = { email = m.email:lower(), role = role }
  end
  return unique(members, "email", function(e) return string.format("members: %s is given twice", e) end)
end

---The spec from a console API body {name, display_name?, environments?: [{name, quota?}], members?}.
---@param body table
---@return table spec
function M.body_spec(body)
  local known = { name = true, display_name = true, environments = true, members = true }
  for k in pairs(body) do
    if not known[k] then errors.usage(string.format("unknown field %s", quoted(k)),
      "A project takes name, display_name, environments and members.") end
  end
  local spec = {}
  if body.display_name ~= nil then
    if type(body.display_name) ~= "string" then errors.usage("display_name takes a string") end
    spec.displayName = body.display_name
  end
  if body.environments ~= nil then
    local list = body.environments
    if not is_list(list) then
      errors.usage("environments takes a list of {name, quota?}")
    end
    local envs = {}
    for i, e in ipairs(list) do
      local where = string.format("environments[%d]", i)
      if type(e) ~= "table" then errors.usage(where .. " takes {name, quota?}") end
      local ok, why = names.check_label("environment", e.name)
      if not ok then errors.usage(where .. ".name: " .. why) end
      envs[i] = { name = e.name }
      if e.quota ~= nil then
        if type(e.quota) ~= "table" then errors.usage(where .. ".quota takes {cpu?, memory?, pods?}") end
        local quota = {}
        for k, v in pairs(e.quota) do quota[k] = M.quota_item(where .. ".quota", k, v) end
        envs[i].quota = quota
      end
    end
    if #envs > 0 then
      spec.environments = unique(envs, "name", function(n) return string.format("environments: %s is given twice", n) end)
    end
  end
  if body.members ~= nil then spec.members = M.body_members(body.members) end
  return spec
end

---Checks the namespaces a project's environments would get: at most 63 characters, none the
---system uses.
---@param name string the project
---@param spec table its spec
function M.check_namespaces(name, spec)
  for _, e in ipairs(spec.environments or { { name = "default" } }) do
    local ns = namespace.for_environment(name, e.name)
    if #ns > 63 then
      errors.usage(string.format("the namespace of environment %s would be %s, longer than 63 characters", e.name, ns),
        "Use a shorter project or environment name.")
    end
    if M.RESERVED[ns] or ns:match("^kube%-") then
      errors.usage(string.format("environment %s of project %s would be namespace %s, which the system uses", e.name, name, ns),
        "Rename the project or the environment.")
    end
  end
end

return M
