-- SPDX-License-Identifier: Apache-2.0
-- Label selectors (a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a; comma means and) and field
-- selectors (path=value, path==value, path!=value) as the Kubernetes API parses them.
-- parse_* return a predicate over objects, or nil, message; matches() tests a LabelSelector
-- object. Pure Lua.
local tables = require "kip.util.tables"
local strings = require "kip.util.strings"

local M = {}

-- Splits on commas that are not inside parentheses.
local function split_terms(s)
  local terms, depth, start = {}, 0, 1
  for i = 1, #s do
    local c = s:sub(i, i)
    if c == "(" then depth = depth + 1
    elseif c == ")" then depth = depth - 1
    elseif c == "," and depth == 0 then
      terms[#terms + 1] = s:sub(start, i - 1)
      start = i + 1
    end
  end
  terms[#terms + 1] = s:sub(start)
  return terms
end

local function parse_set(s)
  local inner = s:match("^%s*%((.*)%)%s*$")
  if not inner then return nil end
  local set = {}
  for _, v in ipairs(strings.split(inner, ",")) do set[strings.trim(v)] = true end
  return set
end

local KEY = "[%w%._/%-]+"

---@param text string|nil e.g. "app=api,tier in (web,api),!canary"
---@return (fun(labels: table|nil): boolean)|nil match
---@return string|nil message
function M.parse_labels(text)
  local tests = {}
  if text and strings.trim(text) ~= "" then
    for _, raw in ipairs(split_terms(text)) do
      local term = strings.trim(raw)
      local key, op, rest
      key, rest = term:match("^(" .. KEY .. ")%s+notin%s+(.+)$")
      if key then op = "notin" else
        key, rest = term:match("^(" .. KEY .. ")%s+in%s+(.+)$")
        if key then op = "in" end
      end
      if not op then
        key, op, rest = term:match("^(" .. KEY .. ")%s*([!=]=?)%s*(.*)$")
        if op == "!" then return nil, "invalid label selector term " .. string.format("%q", term) end
      end
      if not op then
        key = term:match("^!%s*(" .. KEY .. ")$")
        if key then op = "absent" else
          key = term:match("^(" .. KEY .. ")$")
          if key then op = "exists" end
        end
      end
      if not op or not key then
        return nil, string.format("unable to parse requirement: %q", term)
      end
      local set
      if op == "in" or op == "notin" then
        set = parse_set(rest)
        if not set then return nil, string.format("unable to parse requirement: %q: values must be in parentheses", term) end
      end
      if op == "=" or op == "==" or op == "!=" then rest = strings.trim(rest) end
      tests[#tests + 1] = function(labels)
        local v = labels[key]
        if op == "=" or op == "==" then return v == rest end
        if op == "!=" then return v ~= rest end
        if op == "in" then return v ~= nil and set[v] == true end
        if op == "notin" then return v == nil or not set[v] end
        if op == "exists" then return v ~= nil end
        return v == nil
      end
    end
  end
  return function(labels)
    labels = type(labels) == "table" and labels or {}
    for _, t in ipairs(tests) do
      if not t(labels) then return false end
    end
    return true
  end
end

---@param text string|nil e.g. "metadata.name=api,status.phase!=Running"
---@return (fun(obj: table): boolean)|nil match
---@return string|nil message
function M.parse_fields(text)
  local tests = {}
  if text and strings.trim(text) ~= "" then
    for _, raw in ipairs(strings.split(text, ",")) do
      local term = strings.trim(raw)
      local path, op, value = term:match("^([%w%._%-]+)%s*(!?==?)%s*(.*)$")
      if not path then return nil, string.format("invalid field selector: %q", term) end
      tests[#tests + 1] = function(obj)
        local v = tables.get(obj, path)
        local s = v == nil and "" or tostring(v)
        if op == "!=" then return s ~= value end
        return s == value
      end
    end
  end
  return function(obj)
    for _, t in ipairs(tests) do
      if not t(obj) then return false end
    end
    return true
  end
end

---Whether labels match a LabelSelector object ({matchLabels, matchExpressions}). A missing
---selector matches nothing and an empty one everything, as in policy/v1 PodDisruptionBudgets.
---@param selector table|nil
---@param labels table|nil
function M.matches(selector, labels)
  if type(selector) ~= "table" then return false end
  labels = type(labels) == "table" and labels or {}
  for k, v in pairs(selector.matchLabels or {}) do
    if labels[k] ~= v then return false end
  end
  for _, e in ipairs(selector.matchExpressions or {}) do
    local v = labels[e.key]
    local listed = false
    for _, x in ipairs(e.values or {}) do listed = listed or x == v end
    local op = e.operator
    if op == "In" and not listed or op == "NotIn" and v ~= nil and listed
        or op == "Exists" and v == nil or op == "DoesNotExist" and v ~= nil then
      return false
    end
  end
  return true
end

---A label selector string for matchLabels ("a=b,c=d", sorted).
function M.format(labels)
  local parts = {}
  for k, v in pairs(labels or {}) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  table.sort(parts)
  return table.concat(parts, ",")
end

return M
