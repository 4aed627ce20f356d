-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.apps: apps in the console API, under /api/v1/projects/{project}/apps
-- (?environment=ENV): list, read, history, environment and secret names (project viewers);
-- deploy, update, scale, restart, roll back, set the environment and delete (deployers). Every
-- write is what `kip app` does, through the same code (kip.apps.app: server-side apply of the App,
-- field manager "kip"; kip.apps.appspec: the same checks, errors naming the field; kip.apps.history:
-- rollback), and answers without waiting for the rollout. Uses kipperd.api.{apps_view,environment,
-- router} (deps.access checks the roles), kip.apps.* and kip.json.
local api = require "kip.apps.api"
local appflow = require "kip.apps.app"
local appspec = require "kip.apps.appspec"
local errors = require "kip.cli.errors"
local environment = require "kipperd.api.environment"
local history = require "kip.apps.history"
local json = require "kip.json"
local router = require "kipperd.api.router"
local secrets = require "kip.apps.secrets"
local view = require "kipperd.api.apps_view"

local M = {}

local BASE = "/api/v1/projects/{project}/apps"
local ONE = BASE .. "/{app}"

local SUMMARY = { name = "web", namespace = "shop", environment = "default", image = "nginxdemos/hello:0.4",
  replicas = 2, ready_replicas = 2, status = "Ready", url = "https://web-shop-203-0-113-10.kipper.run",
  created_at = "2026-01-01T00:00:00Z" }
local DETAIL = {
  name = "web", namespace = "shop", environment = "default", image = "nginxdemos/hello:0.4", replicas = 2,
  ready_replicas = 2, status = "Ready", url = "https://web-shop-203-0-113-10.kipper.run", created_at = "2026-01-01T00:00:00Z",
  port = 80, env = { LOG_LEVEL = "info" }, secrets = { "DATABASE_PASSWORD" },
  resources = { requests = { cpu = "100m", memory = "128Mi" }, limits = { memory = "256Mi" } },
  hosts = { "web-shop-203-0-113-10.kipper.run" },
  conditions = { { type = "Ready", status = "True", reason = "Ready", message = "2/2 ready", last_transition_time = "2026-01-01T00:00:00Z" } },
  pods = { { name = "web-7d9c-abcde", phase = "Running", ready = true, restarts = 0, node = "node-1",
    started_at = "2026-01-01T00:00:00Z", reason = "CrashLoopBackOff" } },
  revision = 3, autotune = { mode = "recommend", max_memory = "1Gi", recommendation = { cpu = "150m", memory = "192Mi" },
    last_change = "2026-01-01T00:00:00Z" },
  events = { { type = "Normal", reason = "ScalingReplicaSet", message = "Scaled up replica set web-7d9c to 2",
    object = "deployment/web", count = 1, last_seen = "2026-01-01T00:00:00Z" } },
  health_path = "/healthz", age = "5m",
}
local SPEC_BODY = { name = "web", image = "nginxdemos/hello:0.4", port = 80, replicas = 2, env = { LOG_LEVEL = "info" },
  cpu = "100m", memory = "128Mi", domain = "www.example.com", health_path = "/healthz",
  autotune = { mode = "recommend", max_memory = "1Gi" } }

-- The request body as an object; an empty body counts as {} (for routes whose fields are optional).
local function optional_body(req)
  if (req.body or "") == "" then return {} end
  return router.body(req)
end

-- Refuses fields other than those listed.
local function only(body, fields, hint)
  for k in pairs(body) do
    if not fields[k] then errors.usage(string.format("unknown field %q", tostring(k)), hint) end
  end
end

