-- SPDX-License-Identifier: Apache-2.0
-- kip.cli.errors.run_program, the frame of kip's, kipperd's and kipper-gateway's main functions:
-- a body's exit status, fail() and usage() printed as "PROGRAM: error:" with the hint, and anything
-- else reported as an internal error with its traceback.
local errors = require "kip.cli.errors"

describe("kip.cli.errors.run_program", function()
  local real_stderr, written

  -- run_program writes to io.stderr: a stand-in collects what it writes
  before_each(function()
    real_stderr, written = io.stderr, {}
    io.stderr = { write = function(self, ...) -- luacheck: ignore 122
      for _, s in ipairs({ ... }) do written[#written + 1] = s end
      return self
    end }
  end)

  after_each(function() io.stderr = real_stderr end) -- luacheck: ignore 122

  local function stderr() return table.concat(written) end

  it("returns the body's status, 0 when it returns nothing, and passes the arguments on", function()
    assert.equal(3, errors.run_program("prog", function(a, b) return a + b end, nil, 1, 2))
    assert.equal(0, errors.run_program("prog", function() end))
    assert.equal("", stderr())
  end)

  it("prints fail() and usage() errors with their hints: status 1 and 2", function()
    assert.equal(1, errors.run_program("prog", function() errors.fail("the disk is full", "Free some space.") end))
    assert.equal("prog: error: the disk is full\nFree some space.\n", stderr())
    written = {}
    assert.equal(2, errors.run_program("prog", function() errors.usage("--port takes a number") end))
    assert.equal("prog: error: --port takes a number\n", stderr())
  end)

  it("reports anything else as an internal error with its traceback and the note", function()
    assert.equal(1, errors.run_program("prog", function() error("boom") end, "Please report it."))
    local text = stderr()
    assert.matches("^prog: internal error: .*boom\nstack traceback:", text)
    assert.matches("\nPlease report it.\n$", text)
  end)
end)
