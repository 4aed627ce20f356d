-- SPDX-License-Identifier: Apache-2.0
-- kipperd.autotune.record's plan: what the auto-tuner writes for a decision in each mode
-- (lastChange and the spec fields to apply in auto, a recommendation kept until applied or
-- superseded in recommend), blocks with a Warning once, the AutoTuned condition, Events not
-- repeated, nothing at all for an App with nothing to tell; and the condition list it writes.
-- Also kipperd.autotune.gather's per-App view of a namespace (samples, the other pods' sums).
local gather = require "kipperd.autotune.gather"
local record = require "kipperd.autotune.record"

local NOW = "2026-01-02T03:04:05Z"

local function app(status)
  return { apiVersion = "kipper.run/v1alpha1", kind = "App",
    metadata = { name = "web", namespace = "default", generation = 3, uid = "u1" }, spec = { image = "web:1" }, status = status }
end

local OOM = { field = "memoryLimit", from = 1, to = 2, value = "1Gi", previous = "512Mi", reason = "OOMKilled", message = "pod web-1 was OOMKilled" }
local CURRENT = { memoryLimit = "512Mi", memory = "256Mi", cpu = "100m" }

describe("kipperd.autotune.record plan", function()
  it("auto: the change becomes lastChange, the fields to apply, an Event and a True condition", function()
    local p = record.plan(app(), { mode = "auto", changes = { OOM }, held = {} }, CURRENT, NOW)
    assert.same({ memoryLimit = "1Gi" }, p.apply)
    assert.same({ time = NOW, memoryLimit = "1Gi", reason = "OOMKilled", message = "pod web-1 was OOMKilled" }, p.autotune.lastChange)
    assert.is_nil(p.autotune.recommendation)
    assert.equal(1, #p.events)
    assert.same({ type = "Normal", reason = "AutoTuned", message = "set memory limit 1Gi: pod web-1 was OOMKilled" }, p.events[1])
    assert.same({ type = "AutoTuned", status = "True", reason = "OOMKilled", message = "pod web-1 was OOMKilled" }, p.condition)
    assert.is_false(p.quiet)
  end)

  it("recommend: records a recommendation once, with one Event, and applies nothing", function()
    local p = record.plan(app(), { mode = "recommend", changes = { OOM }, held = {} }, CURRENT, NOW)
    assert.is_nil(p.apply)
    assert.equal("1Gi", p.autotune.recommendation.memoryLimit)
    assert.equal("AutoTuneRecommended", p.events[1].reason)
    assert.equal("False", p.condition.status)
    assert.equal("Recommended", p.condition.reason)
    assert.matches("recommends memory limit 1Gi %(set spec.autotune.mode to auto", p.condition.message)
    -- the same again later: kept as it was (its time too), no Event
    local again = record.plan(app({ autotune = p.autotune }), { mode = "recommend", changes = { OOM }, held = {} }, CURRENT, "2026-01-02T04:00:00Z")
    assert.same(p.autotune.recommendation, again.autotune.recommendation)
    assert.same({}, again.events)
    -- no change wanted now: kept while the App does not have it yet, dropped once it does
    local kept = record.plan(app({ autotune = p.autotune }), { mode = "recommend", changes = {}, held = {} }, CURRENT, NOW)
    assert.same(p.autotune.recommendation, kept.autotune.recommendation)
    local done = record.plan(app({ autotune = p.autotune }), { mode = "recommend", changes = {}, held = {} },
      { memoryLimit = "1Gi", memory = "256Mi", cpu = "100m" }, NOW)
    assert.is_nil(done.autotune.recommendation)
    assert.equal("True", done.condition.status)
  end)

  it("reports a block with one Warning Event and keeps its first time", function()
    local held = { { field = "memoryLimit", reason = "QuotaExceeded", warn = true, message = "no room" },
      { field = "memory", reason = "CoolDown", message = "waits" } }
    local p = record.plan(app(), { mode = "auto", changes = {}, held = held }, CURRENT, NOW)
    assert.same({ reason = "QuotaExceeded", message = "no room", time = NOW }, p.autotune.blocked)
    assert.same({ { type = "Warning", reason = "AutoTuneBlocked", message = "no room" } }, p.events)
    assert.same({ type = "AutoTuned", status = "False", reason = "QuotaExceeded", message = "no room" }, p.condition)
    local again = record.plan(app({ autotune = p.autotune }), { mode = "auto", changes = {}, held = held }, CURRENT, "2026-01-02T05:00:00Z")
    assert.equal(NOW, again.autotune.blocked.time)
    assert.same({}, again.events)
  end)

  it("a cool-down alone is not news", function()
    local p = record.plan(app(), { mode = "auto", changes = {}, held = { { field = "memory", reason = "CoolDown", message = "waits" } } }, CURRENT, NOW)
    assert.is_true(p.quiet)
    assert.same({}, p.events)
  end)

  it("says nothing for an App it never wrote about, and keeps the last change otherwise", function()
    assert.is_true(record.plan(app(), { mode = "recommend", changes = {}, held = {} }, CURRENT, NOW).quiet)
    assert.is_true(record.plan(app(), { mode = "off", changes = {}, held = {} }, CURRENT, NOW).quiet)
    local last = { time = NOW, memoryLimit = "1Gi", reason = "OOMKilled", message = "m" }
    local p = record.plan(app({ autotune = { mode = "auto", lastChange = last } }), { mode = "auto", changes = {}, held = {} }, CURRENT, NOW)
    assert.is_false(p.quiet)
    assert.same(last, p.autotune.lastChange)
    assert.same({ type = "AutoTuned", status = "True", reason = "OOMKilled", message = "m" }, p.condition)
    local off = record.plan(app({ autotune = { mode = "auto", lastChange = last } }), { mode = "off", changes = {}, held = {} }, CURRENT, NOW)
    assert.equal("Disabled", off.condition.reason)
    assert.is_false(off.quiet)
  end)

  it("writes the AutoTuned condition beside the others, keeping lastTransitionTime while its status stays", function()
    local live = app({ conditions = { { type = "Ready", status = "True", reason = "Ready", message = "" } } })
    local list = record.conditions(live, { type = "AutoTuned", status = "True", reason = "OOMKilled", message = "a" }, NOW)
    assert.equal(2, #list)
    assert.equal("Ready", list[1].type)
    assert.same({ type = "AutoTuned", status = "True", reason = "OOMKilled", message = "a", lastTransitionTime = NOW, observedGeneration = 3 }, list[2])
    live.status.conditions = list
    assert.is_nil(record.conditions(live, { type = "AutoTuned", status = "True", reason = "OOMKilled", message = "a" }, NOW))
    local later = record.conditions(live, { type = "AutoTuned", status = "True", reason = "HighUsage", message = "b" }, "2026-02-01T00:00:00Z")
    assert.equal(NOW, later[2].lastTransitionTime)
    local flipped = record.conditions(live, { type = "AutoTuned", status = "False", reason = "QuotaExceeded", message = "c" }, "2026-02-01T00:00:00Z")
    assert.equal("2026-02-01T00:00:00Z", flipped[2].lastTransitionTime)
  end)
end)

describe("kipperd.autotune.gather app", function()
  local function pod(name, instance, phase, req)
    return { metadata = { name = name, labels = instance and { ["app.kubernetes.io/name"] = instance,
      ["app.kubernetes.io/instance"] = instance, ["app.kubernetes.io/component"] = "app" } or {} },
      spec = { containers = { { name = "c", resources = { requests = { memory = req, cpu = "100m" }, limits = { memory = req } } } } },
      status = { phase = phase } }
  end

  it("samples the peak over the App's running pods and sums the other live pods", function()
    local view = { pods = { pod("web-a", "web", "Running", "256Mi"), pod("web-b", "web", "Running", "256Mi"),
      pod("db-0", "db", "Running", "1Gi"), pod("job-x", nil, "Succeeded", "4Gi"), pod("web-c", "web", "Pending", "256Mi") },
      usage = { ["web-a"] = { cpu = 0.1, memory = 100 }, ["web-b"] = { cpu = 0.05, memory = 300 }, ["db-0"] = { cpu = 1, memory = 999 } },
      quotas = { { name = "q", hard = { ["requests.memory"] = "8Gi" } } } }
    local mine = gather.app(view, app(), 1234)
    assert.equal(3, #mine.pods) -- the Pending one too (it counts against the quota)
    assert.same({ time = 1234, cpu = 0.1, memory = 300 }, mine.sample)
    local others = mine.quotas[1].others
    assert.equal(2 ^ 30, others["requests.memory"])
    assert.equal(2 ^ 30, others.memory)
    assert.equal(2 ^ 30, others["limits.memory"])
    assert.equal("q", mine.quotas[1].name)
  end)

  it("has no sample without metrics", function()
    local mine = gather.app({ pods = { pod("web-a", "web", "Running", "256Mi") }, usage = {}, quotas = {} }, app(), 1)
    assert.is_nil(mine.sample)
  end)
end)
