-- SPDX-License-Identifier: Apache-2.0
-- The CLI's error values: commands raise them with fail() (exit 1) or usage() (exit 2); main.lua
-- prints "kip: error: WHAT" and the hint that says what to do. Anything else raised is a bug.
local M = {}

local CliError = {}
CliError.__index = CliError
CliError.__tostring = function(e) return e.message end

---Raises an operational failure: exit status 1.
---@param message string what went wrong, naming the thing involved
---@param hint? string what the user can do about it
function M.fail(message, hint)
  error(setmetatable({ message = message, hint = hint, status = 1 }, CliError), 0)
end

---Raises a usage error (bad command line): exit status 2.
---@param message string
---@param hint? string
function M.usage(message, hint)
  error(setmetatable({ message = message, hint = hint, status = 2 }, CliError), 0)
end

---@return boolean whether err was raised by fail() or usage()
function M.is(err)
  return getmetatable(err) == CliError
end

---Turns a `value, message` pair from a library call into a failure when value is nil or false.
---@generic T
---@param value T|nil
---@param message? string the library's message
---@param hint? string what the user can do about it
---@return T value
function M.check(value, message, hint)
  if value == nil or value == false then M.fail(message or "failed", hint) end
  return value
end

return M
