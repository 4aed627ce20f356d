-- SPDX-License-Identifier: Apache-2.0
-- The pods/eviction subresource as kube-apiserver serves it (kubectl drain uses it): a policy/v1
-- Eviction deletes the pod unless the one PodDisruptionBudget that selects it allows no
-- disruption now, which is answered 429 with the real message. Pending, finished and deleted pods
-- are evicted regardless. Uses kip.sandbox.disruption and the API's write path.
local disruption = require "kip.sandbox.disruption"
local status = require "kip.sandbox.status"
local yaml = require "kip.yaml"

local M = {}

local null = yaml.null

local function value(v)
  if v == null then return nil end
  return v
end

-- As the eviction REST handler's canIgnorePDB.
local function ignores_budget(pod)
  local phase = (pod.status or {}).phase
  return phase == "Succeeded" or phase == "Failed" or phase == "Pending" or pod.metadata.deletionTimestamp ~= nil
end

---Evicts pod ns/name as asked by an Eviction body. Returns the Status to answer (201).
---@param opts {dry_run?: boolean}
function M.evict(api, ns, name, body, opts)
  local def = api.registry:get("", "v1", "pods")
  if type(body) ~= "table" or yaml.is_array(body) then status.bad_request("the body must be a policy/v1 Eviction") end
  if body.kind ~= nil and body.kind ~= "Eviction" then
    status.bad_request(string.format("the body must be a policy/v1 Eviction, not %s", tostring(body.kind)))
  end
  local md = type(body.metadata) == "table" and body.metadata or {}
  if value(md.name) ~= nil and md.name ~= name then
    status.bad_request("name in URL does not match name in Eviction object")
  end
  if value(md.namespace) ~= nil and md.namespace ~= "" and md.namespace ~= ns then
    status.bad_request("the namespace of the provided object does not match the namespace sent on the request")
  end
  local pod = api.store:get(def, ns, name)
  if not pod then status.not_found(def, name) end
  local del = type(body.deleteOptions) == "table" and body.deleteOptions or {}
  local pre = type(del.preconditions) == "table" and del.preconditions or {}
  local dry = opts.dry_run or (type(value(del.dryRun)) == "table" and del.dryRun[1] == "All")
  local function delete()
    api:delete(def, ns, name, { precondition_uid = value(pre.uid), precondition_rv = value(pre.resourceVersion),
      dry_run = dry })
    return { kind = "Status", apiVersion = "v1", metadata = {}, status = "Success", code = 201 }
  end
  if ignores_budget(pod) then return delete() end
  local budgets = disruption.budgets_of(api, pod)
  if #budgets == 0 then return delete() end
  if #budgets > 1 then
    status.internal("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
  end
  local pdb = budgets[1]
  local d = disruption.compute(api, pdb)
  if not disruption.healthy(pod) then
    -- an unready pod does not reduce what the budget counts: it may go if the budget is met
    local policy = (pdb.spec or {}).unhealthyPodEvictionPolicy
    if policy == "AlwaysAllow" or d.current >= d.desired then return delete() end
  end
  if d.allowed <= 0 then
    status.too_many_requests("Cannot evict pod as it would violate the pod's disruption budget.", {
      { reason = "DisruptionBudget", message = string.format("The disruption budget %s needs %d healthy pods and has %d currently",
        pdb.metadata.name, d.desired, d.current) } })
  end
  return delete()
end

return M
