-- SPDX-License-Identifier: Apache-2.0
-- `kip project create|list|use|delete`: Projects (kipper.run/v1alpha1, cluster-scoped), a team's
-- share of the cluster with a namespace per environment, quotas and members; kipperd makes the
-- namespaces and role bindings. `use` stores the project (and environment) on the cluster's
-- entry in config.yaml, so app and service commands work in its namespace. Uses kip.apps.*
-- (project: create and delete, shared with kipperd's console API) and kip.cli.confirm.
local api = require "kip.apps.api"
local appflow = require "kip.apps.app"
local appspec = require "kip.apps.appspec"
local errors = require "kip.cli.errors"
local format = require "kip.apps.format"
local json = require "kip.json"
local namespace = require "kip.apps.namespace"
local project = require "kip.apps.project"
local projectspec = require "kip.apps.projectspec"
local wait = require "kip.apps.wait"

local function client(ctx)
  local c = ctx:client()
  api.require_kind(c, "Project")
  return c
end

local function env_names(p)
  local names = namespace.environments(p)
  return #names > 0 and table.concat(names, ",") or "default"
end

local verbs = {}

verbs.create = {
  summary = "Create a project: a namespace per environment, with quotas and members",
  description = "Each environment ENV gets namespace PROJECT-ENV (PROJECT for an environment named default\n" ..
    "or like the project); without --environment the project has one namespace, PROJECT. A quota\n" ..
    "limits what an environment's apps may request. Members get a role in every environment:\n" ..
    "owner (admin), deployer (edit) or viewer (view).",
  args = { { name = "NAME", help = "the project's name: lowercase letters, digits and '-'" } },
  output = true,
  flags = appspec.concat({
    { name = "display-name", arg = "TEXT", help = "a name for people, e.g. \"Web shop\"" },
    { name = "environment", arg = "ENV[:cpu=N,memory=Q,pods=N]", repeated = true, help = "an environment, with an optional quota" },
    { name = "member", arg = "EMAIL:ROLE", repeated = true, help = "a member and their role: owner, deployer or viewer" },
  }, appspec.wait_flags),
  examples = {
    "kip project create webshop --display-name \"Web shop\"",
    "kip project create webshop --environment staging --environment production:cpu=4,memory=8Gi,pods=40 " ..
      "--member ana@example.com:owner --member ci@example.com:deployer",
  },
  run = function(ctx)
    local name = api.check_name("project", ctx.args.NAME)
    local spec = projectspec.spec(ctx.flags)
    projectspec.check_namespaces(name, spec)
    local timeout = appflow.timeout(ctx)
    local c = client(ctx)
    local obj = project.create(c, name, spec, "'kip project list' shows it; delete it first to start again.")
    local structured = ctx.flags.output ~= "table"
    local out = structured and io.stderr or io.stdout
    out:write(string.format("Project %s created.\n", name))
    if ctx.flags["no-wait"] then
      if structured then ctx:show(obj) end
      return 0
    end
    local p, verdict, state = wait.ready(c, { kind = "Project", name = name, timeout = timeout, title = "Creating " .. name, out = out })
    if verdict ~= "ready" then wait.fail(c, p, verdict, state, timeout) end
    if structured then ctx:show(p) return 0 end
    local nss = p.status and p.status.namespaces or {}
    out:write(string.format("Project %s is ready: namespaces %s. 'kip project use %s' makes app and service commands work in it.\n",
      name, #nss > 0 and table.concat(nss, ", ") or "?", name))
    return 0
  end,
}

verbs.list = {
  summary = "List the projects; * marks the one 'kip project use' chose",
  output = true,
  examples = { "kip project list", "kip project list -o json" },
  run = function(ctx)
    local c = client(ctx)
    local current = ctx:cluster().project
    local items = api.list(c, api.API_VERSION, "Project", {})
    table.sort(items, function(a, b) return a.metadata.name < b.metadata.name end)
    if ctx.flags.output ~= "table" then ctx:show(json.array(items)) return 0 end
    if #items == 0 then
      io.stderr:write("No projects yet. Create one with 'kip project create NAME'.\n")
      return 0
    end
    ctx:show(items, {
      { "CURRENT", function(p) return p.metadata.name == current and "*" or "" end },
      { "NAME", function(p) return p.metadata.name end },
      { "DISPLAY-NAME", function(p) return p.spec and p.spec.displayName or "" end },
      { "ENVIRONMENTS", env_names },
      { "NAMESPACES", function(p) return p.status and p.status.namespaces or "" end },
      { "PHASE", function(p) return p.status and p.status.phase or "" end },
      { "AGE", function(p) return format.age(p.metadata.creationTimestamp) end },
    })
    return 0
  end,
}

verbs.use = {
  summary = "Make app and service commands work in a project (and environment) on this cluster",
  description = "Stores the project and environment on the current cluster's entry in KIP_HOME/config.yaml.\n" ..
    "--project, --environment and -n on a command still win. --none goes back to namespace default.",
  args = { { name = "NAME", optional = true, help = "the project" } },
  flags = {
    { name = "environment", arg = "ENV", help = "the environment (default: the project's only one, or default)" },
    { name = "none", help = "stop using a project: commands use namespace default" },
  },
  examples = { "kip project use webshop --environment staging", "kip project use --none" },
  run = function(ctx)
    local name, f = ctx.args.NAME, ctx.flags
    if f.none then
      if name or f.environment then errors.usage("--none takes no project or environment") end
    elseif not name then
      errors.usage("missing NAME", "Usage: kip project use NAME [--environment ENV], or kip project use --none.")
    else
      api.check_name("project", name)
      if f.environment then api.check_name("environment", f.environment) end
    end
    local cluster = ctx:cluster()
    if f.none then
      cluster.project, cluster.environment = nil, nil
      ctx:save_config()
      ctx:say("Cluster %s uses no project now: app and service commands work in namespace default.", cluster.name)
      return 0
    end
    local c = client(ctx)
    local p = api.must_get(c, "Project", name)
    local ns, env = namespace.of_environment(p, f.environment)
    cluster.project, cluster.environment = name, f.environment
    ctx:save_config()
    ctx:say("Cluster %s now uses project %s%s: app and service commands work in namespace %s.", cluster.name, name,
      env and (", environment " .. env) or "", ns)
    return 0
  end,
}

verbs.delete = {
  summary = "Delete a project with its namespaces and everything in them",
  args = { { name = "NAME", help = "the project" } },
  flags = { { name = "yes", short = "y", help = "do not ask for confirmation" } },
  examples = { "kip project delete webshop", "kip project delete old-team --yes" },
  run = function(ctx)
    local name = api.check_name("project", ctx.args.NAME)
    local c = client(ctx)
    local p = api.must_get(c, "Project", name)
    local nss = p.status and p.status.namespaces or {}
    require("kip.cli.confirm").typed(string.format("delete project %s and its namespaces%s with every app, service and volume in them",
      name, #nss > 0 and (" (" .. table.concat(nss, ", ") .. ")") or ""), name, ctx.flags.yes)
    project.delete(c, name)
    local cfg = ctx:config()
    local changed = false
    for _, cl in ipairs(cfg.clusters) do
      if cl.project == name and cl.name == ctx:cluster().name then
        cl.project, cl.environment = nil, nil
        changed = true
      end
    end
    if changed then ctx:save_config() end
    ctx:say("Deleted project %s; kipperd removes its namespaces.%s", name,
      changed and " Commands on this cluster use namespace default again." or "")
    return 0
  end,
}

return {
  summary = "Create and choose projects: namespaces per environment, with quotas and members",
  description = "A project (kipper.run/v1alpha1 Project) gives a team namespaces for its environments,\n" ..
    "with quotas and role bindings. 'kip project use' makes app and service commands work in one.",
  verbs = verbs,
  verb_order = { "create", "list", "use", "delete" },
}
