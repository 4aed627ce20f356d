-- SPDX-License-Identifier: Apache-2.0
-- JSON for kip's Lua code: decode through lua-cjson (null is cjson.null, the same value as
-- kip.yaml.null; Debian's cjson reads every number as a float, so whole numbers are turned back
-- into integers); encode with sorted keys, optional indentation, unescaped '/', whole numbers
-- without a fraction, and sequences told apart from mappings as kip.yaml does.
local cjson = require "cjson"
local yaml = require "kip.yaml"

local M = {}

M.null = cjson.null

-- Whole floats (within 2^53, where floats are exact) become integers, in place.
local function integers(v)
  if type(v) == "number" then
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) <= 2 ^ 53 then
      return math.tointeger(v)
    end
  elseif type(v) == "table" then
    for k, x in pairs(v) do
      if type(x) == "number" or type(x) == "table" then v[k] = integers(x) end
    end
  end
  return v
end

---@param text string
---@return any value, or nil
---@return string|nil message when text is not valid JSON
function M.decode(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then
    return nil, (tostring(value):gsub("^.-: ", "", 1))
  end
  return integers(value)
end

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_sequence(t)
  if yaml.is_array(t) then return true end
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n > 0 and n == #t
end

local encode_value

local function encode_table(t, indent, depth, seen, out)
  if seen[t] then error("cannot encode a table that contains itself", 0) end
  seen[t] = true
  local pad = indent and ("\n" .. string.rep(indent, depth + 1)) or ""
  local close = indent and ("\n" .. string.rep(indent, depth)) or ""
  local sep = indent and ": " or ":"
  if is_sequence(t) then
    if #t == 0 then
      out[#out + 1] = "[]"
    else
      out[#out + 1] = "["
      for i = 1, #t do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = pad
        encode_value(t[i], indent, depth + 1, seen, out)
      end
      out[#out + 1] = close .. "]"
    end
  else
    local keys = {}
    for k in pairs(t) do
      local tk = type(k)
      if tk ~= "string" and tk ~= "number" then
        error("cannot encode a table key of type " .. tk, 0)
      end
      keys[#keys + 1] = tostring(k)
    end
    table.sort(keys)
    if #keys == 0 then
      out[#out + 1] = "{}"
    else
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        local v = t[k]
        if v == nil then v = t[tonumber(k)] end
        out[#out + 1] = pad .. quote(k) .. sep
        encode_value(v, indent, depth + 1, seen, out)
      end
      out[#out + 1] = close .. "}"
    end
  end
  seen[t] = nil
end

function encode_value(v, indent, depth, seen, out)
  local tv = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif tv == "boolean" then
    out[#out + 1] = tostring(v)
  elseif tv == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      error("cannot encode " .. tostring(v) .. " in JSON", 0)
    end
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    else
      local s = string.format("%.14g", v)
      if tonumber(s) ~= v then s = string.format("%.17g", v) end
      out[#out + 1] = s
    end
  elseif tv == "string" then
    out[#out + 1] = quote(v)
  elseif tv == "table" then
    if depth > 512 then error("nesting deeper than 512 levels", 0) end
    encode_table(v, indent, depth, seen, out)
  else
    error("cannot encode a " .. tv .. " value in JSON", 0)
  end
end

---@param value any
---@param opts? {indent?: integer} indent: spaces per level for pretty output (none: compact)
---@return string|nil text
---@return string|nil message when the value cannot be encoded
function M.encode(value, opts)
  local indent = opts and opts.indent and string.rep(" ", opts.indent) or nil
  local out = {}
  local ok, err = pcall(encode_value, value, indent, 0, {}, out)
  if not ok then return nil, err end
  return table.concat(out)
end

return M
