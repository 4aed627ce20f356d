-- SPDX-License-Identifier: Apache-2.0
-- Projects (kipper.run/v1alpha1, cluster-scoped) as `kip project` and kipperd's console API change
-- them: create (the namespaces checked first; one that exists is a failure with HTTP status 409),
-- replace the members, delete. Uses kip.apps.{api,projectspec} and kip.cli.errors.
local api = require "kip.apps.api"
local errors = require "kip.cli.errors"
local projectspec = require "kip.apps.projectspec"

local M = {}

---Creates Project name with spec (field manager "kip").
---@param c table kip.k8s client
---@param name string
---@param spec table from projectspec.spec or projectspec.body_spec
---@param hint? string what to say when it exists already
---@return table project what the server stored
function M.create(c, name, spec, hint)
  api.check_name("project", name)
  projectspec.check_namespaces(name, spec)
  if api.get(c, api.API_VERSION, "Project", name) then
    errors.fail(string.format("project %s already exists", name), hint, 409)
  end
  local obj, err, code = c:create({ apiVersion = api.API_VERSION, kind = "Project", metadata = { name = name }, spec = spec },
    { field_manager = api.FIELD_MANAGER })
  if not obj then
    if code == "alreadyexists" then errors.fail(string.format("project %s already exists", name), hint, 409) end
    errors.fail(string.format("the cluster refused project %s: %s", name, tostring(err)), nil, api.http_status(code))
  end
  return obj
end

---Replaces the members of a project.
---@param members {email: string, role: string}[] checked (projectspec.body_members)
---@return table project
function M.set_members(c, name, members)
  return api.patch(c, api.API_VERSION, "Project", name, nil, { spec = { members = members } })
end

---Deletes a project (kipperd removes its namespaces).
---@return boolean deleted false when it was already gone
function M.delete(c, name)
  return api.delete(c, api.API_VERSION, "Project", name)
end

return M
