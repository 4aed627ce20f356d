-- SPDX-License-Identifier: Apache-2.0
-- Waiting for a Kipper object (App, Service, Project) to be Ready after a change: kipperd must
-- have acted on the change (status.observedGeneration >= metadata.generation) and set phase
-- Ready; for an App, its Deployment's rollout must also be complete. Shows progress while it
-- polls; on phase Failed or a time-out, reports the Ready condition's message and the recent
-- events and stops with exit status 1. Uses kip.apps.{api,events,format,progress}, kip.server
-- (sleep) and kip.cli.errors.
local api = require "kip.apps.api"
local errors = require "kip.cli.errors"
local events = require "kip.apps.events"
local format = require "kip.apps.format"
local progress = require "kip.apps.progress"

local M = {}

M.DEFAULT_TIMEOUT = 300

-- Is the Deployment's rollout complete (as `kubectl rollout status` decides)? Returns done, state.
local function rollout(dep)
  local spec, st = dep.spec or {}, dep.status or {}
  local want = spec.replicas or 1
  if (st.observedGeneration or 0) < (dep.metadata.generation or 0) then return false, "rollout starting" end
  local updated, total, available = st.updatedReplicas or 0, st.replicas or 0, st.availableReplicas or 0
  if updated < want then return false, string.format("%d of %d new instances updated", updated, want) end
  if total > updated then return false, string.format("%d old instances stopping", total - updated) end
  if available < updated then return false, string.format("%d of %d instances available", available, updated) end
  return true
end

local function replicas_text(obj)
  local st = obj.status or {}
  if obj.kind ~= "App" or st.replicas == nil then return nil end
  return string.format("%d/%d ready", st.readyReplicas or 0, obj.spec and obj.spec.replicas or st.replicas)
end

---Where obj stands: "ready", "failed" or "waiting", and a short state for the progress line.
---@param c table kip.k8s client
---@param obj table the object as read now
---@param extra? fun(obj: table): boolean, string|nil more to wait for once it is Ready (restart)
---@return string verdict
---@return string state
function M.check(c, obj, extra)
  local st = obj.status or {}
  local gen = obj.metadata.generation or 0
  if obj.metadata.deletionTimestamp then return "failed", "it is being deleted" end
  -- kipperd could not reconcile this generation (a spec error, an object the API refused): the
  -- Ready condition says so for this generation, while status.observedGeneration stays behind
  local failed = format.condition(obj, "Ready")
  if st.phase == "Failed" and failed and failed.status == "False" and failed.observedGeneration == gen then
    return "failed", string.format("%s (%s)", failed.message or "kipperd could not reconcile it", failed.reason or "?")
  end
  if (st.observedGeneration or -1) < gen then
    return "waiting", string.format("waiting for kipperd to act on the change (generation %d)", gen)
  end
  local ready = format.condition(obj, "Ready")
  local phase = st.phase or "Pending"
  if phase == "Failed" then return "failed", ready and ready.message or "phase Failed" end
  local parts = { phase }
  parts[#parts + 1] = replicas_text(obj)
  if phase ~= "Ready" or (ready and ready.status ~= "True") then
    if ready and ready.message and ready.message ~= "" then parts[#parts + 1] = ready.message end
    return "waiting", table.concat(parts, ": ")
  end
  if obj.kind == "App" then
    if st.image and obj.spec.image and st.image ~= obj.spec.image then
      return "waiting", string.format("Progressing: instances still run %s", st.image)
    end
    local dep = c:get("apps/v1", "Deployment", obj.metadata.name, obj.metadata.namespace)
    if dep then
      local done, why = rollout(dep)
      if not done then return "waiting", "Progressing: " .. why end
    end
  end
  if extra then
    local done, why = extra(obj)
    if not done then return "waiting", why or "waiting" end
  end
  return "ready", table.concat(parts, ": ")
end

---Waits until the object is Ready, showing progress.
---@param c table kip.k8s client
---@param opts {kind: string, name: string, namespace?: string, timeout?: number, title: string,
---  out?: file*, extra?: fun(obj: table): boolean, string|nil, sleep?: fun(seconds: number)}
---@return table obj the object as last read
---@return string verdict "ready", "failed" or "timeout"
---@return string state the last state
function M.ready(c, opts)
  local sleep = opts.sleep or require("kip.server").sleep
  local p = progress.new({ title = opts.title, out = opts.out })
  local deadline = os.time() + (opts.timeout or M.DEFAULT_TIMEOUT)
  local obj, verdict, state
  local next_poll = 0
  while true do
    local now = os.time()
    if now >= next_poll then
      obj = api.get(c, api.API_VERSION, opts.kind, opts.name, opts.namespace)
      if not obj then
        p:finish("gone")
        return { kind = opts.kind, metadata = { name = opts.name, namespace = opts.namespace } }, "failed", "it was deleted"
      end
      verdict, state = M.check(c, obj, opts.extra)
      if verdict ~= "waiting" then
        p:finish(verdict == "ready" and "ready" or ("failed: " .. state))
        return obj, verdict, state
      end
      next_poll = now + 1
    end
    p:update(state)
    if os.time() >= deadline then
      p:finish("timed out")
      return obj, "timeout", state
    end
    sleep(p.tty and 0.25 or 0.5)
  end
end

---Reports why an object is not Ready (its Ready condition and recent events, on standard error),
---then stops with exit status 1.
---@param c table kip.k8s client
---@param obj table the object as last read
---@param verdict string "failed" or "timeout"
---@param state string the last state
---@param timeout number the seconds waited
function M.fail(c, obj, verdict, state, timeout)
  local md = obj.metadata
  local what = api.describe(obj.kind or "App", md.name, md.namespace)
  local ready = format.condition(obj, "Ready")
  local err = io.stderr
  if ready then
    err:write(string.format("Ready condition: %s (%s): %s\n", ready.status or "?", ready.reason or "?", ready.message or ""))
  end
  if md.namespace then
    local rows = events.recent(c, md.namespace, md.name, 10)
    if #rows > 0 then err:write("Recent events:\n", events.text(rows), "\n") end
  end
  local st = obj.status or {}
  local hint
  if verdict == "timeout" and (st.observedGeneration or -1) < (md.generation or 0) then
    hint = "kipperd has not acted on the change: is it running? 'kip status' shows Kipper's components."
  elseif obj.kind == "Service" then
    hint = string.format("See 'kip service info %s', fix the cause and run the command again.", md.name)
  elseif obj.kind == "Project" then
    hint = "See 'kip project list -o yaml', fix the cause and run the command again."
  else
    hint = string.format("See 'kip app status %s' and 'kip app logs %s', fix the cause and run the command again.",
      md.name, md.name)
  end
  if verdict == "timeout" then
    errors.fail(string.format("%s is not ready after %ds: %s", what, timeout, state), hint)
  end
  errors.fail(string.format("%s failed: %s", what, state), hint)
end

return M
