-- SPDX-License-Identifier: Apache-2.0
-- The sandbox's scheduler: picks a node for a pod that has none among the nodes that are Ready,
-- not cordoned, without a NoSchedule/NoExecute taint the pod does not tolerate and whose labels
-- match its nodeSelector; the one with the fewest pods wins. Without one it says why, in
-- kube-scheduler's words. Resources are not counted. Pure functions over the sandbox's store.
local M = {}

local function ready_status(node)
  for _, c in ipairs(((node.status or {}).conditions) or {}) do
    if c.type == "Ready" then return c.status end
  end
  return "Unknown"
end

local function tolerates(pod, taint)
  for _, t in ipairs(((pod.spec or {}).tolerations) or {}) do
    local key_ok = t.key == taint.key or ((t.key == nil or t.key == "") and t.operator == "Exists")
    local effect_ok = t.effect == nil or t.effect == "" or t.effect == taint.effect
    local value_ok = t.operator == "Exists" or (t.value or "") == (taint.value or "")
    if key_ok and effect_ok and value_ok then return true end
  end
  return false
end

-- The taints that keep pods off a node, with the ones a node that is not Ready implicitly has.
local function taints_of(node)
  local out = {}
  for _, t in ipairs(((node.spec or {}).taints) or {}) do
    if t.effect == "NoSchedule" or t.effect == "NoExecute" then out[#out + 1] = t end
  end
  local ready = ready_status(node)
  if ready ~= "True" then
    local key = ready == "False" and "node.kubernetes.io/not-ready" or "node.kubernetes.io/unreachable"
    local has = false
    for _, t in ipairs(out) do has = has or t.key == key end
    if not has then out[#out + 1] = { key = key, effect = "NoSchedule" } end
  end
  return out
end

-- Why pod cannot go to node (kube-scheduler's reason), or nil when it can.
local function misfit(pod, node)
  if node.metadata.deletionTimestamp then return "node(s) were being deleted" end
  if (node.spec or {}).unschedulable then return "node(s) were unschedulable" end
  for _, t in ipairs(taints_of(node)) do
    if not tolerates(pod, t) then
      return string.format("node(s) had untolerated taint {%s: %s}", t.key, t.value or "")
    end
  end
  local labels = node.metadata.labels or {}
  for k, v in pairs(((pod.spec or {}).nodeSelector) or {}) do
    if labels[k] ~= v then return "node(s) didn't match Pod's node affinity/selector" end
  end
end

---The node for pod, or nil and kube-scheduler's message ("0/2 nodes are available: ...").
---@param prefer? string the node that wins a tie (the sandbox's own)
---@return string|nil node_name
---@return string? message
function M.pick(api, pod, prefer)
  local nodes = api.store:list(api.registry:get("", "v1", "nodes"))
  local load = {}
  for _, p in ipairs(api.store:list(api.registry:get("", "v1", "pods"))) do
    local n = (p.spec or {}).nodeName
    local phase = (p.status or {}).phase
    if n and phase ~= "Succeeded" and phase ~= "Failed" then load[n] = (load[n] or 0) + 1 end
  end
  local best, reasons = nil, {}
  for _, node in ipairs(nodes) do
    local name = node.metadata.name
    local why = misfit(pod, node)
    if why then
      reasons[why] = (reasons[why] or 0) + 1
    elseif not best or (load[name] or 0) < (load[best] or 0) or ((load[name] or 0) == (load[best] or 0) and name == prefer) then
      best = name
    end
  end
  if best then return best end
  local parts = {}
  for why, n in pairs(reasons) do parts[#parts + 1] = string.format("%d %s", n, why) end
  table.sort(parts, function(a, b) return a:match("^%d+ (.*)") < b:match("^%d+ (.*)") end)
  return nil, string.format("0/%d nodes are available: %s.", #nodes, #parts > 0 and table.concat(parts, ", ") or "no nodes available to schedule pods")
end

return M
