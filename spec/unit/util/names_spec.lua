-- SPDX-License-Identifier: Apache-2.0
-- kip.util.names: DNS-label names, refused with a message that says the rule.
local names = require "kip.util.names"

describe("kip.util.names", function()
  it("accepts DNS labels", function()
    for _, n in ipairs({ "a", "prod", "203-0-113-10", "a1", string.rep("x", 63) }) do
      assert.is_true(names.check_label("cluster", n))
    end
  end)

  it("refuses everything else and says why", function()
    for _, n in ipairs({ "", "Prod", "-a", "a-", "a_b", "a.b", string.rep("x", 64), "é" }) do
      local ok, why = names.check_label("cluster", n)
      assert.is_nil(ok)
      assert.is_string(why)
    end
    local _, why = names.check_label("app", "My_App")
    assert.equal([[invalid app name "My_App": use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit]], why)
    local _, missing = names.check_label("app", nil)
    assert.equal("missing app name", missing)
  end)
end)
