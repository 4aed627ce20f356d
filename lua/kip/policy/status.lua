-- SPDX-License-Identifier: Apache-2.0
-- Status for policies: conditions, and the state of a workload from its observed Deployment or
-- StatefulSet and pods: Pending (not created yet), Progressing (rolling out, starting), Ready, or
-- Failed (pods that cannot start or keep crashing, a rollout past its deadline), each with a reason
-- and a message a user can act on. Uses kip.policy.pods and kip.policy.labels.
local labels = require "kip.policy.labels"
local pods_mod = require "kip.policy.pods"

local M = {}

---A condition as policies return it (the engine adds lastTransitionTime and observedGeneration).
---@param type_ string
---@param status boolean|string true/false or "True"/"False"/"Unknown"
---@param reason string CamelCase
---@param message string
---@return table
function M.condition(type_, status, reason, message)
  if type(status) == "boolean" then status = status and "True" or "False" end
  return { type = type_, status = status, reason = reason, message = message }
end

local function deployment_condition(d, type_)
  for _, c in ipairs((d.status or {}).conditions or {}) do
    if c.type == type_ then return c end
  end
end

local function plural(n, word)
  return string.format("%d %s%s", n, word, n == 1 and "" or "s")
end

---The state of a workload.
---@param kind "Deployment"|"StatefulSet"
---@param obj table|nil the observed workload
---@param opts {name: string, want: integer, template_hash: string, pods: table[], logs: string}
---  name: the workload's; want: replicas wanted; template_hash: the hash of the template being
---  applied now (a workload carrying another one has not seen the change yet); logs: how to see
---  the logs
---@return {phase: string, ready: table, progressing: table, replicas: integer, readyReplicas: integer}
function M.workload(kind, obj, opts)
  local name = kind .. " " .. opts.name
  if not obj then
    return { phase = "Pending", replicas = 0, readyReplicas = 0,
      ready = M.condition("Ready", false, "Creating", name .. " is being created"),
      progressing = M.condition("Progressing", true, "Creating", name .. " is being created") }
  end
  local st = obj.status or {}
  local want = opts.want
  local replicas, ready = st.replicas or 0, st.readyReplicas or 0
  local updated = st.updatedReplicas or 0
  local available = (kind == "Deployment") and (st.availableReplicas or 0) or ready
  local out = { replicas = replicas, readyReplicas = ready }
  local seen = (st.observedGeneration or 0) >= (obj.metadata.generation or 0)
    and (obj.metadata.annotations or {})[labels.TEMPLATE_HASH] == opts.template_hash
  -- a StatefulSet has rolled out when its pods are all at the update revision
  if kind == "StatefulSet" and st.updateRevision and st.currentRevision ~= st.updateRevision then seen = false end
  local done = seen and updated >= want and ready >= want and available >= want and replicas <= want
  local reason, message = pods_mod.problem(opts.pods, opts.logs)
  local deadline = kind == "Deployment" and deployment_condition(obj, "Progressing")
  -- pods the API refuses to create (a quota, a LimitRange): the Deployment says so at once, long
  -- before its progress deadline
  local refused = kind == "Deployment" and deployment_condition(obj, "ReplicaFailure")
  if refused and refused.status == "True" then
    local quota = (refused.message or ""):find("exceeded quota", 1, true)
    local msg = string.format("%s cannot create pods: %s", name, refused.message or refused.reason or "refused")
    if quota then msg = msg .. " (raise the project's quota, or lower the app's resources or replicas)" end
    out.phase = "Failed"
    out.ready = M.condition("Ready", false, quota and "QuotaExceeded" or (refused.reason or "FailedCreate"), msg)
    out.progressing = M.condition("Progressing", false, quota and "QuotaExceeded" or (refused.reason or "FailedCreate"), msg)
  elseif deadline and deadline.status == "False" and deadline.reason == "ProgressDeadlineExceeded" then
    local msg = string.format("%s did not finish rolling out in time (%s)", name, deadline.message or "ProgressDeadlineExceeded")
    if message then msg = msg .. "; " .. message end
    out.phase = "Failed"
    out.ready = M.condition("Ready", false, reason or "ProgressDeadlineExceeded", msg)
    out.progressing = M.condition("Progressing", false, "ProgressDeadlineExceeded", msg)
  elseif done then
    out.phase = "Ready"
    local msg = want == 0 and "scaled to zero" or (plural(ready, "instance") .. " ready")
    out.ready = M.condition("Ready", true, want == 0 and "ScaledToZero" or "Available", msg)
    out.progressing = M.condition("Progressing", false, "Complete", "the latest change is rolled out")
  elseif reason then
    out.phase = "Failed"
    out.ready = M.condition("Ready", false, reason, message)
    out.progressing = M.condition("Progressing", true, reason, message)
  else
    out.phase = "Progressing"
    local msg
    if not seen then
      msg = string.format("%s is taking the latest change", name)
    elseif updated < want then
      msg = string.format("rolling out: %d of %s updated, %d ready", updated, plural(want, "instance"), ready)
    elseif replicas > want then
      msg = string.format("scaling down: %d instances, %d wanted", replicas, want)
    else
      msg = string.format("%d of %s ready", ready, plural(want, "instance"))
    end
    out.ready = M.condition("Ready", false, seen and "Starting" or "Updating", msg)
    out.progressing = M.condition("Progressing", true, seen and "RollingOut" or "Updating", msg)
  end
  return out
end

---Folds problems with the spec (a missing Secret key, a bound Service that does not exist, a host
---too long) into a workload's state: a blocking one makes Ready False (unless the workload has
---already failed) and sets the phase; all show in condition Configured.
---@param w table from M.workload
---@param problems {reason: string, message: string, blocking?: boolean, phase?: string}[]
---@return string phase
---@return table[] conditions Ready, Progressing, Configured
function M.summarize(w, problems)
  local ready, phase = w.ready, w.phase
  local blocking
  for _, p in ipairs(problems) do blocking = blocking or (p.blocking and p) end
  if blocking and phase ~= "Failed" then
    ready = M.condition("Ready", false, blocking.reason, blocking.message)
    phase = blocking.phase or "Pending"
  end
  local configured
  if #problems == 0 then
    configured = M.condition("Configured", true, "AsSpecified", "everything the spec names is in place")
  else
    local messages = {}
    for _, p in ipairs(problems) do messages[#messages + 1] = p.message end
    configured = M.condition("Configured", false, problems[1].reason, table.concat(messages, "; "))
  end
  return phase, { ready, w.progressing, configured }
end

return M
