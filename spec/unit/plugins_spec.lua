-- SPDX-License-Identifier: Apache-2.0
-- kip.plugins: search order across roots, the require searcher, listing with shadowing and load
-- errors. Roots here are built in temporary folders; KIP_PLUGIN_PATH order is covered through the
-- real kip in spec/cli/plugins_spec.lua.
local plugins = require "kip.plugins"
local host = require "kip.host"

describe("kip.plugins", function()
  it("searches the built-ins last", function()
    local roots = plugins.roots()
    assert.equal("builtin", roots[#roots].source)
    assert.equal(host.data_dir(), roots[#roots].path)
  end)

  it("maps kinds to module names", function()
    assert.equal("providers.baremetal", plugins.module_name("provider", "baremetal"))
    assert.equal("gitproviders.github", plugins.module_name("gitprovider", "github"))
    assert.equal("plugins.recipes.k3s", plugins.module_name("recipe", "k3s"))
    assert.equal("plugins.reconcilers.app", plugins.module_name("reconciler", "app"))
    assert.equal("plugins.catalog.valkey", plugins.module_name("catalog", "valkey"))
    assert.has_error(function() plugins.module_name("widget", "x") end)
  end)

  it("finds the built-in reconcile policies without loading them", function()
    local by_name = {}
    for _, p in ipairs(plugins.find("reconciler")) do
      assert.equal("reconciler", p.kind)
      assert.is_nil(p.error)
      by_name[p.name] = p
    end
    for _, name in ipairs({ "app", "project", "service" }) do
      assert.matches("plugins/reconcilers/" .. name .. "%.lua$", by_name[name].path)
    end
    assert.has_error(function() plugins.find("widget") end)
  end)

  it("installs its searcher once, right after preload", function()
    plugins.install_searcher()
    local n = #package.searchers
    plugins.install_searcher()
    assert.equal(n, #package.searchers)
  end)

  it("answers only for plugin module names", function()
    plugins.install_searcher()
    local ok, err = pcall(require, "providers.no-such-provider-here")
    assert.is_false(ok)
    assert.matches("no plugin file '.-/providers/no%-such%-provider%-here%.lua'", err)
  end)
end)
