-- SPDX-License-Identifier: Apache-2.0
-- k3s's auto-deploy folder (`kip sandbox api --manifests-dir DIR`), as k3s's deploy controller
-- handles /var/lib/rancher/k3s/server/manifests: every round, each *.yaml, *.yml and *.json file
-- (not hidden, not disabled by a NAME.skip file) whose sha256 differs from its Addon's
-- spec.checksum is applied object by object (server-side apply, field manager deploy@NODE,
-- through the API's write path); the Addon (kube-system, named after the file) gets the checksum
-- once every object went in. Objects that fail (a kind not served yet, ...) are retried each round;
-- objects dropped from a file, or whose Addon is deleted, are deleted; a removed file leaves its
-- objects. Uses kip.fs, kip.yaml, kip.json, kip.tls and kip.sandbox.managed.
local fs = require "kip.fs"
local json = require "kip.json"
local managed = require "kip.sandbox.managed"
local tables = require "kip.util.tables"
local tabular = require "kip.sandbox.tables"
local tls = require "kip.tls"
local yaml = require "kip.yaml"

local M = {}

local NS = "kube-system"
local OWNER_GVK = "k3s.cattle.io/v1, Kind=Addon"

local Deployer = {}
Deployer.__index = Deployer

---@param opts {dir: string, node_name: string}
function M.new(api, opts)
  local d = setmetatable({ api = api, dir = opts.dir:gsub("/+$", ""), manager = "deploy@" .. opts.node_name,
    node_name = opts.node_name, errors = {}, applying = {}, prune = {} }, Deployer)
  fs.mkdir(d.dir) -- k3s makes its folder too; a failure shows on the first round
  api:on_change(function(_, def, obj, event)
    if event == "DELETED" and def.group == "k3s.cattle.io" and def.kind == "Addon" and obj.metadata.namespace == NS then
      d.prune[obj.metadata.name] = true -- its objects go on the next round (not inside this write)
    end
  end)
  return d
end

local function addon_def(api) return api.registry:get("k3s.cattle.io", "v1", "addons") end

-- An Event about the Addon, as k3s's recorder writes them.
local function event(self, addon, kind, reason, message)
  local def = self.api.registry:get("", "v1", "events")
  local t = tabular.now()
  pcall(self.api.create, self.api, def, NS, {
    metadata = { generateName = addon.metadata.name .. "." },
    involvedObject = { apiVersion = addon.apiVersion, kind = "Addon", name = addon.metadata.name, namespace = NS,
      uid = addon.metadata.uid, resourceVersion = addon.metadata.resourceVersion },
    type = kind, reason = reason, message = message, count = 1, firstTimestamp = t, lastTimestamp = t,
    source = { component = "deploy", host = self.node_name }, reportingComponent = "deploy", reportingInstance = self.node_name,
  }, { manager = self.manager })
end

-- Logs (with -v) and records an Event when a file's outcome changes.
local function report(self, name, addon, message)
  if self.errors[name] == message then return end
  self.errors[name] = message
  if message then
    self.api.log(string.format("sandbox: deploy: %s/%s: %s (retrying every round)", self.dir, name, message))
    if addon then event(self, addon, "Warning", "ApplyManifestFailed", message) end
  elseif addon then
    self.api.log(string.format("sandbox: deploy: %s/%s: applied", self.dir, name))
  end
end

-- The objects of a file: every YAML document (or the JSON value), Lists expanded.
local function objects_of(text, name)
  local docs, err
  if name:match("%.json$") then
    local v
    v, err = json.decode(text)
    docs = v ~= nil and { v } or nil
  else
    docs, err = yaml.decode_all(text)
  end
  if not docs then return nil, "cannot parse: " .. tostring(err) end
  local out = {}
  local function add(v)
    if type(v) ~= "table" or yaml.is_array(v) then return "a document is not an object" end
    if type(v.kind) == "string" and v.kind:match("List$") and type(v.items) == "table" then
      for _, item in ipairs(v.items) do
        local e = add(item)
        if e then return e end
      end
      return nil
    end
    if type(v.apiVersion) ~= "string" or type(v.kind) ~= "string" then return "an object has no apiVersion or kind" end
    if type(v.metadata) ~= "table" or type(v.metadata.name) ~= "string" or v.metadata.name == "" then
      return string.format("a %s has no metadata.name", v.kind)
    end
    out[#out + 1] = v
  end
  for _, doc in ipairs(docs) do
    local e = doc ~= yaml.null and add(doc) or nil
    if e then return nil, e end
  end
  return out
end

local function key_of(def, ns, name) return table.concat({ def.api_version, def.kind, ns or "", name }, "/") end

-- Every object applied for an Addon (the owner annotations k3s's apply sets).
local function owned(api, addon_name)
  local out = {}
  for _, def in ipairs(api.registry.list) do
    for _, obj in ipairs(api.store:list(def)) do
      local a = obj.metadata.annotations
      if a and a["objectset.rio.cattle.io/owner-gvk"] == OWNER_GVK and a["objectset.rio.cattle.io/owner-name"] == addon_name
          and a["objectset.rio.cattle.io/owner-namespace"] == NS then
        out[#out + 1] = { def = def, obj = obj }
      end
    end
  end
  return out
end

-- Deletes the Addon's objects that are not in keep (a set of key_of).
local function prune(self, addon_name, keep)
  for _, e in ipairs(owned(self.api, addon_name)) do
    local md = e.obj.metadata
    if not keep[key_of(e.def, md.namespace, md.name)] and not md.deletionTimestamp then
      pcall(self.api.delete, self.api, e.def, md.namespace, md.name, {})
    end
  end
end

-- Applies every object; returns the set of what it applied, or nil and the first error.
local function apply_all(self, addon_name, objects)
  local api = self.api
  local keep, first = {}, nil
  for _, obj in ipairs(objects) do
    local def = api.registry:by_kind(obj.apiVersion, obj.kind)
    local ok, err = pcall(function()
      if not def then
        error(string.format('no matches for kind "%s" in version "%s" (is its CRD installed?)', obj.kind, obj.apiVersion), 0)
      end
      local cfg = tables.copy(obj)
      cfg.metadata.annotations = type(cfg.metadata.annotations) == "table" and cfg.metadata.annotations or {}
      cfg.metadata.annotations["objectset.rio.cattle.io/id"] = ""
      cfg.metadata.annotations["objectset.rio.cattle.io/owner-gvk"] = OWNER_GVK
      cfg.metadata.annotations["objectset.rio.cattle.io/owner-name"] = addon_name
      cfg.metadata.annotations["objectset.rio.cattle.io/owner-namespace"] = NS
      local ns = def.namespaced and (cfg.metadata.namespace or NS) or nil
      if not def.namespaced then cfg.metadata.namespace = nil end
      managed.apply(api, def, ns, cfg.metadata.name, cfg, { manager = self.manager, force = true })
      keep[key_of(def, ns, cfg.metadata.name)] = true
    end)
    if not ok and not first then first = string.format("%s %s: %s", obj.kind, obj.metadata.name, tostring(err)) end
  end
  if first then return nil, first end
  return keep
end

-- One file: apply it if its checksum changed since its last complete apply.
local function deploy_file(self, name)
  local api = self.api
  local path = self.dir .. "/" .. name
  local addon_name = name:gsub("%.[^.]*$", "")
  local def = addon_def(api)
  if not def then return end
  local addon = api.store:get(def, NS, addon_name)
  local text, rerr = fs.read(path)
  if not text then return report(self, name, addon, "cannot read: " .. tostring(rerr)) end
  local checksum = tls.sha256_hex(text)
  if addon and (addon.spec or {}).checksum == checksum and (addon.spec or {}).source == path then
    return report(self, name, addon, nil)
  end
  -- the Addon first, so failures can be reported on it (as k3s does)
  if not addon then
    local ok, err = pcall(api.create, api, def, NS, { apiVersion = "k3s.cattle.io/v1", kind = "Addon",
      metadata = { name = addon_name, namespace = NS }, spec = { source = path } }, { manager = self.manager })
    if not ok then return report(self, name, nil, "cannot create its Addon: " .. tostring(err)) end
    addon = api.store:get(def, NS, addon_name)
  end
  if self.applying[name] ~= checksum then
    self.applying[name] = checksum
    event(self, addon, "Normal", "ApplyingManifest", string.format("Applying manifest at %q", path))
  end
  local objects, perr = objects_of(text, name)
  if not objects then return report(self, name, addon, perr) end
  local keep, aerr = apply_all(self, addon_name, objects)
  if not keep then return report(self, name, addon, aerr) end
  prune(self, addon_name, keep)
  local new = tables.copy(api.store:get(def, NS, addon_name))
  new.spec = { source = path, checksum = checksum }
  addon = api:update(def, NS, addon_name, new, { manager = self.manager })
  event(self, addon, "Normal", "AppliedManifest", string.format("Applied manifest at %q", path))
  report(self, name, addon, nil)
end

local DEPLOYABLE = { yaml = true, yml = true, json = true }

---One round over the folder.
function Deployer:scan()
  for name in pairs(self.prune) do
    self.prune[name] = nil
    -- unless the folder's file brought it back meanwhile, its objects go (as k3s removes an Addon's)
    if not self.api.store:get(addon_def(self.api), NS, name) then prune(self, name, {}) end
  end
  local names, err = fs.list(self.dir)
  if not names then
    if self.list_error ~= err then self.api.log("sandbox: deploy: " .. tostring(err)) end
    self.list_error = err
    return
  end
  self.list_error = nil
  local present = {}
  for _, n in ipairs(names) do present[n] = true end
  for _, name in ipairs(names) do
    local ext = name:match("%.([^.]+)$")
    if not name:match("^%.") and ext and DEPLOYABLE[ext:lower()] and not present[name .. ".skip"] then
      local st = fs.stat(self.dir .. "/" .. name)
      if st and st.type == "file" then deploy_file(self, name) end
    end
  end
  for name in pairs(self.errors) do
    if not present[name] then self.errors[name], self.applying[name] = nil, nil end
  end
end

return M
