-- SPDX-License-Identifier: Apache-2.0
-- kip.cli.args: flags in every spelling, choices, repeats, positional arguments, pass-through,
-- and usage errors that name the problem.
local args = require "kip.cli.args"
local errors = require "kip.cli.errors"

local spec = {
  command = "kip thing do",
  flags = {
    { name = "output", short = "o", arg = "FORMAT", choices = { "table", "json", "yaml" }, default = "table" },
    { name = "set", arg = "KEY=VALUE", repeated = true },
    { name = "force" },
    { name = "cluster", arg = "NAME" },
  },
  args = { { name = "NAME" }, { name = "NEW", optional = true } },
}

local function usage_error(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.is_true(errors.is(err), "expected a usage error, got " .. tostring(err))
  assert.equal(2, err.status)
  return err
end

describe("kip.cli.args", function()
  it("reads flags in every spelling", function()
    local f, a = args.parse({ "x", "-o", "json", "--set", "a=1", "--set=b=2", "--force", "--cluster=prod" }, spec)
    assert.equal("json", f.output)
    assert.same({ "a=1", "b=2" }, f.set)
    assert.is_true(f.force)
    assert.equal("prod", f.cluster)
    assert.equal("x", a.NAME)
    assert.is_nil(a.NEW)
    local f2 = args.parse({ "-ojson", "x", "y", "--force=false" }, spec)
    assert.equal("json", f2.output)
    assert.is_false(f2.force)
  end)

  it("applies defaults", function()
    local f = args.parse({ "x" }, spec)
    assert.equal("table", f.output)
  end)

  it("treats everything after -- as arguments", function()
    local _, a = args.parse({ "--", "--force", "y" }, spec)
    assert.equal("--force", a.NAME)
    assert.equal("y", a.NEW)
  end)

  it("refuses unknown flags with a suggestion", function()
    local err = usage_error(function() args.parse({ "x", "--forse" }, spec) end)
    assert.equal("unknown flag --forse for 'kip thing do'", err.message)
    assert.matches("Did you mean %-%-force%?", err.hint)
  end)

  it("refuses bad choices, missing values and missing or extra arguments", function()
    assert.equal([[--output must be one of table, json, yaml, not "xml"]],
      usage_error(function() args.parse({ "x", "-o", "xml" }, spec) end).message)
    assert.equal("flag --cluster needs a value (NAME)",
      usage_error(function() args.parse({ "x", "--cluster" }, spec) end).message)
    assert.equal("missing NAME", usage_error(function() args.parse({}, spec) end).message)
    assert.equal([[unexpected argument "z"]], usage_error(function() args.parse({ "x", "y", "z" }, spec) end).message)
    assert.matches("takes no value", usage_error(function() args.parse({ "x", "--force=maybe" }, spec) end).message)
  end)

  it("passes everything after the last argument through untouched", function()
    local lua_spec = { command = "kip lua", flags = { { name = "help", short = "h" } },
      args = { { name = "FILE" } }, rest = "ARGS" }
    local f, a = args.parse({ "script.lua", "--help", "-x", "--", "y" }, lua_spec)
    assert.is_nil(f.help)
    assert.equal("script.lua", a.FILE)
    assert.same({ "--help", "-x", "--", "y" }, a.ARGS)
  end)

  it("collects only positional words in the rest list with passthrough = false, flags anywhere", function()
    local env_spec = { command = "kip app env", flags = { { name = "no-wait" }, { name = "namespace", short = "n", arg = "NS" } },
      args = { { name = "ACTION" }, { name = "NAME" } }, rest = "VARS", passthrough = false }
    local f, a = args.parse({ "set", "web", "A=1", "--no-wait", "B=2", "-n", "team" }, env_spec)
    assert.is_true(f["no-wait"])
    assert.equal("team", f.namespace)
    assert.equal("set", a.ACTION)
    assert.equal("web", a.NAME)
    assert.same({ "A=1", "B=2" }, a.VARS)
    assert.matches("unknown flag %-%-bogus", usage_error(function() args.parse({ "set", "web", "--bogus" }, env_spec) end).message)
  end)

  it("writes usage lines", function()
    assert.equal("kip thing do NAME [NEW] [flags]", args.usage_line(spec))
  end)
end)
