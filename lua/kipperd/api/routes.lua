-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.routes: GET /api/v1/routes, every host the cluster's Ingresses serve, in the
-- namespaces of the projects the caller may see (admins: every namespace), each with its project
-- and environment, the App behind it (the Ingress's owner) and its TLS state: whether the host is
-- in the Ingress's tls section, its Secret exists and cert-manager's Certificate of that Secret is
-- Ready (when there is one). Uses kipperd.api.environment, kipperd.api.router, kip.apps.format and
-- kip.json.
local environment = require "kipperd.api.environment"
local format = require "kip.apps.format"
local json = require "kip.json"
local router = require "kipperd.api.router"

local M = {}

-- The App an Ingress serves: its owner App, else its app.kubernetes.io/instance label when the
-- component is "app".
local function app_of(ing)
  for _, o in ipairs(ing.metadata.ownerReferences or {}) do
    if o.kind == "App" then return o.name end
  end
  local l = ing.metadata.labels or {}
  if l["app.kubernetes.io/component"] == "app" then return l["app.kubernetes.io/instance"] end
end

-- The TLS state of a host's certificate Secret: {enabled, secret, ready, issuer, message}.
local function tls_state(c, ing, secret_name, cache)
  local ns = ing.metadata.namespace
  local a = ing.metadata.annotations or {}
  local issuer = a["cert-manager.io/cluster-issuer"] or a["cert-manager.io/issuer"]
  local key = ns .. "/" .. secret_name
  if cache[key] then return cache[key] end
  local state = { enabled = true, secret = secret_name, issuer = issuer, ready = false }
  local secret = c:get("v1", "Secret", secret_name, ns)
  local cert = c:get("cert-manager.io/v1", "Certificate", secret_name, ns)
  local cond = cert and format.condition(cert, "Ready")
  if cert then
    state.ready = secret ~= nil and cond ~= nil and cond.status == "True"
    state.message = cond and cond.message or "the certificate has no Ready condition yet"
  else
    state.ready = secret ~= nil
    state.message = secret and "the certificate Secret exists" or
      string.format("Secret %s does not exist yet%s", secret_name, issuer and " (cert-manager issues it)" or "")
  end
  cache[key] = state
  return state
end

-- The routes of one Ingress (the TLS state looked up unless cache is nil).
local function routes_of(c, ing, where, cache)
  local tls_hosts = {}
  for _, t in ipairs(ing.spec and ing.spec.tls or {}) do
    for _, h in ipairs(t.hosts or {}) do tls_hosts[h] = t.secretName end
  end
  local out = {}
  for _, rule in ipairs(ing.spec and ing.spec.rules or {}) do
    local host = rule.host
    if host and host ~= "" then
      local path = rule.http and rule.http.paths and rule.http.paths[1]
      local backend = path and path.backend and path.backend.service
      local secret = tls_hosts[host]
      local tls = { enabled = secret ~= nil, secret = secret, ready = false }
      if secret and cache then tls = tls_state(c, ing, secret, cache) end
      local suffix = (path and path.path and path.path ~= "/") and path.path or ""
      out[#out + 1] = {
        host = host, url = (secret and "https://" or "http://") .. host .. suffix,
        project = where and where.project, environment = where and where.environment,
        namespace = ing.metadata.namespace, ingress = ing.metadata.name, app = app_of(ing),
        service = backend and backend.name, port = backend and backend.port and (backend.port.number or backend.port.name),
        tls = tls,
      }
    end
  end
  return out
end

---The routes a user may see, sorted by host.
---@param c table kip.k8s client
---@param user {email: string, role: string}
---@param opts? {tls?: boolean, namespaces?: table[]} tls = false: skip the certificate lookups (tls.ready
---stays false); namespaces: the user's, as environment.visible_namespaces gave them (not read again)
---@return table[]|nil routes
---@return string? message
function M.list(c, user, opts)
  local namespaces = opts and opts.namespaces
  if not namespaces then
    local projects
    projects, namespaces = environment.visible_namespaces(c, user)
    if not projects then return nil, namespaces end
  end
  local where = {} -- namespace -> {project, environment}
  for _, n in ipairs(namespaces) do where[n.namespace] = n end
  local ingresses
  if user.role == "admin" then
    local list, err = c:list("networking.k8s.io/v1", "Ingress", { all_namespaces = true, all = true })
    if not list then return nil, err end
    ingresses = list.items or {}
  else
    local err
    ingresses, err = environment.list_in(c, "networking.k8s.io/v1", "Ingress", namespaces)
    if not ingresses then return nil, err end
  end
  local out, cache = {}, (not opts or opts.tls ~= false) and {} or nil
  for _, ing in ipairs(ingresses) do
    for _, route in ipairs(routes_of(c, ing, where[ing.metadata.namespace], cache)) do out[#out + 1] = route end
  end
  table.sort(out, function(a, b)
    if a.host ~= b.host then return a.host < b.host end
    return a.namespace < b.namespace
  end)
  return out
end

---Adds GET /api/v1/routes.
---@param r table kipperd.api.router
---@param deps kipperd.api.Deps
function M.routes(r, deps)
  r:add("GET", "/api/v1/routes", function(req)
    local user, res = deps.access:user(req)
    if not user then return res end
    local items, err = M.list(deps.client, user)
    if not items then return router.api_failed(err) end
    return router.json(200, { items = json.array(items) })
  end, { summary = "Every host served, its app and its TLS state", tag = "Routes",
    access = "any user (the projects they may see; admins see every namespace)",
    optional = { "project", "environment", "app", "service", "port", "secret", "issuer", "message" },
    response = { items = { { host = "web-shop.203-0-113-10.kipper.run", url = "https://web-shop.203-0-113-10.kipper.run",
      project = "shop", environment = "default", namespace = "shop", ingress = "web", app = "web", service = "web", port = "http",
      tls = { enabled = true, secret = "web-tls", ready = true, issuer = "letsencrypt",
        message = "Certificate is up to date and has not expired" } } } } })
end

return M
