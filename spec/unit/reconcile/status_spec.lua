-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.status: observedGeneration, stable lastTransitionTime, the ReconcileError status
-- and the merge patch that writes only a change.
local json = require "kip.json"
local status = require "kip.reconcile.status"

describe("kip.reconcile.status", function()
  local T0, T1 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"

  it("adds observedGeneration and stamps new conditions with now", function()
    local s = status.build({ phase = "Progressing", conditions = { { type = "Ready", status = "False",
      reason = "Deploying", message = "0/1 ready" } } }, nil, 4, T0)
    assert.equal(4, s.observedGeneration)
    assert.same({ { type = "Ready", status = "False", reason = "Deploying", message = "0/1 ready",
      observedGeneration = 4, lastTransitionTime = T0 } }, s.conditions)
    assert.is_true(json.is_array(s.conditions))
  end)

  it("keeps lastTransitionTime while a condition's status stays, and moves it when it changes", function()
    local live = status.build({ conditions = { { type = "Ready", status = "False", reason = "Deploying" },
      { type = "Progressing", status = "True", reason = "Rolling" } } }, nil, 1, T0)
    local s = status.build({ conditions = { { type = "Ready", status = "True", reason = "Available" },
      { type = "Progressing", status = "True", reason = "Done", message = "rolled out" } } }, live, 2, T1)
    assert.equal(T1, s.conditions[1].lastTransitionTime)
    assert.equal(T0, s.conditions[2].lastTransitionTime)
    assert.equal("Done", s.conditions[2].reason)
  end)

  it("fills reason and message that a metav1.Condition requires", function()
    local s = status.build({ conditions = { { type = "Ready", status = "True" } } }, nil, 1, T0)
    assert.equal("Reconciled", s.conditions[1].reason)
    assert.equal("", s.conditions[1].message)
  end)

  it("sets Ready=False ReconcileError with the message and keeps the rest of the live status", function()
    local live = status.build({ phase = "Ready", url = "http://x", conditions = {
      { type = "Ready", status = "True", reason = "Available" }, { type = "Progressing", status = "False", reason = "Done" } } }, nil, 1, T0)
    local s = status.failed(live, "cannot apply Deployment default/web: spec.replicas: Invalid value", 2, T1)
    assert.equal("Failed", s.phase)
    assert.equal("http://x", s.url)
    assert.equal(1, s.observedGeneration)
    assert.same({ type = "Ready", status = "False", reason = "ReconcileError",
      message = "cannot apply Deployment default/web: spec.replicas: Invalid value", observedGeneration = 2,
      lastTransitionTime = T1 }, s.conditions[1])
    assert.same(live.conditions[2], s.conditions[2])
    -- failing again later keeps the time it first failed
    local again = status.failed(s, "still failing", 2, "2026-01-03T00:00:00Z")
    assert.equal(T1, again.conditions[1].lastTransitionTime)
    assert.equal("still failing", again.conditions[1].message)
  end)

  it("uses a spec error's reason instead of ReconcileError", function()
    local s = status.failed(nil, "autoscale.max (1) is below autoscale.min (2): raise max", 3, T0, "InvalidAutoscale")
    assert.equal("InvalidAutoscale", s.conditions[1].reason)
    assert.equal("False", s.conditions[1].status)
  end)

  it("adds a Ready condition to a status that had none, and clips long messages", function()
    local s = status.failed(nil, string.rep("x", 10000), 1, T0)
    assert.equal("Ready", s.conditions[1].type)
    assert.equal(status.MAX_MESSAGE, #s.conditions[1].message)
  end)

  it("patches only a change, with null for fields that went", function()
    local live = status.build({ phase = "Ready", url = "http://x" }, nil, 1, T0)
    assert.is_nil(status.patch(status.build({ phase = "Ready", url = "http://x" }, live, 1, T1), live))
    local p = status.patch(status.build({ phase = "Ready" }, live, 2, T1), live)
    assert.equal(json.null, p.status.url)
    assert.equal(2, p.status.observedGeneration)
    assert.same({ phase = "Ready" }, { phase = status.patch({ phase = "Ready" }, nil).status.phase })
  end)

  it("finds the Ready condition", function()
    assert.equal("True", status.ready({ conditions = { { type = "Ready", status = "True" } } }).status)
    assert.is_nil(status.ready(nil))
  end)
end)
