-- SPDX-License-Identifier: Apache-2.0
-- Putting objects on a cluster the idempotent way, for install steps: is_current() says whether
-- every field kip sets already has kip's value (so a re-run writes nothing), apply() server-side
-- applies them with field manager "kip", and wait() polls a condition with progress until a
-- deadline. Uses a kip.k8s client, kip.server.sleep and kip.util.tables.
local sleep = require("kip.server").sleep

local M = {}

M.FIELD_MANAGER = "kip"

-- Whether everything in want is in have (lists compared item by item).
local function contains(want, have)
  if type(want) ~= "table" then return want == have end
  if type(have) ~= "table" then return false end
  for k, v in pairs(want) do
    if not contains(v, have[k]) then return false end
  end
  return true
end
M.contains = contains

---Whether each object exists with every field kip sets.
---@return boolean current
---@return string|nil what the first object that differs ("Deployment kipper-system/kipperd")
function M.is_current(client, objects)
  for _, obj in ipairs(objects) do
    local live = client:get(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace)
    local want = { metadata = { labels = obj.metadata.labels, annotations = obj.metadata.annotations } }
    for k, v in pairs(obj) do if k ~= "metadata" and k ~= "apiVersion" and k ~= "kind" and k ~= "status" then want[k] = v end end
    if not live or not contains(want, live) then
      return false, string.format("%s %s%s", obj.kind, obj.metadata.namespace and (obj.metadata.namespace .. "/") or "", obj.metadata.name)
    end
  end
  return true
end

---Server-side applies each object (forcing kip's fields); nil, message naming the object on failure.
function M.apply(client, objects)
  for _, obj in ipairs(objects) do
    local ok, err = client:apply(obj, { field_manager = M.FIELD_MANAGER, force = true })
    if not ok then
      return nil, string.format("cannot apply %s %s: %s", obj.kind, obj.metadata.name, err)
    end
  end
  return true
end

---Calls check() every interval seconds until it returns true (or a value), or timeout passes.
---@param check fun(): any, string? value when done, or nil and what it still waits for
---@param opts {timeout: number, interval?: number, tick?: fun()}
---@return any value
---@return string|nil waiting what it still waited for at the deadline
function M.wait(check, opts)
  local deadline = os.time() + opts.timeout
  local interval = opts.interval or 1
  local last
  while true do
    local ok, v, why = pcall(check)
    if ok and v then return v end
    last = ok and why or tostring(v)
    if os.time() >= deadline then return nil, last end
    local t = 0
    while t < interval do
      if opts.tick then opts.tick() end
      sleep(0.2)
      t = t + 0.2
    end
  end
end

---A condition's status ("True", "False", "Unknown") and message from obj.status.conditions.
function M.condition(obj, type)
  for _, c in ipairs(obj and obj.status and obj.status.conditions or {}) do
    if c.type == type then return c.status, c.message end
  end
end

---Whether a Deployment has all its replicas available for its latest spec.
function M.deployment_ready(d)
  if not d then return false, "not created yet" end
  local s = d.status or {}
  local want = d.spec and d.spec.replicas or 1
  if (s.observedGeneration or 0) < (d.metadata.generation or 0) then return false, "rolling out" end
  if (s.availableReplicas or 0) < want then
    return false, string.format("%d/%d replicas available", s.availableReplicas or 0, want)
  end
  return true
end

return M
