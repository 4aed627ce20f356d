-- SPDX-License-Identifier: Apache-2.0
-- Field ownership in the sandbox API: metadata.managedFields (FieldsV1 sets per manager and
-- operation) kept up to date on every write, and server-side apply on top of it: the applied
-- configuration merged into the live object (lists by their merge key), fields a manager stops
-- applying removed, and conflicts with other managers refused (409) unless forced.
-- Uses kip.json, kip.sandbox.patch, kip.sandbox.status and kip.util.time.
local json = require "kip.json"
local patch = require "kip.sandbox.patch"
local status = require "kip.sandbox.status"
local tables = require "kip.util.tables"
local time = require "kip.util.time"
local yaml = require "kip.yaml"

local M = {}

local SEP = "\1"
local null = yaml.null

-- metadata fields the server owns, never part of a field set
local server_fields = { name = true, namespace = true, uid = true, resourceVersion = true, generation = true,
  creationTimestamp = true, managedFields = true, deletionTimestamp = true, deletionGracePeriodSeconds = true,
  selfLink = true }

local set_fields = { finalizers = true }

local function key_token(key, value)
  return "k:" .. assert(json.encode({ [key] = value }))
end

-- Adds the leaf paths of v (under prefix) to out.
local function collect(v, prefix, field, out)
  if type(v) ~= "table" then
    out[prefix] = true
    return
  end
  if yaml.is_array(v) or (#v > 0 and next(v, #v) == nil) then
    local key = patch.merge_key(field, v)
    if set_fields[field] then
      for _, x in ipairs(v) do out[prefix .. SEP .. "v:" .. assert(json.encode(x))] = true end
      if #v == 0 then out[prefix] = true end
      return
    end
    if not key then
      out[prefix] = true -- an atomic list is one field
      return
    end
    for _, e in ipairs(v) do
      if type(e) == "table" and e[key] ~= nil then
        local p = prefix .. SEP .. key_token(key, e[key])
        out[p .. SEP .. "."] = true
        for k, x in pairs(e) do collect(x, p .. SEP .. "f:" .. k, k, out) end
      end
    end
    if #v == 0 then out[prefix] = true end
    return
  end
  if next(v) == nil then
    out[prefix] = true
    return
  end
  for k, x in pairs(v) do
    if type(k) == "string" then collect(x, prefix .. SEP .. "f:" .. k, k, out) end
  end
end

---The set of field paths an object (or an applied configuration) sets.
---@param obj table
---@param part "main"|"status"
---@return table<string, true>
function M.fields(obj, part)
  local out = {}
  for k, v in pairs(obj) do
    if k == "status" then
      if part == "status" then collect(v, "f:status", k, out) end
    elseif part ~= "status" and k ~= "apiVersion" and k ~= "kind" then -- identity is owned by nobody
      if k == "metadata" and type(v) == "table" then
        for mk, mv in pairs(v) do
          if not server_fields[mk] and mv ~= null then collect(mv, "f:metadata" .. SEP .. "f:" .. mk, mk, out) end
        end
      elseif v ~= null then
        collect(v, "f:" .. k, k, out)
      end
    end
  end
  return out
end

-- FieldsV1 (nested) from a path set, and back.
local function to_fieldsv1(set)
  local root = {}
  for path in pairs(set) do
    local node = root
    for tok in (path .. SEP):gmatch("(.-)" .. SEP) do
      node[tok] = node[tok] or {}
      node = node[tok]
    end
  end
  return root
end

local function from_fieldsv1(v1, prefix, out)
  local leaf = true
  for k, child in pairs(v1 or {}) do
    leaf = false
    local p = prefix and (prefix .. SEP .. k) or k
    if type(child) == "table" and next(child) ~= nil then
      from_fieldsv1(child, p, out)
    else
      out[p] = true
    end
  end
  if leaf and prefix then out[prefix] = true end
  return out
end

-- The value an object holds at a path, and whether the path exists.
local function lookup(obj, path)
  local v = obj
  for tok in (path .. SEP):gmatch("(.-)" .. SEP) do
    if tok == "." then return v, v ~= nil end
    if type(v) ~= "table" then return nil, false end
    local kind, rest = tok:sub(1, 2), tok:sub(3)
    if kind == "f:" then
      v = v[rest]
    elseif kind == "k:" then
      local want = json.decode(rest)
      local k, val = next(want)
      local found
      for _, e in ipairs(v) do
        if type(e) == "table" and e[k] == val then found = e break end
      end
      v = found
    elseif kind == "v:" then
      local want = json.decode(rest)
      local found = false
      for _, e in ipairs(v) do found = found or tables.equal(e, want) end
      return want, found
    end
  end
  return v, v ~= nil
end

-- Removes the field at path from obj (in place).
local function remove(obj, path)
  local toks = {}
  for tok in (path .. SEP):gmatch("(.-)" .. SEP) do toks[#toks + 1] = tok end
  if toks[#toks] == "." then toks[#toks] = nil end
  local parent = obj
  for i = 1, #toks - 1 do
    local tok = toks[i]
    if type(parent) ~= "table" then return end
    if tok:sub(1, 2) == "f:" then
      parent = parent[tok:sub(3)]
    else
      local k, val = next(json.decode(tok:sub(3)))
      local found
      for _, e in ipairs(parent) do if type(e) == "table" and e[k] == val then found = e break end end
      parent = found
    end
  end
  local last = toks[#toks]
  if type(parent) ~= "table" or not last then return end
  local kind, rest = last:sub(1, 2), last:sub(3)
  if kind == "f:" then
    parent[rest] = nil
  else
    local want = json.decode(rest)
    for i, e in ipairs(parent) do
      local hit = kind == "v:" and tables.equal(e, want)
      if kind == "k:" then
        local k, val = next(want)
        hit = type(e) == "table" and e[k] == val
      end
      if hit then table.remove(parent, i) break end
    end
  end
end

local function entries_of(obj)
  local out = {}
  for _, e in ipairs((obj and obj.metadata and obj.metadata.managedFields) or {}) do
    out[#out + 1] = { manager = e.manager, operation = e.operation, apiVersion = e.apiVersion,
      time = e.time, subresource = e.subresource, set = from_fieldsv1(e.fieldsV1, nil, {}) }
  end
  return out
end

local function write_entries(obj, entries)
  local list = yaml.array({})
  for _, e in ipairs(entries) do
    if next(e.set) ~= nil then
      list[#list + 1] = { manager = e.manager, operation = e.operation, apiVersion = e.apiVersion,
        time = e.time, fieldsType = "FieldsV1", fieldsV1 = to_fieldsv1(e.set), subresource = e.subresource }
    end
  end
  obj.metadata.managedFields = #list > 0 and list or nil
end

local function find_entry(entries, manager, operation, subresource)
  for _, e in ipairs(entries) do
    if e.manager == manager and e.operation == operation and e.subresource == subresource then return e end
  end
end

---Updates new.metadata.managedFields after a write by `manager`. For Update, the manager takes
---the fields whose values it changed (others lose them); for Apply, its set becomes the
---applied configuration's fields. `steal` lists paths taken from other managers (forced apply).
function M.record(new, old, manager, operation, applied, subresource, steal)
  local part = subresource == "status" and "status" or "main"
  local entries = entries_of(old)
  local now = time.format_rfc3339()
  local taken = {}
  if operation == "Apply" then
    taken = M.fields(applied, part)
    for p in pairs(steal or {}) do taken[p] = true end
  else
    local before = old and M.fields(old, part) or {}
    for p in pairs(M.fields(new, part)) do
      local nv = lookup(new, p)
      local ov, existed = nil, before[p]
      if existed then ov = lookup(old, p) end
      if not existed or not tables.equal(nv, ov) then taken[p] = true end
    end
  end
  local present = M.fields(new, part)
  for _, e in ipairs(entries) do
    for p in pairs(e.set) do
      local gone = not present[p] and (e.subresource == "status") == (part == "status")
      local lost = e.manager ~= manager and taken[p] and (operation ~= "Apply" or (steal and steal[p]))
      if gone or lost then e.set[p] = nil end
    end
  end
  local mine = find_entry(entries, manager, operation, subresource)
  if not mine then
    mine = { manager = manager, operation = operation, apiVersion = new.apiVersion, subresource = subresource, set = {} }
    entries[#entries + 1] = mine
  end
  if operation == "Apply" then mine.set = {} end
  for p in pairs(taken) do mine.set[p] = true end
  mine.time = now
  write_entries(new, entries)
end

local function merge_apply(live, cfg, field)
  if type(cfg) ~= "table" then return tables.copy(cfg) end
  if yaml.is_array(cfg) or (#cfg > 0) then
    return patch.strategic({ [field or "x"] = live }, { [field or "x"] = yaml.array(tables.copy(cfg)) })[field or "x"]
  end
  local out = type(live) == "table" and not yaml.is_array(live) and tables.copy(live) or {}
  for k, v in pairs(cfg) do
    if v == null then out[k] = nil else out[k] = merge_apply(out[k], v, k) end
  end
  return out
end

-- ".spec.template.spec.containers[name=\"api\"].image", as kube-apiserver writes field paths
local function describe(path)
  local out = {}
  for tok in (path .. SEP):gmatch("(.-)" .. SEP) do
    local kind, rest = tok:sub(1, 2), tok:sub(3)
    if kind == "f:" then
      out[#out + 1] = "." .. rest
    elseif kind == "k:" then
      local parts = {}
      for k, v in pairs(json.decode(rest) or {}) do parts[#parts + 1] = string.format("%s=%s", k, json.encode(v)) end
      table.sort(parts)
      out[#out + 1] = "[" .. table.concat(parts, ",") .. "]"
    elseif kind == "v:" then
      out[#out + 1] = "[" .. rest .. "]"
    end
  end
  return table.concat(out)
end

---Server-side apply of configuration cfg by opts.manager.
---@param opts {manager: string, force?: boolean, dry_run?: boolean}
function M.apply(api, def, ns, name, cfg, opts)
  if type(cfg) ~= "table" or yaml.is_array(cfg) then status.bad_request("the applied configuration must be an object") end
  if cfg.apiVersion ~= def.api_version or cfg.kind ~= def.kind then
    status.bad_request(string.format("the applied configuration must have apiVersion %s and kind %s", def.api_version, def.kind))
  end
  cfg.metadata = type(cfg.metadata) == "table" and cfg.metadata or {}
  if cfg.metadata.name ~= nil and cfg.metadata.name ~= name then
    status.bad_request("the name in the configuration does not match the name on the URL")
  end
  cfg.metadata.name = name
  local live = api.store:get(def, ns, name)
  if not live then
    local obj = tables.copy(cfg)
    return api:create(def, ns, obj, { manager = opts.manager, operation = "Apply", applied = cfg, dry_run = opts.dry_run })
  end
  local applied = M.fields(cfg, "main")
  local entries = entries_of(live)
  local conflicts, steal = {}, {}
  for _, e in ipairs(entries) do
    if e.manager ~= opts.manager and e.subresource ~= "status" then
      for p in pairs(e.set) do
        if applied[p] and p:sub(-2) ~= SEP .. "." then -- "." only says an element exists
          local lv = lookup(live, p)
          local cv = lookup(cfg, p)
          if not tables.equal(lv, cv) then
            conflicts[#conflicts + 1] = { manager = e.manager, field = describe(p) }
            steal[p] = true
          end
        end
      end
    end
  end
  if #conflicts > 0 and not opts.force then
    table.sort(conflicts, function(a, b) return a.field < b.field end)
    local causes, lines = {}, {}
    for _, c in ipairs(conflicts) do
      causes[#causes + 1] = { reason = "FieldManagerConflict", message = string.format("conflict with %q: %s", c.manager, c.field), field = c.field }
      lines[#lines + 1] = string.format("- %s: conflict with %q", c.field, c.manager)
    end
    status.apply_conflict(def, name,
      string.format("Apply failed with %d conflict%s: %s", #conflicts, #conflicts > 1 and "s" or "", table.concat(lines, "\n")),
      causes)
  end
  local merged = merge_apply(live, cfg)
  -- fields this manager applied before and no longer applies, and nobody else owns, go away
  local mine = find_entry(entries, opts.manager, "Apply", nil)
  if mine then
    for p in pairs(mine.set) do
      if not applied[p] then
        local shared = false
        for _, e in ipairs(entries) do
          if e ~= mine and e.set[p] then shared = true end
        end
        if not shared then remove(merged, p) end
      end
    end
  end
  merged.metadata.resourceVersion = nil
  return api:update(def, ns, name, merged, { manager = opts.manager, operation = "Apply", applied = cfg,
    steal = steal, dry_run = opts.dry_run })
end

return M
