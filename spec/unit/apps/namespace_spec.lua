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
end)
