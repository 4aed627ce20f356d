-- SPDX-License-Identifier: Apache-2.0
-- Help text for kip, for a command and for a verb: usage line, description, arguments, flags,
-- global flags and examples; flag_lines() also serves kipperd's and kipper-gateway's --help. Uses kip.cli.commands and kip.cli.args.
local args = require "kip.cli.args"
local commands = require "kip.cli.commands"

local M = {}

local function columns(rows, indent)
  local width = 0
  for _, r in ipairs(rows) do width = math.max(width, #r[1]) end
  local out = {}
  for _, r in ipairs(rows) do
    out[#out + 1] = indent .. r[1] .. string.rep(" ", width - #r[1] + 3) .. (r[2] or "")
  end
  return table.concat(out, "\n")
end

local function flag_rows(flags)
  local rows = {}
  for _, f in ipairs(flags) do
    local name = (f.short and ("-" .. f.short .. ", ") or "    ") .. "--" .. f.name
    if f.arg then name = name .. " " .. f.arg end
    local text = f.help or ""
    if f.repeated then text = text .. " (repeatable)" end
    if f.default ~= nil and f.default ~= false then text = text .. string.format(" (default %s)", tostring(f.default)) end
    rows[#rows + 1] = { name, text }
  end
  return rows
end

local function own_flags(def)
  local flags = {}
  for _, f in ipairs(def.flags or {}) do flags[#flags + 1] = f end
  if def.output then flags[#flags + 1] = commands.output_flag end
  return flags
end

---The flags of a table like kip's commands' (name, short, arg, help, default, repeated) as aligned
---help lines, for kip and for the programs that share its flag parser (kipperd, kipper-gateway).
---@param flags table[]
---@return string
function M.flag_lines(flags)
  return columns(flag_rows(flags), "  ")
end

---@return string help for `kip` itself
function M.top()
  local rows = {}
  for _, name in ipairs(commands.names()) do
    local cmd = commands.load(name)
    local summary = cmd.summary or ""
    if cmd.verbs then summary = summary .. " (" .. table.concat(commands.verbs_of(cmd), ", ") .. ")" end
    rows[#rows + 1] = { name, summary }
  end
  return table.concat({
    "kip: Kipper's command-line tool. Turns a Linux server into a Kubernetes platform and deploys apps to it.",
    "",
    "Usage:",
    "  kip COMMAND [VERB] [ARGUMENTS] [flags]",
    "",
    "Commands:",
    columns(rows, "  "),
    "",
    "Global flags:",
    columns(flag_rows(commands.global_flags), "  "),
    "",
    "Environment:",
    columns({
      { "KIP_HOME", "where kip keeps config.yaml, known_hosts and user plugins (default ~/.kip)" },
      { "KIP_CLUSTER", "the cluster to use instead of the current one" },
      { "KIP_PLUGIN_PATH", "colon-separated plugin roots searched before KIP_HOME/plugins and the built-ins" },
      { "KIP_LOG_LEVEL", "debug, info, warn, error or off" },
    }, "  "),
    "",
    "Run 'kip help COMMAND' or 'kip COMMAND --help' for a command's verbs, flags and examples.",
    "",
  }, "\n")
end

---@param noun string
---@param verb string|nil
---@param def table the command (verb nil) or the verb's definition
---@return string
function M.command(noun, verb, def)
  local name = "kip " .. noun .. (verb and (" " .. verb) or "")
  local out = {}
  local function add(s) out[#out + 1] = s end
  if def.verbs then
    add(string.format("Usage: %s VERB [ARGUMENTS] [flags]", name))
    add("")
    add(def.description or def.summary or "")
    add("")
    add("Verbs:")
    local rows = {}
    for _, v in ipairs(commands.verbs_of(def)) do
      local vdef = def.verbs[v]
      local usage = args.usage_line({ command = v, args = vdef.args or {}, rest = vdef.rest }):gsub(" %[flags%]$", "")
      rows[#rows + 1] = { usage, vdef.summary }
    end
    add(columns(rows, "  "))
  else
    add("Usage: " .. args.usage_line({ command = name, args = def.args or {}, rest = def.rest }))
    add("")
    add(def.description or def.summary or "")
    if def.args and #def.args > 0 or def.rest then
      add("")
      add("Arguments:")
      local rows = {}
      for _, a in ipairs(def.args or {}) do rows[#rows + 1] = { a.name, a.help } end
      if def.rest then rows[#rows + 1] = { def.rest, def.rest_help } end
      add(columns(rows, "  "))
    end
    local flags = own_flags(def)
    if #flags > 0 then
      add("")
      add("Flags:")
      add(columns(flag_rows(flags), "  "))
    end
  end
  add("")
  add("Global flags:")
  add(columns(flag_rows(commands.global_flags), "  "))
  local examples = def.examples
  if def.verbs and not examples then
    examples = {}
    for _, v in ipairs(commands.verbs_of(def)) do
      for _, e in ipairs(def.verbs[v].examples or {}) do examples[#examples + 1] = e end
    end
  end
  if examples and #examples > 0 then
    add("")
    add("Examples:")
    for _, e in ipairs(examples) do add("  " .. e) end
  end
  if def.verbs then
    add("")
    add(string.format("Run '%s VERB --help' for a verb's arguments and flags.", name))
  end
  add("")
  return table.concat(out, "\n")
end

return M
