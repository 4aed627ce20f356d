-- SPDX-License-Identifier: Apache-2.0
-- `kip plugins` and the plugin search order through the real binary: KIP_PLUGIN_PATH roots in
-- order, then KIP_HOME/plugins, then the built-ins; first match wins; a broken plugin is listed
-- with its error and stops nothing; `require` in `kip lua` follows the same order.
local helpers = require "helpers"
local json = require "kip.json"

describe("kip plugins", function()
  local dir, home, env
  before_each(function()
    dir = helpers.tmpdir()
    home = dir .. "/home"
    env = { KIP_HOME = home, KIP_PLUGIN_PATH = dir .. "/first:" .. dir .. "/second" }
    helpers.write(dir .. "/first/providers/hetzner.lua", "return { name = function() return 'hetzner-first' end }")
    helpers.write(dir .. "/second/providers/hetzner.lua", "return { name = function() return 'hetzner-second' end }")
    helpers.write(dir .. "/second/providers/aws/init.lua", "return { name = function() return require('providers.aws.api').who end }")
    helpers.write(dir .. "/second/providers/aws/api.lua", "return { who = 'aws' }")
    helpers.write(dir .. "/second/gitproviders/gitea.lua", "return {}")
    helpers.write(dir .. "/first/plugins/recipes/broken.lua", "return {")
    helpers.write(dir .. "/first/plugins/reconcilers/notatable.lua", "return 42")
    helpers.write(home .. "/plugins/plugins/recipes/site.lua", "return { steps = {} }")
    helpers.write(home .. "/plugins/providers/hetzner.lua", "return {}")
    helpers.write(dir .. "/first/providers/README.md", "not a plugin")
  end)
  after_each(function() helpers.rmtree(dir) end)

  local function list(extra_env)
    local r = helpers.kip({ "plugins", "-o", "json" }, { env = extra_env or env })
    assert.equal(0, r.status, r.stderr)
    local by = {}
    for _, p in ipairs(assert(json.decode(r.stdout))) do by[p.kind .. "/" .. p.name] = p end
    return by
  end

  it("lists every plugin with kind, name and path, first root winning", function()
    local by = list()
    assert.equal(dir .. "/first/providers/hetzner.lua", by["provider/hetzner"].path)
    assert.equal("KIP_PLUGIN_PATH", by["provider/hetzner"].source)
    assert.same({ dir .. "/second/providers/hetzner.lua", home .. "/plugins/providers/hetzner.lua" },
      by["provider/hetzner"].shadows)
    assert.equal(dir .. "/second/providers/aws/init.lua", by["provider/aws"].path)
    assert.equal("gitprovider", by["gitprovider/gitea"].kind)
    assert.equal(home .. "/plugins/plugins/recipes/site.lua", by["recipe/site"].path)
    assert.equal("KIP_HOME", by["recipe/site"].source)
    assert.is_nil(by["provider/hetzner"].error)
    assert.is_nil(by["provider/README"])
  end)

  it("lists a plugin that fails to load with its error and carries on", function()
    local by = list()
    assert.matches("broken%.lua:1: unexpected symbol near <eof>", by["recipe/broken"].error)
    assert.equal([[reconciler "notatable" does not return a table (it returned a number)]],
      by["reconciler/notatable"].error)
    assert.is_not_nil(by["recipe/site"])
    local t = helpers.kip({ "plugins" }, { env = env })
    assert.equal(0, t.status)
    assert.matches("recipe%s+broken%s+KIP_PLUGIN_PATH%s+error: ", t.stdout)
    assert.matches("provider%s+hetzner%s+KIP_PLUGIN_PATH%s+ok%s+" .. dir:gsub("%p", "%%%0"), t.stdout)
  end)

  it("filters by kind", function()
    local r = helpers.kip({ "plugins", "--kind", "gitprovider", "-o", "json" }, { env = env })
    local l = assert(json.decode(r.stdout))
    assert.equal(1, #l)
    assert.equal("gitea", l[1].name)
  end)

  it("makes require follow the same order, with plugin-local modules", function()
    helpers.write(dir .. "/s.lua", [[
print(require("providers.hetzner").name())
print(require("providers.aws").name())
print(pcall(require, "plugins.recipes.broken"))
]])
    local r = helpers.kip({ "lua", dir .. "/s.lua" }, { env = env })
    assert.equal(0, r.status, r.stderr)
    assert.matches("^hetzner%-first\naws\nfalse\terror loading plugin 'plugins%.recipes%.broken' from .-broken%.lua:1: unexpected symbol", r.stdout)
  end)

  it("falls back to KIP_HOME/plugins when KIP_PLUGIN_PATH is unset", function()
    local by = list({ KIP_HOME = home })
    assert.equal(home .. "/plugins/providers/hetzner.lua", by["provider/hetzner"].path)
    assert.is_nil(by["provider/aws"])
  end)

  it("says where it looked when it finds nothing", function()
    -- kip ships providers and recipes, but no git provider yet
    local r = helpers.kip({ "plugins", "--kind", "gitprovider" }, { env = { KIP_HOME = dir .. "/empty" } })
    assert.equal(0, r.status)
    assert.matches("No plugins found%. Search order: " .. (dir .. "/empty/plugins"):gsub("%p", "%%%0"), r.stderr)
  end)
end)
