-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.access: who may do what in the console API, checked server-side by every endpoint.
-- Global roles (the users Secret): admin may do everything; deployer acts as a deployer in every
-- project; viewer as a viewer in every project. Project roles (the Project's spec.members):
-- owner, deployer, viewer. A user's role in a project is the higher of the two (admin counts as
-- owner). Levels: viewer reads; deployer also deploys, scales, restarts, rolls back, deletes apps
-- and services; owner also reads service credentials. Uses kipperd.api.router (the 401/403/404
-- answers) and a kip.k8s client (the Project).
local router = require "kipperd.api.router"

local M = {}

M.API_VERSION = "kipper.run/v1alpha1"

-- Rank of each project role; a global role maps onto one of these.
M.LEVEL = { viewer = 1, deployer = 2, owner = 3 }
local FROM_GLOBAL = { admin = "owner", deployer = "deployer", viewer = "viewer" }

---The role a member entry gives user in project (nil when not a member).
local function member_role(project, email)
  local members = project and project.spec and project.spec.members
  if type(members) ~= "table" then return nil end
  email = email:lower()
  for _, m in ipairs(members) do
    if type(m) == "table" and type(m.email) == "string" and m.email:lower() == email and M.LEVEL[m.role] then
      return m.role
    end
  end
end

---The user's role in a project: "owner", "deployer", "viewer" (the higher of the global role's and
---the membership's), never nil for a known global role.
---@param user {email: string, role: string}
---@param project table the Project object
---@return string|nil role
function M.project_role(user, project)
  local from_global = FROM_GLOBAL[user.role]
  local member = member_role(project, user.email)
  if not member then return from_global end
  if not from_global then return member end
  return M.LEVEL[member] > M.LEVEL[from_global] and member or from_global
end

---Whether role reaches need ("viewer" < "deployer" < "owner").
function M.allows(role, need)
  return role ~= nil and (M.LEVEL[role] or 0) >= assert(M.LEVEL[need], "unknown project role " .. tostring(need))
end

---403 naming what the caller lacks.
---@param what string e.g. "deploy apps in project shop"
---@param need string the role it takes
function M.forbidden(what, need)
  return router.error(403, string.format("you may not %s", what),
    string.format("It takes the %s role; ask an admin.", need))
end

local Access = {}
Access.__index = Access

---@param opts {auth: table, client: table} auth: kipperd.api.auth (authenticate); client: a kip.k8s client
function M.new(opts)
  return setmetatable({ auth = assert(opts.auth), client = assert(opts.client) }, Access)
end

---The authenticated user, or nil and the 401/503 response.
---@return table|nil user {email, role, ...}
---@return table|nil response
function Access:user(req)
  local user, res = self.auth:authenticate(req)
  if not user then return nil, res end
  return user
end

---The authenticated user when an admin, or nil and the 401/403 response.
function Access:admin(req)
  local user, res = self:user(req)
  if not user then return nil, res end
  if user.role ~= "admin" then return nil, router.error(403, "only admins may do this", "Ask an admin.") end
  return user
end

---The user, the Project named in the request (req.params.project) and the user's role in it, when
---that role reaches need; or nil and the response (401, 403, 404 when the project does not exist
---or the user may not see it, 503 when the API fails).
---@param req table with req.params.project
---@param need string "viewer", "deployer" or "owner"
---@param what? string what is being done, for the 403 message ("deploy apps")
---@return table|nil user
---@return table project_or_response
---@return string|nil role
function Access:project(req, need, what)
  local user, res = self:user(req)
  if not user then return nil, res end
  local name = req.params and req.params.project
  local project, err, code = self.client:get(M.API_VERSION, "Project", name)
  if not project then
    if code == "notfound" or code == "invalid" then
      return nil, router.error(404, string.format("there is no project %s", tostring(name)))
    end
    return nil, router.api_failed(err)
  end
  local role = M.project_role(user, project)
  if not role then return nil, router.error(404, string.format("there is no project %s", tostring(name))) end
  if not M.allows(role, need) then
    return nil, M.forbidden(string.format("%s in project %s", what or "do this", name), need)
  end
  return user, project, role
end

---Whether the user may see a project at all (lists filter by it).
function M.can_see(user, project)
  return M.project_role(user, project) ~= nil
end

return M
