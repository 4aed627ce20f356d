-- SPDX-License-Identifier: Apache-2.0
-- Container requests and limits from spec.resources: a sizing profile (lightweight, standard,
-- compute-heavy, memory-heavy, jvm), adjusted by explicit cpu/memory requests and limits. A
-- request above the profile's limit raises that limit to it; an explicit limit below its request is
-- a spec error. The jvm profile also sets JAVA_TOOL_OPTIONS so the JVM sizes its heap to the limit.
-- Uses kip.policy.quantity and kip.policy.invalid.
local invalid = require "kip.policy.invalid"
local quantity = require "kip.policy.quantity"

local M = {}

M.DEFAULT = "standard"

M.PROFILES = {
  lightweight = { requests = { cpu = "50m", memory = "64Mi" }, limits = { cpu = "200m", memory = "128Mi" } },
  standard = { requests = { cpu = "100m", memory = "256Mi" }, limits = { cpu = "500m", memory = "512Mi" } },
  ["compute-heavy"] = { requests = { cpu = "1", memory = "1Gi" }, limits = { cpu = "2", memory = "2Gi" } },
  ["memory-heavy"] = { requests = { cpu = "250m", memory = "1Gi" }, limits = { cpu = "1", memory = "4Gi" } },
  jvm = { requests = { cpu = "500m", memory = "1Gi" }, limits = { cpu = "2", memory = "2Gi" },
    env = { JAVA_TOOL_OPTIONS = "-XX:MaxRAMPercentage=75" } },
}

---Requests, limits and profile environment for spec.resources.
---@param spec table|nil spec.resources: {profile?, cpu?, memory?, cpuLimit?, memoryLimit?}
---@param default_profile? string used when spec names none (default "standard")
---@return {requests: table<string, string>, limits: table<string, string>} resources
---@return table<string, string> env variables the profile adds (may be empty)
function M.build(spec, default_profile)
  spec = spec or {}
  local name = spec.profile or default_profile or M.DEFAULT
  local profile = M.PROFILES[name]
  if not profile then
    invalid.raise("InvalidResources", "unknown resource profile %q: use lightweight, standard, compute-heavy, memory-heavy or jvm", tostring(name))
  end
  local requests = { cpu = spec.cpu or profile.requests.cpu, memory = spec.memory or profile.requests.memory }
  local limits = { cpu = spec.cpuLimit or profile.limits.cpu, memory = spec.memoryLimit or profile.limits.memory }
  for _, r in ipairs({ { "cpu", "cpuLimit" }, { "memory", "memoryLimit" } }) do
    local res, limit_field = r[1], r[2]
    for _, q in ipairs({ requests[res], limits[res] }) do
      if not quantity.parse(q) then
        invalid.raise("InvalidResources", "%s %q is not a quantity: write it like 500m, 1, 256Mi or 1Gi", res, tostring(q))
      end
    end
    if quantity.less(limits[res], requests[res]) then
      if spec[limit_field] then
        invalid.raise("InvalidResources", "resources.%s (%s) is below resources.%s (%s): raise the limit or lower the request",
          limit_field, spec[limit_field], res, requests[res])
      end
      limits[res] = requests[res]
    end
  end
  local env = {}
  for k, v in pairs(profile.env or {}) do env[k] = v end
  return { requests = requests, limits = limits }, env
end

return M
