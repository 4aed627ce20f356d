-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.history: the revision a rollback goes back to.
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
end)
