-- SPDX-License-Identifier: Apache-2.0
-- The CLI's error values: commands raise them with fail() (exit 1) or usage() (exit 2);
-- run_program() (the programs' main functions: kip, kipperd, kipper-gateway) prints
-- "PROGRAM: error: WHAT" and the hint that says what to do. Anything else raised is a bug.
local M = {}

local CliError = {}
CliError.__index = CliError
CliError.__tostring = function(e) return e.message end

---Raises an operational failure: exit status 1.
---@param message string what went wrong, naming the thing involved
---@param hint? string what the user can do about it
---@param http_status? integer the status kipperd's console API answers with (default 400)
function M.fail(message, hint, http_status)
  error(setmetatable({ message = message, hint = hint, status = 1, http_status = http_status }, CliError), 0)
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

---Runs a program's body and turns what it raises into the exit status: a fail() or usage() error
---is printed as "PROGRAM: error: WHAT" plus its hint (status 1 or 2); anything else is a bug,
---printed as "PROGRAM: internal error:" with its traceback and `bug_note` (status 1).
---@param program string the name to print ("kip", "kipperd")
---@param body fun(...): integer|nil returns the exit status (nil: 0)
---@param bug_note? string a line that says what to do about an internal error
---@return integer status
function M.run_program(program, body, bug_note, ...)
  local ok, result = xpcall(body, function(err)
    if M.is(err) then return err end
    return { internal = true, traceback = debug.traceback(tostring(err), 2) }
  end, ...)
  io.stdout:flush()
  if ok then return math.tointeger(result) or 0 end
  if result.internal then
    io.stderr:write(program, ": internal error: ", result.traceback, "\n", bug_note and bug_note .. "\n" or "")
    return 1
  end
  io.stderr:write(program, ": error: ", result.message, "\n")
  if result.hint then io.stderr:write(result.hint, "\n") end
  return result.status
end

return M
