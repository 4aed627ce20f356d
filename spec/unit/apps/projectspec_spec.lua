-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.projectspec: --environment and --member values.
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
end)
