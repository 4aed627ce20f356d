-- SPDX-License-Identifier: Apache-2.0
-- PodDisruptionBudget arithmetic as Kubernetes' disruption controller does it: the pods a budget
-- selects, how many are expected (the scale of their controllers), how many must stay healthy
-- (minAvailable, or expected minus maxUnavailable; percentages rounded up) and how many
-- disruptions are allowed now. Used by kip.sandbox.eviction and kip.sandbox.sim.disruption.
-- Uses kip.sandbox.selectors.
local selectors = require "kip.sandbox.selectors"

local M = {}

---Whether a pod counts as healthy for a budget: Ready and not being deleted.
function M.healthy(pod)
  if pod.metadata.deletionTimestamp then return false end
  for _, c in ipairs(((pod.status or {}).conditions) or {}) do
    if c.type == "Ready" then return c.status == "True" end
  end
  return false
end

local function controller_ref(obj)
  for _, r in ipairs(obj.metadata.ownerReferences or {}) do
    if r.controller then return r end
  end
end

local SCALED = {
  ReplicaSet = { "apps", "v1", "replicasets" }, StatefulSet = { "apps", "v1", "statefulsets" },
  Deployment = { "apps", "v1", "deployments" }, ReplicationController = { "", "v1", "replicationcontrollers" },
}

-- The controller of a pod as the disruption controller finds it (a ReplicaSet's Deployment
-- counts, not the ReplicaSet) and its spec.replicas; nil, message when it has none.
local function scale_of(api, pod)
  local ref = controller_ref(pod)
  if not ref then return nil, string.format("found no controller ref for pod %q", pod.metadata.name) end
  local where = SCALED[ref.kind]
  local def = where and api.registry:get(where[1], where[2], where[3])
  local owner = def and api.store:get(def, pod.metadata.namespace, ref.name)
  if not owner or owner.metadata.uid ~= ref.uid then
    return nil, string.format("found no controllers for pod %q", pod.metadata.name)
  end
  if ref.kind == "ReplicaSet" then
    local up = controller_ref(owner)
    local ddef = api.registry:get("apps", "v1", "deployments")
    local d = up and up.kind == "Deployment" and api.store:get(ddef, pod.metadata.namespace, up.name)
    if d and d.metadata.uid == up.uid then owner = d end
  end
  local replicas = (owner.spec or {}).replicas
  return owner.metadata.uid, replicas == nil and 1 or replicas
end

-- Sums the scale of every distinct controller of the pods.
local function expected_scale(api, pods)
  local seen, total = {}, 0
  for _, pod in ipairs(pods) do
    local uid, n = scale_of(api, pod)
    if not uid then return nil, n end
    if not seen[uid] then
      seen[uid] = true
      total = total + n
    end
  end
  return total
end

-- An IntOrString: an integer, or "N%" of total rounded up.
local function scaled(v, total)
  if type(v) == "number" then return math.tointeger(v) or math.floor(v) end
  local pct = type(v) == "string" and tonumber(v:match("^(%d+)%%$"))
  if not pct then return nil, string.format("invalid value for IntOrString: invalid type: string is not a percentage: %q", tostring(v)) end
  return math.ceil(pct * total / 100)
end

---The numbers of a budget now.
---@return {pods: table[], expected: integer, desired: integer, current: integer, allowed: integer, error?: string}
function M.compute(api, pdb)
  local pods_def = api.registry:get("", "v1", "pods")
  local spec = pdb.spec or {}
  local pods = {}
  for _, pod in ipairs(api.store:list(pods_def, pdb.metadata.namespace)) do
    if selectors.matches(spec.selector, pod.metadata.labels) then pods[#pods + 1] = pod end
  end
  local current = 0
  for _, pod in ipairs(pods) do
    if M.healthy(pod) then current = current + 1 end
  end
  local expected, desired, err = 0, 0, nil
  if spec.maxUnavailable ~= nil then
    expected, err = expected_scale(api, pods)
    local most
    if expected then most, err = scaled(spec.maxUnavailable, expected) end
    if most then desired = math.max(0, expected - most) end
  elseif spec.minAvailable ~= nil then
    if type(spec.minAvailable) == "number" then
      desired, expected = scaled(spec.minAvailable, 0), #pods
    else
      expected, err = expected_scale(api, pods)
      if expected then desired, err = scaled(spec.minAvailable, expected) end
    end
  end
  if err then
    -- as the controller fails safe: nothing may be disrupted while it cannot tell
    return { pods = pods, expected = expected or 0, desired = desired or 0, current = current, allowed = 0, error = err }
  end
  return { pods = pods, expected = expected, desired = desired, current = current,
    allowed = math.max(0, current - desired) }
end

---The budgets in a namespace that select a pod.
function M.budgets_of(api, pod)
  local def = api.registry:get("policy", "v1", "poddisruptionbudgets")
  local out = {}
  for _, pdb in ipairs(api.store:list(def, pod.metadata.namespace)) do
    if selectors.matches((pdb.spec or {}).selector, pod.metadata.labels) then out[#out + 1] = pdb end
  end
  return out
end

return M
