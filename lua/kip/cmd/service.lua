-- SPDX-License-Identifier: Apache-2.0
-- `kip service add|list|info|bind|delete`: backing services (databases, caches, queues, object
-- storage) as Service resources (kipper.run/v1alpha1) through the Kubernetes API; kipperd runs
-- each as a StatefulSet with a volume and a credentials Secret. Uses kip.apps.* (namespace,
-- catalog, waiting, and kip.apps.services: the checks, spec, credentials and delete it shares
-- with kipperd's console API) and kip.cli.confirm.
local api = require "kip.apps.api"
local appflow = require "kip.apps.app"
local appspec = require "kip.apps.appspec"
local catalog = require "kip.apps.catalog"
local errors = require "kip.cli.errors"
local format = require "kip.apps.format"
local json = require "kip.json"
local namespace = require "kip.apps.namespace"
local services = require "kip.apps.services"
local wait = require "kip.apps.wait"

local function target(ctx)
  local ns = namespace.resolve(ctx)
  local c = ctx:client()
  api.require_kind(c, "Service")
  return c, ns
end

local function check_name(name) return api.check_name("service", name) end

local function describe_type(svc)
  return svc.spec.type .. (svc.spec.version and (" " .. svc.spec.version) or "")
end

local verbs = {}

verbs.add = {
  summary = "Add a backing service (a database, cache, queue or object store) and wait until it is ready",
  description = "Creates a Service of the given type; kipperd runs it with a volume and generates its\n" ..
    "credentials once (Secret NAME-credentials). Apps get its connection details with 'kip service bind'.\n" ..
    "Adding a service that exists with the same type changes only the flags given.",
  args = { { name = "TYPE", help = "the kind of service: " .. table.concat(catalog.types(), ", ") } },
  output = true,
  flags = namespace.with_flags(appspec.concat({
    { name = "name", arg = "NAME", help = "the service's name (required)" },
    { name = "version", arg = "VERSION", help = "the version of its image (default: the catalog's)" },
    { name = "storage", arg = "SIZE", help = "the size of its volume, e.g. 10Gi (default: the catalog's)" },
  }, appspec.wait_flags)),
  examples = { "kip service add postgres --name db", "kip service add redis --name cache --version 7.4 --storage 1Gi --no-wait" },
  run = function(ctx)
    local f = ctx.flags
    local t = ctx.args.TYPE
    local known, why = catalog.check(t)
    if not known then errors.usage(why, "'kip service add --help' lists the types.") end
    if not f.name then errors.usage("--name is required", string.format("kip service add %s --name NAME", t)) end
    local req = { type = t, name = f.name, version = f.version, storage = f.storage }
    local name = services.check(req, function(field) return "--" .. field end)
    local timeout = appflow.timeout(ctx)
    local c, ns = target(ctx)
    local live = api.get(c, api.API_VERSION, "Service", name, ns)
    local svc = api.apply(c, services.object(live, req, ns,
      "Pick another name, or delete it first with 'kip service delete " .. name .. "'."))
    local what = not live and "created" or (svc.metadata.generation == live.metadata.generation and "unchanged" or "configured")
    local structured = f.output ~= "table"
    local out = structured and io.stderr or io.stdout
    out:write(string.format("Service %s (%s) %s in namespace %s.\n", name, t, what, ns))
    if f["no-wait"] then
      if structured then ctx:show(svc) end
      return 0
    end
    local obj, verdict, state = wait.ready(c, { kind = "Service", name = name, namespace = ns, timeout = timeout,
      title = "Starting " .. name, out = out })
    if verdict ~= "ready" then wait.fail(c, obj, verdict, state, timeout) end
    if structured then ctx:show(obj) return 0 end
    local st = obj.status or {}
    out:write(string.format("Service %s is ready at %s:%s. 'kip service info %s' shows how to connect; " ..
      "'kip service bind %s APP' gives an app its details.\n", name, st.host or "?", tostring(st.port or "?"), name, name))
    return 0
  end,
}

verbs.list = {
  summary = "List the services of the namespace",
  output = true,
  flags = namespace.with_flags({}),
  examples = { "kip service list", "kip service list --project webshop -o json" },
  run = function(ctx)
    local c, ns = target(ctx)
    local items = api.list(c, api.API_VERSION, "Service", { namespace = ns })
    table.sort(items, function(a, b) return a.metadata.name < b.metadata.name end)
    if ctx.flags.output ~= "table" then ctx:show(json.array(items)) return 0 end
    if #items == 0 then io.stderr:write(string.format("No services in namespace %s.\n", ns)) return 0 end
    ctx:show(items, {
      { "NAME", function(s) return s.metadata.name end },
      { "TYPE", function(s) return s.spec.type end },
      { "VERSION", function(s) return s.spec.version or "" end },
      { "PHASE", function(s) return s.status and s.status.phase or "" end },
      { "HOST", function(s) return s.status and s.status.host or "" end },
      { "AGE", function(s) return format.age(s.metadata.creationTimestamp) end },
    })
    return 0
  end,
}

verbs.info = {
  summary = "Show a service and how to connect to it (the password masked unless --show-password)",
  args = { { name = "NAME", help = "the service's name" } },
  output = true,
  flags = namespace.with_flags({ { name = "show-password", help = "show the password in the connection URL" } }),
  examples = { "kip service info db", "kip service info db --show-password -o json" },
  run = function(ctx)
    local name = check_name(ctx.args.NAME)
    local c, ns = target(ctx)
    local svc = api.must_get(c, "Service", name, ns)
    local st = svc.status or {}
    local creds, secret_name = services.credentials(c, svc)
    local show = ctx.flags["show-password"]
    local conn = services.connection(svc, creds, show)
    local url = conn.url
    local info = { name = name, namespace = ns, type = svc.spec.type, version = svc.spec.version, storage = svc.spec.storage,
      phase = st.phase, host = conn.host, port = conn.port, username = conn.username,
      password = conn.password, url = url, credentialsSecret = secret_name }
    if ctx.flags.output ~= "table" then ctx:show(info) return 0 end
    local rows = {
      { "Service", name }, { "Namespace", ns }, { "Type", svc.spec.type }, { "Version", svc.spec.version },
      { "Storage", svc.spec.storage }, { "Phase", st.phase or "(no status yet: is kipperd running?)" },
      { "Host", info.host }, { "Port", info.port }, { "Username", info.username },
      { "Password", creds.password and (show and creds.password or "**** (--show-password shows it)") or nil },
      { "URL", url }, { "Credentials", "Secret " .. secret_name },
    }
    for _, r in ipairs(rows) do
      if r[2] ~= nil and r[2] ~= "" then ctx:say("%-12s %s", r[1] .. ":", tostring(r[2])) end
    end
    if not next(creds) then
      io.stderr:write(string.format("Secret %s does not exist yet: kipperd creates it when it starts the service.\n", secret_name))
    end
    local ready = format.condition(svc, "Ready")
    if ready and ready.status ~= "True" then ctx:say("%-12s %s", "Not ready:", ready.message or ready.reason or "") end
    return 0
  end,
}

verbs.bind = {
  summary = "Give an app a service's connection details as environment variables",
  description = "Adds the service to the App's serviceBindings; kipperd then sets the service's variables\n" ..
    "(host, port, user, password, URL, named by the catalog) in the app's pods, with --prefix before\n" ..
    "each name. Binding again changes the prefix.",
  args = { { name = "SERVICE", help = "the service's name" }, { name = "APP", help = "the app's name" } },
  output = true,
  flags = namespace.with_flags(appspec.concat({
    { name = "prefix", arg = "PREFIX", help = "put this before each variable name, e.g. DATABASE_" },
  }, appspec.wait_flags)),
  examples = { "kip service bind db api", "kip service bind cache api --prefix CACHE_" },
  run = function(ctx)
    local sname = check_name(ctx.args.SERVICE)
    local aname = api.check_name("app", ctx.args.APP)
    local prefix = ctx.flags.prefix
    if prefix ~= nil and not prefix:match("^[A-Za-z_][A-Za-z0-9_]*$") then
      errors.usage(string.format("--prefix takes letters, digits and '_', not starting with a digit, such as DATABASE_; not %q", prefix))
    end
    appflow.timeout(ctx)
    local c, ns = target(ctx)
    api.must_get(c, "Service", sname, ns)
    local live = api.must_get(c, "App", aname, ns)
    local spec = appspec.merge(live.spec, {})
    local list = json.array({})
    local found = false
    for _, b in ipairs(spec.serviceBindings or {}) do
      if b.service == sname then
        found = true
        list[#list + 1] = { service = sname, envPrefix = prefix }
      else
        list[#list + 1] = b
      end
    end
    if not found then list[#list + 1] = { service = sname, envPrefix = prefix } end
    spec.serviceBindings = list
    local app, what = appflow.write(c, ns, aname, live, spec)
    return appflow.finish(ctx, c, app, what, { title = string.format("Binding %s to %s", sname, aname) })
  end,
}

verbs.delete = {
  summary = "Delete a service; its volume and credentials are kept unless --delete-data",
  args = { { name = "NAME", help = "the service's name" } },
  flags = namespace.with_flags({
    { name = "delete-data", help = "also delete its volume and credentials (the data is gone for good)" },
    { name = "yes", short = "y", help = "do not ask for confirmation" },
  }),
  examples = { "kip service delete cache", "kip service delete db --delete-data --yes" },
  run = function(ctx)
    local name = check_name(ctx.args.NAME)
    local c, ns = target(ctx)
    local svc = api.must_get(c, "Service", name, ns)
    local users = services.bound_apps(c, ns, name)
    if #users > 0 then
      io.stderr:write(string.format("kip: warning: %s %s %s bound to service %s and will lose it.\n",
        #users == 1 and "app" or "apps", table.concat(users, ", "), #users == 1 and "is" or "are", name))
    end
    local data = ctx.flags["delete-data"]
    require("kip.cli.confirm").typed(string.format("delete service %s (%s) in namespace %s%s", name, describe_type(svc), ns,
      data and " WITH its volume and credentials" or " (its volume and credentials are kept)"), name, ctx.flags.yes)
    services.delete(c, ns, name, data)
    if data then
      ctx:say("Deleted service %s in namespace %s; kipperd deletes its volume and credentials.", name, ns)
    else
      ctx:say("Deleted service %s in namespace %s. Its volume (PVC data-%s-0) and Secret %s-credentials are kept: " ..
        "a service added again with the same name and type uses them.", name, ns, name, name)
    end
    return 0
  end,
}

return {
  summary = "Add and manage backing services (databases, caches, queues, object storage)",
  description = "Services are stateful: kip writes a Service resource (kipper.run/v1alpha1) and kipperd runs it\n" ..
    "as a StatefulSet with a volume and generated credentials. They live in the same namespace as\n" ..
    "the apps that use them (the current project's, --project/--environment, -n, else default).",
  verbs = verbs,
  verb_order = { "add", "list", "info", "bind", "delete" },
}
