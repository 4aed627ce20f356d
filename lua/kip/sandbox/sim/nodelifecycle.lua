-- SPDX-License-Identifier: Apache-2.0
-- The sandbox's node lifecycle controller, as kube-controller-manager runs it for joined nodes
-- (`kip sandbox agent`): a node whose kubelet stopped posting status for longer than the grace
-- period (40 s, or --node-monitor-grace) gets every condition Unknown (NodeStatusUnknown, "Kubelet
-- stopped posting node status.") and the unreachable taints, which go when heartbeats come back;
-- a new node gets a podCIDR (the node IPAM controller's job). The sandbox's own node is left alone.
-- Uses the sandbox API's write path and kip.sandbox.tables for times.
local tables = require "kip.util.tables"
local tabular = require "kip.sandbox.tables"
local yaml = require "kip.yaml"

local M = {}

local UNREACHABLE = "node.kubernetes.io/unreachable"

local function ready_of(node)
  for _, c in ipairs(((node.status or {}).conditions) or {}) do
    if c.type == "Ready" then return c end
  end
end

local function without_unreachable(taints)
  local out, had = yaml.array({}), false
  for _, t in ipairs(taints or {}) do
    if t.key == UNREACHABLE then had = true else out[#out + 1] = t end
  end
  return out, had
end

local function set_taints(api, def, node, taints)
  local new = tables.copy(node)
  new.spec = new.spec or {}
  new.spec.taints = #taints > 0 and taints or nil
  return api:update(def, nil, node.metadata.name, new, { manager = "kube-controller-manager" })
end

-- Marks every condition Unknown, as the controller does when heartbeats stop.
local function mark_unknown(api, def, node, reason, message)
  local t = tabular.now()
  local conditions = yaml.array({})
  local seen = {}
  for _, c in ipairs(((node.status or {}).conditions) or {}) do
    local u = tables.copy(c)
    if u.status ~= "Unknown" then u.lastTransitionTime = t end
    u.status, u.reason, u.message = "Unknown", reason, message
    conditions[#conditions + 1] = u
    seen[c.type] = true
  end
  for _, ty in ipairs({ "Ready", "MemoryPressure", "DiskPressure", "PIDPressure" }) do
    if not seen[ty] then
      conditions[#conditions + 1] = { type = ty, status = "Unknown", reason = reason, message = message,
        lastHeartbeatTime = t, lastTransitionTime = t }
    end
  end
  local st = tables.copy(node.status) or {}
  st.conditions = conditions
  node = api:update(def, nil, node.metadata.name, { metadata = node.metadata, status = st },
    { manager = "kube-controller-manager", subresource = "status" })
  local taints = without_unreachable((node.spec or {}).taints)
  taints[#taints + 1] = { key = UNREACHABLE, effect = "NoSchedule" }
  taints[#taints + 1] = { key = UNREACHABLE, effect = "NoExecute", timeAdded = t }
  set_taints(api, def, node, taints)
end

-- The first 10.42.N.0/24 no node has.
local function free_cidr(nodes)
  local used = {}
  for _, n in ipairs(nodes) do
    local third = ((n.spec or {}).podCIDR or ""):match("^10%.42%.(%d+)%.0/24$")
    if third then used[tonumber(third)] = true end
  end
  for i = 0, 255 do
    if not used[i] then return string.format("10.42.%d.0/24", i) end
  end
end

function M.run(sim, engine)
  local api = sim.api
  local def = api.registry:get("", "v1", "nodes")
  local grace = sim.node_monitor_grace or 40
  local now = os.time()
  local nodes = api.store:list(def)
  local joined = false
  for _, node in ipairs(nodes) do
    local name = node.metadata.name
    if name ~= sim.node_name and not node.metadata.deletionTimestamp then
      joined = true
      if not (node.spec or {}).podCIDR then
        local cidr = free_cidr(api.store:list(def))
        if cidr then
          local new = tables.copy(node)
          new.spec = new.spec or {}
          new.spec.podCIDR, new.spec.podCIDRs = cidr, yaml.array({ cidr })
          node = api:update(def, nil, name, new, { manager = "kube-controller-manager" })
        end
      end
      local ready = ready_of(node)
      if ready then
        local beat = tabular.parse_time(ready.lastHeartbeatTime)
        if ready.status ~= "Unknown" and beat and now - beat > grace then
          api.log(string.format("sandbox: node %s: no heartbeat for %ds, marking it NotReady", name, now - beat))
          mark_unknown(api, def, node, "NodeStatusUnknown", "Kubelet stopped posting node status.")
        elseif ready.status == "True" then
          local rest, had = without_unreachable((node.spec or {}).taints)
          if had then set_taints(api, def, node, rest) end
        end
      else
        local created = tabular.parse_time(node.metadata.creationTimestamp)
        if created and now - created > grace then
          mark_unknown(api, def, node, "NodeStatusNeverUpdated", "Kubelet never posted node status.")
        end
      end
    end
  end
  -- heartbeats are not writes the controller hears about as late: look again every second
  if joined then engine.wake_at(sim, "nodes", sim.now + 1) end
end

return M
