-- SPDX-License-Identifier: Apache-2.0
-- The patch formats of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
-- and strategic merge patch (lists merged by their merge key, $patch directives). Each returns
-- a new object and leaves its inputs alone, or nil, message. Uses kip.util.tables.
local tables = require "kip.util.tables"
local yaml = require "kip.yaml"

local M = {}

local null = yaml.null

local function is_list(v) return type(v) == "table" and yaml.is_array(v) end
local function is_map(v) return type(v) == "table" and not yaml.is_array(v) end

---RFC 7386: null deletes, mappings merge, anything else replaces.
function M.merge(target, patch)
  if not is_map(patch) then return tables.copy(patch) end
  local out = is_map(target) and tables.copy(target) or {}
  for k, v in pairs(patch) do
    if v == null then
      out[k] = nil
    else
      out[k] = M.merge(out[k], v)
    end
  end
  return out
end

-- JSON pointer (RFC 6901) into parent and final token.
local function pointer(doc, path)
  if path == "" then return nil, nil, "the root cannot be patched here" end
  if path:sub(1, 1) ~= "/" then return nil, nil, string.format("invalid JSON pointer %q", path) end
  local tokens = {}
  for tok in (path .. "/"):sub(2):gmatch("(.-)/") do
    tokens[#tokens + 1] = tok:gsub("~1", "/"):gsub("~0", "~")
  end
  local parent = doc
  for i = 1, #tokens - 1 do
    local t = tokens[i]
    if is_list(parent) then
      parent = parent[(tonumber(t) or -1) + 1]
    elseif type(parent) == "table" then
      parent = parent[t]
    else
      parent = nil
    end
    if type(parent) ~= "table" then return nil, nil, string.format("path %q does not exist", path) end
  end
  return parent, tokens[#tokens]
end

local function list_index(parent, tok, for_add)
  if tok == "-" and for_add then return #parent + 1 end
  local i = tonumber(tok)
  if not i or i ~= math.floor(i) or tok:match("^0%d") then return nil end
  i = i + 1
  local max = for_add and #parent + 1 or #parent
  if i < 1 or i > max then return nil end
  return i
end

local function get_at(doc, path)
  if path == "" then return doc end
  local parent, tok, err = pointer(doc, path)
  if not parent then return nil, err end
  if is_list(parent) then
    local i = list_index(parent, tok, false)
    if not i then return nil, string.format("path %q does not exist", path) end
    return parent[i]
  end
  if parent[tok] == nil then return nil, string.format("path %q does not exist", path) end
  return parent[tok]
end

local function remove_at(doc, path)
  local parent, tok, err = pointer(doc, path)
  if not parent then return nil, err end
  if is_list(parent) then
    local i = list_index(parent, tok, false)
    if not i then return nil, string.format("cannot remove %q: no such element", path) end
    return table.remove(parent, i)
  end
  local old = parent[tok]
  if old == nil then return nil, string.format("cannot remove %q: no such field", path) end
  parent[tok] = nil
  return old
end

local function add_at(doc, path, value, replace)
  local parent, tok, err = pointer(doc, path)
  if not parent then return nil, err end
  if is_list(parent) then
    local i = list_index(parent, tok, not replace)
    if not i then return nil, string.format("index out of range in %q", path) end
    if replace then parent[i] = value else table.insert(parent, i, value) end
  else
    if replace and parent[tok] == nil then return nil, string.format("cannot replace %q: no such field", path) end
    parent[tok] = value
  end
  return true
end

---RFC 6902.
---@param ops table[] the patch document
function M.json(target, ops)
  if not is_list(ops) and not (type(ops) == "table" and #ops > 0) then
    return nil, "a JSON patch must be a list of operations"
  end
  local doc = tables.copy(target)
  for i, op in ipairs(ops) do
    local where = string.format("operation %d (%s)", i - 1, tostring(op.op))
    local ok, err
    if op.op == "add" then
      ok, err = add_at(doc, op.path or "", tables.copy(op.value), false)
    elseif op.op == "remove" then
      ok, err = remove_at(doc, op.path or "")
    elseif op.op == "replace" then
      ok, err = add_at(doc, op.path or "", tables.copy(op.value), true)
    elseif op.op == "move" or op.op == "copy" then
      local v, gerr = get_at(doc, op.from or "")
      if v == nil then ok, err = nil, gerr else
        if op.op == "move" then remove_at(doc, op.from) end
        ok, err = add_at(doc, op.path or "", tables.copy(v), false)
      end
    elseif op.op == "test" then
      local v, gerr = get_at(doc, op.path or "")
      if v == nil and gerr then ok, err = nil, gerr
      elseif not tables.equal(v, op.value) then ok, err = nil, string.format("test of %q failed", op.path)
      else ok = true end
    else
      ok, err = nil, "unknown operation"
    end
    if not ok then return nil, where .. ": " .. err end
  end
  return doc
end

-- The field that identifies the elements of a list in a strategic merge or an apply, by the
-- list's field name (and, for "ports", by what its elements hold).
local merge_key_by_field = {
  containers = "name", initContainers = "name", ephemeralContainers = "name", env = "name",
  volumes = "name", volumeMounts = "mountPath", volumeDevices = "devicePath", imagePullSecrets = "name",
  hostAliases = "ip", conditions = "type", ownerReferences = "uid", topologySpreadConstraints = "topologyKey",
}

---@return string|nil key the merge key of list `field` holding `elements`
function M.merge_key(field, elements)
  if field == "ports" then
    local sample = type(elements) == "table" and elements[1]
    if type(sample) == "table" and sample.containerPort ~= nil then return "containerPort" end
    return "port"
  end
  return merge_key_by_field[field]
end

-- Lists of scalars merged as sets.
local set_fields = { finalizers = true }

local strategic

local function merge_list(field, live, patch)
  local key = M.merge_key(field, #patch > 0 and patch or live)
  if set_fields[field] then
    local out, seen = yaml.array({}), {}
    for _, v in ipairs(live or {}) do if not seen[v] then out[#out + 1] = v; seen[v] = true end end
    for _, v in ipairs(patch) do if not seen[v] then out[#out + 1] = v; seen[v] = true end end
    return out
  end
  if not key then return tables.copy(patch) end
  local out = yaml.array({})
  local index = {}
  for _, e in ipairs(live or {}) do
    out[#out + 1] = tables.copy(e)
    if type(e) == "table" and e[key] ~= nil then index[tostring(e[key])] = #out end
  end
  local deleted = {}
  for _, p in ipairs(patch) do
    if type(p) == "table" and p[key] ~= nil then
      local at = index[tostring(p[key])]
      if p["$patch"] == "delete" then
        if at then deleted[at] = true end
      elseif at then
        out[at] = strategic(out[at], p)
      else
        out[#out + 1] = strategic(nil, p)
        index[tostring(p[key])] = #out
      end
    end
  end
  local final = yaml.array({})
  for i, e in ipairs(out) do if not deleted[i] then final[#final + 1] = e end end
  return final
end

---Strategic merge patch: as a merge patch, but lists with a merge key are merged by it,
---finalizers as a set, and `$patch: replace|delete` directives are honoured.
function strategic(target, patch)
  if not is_map(patch) then return tables.copy(patch) end
  if patch["$patch"] == "replace" then
    local out = tables.copy(patch)
    out["$patch"] = nil
    return out
  end
  if patch["$patch"] == "delete" then return nil end
  local out = is_map(target) and tables.copy(target) or {}
  for k, v in pairs(patch) do
    -- "$..." keys are directives ($setElementOrder, $retainKeys): the sandbox keeps its own order
    local directive = k:sub(1, 1) == "$"
    if directive then
      out[k] = nil
    elseif v == null then
      out[k] = nil
    elseif is_list(v) or (type(v) == "table" and #v > 0) then
      out[k] = merge_list(k, is_list(out[k]) and out[k] or nil, v)
    else
      out[k] = strategic(out[k], v)
    end
  end
  return out
end
M.strategic = strategic

return M
