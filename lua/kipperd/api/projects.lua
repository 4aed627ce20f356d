-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.projects: projects in the console API under /api/v1/projects: list (the projects
-- the caller can see) and read (project viewers), create and delete (admins), replace the members
-- (project owners; admins count as owners). Writes go through the Project resource as `kip
-- project` writes it, with its checks (kip.apps.project, kip.apps.projectspec). A ProjectView
-- shows the caller's role, each environment's namespace and quota, the members and how many apps
-- and services run in the project. Uses kipperd.api.{access,conditions,environment,router}
-- (deps.access checks the roles), kip.apps.* and kip.json.
local access = require "kipperd.api.access"
local api = require "kip.apps.api"
local conditions = require "kipperd.api.conditions"
local environment = require "kipperd.api.environment"
local errors = require "kip.cli.errors"
local format = require "kip.apps.format"
local json = require "kip.json"
local namespace = require "kip.apps.namespace"
local project_mod = require "kip.apps.project"
local projectspec = require "kip.apps.projectspec"
local router = require "kipperd.api.router"

local M = {}

local BASE = "/api/v1/projects"
local ONE = BASE .. "/{project}"

local EXAMPLE = {
  name = "shop", display_name = "Web shop", role = "owner", phase = "Ready", ready = true,
  environments = { { name = "staging", namespace = "shop-staging" },
    { name = "production", namespace = "shop-production", quota = { cpu = "4", memory = "8Gi", pods = 40 } } },
  members = { { email = "ana@example.com", role = "owner" } }, apps = 3, services = 1,
  conditions = { { type = "Ready", status = "True", reason = "Ready", message = "namespaces ready",
    last_transition_time = "2026-01-01T00:00:00Z" } },
  created_at = "2026-01-01T00:00:00Z",
}

-- How many of kind live in each namespace: {namespace = n}.
local function per_namespace(c, kind)
  local out = {}
  for _, obj in ipairs(api.list(c, api.API_VERSION, kind, { all_namespaces = true })) do
    local ns = obj.metadata.namespace
    out[ns] = (out[ns] or 0) + 1
  end
  return out
end

---The counts the views need: {apps = {ns = n}, services = {ns = n}}.
function M.counts(c)
  return { apps = per_namespace(c, "App"), services = per_namespace(c, "Service") }
end

---A Project as the API shows it to user.
---@param p table the Project
---@param user {email: string, role: string}
---@param counts table from M.counts
---@return table ProjectView
function M.view(p, user, counts)
  local spec, st = p.spec or {}, p.status or {}
  local envs = {}
  local list = spec.environments
  if type(list) ~= "table" or #list == 0 then list = { { name = "default" } } end
  local apps, services = 0, 0
  for _, e in ipairs(list) do
    local ns = namespace.of_project(p, e.name)
    envs[#envs + 1] = { name = e.name, namespace = ns, quota = e.quota }
    apps = apps + (counts.apps[ns] or 0)
    services = services + (counts.services[ns] or 0)
  end
  local members = {}
  for _, m in ipairs(spec.members or {}) do members[#members + 1] = { email = m.email, role = m.role } end
  local ready = format.condition(p, "Ready")
  return {
    name = p.metadata.name, display_name = spec.displayName, role = access.project_role(user, p),
    environments = json.array(envs), members = json.array(members), apps = apps, services = services,
    phase = st.phase, ready = (ready ~= nil and ready.status == "True") or st.phase == "Ready",
    conditions = conditions.view(p),
    created_at = p.metadata.creationTimestamp,
  }
end

---Adds the project routes.
---@param r table kipperd.api.router
---@param deps kipperd.api.Deps
function M.routes(r, deps)
  local check = deps.access
  local c = deps.client

  r:add("GET", BASE, function(req)
    local user, res = check:user(req)
    if not user then return res end
    local projects, err = environment.visible_projects(c, user)
    if not projects then return router.api_failed(err) end
    local counts = M.counts(c)
    local items = {}
    for _, p in ipairs(projects) do items[#items + 1] = M.view(p, user, counts) end
    return router.json(200, { items = json.array(items) })
  end, { summary = "List the projects the caller can see", tag = "Projects", access = "any user",
    response = { items = { EXAMPLE } } })

  r:add("POST", BASE, function(req)
    local user, res = check:admin(req)
    if not user then return res end
    local body, bad = router.body(req)
    if not body then return bad end
    if body.name == nil then errors.usage("name is required", "Send {\"name\": NAME, \"environments\": [...], \"members\": [...]}.") end
    local name = api.check_name("project", body.name)
    local spec = projectspec.body_spec(body)
    local p = project_mod.create(c, name, spec, "GET " .. BASE .. " lists the projects.")
    return router.json(201, M.view(p, user, M.counts(c)))
  end, { summary = "Create a project: a namespace per environment, with quotas and members (as `kip project create`)",
    tag = "Projects", access = "admin", status = 201, response = EXAMPLE,
    body = { name = "shop", display_name = "Web shop", environments = { { name = "staging" },
      { name = "production", quota = { cpu = "4", memory = "8Gi", pods = 40 } } },
      members = { { email = "ana@example.com", role = "owner" } } },
    description = "409 when the project exists. kipperd makes its namespaces; its view's ready turns true then." })

  r:add("GET", ONE, function(req)
    local user, p = check:project(req, "viewer")
    if not user then return p end
    return router.json(200, M.view(p, user, M.counts(c)))
  end, { summary = "A project", tag = "Projects", access = "project viewer", response = EXAMPLE })

  r:add("PUT", ONE .. "/members", function(req)
    local user, p = check:project(req, "owner", "change the members")
    if not user then return p end
    local body, bad = router.body(req)
    if not body then return bad end
    for k in pairs(body) do
      if k ~= "members" then errors.usage(string.format("unknown field %q", tostring(k)), "Send {\"members\": [{email, role}]}.") end
    end
    if body.members == nil then errors.usage("members is required", "Send {\"members\": [{email, role}]}.") end
    local members = projectspec.body_members(body.members)
    local out = project_mod.set_members(c, p.metadata.name, members)
    return router.json(200, M.view(out, user, M.counts(c)))
  end, { summary = "Replace a project's members", tag = "Projects", access = "project owner (admins count as owners)",
    body = { members = { { email = "ana@example.com", role = "owner" }, { email = "ci@example.com", role = "deployer" } } },
    response = EXAMPLE })

  r:add("DELETE", ONE, function(req)
    local user, res = check:admin(req)
    if not user then return res end
    local name = req.params.project
    local ok = require("kip.util.names").check_label("project", name)
    if not (ok and api.get(c, api.API_VERSION, "Project", name)) then
      return router.error(404, string.format("there is no project %s", tostring(name)))
    end
    project_mod.delete(c, name)
    return router.empty(204)
  end, { summary = "Delete a project with its namespaces and everything in them (as `kip project delete`)",
    tag = "Projects", access = "admin", status = 204 })
end

return M
