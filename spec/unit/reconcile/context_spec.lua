-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.context: the ctx a policy gets (reads through the cache, recorded; random; now).
local context = require "kip.reconcile.context"
local deps = require "kip.reconcile.deps"

describe("kip.reconcile.context", function()
  -- a stand-in cache with the methods ctx uses
  local cache = {
    kinds = { ["v1|Secret"] = { namespaced = true } },
    kind = function(self, av, kind) return self.kinds[av .. "|" .. kind] end,
    get = function(_, _, _, ns, name) return { metadata = { namespace = ns, name = name } } end,
    list = function() return { { metadata = { name = "p" } } } end,
  }

  local function ctx_for(allowed)
    local rec = deps.recorder()
    return context.new({ cache = cache, recorder = rec, cluster = { clusterId = "1-2-3-4", zone = "kipper.run" },
      catalog = { postgres = {} }, allowed = allowed, policy = "app" }), rec
  end

  it("reads objects of the policy's kinds and records what it read", function()
    local ctx, rec = ctx_for({ ["v1|Secret"] = true, ["v1|Pod"] = true })
    assert.equal("s", ctx.observed("v1", "Secret", "default", "s").metadata.name)
    assert.equal(1, #ctx.observed_list("v1", "Pod", "default", { app = "web" }))
    assert.same({ { "v1|Secret", "default/s" } }, rec.reads.gets)
    assert.same({ { "v1|Pod", "default", { app = "web" } } }, rec.reads.lists)
    assert.equal("1-2-3-4", ctx.cluster.clusterId)
    assert.is_table(ctx.catalog.postgres)
  end)

  it("refuses kinds the policy did not declare", function()
    local ctx = ctx_for({})
    assert.has_error(function() ctx.observed("v1", "ConfigMap", "default", "x") end,
      "policy app reads v1 ConfigMap, which is not in its owns or reads")
  end)

  it("gives random hex and the time in RFC 3339 UTC", function()
    local ctx = ctx_for({})
    local a, b = ctx.random(16), ctx.random(16)
    assert.matches("^%x+$", a)
    assert.equal(32, #a)
    assert.not_equal(a, b)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", ctx.now())
    assert.has_error(function() ctx.random(0) end)
  end)
end)
