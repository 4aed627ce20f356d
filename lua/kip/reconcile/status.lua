-- SPDX-License-Identifier: Apache-2.0
-- The status the engine writes: a policy's status with observedGeneration and conditions whose
-- lastTransitionTime stays put while their status does not change; the Ready=False ReconcileError
-- (or a spec error's reason) status of a failed reconcile; and the merge patch that turns the live status into the new one
-- (nil when they are equal, so nothing is written). Pure; uses kip.json and kip.util.tables.
local json = require "kip.json"
local tables = require "kip.util.tables"

local M = {}

M.MAX_MESSAGE = 4096

local function conditions_by_type(status)
  local by = {}
  for _, c in ipairs(type(status) == "table" and type(status.conditions) == "table" and status.conditions or {}) do
    if type(c) == "table" and c.type then by[c.type] = c end
  end
  return by
end

local function clip(message)
  message = tostring(message or "")
  if #message > M.MAX_MESSAGE then message = message:sub(1, M.MAX_MESSAGE - 3) .. "..." end
  return message
end

---metav1.Conditions from a policy's: each with reason and message (defaults "Reconciled" and ""),
---observedGeneration, and lastTransitionTime taken from the live condition of the same type when
---its status is the same, else `now`.
---@param conditions table[]|nil the policy's {type, status, reason, message}
---@param live_status table|nil
---@param generation integer|nil
---@param now string RFC 3339
---@return table[] conditions (a JSON array)
function M.conditions(conditions, live_status, generation, now)
  local live = conditions_by_type(live_status)
  local out = json.array({})
  for _, c in ipairs(conditions or {}) do
    local n = tables.copy(c)
    n.status = n.status or "Unknown"
    n.reason = (n.reason ~= nil and n.reason ~= "") and n.reason or "Reconciled"
    n.message = clip(n.message)
    n.observedGeneration = generation
    local old = live[n.type]
    if old and old.status == n.status and old.lastTransitionTime then
      n.lastTransitionTime = old.lastTransitionTime
    else
      n.lastTransitionTime = now
    end
    out[#out + 1] = n
  end
  return out
end

---The status to write after a successful reconcile: the policy's, with observedGeneration and
---conditions as M.conditions makes them.
---@param policy_status table|nil
---@param live_status table|nil
---@param generation integer|nil metadata.generation of the resource reconciled
---@param now string RFC 3339
---@return table
function M.build(policy_status, live_status, generation, now)
  local s = tables.copy(policy_status or {})
  s.observedGeneration = generation
  s.conditions = M.conditions(s.conditions, live_status, generation, now)
  return s
end

M.ERROR_REASON = "ReconcileError"

---The status to write after a failed reconcile: the live status with phase Failed and the Ready
---condition False, with the message and reason ReconcileError (or `reason`: a spec error's); the
---other conditions and observedGeneration stay as they were.
---@param live_status table|nil
---@param message string
---@param generation integer|nil
---@param now string RFC 3339
---@param reason? string CamelCase
---@return table
function M.failed(live_status, message, generation, now, reason)
  local s = tables.copy(type(live_status) == "table" and live_status or {})
  s.phase = "Failed"
  local ready = { type = "Ready", status = "False", reason = reason or M.ERROR_REASON, message = message }
  local conds = {}
  local replaced = false
  for _, c in ipairs(type(s.conditions) == "table" and s.conditions or {}) do
    if c.type == "Ready" then
      conds[#conds + 1] = ready
      replaced = true
    else
      conds[#conds + 1] = c
    end
  end
  if not replaced then table.insert(conds, 1, ready) end
  local out = M.conditions(conds, live_status, generation, now)
  -- the other conditions keep their own observedGeneration
  for i, c in ipairs(out) do
    if c.type ~= "Ready" then out[i].observedGeneration = conds[i].observedGeneration end
  end
  s.conditions = out
  return s
end

---The merge patch ({status = ...}) that makes live_status into status, with null for the fields
---it no longer has; nil when the two are equal.
---@param status table
---@param live_status table|nil
---@return table|nil patch
function M.patch(status, live_status)
  if type(live_status) == "table" and tables.equal(status, live_status) then return nil end
  local body = tables.copy(status)
  for k in pairs(type(live_status) == "table" and live_status or {}) do
    if body[k] == nil then body[k] = json.null end
  end
  return { status = body }
end

---The Ready condition of a status: status and reason, or nil.
---@param status table|nil
---@return table|nil condition
function M.ready(status)
  return conditions_by_type(status).Ready
end

return M
