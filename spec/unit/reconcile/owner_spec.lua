-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.owner: owner labels (short and shortened), keys, ownerReferences and the owners an
-- object names.
local owner = require "kip.reconcile.owner"

describe("kip.reconcile.owner", function()
  it("makes and splits work-queue keys", function()
    assert.equal("default/web", owner.key("default", "web"))
    assert.equal("shop", owner.key(nil, "shop"))
    assert.equal("shop", owner.key("", "shop"))
    assert.same({ "default", "web" }, { owner.split_key("default/web") })
    assert.same({ nil, "shop" }, { owner.split_key("shop") })
  end)

  it("labels an owner as Kind.namespace.name and parses it back", function()
    assert.equal("App.default.web", owner.label("App", "default", "web"))
    assert.equal("Project..shop", owner.label("Project", nil, "shop"))
    assert.same({ "App", "default", "web" }, { owner.parse_label("App.default.web") })
    assert.same({ "Project", nil, "shop" }, { owner.parse_label("Project..shop") })
    assert.is_nil(owner.parse_label("nonsense"))
    assert.is_nil(owner.parse_label(nil))
  end)

  it("keeps a long owner label within 63 characters, unique, and a valid label value", function()
    local ns, name = string.rep("n", 40), string.rep("a", 40)
    local a = owner.label("App", ns, name)
    local b = owner.label("App", ns, name .. "b")
    assert.is_true(#a <= 63)
    assert.not_equal(a, b)
    assert.matches("^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$", a)
    assert.is_nil(owner.parse_label(a))
  end)

  it("makes the controller ownerReference", function()
    local app = { apiVersion = "kipper.run/v1alpha1", kind = "App", metadata = { name = "web", namespace = "default", uid = "u1" } }
    assert.same({ apiVersion = "kipper.run/v1alpha1", kind = "App", name = "web", uid = "u1", controller = true,
      blockOwnerDeletion = true }, owner.reference(app))
  end)

  it("finds owners by controller reference and by owner label", function()
    local kinds = { App = { api_version = "kipper.run/v1alpha1", namespaced = true },
      Project = { api_version = "kipper.run/v1alpha1", namespaced = false } }
    local dep = { metadata = { namespace = "default", name = "web", ownerReferences = {
      { apiVersion = "kipper.run/v1alpha1", kind = "App", name = "web", uid = "u", controller = true },
      { apiVersion = "v1", kind = "App", name = "other", uid = "x", controller = true },        -- another group
      { apiVersion = "kipper.run/v1alpha1", kind = "App", name = "not-controller", uid = "y" },
    }, labels = { ["kipper.run/owner"] = "App.default.web" } } }
    assert.same({ { kind = "App", namespace = "default", name = "web" } }, owner.owners(dep, kinds))
    local secret = { metadata = { namespace = "shop", name = "creds", labels = { ["kipper.run/owner"] = "Project..shop" } } }
    assert.same({ { kind = "Project", name = "shop" } }, owner.owners(secret, kinds))
    local rb = { metadata = { namespace = "shop-prod", name = "rb", ownerReferences = {
      { apiVersion = "kipper.run/v1alpha1", kind = "Project", name = "shop", uid = "p", controller = true } } } }
    assert.same({ { kind = "Project", name = "shop" } }, owner.owners(rb, kinds))
    assert.same({}, owner.owners({ metadata = { name = "x" } }, kinds))
  end)

  it("tells retained objects", function()
    assert.is_true(owner.retained({ metadata = { annotations = { ["kipper.run/retain"] = "true" } } }))
    assert.is_false(owner.retained({ metadata = { annotations = { ["kipper.run/retain"] = "yes" } } }))
    assert.is_false(owner.retained({ metadata = {} }))
  end)
end)
