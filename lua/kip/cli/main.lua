-- SPDX-License-Identifier: Apache-2.0
-- kip's command-line frame: `kip NOUN [VERB] ARGS`, global flags, help, the "did you mean"
-- suggestion, and exit statuses (0 success, 1 failure, 2 usage). core/src/host/main.c calls
-- main(argv). Uses kip.cli.* for parsing and help, kip.plugins for the plugin searcher.
local args = require "kip.cli.args"
local commands = require "kip.cli.commands"
local context = require "kip.cli.context"
local errors = require "kip.cli.errors"
local help = require "kip.cli.help"
local log = require "kip.log"
local plugins = require "kip.plugins"
local suggest = require "kip.util.suggest"

local M = {}

local function out(text) io.stdout:write(text) end

-- Flags before the command: only the global ones are known there.
local function leading_globals(tokens)
  local i, globals = 1, {}
  while tokens[i] and tokens[i]:sub(1, 1) == "-" and tokens[i] ~= "-" do
    local t = tokens[i]
    if t == "--version" then
      return globals, i, "version"
    end
    local spec = { flags = commands.global_flags, args = {}, command = "kip", rest = nil }
    local takes_value = (t == "--cluster")
    local slice = { t, takes_value and tokens[i + 1] or nil }
    local flags = args.parse(slice, spec)
    for k, v in pairs(flags) do globals[k] = v end
    i = i + (takes_value and 2 or 1)
  end
  return globals, i
end

local function unknown_command(word)
  local guess = suggest.closest(word, commands.names())
  errors.usage(string.format("unknown command %q", word),
    (guess and string.format("Did you mean 'kip %s'? ", guess) or "") .. "Run 'kip help' for the list of commands.")
end

local function unknown_verb(noun, cmd, word)
  local verbs = commands.verbs_of(cmd)
  local guess = suggest.closest(word, verbs)
  errors.usage(string.format("unknown verb %q for 'kip %s'", word, noun),
    (guess and string.format("Did you mean 'kip %s %s'? ", noun, guess) or "") ..
    string.format("'kip %s' takes: %s.", noun, table.concat(verbs, ", ")))
end

-- `kip help [NOUN [VERB]]`
local function show_help(words)
  local noun, verb = words[1], words[2]
  if not noun or noun == "help" then
    out(help.top())
    return 0
  end
  local cmd = commands.load(noun) or unknown_command(noun)
  if verb and cmd.verbs then
    local vdef = cmd.verbs[verb] or unknown_verb(noun, cmd, verb)
    out(help.command(noun, verb, vdef))
  else
    out(help.command(noun, nil, cmd))
  end
  return 0
end

local function run(argv)
  plugins.install_searcher()
  local tokens = table.move(argv, 1, #argv, 1, {})
  local globals, i, implied = leading_globals(tokens)
  local noun = implied or tokens[i]
  if noun == nil then
    out(help.top())
    return 0
  end
  if noun == "help" or globals.help then
    local words = {}
    for j = noun == "help" and i + 1 or i, #tokens do
      if tokens[j]:sub(1, 1) ~= "-" then words[#words + 1] = tokens[j] end
    end
    return show_help(words)
  end
  local cmd = commands.load(noun) or unknown_command(noun)
  local def, verb, rest_from = cmd, nil, i + 1
  if cmd.verbs then
    verb = tokens[i + 1]
    if verb == nil or verb:sub(1, 1) == "-" then
      local wants_help = verb == "-h" or verb == "--help"
      if verb ~= nil and not wants_help then
        errors.usage(string.format("'kip %s' needs a verb before its flags", noun),
          string.format("'kip %s' takes: %s.", noun, table.concat(commands.verbs_of(cmd), ", ")))
      end
      out(help.command(noun, nil, cmd))
      return 0
    end
    def = cmd.verbs[verb] or unknown_verb(noun, cmd, verb)
    rest_from = i + 2
  end
  local name = "kip " .. noun .. (verb and (" " .. verb) or "")
  local spec = { flags = commands.flags_of(def), args = def.args or {}, rest = def.rest, command = name,
    passthrough = def.passthrough }
  local rest = table.move(tokens, rest_from, #tokens, 1, {})
  -- --help anywhere before a pass-through argument list wins over missing arguments
  for _, t in ipairs(rest) do
    if t == "--help" or t == "-h" then
      out(help.command(noun, verb, def))
      return 0
    end
    if def.rest and def.passthrough ~= false and t:sub(1, 1) ~= "-" then break end
  end
  local flags, values = args.parse(rest, spec)
  for k, v in pairs(globals) do
    if flags[k] == nil then flags[k] = v end
  end
  if flags.verbose then log.set_level("debug") end
  local ctx = context.new({ command = name, flags = flags, args = values, argv0 = argv[0] })
  local status = def.run(ctx)
  return status or 0
end

---Runs one kip command line.
---@param argv string[] argv[0] the program as invoked, argv[1..] the arguments
---@return integer status the process exit status
function M.main(argv)
  return errors.run_program("kip", run, "This is a bug in kip: please report it with the command you ran.", argv)
end

return M
