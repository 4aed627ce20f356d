-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.history: the revision a rollback goes back to, and the spec it writes.
local history = require "kip.apps.history"

describe("kip.apps.history", function()
  it("picks the revision a rollback goes back to", function()
    local revs = { { revision = 1 }, { revision = 2 }, { revision = 5 } }
    assert.equal(2, history.target(revs).revision)
    assert.equal(1, history.target(revs, 1).revision)
    assert.same({ nil, "there is no revision 3" }, { history.target(revs, 3) })
    assert.same({ nil, "it has only one revision" }, { history.target({ { revision = 1 } }) })
    assert.same({ nil, "it has no revisions yet" }, { history.target({}) })
    assert.equal(2, history.env_count({ env = { A = "1", B = "2" } }))
  end)

  it("builds the spec of a rollback: the live spec with the revision's image and environment", function()
    local function cr(n, data, uid)
      return { metadata = { name = "web-" .. n, ownerReferences = { { kind = "App", name = "web", uid = uid or "u1" } },
        creationTimestamp = "2026-01-0" .. n .. "T00:00:00Z" }, revision = n, data = data }
    end
    local items = { cr(1, { image = "a:1", env = { X = "1" } }), cr(2, { image = "a:2", env = {} }),
      cr(3, { env = {} }), cr(4, { image = "other:1" }, "u2") }
    local c = { list = function(_, api_version, kind, opts)
      assert.equal("apps/v1", api_version)
      assert.equal("ControllerRevision", kind)
      assert.equal("shop", opts.namespace)
      return { items = items }
    end }
    local live = { metadata = { name = "web", namespace = "shop", uid = "u1" }, spec = { image = "a:3", port = 80, env = { Y = "2" } } }
    local spec, rev = history.rollback_spec(c, live, 1)
    assert.same({ image = "a:1", port = 80, env = { X = "1" } }, spec)
    assert.equal(1, rev.revision)
    assert.equal("a:3", live.spec.image)
    assert.same({ nil, "revision 3 records no image" }, { history.rollback_spec(c, live, 3) })
    assert.same({ nil, "there is no revision 4" }, { history.rollback_spec(c, live, 4) }) -- another App's
    assert.equal("a:2", history.rollback_spec(c, live).image) -- the one before the newest (3)
  end)
end)
