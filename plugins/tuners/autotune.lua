-- SPDX-License-Identifier: Apache-2.0
-- The auto-tuner's policy: from an App, its pods, usage samples and the namespace's quotas to the
-- resource changes it wants, each with a reason. After an OOM kill the memory limit doubles (from
-- the limit the container was killed at, up to spec.autotune.maxMemory); requests rise when usage
-- stays above `high` of the request and fall when it stays below `low`, towards `target`; never
-- beyond a ResourceQuota or a limit; request changes wait out a cool-down. Pure: kipperd's
-- controller (kipperd.autotune) gathers the inputs and applies or records the result. Uses
-- kip.policy.quantity and kip.policy.resources.
local quantity = require "kip.policy.quantity"
local resources = require "kip.policy.resources"

local M = {}

M.MODES = { off = true, recommend = true, auto = true }

-- "recommend": it tells what it would change and changes nothing until a user opts into auto.
M.DEFAULTS = {
  mode = "recommend",
  maxMemory = "4Gi",     -- the memory limit never doubles past this
  minMemory = "32Mi",    -- nor a memory request below this
  minCpu = "10m",        -- nor a CPU request below this
  high = 0.9,            -- usage above this share of the request, for `samples` samples: raise it
  low = 0.3,             -- usage below this share, for `samples` samples: lower it
  target = 0.6,          -- a changed request puts the peak usage at this share of it
  samples = 5,           -- consecutive samples a request change needs
  cooldown = 600,        -- seconds between two request changes
}

-- The fields of spec.resources the tuner sets, and what each is.
M.FIELDS = {
  memoryLimit = { resource = "memory", what = "memory limit", quota = { "limits.memory" } },
  memory = { resource = "memory", what = "memory request", quota = { "requests.memory", "memory" } },
  cpu = { resource = "cpu", what = "CPU request", quota = { "requests.cpu", "cpu" } },
}
M.ORDER = { "memoryLimit", "memory", "cpu" }

local function fmt(resource, n)
  return resource == "memory" and quantity.format_memory(n) or quantity.format_cpu(n)
end

---The App's autotune settings with the defaults filled in (numbers parsed).
---@param app table the App
---@return table settings {mode, maxMemory (bytes), minMemory, minCpu, high, low, target, samples, cooldown}
function M.settings(app)
  local at = type(app.spec) == "table" and type(app.spec.autotune) == "table" and app.spec.autotune or {}
  local s = {}
  for k, v in pairs(M.DEFAULTS) do s[k] = at[k] ~= nil and at[k] or v end
  if not M.MODES[s.mode] then s.mode = "off" end
  for _, k in ipairs({ "maxMemory", "minMemory", "minCpu" }) do
    s[k] = quantity.parse(s[k]) or quantity.parse(M.DEFAULTS[k])
  end
  return s
end

---The requests and limits the App's pods get now (its spec.resources over its profile), in bytes and cores.
---@param app table
---@return {requests: {cpu: number, memory: number}, limits: {cpu: number, memory: number}}
function M.current(app)
  local ok, res = pcall(resources.build, type(app.spec) == "table" and app.spec.resources or nil)
  if not ok then res = resources.build(nil) end
  local out = { requests = {}, limits = {} }
  for _, side in ipairs({ "requests", "limits" }) do
    for _, r in ipairs({ "cpu", "memory" }) do out[side][r] = quantity.parse(res[side][r]) end
  end
  return out
end

local function container_limit(pod, name)
  for _, c in ipairs((pod.spec or {}).containers or {}) do
    if c.name == name then
      local lim = c.resources and c.resources.limits and c.resources.limits.memory
      return lim and quantity.parse(lim)
    end
  end
end

