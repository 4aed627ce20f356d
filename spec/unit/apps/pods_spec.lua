-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.pods: a pod's summary (ready and total containers, restarts, phase) and the two views
-- built on it, kip app status's row and the console API's AppDetail pod (kipperd.api.apps_view).
-- The listing against a real API: spec/integration/kipperd_api_apps_spec.lua.
local apps_view = require "kipperd.api.apps_view"
local pods = require "kip.apps.pods"

local function pod(status, extra)
  local p = { metadata = { name = "web-1", creationTimestamp = "2025-01-02T03:04:05Z" },
    spec = { nodeName = "n1", containers = { { name = "app" }, { name = "sidecar" } } }, status = status }
  for k, v in pairs(extra or {}) do p.metadata[k] = v end
  return p
end

describe("kip.apps.pods", function()
  it("sums a pod's containers: ready of total and restarts", function()
    local p = pod({ phase = "Running", startTime = "2025-01-02T03:04:06Z", containerStatuses = {
      { name = "app", ready = true, restartCount = 2 }, { name = "sidecar", ready = false, restartCount = 1 } } })
    assert.same({ ready = 1, total = 2, restarts = 3, phase = "Running" }, pods.summary(p))
    local row = pods.row(p)
    assert.same({ "web-1", "Running", "1/2", 3, "n1" }, { row.name, row.phase, row.ready, row.restarts, row.node })
    local view = apps_view.pod(p)
    assert.same({ name = "web-1", phase = "Running", ready = false, restarts = 3, node = "n1",
      started_at = "2025-01-02T03:04:06Z" }, view)
  end)

  it("counts the spec's containers before the kubelet reports any, and a new pod is Pending", function()
    local p = pod(nil)
    assert.same({ ready = 0, total = 2, restarts = 0, phase = "Pending" }, pods.summary(p))
    assert.equal("0/2", pods.row(p).ready)
    assert.is_false(apps_view.pod(p).ready)
  end)

  it("says Terminating once a pod is being deleted, and ready when every container is", function()
    local p = pod({ phase = "Running", containerStatuses = { { ready = true }, { ready = true } } },
      { deletionTimestamp = "2025-01-02T03:05:00Z" })
    assert.same({ ready = 2, total = 2, restarts = 0, phase = "Terminating" }, pods.summary(p))
    assert.equal("2/2", pods.row(p).ready)
    assert.equal("Terminating", apps_view.pod(p).phase)
    assert.is_true(apps_view.pod(p).ready)
  end)

  it("gives the reason a waiting container is not running", function()
    local p = pod({ phase = "Running", containerStatuses = {
      { ready = false, restartCount = 4, state = { waiting = { reason = "CrashLoopBackOff" } } } } })
    assert.same({ ready = 0, total = 1, restarts = 4, phase = "Running" }, pods.summary(p))
    assert.equal("CrashLoopBackOff", apps_view.pod(p).reason)
  end)
end)
