-- SPDX-License-Identifier: Apache-2.0
-- `kip app deploy|list|status|logs|scale|restart|update|history|rollback|env|secret|delete`: Apps
-- (kipper.run/v1alpha1) through the Kubernetes API only; kipperd turns them into Deployments,
-- Services and Ingresses and reports their status. Uses kip.apps.* (namespace, spec from flags,
-- secrets, waiting, pods, logs, history) and kip.cli.confirm.
local api = require "kip.apps.api"
local appflow = require "kip.apps.app"
local appspec = require "kip.apps.appspec"
local errors = require "kip.cli.errors"
local events = require "kip.apps.events"
local format = require "kip.apps.format"
local json = require "kip.json"
local namespace = require "kip.apps.namespace"
local secrets = require "kip.apps.secrets"
local strings = require "kip.util.strings"
local yaml = require "kip.yaml"

local NAME_ARG = { name = "NAME", help = "the app's name" }

local function check_app_name(name) return api.check_name("app", name) end

-- The client and namespace for a command, with the App kind checked.
local function target(ctx)
  local ns = namespace.resolve(ctx)
  local c = ctx:client()
  api.require_kind(c, "App")
  return c, ns
end

local function must_app(c, ns, name)
  return api.must_get(c, "App", name, ns)
end

local function secret_keys(entries)
  local keys = {}
  for _, e in ipairs(entries) do keys[#keys + 1] = e.key end
  return keys
end

-- deploy and update: the flags change only what they name.
local function deploy_or_update(ctx, name, must_exist)
  check_app_name(name)
  local changes, entries = appspec.changes(ctx.flags)
  appflow.timeout(ctx)
  if must_exist and next(changes) == nil and #entries == 0 then
    errors.usage("nothing to change", "Give at least one of --image, --port, --replicas, --env, --secret, --memory, " ..
      "--cpu, --profile, --autotune or --domain.")
  end
  local c, ns = target(ctx)
  local app, what = appflow.deploy(c, ns, name, changes, entries, { must_exist = must_exist, ask = secrets.ask_missing })
  return appflow.finish(ctx, c, app, what)
end

local verbs = {}

verbs.deploy = {
  summary = "Create or update an app from a container image, wait until it is ready and print its URL",
  description = "Creates the App, or changes an existing one: only the flags given change anything (the\n" ..
    "rest of the live App is kept). --secret values go into Secret app-NAME-secrets, never into the\n" ..
    "App; --secret KEY asks for the value on the terminal without showing it. Then waits until\n" ..
    "kipperd reports the app Ready (a spinner on a terminal, a line per change otherwise) and\n" ..
    "prints its URL; on failure prints why and the recent events, and exits 1.",
  output = true,
  flags = namespace.with_flags(appspec.concat({ { name = "name", arg = "NAME", help = "the app's name (required)" } },
    appspec.flags, appspec.wait_flags)),
  examples = {
    "kip app deploy --name hello --image nginxdemos/hello --port 80",
    "kip app deploy --name api --image ghcr.io/acme/api:1.4.2 --replicas 2 --env LOG_LEVEL=info --secret DATABASE_PASSWORD",
    "kip app deploy --name shop --image acme/shop:2 --project webshop --environment production --domain shop.example.com",
  },
  run = function(ctx)
    if not ctx.flags.name then
      errors.usage("--name is required", "kip app deploy --name NAME --image IMAGE [--port PORT]")
    end
    return deploy_or_update(ctx, ctx.flags.name, false)
  end,
}

verbs.update = {
  summary = "Change an existing app (the same flags as deploy) and wait until it is ready",
  args = { NAME_ARG },
  output = true,
  flags = namespace.with_flags(appspec.concat(appspec.flags, appspec.wait_flags)),
  examples = { "kip app update api --image ghcr.io/acme/api:1.5.0", "kip app update api --memory 512Mi --cpu 500m --no-wait" },
  run = function(ctx) return deploy_or_update(ctx, ctx.args.NAME, true) end,
}

local function ready_text(app)
  local st = app.status or {}
  local want = app.spec and app.spec.replicas
  if want == nil then want = st.replicas end
  return string.format("%d/%d", st.readyReplicas or 0, want or 0)
end

verbs.list = {
  summary = "List the apps of the namespace (or of every namespace with -A)",
  output = true,
  flags = namespace.with_flags({ { name = "all-namespaces", short = "A", help = "list the apps of every namespace" } }),
  examples = { "kip app list", "kip app list --project webshop --environment staging", "kip app list -A -o json" },
  run = function(ctx)
    local c, ns
    if ctx.flags["all-namespaces"] then
      c = ctx:client()
      api.require_kind(c, "App")
    else
      c, ns = target(ctx)
    end
    local items = api.list(c, api.API_VERSION, "App", { namespace = ns, all_namespaces = ns == nil })
    table.sort(items, function(a, b)
      if a.metadata.namespace ~= b.metadata.namespace then return a.metadata.namespace < b.metadata.namespace end
      return a.metadata.name < b.metadata.name
    end)
    if ctx.flags.output ~= "table" then ctx:show(json.array(items)) return 0 end
    if #items == 0 then
      io.stderr:write(ns and string.format("No apps in namespace %s.\n", ns) or "No apps.\n")
      return 0
    end
    local columns = {
      { "NAME", function(a) return a.metadata.name end },
      { "IMAGE", function(a) return a.spec.image end },
      { "READY", ready_text },
      { "PHASE", function(a) return a.status and a.status.phase or "" end },
      { "URL", function(a) return a.status and a.status.url or "" end },
      { "AGE", function(a) return format.age(a.metadata.creationTimestamp) end },
    }
    if not ns then table.insert(columns, 1, { "NAMESPACE", function(a) return a.metadata.namespace end }) end
    ctx:show(items, columns)
    return 0
  end,
}

local function resources_text(r)
  if not r then return nil end
  local parts = {}
  if r.profile then parts[#parts + 1] = "profile " .. r.profile end
  for _, k in ipairs({ "cpu", "memory", "cpuLimit", "memoryLimit" }) do
    if r[k] then parts[#parts + 1] = k .. " " .. tostring(r[k]) end
  end
  return #parts > 0 and table.concat(parts, ", ") or nil
end

local function keys_text(map)
  local keys = strings.sorted_keys(map or {})
  if #keys == 0 then return nil end
  return string.format("%d (%s)", #keys, table.concat(keys, ", "))
end

verbs.status = {
  summary = "Show an app: its spec, replicas, pods, conditions and recent events",
  args = { NAME_ARG },
  output = true,
  flags = namespace.with_flags({}),
  examples = { "kip app status api", "kip app status api -o json" },
  run = function(ctx)
    local name = check_app_name(ctx.args.NAME)
    local c, ns = target(ctx)
    local app = must_app(c, ns, name)
    local pods = require "kip.apps.pods"
    local rows = {}
    for _, p in ipairs(pods.list(c, ns, name)) do rows[#rows + 1] = pods.row(p) end
    local recent = events.recent(c, ns, name, 10)
    if ctx.flags.output ~= "table" then
      ctx:show({ app = app, pods = json.array(rows), events = json.array(recent) })
      return 0
    end
    local spec, st = app.spec, app.status or {}
    local lines = {
      { "App", name }, { "Namespace", ns }, { "Image", spec.image }, { "Port", spec.port },
      { "Replicas", string.format("%s wanted, %d ready, %d running", tostring(spec.replicas or "-"), st.readyReplicas or 0, st.replicas or 0) },
      { "Phase", st.phase or "(no status yet: is kipperd running?)" },
      { "URL", st.url },
      { "Domain", spec.route and spec.route.host },
      { "Resources", resources_text(spec.resources) },
      { "Env", keys_text(spec.env) },
    }
    local skeys = {}
    for _, k in ipairs(spec.secrets or {}) do skeys[k] = true end
    lines[#lines + 1] = { "Secrets", keys_text(skeys) }
    if spec.autoscale and spec.autoscale.enabled then
      lines[#lines + 1] = { "Autoscale", string.format("%s to %s instances at %s%% CPU", tostring(spec.autoscale.min or 1),
        tostring(spec.autoscale.max or "?"), tostring(spec.autoscale.cpuTarget or 80)) }
    end
    local tuned = st.autotune or {}
    local note = tuned.blocked or tuned.recommendation or tuned.lastChange
    lines[#lines + 1] = { "Autotune", ((spec.autotune or {}).mode or "recommend") .. (note and (": " .. note.message) or "") }
    local binds = {}
    for _, b in ipairs(spec.serviceBindings or {}) do
      binds[#binds + 1] = b.service .. (b.envPrefix and (" (" .. b.envPrefix .. ")") or "")
    end
    if #binds > 0 then lines[#lines + 1] = { "Services", table.concat(binds, ", ") } end
    for _, l in ipairs(lines) do
      if l[2] ~= nil and l[2] ~= "" then ctx:say("%-11s %s", l[1] .. ":", tostring(l[2])) end
    end
    ctx:say("")
    if #rows > 0 then
      ctx:show(rows, { { "POD", "name" }, { "PHASE", "phase" }, { "READY", "ready" }, { "RESTARTS", "restarts" },
        { "NODE", "node" }, { "AGE", "age" } })
    else
      ctx:say("Pods: none")
    end
    local conds = st.conditions or {}
    if #conds > 0 then
      ctx:say("")
      ctx:show(conds, { { "CONDITION", "type" }, { "STATUS", "status" }, { "REASON", "reason" },
        { "AGE", function(x) return format.age(x.lastTransitionTime) end }, { "MESSAGE", "message" } })
    end
    if #recent > 0 then
      ctx:say("")
      ctx:say("Recent events:")
      ctx:say("%s", events.text(recent))
    end
    return 0
  end,
}

verbs.logs = {
  summary = "Print the logs of every pod of an app, each line prefixed [POD]",
  description = "Reads the log of each of the app's pods. With -f, follows them all as they grow, and\n" ..
    "also the pods that start later (after a deploy or a restart), until Ctrl-C.",
  args = { NAME_ARG },
  flags = namespace.with_flags({
    { name = "follow", short = "f", help = "keep printing new lines, from every pod, until interrupted" },
    { name = "tail", arg = "N", help = "only the last N lines of each pod" },
    { name = "since", arg = "DURATION", help = "only lines newer than this, e.g. 10m or 1h" },
  }),
  examples = { "kip app logs api", "kip app logs api -f --tail 20", "kip app logs api --since 15m" },
  run = function(ctx)
    local name = check_app_name(ctx.args.NAME)
    local f = ctx.flags
    local tail = f.tail and appspec.check_int("tail", f.tail, 0) or nil
    local since
    if f.since then
      since = format.parse_duration(f.since)
      if not since or since <= 0 then errors.usage(string.format("--since takes a duration such as 30s, 10m or 2h, not %q", f.since)) end
    end
    local c, ns = target(ctx)
    must_app(c, ns, name)
    local logs = require "kip.apps.logs"
    local opts = { namespace = ns, app = name, tail = tail, since = since,
      notice = function(text) io.stderr:write("kip: ", text, "\n") end }
    if f.follow then
      logs.follow(c, opts)
      return 0
    end
    local count, problems = logs.print(c, opts)
    if count == 0 then io.stderr:write(string.format("App %s has no pods yet.\n", name)) end
    for _, p in ipairs(problems) do io.stderr:write("kip: warning: cannot read the log of ", p, "\n") end
    return 0
  end,
}

verbs.scale = {
  summary = "Set how many instances of an app run",
  args = { NAME_ARG },
  output = true,
  flags = namespace.with_flags(appspec.concat({ { name = "replicas", arg = "N", help = "the number of instances (required)" } },
    appspec.wait_flags)),
  examples = { "kip app scale api --replicas 3", "kip app scale worker --replicas 0 --no-wait" },
  run = function(ctx)
    local name = check_app_name(ctx.args.NAME)
    if not ctx.flags.replicas then errors.usage("--replicas is required", "kip app scale NAME --replicas N") end
    local n = appspec.check_int("replicas", ctx.flags.replicas, 0, 10000)
    appflow.timeout(ctx)
    local c, ns = target(ctx)
    local live = must_app(c, ns, name)
    if live.spec.autoscale and live.spec.autoscale.enabled then
      io.stderr:write(string.format("kip: warning: app %s autoscales; its replicas count only once autoscale is off.\n", name))
    end
    local app, what = appflow.scale(c, live, n)
    return appflow.finish(ctx, c, app, what, { title = "Scaling " .. name })
  end,
}

verbs.restart = {
  summary = "Restart every instance of an app (a rolling restart)",
  description = "Sets the annotation " .. appspec.RESTARTED_AT .. " on the App to the current time; kipperd copies it\n" ..
    "into the pod template, so the Deployment replaces its pods one by one. Waits for that rollout.",
  args = { NAME_ARG },
  output = true,
  flags = namespace.with_flags(appspec.wait_flags),
  examples = { "kip app restart api", "kip app restart api --no-wait" },
  run = function(ctx)
    local name = check_app_name(ctx.args.NAME)
    appflow.timeout(ctx)
    local c, ns = target(ctx)
    local live = must_app(c, ns, name)
    local app, stamp = appflow.restart(c, live)
    -- the App's generation does not change: wait for the pod template to carry the new stamp
    local function rolled(obj)
      local dep = c:get("apps/v1", "Deployment", name, ns)
      local tmpl = dep and dep.spec and dep.spec.template and dep.spec.template.metadata or {}
      if (tmpl.annotations or {})[appspec.RESTARTED_AT] ~= stamp then
        return false, "waiting for kipperd to update the pod template"
      end
      local done, state = require("kip.apps.wait").check(c, obj)
      return done == "ready", state
    end
    return appflow.finish(ctx, c, app, "restarted", { title = "Restarting " .. name, extra = rolled })
  end,
}

verbs.history = {
  summary = "List an app's revisions (image and environment of each deploy)",
  args = { NAME_ARG },
  output = true,
  flags = namespace.with_flags({}),
  examples = { "kip app history api", "kip app history api -o yaml" },
  run = function(ctx)
    local name = check_app_name(ctx.args.NAME)
    local c, ns = target(ctx)
    local app = must_app(c, ns, name)
    local revs = require("kip.apps.history").list(c, app)
    if ctx.flags.output ~= "table" then ctx:show(json.array(revs)) return 0 end
    if #revs == 0 then
      io.stderr:write(string.format("App %s has no revisions yet (kipperd records one per change).\n", name))
      return 0
    end
    ctx:show(revs, { { "REVISION", "revision" }, { "IMAGE", "image" },
      { "ENV", function(r) return require("kip.apps.history").env_count(r) end }, { "CREATED", "created" } })
    return 0
  end,
}

verbs.rollback = {
  summary = "Go back to an earlier revision's image and environment (default: the previous one)",
  args = { NAME_ARG },
  output = true,
  flags = namespace.with_flags(appspec.concat({ { name = "revision", arg = "N", help = "the revision to go back to (see 'kip app history')" } },
    appspec.wait_flags)),
  examples = { "kip app rollback api", "kip app rollback api --revision 3" },
  run = function(ctx)
    local name = check_app_name(ctx.args.NAME)
    local want = ctx.flags.revision and appspec.check_int("revision", ctx.flags.revision, 1) or nil
    appflow.timeout(ctx)
    local c, ns = target(ctx)
    local live = must_app(c, ns, name)
    local history = require "kip.apps.history"
    local spec, rev = history.rollback_spec(c, live, want)
    if not spec then
      errors.fail(string.format("cannot roll back app %s: %s", name, rev), string.format("See 'kip app history %s'.", name))
    end
    local out = (ctx.flags.output or "table") ~= "table" and io.stderr or io.stdout
    out:write(string.format("Rolling app %s back to revision %d: %s with %d variables.\n", name, rev.revision, rev.image,
      history.env_count(rev)))
    local app, what = appflow.write(c, ns, name, live, spec)
    return appflow.finish(ctx, c, app, what, { title = "Rolling back " .. name })
  end,
}

local function action(ctx, allowed)
  local a = ctx.args.ACTION
  for _, x in ipairs(allowed) do if x == a then return a end end
  errors.usage(string.format("unknown action %q for '%s'", tostring(a), ctx.command),
    string.format("It takes: %s.", table.concat(allowed, ", ")))
end

verbs.env = {
  summary = "Set, list or unset an app's environment variables",
  description = "set NAME KEY=VALUE...   sets variables (the pods are replaced to pick them up)\n" ..
    "list NAME               shows them\n" ..
    "unset NAME KEY...       removes them",
  args = { { name = "ACTION", help = "set, list or unset" }, NAME_ARG },
  rest = "VARS", rest_help = "KEY=VALUE (set) or KEY (unset)",
  passthrough = false,
  output = true,
  flags = namespace.with_flags(appspec.wait_flags),
  examples = { "kip app env set api LOG_LEVEL=debug FEATURE_X=on", "kip app env list api", "kip app env unset api FEATURE_X" },
  run = function(ctx)
    local act = action(ctx, { "set", "list", "unset" })
    local name = check_app_name(ctx.args.NAME)
    local vars = ctx.args.VARS
    local map
    if act == "set" then
      if #vars == 0 then errors.usage("give at least one KEY=VALUE") end
      map = appspec.parse_pairs(vars, "env set")
    elseif act == "unset" then
      if #vars == 0 then errors.usage("give at least one KEY to unset") end
      for _, k in ipairs(vars) do appspec.check_env_name("variable", k) end
    elseif #vars > 0 then
      errors.usage(string.format("unexpected argument %q", vars[1]), "Usage: kip app env list NAME")
    end
    appflow.timeout(ctx)
    local c, ns = target(ctx)
    local live = must_app(c, ns, name)
    if act == "list" then
      local env = live.spec.env or {}
      if ctx.flags.output ~= "table" then ctx:show(env) return 0 end
      local rows = {}
      for _, k in ipairs(strings.sorted_keys(env)) do rows[#rows + 1] = { name = k, value = env[k] } end
      if #rows == 0 then io.stderr:write(string.format("App %s has no environment variables.\n", name)) return 0 end
      ctx:show(rows, { { "NAME", "name" }, { "VALUE", "value" } })
      return 0
    end
    local spec, absent = appspec.edit_env(live.spec, map, act == "unset" and vars or nil)
    if act == "unset" and #absent == #vars then
      ctx:say("App %s has no variable %s; nothing changed.", name, table.concat(absent, ", "))
      return 0
    end
    local app, what = appflow.write(c, ns, name, live, spec)
    return appflow.finish(ctx, c, app, what)
  end,
}

verbs.secret = {
  summary = "Set, list (names only) or delete an app's secret variables",
  description = "set NAME KEY=VALUE|KEY...   sets secret variables in Secret app-NAME-secrets; KEY alone\n" ..
    "                            asks for the value on the terminal without showing it\n" ..
    "list NAME                   shows their names (never the values)\n" ..
    "delete NAME KEY...          removes them",
  args = { { name = "ACTION", help = "set, list or delete" }, NAME_ARG },
  rest = "VARS", rest_help = "KEY=VALUE or KEY (set), KEY (delete)",
  passthrough = false,
  output = true,
  flags = namespace.with_flags(appspec.wait_flags),
  examples = { "kip app secret set api DATABASE_PASSWORD", "kip app secret list api", "kip app secret delete api OLD_TOKEN" },
  run = function(ctx)
    local act = action(ctx, { "set", "list", "delete" })
    local name = check_app_name(ctx.args.NAME)
    local vars = ctx.args.VARS
    local entries
    if act == "set" then
      if #vars == 0 then errors.usage("give at least one KEY=VALUE or KEY") end
      entries = appspec.parse_secrets(vars)
    elseif act == "delete" then
      if #vars == 0 then errors.usage("give at least one KEY to delete") end
      for _, k in ipairs(vars) do appspec.check_env_name("secret", k) end
    elseif #vars > 0 then
      errors.usage(string.format("unexpected argument %q", vars[1]), "Usage: kip app secret list NAME")
    end
    appflow.timeout(ctx)
    local c, ns = target(ctx)
    local live = must_app(c, ns, name)
    if act == "list" then
      local keys = secrets.keys(secrets.get(c, ns, name))
      if ctx.flags.output ~= "table" then ctx:show(json.array(keys)) return 0 end
      if #keys == 0 then io.stderr:write(string.format("App %s has no secret variables.\n", name)) return 0 end
      local rows = {}
      for _, k in ipairs(keys) do rows[#rows + 1] = { key = k } end
      ctx:show(rows, { { "NAME", "key" } })
      return 0
    end
    if act == "set" then
      secrets.ask_missing(entries, name)
      local app, what = appflow.write_with_secrets(c, ns, name, live, appspec.merge(live.spec, {}, secret_keys(entries)), entries)
      return appflow.finish(ctx, c, app, what)
    end
    local removed = secrets.remove(c, ns, name, vars)
    local spec = appspec.merge(live.spec, {})
    local drop = {}
    for _, k in ipairs(vars) do drop[k] = true end
    local keep = yaml.array({})
    for _, k in ipairs(spec.secrets or {}) do if not drop[k] then keep[#keep + 1] = k end end
    local listed = #keep < #(spec.secrets or {})
    if #removed == 0 and not listed then
      ctx:say("App %s has no secret %s; nothing changed.", name, table.concat(vars, ", "))
      return 0
    end
    spec.secrets = keep
    local app, what = appflow.write(c, ns, name, live, spec)
    if #removed > 0 and what == "unchanged" then what = "configured" end
    return appflow.finish(ctx, c, app, what)
  end,
}

verbs.delete = {
  summary = "Delete an app, with its pods, routes and secret variables",
  args = { NAME_ARG },
  flags = namespace.with_flags({ { name = "yes", short = "y", help = "do not ask for confirmation" } }),
  examples = { "kip app delete api", "kip app delete api --yes" },
  run = function(ctx)
    local name = check_app_name(ctx.args.NAME)
    local c, ns = target(ctx)
    must_app(c, ns, name)
    require("kip.cli.confirm").typed(string.format("delete app %s in namespace %s, its instances and its secret variables",
      name, ns), name, ctx.flags.yes)
    appflow.delete(c, ns, name)
    ctx:say("Deleted app %s in namespace %s; kipperd's objects for it go with it.", name, ns)
    return 0
  end,
}

return {
  summary = "Deploy and manage apps",
  description = "Apps run a container image: kip writes an App resource (kipper.run/v1alpha1) and kipperd\n" ..
    "turns it into a Deployment, a Service and an Ingress with a URL. Apps live in the namespace of\n" ..
    "the current project ('kip project use'), of --project/--environment, of -n NAMESPACE, else in\n" ..
    "namespace default.",
  verbs = verbs,
  verb_order = { "deploy", "list", "status", "logs", "update", "scale", "restart", "history", "rollback", "env", "secret", "delete" },
}