---Adds the app routes.
---@param r table kipperd.api.router
---@param deps kipperd.api.Deps
function M.routes(r, deps)
  local check = deps.access
  local c = deps.client

  local function scope(req, need, what) return environment.scope(check, req, need, what) end

  -- The App named in the request, or nil and the 404 response.
  local function find(s, req)
    local name = req.params.app
    local ok = require("kip.util.names").check_label("app", name)
    local app = ok and api.get(c, api.API_VERSION, "App", name, s.namespace)
    if app then return app end
    return nil, environment.not_found(s.project, s.namespace, "app", name, BASE)
  end

  -- Runs fn(scope, app) for the App of the request when the role reaches need.
  local function on_app(need, what, fn)
    return function(req)
      local s, res = scope(req, need, what)
      if not s then return res end
      local app, nres = find(s, req)
      if not app then return nres end
      return fn(s, app, req)
    end
  end

  local function detail(status, s, app)
    return router.json(status, view.detail(c, app, s.environment))
  end

  r:add("GET", BASE, function(req)
    local s, res = scope(req, "viewer")
    if not s then return res end
    local items = {}
    for _, app in ipairs(api.list(c, api.API_VERSION, "App", { namespace = s.namespace })) do
      items[#items + 1] = view.summary(app, s.environment)
    end
    table.sort(items, function(a, b) return a.name < b.name end)
    return router.json(200, { items = json.array(items) })
  end, { summary = "List the apps of a project's environment", tag = "Apps", access = "project viewer",
    query = environment.QUERY, response = { items = { SUMMARY } } })

  r:add("POST", BASE, function(req)
    local s, res = scope(req, "deployer", "deploy apps")
    if not s then return res end
    local body, bad = router.body(req)
    if not body then return bad end
    if body.name == nil then errors.usage("name is required", "Send {\"name\": NAME, \"image\": IMAGE, ...}.") end
    local name = api.check_name("app", body.name)
    local changes = appspec.body_changes(body)
    local app, what = appflow.deploy(c, s.namespace, name, changes, {}, { label = appspec.field_label })
    return detail(what == "created" and 201 or 200, s, app)
  end, { summary = "Deploy an app: create it, or change the fields given (as `kip app deploy`)", tag = "Apps",
    access = "project deployer", query = environment.QUERY, status = 201, body = SPEC_BODY, response = DETAIL,
    description = "Answers 201 when it created the app, 200 when it changed an existing one; only the fields given " ..
      "change anything. It does not wait for the rollout: the app's status tells how it is doing." })

  r:add("GET", ONE, on_app("viewer", nil, function(s, app)
    return detail(200, s, app)
  end), { summary = "An app: spec, status, pods, resources, revision, events", tag = "Apps", access = "project viewer",
    query = environment.QUERY, response = DETAIL })

  r:add("PUT", ONE, on_app("deployer", "update apps", function(s, app, req)
    local body, bad = router.body(req)
    if not body then return bad end
    if body.name ~= nil and body.name ~= app.metadata.name then
      errors.usage(string.format("name %q is not the app's name (%s)", tostring(body.name), app.metadata.name))
    end
    local changes = appspec.body_changes(body)
    if next(changes) == nil then
      errors.usage("nothing to change", "Send at least one of image, port, replicas, env, cpu, memory, domain, health_path, autotune.")
    end
    local out = appflow.deploy(c, s.namespace, app.metadata.name, changes, {}, { label = appspec.field_label, must_exist = true })
    return detail(200, s, out)
  end), { summary = "Change an existing app (the fields given; as `kip app update`)", tag = "Apps",
    access = "project deployer", query = environment.QUERY, body = SPEC_BODY, response = DETAIL })

  r:add("DELETE", ONE, on_app("deployer", "delete apps", function(s, app)
    appflow.delete(c, s.namespace, app.metadata.name)
    return router.empty(204)
  end), { summary = "Delete an app with its instances, routes and secret variables", tag = "Apps",
    access = "project deployer", query = environment.QUERY, status = 204 })

  r:add("POST", ONE .. "/scale", on_app("deployer", "scale apps", function(s, app, req)
    local body, bad = router.body(req)
    if not body then return bad end
    only(body, { replicas = true }, "Send {\"replicas\": N}.")
    if body.replicas == nil then errors.usage("replicas is required", "Send {\"replicas\": N}.") end
    local n = appspec.check_int("replicas", body.replicas, 0, 10000, appspec.field_label)
    return detail(200, s, (appflow.scale(c, app, n)))
  end), { summary = "Set how many instances of an app run (as `kip app scale`)", tag = "Apps",
    access = "project deployer", query = environment.QUERY, body = { replicas = 3 }, response = DETAIL })

  r:add("POST", ONE .. "/restart", on_app("deployer", "restart apps", function(_, app)
    local _, stamp = appflow.restart(c, app)
    return router.json(202, { restarted_at = stamp })
  end), { summary = "Restart every instance of an app, one by one (as `kip app restart`)", tag = "Apps",
    access = "project deployer", query = environment.QUERY, status = 202, response = { restarted_at = "2026-01-01T00:00:00Z" } })

  r:add("POST", ONE .. "/rollback", on_app("deployer", "roll back apps", function(s, app, req)
    local body, bad = optional_body(req)
    if not body then return bad end
    only(body, { revision = true }, "Send {} or {\"revision\": N}.")
    local want = body.revision ~= nil and appspec.check_int("revision", body.revision, 1, nil, appspec.field_label) or nil
    local spec, rev = history.rollback_spec(c, app, want)
    if not spec then
      errors.fail(string.format("cannot roll back app %s: %s", app.metadata.name, rev),
        "GET .../apps/" .. app.metadata.name .. "/history lists the revisions.", want and 404 or 409)
    end
    return detail(200, s, (appflow.write(c, s.namespace, app.metadata.name, app, spec)))
  end), { summary = "Go back to a revision's image and environment (default: the previous one; as `kip app rollback`)",
    tag = "Apps", access = "project deployer", query = environment.QUERY, body = { revision = 2 }, response = DETAIL,
    description = "404 when the revision does not exist, 409 when there is no previous one." })

  r:add("GET", ONE .. "/history", on_app("viewer", nil, function(s, app)
    local revs = history.list(c, app)
    local dep = c:get("apps/v1", "Deployment", app.metadata.name, s.namespace)
    local running = math.tointeger(tonumber(dep and (dep.metadata.annotations or {})[view.REVISION]))
    local current = running or (revs[#revs] and revs[#revs].revision)
    local items = {}
    for i = #revs, 1, -1 do
      local rv = revs[i]
      items[#items + 1] = { revision = rv.revision, image = rv.image, created_at = rv.created, current = rv.revision == current,
        env_count = history.env_count(rv) }
    end
    return router.json(200, { items = json.array(items) })
  end), { summary = "An app's revisions, newest first (as `kip app history`)", tag = "Apps", access = "project viewer",
    query = environment.QUERY, response = { items = { { revision = 3, image = "nginxdemos/hello:0.4",
      created_at = "2026-01-01T00:00:00Z", current = true, env_count = 1 } } } })

  r:add("GET", ONE .. "/env", on_app("viewer", nil, function(_, app)
    return router.json(200, { env = app.spec.env or {} })
  end), { summary = "An app's environment variables", tag = "Apps", access = "project viewer",
    query = environment.QUERY, response = { env = { LOG_LEVEL = "info" } } })

  r:add("PUT", ONE .. "/env", on_app("deployer", "change app environments", function(s, app, req)
    local body, bad = router.body(req)
    if not body then return bad end
    only(body, { set = true, unset = true }, "Send {\"set\": {NAME: value}, \"unset\": [NAME]}.")
    local set, unset = {}, {}
    if body.set ~= nil then
      if type(body.set) ~= "table" or (next(body.set) and json.is_array(body.set)) then
        errors.usage("set takes an object of NAME: value")
      end
      for k, v in pairs(body.set) do
        appspec.check_env_name("variable", k)
        if type(v) ~= "string" then errors.usage(string.format("set.%s takes a string, not %s", k, json.encode(v))) end
        set[k] = v
      end
    end
    if body.unset ~= nil then
      if type(body.unset) ~= "table" or (next(body.unset) and not json.is_array(body.unset)) then
        errors.usage("unset takes a list of names")
      end
      for _, k in ipairs(body.unset) do unset[#unset + 1] = appspec.check_env_name("variable", k) end
    end
    if next(set) == nil and #unset == 0 then errors.usage("nothing to change", "Send set, unset or both.") end
    local spec = appspec.edit_env(app.spec, set, unset)
    local out = appflow.write(c, s.namespace, app.metadata.name, app, spec)
    return router.json(200, { env = out.spec.env or {} })
  end), { summary = "Set and unset an app's environment variables (as `kip app env set|unset`)", tag = "Apps",
    access = "project deployer", query = environment.QUERY, body = { set = { LOG_LEVEL = "debug" }, unset = { "OLD" } },
    response = { env = { LOG_LEVEL = "debug" } } })

  r:add("GET", ONE .. "/secrets", on_app("viewer", nil, function(s, app)
    return router.json(200, { names = json.array(secrets.keys(secrets.get(c, s.namespace, app.metadata.name))) })
  end), { summary = "The names of an app's secret variables (never their values)", tag = "Apps",
    access = "project viewer", query = environment.QUERY, response = { names = { "DATABASE_PASSWORD" } } })
end

return M