---OOM kills seen in the pods' container statuses (the last or current termination): the largest
---memory limit a container was killed at, and how many kills.
---@param pods table[]
---@return number|nil killed_at bytes
---@return integer kills
---@return string|nil pod the name of a pod that was killed at that limit
function M.oom_kills(pods)
  local at, kills, who
  kills = 0
  for _, pod in ipairs(pods or {}) do
    for _, cs in ipairs(((pod.status or {}).containerStatuses) or {}) do
      local t1 = cs.lastState and cs.lastState.terminated
      local t2 = cs.state and cs.state.terminated
      for _, t in ipairs({ t1 or false, t2 or false }) do
        if t and t.reason == "OOMKilled" then
          kills = kills + 1
          local lim = container_limit(pod, cs.name)
          if lim and (not at or lim > at) then at, who = lim, pod.metadata and pod.metadata.name end
        end
      end
    end
  end
  return at, kills, who
end

-- The largest value per pod that fits every quota for this field, or nil when none limits it.
local function quota_room(field, quotas, replicas)
  local room, by
  for _, q in ipairs(quotas or {}) do
    local hard = q.hard or {}
    for _, key in ipairs(M.FIELDS[field].quota) do
      local h = hard[key] and quantity.parse(hard[key])
      if h then
        local others = (q.others or {})[key] or 0
        local r = (h - others) / replicas
        if not room or r < room then room, by = r, { quota = q.name, key = key, hard = hard[key], others = others } end
      end
    end
  end
  return room, by
end

-- Bounds a wanted value by the quotas: the change (maybe clipped) or a hold.
local function bound(field, from, to, why, input, replicas)
  local spec = M.FIELDS[field]
  local room, by = quota_room(field, input.quotas, replicas)
  if not room or to <= from or to <= room then return { field = field, from = from, to = to, reason = why.reason, message = why.message } end
  local what = string.format("ResourceQuota %s (%s %s; the namespace's other pods use %s, this App runs %d pod%s)",
    by.quota, by.key, by.hard, fmt(spec.resource, by.others), replicas, replicas == 1 and "" or "s")
  -- round down to what formats back within the room
  local step = spec.resource == "memory" and 2 ^ 20 or 0.001
  local fit = math.floor(room / step) * step
  if fit > from then
    return { field = field, from = from, to = fit, reason = why.reason,
      message = why.message .. string.format("; held to %s by %s", fmt(spec.resource, fit), what) }
  end
  return nil, { field = field, reason = "QuotaExceeded", warn = true,
    message = string.format("would raise the %s from %s to %s (%s), but %s leaves no room: raise the quota or free some of it",
      spec.what, fmt(spec.resource, from), fmt(spec.resource, to), why.reason, what) }
end

