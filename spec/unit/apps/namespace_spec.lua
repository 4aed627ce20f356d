-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.namespace: the namespace rule, status.namespaces, and picking the environment.
local namespace = require "kip.apps.namespace"

local function usage(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.equal(2, err.status)
  return err.message
end

describe("kip.apps.namespace", function()
  it("names an environment's namespace as the Project policy does", function()
    assert.equal("shop", namespace.for_environment("shop", nil))
    assert.equal("shop", namespace.for_environment("shop", "default"))
    assert.equal("shop", namespace.for_environment("shop", "shop"))
    assert.equal("shop-staging", namespace.for_environment("shop", "staging"))
    local p = { metadata = { name = "solo" }, spec = { environments = { { name = "live" } } } }
    assert.equal("solo-live", namespace.of_project(p, "live"))
    p.status = { namespaces = { "solo" } }
    assert.equal("solo", namespace.of_project(p, "live"))
    assert.equal("solo", (namespace.of_environment(p, nil)))
    p = { metadata = { name = "shop" }, spec = { environments = { { name = "a" }, { name = "b" } } } }
    assert.matches("project shop has environments a, b: pick one with --environment", usage(function() namespace.of_environment(p) end),
      1, true)
    p.spec.environments[3] = { name = "default" }
    assert.equal("shop", namespace.of_environment(p))
  end)

  it("says how to pick an environment: --environment for the CLI, or as the caller says", function()
    local p = { metadata = { name = "shop" }, spec = { environments = { { name = "a" }, { name = "b" } } } }
    local function raised(fn)
      local ok, err = pcall(fn)
      assert.is_false(ok)
      return err
    end
    local cli = raised(function() namespace.of_environment(p) end)
    assert.matches("kip project use shop --environment ENV", cli.hint, 1, true)
    local api = raised(function() namespace.of_environment(p, nil, "?environment=ENV") end)
    assert.equal("project shop has environments a, b: pick one with ?environment=ENV", api.message)
    assert.is_nil(api.hint) -- 'kip project use' means nothing to an API caller
    local unknown = raised(function() namespace.of_environment(p, "qa") end)
    assert.equal("project shop has no environment qa (it has a, b)", unknown.message)
    assert.equal("Pick one of those with --environment.", unknown.hint)
    assert.equal("Pick one of those with ?environment=ENV.",
      raised(function() namespace.of_environment(p, "qa", "?environment=ENV") end).hint)
  end)
end)
