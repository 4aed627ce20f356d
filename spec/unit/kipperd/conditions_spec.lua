-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.conditions: status.conditions in the console API's shape, in order, an empty JSON
-- array when there are none.
local conditions = require "kipperd.api.conditions"
local json = require "kip.json"

describe("kipperd.api.conditions", function()
  it("shows each condition with its last transition time, in the object's order", function()
    local obj = { status = { conditions = {
      { type = "Ready", status = "True", reason = "Ready", message = "2/2 ready", lastTransitionTime = "2026-01-01T00:00:00Z",
        lastUpdateTime = "2026-01-01T00:00:01Z" },
      { type = "Progressing", status = "False" } } } }
    assert.same({
      { type = "Ready", status = "True", reason = "Ready", message = "2/2 ready", last_transition_time = "2026-01-01T00:00:00Z" },
      { type = "Progressing", status = "False" } }, conditions.view(obj))
  end)

  it("is an empty JSON array for an object without status", function()
    assert.equal("[]", json.encode(conditions.view({ metadata = { name = "new" } })))
    assert.equal("[]", json.encode(conditions.view({ status = {} })))
  end)
end)
