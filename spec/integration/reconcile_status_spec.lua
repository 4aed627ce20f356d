-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.controller's status write against the sandbox API: it is made at the
-- resourceVersion the reconcile read, so a copy that lags behind another writer's status change
-- (the auto-tuner's AutoTuned condition) gets a conflict instead of undoing it, and a current copy
-- writes. Uses helpers.sandbox, helpers.kipperd (CRDs) and kip.k8s.
local condition = require("kip.apps.format").condition
local controller = require "kip.reconcile.controller"
local k8s = require "kip.k8s"
local kipperd = require "helpers.kipperd"
local sandbox = require "helpers.sandbox"

describe("kip.reconcile.controller status write (sandbox API)", function()
  local sb, c

  setup(function()
    sb = sandbox.start()
    c = assert(k8s.connect({ kubeconfig = sb.kubeconfig }))
    kipperd.prepare(c)
  end)

  teardown(function()
    if c then c:close() end
    if sb then sb:stop() end
  end)

  it("refuses to write over a newer status and writes from the current copy", function()
    assert(c:apply({ apiVersion = "kipper.run/v1alpha1", kind = "App", metadata = { name = "web", namespace = "default" },
      spec = { image = "nginxdemos/hello:0.4" } }, { field_manager = "spec", force = true }))
    local stale = assert(c:get("kipper.run/v1alpha1", "App", "web", "default"))
    -- another writer adds its condition meanwhile
    assert(c:patch("kipper.run/v1alpha1", "App", "web", "default",
      { status = { conditions = { { type = "AutoTuned", status = "True", reason = "Recommended", message = "x",
        lastTransitionTime = "2026-11-24T00:00:00Z" } } } }, { subresource = "status", field_manager = "tuner" }))
    local wrote = {}
    local ctl = controller.new({ api_version = "kipper.run/v1alpha1", kind = "App", reconcile = function() return {} end },
      { name = "app", engine = { client = c, cache = { wrote = function(_, obj) wrote[#wrote + 1] = obj end } } })
    local status = { conditions = { { type = "Ready", status = "True", reason = "Available", message = "1/1",
      lastTransitionTime = "2026-11-24T00:00:01Z" } } }
    local ok, err = ctl:_write_status(stale, status)
    assert.is_nil(ok)
    assert.equal("conflict", err.code)
    local live = assert(c:get("kipper.run/v1alpha1", "App", "web", "default"))
    assert.is_table(condition(live, "AutoTuned"))
    assert.is_nil(condition(live, "Ready"))
    assert.equal(0, #wrote)
    assert.is_true(ctl:_write_status(live, status))
    live = assert(c:get("kipper.run/v1alpha1", "App", "web", "default"))
    assert.equal("True", condition(live, "Ready").status)
    assert.equal(1, #wrote)
  end)
end)
