-- SPDX-License-Identifier: Apache-2.0
-- `kip service add|list|info|bind|delete` through the real kip against the real sandbox API with
-- Kipper's CRDs: checks before anything is sent, the Service kip writes, waiting on the status
-- (written by the spec as kipperd would), the connection details from the credentials Secret with
-- the password masked, binding to an app, deleting with and without the data. Then end to end
-- with the real kipperd and policies (pending while they do not exist).
local json = require "kip.json"
local kipcli = require "helpers.kipcli"
local tls = require "kip.tls"

local AV = kipcli.AV
local eventually = kipcli.eventually

describe("kip service (sandbox API, status written by the spec)", function()
  local env

  setup(function() env = kipcli.start() end)
  teardown(function() if env then env:stop() end end)

  it("refuses unknown types, bad names and values before sending anything", function()
    local cases = {
      { { "service", "add", "oracle", "--name", "db" }, "unknown service type \"oracle\"" },
      { { "service", "add", "postgres", "--name", "DB" }, "invalid service name \"DB\"" },
      { { "service", "add", "postgres" }, "--name is required" },
      { { "service", "add", "postgres", "--name", "db", "--storage", "lots" }, "--storage takes a quantity" },
      { { "service", "add", "postgres", "--name", "db", "--version", "16 beta" }, "--version takes an image tag" },
      { { "service", "bind", "db", "api", "--prefix", "1X" }, "--prefix takes letters" },
      { { "service", "info", "Db" }, "invalid service name" },
    }
    for _, case in ipairs(cases) do
      local r = env:kip(case[1])
      assert.equal(2, r.status, table.concat(case[1], " ") .. ": " .. r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
    end
    assert.same({}, assert(env.c:list(AV, "Service", { namespace = "default" })).items)
    local r = env:kip({ "service", "add", "oracle", "--name", "db" })
    for _, t in ipairs({ "postgres", "mysql", "redis", "mongodb", "rabbitmq", "minio" }) do assert.matches(t, r.stderr, 1, true) end
  end)

  it("adds a service and waits until it is ready", function()
    local h = env:kip_bg({ "service", "add", "postgres", "--name", "db", "--version", "16", "--storage", "2Gi", "--timeout", "30" })
    assert(eventually(function() return env:kipper("Service", "db") end, 10))
    local svc = env:kipper("Service", "db")
    assert.same({ type = "postgres", version = "16", storage = "2Gi" }, svc.spec)
    env:set_status("Service", "db", "default", { phase = "Ready", host = "db.default.svc.cluster.local", port = 5432,
      credentialsSecret = "db-credentials",
      conditions = { { type = "Ready", status = "True", reason = "Available", message = "1 instance ready" } } })
    local r = h:wait(30)
    assert.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("Service db (postgres) created in namespace default.", r.stdout, 1, true)
    assert.matches("Starting db: ready", r.stdout, 1, true)
    assert.matches("Service db is ready at db.default.svc.cluster.local:5432.", r.stdout, 1, true)
  end)

  it("adds again with the same type to change a flag, and refuses another type", function()
    local r = env:ok({ "service", "add", "postgres", "--name", "db", "--version", "17", "--no-wait" })
    assert.matches("Service db (postgres) configured", r.stdout, 1, true)
    assert.same({ type = "postgres", version = "17", storage = "2Gi" }, env:kipper("Service", "db").spec)
    r = env:kip({ "service", "add", "redis", "--name", "db", "--no-wait" })
    assert.equal(1, r.status)
    assert.matches("service db in namespace default already exists as a postgres service", r.stderr, 1, true)
  end)

  it("lists services", function()
    env:ok({ "service", "add", "redis", "--name", "cache", "--no-wait" })
    local r = env:ok({ "service", "list" })
    assert.matches("^NAME%s+TYPE%s+VERSION%s+PHASE%s+HOST%s+AGE\n", r.stdout)
    assert.matches("\ncache%s+redis%s+%d+s\n", r.stdout)
    assert.matches("\ndb%s+postgres%s+17%s+Ready%s+db%.default%.svc%.cluster%.local%s+%d+s\n", r.stdout)
    local list = json.decode(env:ok({ "service", "list", "-o", "json" }).stdout)
    assert.equal(2, #list)
    assert.equal("", env:ok({ "service", "list", "-n", "other" }).stdout)
  end)

  it("shows how to connect, with the password masked unless --show-password", function()
    local url = "postgresql://app:Pa55-word-xyz@db.default.svc.cluster.local:5432/app"
    local data = {}
    for k, v in pairs({ host = "db.default.svc.cluster.local", port = "5432", username = "app", password = "Pa55-word-xyz",
      url = url, database = "app" }) do data[k] = tls.base64_encode(v) end
    env:put({ apiVersion = "v1", kind = "Secret", metadata = { name = "db-credentials", namespace = "default" }, data = data })
    local r = env:ok({ "service", "info", "db" })
    assert.matches("Type:        postgres\n", r.stdout, 1, true)
    assert.matches("Host:        db.default.svc.cluster.local\n", r.stdout, 1, true)
    assert.matches("Port:        5432\n", r.stdout, 1, true)
    assert.matches("Phase:       Ready\n", r.stdout, 1, true)
    assert.matches("URL:         postgresql://app:****@db.default.svc.cluster.local:5432/app\n", r.stdout, 1, true)
    assert.is_nil(r.stdout:find("Pa55", 1, true))
    r = env:ok({ "service", "info", "db", "--show-password" })
    assert.matches("URL:         " .. url, r.stdout, 1, true)
    local j = json.decode(env:ok({ "service", "info", "db", "-o", "json" }).stdout)
    assert.is_nil(j.password)
    assert.equal("app", j.username)
    assert.equal(5432, j.port)
    assert.matches("****", j.url, 1, true)
    j = json.decode(env:ok({ "service", "info", "db", "-o", "json", "--show-password" }).stdout)
    assert.equal("Pa55-word-xyz", j.password)
    r = env:kip({ "service", "info", "nope" })
    assert.equal(1, r.status)
    assert.matches("there is no service nope in namespace default", r.stderr, 1, true)
  end)

  it("binds a service to an app, and changes the prefix when bound again", function()
    env:ok({ "app", "deploy", "--name", "api", "--image", "acme/api:1", "--no-wait" })
    env:ok({ "service", "bind", "db", "api", "--prefix", "DATABASE_", "--no-wait" })
    assert.same({ { service = "db", envPrefix = "DATABASE_" } }, env:kipper("App", "api").spec.serviceBindings)
    env:ok({ "service", "bind", "cache", "api", "--no-wait" })
    env:ok({ "service", "bind", "db", "api", "--prefix", "PG_", "--no-wait" })
    assert.same({ { service = "db", envPrefix = "PG_" }, { service = "cache" } }, env:kipper("App", "api").spec.serviceBindings)
    assert.equal("acme/api:1", env:kipper("App", "api").spec.image)
    local r = env:kip({ "service", "bind", "ghost", "api", "--no-wait" })
    assert.equal(1, r.status)
    assert.matches("there is no service ghost", r.stderr, 1, true)
    r = env:kip({ "service", "bind", "db", "ghost", "--no-wait" })
    assert.equal(1, r.status)
    assert.matches("there is no app ghost", r.stderr, 1, true)
  end)

  it("deletes a service, keeping its data unless --delete-data, which it marks first", function()
    local r = env:kip({ "service", "delete", "cache" })
    assert.equal(1, r.status)
    assert.matches("refusing to delete service cache (redis) in namespace default (its volume and credentials are kept)", r.stderr, 1, true)
    r = env:ok({ "service", "delete", "cache", "--yes" })
    assert.matches("app api is bound to service cache and will lose it", r.stderr, 1, true)
    assert.matches("Its volume (PVC data-cache-0) and Secret cache-credentials are kept", r.stdout, 1, true)
    assert(eventually(function() return env:kipper("Service", "cache") == nil end, 5))
    -- kipperd's finalizer holds a Service while it cleans up: stand in for it to see the mark
    env:kubectl({ "patch", "services.kipper.run/db", "--type=merge", "-p", '{"metadata":{"finalizers":["kipper.run/service-data"]}}' })
    r = env:ok({ "service", "delete", "db", "--delete-data", "--yes" })
    assert.matches("kipperd deletes its volume and credentials", r.stdout, 1, true)
    local svc = env:kipper("Service", "db")
    assert.equal("true", svc.metadata.annotations["kipper.run/delete-data"])
    assert.truthy(svc.metadata.deletionTimestamp)
    env:kubectl({ "patch", "services.kipper.run/db", "--type=merge", "-p", '{"metadata":{"finalizers":null}}' })
    assert(eventually(function() return env:kipper("Service", "db") == nil end, 5))
  end)

  it("has help with examples for every verb", function()
    local cmd = require "kip.cmd.service"
    for _, verb in ipairs(cmd.verb_order) do
      local r = env:ok({ "service", verb, "--help" })
      assert.matches("\nExamples:\n  kip service " .. verb, r.stdout, 1, true)
    end
  end)
end)

describe("kip service end to end with kipperd", function()
  assert(kipcli.kipperd_available()) -- kipperd is built with kip; the real policies ship with it
  local env
  setup(function() env = kipcli.start({ kipperd = true }) end)
  teardown(function() if env then env:stop() end end)

  it("adds postgres, waits for Ready and shows its connection URL, masked", function()
    local r = env:kip({ "service", "add", "postgres", "--name", "db", "--timeout", "60" }, { timeout = 90 })
    assert.equal(0, r.status, r.stdout .. r.stderr .. env.kd:output())
    assert.matches("Service db is ready at db.default.svc.cluster.local:5432.", r.stdout, 1, true)
    r = env:ok({ "service", "info", "db" })
    assert.matches("URL:%s+postgres%w*://[^:]+:%*%*%*%*@db%.default%.svc%.cluster%.local:5432", r.stdout)
    local creds = env:get("v1", "Secret", "db-credentials")
    local password = tls.base64_decode(creds.data.password)
    assert.is_nil(r.stdout:find(password, 1, true))
    assert.matches(password, env:ok({ "service", "info", "db", "--show-password" }).stdout, 1, true)
  end)

  it("binds it to an app, whose pods get its variables", function()
    env:ok({ "app", "deploy", "--name", "api", "--image", "nginx:1.27", "--port", "80", "--timeout", "60" }, { timeout = 90 })
    env:ok({ "service", "bind", "db", "api", "--prefix", "DATABASE_", "--timeout", "60" }, { timeout = 90 })
    local d = env:get("apps/v1", "Deployment", "api")
    local names = {}
    for _, e in ipairs(d.spec.template.spec.containers[1].env or {}) do names[#names + 1] = e.name end
    assert.matches("DATABASE_", table.concat(names, " "), 1, true)
  end)

  it("keeps the volume and credentials on delete, and removes them with --delete-data", function()
    env:ok({ "service", "add", "redis", "--name", "cache", "--timeout", "60" }, { timeout = 90 })
    env:ok({ "service", "delete", "cache", "--yes" })
    assert(eventually(function() return env:kipper("Service", "cache") == nil end, 20))
    assert.truthy(env:get("v1", "Secret", "cache-credentials"))
    env:ok({ "service", "delete", "db", "--delete-data", "--yes" })
    assert(eventually(function() return env:kipper("Service", "db") == nil end, 20))
    assert(eventually(function() return env:get("v1", "Secret", "db-credentials") == nil end, 20))
    assert(eventually(function() return env:get("v1", "PersistentVolumeClaim", "data-db-0") == nil end, 20))
  end)
end)
