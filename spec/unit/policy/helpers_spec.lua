-- SPDX-License-Identifier: Apache-2.0
-- The small pieces of kip.policy the reconcile policies share: quantities, host names and URLs,
-- content hashes, spec errors and Secret data.
local hash = require "kip.policy.hash"
local hosts = require "kip.policy.hosts"
local invalid = require "kip.policy.invalid"
local quantity = require "kip.policy.quantity"
local secrets = require "kip.policy.secrets"

describe("kip.policy", function()
  it("reads quantities as Kubernetes writes them", function()
    assert.equal(0.5, quantity.parse("500m"))
    assert.equal(2, quantity.parse("2"))
    assert.equal(1.5 * 2 ^ 30, quantity.parse("1.5Gi"))
    assert.equal(1e3, quantity.parse("1e3"))
    assert.equal(1e18, quantity.parse("1E"))
    assert.equal(4, quantity.parse(4))
    for _, bad in ipairs({ "lots", "", "1Xi", "Gi", "1.2.3", {} }) do assert.is_nil(quantity.parse(bad), tostring(bad)) end
    assert.is_true(quantity.less("512Mi", "1Gi"))
    assert.is_false(quantity.less("1", "1000m"))
    assert.is_false(quantity.less("x", "1"))
  end)

  it("makes host names and URLs", function()
    local cluster = { clusterId = "203-0-113-10", zone = "kipper.run" }
    assert.equal("hello-203-0-113-10.kipper.run", hosts.generated("hello", "default", cluster))
    assert.equal("hello-shop-203-0-113-10.kipper.run", hosts.generated("hello", "shop", cluster))
    assert.is_nil(hosts.generated("hello", "default", { clusterId = "" }))
    assert.is_nil(hosts.generated("hello", "default", {}))
    assert.equal("hello-203-0-113-10.kipper.run", hosts.generated("hello", "default", { clusterId = "203-0-113-10", zone = "" }))
    local h, why = hosts.generated(string.rep("a", 51), "default", cluster)
    assert.is_nil(h)
    assert.matches("64 characters before the zone, at most 63", why)
    assert.equal(63, #hosts.generated(string.rep("a", 50), "default", cluster):match("^[^.]+"))
    assert.equal("https://a.example.com", hosts.url("a.example.com", "/", true))
    assert.equal("http://a.example.com/api", hosts.url("a.example.com", "/api", false))
    assert.equal("db.shop.svc.cluster.local", hosts.service("db", "shop"))
  end)

  it("hashes data by content, whatever the key order", function()
    local a, b = { x = 1, y = { "p", "q" } }, {}
    b.y = { "p", "q" }
    b.x = 1
    assert.equal(hash.of(a), hash.of(b))
    assert.equal(64, #hash.of(a))
    assert.equal(hash.of(a):sub(1, 10), hash.short(a))
    assert.are_not.equal(hash.of(a), hash.of({ x = 2, y = { "p", "q" } }))
  end)

  it("raises spec errors that carry a reason and print as their message", function()
    local ok, err = pcall(invalid.raise, "BadThing", "thing %s is bad", "x")
    assert.is_false(ok)
    assert.is_true(invalid.is(err))
    assert.same({ "BadThing", "thing x is bad", "thing x is bad" }, { err.reason, err.message, tostring(err) })
    assert.is_false(invalid.is("a string"))
  end)

  it("encodes and decodes Secret data", function()
    local s = secrets.object("x", "default", { A = "1", B = "two words" })
    assert.same({ A = "MQ==", B = "dHdvIHdvcmRz" }, s.data)
    assert.same({ A = "1", B = "two words" }, secrets.decode(s))
    assert.same({}, secrets.decode(nil))
    assert.same({ ok = "y" }, secrets.decode({ data = { ok = "eQ==", bad = "!!" } }))
    assert.is_true(secrets.valid_key("tls.crt"))
    assert.is_false(secrets.valid_key("a b"))
  end)
end)
