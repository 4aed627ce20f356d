-- SPDX-License-Identifier: Apache-2.0
-- The auto-tuner policy (plugins/tuners/autotune.lua, loaded through the plugin search order as
-- kipperd loads it): modes, the OOM doubling and its cap, raising and lowering requests from
-- usage with the sample count and the cool-down, requests bounded by limits, ResourceQuota bounds
-- (clipped or blocked, with a message), its replacement through KIP_PLUGIN_PATH, and
-- kip.policy.quantity's formatting.
local plugins = require "kip.plugins"
local quantity = require "kip.policy.quantity"

local Mi, Gi = 2 ^ 20, 2 ^ 30

describe("autotune policy", function()
  local policy

  setup(function()
    policy = assert(plugins.load("tuner", "autotune"))
  end)

  local function app(autotune, resources, replicas)
    return { apiVersion = "kipper.run/v1alpha1", kind = "App", metadata = { name = "web", namespace = "default" },
      spec = { image = "web:1", replicas = replicas or 1, autotune = autotune, resources = resources } }
  end

  local function pod(name, limit, reason)
    return { metadata = { name = name },
      spec = { containers = { { name = "app", resources = { limits = { memory = limit } } } } },
      status = { phase = "Running", containerStatuses = { { name = "app", restartCount = reason and 1 or 0,
        lastState = reason and { terminated = { reason = reason, exitCode = 137 } } or {} } } } }
  end

  local function samples(n, memory, cpu, start)
    local out = {}
    for i = 1, n do out[i] = { time = (start or 1000) + i * 30, memory = memory, cpu = cpu } end
    return out
  end

  local function change(result, field)
    for _, c in ipairs(result.changes) do
      if c.field == field then return c end
    end
  end

  local function held(result, reason)
    for _, h in ipairs(result.held) do
      if h.reason == reason then return h end
    end
  end

  describe("modes", function()
    it("defaults to recommend", function()
      assert.equal("recommend", policy.settings(app(nil)).mode)
      assert.equal("recommend", policy.DEFAULTS.mode)
    end)

    it("does nothing when off, even after an OOM kill", function()
      local r = policy.decide({ app = app({ mode = "off" }), pods = { pod("web-1", "512Mi", "OOMKilled") }, now = 5000 })
      assert.equal("off", r.mode)
      assert.same({}, r.changes)
      assert.is_nil(r.recommendation)
    end)

    it("decides the same in recommend and auto: the controller applies only in auto", function()
      for _, mode in ipairs({ "recommend", "auto" }) do
        local r = policy.decide({ app = app({ mode = mode }), pods = { pod("web-1", "512Mi", "OOMKilled") }, now = 5000 })
        assert.equal(mode, r.mode)
        assert.same({ memoryLimit = "1Gi" }, r.recommendation)
      end
    end)

    it("treats an unknown mode as off", function()
      assert.equal("off", policy.settings(app({ mode = "sometimes" })).mode)
    end)
  end)

  describe("OOM kills", function()
    it("double the limit the container was killed at", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = { pod("web-1", "512Mi", "OOMKilled") }, now = 5000 })
      local c = change(r, "memoryLimit")
      assert.equal(512 * Mi, c.from)
      assert.equal(1 * Gi, c.to)
      assert.equal("1Gi", c.value)
      assert.equal("512Mi", c.previous)
      assert.equal("OOMKilled", c.reason)
      assert.matches("pod web%-1 was OOMKilled at a memory limit of 512Mi %(1 kill%): limit doubled to 1Gi", c.message)
    end)

    it("count only OOMKilled terminations, current or last", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = { pod("web-1", "512Mi", "Error") }, now = 5000 })
      assert.same({}, r.changes)
      local p = pod("web-2", "512Mi")
      p.status.containerStatuses[1].state = { terminated = { reason = "OOMKilled" } }
      r = policy.decide({ app = app({ mode = "auto" }), pods = { p }, now = 5000 })
      assert.equal("1Gi", change(r, "memoryLimit").value)
    end)

    it("do nothing once the limit is already above the one the pod died at (an old pod)", function()
      local r = policy.decide({ app = app({ mode = "auto" }, { memoryLimit = "2Gi" }), pods = { pod("old", "512Mi", "OOMKilled") }, now = 5000 })
      assert.same({}, r.changes)
      assert.same({}, r.held)
    end)

    it("stop at spec.autotune.maxMemory", function()
      local r = policy.decide({ app = app({ mode = "auto", maxMemory = "768Mi" }), pods = { pod("web-1", "512Mi", "OOMKilled") }, now = 5000 })
      local c = change(r, "memoryLimit")
      assert.equal("768Mi", c.value)
      assert.matches("capped by spec.autotune.maxMemory 768Mi", c.message)
    end)

    it("are reported, not acted on, at the cap (default 4Gi)", function()
      local r = policy.decide({ app = app({ mode = "auto" }, { memory = "1Gi", memoryLimit = "4Gi" }),
        pods = { pod("web-1", "4Gi", "OOMKilled") }, now = 5000 })
      assert.same({}, r.changes)
      local h = held(r, "AtMaxMemory")
      assert.is_true(h.warn)
      assert.matches("already spec.autotune.maxMemory", h.message)
    end)

    it("are not held by the cool-down", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = { pod("web-1", "512Mi", "OOMKilled") }, now = 5000, last_change = 4990 })
      assert.equal("1Gi", change(r, "memoryLimit").value)
    end)
  end)

  describe("requests from usage", function()
    -- standard profile: requests 100m / 256Mi, limits 500m / 512Mi
    it("rise when usage stays above 90% of the request, to put the peak at 60%", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(5, 240 * Mi, 0.05), now = 2000 })
      local c = change(r, "memory")
      assert.equal("400Mi", c.value) -- 240 / 0.6
      assert.equal("HighUsage", c.reason)
      assert.matches("memory usage stayed above 90%% of the request 256Mi for 5 samples %(peak 240Mi%): request raised to 400Mi", c.message)
      assert.is_nil(change(r, "cpu")) -- 50m of 100m is between 30% and 90%: left alone
    end)

    it("fall when usage stays below 30%, not below the floor", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(5, 30 * Mi, 0.001), now = 2000 })
      assert.equal("50Mi", change(r, "memory").value) -- 30 / 0.6
      assert.equal("LowUsage", change(r, "memory").reason)
      assert.equal("10m", change(r, "cpu").value) -- 1m / 0.6 is under the 10m floor
    end)

    it("need the whole run of samples above (or below) the threshold", function()
      local s = samples(5, 240 * Mi, 0.05)
      s[3].memory = 200 * Mi -- 78%: breaks the run
      local r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = s, now = 2000 })
      assert.is_nil(change(r, "memory"))
      r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(4, 240 * Mi, 0.05), now = 2000 })
      assert.same({}, r.changes) -- 4 of 5 samples
      r = policy.decide({ app = app({ mode = "auto", samples = 3 }), pods = {}, samples = samples(3, 240 * Mi, 0.05), now = 2000 })
      assert.equal("400Mi", change(r, "memory").value)
    end)

    it("leave usage between the thresholds alone (the hysteresis band)", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(10, 150 * Mi, 0.05), now = 2000 })
      assert.same({}, r.changes)
      assert.same({}, r.held)
    end)

    it("wait out the cool-down after a change, and use only samples taken after it", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(5, 240 * Mi, 0.05), now = 1200, last_change = 1000 })
      assert.same({}, r.changes)
      assert.is_truthy(held(r, "CoolDown"))
      assert.is_nil(held(r, "CoolDown").warn)
      -- after the cool-down, samples from before the change do not count
      r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(5, 240 * Mi, 0.05, 1000), now = 3000, last_change = 1100 })
      assert.same({}, r.changes)
      r = policy.decide({ app = app({ mode = "auto", cooldown = 60 }), pods = {}, samples = samples(5, 240 * Mi, 0.05), now = 1200, last_change = 1000 })
      assert.equal("400Mi", change(r, "memory").value)
    end)

    it("never raise a request above its limit", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(5, 500 * Mi, 0.05), now = 2000 })
      assert.equal("512Mi", change(r, "memory").value) -- 833Mi wanted, the limit is 512Mi
      r = policy.decide({ app = app({ mode = "auto" }, { memory = "512Mi" }), pods = {}, samples = samples(5, 500 * Mi, 0.05), now = 2000 })
      assert.is_nil(change(r, "memory"))
      assert.matches("at its limit 512Mi", held(r, "AtLimit").message)
    end)

    it("may use the limit an OOM kill just raised", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = { pod("web-1", "512Mi", "OOMKilled") },
        samples = samples(5, 500 * Mi, 0.05), now = 2000 })
      assert.equal("1Gi", change(r, "memoryLimit").value)
      assert.equal("834Mi", change(r, "memory").value)
    end)

    it("raise CPU requests the same way", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(5, 150 * Mi, 0.095), now = 2000 })
      assert.equal("159m", change(r, "cpu").value)
    end)
  end)

  describe("ResourceQuota", function()
    local function quota(hard, others)
      return { { name = "team", hard = hard, others = others or {} } }
    end

    it("clips a raise to what fits beside the other pods", function()
      -- 2 replicas; others request 1280Mi of 2Gi: room for 384Mi per pod
      local r = policy.decide({ app = app({ mode = "auto" }, nil, 2), pods = {}, samples = samples(5, 240 * Mi, 0.05), now = 2000,
        quotas = quota({ ["requests.memory"] = "2Gi" }, { ["requests.memory"] = 1280 * Mi }) })
      local c = change(r, "memory")
      assert.equal("384Mi", c.value)
      assert.matches("held to 384Mi by ResourceQuota team %(requests.memory 2Gi; the namespace's other pods use 1280Mi, this App runs 2 pods%)", c.message)
    end)

    it("blocks a raise with no room, and says so", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = { pod("web-1", "512Mi", "OOMKilled") }, now = 2000,
        quotas = quota({ ["limits.memory"] = "1Gi" }, { ["limits.memory"] = 512 * Mi }) })
      assert.same({}, r.changes)
      local h = held(r, "QuotaExceeded")
      assert.is_true(h.warn)
      assert.matches("would raise the memory limit from 512Mi to 1Gi %(OOMKilled%), but ResourceQuota team %(limits.memory 1Gi", h.message)
      assert.matches("raise the quota", h.message)
    end)

    it("counts the plain memory key as requests and never holds back a lowering", function()
      local r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(5, 240 * Mi, 0.05), now = 2000,
        quotas = quota({ memory = "300Mi" }) })
      assert.equal("300Mi", change(r, "memory").value)
      r = policy.decide({ app = app({ mode = "auto" }), pods = {}, samples = samples(5, 30 * Mi, 0.05), now = 2000,
        quotas = quota({ memory = "1Mi" }) })
      assert.equal("50Mi", change(r, "memory").value)
    end)
  end)

  it("is replaced by a tuner of the same name earlier in KIP_PLUGIN_PATH, which kipperd checks", function()
    local helpers = require "helpers"
    local dir = helpers.tmpdir()
    assert(os.execute("mkdir -p " .. dir .. "/good/plugins/tuners " .. dir .. "/bad/plugins/tuners"))
    helpers.write(dir .. "/good/plugins/tuners/autotune.lua", [[
      return { settings = function() return { mode = "auto" } end, current = function() return {} end,
        decide = function() return { mode = "auto", changes = {}, held = {}, recommendation = { cpu = "7" } } end }]])
    helpers.write(dir .. "/bad/plugins/tuners/autotune.lua", "return { settings = function() end }")
    local script = [[
      local policy, err = require("kipperd.autotune").load_policy()
      if not policy then print("ERR " .. err) return end
      print("CPU " .. policy.decide({}).recommendation.cpu)]]
    local good = helpers.kip({ "lua", "-" }, { stdin = script, env = { KIP_PLUGIN_PATH = dir .. "/good" } })
    assert.equal(0, good.status, good.stderr)
    assert.equal("CPU 7\n", good.stdout)
    local bad = helpers.kip({ "lua", "-" }, { stdin = script, env = { KIP_PLUGIN_PATH = dir .. "/bad" } })
    assert.equal("ERR the tuner policy autotune has no decide function\n", bad.stdout)
    helpers.rmtree(dir)
  end)

  it("formats quantities as the App spec takes them", function()
    assert.equal("1Gi", quantity.format_memory(Gi))
    assert.equal("1025Mi", quantity.format_memory(Gi + 1))
    assert.equal("250m", quantity.format_cpu(0.25))
    assert.equal("2", quantity.format_cpu(2))
    assert.equal("1m", quantity.format_cpu(0))
  end)
end)
