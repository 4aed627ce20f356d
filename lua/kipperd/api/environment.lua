-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.environment: the namespace a project-scoped request works in, from its
-- ?environment=ENV query parameter, picked as the CLI picks it when left out (the only one, else
-- "default", else one named like the project). A bad, unknown or ambiguous environment raises a
-- kip error telling to pick one with ?environment=ENV, which the router answers 400. Also every
-- namespace of a Project (a project without environments has "default"), the Projects a user may
-- see and the objects of a kind in their namespaces (for cluster-wide views), the scope of a
-- request (user, project, role, namespace) once its role is checked, and the 404 of something
-- not in a project. Uses kip.apps.namespace, kip.apps.api, kipperd.api.access and
-- kipperd.api.router.
local access = require "kipperd.api.access"
local api = require "kip.apps.api"
local namespace = require "kip.apps.namespace"
local router = require "kipperd.api.router"

local M = {}

M.DEFAULT = "default" -- the environment of a project that declares none
M.HOW = "?environment=ENV" -- how an API caller picks an environment, for the errors

---The query parameter's documentation, for route docs.
M.QUERY = { environment = "the project's environment (default: its only one, else \"default\", else one named like the project)" }

---The namespace and environment of a request in a Project.
---@param req table kip.server request
---@param project table the Project object
---@return string namespace
---@return string environment ("default" when the project declares none)
function M.namespace(req, project)
  local env = router.query(req).environment
  if env == "" then env = nil end
  if env then api.check_name("environment", env) end
  local ns, picked = namespace.of_environment(project, env, M.HOW)
  return ns, picked or M.DEFAULT
end

---The scope of a project-scoped request when the caller's role there reaches need: {user,
---project, role, namespace, environment}; or nil and the response (401, 403, 404, 503).
---@param check table kipperd.api.access (deps.access)
---@param req table kip.server request with req.params.project
---@param need string "viewer", "deployer" or "owner"
---@param what? string what is being done, for the 403 message ("deploy apps")
---@return table|nil scope
---@return table|nil response
function M.scope(check, req, need, what)
  local user, project, role = check:project(req, need, what)
  if not user then return nil, project end
  local ns, env = M.namespace(req, project)
  return { user = user, project = project, role = role, namespace = ns, environment = env }
end

---The 404 of something a project-scoped request names that is not in the project's namespace.
---@param project table the Project
---@param ns string the namespace looked in
---@param kind string what was looked for ("app", "service")
---@param name any its name as the request gave it
---@param list_path? string the path that lists such things ("/api/v1/projects/{project}/apps"), for the hint
---@return table response
function M.not_found(project, ns, kind, name, list_path)
  local pname = project.metadata.name
  local hint = list_path and ("GET " .. list_path:gsub("{project}", pname) .. " lists them.") or nil
  return router.error(404, string.format("there is no %s %s in project %s (namespace %s)", kind, tostring(name), pname, ns),
    hint)
end

---The namespaces of a Project, each with its environment: {namespace, environment}, one per
---environment (the project's own namespace, environment "default", when it declares none).
---@param project table the Project
---@return {namespace: string, environment: string}[]
function M.namespaces(project)
  local out = {}
  for _, env in ipairs(namespace.environments(project)) do
    out[#out + 1] = { namespace = namespace.of_project(project, env), environment = env }
  end
  if #out == 0 then out[1] = { namespace = project.metadata.name, environment = M.DEFAULT } end
  return out
end

---The namespaces of several Projects, in their order: {namespace, environment, project (its name)}.
---@param projects table[]
---@return {namespace: string, environment: string, project: string}[]
function M.namespaces_of(projects)
  local out = {}
  for _, p in ipairs(projects) do
    for _, n in ipairs(M.namespaces(p)) do
      out[#out + 1] = { namespace = n.namespace, environment = n.environment, project = p.metadata.name }
    end
  end
  return out
end

---The objects of a kind in each of several namespaces, in that order (for cluster-wide views); a
---kind or namespace the API does not know has none. nil and a message when the API fails.
---@param c table kip.k8s client
---@param api_version string
---@param kind string
---@param namespaces {namespace: string}[] as M.namespaces_of gives them
---@return table[]|nil objects
---@return string? message
function M.list_in(c, api_version, kind, namespaces)
  local out = {}
  for _, n in ipairs(namespaces) do
    local list, err, code = c:list(api_version, kind, { namespace = n.namespace, all = true })
    if not list and code ~= "notfound" then return nil, err end
    for _, obj in ipairs(list and list.items or {}) do out[#out + 1] = obj end
  end
  return out
end

---The Projects a user may see, sorted by name; nil and a message when the API fails.
---@param c table kip.k8s client
---@param user {email: string, role: string}
---@return table[]|nil projects
---@return string? message
function M.visible_projects(c, user)
  local list, err, code = c:list(access.API_VERSION, "Project", { all = true })
  if not list then
    if code == "notfound" then return {} end -- the CRD is not installed: no projects
    return nil, err
  end
  local out = {}
  for _, p in ipairs(list.items or {}) do
    if access.can_see(user, p) then out[#out + 1] = p end
  end
  table.sort(out, function(a, b) return a.metadata.name < b.metadata.name end)
  return out
end

---The Projects a user may see (as M.visible_projects) and their namespaces (as M.namespaces_of).
---@param c table kip.k8s client
---@param user {email: string, role: string}
---@return table[]|nil projects
---@return {namespace: string, environment: string, project: string}[]|string namespaces, or the message
function M.visible_namespaces(c, user)
  local projects, err = M.visible_projects(c, user)
  if not projects then return nil, err end
  return projects, M.namespaces_of(projects)
end

return M
