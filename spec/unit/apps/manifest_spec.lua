-- SPDX-License-Identifier: Apache-2.0
-- kip.apps.manifest: the documents kip apply accepts, and the problems it names by document and
-- field.
local manifest = require "kip.apps.manifest"

describe("kip.apps.manifest", function()
  it("parses several documents and Lists, with the kind of each", function()
    local entries = assert(manifest.parse([[
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: web}
spec: {image: nginx}
status: {phase: Ready}
---
apiVersion: v1
kind: List
items:
- apiVersion: kipper.run/v1alpha1
  kind: Project
  metadata: {name: shop}
- apiVersion: v1
  kind: Secret
  metadata: {name: app-web-secrets, namespace: shop}
  stringData: {TOKEN: abc}
]], "f.yaml"))
    assert.equal(3, #entries)
    assert.equal("app/web", manifest.ref(entries[1]))
    assert.is_nil(entries[1].object.status)
    assert.equal("document 2, item 1", entries[2].where)
    assert.equal("project/shop", manifest.ref(entries[2]))
    assert.is_false(entries[2].kind.namespaced)
    assert.equal("secret/app-web-secrets", manifest.ref(entries[3]))
  end)

  it("names the document, object and field of every problem", function()
    local _, problems = manifest.parse([[
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: web, uid: "1"}
spec: {image: x}
---
apiVersion: kipper.run/v1alpha1
kind: App
metadata: {name: web2}
spec: {image: x}
extra: 1
---
- just
- a list
---
kind: App
---
apiVersion: v1
kind: Secret
metadata: {name: app-Web-secrets}
]], "f.yaml")
    assert.matches("f.yaml: document 1 (App web): metadata.uid: kip apply sets only name, namespace, labels and annotations",
      problems, 1, true)
    assert.matches("f.yaml: document 2 (App web2): extra: unknown field for App", problems, 1, true)
    assert.matches("f.yaml: document 3: the document must be a mapping", problems, 1, true)
    assert.matches("f.yaml: document 4: apiVersion: missing", problems, 1, true)
    assert.matches("f.yaml: document 5 (Secret app-Web-secrets): metadata.name: invalid app name \"Web\"", problems, 1, true)
  end)

  it("reports YAML errors and empty input", function()
    local ok, err = manifest.parse("a: [\n", "x.yaml")
    assert.is_nil(ok)
    assert.matches("^x%.yaml: line", err)
    ok, err = manifest.parse("", "-")
    assert.is_nil(ok)
    assert.equal("-: no documents", err)
  end)
end)
