---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.json"` (core/src/bind/l_json.c over core/src/sys/json.c).
-- Never loaded; for editors and docs.

---@class kip.json
---@field null lightuserdata the null value (the same as cjson.null and kip.yaml.null)
---@field array_mt table the metatable that marks arrays (the same table as kip.yaml.array_mt)
local json = {}

---Decodes JSON text (RFC 8259, strict). Objects become plain tables, arrays tables carrying
---`array_mt`; integers that fit in 64 bits become Lua integers, other numbers floats; null is
---`json.null`. Duplicate keys: the last wins. Nesting is limited to 512 levels.
---@param text string
---@return any value
---@return string? message "line L, column C: what" or "byte N: invalid UTF-8"
---@return string? code "invalid" ("nomem" when memory runs out)
function json.decode(text) end

---Encodes a value as JSON. Tables carrying `array_mt`, and non-empty tables whose keys are exactly
---1..n, are arrays; every other table is an object (keys sorted bytewise unless sort = false).
---@param value any
---@param opts? {indent?: integer, sort?: boolean} indent: 0-16 spaces per level for pretty output (default compact); sort: default true
---@return string|nil text
---@return string? message "path.to[1].value: what" (cycles, functions, NaN, invalid UTF-8)
---@return string? code "invalid" ("nomem" when memory runs out)
function json.encode(value, opts) end

---Marks t (or a new table) as an array, so an empty one encodes as [].
---@param t? table
---@return table t
function json.array(t) end

---@param v any
---@return boolean marked whether v carries the array mark
function json.is_array(v) end

return json
