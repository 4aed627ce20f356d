-- SPDX-License-Identifier: Apache-2.0
-- Small formatting helpers of the app, service and project commands: RFC 3339 times to Unix
-- seconds, ages as kubectl shows them (45s, 3m, 5h, 12d), durations from flags (90s, 5m, 1h30m),
-- and a condition by type. Pure Lua (kip.util.time).
local time = require "kip.util.time"

local M = {}

---Unix seconds of an RFC 3339 time ("2025-01-02T03:04:05Z", fractions and offsets allowed).
M.parse_time = time.parse_rfc3339

---An age as kubectl prints it.
---@param seconds integer
function M.duration(seconds)
  if seconds < 0 then seconds = 0 end
  if seconds < 120 then return string.format("%ds", seconds) end
  local minutes = seconds // 60
  if minutes < 10 then return string.format("%dm%ds", minutes, seconds % 60) end
  if minutes < 180 then return string.format("%dm", minutes) end
  local hours = minutes // 60
  if hours < 48 then return string.format("%dh", hours) end
  return string.format("%dd", hours // 24)
end

---How long ago an RFC 3339 time was ("" when unknown).
---@param text any
---@param now? integer Unix seconds (default: os.time())
function M.age(text, now)
  local t = M.parse_time(text)
  if not t then return "" end
  return M.duration((now or os.time()) - t)
end

---Seconds in a duration flag: "45", "45s", "5m", "2h", "1h30m", "1d".
---@param text string
---@return integer|nil seconds
function M.parse_duration(text)
  if type(text) ~= "string" or text == "" then return nil end
  if text:match("^%d+$") then return tonumber(text) end
  local total, rest = 0, text
  local units = { s = 1, m = 60, h = 3600, d = 86400 }
  while rest ~= "" do
    local n, u, tail = rest:match("^(%d+)([smhd])(.*)$")
    if not n then return nil end
    total = total + tonumber(n) * units[u]
    rest = tail
  end
  return total
end

---The condition of a type in an object's status.conditions.
---@return table|nil condition
function M.condition(obj, ctype)
  for _, c in ipairs(obj and obj.status and obj.status.conditions or {}) do
    if c.type == ctype then return c end
  end
end

return M
