-- SPDX-License-Identifier: Apache-2.0
-- The Project spec from `kip project create` flags: --environment ENV[:cpu=..,memory=..,pods=..]
-- and --member EMAIL[:ROLE], each checked with a clear usage error before anything is sent. Uses
-- kip.apps.api, kip.apps.appspec (quantities) and kip.json.
local api = require "kip.apps.api"
local appspec = require "kip.apps.appspec"
local errors = require "kip.cli.errors"
local json = require "kip.json"

local M = {}

M.ROLES = { "owner", "deployer", "viewer" }
-- Namespaces the system uses, which no environment may take (kube-* too).
M.RESERVED = { default = true, ["kipper-system"] = true, ["cert-manager"] = true, longhorn = true, ["longhorn-system"] = true }

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
      if k == "cpu" or k == "memory" then
        if not appspec.is_quantity(v) then
          errors.usage(string.format("--environment %s: %s takes a quantity such as 4, 500m or 8Gi, not %q", name, k, v))
        end
        quota[k] = v
      elseif k == "pods" then
        local n = math.tointeger(tonumber(v))
        if not n or n < 0 then errors.usage(string.format("--environment %s: pods takes a whole number, not %q", name, v)) end
        quota.pods = n
      else
        errors.usage(string.format("--environment %s: unknown quota %q (use cpu, memory and pods)", name, k))
      end
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
  if #email < 3 or #email > 254 or not email:match("^[^%s@:]+@[^%s@:]+$") then
    errors.usage(string.format("--member takes EMAIL:ROLE such as ana@example.com:deployer; %q is not an e-mail address", email))
  end
  local ok = false
  for _, r in ipairs(M.ROLES) do ok = ok or r == role end
  if not ok then
    errors.usage(string.format("--member %s: unknown role %q (use %s)", email, role, table.concat(M.ROLES, ", ")))
  end
  return { email = email, role = role }
end

---The spec from the flags.
---@param f table parsed flags: display-name, environment (list), member (list)
---@return table spec
function M.spec(f)
  local spec = {}
  if f["display-name"] then spec.displayName = f["display-name"] end
  if f.environment then
    local envs, seen = json.array({}), {}
    for _, text in ipairs(f.environment) do
      local e = M.environment(text)
      if seen[e.name] then errors.usage(string.format("--environment %s is given twice", e.name)) end
      seen[e.name] = true
      envs[#envs + 1] = e
    end
    spec.environments = envs
  end
  if f.member then
    local members, seen = json.array({}), {}
    for _, text in ipairs(f.member) do
      local m = M.member(text)
      if seen[m.email] then errors.usage(string.format("--member %s is given twice", m.email)) end
      seen[m.email] = true
      members[#members + 1] = m
    end
    spec.members = members
  end
  return spec
end

return M
