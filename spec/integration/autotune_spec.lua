-- SPDX-License-Identifier: Apache-2.0
-- The auto-tuner end to end: the real kipperd (--autotune-interval 1) against the sandbox API,
-- whose simulated containers use the memory their Deployment's sandbox.kipper.run/memory-usage
-- annotation says and are OOMKilled above their limit. auto: the memory limit doubles in the App's
-- spec (field manager kipperd-autotune), the Deployment rolls, an Event and the AutoTuned
-- condition say why, and `kip app deploy` keeps the tuned value (and sets the mode with
-- --autotune); recommend: the recommendation is
-- recorded and nothing changes; a ResourceQuota without room blocks the change, and says so.
local json = require "kip.json"
local kipcli = require "helpers.kipcli"
local kipperd = require "helpers.kipperd"
local sandbox = require "helpers.sandbox"

local eventually = sandbox.eventually
local AV = "kipper.run/v1alpha1"
-- Deadlines are generous: the chain App -> Deployment -> running pods -> OOM kill -> tuner pass
-- -> rollout is slow under AddressSanitizer on a loaded 2-core CI machine. Waits end as soon as
-- the state is there. The App reconciler and the tuner both write the App's status (it keeps the
-- tuner's part, from its cache, which may lag a pass behind): the specs wait for all of the
-- state they check (status.autotune and the AutoTuned condition, the Events written after them).
local SLOW = 90

local condition = require("kip.apps.format").condition

