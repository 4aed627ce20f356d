-- SPDX-License-Identifier: Apache-2.0
-- OOM kills in the sandbox: a running container whose simulated memory use
-- (kip.sandbox.metrics) is above its memory limit, or whose pod (or ReplicaSet, or Deployment)
-- has annotation sandbox.kipper.run/oom: "true", is OOMKilled as the kubelet reports it: exit
-- code 137, lastState.terminated.reason OOMKilled, restartCount up by one, running again at once;
-- then again after a back-off that doubles per restart (from the pod start delay, at most 30 s).
-- Uses the sandbox API's write path and kip.sandbox.metrics.
local metrics = require "kip.sandbox.metrics"
local quantity = require "kip.policy.quantity"
local tables = require "kip.util.tables"
local time = require "kip.util.time"

local M = {}

M.MAX_BACKOFF = 30

-- Names of the pod's containers that use more memory than their limit (all, with the annotation).
local function victims(api, pod)
  local forced = metrics.annotation(api, pod, metrics.OOM) == "true"
  local limits = {}
  for _, c in ipairs(pod.spec.containers or {}) do
    limits[c.name] = quantity.parse(((c.resources or {}).limits or {}).memory or "")
  end
  local out = {}
  for _, u in ipairs(metrics.usage(api, pod)) do
    if forced or (limits[u.name] and u.memory > limits[u.name]) then out[u.name] = true end
  end
  return out
end

function M.run(sim, engine)
  local api = sim.api
  local def = api.registry:get("", "v1", "pods")
  sim.oom_next = sim.oom_next or {}
  for _, pod in ipairs(api.store:list(def)) do
    local st = pod.status or {}
    if st.phase == "Running" and not pod.metadata.deletionTimestamp then
      local kill = victims(api, pod)
      local uid = pod.metadata.uid
      if next(kill) then
        local due = sim.oom_next[uid]
        if due and sim.now < due then
          engine.wake_at(sim, "oom", due)
        else
          local t = time.format_rfc3339()
          local new = tables.copy(st)
          local restarts = 0
          for _, cs in ipairs(new.containerStatuses or {}) do
            if kill[cs.name] then
              cs.restartCount = (cs.restartCount or 0) + 1
              cs.lastState = { terminated = { exitCode = 137, reason = "OOMKilled",
                startedAt = cs.state and cs.state.running and cs.state.running.startedAt or t, finishedAt = t,
                containerID = cs.containerID } }
              cs.state = { running = { startedAt = t } }
              restarts = math.max(restarts, cs.restartCount)
            end
          end
          api:update(def, pod.metadata.namespace, pod.metadata.name, { metadata = tables.copy(pod.metadata), status = new },
            { manager = "kubelet", subresource = "status" })
          local wait = math.min(M.MAX_BACKOFF, sim.delay * 2 ^ restarts)
          sim.oom_next[uid] = sim.now + wait
          engine.wake_at(sim, "oom", sim.now + wait)
        end
      end
    end
  end
end

return M
