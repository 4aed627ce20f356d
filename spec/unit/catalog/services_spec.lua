-- SPDX-License-Identifier: Apache-2.0
-- kip.catalog.services and kip.catalog.validate: the built-in entries, the checks on an entry and
-- their messages, lookups, and the extension by plugins/catalog/NAME.lua through the plugin search
-- order, run in the real kip with KIP_PLUGIN_PATH.
local catalog = require "kip.catalog.services"
local helpers = require "helpers"
local json = require "kip.json"

local function entry(over)
  local e = catalog.builtin().postgres
  for k, v in pairs(over) do
    if v == "nil" then e[k] = nil else e[k] = v end
  end
  return e
end

describe("kip.catalog.services", function()
  it("has the six built-in types, each a valid entry", function()
    local cat = catalog.load()
    assert.same({ "minio", "mongodb", "mysql", "postgres", "rabbitmq", "redis" }, catalog.types(cat))
    for name, e in pairs(catalog.builtin()) do
      assert.same({ true }, { catalog.check(name, e) }, name)
    end
  end)

  it("runs the versions the issue names by default", function()
    local b = catalog.builtin()
    assert.same({ "17", "8.4", "7.4", "8.0", "4.1-management" },
      { b.postgres.version, b.mysql.version, b.redis.version, b.mongodb.version, b.rabbitmq.version })
    assert.matches("^RELEASE%.2025%-", b.minio.version)
    for name, e in pairs(b) do
      assert.is_string(e.credentials.username, name)
      assert.same({ random = 16 }, e.credentials.password, name)
    end
  end)

  it("gives copies, so a plugin may start from a built-in", function()
    local b = catalog.builtin()
    b.postgres.version = "changed"
    assert.equal("17", catalog.builtin().postgres.version)
  end)

  it("looks an entry up, or says what it has", function()
    local cat = catalog.load()
    assert.equal(5432, catalog.get(cat, "postgres").port)
    local e, msg = catalog.get(cat, "db2")
    assert.is_nil(e)
    assert.equal('unknown service type "db2": the catalog has minio, mongodb, mysql, postgres, rabbitmq, redis '
      .. "(a site adds one as plugins/catalog/db2.lua)", msg)
  end)

  describe("refuses an entry with", function()
    local cases = {
      { "a bad type name", "Bad_Name", entry({}), "the type name must be a DNS label" },
      { "an unknown field", "x", entry({ imagePullPolicy = "Always" }), 'unknown field "imagePullPolicy"' },
      { "a tag in the image", "x", entry({ image = "postgres:17" }), "image must be an image repository without a tag" },
      { "no image", "x", entry({ image = "nil" }),
        "image must be an image repository without a tag, e.g. docker.io/library/postgres (it is nil)" },
      { "a bad version", "x", entry({ version = "latest please" }), 'version must be an image tag, e.g. "17" (it is "latest please")' },
      { "a bad port", "x", entry({ port = "5432" }), 'port must be an integer from 1 to 65535 (it is "5432")' },
      { "a bad extra port", "x", entry({ ports = { { name = "Console_Port", port = 1 } } }), "ports[1] must be { name = NAME, port = NUMBER }" },
      { "a relative data path", "x", entry({ data_path = "data" }), 'data_path must be an absolute path (it is "data")' },
      { "a bad storage size", "x", entry({ storage = "ten gigs" }), 'storage must be a size like "10Gi" (it is "ten gigs")' },
      { "an unknown profile", "x", entry({ profile = "huge" }), "profile must be lightweight, standard, compute-heavy, memory-heavy or jvm" },
      { "no password", "x", entry({ credentials = { username = "a" }, env = {}, url = "x://{username}" }),
        'credentials must have "password" (the credentials Secret always holds it)' },
      { "a reserved credentials key", "x", entry({ credentials = { username = "a", password = "b", host = "h" } }), 'credentials key "host" is reserved' },
      { "a bad random size", "x", entry({ credentials = { username = "a", password = { random = 4 } } }),
        "credentials.password must be a string or { random = BYTES } with BYTES from 8 to 64" },
      { "an env naming no credential", "x", entry({ env = { { name = "PGPASSWORD", key = "pass" } } }),
        'env[1] (PGPASSWORD) names credentials key "pass", which is not in credentials (nor host, port or url)' },
      { "an env with both key and value", "x", entry({ env = { { name = "A", key = "password", value = "x" } } }),
        "env[1] (A) must have exactly one of key and value" },
      { "an env set twice", "x", entry({ env = { { name = "A", value = "1" }, { name = "A", value = "2" } } }), "env[2] sets A a second time" },
      { "a bad env name", "x", entry({ env = { { name = "1A", value = "1" } } }), "env[1].name must be an environment variable name" },
      { "a URL naming an unknown key", "x", entry({ url = "postgres://{user}@{host}" }),
        "url names {user}, which is not a credentials key (nor host or port)" },
      { "args that are not strings", "x", entry({ args = { "--port", 5432 } }), "args must be a list of strings" },
      { "no security context", "x", entry({ security_context = "nil" }), "security_context must be set, with runAsUser" },
      { "root", "x", entry({ security_context = { runAsUser = 0 } }), "security_context.runAsUser must be the image's non-root user id" },
      { "a privileged security context", "x", entry({ security_context = { runAsUser = 1, privileged = true } }),
        'security_context has unknown field "privileged"' },
      { "a bad probe", "x", entry({ probe = { http = "health" } }), 'probe must be { command = { ... } } or { http = "/path" }' },
      { "a non-table", "x", "postgres", "an entry must be a table (it is a string)" },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        local ok, msg = catalog.check(c[2], c[3])
        assert.is_nil(ok)
        assert.equal(string.format("catalog entry %q: ", c[2]), msg:sub(1, #c[2] + 18))
        assert.is_truthy(msg:find(c[4], 1, true), msg)
      end)
    end
  end)

  describe("plugins", function()
    local dir, home
    before_each(function()
      dir = helpers.tmpdir()
      home = helpers.tmpdir()
      helpers.write(dir .. "/site/plugins/catalog/valkey.lua", [[
local e = require("kip.catalog.services").builtin().redis
e.description = "Valkey, a Redis fork"
e.image, e.version = "docker.io/valkey/valkey", "8.1"
e.args = { "valkey-server", "--requirepass", "$(REDIS_PASSWORD)" }
return e
]])
      helpers.write(dir .. "/site/plugins/catalog/redis.lua", [[
local e = require("kip.catalog.services").builtin().redis
e.image = "registry.internal:5000/library/redis"
return e
]])
      helpers.write(dir .. "/site/plugins/catalog/broken.lua", [[
local e = require("kip.catalog.services").builtin().postgres
e.port = "x"
return e
]])
      helpers.write(dir .. "/site/plugins/catalog/mysql.lua", "return {")
      helpers.write(dir .. "/site/plugins/catalog/README.md", "not a plugin")
    end)
    after_each(function()
      helpers.rmtree(dir)
      helpers.rmtree(home)
    end)

    it("add and replace types, and keep the errors of broken ones", function()
      local script = [[
local c = require("kip.catalog.services")
local cat = c.load()
local json = require("kip.json")
print(json.encode({ types = c.types(cat), errors = cat.errors, sources = cat.sources,
  redis = cat.entries.redis.image, valkey = cat.entries.valkey.version }))
]]
      local r = helpers.kip({ "lua", "-" }, { stdin = script, env = { KIP_PLUGIN_PATH = dir .. "/site", KIP_HOME = home } })
      assert.equal(0, r.status, r.stderr)
      local got = assert(json.decode(r.stdout))
      assert.same({ "minio", "mongodb", "postgres", "rabbitmq", "redis", "valkey" }, got.types)
      assert.equal("registry.internal:5000/library/redis", got.redis)
      assert.equal("8.1", got.valkey)
      assert.equal(dir .. "/site/plugins/catalog/valkey.lua", got.sources.valkey)
      assert.equal("builtin", got.sources.postgres)
      assert.equal('catalog entry "broken": port must be an integer from 1 to 65535 (it is "x") (from ' .. dir .. "/site/plugins/catalog/broken.lua)",
        got.errors.broken)
      -- a broken replacement of a built-in is not silently the built-in
      assert.matches("mysql%.lua:1: unexpected symbol near <eof>", got.errors.mysql)
    end)

    it("are listed by kip plugins", function()
      local r = helpers.kip({ "plugins", "--kind", "catalog", "-o", "json" }, { env = { KIP_PLUGIN_PATH = dir .. "/site", KIP_HOME = home } })
      assert.equal(0, r.status, r.stderr)
      local names = {}
      for _, p in ipairs(assert(json.decode(r.stdout))) do names[#names + 1] = p.name .. (p.error and " (error)" or "") end
      assert.same({ "broken", "mysql (error)", "redis", "valkey" }, names)
    end)
  end)
end)