describe("autotune with kipperd", function()
  local env, sb, c, kd

  setup(function()
    env = kipcli.start()
    sb, c = env.sb, env.c
    kd = kipperd.start({ kubeconfig = sb.kubeconfig, args = { "--autotune-interval", "1" } })
    assert(kd:wait_ready(), "kipperd is not ready: " .. kd:output())
  end)

  teardown(function()
    if kd and kd:running() then kd:stop() end
    if env then env:stop() end
  end)

  local function k(args, stdin)
    local r = sb:kubectl(args, stdin)
    assert(r.status == 0, table.concat(args, " ") .. ": " .. r.stderr .. r.stdout)
    return r.stdout
  end

  -- An App whose pods use `usage` of memory (standard profile: limit 512Mi).
  local function hungry_app(name, ns, autotune, usage)
    assert(c:create({ apiVersion = AV, kind = "App", metadata = { name = name, namespace = ns },
      spec = { image = "ghcr.io/acme/" .. name .. ":1", autotune = autotune } }))
    assert(eventually(function() return c:get("apps/v1", "Deployment", name, ns) end, SLOW), "no Deployment: " .. kd:output())
    k({ "annotate", "-n", ns, "deployment", name, "sandbox.kipper.run/memory-usage=" .. usage })
  end

  local function events(ns, name)
    local list = assert(c:list("v1", "Event", { namespace = ns }))
    local out = {}
    for _, ev in ipairs(list.items) do
      if ev.involvedObject.kind == "App" and ev.involvedObject.name == name then out[#out + 1] = ev end
    end
    return out
  end

  -- The tuner writes the App's status first and its Events after: wait for them.
  local function events_with(ns, name, reason)
    local evs = eventually(function()
      local list = events(ns, name)
      for _, ev in ipairs(list) do
        if ev.reason == reason then return list end
      end
    end, SLOW)
    assert.is_truthy(evs, "no " .. reason .. " Event about " .. ns .. "/" .. name .. ": " .. kd:output())
    return evs
  end

  local function limit_of(dep)
    return dep.spec.template.spec.containers[1].resources.limits.memory
  end

  it("auto: doubles the memory limit after an OOM kill, with an Event and a condition", function()
    hungry_app("hungry", "default", { mode = "auto" }, "700Mi")
    local app = eventually(function()
      local a = c:get(AV, "App", "hungry", "default")
      return a and a.spec.resources and a.spec.resources.memoryLimit == "1Gi" and a
    end, SLOW)
    assert.is_truthy(app, "the limit did not double: " .. kd:output())
    local owners = {}
    for _, mf in ipairs(app.metadata.managedFields) do
      if mf.manager == "kipperd-autotune" then owners[mf.operation] = mf end
    end
    assert.is_truthy(owners.Apply, "kipperd-autotune does not own spec.resources")
    assert.is_truthy(owners.Apply.fieldsV1["f:spec"]["f:resources"]["f:memoryLimit"])
    -- the App reconciler rolls the Deployment to the new limit; the new pods are not killed
    assert.is_truthy(eventually(function()
      local d = c:get("apps/v1", "Deployment", "hungry", "default")
      return d and limit_of(d) == "1Gi"
    end, SLOW), "the Deployment did not roll")
    local cond = eventually(function()
      local a = c:get(AV, "App", "hungry", "default")
      local cd = condition(a, "AutoTuned")
      return cd and cd.status == "True" and condition(a, "Ready") and cd
    end, SLOW)
    assert.is_truthy(cond, "no AutoTuned condition: " .. json.encode(c:get(AV, "App", "hungry", "default").status))
    assert.equal("OOMKilled", cond.reason)
    assert.matches("OOMKilled at a memory limit of 512Mi", cond.message)
    local a = c:get(AV, "App", "hungry", "default")
    assert.equal("auto", a.status.autotune.mode)
    assert.equal("1Gi", a.status.autotune.lastChange.memoryLimit)
    assert.equal("OOMKilled", a.status.autotune.lastChange.reason)
    local evs = events_with("default", "hungry", "AutoTuned")
    local ev = evs[1]
    assert.equal("AutoTuned", ev.reason)
    assert.equal("Normal", ev.type)
    assert.equal(a.metadata.uid, ev.involvedObject.uid)
    assert.matches("set memory limit 1Gi", ev.message)
    assert.equal("kipperd-autotune", ev.source.component)
    -- kubectl describes it among the App's events
    assert.matches("AutoTuned", k({ "get", "events", "--field-selector", "involvedObject.name=hungry" }))
    -- 700Mi fits under 1Gi: no second doubling
    local pods = json.decode(k({ "get", "pods", "-l", "app.kubernetes.io/instance=hungry", "-o", "json" })).items
    for _, p in ipairs(pods) do
      if p.spec.containers[1].resources.limits.memory == "1Gi" and p.status.containerStatuses then
        assert.equal(0, p.status.containerStatuses[1].restartCount)
      end
    end
  end)

  it("auto: a later kip app deploy keeps the tuned limit", function()
    env:ok({ "app", "deploy", "--name", "hungry", "--replicas", "2", "--no-wait" })
    local a = eventually(function()
      local x = c:get(AV, "App", "hungry", "default")
      return x and x.spec.replicas == 2 and x
    end, SLOW)
    assert.equal("1Gi", a.spec.resources.memoryLimit)
    -- kip app status tells the mode, what the tuner did, and its Event
    local info = env:ok({ "app", "status", "hungry" }).stdout
    assert.matches("Autotune:%s+auto: pod hungry%-[%w-]+ was OOMKilled at a memory limit of 512Mi", info)
    assert.matches("AutoTuned", info)
  end)

  it("kip app deploy --autotune sets the mode, keeping the other settings", function()
    env:ok({ "app", "deploy", "--name", "tuned", "--image", "ghcr.io/acme/tuned:1", "--autotune", "auto", "--no-wait" })
    local a = assert(c:get(AV, "App", "tuned", "default"))
    assert.equal("auto", a.spec.autotune.mode)
    assert(c:patch(AV, "App", "tuned", "default", { spec = { autotune = { maxMemory = "2Gi" } } }))
    env:ok({ "app", "update", "tuned", "--autotune", "off", "--no-wait" })
    a = assert(c:get(AV, "App", "tuned", "default"))
    assert.same({ mode = "off", maxMemory = "2Gi" }, a.spec.autotune)
    local bad = env:kip({ "app", "update", "tuned", "--autotune", "sometimes" })
    assert.equal(2, bad.status)
    assert.matches("%-%-autotune must be one of", bad.stderr)
    -- an App that never had anything to tell gets no autotune status
    assert.is_nil((a.status or {}).autotune)
  end)

  it("recommend: records the recommendation and changes nothing", function()
    hungry_app("advice", "default", { mode = "recommend" }, "700Mi")
    local a = eventually(function()
      local x = c:get(AV, "App", "advice", "default")
      return x and x.status and x.status.autotune and x.status.autotune.recommendation
        and condition(x, "AutoTuned") and x
    end, SLOW)
    assert.is_truthy(a, "no recommendation: " .. kd:output())
    assert.equal("1Gi", a.status.autotune.recommendation.memoryLimit)
    assert.equal("OOMKilled", a.status.autotune.recommendation.reason)
    assert.is_nil(a.status.autotune.lastChange)
    local cond = condition(a, "AutoTuned")
    assert.equal("False", cond.status)
    assert.equal("Recommended", cond.reason)
    assert.matches("recommends memory limit 1Gi", cond.message)
    assert.is_nil((a.spec.resources or {}).memoryLimit)
    assert.equal("512Mi", limit_of(c:get("apps/v1", "Deployment", "advice", "default")))
    local evs = events_with("default", "advice", "AutoTuneRecommended")
    assert.equal(1, #evs)
    assert.equal("AutoTuneRecommended", evs[1].reason)
    -- later passes neither change the App nor repeat the Event
    local rv = a.metadata.resourceVersion
    os.execute("sleep 3")
    local again = c:get(AV, "App", "advice", "default")
    assert.is_nil((again.spec.resources or {}).memoryLimit)
    assert.equal(1, #events("default", "advice"))
    assert.same(a.status.autotune, again.status.autotune)
    assert.is_truthy(rv)
  end)

  it("says so when the namespace's ResourceQuota leaves no room", function()
    k({ "apply", "-f", "-" }, json.encode({ apiVersion = "v1", kind = "Namespace", metadata = { name = "tight" } }))
    k({ "apply", "-f", "-" }, json.encode({ apiVersion = "v1", kind = "ResourceQuota", metadata = { name = "small", namespace = "tight" },
      spec = { hard = { ["limits.memory"] = "512Mi" } } }))
    hungry_app("boxed", "tight", { mode = "auto" }, "700Mi")
    local a = eventually(function()
      local x = c:get(AV, "App", "boxed", "tight")
      return x and x.status and x.status.autotune and x.status.autotune.blocked
        and condition(x, "AutoTuned") and x
    end, SLOW)
    assert.is_truthy(a, "not blocked: " .. kd:output())
    assert.equal("QuotaExceeded", a.status.autotune.blocked.reason)
    assert.matches("ResourceQuota small %(limits.memory 512Mi", a.status.autotune.blocked.message)
    assert.is_nil((a.spec.resources or {}).memoryLimit)
    local cond = condition(a, "AutoTuned")
    assert.equal("False", cond.status)
    assert.equal("QuotaExceeded", cond.reason)
    local evs = events_with("tight", "boxed", "AutoTuneBlocked")
    assert.equal("AutoTuneBlocked", evs[1].reason)
    assert.equal("Warning", evs[1].type)
  end)
end)
