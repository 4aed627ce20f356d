-- SPDX-License-Identifier: Apache-2.0
-- `kip project create|list|use|delete` through the real kip against the real sandbox API with
-- Kipper's CRDs: checks before anything is sent, the Project kip writes, the project and
-- environment `use` keeps in config.yaml, and the namespace app and service commands then work in
-- (PROJECT or PROJECT-ENV; flags win; status.namespaces settles it). Then end to end with the
-- real kipperd and policies (pending while they do not exist).
local fs = require "kip.fs"
local json = require "kip.json"
local kipcli = require "helpers.kipcli"
local yaml = require "kip.yaml"

local AV = kipcli.AV
local eventually = kipcli.eventually

describe("kip project (sandbox API, status written by the spec)", function()
  local env

  setup(function() env = kipcli.start({ extra_config = "  ssh-user: root\n" }) end)
  teardown(function() if env then env:stop() end end)

  local function cluster_entry()
    return yaml.decode(assert(fs.read(env.home .. "/config.yaml"))).clusters[1]
  end

  local function namespace(name)
    env:put({ apiVersion = "v1", kind = "Namespace", metadata = { name = name } })
  end

  it("refuses bad names, environments and members before sending anything", function()
    local cases = {
      { { "project", "create", "Shop" }, "invalid project name \"Shop\"" },
      { { "project", "create", "shop", "--environment", "Prod" }, "invalid environment name \"Prod\"" },
      { { "project", "create", "shop", "--environment", "prod:cpu=lots" }, "--environment prod: cpu takes a quantity" },
      { { "project", "create", "shop", "--environment", "prod:gpus=1" }, "unknown quota \"gpus\"" },
      { { "project", "create", "shop", "--environment", "prod:pods=-2" }, "pods takes a whole number" },
      { { "project", "create", "shop", "--environment", "a", "--environment", "a" }, "--environment a is given twice" },
      { { "project", "create", "shop", "--member", "ana@example.com:boss" }, "unknown role \"boss\"" },
      { { "project", "create", "shop", "--member", "not-an-email:owner" }, "is not an e-mail address" },
      { { "project", "create", "kube" , "--environment", "system" }, "which the system uses" },
      { { "project", "create", "default" }, "would be namespace default, which the system uses" },
      { { "project", "use" }, "missing NAME" },
      { { "project", "use", "shop", "--none" }, "--none takes no project" },
    }
    for _, case in ipairs(cases) do
      local r = env:kip(case[1])
      assert.equal(2, r.status, table.concat(case[1], " ") .. ": " .. r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
    end
    assert.same({}, assert(env.c:list(AV, "Project", {})).items)
  end)

  it("creates a project with environments, quotas and members", function()
    local r = env:ok({ "project", "create", "shop", "--display-name", "Web shop", "--environment", "staging",
      "--environment", "production:cpu=4,memory=8Gi,pods=40", "--member", "ana@example.com:owner",
      "--member", "ci@example.com:deployer", "--member", "bo@example.com", "--no-wait" })
    assert.matches("Project shop created.", r.stdout, 1, true)
    local p = env:kipper("Project", "shop")
    assert.equal("Web shop", p.spec.displayName)
    assert.same({ { name = "staging" }, { name = "production", quota = { cpu = "4", memory = "8Gi", pods = 40 } } },
      p.spec.environments)
    assert.same({ { email = "ana@example.com", role = "owner" }, { email = "ci@example.com", role = "deployer" },
      { email = "bo@example.com", role = "viewer" } }, p.spec.members)
    r = env:kip({ "project", "create", "shop", "--no-wait" })
    assert.equal(1, r.status)
    assert.matches("project shop already exists", r.stderr, 1, true)
  end)

  it("waits for the project to be ready", function()
    local h = env:kip_bg({ "project", "create", "blog", "--timeout", "30" })
    assert(eventually(function() return env:kipper("Project", "blog") end, 10))
    env:set_status("Project", "blog", nil, { phase = "Ready", namespaces = json.array({ "blog" }),
      conditions = { { type = "Ready", status = "True", reason = "NamespacesActive", message = "namespace blog is active" } } })
    local r = h:wait(30)
    assert.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("Project blog is ready: namespaces blog.", r.stdout, 1, true)
  end)

  it("lists projects and marks the one in use", function()
    local r = env:ok({ "project", "list" })
    assert.matches("^CURRENT%s+NAME%s+DISPLAY%-NAME%s+ENVIRONMENTS%s+NAMESPACES%s+PHASE%s+AGE\n", r.stdout)
    assert.matches("\n%s+blog%s+default%s+blog%s+Ready%s+%d+s\n", r.stdout)
    assert.matches("\n%s+shop%s+Web shop%s+staging,production%s+%d+s\n", r.stdout)
    local list = json.decode(env:ok({ "project", "list", "-o", "json" }).stdout)
    assert.equal(2, #list)
  end)

  it("uses a project: stored on the cluster's entry, and app commands work in its namespace", function()
    local r = env:kip({ "project", "use", "shop" })
    assert.equal(2, r.status)
    assert.matches("project shop has environments staging, production: pick one with --environment", r.stderr, 1, true)
    r = env:kip({ "project", "use", "shop", "--environment", "qa" })
    assert.equal(1, r.status)
    assert.matches("project shop has no environment qa (it has staging, production)", r.stderr, 1, true)
    r = env:kip({ "project", "use", "ghost" })
    assert.equal(1, r.status)
    assert.matches("there is no project ghost", r.stderr, 1, true)
    r = env:ok({ "project", "use", "shop", "--environment", "staging" })
    assert.matches("now uses project shop, environment staging: app and service commands work in namespace shop-staging",
      r.stdout, 1, true)
    local entry = cluster_entry()
    assert.equal("shop", entry.project)
    assert.equal("staging", entry.environment)
    assert.equal("root", entry["ssh-user"])
    assert.matches("\n%*%s+shop%s", env:ok({ "project", "list" }).stdout)

    namespace("shop-staging")
    namespace("shop-production")
    env:ok({ "app", "deploy", "--name", "api", "--image", "acme/api:1", "--no-wait" })
    assert.truthy(env:kipper("App", "api", "shop-staging"))
    env:ok({ "app", "deploy", "--name", "api", "--image", "acme/api:1", "--environment", "production", "--no-wait" })
    assert.truthy(env:kipper("App", "api", "shop-production"))
    env:ok({ "app", "deploy", "--name", "api", "--image", "acme/api:1", "-n", "default", "--no-wait" })
    assert.truthy(env:kipper("App", "api", "default"))
    env:ok({ "service", "add", "redis", "--name", "cache", "--no-wait" })
    assert.truthy(env:kipper("Service", "cache", "shop-staging"))
    r = env:ok({ "app", "list" })
    assert.matches("^NAME", r.stdout)
    assert.is_nil(r.stdout:find("NAMESPACE", 1, true))
    r = env:kip({ "app", "list", "--environment", "qa" })
    assert.equal(1, r.status)
    assert.matches("project shop has no environment qa", r.stderr, 1, true)
    -- a project with one environment: commands use it without being told
    namespace("blog")
    env:ok({ "app", "deploy", "--name", "site", "--image", "acme/site:1", "--project", "blog", "--no-wait" })
    assert.truthy(env:kipper("App", "site", "blog"))
  end)

  it("follows the namespaces kipperd reports when they differ from the rule", function()
    env:ok({ "project", "create", "solo", "--environment", "live", "--no-wait" })
    env:set_status("Project", "solo", nil, { phase = "Ready", namespaces = json.array({ "solo" }),
      conditions = { { type = "Ready", status = "True", reason = "NamespacesActive", message = "namespace solo is active" } } })
    namespace("solo")
    env:ok({ "app", "deploy", "--name", "x", "--image", "acme/x:1", "--project", "solo", "--no-wait" })
    assert.truthy(env:kipper("App", "x", "solo"))
  end)

  it("stops using a project with --none", function()
    local r = env:ok({ "project", "use", "--none" })
    assert.matches("uses no project now", r.stdout, 1, true)
    local entry = cluster_entry()
    assert.is_nil(entry.project)
    assert.is_nil(entry.environment)
    local list = json.decode(env:ok({ "app", "list", "-o", "json" }).stdout)
    assert.equal(1, #list)
    assert.equal("default", list[1].metadata.namespace)
  end)

  it("deletes a project, asking unless --yes, and forgets it when it was in use", function()
    env:ok({ "project", "use", "blog" })
    local r = env:kip({ "project", "delete", "blog" })
    assert.equal(1, r.status)
    assert.matches("refusing to delete project blog and its namespaces (blog)", r.stderr, 1, true)
    r = env:ok({ "project", "delete", "blog", "--yes" })
    assert.matches("Deleted project blog", r.stdout, 1, true)
    assert.matches("use namespace default again", r.stdout, 1, true)
    assert.is_nil(cluster_entry().project)
    assert(eventually(function() return env:kipper("Project", "blog") == nil end, 5))
  end)

  it("has help with examples for every verb", function()
    for _, verb in ipairs(require("kip.cmd.project").verb_order) do
      assert.matches("\nExamples:\n  kip project " .. verb, env:ok({ "project", verb, "--help" }).stdout, 1, true)
    end
  end)
end)

describe("kip project end to end with kipperd", function()
  assert(kipcli.kipperd_available()) -- kipperd is built with kip; the real policies ship with it
  local env
  setup(function() env = kipcli.start({ kipperd = true }) end)
  teardown(function() if env then env:stop() end end)

  it("creates a project, waits for its namespaces, and deploys into one", function()
    local r = env:kip({ "project", "create", "shop", "--environment", "staging", "--environment", "production:cpu=4,memory=8Gi,pods=40",
      "--member", "ana@example.com:owner", "--timeout", "60" }, { timeout = 90 })
    assert.equal(0, r.status, r.stdout .. r.stderr .. env.kd:output())
    assert.matches("Project shop is ready: namespaces shop-staging, shop-production.", r.stdout, 1, true)
    assert.is_true(#assert(env.c:list("v1", "ResourceQuota", { namespace = "shop-production" })).items > 0)
    env:ok({ "project", "use", "shop", "--environment", "staging" })
    r = env:kip({ "app", "deploy", "--name", "api", "--image", "nginx:1.27", "--port", "80", "--timeout", "60" }, { timeout = 90 })
    assert.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("App api is ready at https://api%-shop%-staging%-203%-0%-113%-10%.kipper%.run", r.stdout)
    env:ok({ "project", "delete", "shop", "--yes" })
    assert(eventually(function() return env:get("v1", "Namespace", "shop-staging", nil) == nil end, 30))
  end)
end)
