-- SPDX-License-Identifier: Apache-2.0
-- What the auto-tuner writes for one decision of its policy: status.autotune (recommendation,
-- lastChange, blocked), the AutoTuned condition, the Events (involvedObject the App), and in auto
-- mode the spec.resources fields it server-side applies with its own field manager. `plan` is
-- pure (tested on its own); `write` sends a plan with a kip.k8s client. Uses kip.json,
-- kip.log and kip.util.tables.
local json = require "kip.json"
local log = require "kip.log"
local tables = require "kip.util.tables"

local M = {}

M.FIELD_MANAGER = "kipperd-autotune"
M.CONDITION = "AutoTuned"
M.COMPONENT = "kipperd-autotune"
M.FIELDS = { "memoryLimit", "memory", "cpu" }

local function entry(changes, now)
  local e = { time = now, reason = changes[1].reason }
  local msgs = {}
  for _, c in ipairs(changes) do
    e[c.field] = c.value
    msgs[#msgs + 1] = c.message
  end
  e.message = table.concat(msgs, "; ")
  return e
end

local function same_values(a, b)
  if not a or not b then return false end
  for _, f in ipairs(M.FIELDS) do
    if a[f] ~= b[f] then return false end
  end
  return true
end

-- Whether the App's resources already are what a recommendation says (a user applied it).
local function applied(rec, current)
  for _, f in ipairs(M.FIELDS) do
    if rec[f] and rec[f] ~= current[f] then return false end
  end
  return true
end

local function describe(values)
  local parts = {}
  local names = { memoryLimit = "memory limit", memory = "memory request", cpu = "CPU request" }
  for _, f in ipairs(M.FIELDS) do
    if values[f] then parts[#parts + 1] = names[f] .. " " .. values[f] end
  end
  return table.concat(parts, ", ")
end

---What to write for one decision.
---@param app table the live App
---@param result table the policy's decision (plugins/tuners/autotune.lua decide)
---@param current table<string, string> the App's effective memoryLimit, memory, cpu now (quantities)
---@param now string RFC 3339
---@return {autotune: table, condition: table, events: table[], apply?: table<string, string>}
function M.plan(app, result, current, now)
  local prev = type(app.status) == "table" and type(app.status.autotune) == "table" and app.status.autotune or {}
  local at = { mode = result.mode, lastChange = prev.lastChange }
  local out = { autotune = at, events = {} }
  if result.mode == "off" then
    out.autotune = { mode = "off", lastChange = prev.lastChange }
    out.condition = { type = M.CONDITION, status = "False", reason = "Disabled", message = "spec.autotune.mode is off" }
    out.quiet = M.quiet(app, out)
    return out
  end
  local changes = result.changes or {}
  local cond
  if #changes > 0 and result.mode == "auto" then
    at.lastChange = entry(changes, now)
    out.apply = {}
    for _, c in ipairs(changes) do out.apply[c.field] = c.value end
    out.events[#out.events + 1] = { type = "Normal", reason = M.CONDITION,
      message = "set " .. describe(at.lastChange) .. ": " .. at.lastChange.message }
    cond = { status = "True", reason = at.lastChange.reason, message = at.lastChange.message }
  elseif #changes > 0 then
    local rec = entry(changes, now)
    if same_values(prev.recommendation, rec) then
      at.recommendation = prev.recommendation
    else
      at.recommendation = rec
      out.events[#out.events + 1] = { type = "Normal", reason = "AutoTuneRecommended",
        message = "recommends " .. describe(rec) .. ": " .. rec.message }
    end
  elseif result.mode == "recommend" and prev.recommendation and not applied(prev.recommendation, current) then
    at.recommendation = prev.recommendation
  end
  if not cond and at.recommendation then
    cond = { status = "False", reason = "Recommended", message = "recommends " .. describe(at.recommendation) ..
      " (set spec.autotune.mode to auto, or apply it yourself): " .. at.recommendation.message }
  end
  local block
  for _, h in ipairs(result.held or {}) do
    if h.warn then block = h break end
  end
  if block then
    at.blocked = { reason = block.reason, message = block.message, time = now }
    if prev.blocked and prev.blocked.message == block.message then
      at.blocked.time = prev.blocked.time
    else
      out.events[#out.events + 1] = { type = "Warning", reason = "AutoTuneBlocked", message = block.message }
    end
    if not cond then cond = { status = "False", reason = block.reason, message = block.message } end
  end
  if not cond and at.lastChange then
    cond = { status = "True", reason = at.lastChange.reason, message = at.lastChange.message }
  end
  cond = cond or { status = "True", reason = "NoChangeNeeded", message = "the resources fit the usage seen so far" }
  cond.type = M.CONDITION
  out.condition = cond
  out.quiet = M.quiet(app, out)
  return out
end

---Whether a plan has nothing to say about an App the tuner never wrote about: then it writes
---nothing (an App's status gains autotune and AutoTuned only once there is something to tell).
function M.quiet(app, plan)
  local prev = type(app.status) == "table" and app.status.autotune
  if prev and next(prev) then return false end
  for _, c in ipairs(type(app.status) == "table" and app.status.conditions or {}) do
    if c.type == M.CONDITION then return false end
  end
  local at = plan.autotune
  return not (at.recommendation or at.lastChange or at.blocked or plan.apply or #plan.events > 0)
end

-- A merge patch turning `old` into `new`: keys `new` lacks become null, nested objects recurse.
local function diff(old, new)
  local out = tables.copy(new)
  for k, v in pairs(type(old) == "table" and old or {}) do
    if new[k] == nil then
      out[k] = json.null
    elseif type(v) == "table" and type(new[k]) == "table" then
      out[k] = diff(v, new[k])
    end
  end
  return out
end

---The App's conditions with AutoTuned set to `cond` (lastTransitionTime kept while its status
---stays), or nil when the live one already says the same.
---@return table[]|nil
function M.conditions(app, cond, now)
  local live = type(app.status) == "table" and app.status.conditions or {}
  local out, found = json.array({}), false
  for _, c in ipairs(live) do
    if c.type == M.CONDITION then
      found = true
      if c.status == cond.status and c.reason == cond.reason and c.message == cond.message then return nil end
      local n = tables.copy(cond)
      n.lastTransitionTime = c.status == cond.status and c.lastTransitionTime or now
      n.observedGeneration = app.metadata.generation
      out[#out + 1] = n
    else
      out[#out + 1] = c
    end
  end
  if not found then
    local n = tables.copy(cond)
    n.lastTransitionTime = now
    n.observedGeneration = app.metadata.generation
    out[#out + 1] = n
  end
  return out
end

-- The spec.resources fields this field manager applied before (managedFields), with their live values.
local function owned_fields(app)
  local out = {}
  local live = (app.spec or {}).resources or {}
  for _, mf in ipairs(app.metadata.managedFields or {}) do
    if mf.manager == M.FIELD_MANAGER and mf.operation == "Apply" then
      local res = ((mf.fieldsV1 or {})["f:spec"] or {})["f:resources"] or {}
      for _, f in ipairs(M.FIELDS) do
        if res["f:" .. f] and live[f] then out[f] = live[f] end
      end
    end
  end
  return out
end

local function event(c, app, ev, now)
  local md = app.metadata
  return c:create({ apiVersion = "v1", kind = "Event",
    metadata = { name = string.format("%s.%x%04x", md.name, os.time(), math.random(0, 0xffff)), namespace = md.namespace },
    involvedObject = { apiVersion = app.apiVersion, kind = app.kind, name = md.name, namespace = md.namespace, uid = md.uid,
      resourceVersion = md.resourceVersion },
    type = ev.type, reason = ev.reason, message = ev.message:sub(1, 1024), count = 1,
    firstTimestamp = now, lastTimestamp = now, source = { component = M.COMPONENT },
    reportingComponent = M.COMPONENT, reportingInstance = M.COMPONENT }, { field_manager = M.FIELD_MANAGER })
end

---Sends a plan: the spec change first (so the App reconciler, woken by it, sees the status
---written after it), then status.autotune and the condition when they differ, then the Events.
---The status write is guarded by the App's resourceVersion: its conditions list replaces the live
---one, so a write from a stale read would undo the App reconciler's newer Ready condition; on a
---conflict nothing more is written and the next pass plans again from the fresh App.
---@param c table kip.k8s client
---@param app table the live App
---@param plan table from M.plan
---@param now string RFC 3339
---@return boolean wrote whether anything was written
function M.write(c, app, plan, now)
  local md = app.metadata
  local wrote = false
  local rv = md.resourceVersion
  if plan.apply then
    local fields = owned_fields(app)
    for f, v in pairs(plan.apply) do fields[f] = v end
    local ok, err = c:apply({ apiVersion = app.apiVersion, kind = app.kind, metadata = { name = md.name, namespace = md.namespace },
      spec = { resources = fields } }, { field_manager = M.FIELD_MANAGER, force = true })
    if not ok then
      log.warn("autotune: cannot change the App's resources", { app = md.namespace .. "/" .. md.name, error = err })
      local prev = type(app.status) == "table" and app.status.autotune or {}
      plan.autotune.lastChange = prev.lastChange
      plan.autotune.blocked = { reason = "ApplyFailed", message = "cannot change spec.resources: " .. tostring(err), time = now }
      plan.condition = { type = M.CONDITION, status = "False", reason = "ApplyFailed", message = plan.autotune.blocked.message }
      plan.events = { { type = "Warning", reason = "AutoTuneBlocked", message = plan.autotune.blocked.message } }
    else
      wrote = true
      rv = type(ok) == "table" and ok.metadata and ok.metadata.resourceVersion or nil
    end
  end
  if plan.quiet then return wrote end
  local prev = type(app.status) == "table" and app.status.autotune or nil
  local conds = M.conditions(app, plan.condition, now)
  if conds or not tables.equal(prev, plan.autotune) then
    local body = { autotune = diff(prev, plan.autotune) }
    if conds then body.conditions = conds end
    local ok, err, code = c:patch(app.apiVersion, app.kind, md.name, md.namespace,
      { metadata = { resourceVersion = rv }, status = body }, { subresource = "status", field_manager = M.FIELD_MANAGER })
    if not ok and code == "conflict" then
      log.debug("autotune: the App changed meanwhile; the next pass writes its status", { app = md.namespace .. "/" .. md.name })
      return wrote
    elseif not ok then
      log.warn("autotune: cannot write the App's status", { app = md.namespace .. "/" .. md.name, error = err })
    else
      wrote = true
    end
  end
  for _, ev in ipairs(plan.events) do
    local ok, err = event(c, app, ev, now)
    if not ok then log.warn("autotune: cannot record an Event", { app = md.namespace .. "/" .. md.name, error = err }) end
    log.info("autotune: " .. ev.message, { app = md.namespace .. "/" .. md.name, reason = ev.reason })
  end
  return wrote
end

return M
