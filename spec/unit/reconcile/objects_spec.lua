-- SPDX-License-Identifier: Apache-2.0
-- kip.reconcile.objects: decorating what a policy wants (labels, ownerReference, namespace, hash)
-- and telling when an apply would change nothing.
local json = require "kip.json"
local objects = require "kip.reconcile.objects"
local tables = require "kip.util.tables"

describe("kip.reconcile.objects", function()
  local app = { apiVersion = "kipper.run/v1alpha1", kind = "App",
    metadata = { name = "web", namespace = "default", uid = "u1", generation = 3 } }
  local ns_opts = { namespaced = true, owner_namespaced = true }

  local function deployment(image)
    return { apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "web", labels = { app = "web" } },
      spec = { replicas = 1, template = { spec = { containers = json.array({ { name = "web", image = image } }) } } } }
  end

  it("adds the owner label, managed-by, the ownerReference, the namespace and the hash", function()
    local want = objects.decorate(deployment("a:1"), app, ns_opts)
    assert.equal("default", want.metadata.namespace)
    assert.same({ app = "web", ["kipper.run/owner"] = "App.default.web", ["app.kubernetes.io/managed-by"] = "kipperd" },
      want.metadata.labels)
    assert.same({ { apiVersion = "kipper.run/v1alpha1", kind = "App", name = "web", uid = "u1", controller = true,
      blockOwnerDeletion = true } }, want.metadata.ownerReferences)
    assert.matches("^%x+$", want.metadata.annotations[objects.HASH_ANNOTATION])
    assert.equal(16, #want.metadata.annotations[objects.HASH_ANNOTATION])
  end)

  it("does not change what the policy gave", function()
    local d = deployment("a:1")
    local before = tables.copy(d)
    objects.decorate(d, app, ns_opts)
    assert.same(before, d)
  end)

  it("gives retained objects no ownerReference, but the labels", function()
    local s = { apiVersion = "v1", kind = "Secret", metadata = { name = "db-credentials",
      annotations = { ["kipper.run/retain"] = "true" } }, data = { password = "eA==" } }
    local want = objects.decorate(s, app, ns_opts)
    assert.is_nil(want.metadata.ownerReferences)
    assert.equal("App.default.web", want.metadata.labels["kipper.run/owner"])
  end)

  it("gives objects in another namespace than a namespaced owner's no ownerReference, and says why", function()
    local cm = { apiVersion = "v1", kind = "ConfigMap", metadata = { name = "x", namespace = "other" } }
    local want, warning = objects.decorate(cm, app, ns_opts)
    assert.is_nil(want.metadata.ownerReferences)
    assert.matches("not in App's namespace default", warning)
  end)

  it("owns cluster-scoped objects from a cluster-scoped owner, and drops a namespace they cannot have", function()
    local project = { apiVersion = "kipper.run/v1alpha1", kind = "Project", metadata = { name = "shop", uid = "p1" } }
    local ns = { apiVersion = "v1", kind = "Namespace", metadata = { name = "shop", namespace = "stray" } }
    local want = objects.decorate(ns, project, { namespaced = false, owner_namespaced = false })
    assert.is_nil(want.metadata.namespace)
    assert.equal("Project..shop", want.metadata.labels["kipper.run/owner"])
    assert.equal("p1", want.metadata.ownerReferences[1].uid)
  end)

  it("folds a Secret's stringData into data, as the API server stores it", function()
    local s = { apiVersion = "v1", kind = "Secret", metadata = { name = "env" }, stringData = { A = "1" }, data = { B = "Mg==" } }
    local want = objects.decorate(s, app, ns_opts)
    assert.is_nil(want.stringData)
    assert.same({ A = "MQ==", B = "Mg==" }, want.data)
  end)

  it("hashes stably, whatever the order of keys, and differently for different objects", function()
    local a = objects.hash({ kind = "X", metadata = { name = "a", labels = { x = "1", y = "2" } } })
    local b = objects.hash({ metadata = { labels = { y = "2", x = "1" }, name = "a" }, kind = "X" })
    assert.equal(a, b)
    assert.not_equal(a, objects.hash({ kind = "X", metadata = { name = "b" } }))
  end)

  it("is current when the live object has the hash and every field, whatever else the server added", function()
    local want = objects.decorate(deployment("a:1"), app, ns_opts)
    local live = tables.copy(want)
    live.metadata.uid, live.metadata.resourceVersion = "d1", "42"
    live.spec.strategy = { type = "RollingUpdate" }
    live.spec.template.spec.containers[1].imagePullPolicy = "IfNotPresent"
    live.status = { replicas = 1 }
    assert.is_true(objects.is_current(want, live))
    assert.is_false(objects.is_current(want, nil))
  end)

  it("is not current when a field differs, or the hash says the policy stopped setting a field", function()
    local want = objects.decorate(deployment("a:1"), app, ns_opts)
    local live = tables.copy(want)
    live.spec.replicas = 3                                       -- someone scaled it by hand
    assert.is_false(objects.is_current(want, live))
    -- the policy dropped the label app=web: every field of want is still live, but the hash differs
    local d = deployment("a:1")
    d.metadata.labels.app = nil
    local want2 = objects.decorate(d, app, ns_opts)
    local before = tables.copy(want)
    want2.metadata.annotations[objects.HASH_ANNOTATION] = nil
    assert.is_true(objects.contains(want2, before))
    want2.metadata.annotations[objects.HASH_ANNOTATION] = objects.hash(want2)
    assert.is_false(objects.is_current(want2, before))
  end)

  it("contains: maps by key, lists by item, an empty map or list in an absent field", function()
    assert.is_true(objects.contains({ a = 1 }, { a = 1, b = 2 }))
    assert.is_false(objects.contains({ a = 1, c = 3 }, { a = 1 }))
    assert.is_true(objects.contains({ l = { { n = "x" } } }, { l = { { n = "x", extra = true } } }))
    assert.is_false(objects.contains({ l = { { n = "x" }, { n = "y" } } }, { l = { { n = "x" } } }))
    assert.is_true(objects.contains({ e = {} }, {}))
    assert.is_true(objects.contains({ n = 1 }, { n = 1.0 }))
    assert.is_false(objects.contains({ s = "1" }, { s = 1 }))
  end)
end)
