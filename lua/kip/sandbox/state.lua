-- SPDX-License-Identifier: Apache-2.0
-- The sandbox API's optional state file: every object and the resourceVersion counter as JSON,
-- written atomically (kip.fs), read back at start so a restart keeps the cluster.
local fs = require "kip.fs"
local json = require "kip.json"
local yaml = require "kip.yaml"

local M = {}

function M.save(api, path)
  local resources = {}
  for _, def in ipairs(api.registry.list) do
    local objs = api.store:list(def)
    if #objs > 0 then
      resources[#resources + 1] = { group = def.group, version = def.version, resource = def.resource, objects = yaml.array(objs) }
    end
  end
  local text, err = json.encode({ kind = "KipSandboxState", rv = api.store.rv, resources = yaml.array(resources) })
  if not text then return nil, err end
  return fs.write(path, text, { mode = "0600" })
end

---Loads the state file if it exists. CRDs come first so their resources exist when their
---objects are read.
function M.load(api, path)
  local text, err, code = fs.read(path)
  if not text then
    if code == "notfound" then return true end
    return nil, err
  end
  local doc, derr = json.decode(text)
  if not doc or doc.kind ~= "KipSandboxState" then
    return nil, string.format("%s is not a kip sandbox state file%s", path, derr and (": " .. derr) or "")
  end
  table.sort(doc.resources, function(a, b)
    local ac, bc = a.resource == "customresourcedefinitions", b.resource == "customresourcedefinitions"
    if ac ~= bc then return ac end
    return false
  end)
  for _, r in ipairs(doc.resources) do
    local def = api.registry:get(r.group, r.version, r.resource)
    if def then
      for _, obj in ipairs(r.objects) do
        api.store:put(def, obj, "ADDED")
        if api.after_load then api.after_load(def, obj) end
      end
    end
  end
  api.store.rv = math.max(api.store.rv, tonumber(doc.rv) or 0)
  -- the events before the restart are gone, as after an etcd compaction: older watches get 410
  api.store.compacted_rv = api.store.rv
  return true
end

return M
