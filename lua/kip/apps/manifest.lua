-- SPDX-License-Identifier: Apache-2.0
-- The documents `kip apply -f` accepts: YAML (several documents) or JSON holding Kipper's
-- resources (kipper.run/v1alpha1 App, Service, Project; v1 Lists of them) and the Secrets of apps
-- (v1 Secret app-NAME-secrets). Checks each document's shape, kind, names and namespace before
-- anything is sent, and names the document and field of every problem. Uses kip.yaml,
-- kip.util.names and kip.apps.api.
local api = require "kip.apps.api"
local names = require "kip.util.names"
local yaml = require "kip.yaml"

local M = {}

-- What each accepted kind is: its short name in output, whether it is namespaced, the top-level
-- fields it may have, and whether it needs a spec.
M.KINDS = {
  [api.API_VERSION .. "/App"] = { short = "app", namespaced = true, fields = { spec = true, status = true }, spec = true },
  [api.API_VERSION .. "/Service"] = { short = "service", namespaced = true, fields = { spec = true, status = true }, spec = true },
  [api.API_VERSION .. "/Project"] = { short = "project", namespaced = false, fields = { spec = true, status = true } },
  ["v1/Secret"] = { short = "secret", namespaced = true, fields = { data = true, stringData = true, type = true, immutable = true } },
}

local COMMON = { apiVersion = true, kind = true, metadata = true }
local METADATA = { name = true, namespace = true, labels = true, annotations = true }

local function is_map(v) return type(v) == "table" and not yaml.is_array(v) end

local function string_map(v)
  if not is_map(v) then return false end
  for k, x in pairs(v) do
    if type(k) ~= "string" or type(x) ~= "string" then return false end
  end
  return true
end

---The kind entry of an object, or nil.
function M.kind_of(obj)
  return M.KINDS[tostring(obj.apiVersion) .. "/" .. tostring(obj.kind)]
end

-- Checks one object; returns a problem ("field: what") or nil.
local function check(obj)
  if not is_map(obj) then return "the document must be a mapping (an object with apiVersion, kind, metadata)" end
  if type(obj.apiVersion) ~= "string" then return "apiVersion: missing" end
  if type(obj.kind) ~= "string" then return "kind: missing" end
  local k = M.kind_of(obj)
  if not k then
    if obj.apiVersion == api.API_VERSION then
      return string.format("kind: %q is not a Kipper kind (App, Service or Project)", obj.kind)
    end
    return string.format("apiVersion/kind: %s %s is not a Kipper resource: kip apply takes kipper.run/v1alpha1 App, " ..
      "Service and Project, and v1 Secrets named app-NAME-secrets (use kubectl for other kinds)", obj.apiVersion, obj.kind)
  end
  for field in pairs(obj) do
    if not COMMON[field] and not k.fields[field] then
      return string.format("%s: unknown field for %s", tostring(field), obj.kind)
    end
  end
  local md = obj.metadata
  if not is_map(md) then return "metadata: missing (it needs at least a name)" end
  for field in pairs(md) do
    if not METADATA[field] then
      return string.format("metadata.%s: kip apply sets only name, namespace, labels and annotations", tostring(field))
    end
  end
  if obj.kind == "Secret" then
    local app = type(md.name) == "string" and md.name:match("^app%-(.+)%-secrets$")
    if not app then
      return string.format("metadata.name: %q is not an app's Secret: kip apply takes only Secrets named app-NAME-secrets",
        tostring(md.name))
    end
    local ok, why = names.check_label("app", app)
    if not ok then return "metadata.name: " .. why end
    for _, f in ipairs({ "data", "stringData" }) do
      if obj[f] ~= nil and not string_map(obj[f]) then return f .. ": must map names to strings" end
    end
    if obj.type ~= nil and obj.type ~= "Opaque" then return string.format("type: an app's Secret is Opaque, not %q", tostring(obj.type)) end
  else
    local ok, why = names.check_label(k.short, md.name)
    if not ok then return "metadata.name: " .. why end
    if k.spec and not is_map(obj.spec) then return "spec: missing (an " .. obj.kind .. " needs one)" end
    if obj.spec ~= nil and not is_map(obj.spec) then return "spec: must be a mapping" end
  end
  if md.namespace ~= nil then
    if not k.namespaced then return "metadata.namespace: a " .. obj.kind .. " is cluster-wide and has no namespace" end
    local ok, why = names.check_label("namespace", md.namespace)
    if not ok then return "metadata.namespace: " .. why end
  end
  for _, f in ipairs({ "labels", "annotations" }) do
    if md[f] ~= nil and not string_map(md[f]) then return "metadata." .. f .. ": must map names to strings" end
  end
end

---Parses and checks the text of a file.
---@param text string YAML or JSON, one or more documents
---@param source string the file name for messages ("-" for standard input)
---@return {object: table, index: integer, where: string, kind: table}[]|nil entries in file order: the
---  object, its document's number (from 1), "document 2" (or "document 2, item 1" in a List), its M.KINDS entry
---@return string|nil problems one line per problem, naming the file, document, object and field
function M.parse(text, source)
  local docs, err = yaml.decode_all(text)
  if not docs then return nil, string.format("%s: %s", source, err) end
  local objects, problems = {}, {}
  for i, doc in ipairs(docs) do
    local items, is_list = { doc }, false
    if is_map(doc) and doc.apiVersion == "v1" and doc.kind == "List" then
      items, is_list = type(doc.items) == "table" and doc.items or {}, true
    end
    for j, obj in ipairs(items) do
      local where = is_list and string.format("document %d, item %d", i, j) or string.format("document %d", i)
      local problem = check(obj)
      if problem then
        local what = is_map(obj) and is_map(obj.metadata) and type(obj.metadata.name) == "string"
          and string.format(" (%s %s)", tostring(obj.kind), obj.metadata.name) or ""
        problems[#problems + 1] = string.format("%s: %s%s: %s", source, where, what, problem)
      else
        obj.status = nil
        objects[#objects + 1] = { object = obj, index = i, where = where, kind = M.kind_of(obj) }
      end
    end
  end
  if #problems > 0 then return nil, table.concat(problems, "\n") end
  if #objects == 0 then return nil, source .. ": no documents" end
  return objects
end

---"app/web", as output names objects.
function M.ref(entry)
  return entry.kind.short .. "/" .. entry.object.metadata.name
end

return M
