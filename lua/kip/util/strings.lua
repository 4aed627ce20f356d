-- SPDX-License-Identifier: Apache-2.0
-- Small string helpers shared by the CLI and the libraries: split, trim, starts_with, sorted keys,
-- and quoting for a POSIX shell.
-- Pure Lua.
local M = {}

---@param s string
---@param sep string a plain (not pattern) separator
---@return string[] parts including empty ones between adjacent separators
function M.split(s, sep)
  local parts, start = {}, 1
  while true do
    local i, j = s:find(sep, start, true)
    if not i then
      parts[#parts + 1] = s:sub(start)
      return parts
    end
    parts[#parts + 1] = s:sub(start, i - 1)
    start = j + 1
  end
end

---@param s string
---@return string
function M.trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

---@param s string
---@param prefix string
---@return boolean
function M.starts_with(s, prefix)
  return s:sub(1, #prefix) == prefix
end

---@param t table
---@return string[] the string keys of t, sorted
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

---Quotes s for a POSIX shell: one word, nothing expanded.
---@param s string
---@return string
function M.shell_quote(s)
  if s:match("^[%w@%%+=:,./_-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

return M
