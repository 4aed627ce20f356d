---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.yaml"` (core/src/bind/l_yaml.c). Never loaded; for editors and docs.

---@class kip.yaml
---@field null lightuserdata the null value (the same as cjson.null)
---@field array_mt table the metatable that marks decoded sequences
---@field _LIBRARY string "libyaml X.Y.Z"
local yaml = {}

---Decodes one YAML document. Plain scalars are typed as Kubernetes YAML types them (YAML 1.1:
---yes/no/on/off are booleans, 0755 is octal, 1_000 is 1000); quoted and block scalars are
---strings. Sequences carry `array_mt`. Anchors, aliases and merge keys (`<<`) are supported.
---@param text string
---@return any value nothing at all for an empty text
---@return string? message "line L, column C: what" on error
---@return string? code "invalid"
function yaml.decode(text) end

---Decodes every document of a stream; empty and null documents are skipped.
---@param text string
---@return any[]|nil documents
---@return string? message
---@return string? code
function yaml.decode_all(text) end

---Encodes a value as YAML with sorted keys. Strings that would read back as another type are
---quoted; multi-line strings use literal blocks.
---@param value any
---@return string|nil text
---@return string? message "path.to[1].value: what" (cycles, functions, invalid UTF-8)
---@return string? code "invalid"
function yaml.encode(value) end

---Encodes documents as one stream, each after "---".
---@param documents any[]
---@return string|nil text
---@return string? message
---@return string? code
function yaml.encode_all(documents) end

---Marks t (or a new table) as a sequence, so an empty one encodes as [].
---@param t? table
---@return table t
function yaml.array(t) end

---@param v any
---@return boolean marked whether v carries array_mt
function yaml.is_array(v) end

return yaml
