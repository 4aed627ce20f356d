-- SPDX-License-Identifier: Apache-2.0
-- The service catalog: what each Service type (postgres, mysql, redis, mongodb, rabbitmq, minio)
-- runs, as Lua data, and its extension by plugin modules plugins/catalog/NAME.lua found in the
-- plugin search order (KIP_PLUGIN_PATH, KIP_HOME/plugins, built-ins): a site adds or replaces a
-- type without recompiling. Uses kip.plugins and kip.catalog.validate.
--
-- An entry:
--   description  text for people
--   image        the image repository, without a tag ("docker.io/library/postgres")
--   version      the default tag (spec.version replaces it)
--   port         the port clients connect to; ports: more { name = "console", port = 9001 }
--   data_path    where the volume is mounted; storage: its default size ("10Gi")
--   profile      the default resource profile (standard when left out)
--   credentials  key = "fixed value" or key = { random = BYTES } (hex, 2*BYTES characters),
--                generated once; username and password are required
--   env          list of { name = VAR, key = CREDENTIALS_KEY } (from the Secret) or { name, value }
--   url          connection URL template: {KEY} is replaced by that credentials key
--   args, command  the container's args and command; $(VAR) expands variables from env
--   security_context  pod securityContext fields the image needs: runAsUser (required: the
--                image's non-root user), runAsGroup, fsGroup (so the volume is writable), ...
--   probe        { command = {...} } or { http = "/path" }; left out: a TCP check on port
--
-- The credentials Secret NAME-credentials (in the Service's namespace; kept when the Service is
-- deleted unless it has annotation kipper.run/delete-data: "true") holds:
--   host      NAME.NAMESPACE.svc.cluster.local
--   port      the port, as text
--   username  the user to connect as
--   password  its password
--   url       the connection URL, credentials included
--   and the entry's other credentials keys (database, root-password, ...).
-- Apps bound to the Service (spec.serviceBindings) get PREFIX_HOST, PREFIX_PORT, PREFIX_USER,
-- PREFIX_PASSWORD and PREFIX_URL from these keys.
local plugins = require "kip.plugins"
local validate = require "kip.catalog.validate"

local M = {}

local BUILTIN = {
  postgres = {
    description = "PostgreSQL, a relational database",
    image = "docker.io/library/postgres", version = "17", port = 5432,
    data_path = "/var/lib/postgresql/data", storage = "10Gi", profile = "standard",
    credentials = { username = "app", password = { random = 16 }, database = "app" },
    env = {
      { name = "POSTGRES_USER", key = "username" }, { name = "POSTGRES_PASSWORD", key = "password" },
      { name = "POSTGRES_DB", key = "database" },
      -- a folder below the mount point: a fresh volume may hold lost+found, which initdb refuses
      { name = "PGDATA", value = "/var/lib/postgresql/data/pgdata" },
    },
    url = "postgres://{username}:{password}@{host}:{port}/{database}",
    security_context = { runAsUser = 999, runAsGroup = 999, fsGroup = 999 },
    -- ready only once the server listens on TCP (initdb's temporary server does not)
    probe = { command = { "sh", "-c", 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"' } },
  },
  mysql = {
    description = "MySQL, a relational database",
    image = "docker.io/library/mysql", version = "8.4", port = 3306,
    data_path = "/var/lib/mysql", storage = "10Gi", profile = "memory-heavy",
    credentials = { username = "app", password = { random = 16 }, database = "app", ["root-password"] = { random = 16 } },
    env = {
      { name = "MYSQL_ROOT_PASSWORD", key = "root-password" }, { name = "MYSQL_USER", key = "username" },
      { name = "MYSQL_PASSWORD", key = "password" }, { name = "MYSQL_DATABASE", key = "database" },
    },
    url = "mysql://{username}:{password}@{host}:{port}/{database}",
    security_context = { runAsUser = 999, runAsGroup = 999, fsGroup = 999 },
  },
  redis = {
    description = "Redis, an in-memory data store, persisted to its volume (append-only file)",
    image = "docker.io/library/redis", version = "7.4", port = 6379,
    data_path = "/data", storage = "2Gi", profile = "standard",
    credentials = { username = "default", password = { random = 16 } },
    env = { { name = "REDIS_PASSWORD", key = "password" } },
    args = { "redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data" },
    url = "redis://{username}:{password}@{host}:{port}/0",
    security_context = { runAsUser = 999, runAsGroup = 999, fsGroup = 999 },
  },
  mongodb = {
    description = "MongoDB, a document database",
    image = "docker.io/library/mongo", version = "8.0", port = 27017,
    data_path = "/data/db", storage = "10Gi", profile = "memory-heavy",
    credentials = { username = "app", password = { random = 16 }, database = "app" },
    env = {
      { name = "MONGO_INITDB_ROOT_USERNAME", key = "username" }, { name = "MONGO_INITDB_ROOT_PASSWORD", key = "password" },
      { name = "MONGO_INITDB_DATABASE", key = "database" },
    },
    url = "mongodb://{username}:{password}@{host}:{port}/{database}?authSource=admin",
    security_context = { runAsUser = 999, runAsGroup = 999, fsGroup = 999 },
  },
  rabbitmq = {
    description = "RabbitMQ, a message broker, with its management UI on port 15672",
    image = "docker.io/library/rabbitmq", version = "4.1-management", port = 5672,
    ports = { { name = "management", port = 15672 } },
    data_path = "/var/lib/rabbitmq", storage = "5Gi", profile = "standard",
    credentials = { username = "app", password = { random = 16 } },
    env = { { name = "RABBITMQ_DEFAULT_USER", key = "username" }, { name = "RABBITMQ_DEFAULT_PASS", key = "password" } },
    url = "amqp://{username}:{password}@{host}:{port}/",
    security_context = { runAsUser = 999, runAsGroup = 999, fsGroup = 999 },
  },
  minio = {
    description = "MinIO, S3-compatible object storage (the username and password are the access and secret keys), console on port 9001",
    image = "quay.io/minio/minio", version = "RELEASE.2025-04-22T22-12-26Z", port = 9000,
    ports = { { name = "console", port = 9001 } },
    data_path = "/data", storage = "20Gi", profile = "standard",
    credentials = { username = "app", password = { random = 16 } },
    env = { { name = "MINIO_ROOT_USER", key = "username" }, { name = "MINIO_ROOT_PASSWORD", key = "password" } },
    -- as a non-root user without a home folder, keep MinIO's certificate folder in /tmp
    args = { "server", "/data", "--console-address", ":9001", "--certs-dir", "/tmp/certs" },
    url = "http://{host}:{port}",
    security_context = { runAsUser = 1000, runAsGroup = 1000, fsGroup = 1000 },
    probe = { http = "/minio/health/ready" },
  },
}

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

---The built-in entries (a fresh copy, so a plugin may start from one and change it).
---@return table<string, table>
function M.builtin()
  return copy(BUILTIN)
end

---The catalog: built-ins, then plugins/catalog/NAME.lua modules in the plugin search order (a
---plugin of a built-in's name replaces it). An invalid plugin entry is left out (a built-in of its
---name too) and its error kept, so one bad file does not stop the others.
---@return {entries: table<string, table>, errors: table<string, string>, sources: table<string, string>}
---  sources: "builtin" or the plugin's path
function M.load()
  local catalog = { entries = M.builtin(), errors = {}, sources = {} }
  for name in pairs(catalog.entries) do catalog.sources[name] = "builtin" end
  for _, found in ipairs(plugins.find("catalog")) do
    local entry, err = plugins.load("catalog", found.name)
    local ok, msg = false, err
    if entry then ok, msg = validate.check(found.name, entry) end
    if ok then
      catalog.entries[found.name] = entry
      catalog.sources[found.name] = found.path
    else
      catalog.entries[found.name] = nil -- a broken replacement does not fall back to the built-in silently
      catalog.errors[found.name] = string.format("%s (from %s)", msg, found.path)
    end
  end
  return catalog
end

---@param catalog? table from M.load (default: M.load())
---@return string[] the type names, sorted
function M.types(catalog)
  catalog = catalog or M.load()
  local names = {}
  for name in pairs(catalog.entries) do names[#names + 1] = name end
  table.sort(names)
  return names
end

---One entry.
---@param catalog table from M.load
---@param type_ string
---@return table|nil entry
---@return string|nil message why there is none: an invalid plugin's error, or the known types
function M.get(catalog, type_)
  local e = catalog.entries[type_]
  if e then return e end
  if catalog.errors[type_] then return nil, catalog.errors[type_] end
  return nil, string.format("unknown service type %q: the catalog has %s (a site adds one as plugins/catalog/%s.lua)",
    tostring(type_), table.concat(M.types(catalog), ", "), tostring(type_))
end

---Checks one entry (see kip.catalog.validate).
M.check = validate.check

return M
