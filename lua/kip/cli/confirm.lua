-- SPDX-License-Identifier: Apache-2.0
-- Confirmation before something that cannot be undone: --yes skips it; on a terminal the person
-- types the expected word (a name) back; without a terminal and without --yes it is refused.
-- Uses kip.host and kip.cli.errors.
local errors = require "kip.cli.errors"
local host = require "kip.host"

local M = {}

---Returns when confirmed; raises a kip error otherwise.
---@param what string what will happen ("uninstall k3s from 203.0.113.10 and forget cluster prod")
---@param word string what the person must type to confirm
---@param yes boolean|nil --yes was given
function M.typed(what, word, yes)
  if yes then return end
  if not (host.isatty("stdin") and host.isatty("stderr")) then
    errors.fail("refusing to " .. what .. " without confirmation", "Run it on a terminal to confirm, or pass --yes.")
  end
  io.stderr:write("This will " .. what .. ". It cannot be undone.\n")
  local answer = host.ask(string.format("Type %q to confirm: ", word))
  if answer ~= word then errors.fail("not confirmed; nothing was changed") end
end

return M
