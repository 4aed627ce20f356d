-- SPDX-License-Identifier: Apache-2.0
-- kip.k8s against the real sandbox API (kip sandbox api over TLS with client certificates):
-- discovery, get, list (selectors, paging), create, update with resourceVersion conflicts,
-- patches, server-side apply, status, delete with propagation, logs, watch, and errors turned
-- into messages and codes.
local k8s = require "kip.k8s"
local sandbox = require "helpers.sandbox"

local function cm(name, data, labels)
  return { apiVersion = "v1", kind = "ConfigMap", metadata = { name = name, labels = labels }, data = data }
end

describe("kip.k8s with the sandbox API", function()
  local sb, c
  setup(function()
    sb = sandbox.start()
    c = assert(k8s.connect({ kubeconfig = sb.kubeconfig }))
  end)
  teardown(function()
    if c then c:close() end
    sb:stop()
  end)

  it("refuses clients without a certificate from the sandbox's CA", function()
    local conn = assert(k8s.kubeconfig.load({ path = sb.kubeconfig }))
    local anonymous = k8s.client.new({ server = conn.server, ca_data = conn.ca_data })
    local none, err, code = anonymous:get("v1", "Namespace", "default")
    anonymous:close()
    assert.is_nil(none)
    assert.equal("tls", code, err)
    local unverified = k8s.client.new({ server = conn.server, cert_data = conn.cert_data, key_data = conn.key_data })
    local _, _, code2 = unverified:get("v1", "Namespace", "default")
    unverified:close()
    assert.equal("tls", code2, "the server's certificate is not trusted without the CA")
  end)

  it("maps kinds to resources through discovery", function()
    local r = assert(c:resource("apps/v1", "Deployment"))
    assert.equal("deployments", r.name)
    assert.is_true(r.namespaced)
    assert.is_false(assert(c:resource("v1", "Namespace")).namespaced)
    local none, err, code = c:resource("v1", "Nope")
    assert.is_nil(none)
    assert.equal("notfound", code)
    assert.matches('no kind "Nope"', err)
    local _, err2, code2 = c:resource("example.com/v9", "Thing")
    assert.equal("notfound", code2)
    assert.matches("does not serve apiVersion example.com/v9", err2)
  end)

  it("creates, gets, updates and deletes, with errors as the API's Status", function()
    local created = assert(c:create(cm("one", { a = "1" }, { app = "demo" })))
    assert.equal("default", created.metadata.namespace)
    assert.is_string(created.metadata.uid)
    local got = assert(c:get("v1", "ConfigMap", "one"))
    assert.equal("1", got.data.a)
    local _, dup_err, dup_code, status = c:create(cm("one", {}))
    assert.equal("alreadyexists", dup_code)
    assert.equal('configmaps "one" already exists', dup_err)
    assert.equal(409, status.code)
    got.data.a = "2"
    local updated = assert(c:update(got))
    assert.equal("2", updated.data.a)
    local _, cerr, ccode = c:update(got) -- the old resourceVersion
    assert.equal("conflict", ccode)
    assert.matches("the object has been modified", cerr)
    local _, nerr, ncode = c:get("v1", "ConfigMap", "missing")
    assert.equal("notfound", ncode)
    assert.equal('configmaps "missing" not found', nerr)
    local _, ierr, icode = c:create({ apiVersion = "v1", kind = "Pod", metadata = { name = "bad" },
      spec = { containers = { { name = "x", image = "y", ports = { { containerPort = "http" } } } } } })
    assert.equal("invalid", icode)
    assert.matches("spec%.containers%[0%]%.ports%[0%]%.containerPort", ierr)
    assert(c:delete("v1", "ConfigMap", "one"))
    assert.equal("notfound", select(3, c:get("v1", "ConfigMap", "one")))
  end)

  it("lists with label and field selectors and pages through long lists", function()
    for i = 1, 25 do assert(c:create(cm(string.format("page-%02d", i), { i = tostring(i) }, { batch = i % 2 == 0 and "even" or "odd" }))) end
    local even = assert(c:list("v1", "ConfigMap", { label_selector = "batch=even" }))
    assert.equal(12, #even.items)
    local one = assert(c:list("v1", "ConfigMap", { field_selector = "metadata.name=page-07" }))
    assert.equal(1, #one.items)
    local page = assert(c:list("v1", "ConfigMap", { label_selector = "batch", limit = 10 }))
    assert.equal(10, #page.items)
    assert.is_string(page.metadata.continue)
    local all = assert(c:list("v1", "ConfigMap", { label_selector = "batch", limit = 10, all = true }))
    assert.equal(25, #all.items)
    assert.equal("page-25", all.items[25].metadata.name)
  end)

  it("patches (merge, json, strategic) and writes status", function()
    assert(c:create({ apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "web" },
      spec = { replicas = 1, selector = { matchLabels = { app = "web" } },
        template = { metadata = { labels = { app = "web" } },
          spec = { containers = { { name = "web", image = "nginx:1", ports = { { containerPort = 80 } } } } } } } }))
    assert(c:patch("apps/v1", "Deployment", "web", nil, { metadata = { labels = { team = "a" } } }))
    assert(c:patch("apps/v1", "Deployment", "web", nil, { { op = "replace", path = "/spec/replicas", value = 0 } }, { type = "json" }))
    local d = assert(c:patch("apps/v1", "Deployment", "web", nil,
      { spec = { template = { spec = { containers = { { name = "web", image = "nginx:2" } } } } } }, { type = "strategic" }))
    assert.equal("a", d.metadata.labels.team)
    assert.equal(0, d.spec.replicas)
    assert.equal("nginx:2", d.spec.template.spec.containers[1].image)
    assert.equal(80, d.spec.template.spec.containers[1].ports[1].containerPort)
    assert.equal(3, d.metadata.generation)
  end)

  it("applies server-side as a field manager, with conflicts and force", function()
    local cfg = cm("applied", { mode = "fast" })
    local obj = assert(c:apply(cfg, { field_manager = "kipperd" }))
    assert.equal("fast", obj.data.mode)
    assert.equal("kipperd", obj.metadata.managedFields[1].manager)
    assert(c:patch("v1", "ConfigMap", "applied", nil, { data = { mode = "slow" } }, { field_manager = "human" }))
    local _, err, code = c:apply(cfg, { field_manager = "kipperd" })
    assert.equal("conflict", code)
    assert.matches('conflict with "human"', err)
    assert.equal("fast", assert(c:apply(cfg, { field_manager = "kipperd", force = true })).data.mode)
  end)

  it("deletes with propagation: background removes dependents, orphan keeps them", function()
    local owner = assert(c:create(cm("owner", {})))
    local ref = { apiVersion = "v1", kind = "ConfigMap", name = "owner", uid = owner.metadata.uid }
    assert(c:create({ apiVersion = "v1", kind = "ConfigMap", metadata = { name = "dep", ownerReferences = { ref } } }))
    assert(c:delete("v1", "ConfigMap", "owner", nil, { propagation = "Background" }))
    assert(sandbox.eventually(function() return select(3, c:get("v1", "ConfigMap", "dep")) == "notfound" end, 5))
    local owner2 = assert(c:create(cm("owner2", {})))
    assert(c:create({ apiVersion = "v1", kind = "ConfigMap", metadata = { name = "dep2",
      ownerReferences = { { apiVersion = "v1", kind = "ConfigMap", name = "owner2", uid = owner2.metadata.uid } } } }))
    assert(c:delete("v1", "ConfigMap", "owner2", nil, { propagation = "Orphan" }))
    assert(sandbox.eventually(function() return select(3, c:get("v1", "ConfigMap", "owner2")) == "notfound" end, 5))
    local dep = assert(c:get("v1", "ConfigMap", "dep2"))
    assert.is_nil(dep.metadata.ownerReferences)
    local _, perr, pcode = c:delete("v1", "ConfigMap", "dep2", nil, { uid = "not-its-uid" })
    assert.equal("conflict", pcode)
    assert.matches("Precondition failed", perr)
  end)

  it("reads and follows pod logs", function()
    assert(c:create({ apiVersion = "v1", kind = "Pod", metadata = { name = "logger" },
      spec = { containers = { { name = "main", image = "busybox" } } } }))
    assert(sandbox.eventually(function()
      local p = c:get("v1", "Pod", "logger")
      return p and p.status and p.status.phase == "Running"
    end, 5))
    local text = assert(c:logs("default", "logger", { tail = 2 }))
    local n = select(2, text:gsub("\n", ""))
    assert.equal(2, n)
    assert.matches("simulated log line", text)
    local lines = {}
    assert(c:logs("default", "logger", { follow = true, tail = 1, on_line = function(l)
      lines[#lines + 1] = l
      return #lines < 3
    end }))
    assert.equal(3, #lines)
    local _, err, code = c:logs("default", "nobody")
    assert.equal("notfound", code)
    assert.matches('pods "nobody" not found', err)
  end)

  it("filters watches by label as kube-apiserver does: leaving the selection is a DELETED", function()
    local rv = assert(c:list("v1", "ConfigMap")).metadata.resourceVersion
    assert(c:create(cm("sel", {}, { tier = "a" })))
    assert(c:patch("v1", "ConfigMap", "sel", nil, { metadata = { labels = { tier = "b" } } }))
    assert(c:patch("v1", "ConfigMap", "sel", nil, { metadata = { labels = { tier = "a" } } }))
    assert(c:delete("v1", "ConfigMap", "sel"))
    local seen = {}
    assert(c:watch("v1", "ConfigMap", { resource_version = rv, label_selector = "tier=a", timeout = 5,
      on_event = function(t, obj)
        if obj.metadata.name == "sel" then seen[#seen + 1] = t end
        return #seen < 4
      end }))
    assert.same({ "ADDED", "DELETED", "ADDED", "DELETED" }, seen)
  end)

  it("watches from a resourceVersion and reports 410 for one too old or too new", function()
    local list = assert(c:list("v1", "ConfigMap"))
    local rv = list.metadata.resourceVersion
    assert(c:create(cm("watched", { a = "1" })))
    assert(c:delete("v1", "ConfigMap", "watched"))
    local seen = {}
    assert(c:watch("v1", "ConfigMap", { resource_version = rv, timeout = 5, on_event = function(t, obj)
      if obj.metadata.name == "watched" then seen[#seen + 1] = t end
      return t ~= "DELETED"
    end }))
    assert.same({ "ADDED", "DELETED" }, seen)
    local ok, err, code = c:watch("v1", "ConfigMap", { resource_version = "999999999", timeout = 5, on_event = function() end })
    assert.is_nil(ok)
    assert.equal("gone", code)
    assert.matches("newer than", err)
  end)
end)
