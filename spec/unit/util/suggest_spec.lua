-- SPDX-License-Identifier: Apache-2.0
-- kip.util.suggest: edit distance and the closest-candidate rule behind "did you mean".
local suggest = require "kip.util.suggest"

describe("kip.util.suggest", function()
  it("counts edits", function()
    assert.equal(0, suggest.distance("cluster", "cluster"))
    assert.equal(1, suggest.distance("clster", "cluster"))
    assert.equal(2, suggest.distance("clutser", "cluster"))
    assert.equal(3, suggest.distance("", "abc"))
  end)

  it("suggests a close candidate and nothing for unrelated words", function()
    local commands = { "cluster", "help", "lua", "plugins", "version" }
    assert.equal("cluster", suggest.closest("clster", commands))
    assert.equal("version", suggest.closest("verison", commands))
    assert.equal("plugins", suggest.closest("plugin", commands))
    assert.equal("lua", suggest.closest("lau", commands))
    assert.is_nil(suggest.closest("deploy", commands))
    assert.is_nil(suggest.closest("x", commands))
  end)
end)
