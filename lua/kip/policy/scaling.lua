-- SPDX-License-Identifier: Apache-2.0
-- An App's scaling objects: a HorizontalPodAutoscaler on CPU when autoscale is on, and a
-- PodDisruptionBudget keeping one pod up when more than one runs (pods that are not healthy may
-- still be evicted, so a crashing App never blocks a node drain). Uses kip.policy.invalid.
local invalid = require "kip.policy.invalid"

local M = {}

M.DEFAULT_MAX = 5
M.DEFAULT_CPU_TARGET = 80

---The autoscale bounds, or nil when autoscale is off.
---@param spec table the App's spec
---@return {min: integer, max: integer, cpuTarget: integer}|nil
function M.bounds(spec)
  local a = spec.autoscale
  if not (a and a.enabled) then return nil end
  local min = a.min or 1
  local max = a.max or math.max(min, M.DEFAULT_MAX)
  if max < min then
    invalid.raise("InvalidAutoscale", "autoscale.max (%d) is below autoscale.min (%d): raise max or lower min", max, min)
  end
  return { min = min, max = max, cpuTarget = a.cpuTarget or M.DEFAULT_CPU_TARGET }
end

---@return table|nil hpa
function M.hpa(app, bounds, labels)
  if not bounds then return nil end
  return { apiVersion = "autoscaling/v2", kind = "HorizontalPodAutoscaler",
    metadata = { name = app.metadata.name, namespace = app.metadata.namespace, labels = labels },
    spec = {
      scaleTargetRef = { apiVersion = "apps/v1", kind = "Deployment", name = app.metadata.name },
      minReplicas = bounds.min, maxReplicas = bounds.max,
      metrics = { { type = "Resource", resource = { name = "cpu",
        target = { type = "Utilization", averageUtilization = bounds.cpuTarget } } } },
    } }
end

---The PodDisruptionBudget when the App runs more than one pod (at least), or nil.
---@param least integer the fewest pods the App runs (replicas, or autoscale.min)
---@return table|nil pdb
function M.pdb(app, least, selector, labels)
  if least <= 1 then return nil end
  return { apiVersion = "policy/v1", kind = "PodDisruptionBudget",
    metadata = { name = app.metadata.name, namespace = app.metadata.namespace, labels = labels },
    spec = { minAvailable = 1, selector = { matchLabels = selector }, unhealthyPodEvictionPolicy = "AlwaysAllow" } }
end

return M
