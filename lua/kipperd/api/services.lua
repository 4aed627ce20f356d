-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.services: backing services in the console API. GET /api/v1/catalog (the service
-- types, any user) and, under /api/v1/projects/{project}/services (?environment=ENV): list and
-- read (project viewers), create and delete (deployers), and the connection details with the
-- password (owners; admins count as owners). Writes go through the Service resource as `kip
-- service` writes it, with its checks (kip.apps.services). Uses kipperd.api.{conditions,
-- environment,router} (deps.access checks the roles), kip.apps.{api,format,services},
-- kip.catalog.services and kip.json.
local api = require "kip.apps.api"
local conditions = require "kipperd.api.conditions"
local environment = require "kipperd.api.environment"
local format = require "kip.apps.format"
local json = require "kip.json"
local router = require "kipperd.api.router"
local services = require "kip.apps.services"

local M = {}

local BASE = "/api/v1/projects/{project}/services"
local FIELDS = { name = true, type = true, version = true, storage = true }

-- The catalog: deps.catalog (kipperd's, loaded at start), else loaded now.
local function catalog_of(deps)
  if deps.catalog and deps.catalog.entries then return deps.catalog end
  return require("kip.catalog.services").load()
end

---One catalog entry as the API shows it.
function M.catalog_item(type_, entry)
  local ports = {}
  for _, p in ipairs(entry.ports or {}) do ports[#ports + 1] = { name = p.name, port = p.port } end
  return { type = type_, description = entry.description, image = entry.image, versions = json.array({ entry.version }),
    default_version = entry.version, port = entry.port, ports = json.array(ports), storage = entry.storage }
end

---A Service as the API shows it (no secrets).
---@param svc table the Service
---@param env string|nil its environment
---@param entry table|nil its catalog entry (for the default version and storage)
function M.view(svc, env, entry)
  local st, spec = svc.status or {}, svc.spec or {}
  local ready = format.condition(svc, "Ready")
  return {
    name = svc.metadata.name, namespace = svc.metadata.namespace, environment = env or "default", type = spec.type,
    version = spec.version or (entry and entry.version), storage = spec.storage or (entry and entry.storage),
    ready = st.phase == "Ready" or (ready ~= nil and ready.status == "True"), status = st.phase or "Pending",
    host = st.host, port = st.port, secret = services.secret_name(svc), conditions = conditions.view(svc),
    created_at = svc.metadata.creationTimestamp,
  }
end

-- What a ServiceView may lack (no status yet, a condition without a message).
local VIEW_OPTIONAL = { "host", "port", "version", "storage", "reason", "message", "last_transition_time", "created_at" }

local EXAMPLE = { name = "db", namespace = "shop", environment = "default", type = "postgres", version = "17",
  storage = "10Gi", ready = true, status = "Ready", host = "db.shop.svc.cluster.local", port = 5432,
  secret = "db-credentials", conditions = { { type = "Ready", status = "True", reason = "Ready", message = "1/1 ready",
    last_transition_time = "2026-01-01T00:00:00Z" } }, created_at = "2026-01-01T00:00:00Z" }

---Adds the service routes.
---@param r table kipperd.api.router
---@param deps kipperd.api.Deps
function M.routes(r, deps)
  local check = deps.access
  local c = deps.client

  -- The project, namespace and environment of a request when the caller's role reaches need.
  local function scope(req, need, what) return environment.scope(check, req, need, what) end

  -- The Service named in the request, or nil and the 404/503 response.
  local function find(s, req)
    local name = req.params.service
    local svc, err, code = c:get(api.API_VERSION, "Service", name, s.namespace)
    if svc then return svc end
    if code == "notfound" or code == "invalid" then
      return nil, environment.not_found(s.project, s.namespace, "service", name, BASE)
    end
    return nil, router.api_failed(err)
  end

  r:add("GET", "/api/v1/catalog", function(req)
    local user, res = check:user(req)
    if not user then return res end
    local cat = catalog_of(deps)
    local items = {}
    for _, t in ipairs(require("kip.catalog.services").types(cat)) do items[#items + 1] = M.catalog_item(t, cat.entries[t]) end
    return router.json(200, { items = json.array(items) })
  end, { summary = "The service types that can be created", tag = "Services", access = "any user",
    response = { items = { { type = "postgres", description = "PostgreSQL, a relational database",
      image = "docker.io/library/postgres", versions = { "17" }, default_version = "17", port = 5432,
      ports = { { name = "management", port = 15672 } }, storage = "10Gi" } } } })

  r:add("GET", BASE, function(req)
    local s, res = scope(req, "viewer")
    if not s then return res end
    local list, err = c:list(api.API_VERSION, "Service", { namespace = s.namespace, all = true })
    if not list then return router.api_failed(err) end
    local cat = catalog_of(deps)
    local items = {}
    for _, svc in ipairs(list.items or {}) do items[#items + 1] = M.view(svc, s.environment, cat.entries[svc.spec.type]) end
    table.sort(items, function(a, b) return a.name < b.name end)
    return router.json(200, { items = json.array(items) })
  end, { summary = "List the services of a project's environment", tag = "Services", access = "project viewer",
    query = environment.QUERY, response = { items = { EXAMPLE } }, optional = VIEW_OPTIONAL })

  r:add("POST", BASE, function(req)
    local s, res = scope(req, "deployer", "create services")
    if not s then return res end
    local body, bad = router.body(req)
    if not body then return bad end
    for k in pairs(body) do
      if not FIELDS[k] then
        return router.error(400, string.format("unknown field %q", tostring(k)), "Send name, type, and optionally version and storage.")
      end
    end
    local want = { name = body.name, type = body.type, version = body.version, storage = body.storage }
    local name = services.check(want, function(field) return field end, "GET /api/v1/catalog lists the types.")
    local live, err, code = c:get(api.API_VERSION, "Service", name, s.namespace)
    if live then
      return router.error(409, string.format("service %s already exists in project %s (namespace %s)", name,
        s.project.metadata.name, s.namespace), "Pick another name, or delete it first.")
    elseif code ~= "notfound" then
      return router.api_failed(err)
    end
    local created = api.apply(c, services.object(nil, want, s.namespace))
    return router.json(201, M.view(created, s.environment, catalog_of(deps).entries[want.type]))
  end, { summary = "Create a service (kipperd runs it and makes its credentials)", tag = "Services", access = "project deployer",
    query = environment.QUERY, status = 201, conflict = "A service of that name exists.",
    optional = { "version", "storage", "host", "port", "reason", "message", "last_transition_time", "created_at" },
    body = { name = "db", type = "postgres", version = "17", storage = "10Gi" }, response = EXAMPLE })

  r:add("GET", BASE .. "/{service}", function(req)
    local s, res = scope(req, "viewer")
    if not s then return res end
    local svc, nres = find(s, req)
    if not svc then return nres end
    return router.json(200, M.view(svc, s.environment, catalog_of(deps).entries[svc.spec.type]))
  end, { summary = "A service (without its credentials)", tag = "Services", access = "project viewer",
    query = environment.QUERY, response = EXAMPLE, optional = VIEW_OPTIONAL })

  r:add("GET", BASE .. "/{service}/credentials", function(req)
    local s, res = scope(req, "owner", "read service credentials")
    if not s then return res end
    local svc, nres = find(s, req)
    if not svc then return nres end
    local creds, secret = services.credentials(c, svc)
    if not next(creds) then
      return router.error(404, string.format("service %s has no credentials yet (Secret %s does not exist)", svc.metadata.name, secret),
        "kipperd makes them when it starts the service; try again shortly.")
    end
    local conn = services.connection(svc, creds, true)
    return router.json(200, { username = conn.username, password = conn.password, database = conn.database,
      host = conn.host, port = conn.port, uri = conn.url, secret = secret })
  end, { summary = "A service's connection details, password included", tag = "Services",
    access = "project owner (admins count as owners)", query = environment.QUERY,
    optional = { "username", "password", "database", "uri" },
    response = { username = "app", password = "3f9c...", database = "app", host = "db.shop.svc.cluster.local", port = 5432,
      uri = "postgres://app:3f9c...@db.shop.svc.cluster.local:5432/app", secret = "db-credentials" } })

  r:add("DELETE", BASE .. "/{service}", function(req)
    local s, res = scope(req, "deployer", "delete services")
    if not s then return res end
    local svc, nres = find(s, req)
    if not svc then return nres end
    local data = router.query(req).delete_data
    services.delete(c, s.namespace, svc.metadata.name, data == "true" or data == "1")
    return router.empty(204)
  end, { summary = "Delete a service (its volume and credentials are kept unless delete_data=true)", tag = "Services",
    access = "project deployer", status = 204,
    query = { environment = environment.QUERY.environment, delete_data = "true: also delete its volume and credentials" } })
end

---Counts for the dashboard: {total, ready} over the Services of namespaces.
---@param c table kip.k8s client
---@param namespaces {namespace: string}[] as kipperd.api.environment.namespaces_of gives them
---@return {total: integer, ready: integer}|nil
---@return string? message
function M.count(c, namespaces)
  local list, err = environment.list_in(c, api.API_VERSION, "Service", namespaces)
  if not list then return nil, err end
  local out = { total = #list, ready = 0 }
  for _, svc in ipairs(list) do
    if (svc.status or {}).phase == "Ready" then out.ready = out.ready + 1 end
  end
  return out
end

return M
