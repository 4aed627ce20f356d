-- SPDX-License-Identifier: Apache-2.0
-- kipperd's project endpoints (/api/v1/projects...) over real HTTP against the sandbox API and the
-- real kipperd with its real policies (helpers.console_api): create (admins; kipperd then makes the
-- namespaces), list and read with the caller's role and the app and service counts, replace the
-- members (owners and admins), delete (admins); each checked on the Project in the cluster, for
-- every role, with the refusals (401, 403, 404, 409, 400 naming the field, 415).
local console_api = require "helpers.console_api"
local json = require "kip.json"

local AV = "kipper.run/v1alpha1"
local PW = "a long enough passphrase"
local ADMIN, DEPLOYER, VIEWER = "root@example.com", "dep@example.com", "view@example.com"
local OWNER, MDEPLOYER, MVIEWER = "owner@example.com", "mdep@example.com", "mview@example.com"

describe("kipperd projects API", function()
  local env, c
  local eventually = console_api.eventually

  setup(function()
    env = console_api.start({ users = {
      { email = ADMIN, role = "admin", password = PW }, { email = DEPLOYER, role = "deployer", password = PW },
      { email = VIEWER, role = "viewer", password = PW }, { email = OWNER, role = "viewer", password = PW },
      { email = MDEPLOYER, role = "viewer", password = PW }, { email = MVIEWER, role = "viewer", password = PW },
    } })
    c = env.c
  end)

  teardown(function()
    if env then env:stop() end
  end)

  local function call(method, path, body, as, headers) return env:call(method, path, body, as, headers) end

  local SHOP = { name = "shop", display_name = "Web shop",
    environments = { { name = "staging" }, { name = "production", quota = { cpu = "4", memory = "8Gi", pods = 40 } } },
    members = { { email = OWNER, role = "owner" }, { email = MDEPLOYER, role = "deployer" }, { email = MVIEWER } } }

  it("creates a project for an admin: 201, the Project's spec, its namespaces made by kipperd", function()
    local status, doc = call("POST", "/api/v1/projects", SHOP, ADMIN)
    assert.equal(201, status, json.encode(doc))
    assert.equal("shop", doc.name)
    assert.equal("owner", doc.role)
    assert.same({ { name = "staging", namespace = "shop-staging" },
      { name = "production", namespace = "shop-production", quota = { cpu = "4", memory = "8Gi", pods = 40 } } }, doc.environments)
    local p = assert(c:get(AV, "Project", "shop"))
    assert.equal("Web shop", p.spec.displayName)
    assert.same({ { email = OWNER, role = "owner" }, { email = MDEPLOYER, role = "deployer" }, { email = MVIEWER, role = "viewer" } },
      p.spec.members)
    assert.equal(40, p.spec.environments[2].quota.pods)
    assert(env:project_ready("shop"), env.kd:output())
    assert.truthy(c:get("v1", "Namespace", "shop-production"))
    local _, view = call("GET", "/api/v1/projects/shop", nil, VIEWER)
    assert.is_true(view.ready)
    assert.equal("Ready", view.phase)
    -- a project without environments has one namespace, named like it
    local s2, d2 = call("POST", "/api/v1/projects", { name = "solo" }, ADMIN)
    assert.equal(201, s2, json.encode(d2))
    assert.same({ { name = "default", namespace = "solo" } }, d2.environments)
    assert.same({}, d2.members)
  end)

  it("refuses creating: 409 when it exists, 403 for non-admins, 400 naming the field, 401, 415", function()
    local s1, d1 = call("POST", "/api/v1/projects", SHOP, ADMIN)
    assert.equal(409, s1)
    assert.equal("project shop already exists", d1.error)
    for _, who in ipairs({ DEPLOYER, VIEWER, OWNER }) do
      local s, d = call("POST", "/api/v1/projects", { name = "mine" }, who)
      assert.equal(403, s, who)
      assert.equal("only admins may do this", d.error)
    end
    assert.equal(401, (call("POST", "/api/v1/projects", { name = "mine" })))
    local bad = {
      { { display_name = "x" }, "name is required" },
      { { name = "Bad Name" }, "invalid project name" },
      { { name = "default" }, "which the system uses" },
      { { name = "p", environments = { { name = "qa", quota = { cpu = "lots" } } } }, "environments[1].quota: cpu takes a quantity" },
      { { name = "p", environments = { { name = "qa", quota = { pods = -1 } } } }, "pods takes a whole number" },
      { { name = "p", environments = { { name = "qa", quota = { gpu = 1 } } } }, "unknown quota \"gpu\"" },
      { { name = "p", environments = { { name = "QA" } } }, "environments[1].name: invalid environment name" },
      { { name = "p", environments = { { name = "a" }, { name = "a" } } }, "environments: a is given twice" },
      { { name = "p", environments = "prod" }, "environments takes a list" },
      { { name = "p", members = { { email = "ana@example.com", role = "boss" } } }, "members[1].role: unknown role \"boss\"" },
      { { name = "p", members = { { email = "not-an-email", role = "owner" } } }, "members[1].email: \"not-an-email\" is not an e-mail" },
      { { name = "p", members = { { email = "a@b.c" }, { email = "A@b.c" } } }, "members: a@b.c is given twice" },
      { { name = "p", owner = "me" }, "unknown field \"owner\"" },
    }
    for _, case in ipairs(bad) do
      local status, doc = call("POST", "/api/v1/projects", case[1], ADMIN)
      assert.equal(400, status, json.encode(case[1]))
      assert.matches(case[2], doc.error, 1, true)
    end
    local _, _, code = c:get(AV, "Project", "p")
    assert.equal("notfound", code)
    assert.equal(415, (call("POST", "/api/v1/projects", '{"name":"p"}', ADMIN, { ["Content-Type"] = "text/plain" })))
    assert.equal(413, (call("POST", "/api/v1/projects", json.encode({ name = "p", display_name = string.rep("x", 5000) }), ADMIN)))
  end)

  it("lists and reads projects for every role, with the caller's role and the app and service counts", function()
    assert(c:create({ apiVersion = AV, kind = "App", metadata = { name = "web", namespace = "shop-staging" },
      spec = { image = "nginxdemos/hello:0.4" } }))
    assert(c:create({ apiVersion = AV, kind = "Service", metadata = { name = "db", namespace = "shop-production" },
      spec = { type = "redis" } }))
    local roles = { [ADMIN] = "owner", [DEPLOYER] = "deployer", [VIEWER] = "viewer", [OWNER] = "owner",
      [MDEPLOYER] = "deployer", [MVIEWER] = "viewer" }
    for who, role in pairs(roles) do
      local status, doc = call("GET", "/api/v1/projects", nil, who)
      assert.equal(200, status, who)
      assert.equal(2, #doc.items, who) -- global roles always apply: everyone sees both
      assert.equal("shop", doc.items[1].name)
      assert.equal("solo", doc.items[2].name)
      assert.equal(role, doc.items[1].role, who)
      assert.equal(1, doc.items[1].apps)
      assert.equal(1, doc.items[1].services)
      assert.equal(0, doc.items[2].apps)
      local s2, one = call("GET", "/api/v1/projects/shop", nil, who)
      assert.equal(200, s2, who)
      assert.equal(role, one.role)
      assert.equal(3, #one.members)
      assert.is_string(one.created_at)
    end
    assert.equal(401, (call("GET", "/api/v1/projects")))
    local s3, d3 = call("GET", "/api/v1/projects/nope", nil, ADMIN)
    assert.equal(404, s3)
    assert.equal("there is no project nope", d3.error)
  end)

  it("replaces the members for owners and admins, never for deployers or viewers", function()
    local new = { members = { { email = OWNER, role = "owner" }, { email = "ci@example.com", role = "deployer" } } }
    for _, who in ipairs({ DEPLOYER, VIEWER, MDEPLOYER, MVIEWER }) do
      local s, d = call("PUT", "/api/v1/projects/shop/members", new, who)
      assert.equal(403, s, who)
      assert.equal("you may not change the members in project shop", d.error)
      assert.matches("owner role", d.hint, 1, true)
    end
    assert.equal(3, #c:get(AV, "Project", "shop").spec.members)
    local s1, d1 = call("PUT", "/api/v1/projects/shop/members", new, OWNER)
    assert.equal(200, s1, json.encode(d1))
    assert.same(new.members, c:get(AV, "Project", "shop").spec.members)
    assert.same(new.members, d1.members)
    -- MDEPLOYER is no member now: the global viewer role remains
    local _, d2 = call("GET", "/api/v1/projects/shop", nil, MDEPLOYER)
    assert.equal("viewer", d2.role)
    assert.equal(403, (call("POST", "/api/v1/projects/shop/apps?environment=staging", { name = "x", image = "x:1" }, MDEPLOYER)))
    local s3, d3 = call("PUT", "/api/v1/projects/shop/members", { members = { { email = "x", role = "owner" } } }, ADMIN)
    assert.equal(400, s3)
    assert.matches("members[1].email", d3.error, 1, true)
    assert.matches("members is required", select(2, call("PUT", "/api/v1/projects/shop/members", {}, ADMIN)).error, 1, true)
    local s4 = call("PUT", "/api/v1/projects/shop/members", { members = { { email = OWNER, role = "owner" },
      { email = MDEPLOYER, role = "deployer" } } }, ADMIN)
    assert.equal(200, s4)
    assert.equal("deployer", select(2, call("GET", "/api/v1/projects/shop", nil, MDEPLOYER)).role)
    assert.equal(404, (call("PUT", "/api/v1/projects/nope/members", new, ADMIN)))
  end)

  it("deletes a project for an admin only: 204, the Project gone, then 404", function()
    for _, who in ipairs({ DEPLOYER, VIEWER, OWNER }) do
      assert.equal(403, (call("DELETE", "/api/v1/projects/solo", nil, who)), who)
    end
    assert.equal(401, (call("DELETE", "/api/v1/projects/solo")))
    assert.truthy(c:get(AV, "Project", "solo"))
    assert.equal(204, (call("DELETE", "/api/v1/projects/solo", nil, ADMIN)))
    assert(eventually(function()
      local _, _, code = c:get(AV, "Project", "solo")
      return code == "notfound"
    end, 60), env.kd:output())
    assert.equal(404, (call("DELETE", "/api/v1/projects/solo", nil, ADMIN)))
    assert.equal(404, (call("GET", "/api/v1/projects/solo", nil, ADMIN)))
    local _, doc = call("GET", "/api/v1/projects", nil, VIEWER)
    assert.equal(1, #doc.items)
  end)

  it("never answered 500 and kipperd still runs", function()
    assert.is_true(env.kd:running())
    assert.is_nil(env.kd:output():match("API handler failed"), env.kd:output())
  end)
end)
