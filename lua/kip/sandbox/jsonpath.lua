-- SPDX-License-Identifier: Apache-2.0
-- The JSONPath of CRD additionalPrinterColumns, read and evaluated as kube-apiserver does with
-- client-go's jsonpath (missing keys allowed): fields (.a, escaped dots, ['a']), .* and [*],
-- [N] and slices [a:b] (negative from the end, out of range an error), and filters
-- [?(@.k=="v")] with == != < > <= >= or a bare @.k (exists); and Go's fmt text of a value.
-- Pure Lua; uses kip.yaml's null and sequence mark.
local yaml = require "kip.yaml"

local M = {}

local null = yaml.null

local function is_list(v)
  return type(v) == "table" and (yaml.is_array(v) or #v > 0)
end

-- --- parsing -----------------------------------------------------------------------------------

local parse_steps

-- A literal or an @-path on one side of a filter's operator.
local function parse_operand(text)
  text = text:match("^%s*(.-)%s*$")
  local q = text:sub(1, 1)
  if (q == '"' or q == "'") and #text >= 2 and text:sub(-1) == q then
    return { literal = (text:sub(2, -2):gsub("\\(.)", "%1")) }
  end
  if text == "true" or text == "false" then return { literal = text == "true" } end
  if text:match("^%-?%d+$") then return { literal = math.tointeger(tonumber(text)) } end
  if text:match("^%-?%d*%.%d+$") or text:match("^%-?%d+%.%d*$") then return { literal = tonumber(text) + 0.0 } end
  local path = text:match("^[@$](.*)$")
  if not path then return nil, "unrecognized operand " .. text end
  local steps, err = parse_steps(path)
  if not steps then return nil, err end
  return { steps = steps }
end

local function parse_filter(body)
  -- as client-go: the first run of operator characters splits the two sides
  local left, op, right = body:match("^([^!<>=]+)([!<>=]+)(.+)$")
  if not left then
    local operand, err = parse_operand(body)
    if not operand then return nil, err end
    return { kind = "filter", left = operand, op = "exists" }
  end
  if not ({ ["=="] = true, ["!="] = true, ["<"] = true, [">"] = true, ["<="] = true, [">="] = true })[op] then
    return nil, "unrecognized filter operator " .. op
  end
  local l, lerr = parse_operand(left)
  if not l then return nil, lerr end
  local r, rerr = parse_operand(right)
  if not r then return nil, rerr end
  return { kind = "filter", left = l, op = op, right = r }
end

local function parse_bracket(inner)
  if inner:match("^%?%(.*%)$") then return parse_filter(inner:sub(3, -2)) end
  local q = inner:sub(1, 1)
  if (q == "'" or q == '"') and #inner >= 2 and inner:sub(-1) == q then
    return { kind = "field", name = inner:sub(2, -2) }
  end
  if inner == "*" then inner = ":" end
  local parts = {}
  for p in (inner .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  if #parts > 3 then return nil, "invalid array index " .. inner end
  local nums = {}
  for i, p in ipairs(parts) do
    p = p:match("^%s*(.-)%s*$")
    if p ~= "" then
      nums[i] = math.tointeger(tonumber(p))
      if not nums[i] then return nil, "invalid array index " .. inner end
    end
  end
  if #parts == 1 then
    if not nums[1] then return nil, "invalid array index " .. inner end
    return { kind = "index", index = nums[1] }
  end
  return { kind = "slice", from = nums[1], to = nums[2], step = nums[3] }
end

-- The steps of a path such as .spec.containers[0].name (the part inside client-go's {...}).
function parse_steps(path)
  local steps, pos, n = {}, 1, #path
  if path:sub(1, 1) == "$" then pos = 2 end
  while pos <= n do
    local c = path:sub(pos, pos)
    if c == "." then
      if path:sub(pos + 1, pos + 1) == "." then return nil, "recursive descent (..) is not supported" end
      local name, i = {}, pos + 1
      while i <= n do
        local ch = path:sub(i, i)
        if ch == "\\" then
          name[#name + 1] = path:sub(i + 1, i + 1)
          i = i + 2
        elseif ch == "." or ch == "[" then
          break
        else
          name[#name + 1] = ch
          i = i + 1
        end
      end
      local s = table.concat(name)
      if s == "" then
        if i > n then break end -- a trailing "." (or the root ".") selects the current value
        return nil, "empty field name at " .. pos
      end
      steps[#steps + 1] = s == "*" and { kind = "wildcard" } or { kind = "field", name = s }
      pos = i
    elseif c == "[" then
      -- the matching "]" outside quotes and parentheses
      local depth, quote, i = 0, nil, pos + 1
      while i <= n do
        local ch = path:sub(i, i)
        if quote then
          if ch == "\\" then i = i + 1 elseif ch == quote then quote = nil end
        elseif ch == '"' or ch == "'" then
          quote = ch
        elseif ch == "(" then
          depth = depth + 1
        elseif ch == ")" then
          depth = depth - 1
        elseif ch == "]" and depth == 0 then
          break
        end
        i = i + 1
      end
      if i > n then return nil, "unterminated [ at " .. pos end
      local step, err = parse_bracket(path:sub(pos + 1, i - 1))
      if not step then return nil, err end
      steps[#steps + 1] = step
      pos = i + 1
    else
      return nil, string.format("unexpected %q at %d", c, pos)
    end
  end
  return steps
end

---Parses a printer column's JSONPath (".status.conditions[?(@.type==\"Ready\")].status").
---@return table|nil steps, string|nil err
function M.parse(path)
  if type(path) ~= "string" then return nil, "the path must be a string" end
  local inner = path:match("^{(.*)}$") or path
  return parse_steps(inner)
end

-- --- evaluation ----------------------------------------------------------------------------------

local function kind_of(v)
  local t = type(v)
  if t == "number" then return math.type(v) == "integer" and "int" or "float" end
  if t == "string" or t == "boolean" then return t end
  return nil
end

-- Compares as Go's text/template does: the same basic kind, else an error.
local function compare(a, op, b)
  local ka, kb = kind_of(a), kind_of(b)
  if not ka or ka ~= kb then return nil, "incompatible types for comparison" end
  if op == "==" then return a == b end
  if op == "!=" then return a ~= b end
  if ka == "boolean" then return nil, "invalid type for comparison" end
  if op == "<" then return a < b end
  if op == ">" then return a > b end
  if op == "<=" then return a <= b end
  return a >= b
end

local eval

local function operand_values(operand, v)
  if operand.steps then return eval({ v }, operand.steps) end
  return { operand.literal }
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local function step_values(step, v, out)
  if v == nil or v == null then return true end
  local k = step.kind
  if k == "field" then
    if type(v) == "table" and not is_list(v) and v[step.name] ~= nil then out[#out + 1] = v[step.name] end
    return true
  end
  if k == "wildcard" then
    if is_list(v) then
      for i = 1, #v do out[#out + 1] = v[i] end
    elseif type(v) == "table" then
      for _, key in ipairs(sorted_keys(v)) do out[#out + 1] = v[key] end
    end
    return true
  end
  if type(v) ~= "table" or not (is_list(v) or next(v) == nil) then
    return nil, k == "filter" and "the value is not an array and cannot be filtered" or "the value is not an array"
  end
  local len = #v
  if k == "filter" then
    for i = 1, len do
      local e = v[i]
      local lefts, err = operand_values(step.left, e)
      if not lefts then return nil, err end
      if step.op == "exists" then
        if #lefts > 0 then out[#out + 1] = e end
      else
        local rights
        rights, err = operand_values(step.right, e)
        if not rights then return nil, err end
        if #lefts ~= 1 or #rights ~= 1 then return nil, "can only compare one element at a time" end
        local pass
        pass, err = compare(lefts[1], step.op, rights[1])
        if pass == nil then return nil, err end
        if pass then out[#out + 1] = e end
      end
    end
    return true
  end
  local from, to, by
  if k == "index" then
    from = step.index < 0 and step.index + len or step.index
    to = from + 1
  else
    from = step.from or 0
    if from < 0 then from = from + len end
    to = step.to or len
    if to < 0 then to = to + len end
    by = step.step
  end
  if to ~= from then
    if from < 0 or from >= len then return nil, string.format("array index out of bounds: index %d, length %d", from, len) end
    if to > len then return nil, string.format("array index out of bounds: index %d, length %d", to - 1, len) end
  end
  by = (by and by > 0) and by or 1
  for i = from + 1, to, by do out[#out + 1] = v[i] end
  return true
end

function eval(values, steps)
  for _, step in ipairs(steps) do
    local out = {}
    for _, v in ipairs(values) do
      local ok, err = step_values(step, v, out)
      if not ok then return nil, err end
    end
    values = out
  end
  return values
end

---The values a parsed path selects in obj, in order (JSON null as yaml.null).
---@return table|nil values, string|nil err an evaluation error (an index out of range, a filter on a non-array)
function M.find(obj, steps)
  return eval({ obj }, steps)
end

-- --- Go's text of a value -------------------------------------------------------------------------

-- Go's %v of a float64 (strconv 'g' with the shortest digits that read back): %e below 1e-4 and
-- from 1e6 up (1e+06), else %f.
local function go_float(f)
  if f ~= f then return "NaN" end
  if f == math.huge then return "+Inf" end
  if f == -math.huge then return "-Inf" end
  if f == 0 then return (1 / f < 0) and "-0" or "0" end
  local p = 1
  while p < 17 and tonumber(string.format("%." .. p .. "g", f)) ~= f do p = p + 1 end
  local exp = tonumber(string.format("%." .. (p - 1) .. "e", f):match("e([-+]%d+)$"))
  if exp < -4 or exp >= 6 then
    return (string.format("%." .. (p - 1) .. "e", f))
  end
  return (string.format("%." .. math.max(p - exp - 1, 0) .. "f", f))
end

local function go_text(v)
  if v == nil or v == null then return "<nil>" end
  local t = type(v)
  if t == "string" then return v end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    return go_float(v)
  end
  if t == "table" then
    local parts = {}
    if is_list(v) then
      for i = 1, #v do parts[i] = go_text(v[i]) end
      return "[" .. table.concat(parts, " ") .. "]"
    end
    for _, k in ipairs(sorted_keys(v)) do parts[#parts + 1] = tostring(k) .. ":" .. go_text(v[k]) end
    return "map[" .. table.concat(parts, " ") .. "]"
  end
  return tostring(v)
end

---A value as client-go's jsonpath prints it (Go's fmt.Fprint): strings as they are, lists as
---"[a b]", objects as "map[k:v]", null as "<no value>".
function M.text(v)
  if v == nil or v == null then return "<no value>" end
  return go_text(v)
end

return M
