-- SPDX-License-Identifier: Apache-2.0
-- The sandbox's kubelet: pods get a node from the scheduler (kip.sandbox.sim.scheduler), start
-- after a short delay and report Running and Ready (no container runs: the status says
-- simulated), on whichever node they are bound to; pods of Jobs then succeed. Uses the sandbox
-- API's write path.
local scheduler = require "kip.sandbox.sim.scheduler"
local tables = require "kip.util.tables"
local time = require "kip.util.time"
local yaml = require "kip.yaml"

local M = {}

local function conditions(ready, t)
  local s = ready and "True" or "False"
  return yaml.array({
    { type = "PodReadyToStartContainers", status = "True", lastTransitionTime = t },
    { type = "Initialized", status = "True", lastTransitionTime = t },
    { type = "Ready", status = s, lastTransitionTime = t },
    { type = "ContainersReady", status = s, lastTransitionTime = t },
    { type = "PodScheduled", status = "True", lastTransitionTime = t },
  })
end

local function owned_by_job(pod)
  for _, r in ipairs(pod.metadata.ownerReferences or {}) do
    if r.kind == "Job" then return true end
  end
  return false
end

local function container_statuses(pod, state, ready)
  local out = yaml.array({})
  for _, c in ipairs((pod.spec or {}).containers or {}) do
    out[#out + 1] = { name = c.name, image = c.image, imageID = "sandbox://" .. tostring(c.image),
      containerID = "sandbox://" .. pod.metadata.uid .. "/" .. tostring(c.name),
      ready = ready, started = ready, restartCount = 0, state = tables.copy(state) }
  end
  return out
end

-- The node's InternalIP and the first three parts of its podCIDR ("10.42.1"), or the sandbox's own.
local function node_addresses(sim, name)
  local node = sim.api.store:get(sim.api.registry:get("", "v1", "nodes"), nil, name or "")
  local ip, prefix = sim.node_ip, "10.42.0"
  if node and name ~= sim.node_name then
    for _, a in ipairs(((node.status or {}).addresses) or {}) do
      if a.type == "InternalIP" then ip = a.address end
    end
    prefix = ((node.spec or {}).podCIDR or ""):match("^(%d+%.%d+%.%d+)%.0/%d+$") or prefix
  end
  return ip, prefix
end

-- Records once why a pod cannot be scheduled, as kube-scheduler does.
local function unschedulable(api, def, pod, message)
  for _, c in ipairs(((pod.status or {}).conditions) or {}) do
    if c.type == "PodScheduled" and c.status == "False" and c.message == message then return end
  end
  api:update(def, pod.metadata.namespace, pod.metadata.name, { metadata = tables.copy(pod.metadata),
    status = { phase = "Pending", qosClass = (pod.status or {}).qosClass,
      conditions = yaml.array({ { type = "PodScheduled", status = "False", reason = "Unschedulable", message = message,
        lastTransitionTime = time.format_rfc3339() } }) } },
    { manager = "kube-scheduler", subresource = "status" })
end

local function set_status(api, def, pod, st)
  local new = { metadata = tables.copy(pod.metadata), status = st }
  api:update(def, pod.metadata.namespace, pod.metadata.name, new, { manager = "kubelet", subresource = "status" })
end

function M.run(sim, engine)
  local api = sim.api
  local def = api.registry:get("", "v1", "pods")
  sim.pod_seen = sim.pod_seen or {}
  local ip_base = sim.pod_ip or 1
  for _, pod in ipairs(api.store:list(def)) do
    local md, st = pod.metadata, pod.status or {}
    local uid = md.uid
    if md.deletionTimestamp then
      -- the kubelet has nothing to stop: a deleted pod is gone once nothing else holds it
      if #(md.finalizers or {}) == 0 then api:purge(def, pod) end
    elseif not pod.spec.nodeName then
      local node_name, why = scheduler.pick(api, pod, sim.node_name)
      if node_name then
        local new = tables.copy(pod)
        new.spec.nodeName = node_name
        api:update(def, md.namespace, md.name, new, { manager = "kube-scheduler" })
      else
        unschedulable(api, def, pod, why)
      end
    elseif st.phase == "Pending" then
      local seen = sim.pod_seen[uid]
      if not seen then
        sim.pod_seen[uid] = sim.now
        local t = time.format_rfc3339()
        local host_ip = node_addresses(sim, pod.spec.nodeName)
        set_status(api, def, api.store:get(def, md.namespace, md.name), {
          phase = "Pending", hostIP = host_ip, qosClass = "BestEffort",
          conditions = conditions(false, t),
          containerStatuses = container_statuses(pod, { waiting = { reason = "ContainerCreating" } }, false),
        })
        engine.wake_at(sim, "kubelet", sim.now + sim.delay)
      elseif sim.now - seen >= sim.delay then
        ip_base = ip_base + 1
        local t = time.format_rfc3339()
        local host_ip, prefix = node_addresses(sim, pod.spec.nodeName)
        local pod_ip = string.format("%s.%d", prefix, ip_base % 250 + 2)
        set_status(api, def, pod, {
          phase = "Running", hostIP = host_ip, podIP = pod_ip, podIPs = yaml.array({ { ip = pod_ip } }),
          startTime = t, qosClass = "BestEffort", conditions = conditions(true, t),
          containerStatuses = container_statuses(pod, { running = { startedAt = t } }, true),
        })
        engine.wake_at(sim, "kubelet", sim.now + sim.delay)
      else
        engine.wake_at(sim, "kubelet", seen + sim.delay)
      end
    elseif st.phase == "Running" and owned_by_job(pod) then
      local started = sim.pod_seen[uid] or sim.now
      if sim.now - started >= 2 * sim.delay then
        local t = time.format_rfc3339()
        local done = tables.copy(st)
        done.phase = "Succeeded"
        done.conditions = conditions(false, t)
        done.containerStatuses = container_statuses(pod, { terminated = { exitCode = 0, reason = "Completed",
          startedAt = st.startTime, finishedAt = t } }, false)
        set_status(api, def, pod, done)
      else
        engine.wake_at(sim, "kubelet", started + 2 * sim.delay)
      end
    end
  end
  sim.pod_ip = ip_base
end

return M
