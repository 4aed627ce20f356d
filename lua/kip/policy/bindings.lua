-- SPDX-License-Identifier: Apache-2.0
-- serviceBindings of an App: for each bound Service, variables PREFIX_HOST, PREFIX_PORT,
-- PREFIX_USER, PREFIX_PASSWORD and PREFIX_URL read from the Service's credentials Secret
-- (NAME-credentials, same namespace) with secretKeyRef, so a pod starts only once the Secret is
-- there. The prefix is envPrefix ("_" added when missing) or the Service's type upper-cased
-- ("postgres" gives POSTGRES_HOST). Uses kip.policy.invalid.
local invalid = require "kip.policy.invalid"

local M = {}

M.SERVICE_API = "kipper.run/v1alpha1"

-- variable suffix -> key of the credentials Secret (see kip.catalog.services)
M.VARIABLES = { { "HOST", "host" }, { "PORT", "port" }, { "USER", "username" }, { "PASSWORD", "password" }, { "URL", "url" } }

---The name of a Service's credentials Secret.
function M.secret_name(service)
  return service .. "-credentials"
end

local function prefix_of(binding, observed)
  local p = binding.envPrefix
  if p == nil or p == "" then
    local t = observed and observed.spec and observed.spec.type
    if type(t) ~= "string" then return nil end
    p = t:upper():gsub("[^A-Z0-9_]", "_")
  end
  if p:sub(-1) ~= "_" then p = p .. "_" end
  return p
end

---The env entries for spec.serviceBindings, and the problems found (bound Services that do not exist).
---@param spec table the App's spec
---@param namespace string
---@param ctx table the policy ctx (observed)
---@return table[] env EnvVar entries, in binding order
---@return {reason: string, message: string}[] problems
function M.env(spec, namespace, ctx)
  local env, problems, by_name = {}, {}, {}
  for _, b in ipairs(spec.serviceBindings or {}) do
    local observed = ctx.observed(M.SERVICE_API, "Service", namespace, b.service)
    local prefix = prefix_of(b, observed)
    if not observed then
      problems[#problems + 1] = { reason = "ServiceNotFound", message = string.format(
        "bound Service %s does not exist in namespace %s: create it (kip service add TYPE --name %s) or remove the binding",
        b.service, namespace, b.service) }
    end
    if prefix then
      for _, v in ipairs(M.VARIABLES) do
        local name = prefix .. v[1]
        if by_name[name] then
          invalid.raise("BindingConflict", "serviceBindings %s and %s both set %s: give one of them an envPrefix",
            by_name[name], b.service, name)
        end
        by_name[name] = b.service
        env[#env + 1] = { name = name, valueFrom = { secretKeyRef = { name = M.secret_name(b.service), key = v[2] } } }
      end
    end
  end
  return env, problems
end

return M
