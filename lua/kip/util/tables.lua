-- SPDX-License-Identifier: Apache-2.0
-- Table helpers for plain data (decoded YAML/JSON): deep copy keeping sequence marks, deep
-- equality, and reading a dotted path. Uses kip.yaml's sequence mark.
local yaml = require "kip.yaml"

local M = {}

---A deep copy; sequences keep their mark, other metatables are dropped.
---@generic T
---@param v T
---@return T
function M.copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = M.copy(x) end
  if yaml.is_array(v) then yaml.array(out) end
  return out
end

---Deep equality of plain data (an empty sequence equals an empty mapping).
function M.equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not M.equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

---The value at a dotted path ("metadata.labels"), or nil.
---@param v table
---@param path string|string[]
function M.get(v, path)
  local parts = path
  if type(path) == "string" then
    parts = {}
    for p in path:gmatch("[^.]+") do parts[#parts + 1] = p end
  end
  for _, p in ipairs(parts) do
    if type(v) ~= "table" then return nil end
    v = v[p]
  end
  return v
end

---Sets the value at a path of keys, creating mappings on the way.
function M.set(v, parts, value)
  for i = 1, #parts - 1 do
    local next_v = v[parts[i]]
    if type(next_v) ~= "table" then
      next_v = {}
      v[parts[i]] = next_v
    end
    v = next_v
  end
  v[parts[#parts]] = value
end

return M
