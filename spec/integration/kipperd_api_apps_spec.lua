-- SPDX-License-Identifier: Apache-2.0
-- kipperd's app endpoints (/api/v1/projects/{project}/apps/...) over real HTTP against the sandbox
-- API and the real kipperd with its real policies (helpers.console_api): deploy, update, read,
-- scale, restart, roll back, history, environment, secret names and delete, each checked on the
-- App in the cluster (and the App becoming Ready: the sandbox runs its Deployment's pods); every
-- role (admin, global deployer and viewer, a project owner, deployer and viewer member, a user
-- with no membership) and the refusals (401, 403, 404, 400 naming the field, 413, 415).
local console_api = require "helpers.console_api"
local json = require "kip.json"
local tls = require "kip.tls"

local AV = "kipper.run/v1alpha1"
local PW = "a long enough passphrase"
local ADMIN, DEPLOYER, VIEWER = "root@example.com", "dep@example.com", "view@example.com"
local OWNER, MDEPLOYER, MVIEWER = "owner@example.com", "mdep@example.com", "mview@example.com"
local OUTSIDER = "out@example.com"

describe("kipperd apps API", function()
  local env, c
  local eventually = console_api.eventually
  local APPS = "/api/v1/projects/shop/apps"
  local STAGING = "?environment=staging"

  setup(function()
    env = console_api.start({ users = {
      { email = ADMIN, role = "admin", password = PW }, { email = DEPLOYER, role = "deployer", password = PW },
      { email = VIEWER, role = "viewer", password = PW }, { email = OWNER, role = "viewer", password = PW },
      { email = MDEPLOYER, role = "viewer", password = PW }, { email = MVIEWER, role = "viewer", password = PW },
      { email = OUTSIDER, role = "viewer", password = PW },
    } })
    c = env.c
    -- two environments and no default: requests must name one
    assert(c:create({ apiVersion = AV, kind = "Project", metadata = { name = "shop" }, spec = {
      environments = { { name = "staging" }, { name = "production" } },
      members = { { email = OWNER, role = "owner" }, { email = MDEPLOYER, role = "deployer" },
        { email = MVIEWER, role = "viewer" } } } }))
    assert(env:project_ready("shop"), "project shop is not ready: " .. env.kd:output())
  end)

  teardown(function()
    if env then env:stop() end
  end)

  local function call(method, path, body, as, headers) return env:call(method, path, body, as, headers) end
  local function app(name, ns) return c:get(AV, "App", name, ns or "shop-staging") end

  -- polls GET until the app's status is Ready with want ready replicas (and check(doc) when given)
  local function ready(name, want, as, check)
    local last
    local doc = eventually(function()
      local status, d = call("GET", APPS .. "/" .. name .. STAGING, nil, as or MVIEWER)
      last = d
      return status == 200 and d.status == "Ready" and d.ready_replicas == want and (not check or check(d)) and d
    end, 30)
    assert(doc, "app " .. name .. " did not become Ready: " .. json.encode(last) .. "\n" .. env.kd:output())
    return doc
  end

  it("deploys an app for a project deployer: 201, the App's spec, Ready in the sandbox", function()
    local status, doc = call("POST", APPS .. STAGING, { name = "web", image = "nginxdemos/hello:0.3", port = 80, replicas = 2,
      env = { LOG_LEVEL = "info" }, cpu = "100m", memory = "128Mi", health_path = "/healthz",
      autotune = { mode = "recommend", max_memory = "1Gi" } }, MDEPLOYER)
    assert.equal(201, status, json.encode(doc))
    assert.equal("web", doc.name)
    assert.equal("shop-staging", doc.namespace)
    assert.equal("staging", doc.environment)
    local a = assert(app("web"))
    assert.equal("nginxdemos/hello:0.3", a.spec.image)
    assert.equal(80, a.spec.port)
    assert.equal(2, a.spec.replicas)
    assert.same({ LOG_LEVEL = "info" }, a.spec.env)
    assert.equal("100m", a.spec.resources.cpu)
    assert.equal("128Mi", a.spec.resources.memory)
    assert.equal("/healthz", a.spec.healthCheck.path)
    assert.equal("recommend", a.spec.autotune.mode)
    assert.equal("1Gi", a.spec.autotune.maxMemory)
    local applied = false -- server-side apply with field manager kip, as `kip app deploy`
    for _, mf in ipairs(a.metadata.managedFields or {}) do applied = applied or (mf.manager == "kip" and mf.operation == "Apply") end
    assert.is_true(applied, json.encode(a.metadata.managedFields))
    local d = ready("web", 2)
    assert.equal(80, d.port)
    assert.equal(2, #d.pods)
    assert.is_true(d.pods[1].ready)
    assert.equal("Running", d.pods[1].phase)
    assert.matches("web%-shop%-staging", d.url)
    assert.equal("recommend", d.autotune.mode)
    assert.equal("/healthz", d.health_path)
    assert.is_true(#d.hosts >= 1)
    local cond
    for _, x in ipairs(d.conditions) do if x.type == "Ready" then cond = x end end
    assert.equal("True", cond and cond.status)
    assert.equal(1, d.revision)
  end)

  it("updates with POST (200, only the fields given change) and PUT; PUT of a missing app is 404", function()
    local status, doc = call("POST", APPS .. STAGING, { name = "web", env = { MODE = "x" } }, OWNER)
    assert.equal(200, status, json.encode(doc))
    assert.same({ LOG_LEVEL = "info", MODE = "x" }, app("web").spec.env)
    assert.equal("nginxdemos/hello:0.3", app("web").spec.image)
    local s2, d2 = call("PUT", APPS .. "/web" .. STAGING, { image = "nginxdemos/hello:0.4" }, DEPLOYER)
    assert.equal(200, s2, json.encode(d2))
    assert.equal("nginxdemos/hello:0.4", app("web").spec.image)
    assert.equal(2, app("web").spec.replicas)
    ready("web", 2, nil, function(d) return d.image == "nginxdemos/hello:0.4" end)
    local s3, d3 = call("PUT", APPS .. "/nope" .. STAGING, { image = "x:1" }, ADMIN)
    assert.equal(404, s3)
    assert.equal("there is no app nope in project shop (namespace shop-staging)", d3.error)
    assert.equal("GET /api/v1/projects/shop/apps lists them.", d3.hint)
    local s4, d4 = call("PUT", APPS .. "/web" .. STAGING, { name = "other", image = "x:1" }, ADMIN)
    assert.equal(400, s4)
    assert.matches("name", d4.error)
    assert.equal(400, (call("PUT", APPS .. "/web" .. STAGING, {}, ADMIN)))
  end)

  it("lists and reads apps for every role, global roles included", function()
    for _, who in ipairs({ ADMIN, DEPLOYER, VIEWER, OWNER, MDEPLOYER, MVIEWER, OUTSIDER }) do
      local status, doc = call("GET", APPS .. STAGING, nil, who)
      assert.equal(200, status, who)
      assert.equal(1, #doc.items, who)
      local item = doc.items[1]
      assert.equal("web", item.name)
      assert.equal("staging", item.environment)
      assert.equal("nginxdemos/hello:0.4", item.image)
      assert.equal(2, item.replicas)
      assert.is_string(item.created_at)
      assert.equal(200, (call("GET", APPS .. "/web" .. STAGING, nil, who)), who)
    end
    local status, doc = call("GET", APPS .. "?environment=production", nil, VIEWER)
    assert.equal(200, status)
    assert.same({}, doc.items)
  end)

  it("refuses: 401 without a token, 403 to viewers for every write, 404 unknown project or app", function()
    local status, _, r = call("GET", APPS .. STAGING)
    assert.equal(401, status)
    assert.matches("^Bearer", console_api.header(r, "www-authenticate"))
    assert.equal(401, (call("POST", APPS .. STAGING, { name = "x", image = "x:1" })))
    assert.equal(401, (call("GET", APPS .. STAGING, nil, nil, { Authorization = "Bearer not.a.token" })))
    local writes = {
      { "POST", APPS .. STAGING, { name = "web", image = "evil:1" }, "deploy apps" },
      { "PUT", APPS .. "/web" .. STAGING, { image = "evil:1" }, "update apps" },
      { "POST", APPS .. "/web/scale" .. STAGING, { replicas = 0 }, "scale apps" },
      { "POST", APPS .. "/web/restart" .. STAGING, nil, "restart apps" },
      { "POST", APPS .. "/web/rollback" .. STAGING, {}, "roll back apps" },
      { "PUT", APPS .. "/web/env" .. STAGING, { set = { A = "b" } }, "change app environments" },
      { "DELETE", APPS .. "/web" .. STAGING, nil, "delete apps" },
    }
    for _, who in ipairs({ VIEWER, MVIEWER, OUTSIDER }) do
      for _, w in ipairs(writes) do
        local s, d = call(w[1], w[2], w[3], who)
        assert.equal(403, s, who .. " " .. w[1] .. " " .. w[2])
        assert.equal("you may not " .. w[4] .. " in project shop", d.error)
        assert.matches("deployer role", d.hint, 1, true)
      end
    end
    local a = app("web")
    assert.equal("nginxdemos/hello:0.4", a.spec.image)
    assert.equal(2, a.spec.replicas)
    assert.is_nil((a.metadata.annotations or {})["kipper.run/restarted-at"])
    local s1, d1 = call("GET", "/api/v1/projects/nope/apps", nil, ADMIN)
    assert.equal(404, s1)
    assert.equal("there is no project nope", d1.error)
    assert.equal(404, (call("GET", APPS .. "/nope" .. STAGING, nil, ADMIN)))
    assert.equal(404, (call("POST", APPS .. "/nope/scale" .. STAGING, { replicas = 1 }, ADMIN)))
    assert.equal(404, (call("GET", APPS .. "/Not_A_Name" .. STAGING, nil, ADMIN)))
    assert.equal(405, (call("PATCH", APPS .. "/web" .. STAGING, {}, ADMIN)))
  end)

  it("answers 400 naming the bad field, 400 for a missing or ambiguous environment, 413 and 415", function()
    local bad = {
      { { name = "x", image = "x:1", port = "eighty" }, "port takes a whole number from 1 to 65535" },
      { { name = "x", image = "x:1", port = 0 }, "port takes a whole number" },
      { { name = "x", image = "x:1", replicas = -1 }, "replicas takes a whole number" },
      { { name = "x", image = "x:1", replicas = 1.5 }, "replicas takes a whole number" },
      { { name = "x", image = "x:1", memory = "lots" }, "memory takes a quantity" },
      { { name = "x", image = "x:1", cpu = true }, "cpu takes a quantity" },
      { { name = "x", image = "x:1", domain = "Not A Host" }, "domain takes a host name" },
      { { name = "x", image = "has space" }, "image takes an image reference" },
      { { name = "x", image = "x:1", env = { ["1BAD"] = "v" } }, "invalid variable name \"1BAD\"" },
      { { name = "x", image = "x:1", env = { OK = 3 } }, "env.OK takes a string" },
      { { name = "x", image = "x:1", health_path = "healthz" }, "health_path takes a path" },
      { { name = "x", image = "x:1", autotune = { mode = "turbo" } }, "autotune.mode takes off, recommend or auto" },
      { { name = "x", image = "x:1", autotune = { mode = "auto", max_memory = "big" } }, "autotune.max_memory takes a quantity" },
      { { name = "x", image = "x:1", colour = "blue" }, "unknown field \"colour\"" },
      { { name = "x", port = 80 }, "image is required to create app x" },
      { { image = "x:1" }, "name is required" },
      { { name = "Bad_Name", image = "x:1" }, "invalid app name" },
    }
    for _, case in ipairs(bad) do
      local status, doc = call("POST", APPS .. STAGING, case[1], DEPLOYER)
      assert.equal(400, status, json.encode(case[1]))
      assert.matches(case[2], doc.error, 1, true)
    end
    assert.is_nil((app("x")))
    local s1, d1 = call("POST", APPS .. "/web/scale" .. STAGING, { replicas = "many" }, DEPLOYER)
    assert.equal(400, s1)
    assert.matches("replicas takes a whole number", d1.error, 1, true)
    assert.matches("replicas is required", select(2, call("POST", APPS .. "/web/scale" .. STAGING, {}, DEPLOYER)).error, 1, true)
    assert.matches("unknown field", select(2, call("POST", APPS .. "/web/scale" .. STAGING, { replicas = 1, x = 1 }, DEPLOYER)).error)
    assert.matches("revision takes a whole number", select(2, call("POST", APPS .. "/web/rollback" .. STAGING,
      { revision = 0 }, DEPLOYER)).error, 1, true)
    assert.matches("invalid variable name", select(2, call("PUT", APPS .. "/web/env" .. STAGING,
      { unset = { "no good" } }, DEPLOYER)).error, 1, true)
    local s2, d2 = call("GET", APPS, nil, VIEWER)
    assert.equal(400, s2)
    assert.equal("project shop has environments staging, production: pick one with ?environment=ENV", d2.error)
    assert.is_nil(d2.hint) -- no CLI advice ('kip project use') in the API's answer
    local s3, d3 = call("GET", APPS .. "?environment=qa", nil, VIEWER)
    assert.equal(400, s3)
    assert.matches("project shop has no environment qa", d3.error, 1, true)
    assert.equal("Pick one of those with ?environment=ENV.", d3.hint)
    assert.equal(400, (call("POST", APPS .. STAGING, "[1]", DEPLOYER)))
    assert.equal(415, (call("POST", APPS .. STAGING, '{"name":"x","image":"x:1"}', DEPLOYER, { ["Content-Type"] = "text/plain" })))
    local huge = json.encode({ name = "x", image = "x:1", env = { BIG = string.rep("v", 5000) } })
    assert.equal(413, (call("POST", APPS .. STAGING, huge, DEPLOYER)))
    assert.is_nil((app("x")))
  end)

  it("scales for a global deployer: the App's replicas, then Ready with that many", function()
    local status, doc = call("POST", APPS .. "/web/scale" .. STAGING, { replicas = 3 }, DEPLOYER)
    assert.equal(200, status, json.encode(doc))
    assert.equal(3, doc.replicas)
    assert.equal(3, app("web").spec.replicas)
    local d = ready("web", 3)
    assert.equal(3, #d.pods)
    local s0 = call("POST", APPS .. "/web/scale" .. STAGING, { replicas = 0 }, OWNER)
    assert.equal(200, s0)
    assert(eventually(function()
      local _, x = call("GET", APPS .. "/web" .. STAGING, nil, VIEWER)
      return x.status == "Scaled to zero" and x.ready_replicas == 0
    end, 30), env.kd:output())
    assert.equal(200, (call("POST", APPS .. "/web/scale" .. STAGING, { replicas = 1 }, MDEPLOYER)))
    ready("web", 1)
  end)

  it("restarts for an admin: 202, the stamp on the App and in the pod template", function()
    local status, doc = call("POST", APPS .. "/web/restart" .. STAGING, nil, ADMIN)
    assert.equal(202, status, json.encode(doc))
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", doc.restarted_at)
    assert.equal(doc.restarted_at, app("web").metadata.annotations["kipper.run/restarted-at"])
    assert(eventually(function()
      local dep = c:get("apps/v1", "Deployment", "web", "shop-staging")
      local ann = dep and dep.spec.template.metadata.annotations or {}
      return ann["kipper.run/restarted-at"] == doc.restarted_at
    end, 60), env.kd:output())
    ready("web", 1)
  end)

  it("shows the history and rolls back to the previous revision or a given one", function()
    assert(eventually(function()
      local _, h = call("GET", APPS .. "/web/history" .. STAGING, nil, MVIEWER)
      return #h.items >= 3 and h.items[1].current
    end, 60), env.kd:output())
    local _, h = call("GET", APPS .. "/web/history" .. STAGING, nil, MVIEWER)
    -- newest first: 0.4 with one replica now; 0.4 with 2 or 3 replicas, ...; 0.3 first
    assert.equal("nginxdemos/hello:0.4", h.items[1].image)
    assert.is_true(h.items[1].current)
    assert.is_false(h.items[2].current)
    assert.equal("nginxdemos/hello:0.3", h.items[#h.items].image)
    assert.is_true(h.items[1].revision > h.items[2].revision)
    assert.is_string(h.items[1].created_at)
    local first = h.items[#h.items].revision
    local status, doc = call("POST", APPS .. "/web/rollback" .. STAGING, { revision = first }, MDEPLOYER)
    assert.equal(200, status, json.encode(doc))
    local a = app("web")
    assert.equal("nginxdemos/hello:0.3", a.spec.image)
    assert.same({ LOG_LEVEL = "info" }, a.spec.env)
    ready("web", 1, nil, function(d) return d.image == "nginxdemos/hello:0.3" end)
    local s2, d2 = call("POST", APPS .. "/web/rollback" .. STAGING, { revision = 999 }, MDEPLOYER)
    assert.equal(404, s2)
    assert.matches("there is no revision 999", d2.error, 1, true)
    local s3 = call("POST", APPS .. "/web/rollback" .. STAGING, "", MDEPLOYER, { ["Content-Type"] = "" })
    assert.equal(200, s3)
    assert(eventually(function() return app("web").spec.image == "nginxdemos/hello:0.4" end, 30))
  end)

  it("reads and changes the environment; shows secret names, never values", function()
    local status, doc = call("GET", APPS .. "/web/env" .. STAGING, nil, VIEWER)
    assert.equal(200, status)
    assert.same(app("web").spec.env, doc.env)
    local s2, d2 = call("PUT", APPS .. "/web/env" .. STAGING, { set = { A = "1", B = "two" }, unset = { "LOG_LEVEL" } }, MDEPLOYER)
    assert.equal(200, s2, json.encode(d2))
    assert.is_nil(d2.env.LOG_LEVEL)
    assert.equal("two", d2.env.B)
    local e = app("web").spec.env
    assert.equal("1", e.A)
    assert.is_nil(e.LOG_LEVEL)
    assert.equal(400, (call("PUT", APPS .. "/web/env" .. STAGING, {}, MDEPLOYER)))
    assert(c:create({ apiVersion = "v1", kind = "Secret", metadata = { name = "app-web-secrets", namespace = "shop-staging" },
      data = { DATABASE_PASSWORD = tls.base64_encode("hunter2-value"), API_KEY = tls.base64_encode("k-value") } }))
    for _, who in ipairs({ VIEWER, MVIEWER }) do
      local s3, d3, r3 = call("GET", APPS .. "/web/secrets" .. STAGING, nil, who)
      assert.equal(200, s3)
      assert.same({ "API_KEY", "DATABASE_PASSWORD" }, d3.names)
      assert.is_nil(r3.body:find("hunter2", 1, true))
    end
    local _, detail, r4 = call("GET", APPS .. "/web" .. STAGING, nil, VIEWER)
    assert.same({ "API_KEY", "DATABASE_PASSWORD" }, detail.secrets)
    assert.is_nil(r4.body:find("hunter2", 1, true))
    assert.is_nil(r4.body:find(tls.base64_encode("hunter2-value"), 1, true))
    assert.is_table(detail.events)
    assert.is_true(#detail.events <= 20)
  end)

  it("deletes an app for a project owner: 204, the App and its Secret gone, then 404", function()
    local status = call("DELETE", APPS .. "/web" .. STAGING, nil, OWNER)
    assert.equal(204, status)
    assert(eventually(function()
      local _, _, code = c:get(AV, "App", "web", "shop-staging")
      local _, _, scode = c:get("v1", "Secret", "app-web-secrets", "shop-staging")
      return code == "notfound" and scode == "notfound"
    end, 60))
    assert.equal(404, (call("GET", APPS .. "/web" .. STAGING, nil, OWNER)))
    assert.equal(404, (call("DELETE", APPS .. "/web" .. STAGING, nil, OWNER)))
    local _, doc = call("GET", APPS .. STAGING, nil, VIEWER)
    assert.same({}, doc.items)
  end)

  it("shows an app kipperd cannot run as Failed, with the reason in its conditions and events", function()
    assert(c:create({ apiVersion = AV, kind = "App", metadata = { name = "broken", namespace = "shop-staging" },
      spec = { image = "nginxdemos/hello:0.4", secrets = { "MISSING_KEY" } } }))
    local d = eventually(function()
      local _, x = call("GET", APPS .. "/broken" .. STAGING, nil, MVIEWER)
      return x.status == "Failed" and x
    end, 60)
    assert(d, env.kd:output())
    local cond
    for _, x in ipairs(d.conditions) do if x.type == "Ready" then cond = x end end
    assert.equal("False", cond.status)
    assert.equal("SecretMissing", cond.reason)
    assert.matches("MISSING_KEY", cond.message, 1, true)
    local _, list = call("GET", APPS .. STAGING, nil, VIEWER)
    assert.equal("Failed", list.items[1].status)
    assert.equal(204, (call("DELETE", APPS .. "/broken" .. STAGING, nil, MDEPLOYER)))
  end)

  it("never answered 500 and kipperd still runs", function()
    assert.is_true(env.kd:running())
    assert.is_nil(env.kd:output():match("API handler failed"), env.kd:output())
  end)
end)
