-- SPDX-License-Identifier: Apache-2.0
-- What every object kip puts on a cluster shares: the labels that say kip manages it and it is part
-- of Kipper, object metadata built from them, the install variables a builder needs, and image
-- names moved to a mirror registry. Pure Lua; uses kip.yaml for sequences.
local yaml = require "kip.yaml"

local M = {}

M.MANAGED_BY = "app.kubernetes.io/managed-by"
M.PART_OF = "app.kubernetes.io/part-of"

---The labels on every object kip creates, plus extra ones.
---@param extra? table<string, string>
---@return table<string, string>
function M.labels(extra)
  local out = { [M.MANAGED_BY] = "kip", [M.PART_OF] = "kipper" }
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

---Object metadata with the common labels.
---@param name string
---@param opts? {namespace?: string, labels?: table<string, string>, annotations?: table<string, string>}
---@return table metadata
function M.metadata(name, opts)
  opts = opts or {}
  return { name = name, namespace = opts.namespace, labels = M.labels(opts.labels), annotations = opts.annotations }
end

---A Kubernetes object: apiVersion, kind, metadata (with the common labels) and the other fields.
---@param api_version string
---@param kind string
---@param name string
---@param opts? {namespace?: string, labels?: table<string, string>, annotations?: table<string, string>}
---@param fields? table spec, data, rules, ... copied into the object
---@return table object
function M.object(api_version, kind, name, opts, fields)
  local obj = { apiVersion = api_version, kind = kind, metadata = M.metadata(name, opts) }
  for k, v in pairs(fields or {}) do obj[k] = v end
  return obj
end

---Marks a Lua list as a sequence (so an empty one encodes as []).
M.list = yaml.array

---Appends every item of each list to out; returns out.
---@param out table
---@return table out
function M.append(out, ...)
  for _, list in ipairs({ ... }) do
    for _, item in ipairs(list) do out[#out + 1] = item end
  end
  return out
end

---Whether v is a string with something in it.
function M.nonempty(v)
  return type(v) == "string" and v ~= ""
end

---vars[key], which must be a non-empty string; raises naming the variable otherwise.
---@param vars table the recipe's variables
---@param key string
---@return string
function M.need(vars, key)
  local v = vars[key]
  if not M.nonempty(v) then error(string.format("install variable %q must be set to a non-empty string", key), 2) end
  return v
end

---A label value made from any text: characters a label refuses become '-', at most 63 long,
---starting and ending with a letter or digit ("0.3.0+git.1" -> "0.3.0-git.1").
---@param text string
---@return string
function M.label_value(text)
  local v = tostring(text):gsub("[^%w%-_.]", "-"):sub(1, 63)
  return (v:gsub("^[^%w]+", ""):gsub("[^%w]+$", ""))
end

---An image repository moved to a mirror: "quay.io/jetstack/x" with registry "mirror:5000" becomes
---"mirror:5000/jetstack/x" (the first part is dropped when it names a registry). Unchanged when
---registry is nil or empty.
---@param registry string|nil vars["images.registry"]
---@param repository string
---@return string
function M.mirror(registry, repository)
  if not M.nonempty(registry) then return repository end
  local first, rest = repository:match("^([^/]+)/(.+)$")
  if first and (first:find("[.:]") or first == "localhost") then repository = rest end
  return (registry:gsub("/+$", "")) .. "/" .. repository
end

return M
