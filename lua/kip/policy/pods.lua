-- SPDX-License-Identifier: Apache-2.0
-- What is wrong with a workload's pods, read from observed Pods: a container that cannot start
-- (image pull, configuration), keeps crashing or was killed for memory, or a pod no node can take.
-- Gives a CamelCase reason and a message saying what to do. Pure Lua.
local M = {}

-- waiting reasons that mean the container will not come up by itself, with what to do
local WAITING = {
  CrashLoopBackOff = "it keeps crashing: see its logs (%s)",
  ImagePullBackOff = "the image cannot be pulled: check its name and tag, and that the registry is reachable (and logged in to, for a private one)",
  ErrImagePull = "the image cannot be pulled: check its name and tag, and that the registry is reachable (and logged in to, for a private one)",
  InvalidImageName = "the image name is not valid: check spec.image",
  ErrImageNeverPull = "the image is not on the node and may not be pulled",
  CreateContainerConfigError = "its configuration is wrong",
  CreateContainerError = "the container could not be created",
  RunContainerError = "the container could not be started",
}

local ROOT_HINT = "the image runs as root, which the restricted security context refuses: make the image run as a non-root user (USER 1000), " ..
  "or allow root with annotation kipper.run/allow-root: \"true\" on the App"

local function sorted_by_name(pods)
  local list = {}
  for _, p in ipairs(pods or {}) do
    if not (p.metadata and p.metadata.deletionTimestamp) then list[#list + 1] = p end
  end
  table.sort(list, function(a, b) return (a.metadata.name or "") < (b.metadata.name or "") end)
  return list
end

local function last_exit(cs)
  local t = cs.lastState and cs.lastState.terminated
  if not t then return "" end
  return string.format(" (last exit code %s%s, restarted %d times)", tostring(t.exitCode),
    t.reason and (", " .. t.reason) or "", cs.restartCount or 0)
end

local function container_problem(pod, cs, logs)
  local where = string.format("pod %s, container %s", pod.metadata.name, cs.name)
  local waiting = cs.state and cs.state.waiting
  local last = cs.lastState and cs.lastState.terminated
  if last and last.reason == "OOMKilled" and (cs.restartCount or 0) > 0 and not cs.ready then
    return "OOMKilled", string.format("%s was killed for using more memory than its limit%s: "
      .. "give it more memory (spec.resources.memoryLimit or a larger profile)", where, last_exit(cs))
  end
  if waiting and WAITING[waiting.reason] then
    local detail = waiting.message and waiting.message ~= "" and (": " .. waiting.message) or ""
    local hint = WAITING[waiting.reason]:format(logs)
    if waiting.reason == "CreateContainerConfigError" and detail:find("runAsNonRoot", 1, true) then hint = ROOT_HINT end
    return waiting.reason, string.format("%s is %s%s%s; %s", where, waiting.reason, detail, last_exit(cs), hint)
  end
  local term = cs.state and cs.state.terminated
  if term and (cs.restartCount or 0) > 0 and term.exitCode ~= 0 then
    return "ContainerFailed", string.format("%s exited with code %s (restarted %d times): see its logs (%s)",
      where, tostring(term.exitCode), cs.restartCount, logs)
  end
end

---The first problem among pods, by pod name, or nil when none has one.
---@param pods table[] observed Pods of one workload
---@param logs string how to see the logs, e.g. "kip app logs web"
---@return string|nil reason CamelCase
---@return string|nil message
function M.problem(pods, logs)
  for _, pod in ipairs(sorted_by_name(pods)) do
    local st = pod.status or {}
    for _, list in ipairs({ st.initContainerStatuses or {}, st.containerStatuses or {} }) do
      for _, cs in ipairs(list) do
        local reason, message = container_problem(pod, cs, logs)
        if reason then return reason, message end
      end
    end
    for _, c in ipairs(st.conditions or {}) do
      if c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable" then
        return "Unschedulable", string.format("pod %s cannot be scheduled: %s", pod.metadata.name, c.message or "no node fits it")
      end
    end
  end
end

return M
