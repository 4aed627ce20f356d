-- SPDX-License-Identifier: Apache-2.0
-- Draining a node as `kubectl drain --ignore-daemonsets --delete-emptydir-data` does: cordon it,
-- evict every pod on it except DaemonSet and mirror pods through the Eviction API (which honours
-- PodDisruptionBudgets: a 429 is retried until the deadline), and wait for them to go. Uses a
-- kip.k8s client and kip.server.sleep.
local sleep = require("kip.server").sleep

local M = {}

local function evictable(pod)
  if (pod.metadata.annotations or {})["kubernetes.io/config.mirror"] then return false end
  for _, ref in ipairs(pod.metadata.ownerReferences or {}) do
    if ref.kind == "DaemonSet" then return false end
  end
  local phase = pod.status and pod.status.phase
  return phase ~= "Succeeded" and phase ~= "Failed"
end

local function pods_on(c, node)
  local list, err = c:list("v1", "Pod", { all_namespaces = true, field_selector = "spec.nodeName=" .. node, all = true })
  if not list then return nil, err end
  local out = {}
  for _, p in ipairs(list.items or {}) do if evictable(p) then out[#out + 1] = p end end
  return out
end

---@param c table kip.k8s client
---@param node string
---@param opts {timeout: number, say?: fun(text: string), tick?: fun()}
---@return boolean|nil ok
---@return string|nil message
function M.drain(c, node, opts)
  local ok, err = c:patch("v1", "Node", node, nil, { spec = { unschedulable = true } })
  if not ok then return nil, "cannot cordon " .. node .. ": " .. err end
  local deadline = os.time() + opts.timeout
  local last
  local announced = {}
  while true do
    local pods, perr = pods_on(c, node)
    if not pods then return nil, perr end
    if #pods == 0 then return true end
    for _, p in ipairs(pods) do
      local path = assert(c:path("v1", "Pod", p.metadata.namespace, p.metadata.name, "eviction"))
      local r, eerr, code = c:request("POST", path, { body = { apiVersion = "policy/v1", kind = "Eviction",
        metadata = { name = p.metadata.name, namespace = p.metadata.namespace } } })
      if r then
        local id = p.metadata.namespace .. "/" .. p.metadata.name
        if opts.say and not announced[id] then opts.say("evicting pod " .. id) end
        announced[id] = true
      elseif code ~= "notfound" then
        last = eerr
      end
    end
    if os.time() >= deadline then
      return nil, string.format("pods are still on %s after %ds%s", node, opts.timeout, last and (": " .. last) or "")
    end
    for _ = 1, 10 do
      if opts.tick then opts.tick() end
      sleep(0.2)
    end
  end
end

return M
