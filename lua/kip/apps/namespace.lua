-- SPDX-License-Identifier: Apache-2.0
-- Which namespace an app or service command works in: -n/--namespace, else the namespace of a
-- project's environment (--project/--environment, else the ones 'kip project use' stored on the
-- cluster's entry in config.yaml), else "default". A project's environment ENV lives in namespace
-- PROJECT when ENV is "default" or the project's own name, else PROJECT-ENV; the Project's
-- status.namespaces (written by kipperd) settles it when it names one of the two. Uses
-- kip.apps.api and kip.cli.errors.
local api = require "kip.apps.api"
local errors = require "kip.cli.errors"

local M = {}

M.DEFAULT = "default"

---The flags every app and service verb takes to pick the namespace.
M.flags = {
  { name = "project", arg = "PROJECT", help = "work in this project (default: the one 'kip project use' chose)" },
  { name = "environment", arg = "ENV", help = "the project's environment (default: the chosen one, or the project's only one)" },
  { name = "namespace", short = "n", arg = "NAMESPACE", help = "work in this namespace instead of a project's" },
}

---Returns list with M.flags appended.
---@param list table[] a verb's own flags
---@return table[]
function M.with_flags(list)
  local out = {}
  for _, f in ipairs(list or {}) do out[#out + 1] = f end
  for _, f in ipairs(M.flags) do out[#out + 1] = f end
  return out
end

---The namespace of a project's environment, by the rule alone.
---@param project string
---@param env? string nil or "default" for the project's default environment
---@return string
function M.for_environment(project, env)
  if env == nil or env == "default" or env == project then return project end
  return project .. "-" .. env
end

---The environment names of a Project object (a list, possibly empty).
function M.environments(project)
  local names = {}
  for _, e in ipairs(project.spec and project.spec.environments or {}) do names[#names + 1] = e.name end
  return names
end

local function contains(list, x)
  for _, v in ipairs(list or {}) do if v == x then return true end end
  return false
end

---The namespace of env in the Project object: the rule, unless status.namespaces names only the
---other candidate.
---@param project table the Project
---@param env? string
function M.of_project(project, env)
  local name = project.metadata.name
  local by_rule = M.for_environment(name, env)
  local seen = project.status and project.status.namespaces
  if type(seen) ~= "table" or #seen == 0 or contains(seen, by_rule) then return by_rule end
  local other = by_rule == name and env and (name .. "-" .. env) or name
  if contains(seen, other) then return other end
  return by_rule
end

---Picks the environment when none was named: the only one, else "default" or one named like
---the project; stops with a clear error when the choice is not obvious, saying to pick one with
---`how` (the CLI's --environment, also hinting at 'kip project use', when nil).
local function pick_environment(project, how)
  local envs = M.environments(project)
  local name = project.metadata.name
  if #envs == 0 then return nil end
  if #envs == 1 then return envs[1] end
  if contains(envs, "default") then return "default" end
  if contains(envs, name) then return name end
  errors.usage(string.format("project %s has environments %s: pick one with %s", name, table.concat(envs, ", "),
      how or "--environment"),
    not how and string.format("Or make one the default with 'kip project use %s --environment ENV'.", name) or nil)
end

---Resolves the namespace a command works in.
---@param ctx table the command context (flags namespace, project, environment; the cluster entry)
---@return string namespace
---@return {project?: string, environment?: string} where it came from
function M.resolve(ctx)
  local f = ctx.flags
  if f.namespace then
    if f.project or f.environment then
      errors.usage("--namespace cannot be combined with --project or --environment")
    end
    return api.check_name("namespace", f.namespace), {}
  end
  if f.project then api.check_name("project", f.project) end
  if f.environment then api.check_name("environment", f.environment) end
  local cluster = ctx:cluster()
  local project, env = f.project, f.environment
  if project then
    if not env and cluster.project == project then env = cluster.environment end
  else
    project = cluster.project
    if project and not env then env = cluster.environment end
  end
  if not project then
    if f.environment then
      errors.usage("--environment needs a project", "Pass --project NAME, or choose one with 'kip project use NAME'.")
    end
    return M.DEFAULT, {}
  end
  local c = ctx:client()
  local obj = api.get(c, api.API_VERSION, "Project", project)
  if not obj then
    errors.fail(string.format("there is no project %s", project),
      f.project and "Run 'kip project list' to see the projects." or
      string.format("It was chosen with 'kip project use'; pick another one, or create it with 'kip project create %s'.", project))
  end
  local ns
  ns, env = M.of_environment(obj, env)
  return ns, { project = project, environment = env }
end

---The namespace of an environment of a Project (picked when env is nil), checking that the
---project has it.
---@param obj table the Project
---@param env? string
---@param how? string how the caller names an environment, for the errors (default "--environment";
---kipperd's API says "?environment=ENV")
---@return string namespace
---@return string|nil environment
function M.of_environment(obj, env, how)
  local project = obj.metadata.name
  local envs = M.environments(obj)
  if env then
    if #envs > 0 and not contains(envs, env) then
      errors.fail(string.format("project %s has no environment %s (it has %s)", project, env, table.concat(envs, ", ")),
        string.format("Pick one of those with %s.", how or "--environment"))
    end
  else
    env = pick_environment(obj, how)
  end
  return M.of_project(obj, env), env
end

return M
