-- SPDX-License-Identifier: Apache-2.0
-- An App's environment as a content-addressed Secret app-NAME-env-HASH: spec.env plus the data of
-- the user's Secret app-NAME-secrets (all of its keys, or those spec.secrets lists; a value from
-- the Secret wins over spec.env). The name changes with the content, so a changed value rolls the
-- pods. Env Secrets that pods still use are kept until those pods are gone. Uses kip.policy.hash,
-- .secrets and .invalid.
local hash = require "kip.policy.hash"
local invalid = require "kip.policy.invalid"
local secrets = require "kip.policy.secrets"

local M = {}

-- A variable name envFrom passes on and a Secret can hold.
local ENV_NAME = "^[-._a-zA-Z][-._a-zA-Z0-9]*$"

---@param app string the App's name
---@return string the user's Secret, which `kip app secret` manages
function M.user_secret_name(app)
  return "app-" .. app .. "-secrets"
end

local function env_prefix(app)
  return "app-" .. app .. "-env-"
end

local function values_keys(values)
  local keys = {}
  for k in pairs(values) do keys[k] = true end
  return keys
end

---The App's env Secret.
---@param app table the App
---@param ctx table the policy ctx
---@param labels table<string, string>
---@return {object: table, name: string, keys: table<string, boolean>, problems: {reason: string, message: string}[]}
---  keys: the variable names the Secret holds
function M.build(app, ctx, labels)
  local name, ns = app.metadata.name, app.metadata.namespace
  local spec = app.spec or {}
  local values, problems = {}, {}
  for k, v in pairs(spec.env or {}) do
    if type(k) ~= "string" or #k > 253 or not k:match(ENV_NAME) then
      invalid.raise("InvalidEnv", "environment variable name %q is not valid: use letters, digits, '_', '-' and '.', not starting with a digit", tostring(k))
    end
    values[k] = tostring(v)
  end
  local user_name = M.user_secret_name(name)
  local user = secrets.decode(ctx.observed("v1", "Secret", ns, user_name))
  local wanted = spec.secrets
  if wanted and #wanted > 0 then
    local missing = {}
    for _, key in ipairs(wanted) do
      if user[key] then values[key] = user[key] else missing[#missing + 1] = key end
    end
    if #missing > 0 then
      problems[1] = { reason = "SecretMissing", message = string.format(
        "Secret %s has no %s %s listed in spec.secrets: set %s with kip app secret set %s KEY, or remove %s from spec.secrets",
        user_name, #missing == 1 and "key" or "keys", table.concat(missing, ", "), #missing == 1 and "it" or "them", name,
        #missing == 1 and "it" or "them") }
    end
  else
    for k, v in pairs(user) do values[k] = v end
  end
  local secret_name = env_prefix(name) .. hash.short(values)
  return { name = secret_name, problems = problems, keys = values_keys(values),
    object = secrets.object(secret_name, ns, values, labels) }
end

---Env Secrets of this App that pods still use, other than current, copied from the observed
---ones so they are not pruned while those pods run.
---@param app table the App
---@param pods table[] the App's observed pods
---@param current string the env Secret name wanted now
---@param ctx table the policy ctx
---@return table[] secrets
function M.in_use(app, pods, current, ctx)
  local prefix, ns = env_prefix(app.metadata.name), app.metadata.namespace
  local seen, out = { [current] = true }, {}
  local names = {}
  for _, pod in ipairs(pods or {}) do
    for _, c in ipairs((pod.spec or {}).containers or {}) do
      for _, from in ipairs(c.envFrom or {}) do
        local n = from.secretRef and from.secretRef.name
        if n and not seen[n] and n:sub(1, #prefix) == prefix and n:sub(#prefix + 1):match("^%x+$") then
          seen[n] = true
          names[#names + 1] = n
        end
      end
    end
  end
  table.sort(names)
  for _, n in ipairs(names) do
    local old = ctx.observed("v1", "Secret", ns, n)
    if old then
      out[#out + 1] = { apiVersion = "v1", kind = "Secret", type = old.type or "Opaque",
        metadata = { name = n, namespace = ns, labels = old.metadata.labels }, data = old.data }
    end
  end
  return out
end

return M
