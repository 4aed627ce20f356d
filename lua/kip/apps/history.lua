-- SPDX-License-Identifier: Apache-2.0
-- An App's revisions: the ControllerRevisions NAME-N that kipperd's App policy keeps (owned by
-- the App; data {image, env, port, replicas}), oldest first, and the one a rollback goes back
-- to, and the spec a rollback writes. Uses kip.apps.api and kip.util.tables.
local api = require "kip.apps.api"
local tables = require "kip.util.tables"

local M = {}

local function owned_by(cr, app)
  local refs = cr.metadata.ownerReferences
  if not refs or #refs == 0 then return true end
  for _, r in ipairs(refs) do
    if r.kind == "App" and r.name == app.metadata.name and (not app.metadata.uid or r.uid == app.metadata.uid) then return true end
  end
  return false
end

---The App's revisions, oldest first.
---@param c table kip.k8s client
---@param app table the App object
---@return {revision: integer, name: string, image?: string, env: table, port?: integer, replicas?: integer, created?: string}[]
function M.list(c, app)
  local name = app.metadata.name
  local out = {}
  for _, cr in ipairs(api.list(c, "apps/v1", "ControllerRevision", { namespace = app.metadata.namespace })) do
    local n = cr.metadata.name
    local suffix = n:sub(1, #name + 1) == name .. "-" and n:sub(#name + 2) or nil
    if suffix and suffix:match("^%d+$") and owned_by(cr, app) then
      local data = type(cr.data) == "table" and cr.data or {}
      out[#out + 1] = { revision = math.tointeger(cr.revision) or tonumber(suffix), name = n, image = data.image,
        env = type(data.env) == "table" and data.env or {}, port = data.port, replicas = data.replicas,
        created = cr.metadata.creationTimestamp }
    end
  end
  table.sort(out, function(a, b) return a.revision < b.revision end)
  return out
end

---The number of variables in a revision's env.
function M.env_count(rev)
  local n = 0
  for _ in pairs(rev.env or {}) do n = n + 1 end
  return n
end

---The revision to roll back to: number `want`, or the one before the newest.
---@param revisions table[] from M.list
---@param want? integer
---@return table|nil revision
---@return string|nil why none
function M.target(revisions, want)
  if want then
    for _, r in ipairs(revisions) do if r.revision == want then return r end end
    return nil, string.format("there is no revision %d", want)
  end
  if #revisions < 2 then
    return nil, #revisions == 0 and "it has no revisions yet" or "it has only one revision"
  end
  return revisions[#revisions - 1]
end

---The spec that rolls the App back to revision want (default: the previous one): the live spec
---with that revision's image and environment; nil and why when there is none to go back to.
---@param c table kip.k8s client
---@param live table the App
---@param want? integer
---@return table|nil spec
---@return table|string revision_or_why
function M.rollback_spec(c, live, want)
  local rev, why = M.target(M.list(c, live), want)
  if not rev then return nil, why end
  if not rev.image then return nil, string.format("revision %d records no image", rev.revision) end
  local spec = tables.copy(live.spec)
  spec.image = rev.image
  spec.env = rev.env
  return spec, rev
end

return M
