-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.appspec: the checks of deploy's flags and of console API bodies (usage errors), the
-- merge of what was given into the live App's spec, and environment edits.
local appspec = require "kip.apps.appspec"

local function usage(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.equal(2, err.status)
  return err.message
end

describe("kip.apps.appspec", function()
  it("knows quantities", function()
    for _, q in ipairs({ "250m", "1", "1.5", "512Mi", "2Gi", ".5", "1e3", "+1k" }) do assert.is_true(appspec.is_quantity(q), q) end
    for _, q in ipairs({ "", "Mi", "12XB", "1.2.3", "one", "5 Gi" }) do assert.is_false(appspec.is_quantity(q), q) end
  end)

  it("checks every flag value", function()
    assert.matches("--port takes a whole number from 1 to 65535, not \"80x\"", usage(function() appspec.changes({ port = "80x" }) end), 1, true)
    assert.matches("--replicas takes a whole number", usage(function() appspec.changes({ replicas = "-1" }) end), 1, true)
    assert.matches("--env takes KEY=VALUE", usage(function() appspec.changes({ env = { "A" } }) end), 1, true)
    assert.matches("invalid variable name \"A B\"", usage(function() appspec.changes({ env = { "A B=1" } }) end), 1, true)
    assert.matches("invalid secret name \"9X\"", usage(function() appspec.changes({ secret = { "9X" } }) end), 1, true)
    assert.matches("--cpu takes a quantity", usage(function() appspec.changes({ cpu = "fast" }) end), 1, true)
    assert.matches("--domain takes a host name", usage(function() appspec.changes({ domain = "localhost" }) end), 1, true)
    assert.matches("--image takes an image reference", usage(function() appspec.changes({ image = "a b" }) end), 1, true)
  end)

  it("turns flags into changes and secrets", function()
    local ch, secrets = appspec.changes({ image = "nginx:1", port = "80", replicas = "2", env = { "A=1", "B=x=y", "A=3" },
      secret = { "TOKEN=t", "ASK" }, memory = "256Mi", profile = "jvm", domain = "api.example.com" })
    assert.same({ image = "nginx:1", port = 80, replicas = 2, env = { A = "3", B = "x=y" },
      resources = { memory = "256Mi", profile = "jvm" }, host = "api.example.com" }, ch)
    assert.same({ { key = "TOKEN", value = "t" }, { key = "ASK" } }, secrets)
  end)

  it("merges the changes into the live spec, keeping the rest", function()
    local live = { image = "nginx:1", port = 80, env = { A = "1", B = "2" }, resources = { profile = "standard" },
      route = { host = "old.example.com", path = "/" }, secrets = { "X" }, serviceBindings = { { service = "db" } } }
    local spec = appspec.merge(live, { env = { B = "3", C = "4" }, resources = { cpu = "500m" }, host = "new.example.com" },
      { "Y", "X" })
    assert.same({ image = "nginx:1", port = 80, env = { A = "1", B = "3", C = "4" }, resources = { profile = "standard", cpu = "500m" },
      route = { host = "new.example.com", path = "/" }, secrets = { "X", "Y" }, serviceBindings = { { service = "db" } } }, spec)
    assert.same({ A = "1", B = "2" }, live.env)
    assert.same({ image = "x" }, appspec.merge(nil, { image = "x" }))
  end)

  it("turns a console API body into the same changes, messages naming the field", function()
    local ch = appspec.body_changes({ name = "web", image = "nginx:1", port = 80, replicas = 0, env = { A = "1" }, cpu = "250m",
      memory = "256Mi", domain = "api.example.com", health_path = "/healthz", autotune = { mode = "auto", max_memory = "2Gi" } })
    assert.same({ image = "nginx:1", port = 80, replicas = 0, env = { A = "1" }, resources = { cpu = "250m", memory = "256Mi" },
      host = "api.example.com", health_path = "/healthz", autotune = { mode = "auto", maxMemory = "2Gi" } }, ch)
    assert.same({}, appspec.body_changes({ name = "web" }))
    local bad = {
      { { port = "80x" }, "port takes a whole number from 1 to 65535, not \"80x\"" },
      { { port = 8.5 }, "port takes a whole number" },
      { { replicas = false }, "replicas takes a whole number from 0 to 10000, not false" },
      { { image = 7 }, "image takes an image reference, not 7" },
      { { cpu = {} }, "cpu takes a quantity" },
      { { env = "A=1" }, "env takes an object" },
      { { env = { A = 1 } }, "env.A takes a string, not 1" },
      { { env = { ["A B"] = "1" } }, "invalid variable name \"A B\"" },
      { { health_path = "/a b" }, "health_path takes a path starting with /" },
      { { autotune = "auto" }, "autotune.mode takes off, recommend or auto, not \"auto\"" },
      { { autotune = { mode = "auto", max_memory = "x" } }, "autotune.max_memory takes a quantity" },
      { { secret = { "A=1" } }, "unknown field \"secret\"" },
    }
    for _, case in ipairs(bad) do
      local msg = usage(function() appspec.body_changes(case[1]) end)
      assert.matches(case[2], msg, 1, true)
      assert.is_nil(msg:find("--", 1, true), msg)
    end
  end)

  it("merges health path and auto-tuner settings, keeping the tuner's other fields", function()
    local spec = appspec.merge({ image = "x", autotune = { mode = "recommend", cooldown = 60 }, healthCheck = { port = 81 } },
      { health_path = "/ready", autotune = { mode = "auto" } })
    assert.same({ image = "x", autotune = { mode = "auto", cooldown = 60 }, healthCheck = { port = 81, path = "/ready" } }, spec)
  end)

  it("edits the environment: sets, unsets, and names the keys it did not have", function()
    local live = { image = "x", env = { A = "1", B = "2" } }
    local spec, absent = appspec.edit_env(live, { C = "3", A = "9" }, { "B", "NOPE" })
    assert.same({ A = "9", C = "3" }, spec.env)
    assert.same({ "NOPE" }, absent)
    assert.same({ A = "1", B = "2" }, live.env)
    assert.same({ A = "1", B = "2" }, (appspec.edit_env(live, nil, nil)).env)
  end)

  it("builds the App object, keeping the live annotations (kip apply's allow-root, the restart stamp)", function()
    local live = { metadata = { annotations = { ["kipper.run/restarted-at"] = "2025-01-01T00:00:00Z", other = "x",
      ["kipper.run/allow-root"] = "true", ["kubectl.kubernetes.io/last-applied-configuration"] = "{}" } } }
    local obj = appspec.object("web", "shop", { image = "x" }, live)
    assert.same({ apiVersion = "kipper.run/v1alpha1", kind = "App",
      metadata = { name = "web", namespace = "shop", annotations = { ["kipper.run/restarted-at"] = "2025-01-01T00:00:00Z",
        other = "x", ["kipper.run/allow-root"] = "true" } },
      spec = { image = "x" } }, obj)
    assert.is_nil(appspec.object("web", "shop", { image = "x" }).metadata.annotations)
  end)
end)
