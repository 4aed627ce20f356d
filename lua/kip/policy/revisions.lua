-- SPDX-License-Identifier: Apache-2.0
-- An App's history as ControllerRevisions NAME-N (N = 1, 2, ...), each holding what a rollback
-- restores ({image, env, port, replicas}). A new revision is made when that data differs from the
-- newest one; the newest KEEP are kept and older ones deleted. Uses kip.util.tables and kip.yaml.
local tables = require "kip.util.tables"
local yaml = require "kip.yaml"

local M = {}

M.KEEP = 10

---The observed revisions, newest first (those without a numeric revision are ignored).
---@param list table[] ControllerRevision objects
---@return table[]
function M.sorted(list)
  local out = {}
  for _, r in ipairs(list or {}) do
    if math.type(r.revision) == "integer" or (type(r.revision) == "number" and r.revision % 1 == 0) then
      out[#out + 1] = r
    end
  end
  table.sort(out, function(a, b) return a.revision > b.revision end)
  return out
end

---What to do with the revisions of an App.
---@param name string the App's name
---@param namespace string
---@param data table {image, env, port, replicas}
---@param existing table[] observed ControllerRevisions of this App
---@param labels table<string, string> labels of a new revision
---@return {number: integer, object: table|nil, delete: table[]} plan object is the new revision
---  (nil when the newest already holds data); delete lists refs of revisions beyond the newest KEEP
function M.plan(name, namespace, data, existing, labels)
  local list = M.sorted(existing)
  local newest = list[1]
  local plan = { delete = yaml.array({}) }
  if newest and tables.equal(newest.data, data) then
    plan.number = math.tointeger(newest.revision)
  else
    plan.number = math.tointeger(newest and newest.revision or 0) + 1
    plan.object = { apiVersion = "apps/v1", kind = "ControllerRevision",
      metadata = { name = name .. "-" .. plan.number, namespace = namespace, labels = labels },
      revision = plan.number, data = tables.copy(data) }
  end
  for _, r in ipairs(list) do
    if r.revision <= plan.number - M.KEEP then
      plan.delete[#plan.delete + 1] = { apiVersion = "apps/v1", kind = "ControllerRevision",
        name = r.metadata.name, namespace = namespace }
    end
  end
  return plan
end

return M
