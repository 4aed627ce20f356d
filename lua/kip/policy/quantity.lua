-- SPDX-License-Identifier: Apache-2.0
-- Kubernetes resource quantities ("500m", "1.5Gi", "2", "1e3") as numbers, to compare a request
-- with a limit. Pure Lua.
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

return M
