-- SPDX-License-Identifier: Apache-2.0
-- The Pods of an App: those its Deployment (named after the App) selects, a pod's summary (ready
-- and total containers, restarts, phase) and a row per pod (name, phase, ready, restarts, node,
-- age) for status output. Uses a kip.k8s client and kip.apps.format.
local format = require "kip.apps.format"
local strings = require "kip.util.strings"

local M = {}

---The label selector of the App's pods: its Deployment's matchLabels, else the labels kipperd
---puts on them.
---@param c table kip.k8s client
---@return string selector
function M.selector(c, namespace, app)
  local dep = c:get("apps/v1", "Deployment", app, namespace)
  local labels = dep and dep.spec and dep.spec.selector and dep.spec.selector.matchLabels
  if type(labels) ~= "table" or next(labels) == nil then
    labels = { ["app.kubernetes.io/name"] = app }
  end
  local parts = {}
  for _, k in ipairs(strings.sorted_keys(labels)) do parts[#parts + 1] = k .. "=" .. labels[k] end
  return table.concat(parts, ",")
end

---The App's pods, sorted by name (none when the API fails).
---@param selector? string the App's selector (M.selector) when the caller has it already
---@return table[] pods
---@return string? message when the API failed
function M.list(c, namespace, app, selector)
  local list, err = c:list("v1", "Pod", { namespace = namespace, label_selector = selector or M.selector(c, namespace, app),
    all = true })
  local items = list and list.items or {}
  table.sort(items, function(a, b) return a.metadata.name < b.metadata.name end)
  return items, err
end

---What a pod's containers say: how many are ready of how many, their restarts summed, and the
---pod's phase ("Terminating" once it is being deleted). Before the kubelet reports containers,
---total counts the spec's.
---@param pod table
---@return {ready: integer, total: integer, restarts: integer, phase: string}
function M.summary(pod)
  local st = pod.status or {}
  local ready, total, restarts = 0, 0, 0
  for _, cs in ipairs(st.containerStatuses or {}) do
    total = total + 1
    if cs.ready then ready = ready + 1 end
    restarts = restarts + (cs.restartCount or 0)
  end
  if total == 0 then total = #(pod.spec and pod.spec.containers or {}) end
  local phase = pod.metadata.deletionTimestamp and "Terminating" or st.phase or "Pending"
  return { ready = ready, total = total, restarts = restarts, phase = phase }
end

---A pod as a row: name, phase, ready ("1/1"), restarts, node, age.
function M.row(pod)
  local sum = M.summary(pod)
  return { name = pod.metadata.name, phase = sum.phase, ready = string.format("%d/%d", sum.ready, sum.total),
    restarts = sum.restarts, node = pod.spec and pod.spec.nodeName or "", age = format.age(pod.metadata.creationTimestamp) }
end

return M
