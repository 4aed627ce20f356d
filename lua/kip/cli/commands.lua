-- SPDX-License-Identifier: Apache-2.0
-- Finds kip's commands: every lua/kip/cmd/NOUN.lua shipped with kip is a command. Also holds the
-- flags every command takes. Uses kip.host (where the Lua files are) and kip.fs.
local fs = require "kip.fs"
local host = require "kip.host"

local M = {}

M.global_flags = {
  { name = "cluster", arg = "NAME", help = "use this cluster for this command instead of the current one (or set KIP_CLUSTER)" },
  { name = "verbose", short = "v", help = "log what kip does, at debug level" },
  { name = "help", short = "h", help = "show help for the command" },
}

M.output_flag = {
  name = "output", short = "o", arg = "FORMAT", choices = { "table", "json", "yaml" }, default = "table",
  help = "how to show the result: table, json or yaml",
}

---@return string[] names of every command, sorted
function M.names()
  local names = {}
  local dir = host.data_dir() .. "/lua/kip/cmd"
  for _, file in ipairs(assert(fs.list(dir))) do
    local name = file:match("^([%w-]+)%.lua$")
    if name then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

---@param name string
---@return table|nil command the command's definition, nil when there is no such command
function M.load(name)
  if not name:match("^[%w-]+$") then return nil end
  local path = host.data_dir() .. "/lua/kip/cmd/" .. name .. ".lua"
  if not fs.exists(path) then return nil end
  return require("kip.cmd." .. name)
end

---The flags a command (or verb) accepts: its own, -o when it shows objects, then the global ones.
---@param def table command or verb definition
---@return table[]
function M.flags_of(def)
  local flags = {}
  for _, f in ipairs(def.flags or {}) do flags[#flags + 1] = f end
  if def.output then flags[#flags + 1] = M.output_flag end
  for _, f in ipairs(M.global_flags) do flags[#flags + 1] = f end
  return flags
end

---@param cmd table a command with verbs
---@return string[] its verbs in the order it lists them
function M.verbs_of(cmd)
  if cmd.verb_order then return cmd.verb_order end
  local names = {}
  for name in pairs(cmd.verbs) do names[#names + 1] = name end
  table.sort(names)
  return names
end

return M