-- The peak of each usage over the last n samples (after `since`), and whether every one of them
-- was above `high` / below `low` of the request.
local function usage_trend(samples, resource, request, n, since, s)
  local recent = {}
  for i = #samples, 1, -1 do
    local smp = samples[i]
    if since and smp.time <= since then break end
    if smp[resource] then recent[#recent + 1] = smp[resource] end
    if #recent == n then break end
  end
  if #recent < n or not request or request <= 0 then return nil end
  local peak, all_high, all_low = 0, true, true
  for _, u in ipairs(recent) do
    peak = math.max(peak, u)
    if u <= s.high * request then all_high = false end
    if u >= s.low * request then all_low = false end
  end
  return { peak = peak, high = all_high, low = all_low }
end

---The auto-tuner's decision for one App.
---@param input {app: table, pods: table[], samples: {time: number, cpu?: number, memory?: number}[],
---  quotas?: {name: string, hard: table<string, string>, others: table<string, number>}[], now: number,
---  last_change?: number, replicas?: integer}
---  samples: oldest first, each the peak usage over the App's pods (bytes, cores) at `time` (Unix seconds);
---  quotas: the namespace's ResourceQuotas, `others` the sums ("requests.memory", ...) of the pods that are not the App's;
---  last_change: when the tuner last changed (auto) or recommended (recommend) a request
---@return {mode: string, changes: table[], held: table[], recommendation?: table<string, string>}
---  changes: {field ("memoryLimit"|"memory"|"cpu"), from, to (numbers), reason, message}; held: {field, reason, message, warn?}
function M.decide(input)
  local app = input.app
  local s = M.settings(app)
  local result = { mode = s.mode, changes = {}, held = {} }
  if s.mode == "off" then return result end
  local cur = M.current(app)
  local replicas = math.max(1, tonumber(input.replicas) or tonumber((app.spec or {}).replicas) or 1)
  local want = {}
  local function add(change, hold)
    if change then want[change.field] = change end
    if hold then result.held[#result.held + 1] = hold end
  end

  -- after an OOM kill: double the limit the container died at, up to maxMemory
  local killed_at, kills, pod = M.oom_kills(input.pods)
  local limit = cur.limits.memory
  if killed_at and 2 * killed_at > limit then
    local to = math.min(2 * killed_at, s.maxMemory)
    local why = { reason = "OOMKilled", message = string.format("pod %s was OOMKilled at a memory limit of %s (%d kill%s): limit doubled to %s",
      tostring(pod), fmt("memory", killed_at), kills, kills == 1 and "" or "s", fmt("memory", to)) }
    if to < 2 * killed_at then why.message = why.message .. string.format(" (capped by spec.autotune.maxMemory %s)", fmt("memory", s.maxMemory)) end
    if to > limit then
      add(bound("memoryLimit", limit, to, why, input, replicas))
    else
      add(nil, { field = "memoryLimit", reason = "AtMaxMemory", warn = true,
        message = string.format("pod %s was OOMKilled, but the memory limit %s is already spec.autotune.maxMemory: "
          .. "raise maxMemory or make the app use less memory", tostring(pod), fmt("memory", limit)) })
    end
  end
  if want.memoryLimit then limit = want.memoryLimit.to end

  -- requests from usage, after the cool-down
  local cooling = input.last_change and input.now and input.now - input.last_change < s.cooldown
  for _, field in ipairs({ "memory", "cpu" }) do
    local r = M.FIELDS[field].resource
    local request = cur.requests[r]
    local trend = usage_trend(input.samples or {}, r, request, s.samples, input.last_change, s)
    if trend and (trend.high or trend.low) then
      if cooling then
        add(nil, { field = field, reason = "CoolDown", message = string.format("the %s waits for the cool-down (%ds after the last change)",
          M.FIELDS[field].what, s.cooldown) })
      else
        local to = trend.peak / s.target
        local floor = r == "memory" and s.minMemory or s.minCpu
        local lim = r == "memory" and limit or cur.limits.cpu
        to = math.max(to, floor)
        if trend.high then
          if to > lim then to = lim end
          if to <= request then
            add(nil, { field = field, reason = "AtLimit", message = string.format("the %s %s is at its limit %s: raise the limit to give it more",
              M.FIELDS[field].what, fmt(r, request), fmt(r, lim)) })
          else
            local why = { reason = "HighUsage", message = string.format(
              "%s usage stayed above %d%% of the request %s for %d samples (peak %s): request raised to %s",
              r == "memory" and "memory" or "CPU", math.floor(s.high * 100 + 0.5), fmt(r, request), s.samples, fmt(r, trend.peak), fmt(r, to)) }
            add(bound(field, request, to, why, input, replicas))
          end
        elseif to < request then
          add({ field = field, from = request, to = to, reason = "LowUsage",
            message = string.format("%s usage stayed below %d%% of the request %s for %d samples (peak %s): request lowered to %s",
              r == "memory" and "memory" or "CPU", math.floor(s.low * 100 + 0.5), fmt(r, request), s.samples, fmt(r, trend.peak), fmt(r, to)) })
        end
      end
    end
  end

  for _, field in ipairs(M.ORDER) do
    local c = want[field]
    if c and fmt(M.FIELDS[field].resource, c.to) ~= fmt(M.FIELDS[field].resource, c.from) then
      c.value = fmt(M.FIELDS[field].resource, c.to)
      c.previous = fmt(M.FIELDS[field].resource, c.from)
      result.changes[#result.changes + 1] = c
    end
  end
  if #result.changes > 0 then
    result.recommendation = {}
    for _, c in ipairs(result.changes) do result.recommendation[c.field] = c.value end
  end
  return result
end

return M
