-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.controller: the shape a policy must have. Reconciles themselves run against the
-- sandbox API in spec/integration/kipperd_spec.lua.
local controller = require "kip.reconcile.controller"

describe("kip.reconcile.controller", function()
  local function policy(extra)
    local p = { api_version = "kipper.run/v1alpha1", kind = "App", reconcile = function() return {} end }
    for k, v in pairs(extra or {}) do p[k] = v end
    return p
  end

  it("accepts a minimal policy and one with owns, reads and a finalizer", function()
    assert.is_true(controller.check_policy(policy(), "app"))
    assert.is_true(controller.check_policy(policy({ owns = { { "apps/v1", "Deployment" } }, reads = { { "v1", "Pod" } },
      finalizer = "kipper.run/x", finalize = function() return {} end }), "app"))
  end)

  it("says what is wrong with a policy", function()
    local cases = {
      { "not a table", "policy app is not a table" },
      { { kind = "App", reconcile = print }, "policy app needs api_version and kind" },
      { policy({ reconcile = false }), "policy app has no reconcile function" },
      { policy({ owns = "Deployment" }), "policy app: owns must be a list" },
      { policy({ reads = { { "v1" } } }), "policy app: reads%[1%] must be { apiVersion, kind }" },
      { policy({ finalizer = true }), "policy app: finalizer must be a string" },
    }
    for _, case in ipairs(cases) do
      local ok, err = controller.check_policy(case[1], "app")
      assert.is_nil(ok)
      assert.matches(case[2], err)
    end
  end)
end)
