-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.engine: loading policies by name through the plugin search order (the built-in
-- ones here), missing and duplicate ones. The engine at work is in spec/integration/kipperd_spec.lua.
local engine = require "kip.reconcile.engine"

describe("kip.reconcile.engine", function()
  it("loads the built-in policies by name", function()
    local policies, err, missing = engine.load_policies(engine.DEFAULT_POLICIES)
    assert.is_nil(err)
    assert.same({}, missing)
    local kinds = {}
    for _, p in ipairs(policies) do kinds[#kinds + 1] = p.name .. "=" .. p.policy.kind end
    assert.same({ "app=App", "service=Service", "project=Project" }, kinds)
  end)

  it("skips a name no plugin root has, and names it", function()
    local policies, err, missing = engine.load_policies({ "app", "no-such-policy" })
    assert.is_nil(err)
    assert.equal(1, #policies)
    assert.same({ "no-such-policy" }, missing)
  end)

  it("refuses two policies for one kind", function()
    local policies, err = engine.load_policies({ "app", "app" })
    assert.is_nil(policies)
    assert.equal("policies app and app both reconcile kind App: run one of them", err)
  end)
end)
