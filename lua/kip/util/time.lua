-- SPDX-License-Identifier: Apache-2.0
-- Times as text, always in UTC and never through the local time zone: days since the epoch of a
-- civil date, RFC 3339 (Kubernetes' timestamps) to and from Unix seconds, and HTTP dates
-- (IMF-fixdate). Pure Lua.
local M = {}

local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local MONTH_NUMBER = {}
for i, m in ipairs(MONTHS) do MONTH_NUMBER[m] = i end

---Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
---@param y integer year
---@param m integer month, 1 to 12
---@param d integer day of the month
---@return integer days negative before 1970
function M.days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m > 2 and m - 3 or m + 9) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

---Unix seconds as RFC 3339 UTC ("2026-11-24T02:26:45Z"), fractions dropped.
---@param t? number Unix seconds (default: now)
---@return string
function M.format_rfc3339(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t and math.floor(t) or nil)
end

---Unix seconds of an RFC 3339 time ("2025-01-02T03:04:05Z"; a fraction, a UTC offset such as
---"+02:00", a lowercase t or z, a space for the T and no zone at all, read as UTC, are allowed);
---nil for anything else, a field out of range included.
---@param text any
---@return integer|nil
function M.parse_rfc3339(text)
  if type(text) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = text:match("^(%d%d%d%d)-(%d%d)-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then return nil end
  local t = M.days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
  rest = rest:gsub("^%.%d+", "")
  if rest == "Z" or rest == "z" or rest == "" then return t end
  local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
  if not sign then return nil end
  local offset = tonumber(oh) * 3600 + tonumber(om) * 60
  return sign == "+" and t - offset or t + offset
end

---An HTTP date (IMF-fixdate): "Sun, 06 Nov 1994 08:49:37 GMT".
---@param t integer Unix seconds
---@return string
function M.format_http_date(t)
  local d = os.date("!*t", t)
  return string.format("%s, %02d %s %04d %02d:%02d:%02d GMT", DAYS[d.wday], d.day, MONTHS[d.month], d.year,
    d.hour, d.min, d.sec)
end

---Unix seconds of an IMF-fixdate (the only form clients send today); nil for anything else.
---@param s any
---@return integer|nil
function M.parse_http_date(s)
  if type(s) ~= "string" then return nil end
  local day, mon, year, h, m, sec = s:match("^%a%a%a, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not day or not MONTH_NUMBER[mon] then return nil end
  return M.days_from_civil(tonumber(year), MONTH_NUMBER[mon], tonumber(day)) * 86400
    + tonumber(h) * 3600 + tonumber(m) * 60 + tonumber(sec)
end

return M
