-- SPDX-License-Identifier: Apache-2.0
-- Command-line parsing for kip commands: --flag value, --flag=value, -f value, -fvalue, boolean
-- flags, repeated flags, choices, positional arguments, "--", and pass-through of everything
-- after the last declared argument. Raises kip.cli.errors usage errors. Pure Lua.
local errors = require "kip.cli.errors"
local suggest = require "kip.util.suggest"

local M = {}

local function flag_names(flags)
  local names = {}
  for _, f in ipairs(flags) do names[#names + 1] = "--" .. f.name end
  return names
end

local function find_flag(flags, token)
  for _, f in ipairs(flags) do
    if token == "--" .. f.name or (f.short and token == "-" .. f.short) then return f end
  end
end

local function set_value(result, flag, value)
  if flag.choices then
    local ok = false
    for _, c in ipairs(flag.choices) do ok = ok or c == value end
    if not ok then
      errors.usage(string.format("--%s must be one of %s, not %q", flag.name,
        table.concat(flag.choices, ", "), value))
    end
  end
  if flag.repeated then
    result[flag.name] = result[flag.name] or {}
    table.insert(result[flag.name], value)
  else
    result[flag.name] = value
  end
end

local booleans = { ["true"] = true, ["false"] = false }

---Parses tokens against a spec.
---@param tokens string[]
---@param spec {flags: table[], args: table[], rest?: string, command: string, passthrough?: boolean}
---  flags: {name=, short=, arg= (value placeholder; absent for booleans), choices=, repeated=, default=}
---  args: {name=, optional=} in order; rest: name of the pass-through list after the last arg;
---  passthrough = false: the rest list takes only positional tokens, and flags may come anywhere
---@return table flags by name, table args by name (rest as a list), string[] positional tokens
function M.parse(tokens, spec)
  local flags, positional = {}, {}
  local i, n = 1, #tokens
  local only_positional = false
  -- with a `rest` list, everything after the last declared argument is passed through untouched
  local passthrough = spec.rest and #spec.args > 0 and spec.passthrough ~= false
  while i <= n do
    local token = tokens[i]
    if passthrough and #positional >= #spec.args then
      for j = i, n do positional[#positional + 1] = tokens[j] end
      break
    end
    if only_positional or token == "-" or token:sub(1, 1) ~= "-" then
      positional[#positional + 1] = token
    elseif token == "--" then
      only_positional = true
    else
      local name, inline = token:match("^(%-%-[^=]+)=(.*)$")
      if not name then
        name = token
        local short, rest = token:match("^(%-%a)(.+)$")
        if short and not token:match("^%-%-") then name, inline = short, rest end
      end
      local flag = find_flag(spec.flags, name)
      if not flag then
        local guess = suggest.closest(name, flag_names(spec.flags))
        errors.usage(string.format("unknown flag %s for '%s'", name, spec.command),
          (guess and string.format("Did you mean %s? ", guess) or "") ..
          string.format("Run '%s --help' for its flags.", spec.command))
      end
      if flag.arg then
        local value = inline
        if value == nil then
          i = i + 1
          value = tokens[i]
          if value == nil then
            errors.usage(string.format("flag --%s needs a value (%s)", flag.name, flag.arg))
          end
        end
        set_value(flags, flag, value)
      else
        local value = true
        if inline ~= nil then
          value = booleans[inline]
          if value == nil then
            errors.usage(string.format("flag --%s takes no value, or true/false; got %q", flag.name, inline))
          end
        end
        flags[flag.name] = value
      end
    end
    i = i + 1
  end
  for _, f in ipairs(spec.flags) do
    if flags[f.name] == nil and f.default ~= nil then flags[f.name] = f.default end
  end

  local args = {}
  for idx, a in ipairs(spec.args) do
    local v = positional[idx]
    if v == nil and not a.optional then
      errors.usage(string.format("missing %s", a.name),
        string.format("Usage: %s. Run '%s --help' for more.", M.usage_line(spec), spec.command))
    end
    args[a.name] = v
  end
  if spec.rest then
    local rest = {}
    for idx = #spec.args + 1, #positional do rest[#rest + 1] = positional[idx] end
    args[spec.rest] = rest
  elseif #positional > #spec.args then
    errors.usage(string.format("unexpected argument %q", positional[#spec.args + 1]),
      string.format("Usage: %s", M.usage_line(spec)))
  end
  return flags, args, positional
end

---@return string e.g. "kip cluster rename OLD NEW [flags]"
function M.usage_line(spec)
  local parts = { spec.command }
  for _, a in ipairs(spec.args) do
    parts[#parts + 1] = a.optional and ("[" .. a.name .. "]") or a.name
  end
  if spec.rest then parts[#parts + 1] = "[" .. spec.rest .. "...]" end
  parts[#parts + 1] = "[flags]"
  return table.concat(parts, " ")
end

return M
