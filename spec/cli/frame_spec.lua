-- SPDX-License-Identifier: Apache-2.0
-- The CLI frame through the real kip binary: help everywhere, exit statuses (0, 1, 2), unknown
-- commands and verbs with suggestions, errors as "kip: error: WHAT" plus what to do, `kip version`.
local helpers = require "helpers"
local json = require "kip.json"

describe("kip (the command-line frame)", function()
  it("shows help with no arguments, with help and with --help", function()
    for _, argv in ipairs({ {}, { "help" }, { "--help" }, { "-h" }, { "help", "help" } }) do
      local r = helpers.kip(argv)
      assert.equal(0, r.status)
      assert.matches("Usage:\n  kip COMMAND", r.stdout)
      for _, cmd in ipairs({ "cluster", "lua", "plugins", "version" }) do
        assert.matches("\n  " .. cmd .. " ", r.stdout)
      end
      assert.equal("", r.stderr)
    end
  end)

  it("has help with examples on every command and verb", function()
    local cases = {
      { "version", "--help" }, { "help", "version" }, { "lua", "--help" }, { "plugins", "-h" },
      { "cluster", "--help" }, { "cluster" }, { "help", "cluster", "rename" },
      { "cluster", "list", "--help" }, { "cluster", "use", "--help" }, { "cluster", "current", "--help" },
      { "cluster", "rename", "--help" }, { "cluster", "remove", "-h" },
    }
    for _, argv in ipairs(cases) do
      local r = helpers.kip(argv)
      assert.equal(0, r.status, table.concat(argv, " "))
      assert.matches("Usage: kip ", r.stdout)
      assert.matches("\nExamples:\n  kip ", r.stdout)
      assert.matches("\nGlobal flags:\n", r.stdout)
    end
    local r = helpers.kip({ "cluster", "rename", "--help" })
    assert.matches("Usage: kip cluster rename OLD NEW %[flags%]", r.stdout)
  end)

  it("exits 2 on an unknown command and suggests the closest", function()
    local r = helpers.kip({ "clster", "list" })
    assert.equal(2, r.status)
    assert.equal("", r.stdout)
    assert.equal([[kip: error: unknown command "clster"
Did you mean 'kip cluster'? Run 'kip help' for the list of commands.
]], r.stderr)
    local r2 = helpers.kip({ "frobnicate" })
    assert.equal(2, r2.status)
    assert.equal([[kip: error: unknown command "frobnicate"
Run 'kip help' for the list of commands.
]], r2.stderr)
  end)

  it("exits 2 on an unknown verb or flag, naming it", function()
    local r = helpers.kip({ "cluster", "lst" })
    assert.equal(2, r.status)
    assert.matches([[^kip: error: unknown verb "lst" for 'kip cluster'
Did you mean 'kip cluster list'%?]], r.stderr)
    local r2 = helpers.kip({ "version", "--bogus" })
    assert.equal(2, r2.status)
    assert.matches("^kip: error: unknown flag %-%-bogus for 'kip version'\n", r2.stderr)
    local r3 = helpers.kip({ "version", "-o", "xml" })
    assert.equal(2, r3.status)
    assert.matches("%-%-output must be one of table, json, yaml", r3.stderr)
    local r4 = helpers.kip({ "cluster", "use" })
    assert.equal(2, r4.status)
    assert.matches("^kip: error: missing NAME\nUsage: kip cluster use NAME", r4.stderr)
  end)

  it("prints its version and the libraries it runs with", function()
    local r = helpers.kip({ "version" })
    assert.equal(0, r.status)
    assert.matches("^kip %d+%.%d+%.%d+", r.stdout)
    for _, lib in ipairs({ "Lua", "libssh", "libcurl", "OpenSSL", "civetweb", "libyaml" }) do
      assert.matches("\n" .. lib .. " +%S*%d", r.stdout)
    end
    local j = helpers.kip({ "version", "-o", "json" })
    assert.equal(0, j.status)
    local info = assert(json.decode(j.stdout))
    assert.matches("^%d+%.%d+%.%d+$", info.version)
    local names = {}
    for _, lib in ipairs(info.libraries) do names[#names + 1] = lib.name; assert.is_string(lib.version) end
    assert.same({ "Lua", "libssh", "libcurl", "OpenSSL", "civetweb", "libyaml" }, names)
    assert.equal("5.4", info.libraries[1].version:sub(1, 3))
    local y = helpers.kip({ "--version" })
    assert.equal(0, y.status)
    assert.matches("^kip %d", y.stdout)
  end)

  it("reports the same library versions the test process sees", function()
    local host = require "kip.host"
    local info = assert(json.decode(helpers.kip({ "version", "-o", "json" }).stdout))
    assert.same(host.libraries(), info.libraries)
  end)

  it("prints YAML with -o yaml", function()
    local r = helpers.kip({ "version", "-o", "yaml" })
    assert.equal(0, r.status)
    local info = assert(require("kip.yaml").decode(r.stdout))
    assert.is_string(info.version)
  end)
end)
