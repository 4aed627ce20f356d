-- SPDX-License-Identifier: Apache-2.0
-- The auto-tuner's view of a namespace, read from the API: its pods, their usage from
-- metrics.k8s.io (PodMetrics), and its ResourceQuotas; then, per App, its pods, one usage sample
-- (the peak over its pods) and the requests and limits of the namespace's other pods. Uses a
-- kip.k8s client, kip.policy.labels and kip.policy.quantity.
local labels = require "kip.policy.labels"
local quantity = require "kip.policy.quantity"

local M = {}

M.METRICS_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/%s/pods"

local function live(pod)
  local phase = (pod.status or {}).phase
  return not pod.metadata.deletionTimestamp and phase ~= "Succeeded" and phase ~= "Failed"
end

---What one namespace holds: {pods, usage (pod name -> {cpu, memory}), quotas, metrics_error?}.
---@param c table kip.k8s client
---@param namespace string
---@return table|nil view
---@return string|nil err
function M.namespace(c, namespace)
  local pods, err = c:list("v1", "Pod", { namespace = namespace, all = true })
  if not pods then return nil, err end
  local view = { pods = pods.items or {}, usage = {}, quotas = {} }
  local metrics, merr = c:request("GET", string.format(M.METRICS_PATH, namespace))
  if metrics then
    for _, pm in ipairs(metrics.items or {}) do
      local u = { cpu = 0, memory = 0 }
      for _, ct in ipairs(pm.containers or {}) do
        u.cpu = u.cpu + (quantity.parse((ct.usage or {}).cpu) or 0)
        u.memory = u.memory + (quantity.parse((ct.usage or {}).memory) or 0)
      end
      view.usage[pm.metadata.name] = u
    end
  else
    view.metrics_error = merr
  end
  local quotas = c:list("v1", "ResourceQuota", { namespace = namespace })
  for _, q in ipairs(quotas and quotas.items or {}) do
    view.quotas[#view.quotas + 1] = { name = q.metadata.name, hard = (q.spec or q.status or {}).hard or {} }
  end
  return view
end

---Whether a pod is one of the App's (by the labels its Deployment selects).
function M.is_app_pod(pod, app_name)
  local l = pod.metadata.labels or {}
  for k, v in pairs(labels.selector(app_name, "app")) do
    if l[k] ~= v then return false end
  end
  return true
end

-- Adds a pod's container requests and limits to sums keyed like ResourceQuota's hard.
local function add_pod(sums, pod)
  for _, ct in ipairs((pod.spec or {}).containers or {}) do
    local r = ct.resources or {}
    for _, side in ipairs({ "requests", "limits" }) do
      for _, res in ipairs({ "cpu", "memory" }) do
        local v = quantity.parse((r[side] or {})[res]) or 0
        local key = side .. "." .. res
        sums[key] = (sums[key] or 0) + v
        if side == "requests" then sums[res] = (sums[res] or 0) + v end
      end
    end
  end
end

---The App's share of a namespace view: its live pods, a usage sample (nil without metrics) and
---the quotas with `others` (what the other live pods request and limit).
---@param view table from M.namespace
---@param app table the App
---@param now number Unix seconds
---@return {pods: table[], sample?: {time: number, cpu: number, memory: number}, quotas: table[]}
function M.app(view, app, now)
  local name = app.metadata.name
  local mine, others = {}, {}
  for _, pod in ipairs(view.pods) do
    if live(pod) then
      if M.is_app_pod(pod, name) then mine[#mine + 1] = pod else add_pod(others, pod) end
    end
  end
  local sample
  for _, pod in ipairs(mine) do
    local u = view.usage[pod.metadata.name]
    if u and (pod.status or {}).phase == "Running" then
      sample = sample or { time = now, cpu = 0, memory = 0 }
      sample.cpu = math.max(sample.cpu, u.cpu)
      sample.memory = math.max(sample.memory, u.memory)
    end
  end
  local quotas = {}
  for _, q in ipairs(view.quotas) do quotas[#quotas + 1] = { name = q.name, hard = q.hard, others = others } end
  return { pods = mine, sample = sample, quotas = quotas }
end

return M
