-- SPDX-License-Identifier: Apache-2.0
-- Errors in what a user asked for (a spec the policy cannot turn into objects). A policy raises
-- one instead of returning objects, so the engine applies and prunes nothing and the resource keeps
-- running as it was; the engine reports it as condition Ready=False with the error's reason and
-- message. tostring() of the error is the message, for engines that only print. Pure Lua.
local M = {}

local mt = { __tostring = function(e) return e.message end }

---Raises a spec error.
---@param reason string CamelCase, e.g. "InvalidEnv"
---@param fmt string message format: what is wrong and what to do
---@return nil never returns
function M.raise(reason, fmt, ...)
  error(setmetatable({ reason = reason, message = string.format(fmt, ...) }, mt), 0)
end

---Whether err is a spec error raised by M.raise.
---@param err any
---@return boolean
function M.is(err)
  return getmetatable(err) == mt
end

return M
