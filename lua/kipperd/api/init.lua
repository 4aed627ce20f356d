-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api: the console's JSON API under /api/v1, put together. One router (kipperd.api.router)
-- gets the routes of each endpoint module in M.MODULES (kipperd.api.NAME, each with
-- routes(router, deps)); deps carries what the handlers share: the k8s client, the auth API, the
-- access checks (kipperd.api.access), the reconcile engine (cluster settings, readiness) and the
-- service catalog, and the copy of the users (kipperd.auth.user_cache). Uses kipperd.api.auth,
-- kipperd.api.access, kipperd.api.router and kipperd.auth.user_cache.
local access = require "kipperd.api.access"
local auth_mod = require "kipperd.api.auth"
local router = require "kipperd.api.router"

local M = {}

M.PREFIX = "/api/"
M.BASE = "/api/v1"

-- Endpoint modules, in the order their routes are documented.
-- "meta" comes last: its OpenAPI document lists every route registered before it.
M.MODULES = { "auth", "cluster", "projects", "apps", "logs", "services", "routes", "users", "meta" }

---@class kipperd.api.Deps
---@field client table kip.k8s client
---@field users table kipperd.auth.user_cache: the client kipperd.auth.users reads and writes through
---(main loop: users:start(), users:poll(), users:close())
---@field auth table kipperd.api.auth
---@field access table kipperd.api.access
---@field engine? table kip.reconcile.engine (engine.cluster: the cluster settings once loaded)
---@field catalog? table the service catalog
---@field version string kipperd's version
---@field logs? table kipperd.logs hub of the live log WebSockets (set by kipperd.api.logs; main loop: logs:step)

---Builds the API.
---@param opts {client: table, engine?: table, catalog?: table, secure_cookies?: boolean}
---@return table router the kipperd.api.router to give kipperd.http
---@return kipperd.api.Deps deps
function M.new(opts)
  local r = router.new(M.PREFIX)
  local user_cache = require("kipperd.auth.user_cache").new({ client = opts.client,
    metrics = opts.engine and opts.engine.metrics })
  local auth = auth_mod.new({ client = opts.client, users = user_cache, secure_cookies = opts.secure_cookies })
  local deps = {
    client = opts.client, users = user_cache, auth = auth, access = access.new({ auth = auth, client = opts.client }),
    engine = opts.engine, catalog = opts.catalog, version = require("kip.host").version(),
  }
  for _, name in ipairs(M.MODULES) do
    local mod = require("kipperd.api." .. name)
    if name == "auth" then auth:routes(r) else mod.routes(r, deps) end
  end
  return r, deps
end

return M
