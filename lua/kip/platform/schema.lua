-- SPDX-License-Identifier: Apache-2.0
-- Constructors for the structural OpenAPI v3 schemas of Kipper's CustomResourceDefinitions: typed
-- scalars, objects, lists, maps, Kubernetes quantities, metav1.Condition, and the `resources` block
-- App and Service share. Pure data; kip.platform.crds puts them together. Uses kip.yaml.
local yaml = require "kip.yaml"

local M = {}

-- resource.Quantity as kube-apiserver's own CRDs spell it ("500m", "1.5Gi", "2").
M.QUANTITY_PATTERN = "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$"
-- A DNS label (RFC 1123), as names of namespaces and environments must be.
M.DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

local function with(schema, description, opts)
  schema.description = description
  for k, v in pairs(opts or {}) do
    schema[k] = (k == "required" or k == "enum" or k == "x-kubernetes-list-map-keys") and yaml.array(v) or v
  end
  return schema
end

---@param description string
---@param opts? table more keywords: default, minLength, maxLength, pattern, format
function M.string(description, opts) return with({ type = "string" }, description, opts) end

---A 32-bit integer.
---@param description string
---@param opts? table default, minimum, maximum
function M.integer(description, opts) return with({ type = "integer", format = "int32" }, description, opts) end

---A 64-bit integer (generations).
function M.int64(description, opts) return with({ type = "integer", format = "int64" }, description, opts) end

function M.boolean(description, opts) return with({ type = "boolean" }, description, opts) end

---A string out of a fixed set.
---@param values string[]
function M.enum(values, description, opts)
  local s = with({ type = "string" }, description, opts)
  s.enum = yaml.array(values)
  return s
end

---An object with known fields.
---@param properties table<string, table>
---@param opts? table required (a list of field names), default, x-kubernetes-* markers
function M.object(description, properties, opts)
  return with({ type = "object", properties = properties }, description, opts)
end

---A list of items.
---@param opts? table x-kubernetes-list-type, x-kubernetes-list-map-keys, maxItems
function M.list(description, items, opts)
  return with({ type = "array", items = items }, description, opts)
end

---A map from any string key to values of one schema.
function M.map(description, values, opts)
  return with({ type = "object", additionalProperties = values }, description, opts)
end

---A quantity written as a string ("500m", "10Gi").
function M.quantity(description)
  return M.string(description, { pattern = M.QUANTITY_PATTERN })
end

---A quantity written as a number or a string (2, "500m"), as core ResourceLists take them.
function M.int_or_quantity(description)
  return with({ ["x-kubernetes-int-or-string"] = true, pattern = M.QUANTITY_PATTERN,
    anyOf = yaml.array({ { type = "integer" }, { type = "string" } }) }, description)
end

---status.observedGeneration: the spec generation the status describes.
function M.observed_generation()
  return M.int64("The metadata.generation the controller last acted on.", { minimum = 0 })
end

---status.conditions: a list of metav1.Condition, one per type.
function M.conditions()
  return M.list("The latest observations of the object's state, one per type.",
    M.object("A metav1.Condition.", {
      type = M.string("Type of condition, in CamelCase or foo.example.com/CamelCase.", { maxLength = 316,
        pattern = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$" }),
      status = M.enum({ "True", "False", "Unknown" }, "Status of the condition."),
      reason = M.string("A programmatic identifier of the reason for the last transition, in CamelCase.",
        { minLength = 1, maxLength = 1024, pattern = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$" }),
      message = M.string("A human-readable message about the transition.", { maxLength = 32768 }),
      lastTransitionTime = M.string("When the condition last changed status.", { format = "date-time" }),
      observedGeneration = M.int64("The metadata.generation the condition was set for.", { minimum = 0 }),
    }, { required = { "type", "status", "reason", "message", "lastTransitionTime" } }),
    { ["x-kubernetes-list-type"] = "map", ["x-kubernetes-list-map-keys"] = { "type" } })
end

M.PROFILES = { "lightweight", "standard", "compute-heavy", "memory-heavy", "jvm" }

---spec.resources of App and Service: a sizing profile, or explicit requests and limits.
function M.resources()
  return M.object("CPU and memory: a profile, or explicit requests and limits.", {
    profile = M.enum(M.PROFILES, "A sizing profile Kipper turns into requests and limits."),
    cpu = M.quantity("CPU request, e.g. \"250m\"."),
    memory = M.quantity("Memory request, e.g. \"256Mi\"."),
    cpuLimit = M.quantity("CPU limit, e.g. \"1\"."),
    memoryLimit = M.quantity("Memory limit, e.g. \"512Mi\"."),
  })
end

return M
