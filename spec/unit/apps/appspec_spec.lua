-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.appspec: the checks of deploy's flags (usage errors) and the merge of what was given
-- into the live App's spec.
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
