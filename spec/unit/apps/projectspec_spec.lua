-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.projectspec: --environment and --member values, console API bodies, namespace checks.
local projectspec = require "kip.apps.projectspec"

local function usage(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.equal(2, err.status)
  return err.message
end

describe("kip.apps.projectspec", function()
  it("parses project environments and members", function()
    assert.same({ name = "prod", quota = { cpu = "4", memory = "8Gi", pods = 40 } },
      projectspec.environment("prod:cpu=4,memory=8Gi,pods=40"))
    assert.same({ name = "dev" }, projectspec.environment("dev"))
    assert.same({ email = "a@b.c", role = "owner" }, projectspec.member("a@b.c:owner"))
    assert.same({ email = "a@b.c", role = "viewer" }, projectspec.member("a@b.c"))
    assert.matches("unknown quota \"gpu\"", usage(function() projectspec.environment("p:gpu=1") end), 1, true)
    assert.matches("unknown role \"god\"", usage(function() projectspec.member("a@b.c:god") end), 1, true)
    assert.matches("is not an e-mail address", usage(function() projectspec.member("ab:owner") end), 1, true)
  end)

  it("turns a console API body into the same spec, messages naming the field", function()
    assert.same({ displayName = "Shop", environments = { { name = "prod", quota = { cpu = "4", memory = "8Gi", pods = 40 } },
      { name = "dev" } }, members = { { email = "ana@example.com", role = "owner" }, { email = "bo@example.com", role = "viewer" } } },
      projectspec.body_spec({ name = "shop", display_name = "Shop",
        environments = { { name = "prod", quota = { cpu = "4", memory = "8Gi", pods = 40 } }, { name = "dev" } },
        members = { { email = "Ana@Example.com", role = "owner" }, { email = "bo@example.com" } } }))
    assert.same({}, projectspec.body_spec({ name = "shop", environments = {} }))
    local bad = {
      { { environments = { { name = "p", quota = { cpu = "lots" } } } }, "environments[1].quota: cpu takes a quantity" },
      { { environments = { { name = "p", quota = { pods = 1.5 } } } }, "environments[1].quota: pods takes a whole number, not 1.5" },
      { { environments = { {} } }, "environments[1].name: missing environment name" },
      { { environments = { "p" } }, "environments[1] takes {name, quota?}" },
      { { members = { { email = "a@b.c", role = 1 } } }, "members[1].role: unknown role 1" },
      { { members = { { email = "a@b.c" }, { email = "A@B.C", role = "owner" } } }, "members: a@b.c is given twice" },
      { { members = { x = 1 } }, "members takes a list" },
      { { display_name = {} }, "display_name takes a string" },
      { { owner = "x" }, "unknown field \"owner\"" },
    }
    for _, case in ipairs(bad) do
      assert.matches(case[2], usage(function() projectspec.body_spec(case[1]) end), 1, true)
    end
  end)

  it("refuses environments whose namespaces the system uses or that are too long", function()
    projectspec.check_namespaces("shop", { environments = { { name = "prod" } } })
    assert.matches("would be namespace kube-system", usage(function()
      projectspec.check_namespaces("kube", { environments = { { name = "system" } } }) end), 1, true)
    assert.matches("would be namespace default", usage(function() projectspec.check_namespaces("default", {}) end), 1, true)
    assert.matches("longer than 63 characters", usage(function()
      projectspec.check_namespaces(string.rep("a", 40), { environments = { { name = string.rep("b", 30) } } }) end), 1, true)
  end)
end)
