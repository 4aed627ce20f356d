-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.access: the role matrix (global admin/deployer/viewer against project
-- owner/deployer/viewer membership: the higher wins), what each level allows, and
-- Access:project's answers (401 from auth, 404 for a missing project, 503 when the API fails, 403
-- naming the role, the role when it reaches the need). The auth and k8s client here are small
-- tables with fixed answers: authentication and the API are covered over real HTTP in
-- spec/integration/kipperd_api_*_spec.lua.
local access = require "kipperd.api.access"
local json = require "kip.json"

local function project(members)
  return { metadata = { name = "shop" }, spec = { members = members } }
end

describe("kipperd.api.access", function()
  local SHOP = project({ { email = "Owen@Example.com", role = "owner" }, { email = "dee@example.com", role = "deployer" },
    { email = "vic@example.com", role = "viewer" }, { email = "odd@example.com", role = "emperor" } })

  it("takes the higher of the global role and the membership", function()
    local cases = {
      -- global role, e-mail (membership in SHOP), expected project role
      { "admin", "nobody@example.com", "owner" }, { "admin", "vic@example.com", "owner" },
      { "deployer", "nobody@example.com", "deployer" }, { "deployer", "owen@example.com", "owner" },
      { "deployer", "vic@example.com", "deployer" },
      { "viewer", "nobody@example.com", "viewer" }, { "viewer", "owen@example.com", "owner" },
      { "viewer", "dee@example.com", "deployer" }, { "viewer", "vic@example.com", "viewer" },
      { "viewer", "odd@example.com", "viewer" }, -- an unknown member role counts for nothing
      { "nobody", "nobody@example.com", nil }, { "nobody", "dee@example.com", "deployer" },
    }
    for _, case in ipairs(cases) do
      assert.equal(case[3], access.project_role({ role = case[1], email = case[2] }, SHOP), table.concat(case, " "))
    end
    assert.equal("viewer", access.project_role({ role = "viewer", email = "a@b.c" }, { metadata = { name = "x" } }))
    assert.is_true(access.can_see({ role = "viewer", email = "a@b.c" }, SHOP))
    assert.is_false(access.can_see({ role = "none", email = "a@b.c" }, SHOP))
  end)

  it("orders the levels viewer < deployer < owner", function()
    local want = {
      viewer = { viewer = true, deployer = false, owner = false },
      deployer = { viewer = true, deployer = true, owner = false },
      owner = { viewer = true, deployer = true, owner = true },
    }
    for role, needs in pairs(want) do
      for need, ok in pairs(needs) do assert.equal(ok, access.allows(role, need), role .. " for " .. need) end
    end
    assert.is_false(access.allows(nil, "viewer"))
    assert.has_error(function() access.allows("owner", "god") end)
  end)

  describe("Access", function()
    local user, projects, failure
    local auth = { authenticate = function()
      if not user then return nil, { status = 401, body = "{}" } end
      return user
    end }
    local client = { get = function(_, _, kind, name)
      assert.equal("Project", kind)
      if failure then return nil, failure, "unavailable" end
      if projects[name] then return projects[name] end
      return nil, "not found", "notfound"
    end }
    local check = access.new({ auth = auth, client = client })

    before_each(function()
      user, failure = nil, nil
      projects = { shop = SHOP }
    end)

    local function req(name) return { params = { project = name } } end

    it("answers 401 without a user, and 403 for non-admins on admin routes", function()
      assert.equal(401, select(2, check:project(req("shop"), "viewer")).status)
      assert.equal(401, select(2, check:admin(req("shop"))).status)
      user = { email = "dee@example.com", role = "deployer" }
      local _, res = check:admin(req("shop"))
      assert.equal(403, res.status)
      user = { email = "root@example.com", role = "admin" }
      assert.equal(user, (check:admin(req("shop"))))
    end)

    it("answers 404 for a missing project, 503 when the API fails", function()
      user = { email = "root@example.com", role = "admin" }
      local _, res = check:project(req("nope"), "viewer")
      assert.equal(404, res.status)
      assert.matches("there is no project nope", json.decode(res.body).error, 1, true)
      failure = "connection refused"
      local _, res2 = check:project(req("shop"), "viewer")
      assert.equal(503, res2.status)
    end)

    it("gives the project and role when the role reaches the need, else 403 naming it", function()
      user = { email = "vic@example.com", role = "viewer" }
      local u, p, role = check:project(req("shop"), "viewer")
      assert.equal(user, u)
      assert.equal(SHOP, p)
      assert.equal("viewer", role)
      local _, res = check:project(req("shop"), "deployer", "deploy apps")
      assert.equal(403, res.status)
      local doc = json.decode(res.body)
      assert.equal("you may not deploy apps in project shop", doc.error)
      assert.matches("deployer role", doc.hint, 1, true)
      user = { email = "dee@example.com", role = "viewer" }
      assert.equal("deployer", select(3, check:project(req("shop"), "deployer")))
      assert.equal(403, select(2, check:project(req("shop"), "owner", "read service credentials")).status)
      user = { email = "owen@example.com", role = "viewer" }
      assert.equal("owner", select(3, check:project(req("shop"), "owner")))
      user = { email = "ghost@example.com", role = "none" }
      assert.equal(404, select(2, check:project(req("shop"), "viewer")).status) -- may not see it at all
    end)
  end)
end)
