-- SPDX-License-Identifier: Apache-2.0
-- Validation of objects written to the sandbox API: the official v1.34 JSON schemas for
-- built-in kinds (schemas/), the openAPIV3Schema of a CustomResourceDefinition for custom
-- resources, and ObjectMeta rules (names, labels). Violations raise an Invalid (422) Status
-- naming each field; unknown fields are pruned, or refused with fieldValidation=Strict.
-- Uses kip.fs, kip.host, kip.json and kip.sandbox.status.
local fs = require "kip.fs"
local host = require "kip.host"
local json = require "kip.json"
local status = require "kip.sandbox.status"
local yaml = require "kip.yaml"

local M = {}

local null = yaml.null
local cache = {}

---The decoded schema of a built-in kind, or nil.
function M.schema(name)
  if cache[name] == nil then
    local text = fs.read(host.data_dir() .. "/lua/kip/sandbox/schemas/" .. name .. ".json")
    cache[name] = text and assert(json.decode(text)) or false
  end
  return cache[name] or nil
end

local function types_of(schema)
  local t = schema.type
  if t == nil then return nil end
  if type(t) == "string" then return { [t] = true } end
  local set = {}
  for _, x in ipairs(t) do set[x] = true end
  return set
end

local function type_name(v)
  local t = type(v)
  if t == "table" then
    if yaml.is_array(v) or (#v > 0 and next(v, #v) == nil) then return "array" end
    return next(v) == nil and "empty" or "object"
  end
  if t == "number" then return math.type(v) == "integer" and "integer" or "number" end
  return t
end

local function fits(types, v)
  local tn = type_name(v)
  if tn == "empty" then return types.object or types.array end
  if tn == "integer" then return types.integer or types.number end
  if tn == "number" then return types.number or (types.integer and v == math.floor(v)) end
  return types[tn]
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return type_name(v) end
  return tostring(v)
end

local function join(path, key)
  if type(key) == "number" then return string.format("%s[%d]", path, key - 1) end
  return path == "" and key or (path .. "." .. key)
end

local walk

local function one_of(schema, v, path, ctx)
  for _, branch in ipairs(schema.oneOf) do
    local probe = { causes = {}, unknown = {}, prune = false }
    walk(branch, v, path, probe)
    if #probe.causes == 0 then return end
  end
  ctx.causes[#ctx.causes + 1] = { field = path, reason = "FieldValueTypeInvalid",
    message = string.format("Invalid value: %s: %s in body must be of one of the allowed types", show(v), path) }
end

-- Checks v against schema, collecting causes and unknown fields in ctx (pruning them from v).
function walk(schema, v, path, ctx)
  if v == nil or v == null or type(schema) ~= "table" then return end
  if schema.oneOf then return one_of(schema, v, path, ctx) end
  local types = types_of(schema)
  if types and not fits(types, v) then
    local want = {}
    for t in pairs(types) do if t ~= "null" then want[#want + 1] = t end end
    table.sort(want)
    ctx.causes[#ctx.causes + 1] = { field = path, reason = "FieldValueTypeInvalid",
      message = string.format("Invalid value: %s: %s in body must be of type %s: %s", show(v), path, table.concat(want, ", "), show(type_name(v))) }
    return
  end
  if schema.enum then
    local ok = false
    for _, e in ipairs(schema.enum) do ok = ok or e == v end
    if not ok then
      local allowed = {}
      for _, e in ipairs(schema.enum) do if e ~= null then allowed[#allowed + 1] = show(e) end end
      ctx.causes[#ctx.causes + 1] = { field = path, reason = "FieldValueNotSupported",
        message = string.format("Unsupported value: %s: supported values: %s", show(v), table.concat(allowed, ", ")) }
    end
  end
  local tn = type_name(v)
  if tn == "integer" and schema.format == "int32" and (v > 2147483647 or v < -2147483648) then
    ctx.causes[#ctx.causes + 1] = { field = path, reason = "FieldValueInvalid",
      message = string.format("Invalid value: %d: must fit in 32 bits", v) }
  end
  if (tn == "integer" or tn == "number") then
    if schema.minimum and v < schema.minimum then
      ctx.causes[#ctx.causes + 1] = { field = path, message = string.format("Invalid value: %s: should be greater than or equal to %s", show(v), show(schema.minimum)) }
    end
    if schema.maximum and v > schema.maximum then
      ctx.causes[#ctx.causes + 1] = { field = path, message = string.format("Invalid value: %s: should be less than or equal to %s", show(v), show(schema.maximum)) }
    end
  end
  if tn == "string" then
    if schema.maxLength and utf8.len(v) and utf8.len(v) > schema.maxLength then
      ctx.causes[#ctx.causes + 1] = { field = path, reason = "FieldValueTooLong",
        message = string.format("Too long: may not be longer than %d", schema.maxLength) }
    end
    if schema.minLength and #v < schema.minLength then
      ctx.causes[#ctx.causes + 1] = { field = path, message = string.format("Invalid value: %s: should be at least %d chars long", show(v), schema.minLength) }
    end
  end
  if tn == "array" and schema.items then
    for i, item in ipairs(v) do walk(schema.items, item, join(path, i), ctx) end
  end
  if (tn == "object" or tn == "empty") and type(v) == "table" then
    for _, r in ipairs(schema.required or {}) do
      if v[r] == nil or v[r] == null then
        ctx.causes[#ctx.causes + 1] = { field = join(path, r), reason = "FieldValueRequired", message = "Required value" }
      end
    end
    local props = schema.properties
    local extra = schema.additionalProperties
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      local sub = props and props[k]
      if sub then
        walk(sub, v[k], join(path, k), ctx)
      elseif type(extra) == "table" then
        walk(extra, v[k], join(path, k), ctx)
      elseif props and extra ~= true and not schema["x-kubernetes-preserve-unknown-fields"] then
        ctx.unknown[#ctx.unknown + 1] = join(path, k)
        if ctx.prune then v[k] = nil end
      end
    end
  end
end

local function label_value_ok(v)
  return #v <= 63 and v:match("^[%w][%w%-_.]*$") ~= nil and v:match("[%w]$") ~= nil
end

local function check_qualified_name(name)
  local prefix, rest = name:match("^([^/]+)/(.+)$")
  if prefix then
    if #prefix > 253 or not prefix:match("^[a-z0-9][-a-z0-9.]*$") or prefix:match("[^a-z0-9]$") then return false end
    name = rest
  end
  return #name <= 63 and name:match("^[%w]$") ~= nil or (#name <= 63 and name:match("^[%w][%w%-_.]*[%w]$") ~= nil)
end

local function check_meta(obj, ctx)
  local md = obj.metadata or {}
  for _, field in ipairs({ "labels", "annotations" }) do
    local m = md[field]
    if m ~= nil and m ~= null and type(m) == "table" then
      for k, val in pairs(m) do
        local where = "metadata." .. field
        if type(k) ~= "string" or not check_qualified_name(k) then
          ctx.causes[#ctx.causes + 1] = { field = where, message = string.format(
            "Invalid value: %s: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", show(k)) }
        elseif field == "labels" and type(val) == "string" and val ~= "" and not label_value_ok(val) then
          ctx.causes[#ctx.causes + 1] = { field = where, message = string.format(
            "Invalid value: %s: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", show(val)) }
        end
      end
    end
  end
end

local identity = { apiVersion = true, kind = true, metadata = true }

---Validates obj (in place: unknown fields are pruned) against its kind's schema.
---@param def table the resource (def.schema names a built-in schema; def.openapi is a CRD's)
---@param mode string|nil fieldValidation: "Strict" refuses unknown fields, else they are dropped
---@return string[] warnings one per unknown field dropped (mode "Warn" or unset)
function M.check(api, def, obj, mode)
  local schema = def.openapi or (def.schema and M.schema(def.schema))
  local ctx = { causes = {}, unknown = {}, prune = mode ~= "Strict" }
  check_meta(obj, ctx)
  if def.kind == "CustomResourceDefinition" and def.group == "apiextensions.k8s.io" then
    require("kip.sandbox.crds").check(api, obj)
  end
  if schema then
    local body = obj
    if def.openapi then
      -- a CRD's schema need not describe apiVersion, kind and ObjectMeta: check everything else
      body = {}
      for k, v in pairs(obj) do if not identity[k] then body[k] = v end end
    end
    walk(schema, body, "", ctx)
    if def.openapi then
      for k in pairs(obj) do if not identity[k] and body[k] == nil then obj[k] = nil end end
    end
  end
  if #ctx.causes > 0 then status.invalid(def, obj.metadata and obj.metadata.name, ctx.causes) end
  if #ctx.unknown > 0 and mode == "Strict" then
    local parts = {}
    for _, u in ipairs(ctx.unknown) do parts[#parts + 1] = string.format("unknown field %q", u) end
    status.bad_request("strict decoding error: " .. table.concat(parts, ", "))
  end
  local warnings = {}
  for _, u in ipairs(ctx.unknown) do warnings[#warnings + 1] = string.format("unknown field %q", u) end
  return warnings
end

return M
