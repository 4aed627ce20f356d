-- SPDX-License-Identifier: Apache-2.0
-- Kubernetes resource quantities ("500m", "1.5Gi", "2", "1e3") as numbers, to compare a request
-- with a limit, and numbers back as quantities (memory in Mi or Gi, CPU in millicores). Pure Lua.
local M = {}

local SUFFIX = {
  n = 1e-9, u = 1e-6, m = 1e-3, [""] = 1, k = 1e3, M = 1e6, G = 1e9, T = 1e12, P = 1e15, E = 1e18,
  Ki = 2 ^ 10, Mi = 2 ^ 20, Gi = 2 ^ 30, Ti = 2 ^ 40, Pi = 2 ^ 50, Ei = 2 ^ 60,
}

---The value of a quantity in base units (cores, bytes), or nil when q is not a quantity.
---@param q string|number
---@return number|nil
function M.parse(q)
  if type(q) == "number" then return q end
  if type(q) ~= "string" then return nil end
  local num, suffix = q:match("^([+-]?%d*%.?%d*)(%a*)$")
  if num and num ~= "" and num ~= "." and num ~= "+" and num ~= "-" and SUFFIX[suffix] then
    return tonumber(num) * SUFFIX[suffix]
  end
  local mant, exp = q:match("^([+-]?%d*%.?%d+)[eE]([+-]?%d+)$")
  if mant then return tonumber(mant) * 10 ^ tonumber(exp) end
  return nil
end

---Whether quantity a is less than quantity b (false when either is not a quantity).
function M.less(a, b)
  local x, y = M.parse(a), M.parse(b)
  return x ~= nil and y ~= nil and x < y
end

---Bytes as a memory quantity, rounded up to a whole Mi ("768Mi"; "2Gi" when it is whole Gi).
---@param bytes number
---@return string
function M.format_memory(bytes)
  local mi = math.max(1, math.ceil(bytes / 2 ^ 20 - 1e-9))
  if mi % 1024 == 0 then return string.format("%dGi", mi // 1024) end
  return string.format("%dMi", mi)
end

---Cores as a CPU quantity, rounded up to a whole millicore ("250m"; "2" when it is whole cores).
---@param cores number
---@return string
function M.format_cpu(cores)
  local m = math.max(1, math.ceil(cores * 1000 - 1e-9))
  if m % 1000 == 0 then return tostring(m // 1000) end
  return string.format("%dm", m)
end

return M
