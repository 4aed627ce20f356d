-- SPDX-License-Identifier: Apache-2.0
-- `kip lua FILE [ARGS...]` through the real binary: core modules available, `arg` as the lua
-- interpreter sets it, errors with a traceback and exit 1, a missing file named.
local helpers = require "helpers"

describe("kip lua", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rmtree(dir) end)

  it("runs a script with every core module and arg set like lua does", function()
    helpers.write(dir .. "/s.lua", [[
local yaml, fs, proc, log, host, cjson = require "kip.yaml", require "kip.fs", require "kip.proc",
  require "kip.log", require "kip.host", require "cjson"
print(arg[0], arg[1], arg[2], #arg, arg[-1], select("#", ...), ...)
print(yaml.encode({ a = "42" }), cjson.encode({ n = cjson.null }))
]])
    local r = helpers.kip({ "lua", dir .. "/s.lua", "one", "--two" })
    assert.equal(0, r.status, r.stderr)
    assert.equal(dir .. "/s.lua\tone\t--two\t2\tlua\t2\tone\t--two\n" .. 'a: "42"\n\t{"n":null}\n', r.stdout)
  end)

  it("passes flags after FILE to the script, even --help", function()
    helpers.write(dir .. "/s.lua", "print(table.concat(arg, ' '))")
    local r = helpers.kip({ "lua", dir .. "/s.lua", "--help", "-o", "json" })
    assert.equal(0, r.status)
    assert.equal("--help -o json\n", r.stdout)
  end)

  it("prints the message and a traceback and exits 1 on an error", function()
    helpers.write(dir .. "/bad.lua", "local function deep() error('kaboom') end\nlocal function mid() deep() end\nmid()\n")
    local r = helpers.kip({ "lua", dir .. "/bad.lua" })
    assert.equal(1, r.status)
    assert.matches("bad%.lua:1: kaboom\nstack traceback:", r.stderr)
    assert.matches("bad%.lua:1: in %a+ 'deep'", r.stderr)
    assert.matches("bad%.lua:2: in %a+ 'mid'", r.stderr)
    assert.matches("bad%.lua:3: in main chunk\n$", r.stderr, nil, "kip's own frames are left out")
  end)

  it("reports a syntax error and exits 1", function()
    helpers.write(dir .. "/syntax.lua", "x = = 1\n")
    local r = helpers.kip({ "lua", dir .. "/syntax.lua" })
    assert.equal(1, r.status)
    assert.matches("^kip: error: .*syntax%.lua:1: unexpected symbol", r.stderr)
  end)

  it("names a missing file", function()
    local r = helpers.kip({ "lua", dir .. "/nope.lua" })
    assert.equal(1, r.status)
    assert.equal("kip: error: cannot run " .. dir .. "/nope.lua: No such file or directory\n" ..
      "Check the path; kip lua takes the script's file name first.\n", r.stderr)
  end)

  it("exits with the script's os.exit status", function()
    helpers.write(dir .. "/exit.lua", "io.write('x') os.exit(7)")
    local r = helpers.kip({ "lua", dir .. "/exit.lua" })
    assert.equal(7, r.status)
    assert.equal("x", r.stdout)
  end)

  it("reads the script from standard input with -", function()
    local r = helpers.kip({ "lua", "-", "a" }, { stdin = "print('stdin', ...)" })
    assert.equal(0, r.status)
    assert.equal("stdin\ta\n", r.stdout)
  end)

  it("needs a FILE", function()
    local r = helpers.kip({ "lua" })
    assert.equal(2, r.status)
    assert.matches("missing FILE", r.stderr)
  end)
end)
