-- SPDX-License-Identifier: Apache-2.0
-- How commands show objects: `-o table` (aligned columns with upper-case headers, like kubectl),
-- `-o json` (indented, sorted keys) and `-o yaml`. Uses kip.json and kip.yaml.
local json = require "kip.json"
local yaml = require "kip.yaml"

local M = {}

M.formats = { "table", "json", "yaml" }

local function cell(v)
  if v == nil or v == json.null then return "" end
  if type(v) == "table" then
    local parts = {}
    for _, x in ipairs(v) do parts[#parts + 1] = cell(x) end
    return table.concat(parts, ",")
  end
  return tostring(v)
end

---Renders rows as aligned columns.
---@param rows table[] the objects to show
---@param columns {[1]: string, [2]: string|fun(row: table): any}[] header and field name (or getter)
---@return string text ending with a newline ("" when there are no rows)
function M.table(rows, columns)
  if #rows == 0 then return "" end
  local grid, widths = {}, {}
  local header = {}
  for i, col in ipairs(columns) do
    header[i] = col[1]
    widths[i] = #col[1]
  end
  grid[1] = header
  for r, row in ipairs(rows) do
    local line = {}
    for i, col in ipairs(columns) do
      local get = col[2]
      local v = type(get) == "function" and get(row) or row[get]
      line[i] = cell(v)
      if utf8.len(line[i]) and utf8.len(line[i]) > widths[i] then widths[i] = utf8.len(line[i]) end
    end
    grid[r + 1] = line
  end
  local out = {}
  for _, line in ipairs(grid) do
    local parts = {}
    for i, text in ipairs(line) do
      if i < #line then
        parts[i] = text .. string.rep(" ", widths[i] - (utf8.len(text) or #text) + 3)
      else
        parts[i] = text
      end
    end
    out[#out + 1] = table.concat(parts)
  end
  return table.concat(out, "\n") .. "\n"
end

---@param value any
---@return string text indented JSON with a final newline
function M.json(value)
  local text = assert(json.encode(value, { indent = 2 }))
  return text .. "\n"
end

---@param value any
---@return string text YAML
function M.yaml(value)
  return assert(yaml.encode(value))
end

---Renders value in the given format.
---@param format "table"|"json"|"yaml"
---@param value any the object, or a list of objects for table output
---@param columns table|nil the columns for table output (see M.table)
---@return string
function M.render(format, value, columns)
  if format == "json" then return M.json(value) end
  if format == "yaml" then return M.yaml(value) end
  return M.table(value, columns)
end

return M
