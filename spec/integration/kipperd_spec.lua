-- SPDX-License-Identifier: Apache-2.0
-- kipperd against the real sandbox API: Kipper's CRDs and kipper-config on the API, the real
-- kipperd process, and the engine's behaviour with small test policies
-- (spec/fixtures/kipperd/plugins/reconcilers, through KIP_PLUGIN_PATH): objects with owner
-- references and labels, status with observedGeneration, updates, pruning, errors and recovery,
-- read dependencies, skipped no-op writes, a killed child recreated, finalizers, deletion; its
-- endpoints; SIGTERM. Then the real policies (plugins/reconcilers/*.lua) when they exist.
local fs = require "kip.fs"
local json = require "kip.json"
local k8s = require "kip.k8s"
local kipperd = require "helpers.kipperd"
local sandbox = require "helpers.sandbox"

local eventually = sandbox.eventually
local AV = "kipper.run/v1alpha1"
local FIXTURES = "spec/fixtures/kipperd"

local condition = require("kip.apps.format").condition

describe("kipperd", function()
  local sb, c

  setup(function()
    sb = sandbox.start()
    c = assert(k8s.connect({ kubeconfig = sb.kubeconfig }))
    kipperd.prepare(c)
  end)

  teardown(function()
    if c then c:close() end
    if sb then sb:stop() end
  end)

  local function app(name, spec, annotations)
    return { apiVersion = AV, kind = "App", metadata = { name = name, namespace = "default", annotations = annotations },
      spec = spec }
  end

  local function get(av, kind, name, ns)
    return c:get(av, kind, name, ns or "default")
  end

  local function ready(name, kind)
    return eventually(function()
      local a = get(AV, kind or "App", name)
      local r = condition(a, "Ready")
      return a and r and r.status == "True" and a.status.observedGeneration == a.metadata.generation and a
    end, 20)
  end

  describe("with test policies", function()
    local kd

    setup(function()
      kd = kipperd.start({ kubeconfig = sb.kubeconfig, plugin_path = FIXTURES, policies = "app,service", verbose = true })
      assert(kd:wait_ready(), "kipperd is not ready: " .. kd:output())
    end)

    teardown(function()
      if kd and kd:running() then kd:stop() end
    end)

    it("serves /healthz, /readyz and /metrics", function()
      assert.equal(200, (kd:get("/healthz")))
      local status, body = kd:get("/readyz")
      assert.equal(200, status)
      assert.equal("ok\n", body)
      local _, text = kd:get("/metrics")
      for _, name in ipairs({ "kipperd_reconcile_total", "kipperd_reconcile_errors_total", "kipperd_workqueue_depth",
        "kipperd_reconcile_duration_seconds", "kipperd_api_requests_total" }) do
        assert.matches("# TYPE " .. name .. " ", text, 1, true)
      end
      local m = kd:metrics()
      assert.equal(0, m['kipperd_workqueue_depth{kind="App"}'])
      assert.equal(0, m['kipperd_workqueue_depth{kind="Service"}'])
      assert.is_true(m.kipperd_api_requests_total >= 1)
      assert.equal(404, (kd:get("/nope")))
    end)

    it("creates what the policy wants, with owner references and labels, and reports Ready", function()
      assert(c:create(app("web", { image = "nginx:1.27", replicas = 2 })))
      local a = assert(ready("web"), "the App did not become Ready: " .. kd:output())
      assert.equal("Running", a.status.phase)
      assert.equal(2, a.status.readyReplicas)
      assert.equal(1, a.status.observedGeneration)
      local d = assert(get("apps/v1", "Deployment", "web"))
      assert.equal("App.default.web", d.metadata.labels["kipper.run/owner"])
      assert.equal("kipperd", d.metadata.labels["app.kubernetes.io/managed-by"])
      assert.same({ apiVersion = AV, kind = "App", name = "web", uid = a.metadata.uid, controller = true,
        blockOwnerDeletion = true }, d.metadata.ownerReferences[1])
      local managers = {}
      for _, mf in ipairs(d.metadata.managedFields) do managers[mf.manager .. "/" .. mf.operation] = true end
      assert.is_true(managers["kipperd/Apply"])
      local cm = assert(get("v1", "ConfigMap", "web-config"))
      assert.same({ image = "nginx:1.27", cluster = "203-0-113-10", secretKeys = "" }, cm.data)
      assert.equal(a.metadata.uid, cm.metadata.ownerReferences[1].uid)
    end)

    it("keeps lastTransitionTime and writes nothing when nothing changed", function()
      local a = assert(ready("web"))
      local before = kd:metrics()
      -- an annotation the policy ignores: a reconcile that finds everything current
      assert(c:patch(AV, "App", "web", "default", { metadata = { annotations = { ["test.kipper.run/poke"] = "1" } } }))
      assert(eventually(function()
        local m = kd:metrics()
        return m['kipperd_reconcile_total{kind="App",result="success"}'] > before['kipperd_reconcile_total{kind="App",result="success"}']
          and m['kipperd_workqueue_depth{kind="App"}'] == 0
      end, 10))
      assert.equal(before.kipperd_api_requests_total, kd:metrics().kipperd_api_requests_total)
      local again = assert(get(AV, "App", "web"))
      assert.same(a.status, again.status)
    end)

    it("changes the objects when the resource changes", function()
      assert(c:patch(AV, "App", "web", "default", { spec = { image = "nginx:1.28" } }))
      assert(eventually(function()
        local d = get("apps/v1", "Deployment", "web")
        local cm = get("v1", "ConfigMap", "web-config")
        return d.spec.template.spec.containers[1].image == "nginx:1.28" and cm.data.image == "nginx:1.28"
      end, 10), kd:output())
      local a = assert(ready("web"))
      assert.equal(2, a.status.observedGeneration)
      assert.equal("nginx:1.28", a.status.image)
    end)

    it("reconciles again when an object the policy read changes", function()
      assert(c:create({ apiVersion = "v1", kind = "Secret", metadata = { name = "app-web-secrets", namespace = "default" },
        data = { API_KEY = "aw==", DB_URL = "dQ==" } }))
      assert(eventually(function()
        return get("v1", "ConfigMap", "web-config").data.secretKeys == "API_KEY,DB_URL"
      end, 10), kd:output())
    end)

    it("prunes an object the policy stopped wanting", function()
      local cm = assert(get("v1", "ConfigMap", "web-config"))
      assert(c:patch(AV, "App", "web", "default", { metadata = { annotations = { ["test.kipper.run/no-config"] = "1" } } }))
      assert(eventually(function()
        local _, _, code = get("v1", "ConfigMap", "web-config")
        return code == "notfound"
      end, 10), kd:output())
      assert.truthy(cm.metadata.uid)
      assert.truthy(get("apps/v1", "Deployment", "web"))
      assert(c:patch(AV, "App", "web", "default", { metadata = { annotations = { ["test.kipper.run/no-config"] = json.null } } }))
      assert(eventually(function() return get("v1", "ConfigMap", "web-config") end, 10))
    end)

    it("recreates a child someone deleted", function()
      local d = assert(get("apps/v1", "Deployment", "web"))
      assert(c:delete("apps/v1", "Deployment", "web", "default"))
      local again = eventually(function()
        local x = get("apps/v1", "Deployment", "web")
        return x and x.metadata.uid ~= d.metadata.uid and x
      end, 10)
      assert.truthy(again, kd:output())
      assert.equal("App.default.web", again.metadata.labels["kipper.run/owner"])
    end)

    it("reports a policy error as Ready=False ReconcileError with the message, then recovers", function()
      assert(c:patch(AV, "App", "web", "default", { spec = { image = "fail" } }))
      local failed = eventually(function()
        local a = get(AV, "App", "web")
        local r = condition(a, "Ready")
        return r and r.reason == "ReconcileError" and a
      end, 10)
      assert.truthy(failed, kd:output())
      local r = condition(failed, "Ready")
      assert.equal("False", r.status)
      assert.equal('the app policy failed: image "fail" is not allowed: pick another image', r.message)
      assert.equal("Failed", failed.status.phase)
      assert(eventually(function()
        return kd:metrics()['kipperd_reconcile_errors_total{kind="App"}'] >= 2   -- retried with back-off
      end, 10))
      assert(c:patch(AV, "App", "web", "default", { spec = { image = "nginx:1.29" } }))
      local a = assert(ready("web"), kd:output())
      assert.equal("nginx:1.29", a.status.image)
      assert.equal("Running", a.status.phase)
    end)

    it("reports an object the API refuses, with the API's message", function()
      assert(c:create(app("bad", { image = "nginx", replicas = 1 }, { ["test.kipper.run/no-config"] = "1" })))
      assert(ready("bad"))
      -- the test policy then puts a field the Deployment schema does not have
      assert(c:patch(AV, "App", "bad", "default", { metadata = { annotations = { ["test.kipper.run/invalid"] = "1" } } }))
      local a = eventually(function()
        local x = get(AV, "App", "bad")
        local r = condition(x, "Ready")
        return r and r.reason == "ReconcileError" and x
      end, 10)
      assert.truthy(a, kd:output())
      local msg = condition(a, "Ready").message
      assert.matches("^cannot apply Deployment default/bad: ", msg)
      assert.matches("bogus", msg)
      assert(c:delete(AV, "App", "bad", "default"))
    end)

    it("adds its finalizer, keeps generated credentials, and finalizes on delete", function()
      assert(c:create({ apiVersion = AV, kind = "Service", metadata = { name = "db", namespace = "default" },
        spec = { type = "postgres", version = "16" } }))
      local s = assert(ready("db", "Service"), kd:output())
      assert.same({ "kipper.run/service-data" }, s.metadata.finalizers)
      assert.equal("db.default.svc.cluster.local", s.status.host)
      local creds = assert(get("v1", "Secret", "db-credentials"))
      assert.is_nil(creds.metadata.ownerReferences)
      assert.equal("Service.default.db", creds.metadata.labels["kipper.run/owner"])
      -- a spec error is reported with its own reason
      assert(c:patch(AV, "Service", "db", "default", { spec = { version = "bad" } }))
      local bad = eventually(function()
        local x = get(AV, "Service", "db")
        local r = condition(x, "Ready")
        return r and r.status == "False" and r
      end, 10)
      assert.same({ "InvalidVersion", 'version "bad" is not a version: use e.g. 16' }, { bad.reason, bad.message })
      -- an update reconciles again and keeps the password
      assert(c:patch(AV, "Service", "db", "default", { spec = { version = "17" } }))
      assert(eventually(function() return get("v1", "ConfigMap", "db-info").data.version == "17" end, 10))
      assert.equal(creds.data.password, get("v1", "Secret", "db-credentials").data.password)
      -- delete without delete-data: the finalizer goes, the Service goes, the credentials stay
      assert(c:delete(AV, "Service", "db", "default"))
      assert(eventually(function()
        local _, _, code = get(AV, "Service", "db")
        return code == "notfound"
      end, 10), kd:output())
      assert.equal(creds.metadata.uid, get("v1", "Secret", "db-credentials").metadata.uid)
      assert(eventually(function()
        local _, _, code = get("v1", "ConfigMap", "db-info")
        return code == "notfound"                                    -- garbage-collected
      end, 10))
      -- made again, it finds the old credentials; deleted with delete-data, they go too
      assert(c:create({ apiVersion = AV, kind = "Service", metadata = { name = "db", namespace = "default",
        annotations = { ["kipper.run/delete-data"] = "true" } }, spec = { type = "postgres" } }))
      assert(ready("db", "Service"))
      assert.equal(creds.data.password, get("v1", "Secret", "db-credentials").data.password)
      assert(c:delete(AV, "Service", "db", "default"))
      assert(eventually(function()
        local _, _, code1 = get(AV, "Service", "db")
        local _, _, code2 = get("v1", "Secret", "db-credentials")
        return code1 == "notfound" and code2 == "notfound"
      end, 10), kd:output())
    end)

    it("writes nothing after a restart when everything is current", function()
      local a = assert(ready("web"))
      local d = assert(get("apps/v1", "Deployment", "web"))
      assert.equal(0, kd:stop("TERM"))
      kd = kipperd.start({ kubeconfig = sb.kubeconfig, plugin_path = FIXTURES, policies = "app,service", verbose = true })
      assert(kd:wait_ready(), kd:output())
      assert(eventually(function()
        local m = kd:metrics()
        return (m['kipperd_reconcile_total{kind="App",result="success"}'] or 0) >= 1 and m['kipperd_workqueue_depth{kind="App"}'] == 0
      end, 10), kd:output())
      -- the settings, discovery of three group versions; no apply, no status write
      assert.is_true(kd:metrics().kipperd_api_requests_total <= 5, kd:output())
      assert.is_nil(kd:output():match("applied"), kd:output())
      assert.equal(d.metadata.resourceVersion, get("apps/v1", "Deployment", "web").metadata.resourceVersion)
      assert.same(a.status, get(AV, "App", "web").status)
    end)

    it("reconciles everything again on each resync, and an unchanged resource costs no write", function()
      assert(ready("web"))
      assert.equal(0, kd:stop("TERM"))
      kd = kipperd.start({ kubeconfig = sb.kubeconfig, plugin_path = FIXTURES, policies = "app,service", verbose = true,
        args = { "--resync", "1" } })
      assert(kd:wait_ready(), kd:output())
      local key = 'kipperd_reconcile_total{kind="App",result="success"}'
      assert(eventually(function() return (kd:metrics()[key] or 0) >= 1 end, 10), kd:output())
      local first = kd:metrics()
      -- nothing changes, yet the App is reconciled again within a few resync periods
      assert(eventually(function() return kd:metrics()[key] >= first[key] + 2 end, 10), kd:output())
      assert.equal(first.kipperd_api_requests_total, kd:metrics().kipperd_api_requests_total)
    end)

    it("lets the sandbox's garbage collector remove everything when the resource goes", function()
      assert(c:delete(AV, "App", "web", "default"))
      assert(eventually(function()
        local _, _, c1 = get("apps/v1", "Deployment", "web")
        local _, _, c2 = get("v1", "ConfigMap", "web-config")
        return c1 == "notfound" and c2 == "notfound"
      end, 15), kd:output())
    end)

    it("stops on SIGTERM with exit status 0", function()
      local out = kd:output()
      assert.equal(0, kd:stop("TERM"))
      assert.is_nil(out:match("internal error"), out)
    end)
  end)

  it("waits for an API that does not answer, not ready, and still stops on SIGTERM", function()
    local dir = require("helpers").tmpdir()
    local text = assert(fs.read(sb.kubeconfig)):gsub("https://127%.0%.0%.1:%d+", "https://127.0.0.1:1")
    assert(fs.write(dir .. "/kubeconfig", text, { mode = "0600" }))
    local kd = kipperd.start({ kubeconfig = dir .. "/kubeconfig", plugin_path = FIXTURES, policies = "app", dir = dir })
    assert.equal(200, (kd:get("/healthz")))
    local status, body = kd:get("/readyz")
    assert.equal(503, status)
    assert.matches("waiting for the cluster settings", body)
    assert(eventually(function() return kd:output():match("cannot read ConfigMap kipper%-system/kipper%-config") end, 10))
    assert.equal(0, kd:stop("TERM"))
    require("helpers").rmtree(dir)
  end)

  describe("with the real policies", function()
    local kd
    setup(function()
      kd = kipperd.start({ kubeconfig = sb.kubeconfig, plugin_path = false })
      assert(kd:wait_ready(), "kipperd is not ready: " .. kd:output())
    end)
    teardown(function()
      if kd and kd:running() then kd:stop() end
    end)

    it("turns an App into a Deployment, a Service and an Ingress, Ready, and removes them with it", function()
      assert(c:create(app("hello", { image = "nginx:1.27", port = 80 })))
      local a = assert(ready("hello"), kd:output())
      assert.matches("hello%-203%-0%-113%-10%.kipper%.run", a.status.url or "")
      local d = assert(get("apps/v1", "Deployment", "hello"))
      assert.equal(a.metadata.uid, d.metadata.ownerReferences[1].uid)
      assert.truthy(get("v1", "Service", "hello"))
      assert.truthy(get("networking.k8s.io/v1", "Ingress", "hello"))
      assert(c:delete(AV, "App", "hello", "default"))
      assert(eventually(function()
        local _, _, c1 = get("apps/v1", "Deployment", "hello")
        local _, _, c2 = get("v1", "Service", "hello")
        return c1 == "notfound" and c2 == "notfound"
      end, 15), kd:output())
    end)

    it("does not take over a Deployment someone else made with the App's name: NameTaken", function()
      assert(c:create({ apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "taken", namespace = "default" },
        spec = { replicas = 1, selector = { matchLabels = { run = "taken" } }, template = {
          metadata = { labels = { run = "taken" } }, spec = { containers = { { name = "c", image = "busybox:1.36" } } } } } }))
      assert(c:create(app("taken", { image = "nginx:1.27", port = 80 })))
      local a = assert(eventually(function()
        local x = get(AV, "App", "taken")
        local r = condition(x, "Ready")
        return r and r.reason == "NameTaken" and x
      end, 20), kd:output())
      assert.matches("taken", condition(a, "Ready").message)
      local d = assert(get("apps/v1", "Deployment", "taken"))
      assert.is_nil(d.metadata.ownerReferences)
      assert.equal("busybox:1.36", d.spec.template.spec.containers[1].image)
      assert(c:delete(AV, "App", "taken", "default"))
      assert(c:delete("apps/v1", "Deployment", "taken", "default"))
    end)

    it("runs a postgres Service as a StatefulSet with stable credentials, and deletes its data only when asked", function()
      assert(c:create({ apiVersion = AV, kind = "Service", metadata = { name = "pg", namespace = "default" },
        spec = { type = "postgres", storage = "1Gi" } }))
      local s = assert(ready("pg", "Service"), kd:output())
      assert.same({ "kipper.run/service-data" }, s.metadata.finalizers)
      assert.equal("pg.default.svc.cluster.local", s.status.host)
      local sts = assert(get("apps/v1", "StatefulSet", "pg"))
      assert.equal(s.metadata.uid, sts.metadata.ownerReferences[1].uid)
      local secret = assert(get("v1", "Secret", s.status.credentialsSecret))
      assert(eventually(function() return get("v1", "PersistentVolumeClaim", "data-pg-0") end, 10))
      -- reconciled again (a new generation), the credentials stay
      assert(c:patch(AV, "Service", "pg", "default", { spec = { version = "17" } }))
      assert(eventually(function()
        local x = get(AV, "Service", "pg")
        return x.status.observedGeneration == 2
      end, 15), kd:output())
      assert.same(secret.data, get("v1", "Secret", s.status.credentialsSecret).data)
      assert(c:patch(AV, "Service", "pg", "default", { metadata = { annotations = { ["kipper.run/delete-data"] = "true" } } }))
      assert(c:delete(AV, "Service", "pg", "default"))
      assert(eventually(function()
        local _, _, c1 = get(AV, "Service", "pg")
        local _, _, c2 = get("v1", "Secret", s.status.credentialsSecret)
        local _, _, c3 = get("v1", "PersistentVolumeClaim", "data-pg-0")
        return c1 == "notfound" and c2 == "notfound" and c3 == "notfound"
      end, 15), kd:output())
    end)

    it("makes a Project's namespaces", function()
      assert(c:create({ apiVersion = AV, kind = "Project", metadata = { name = "shop" },
        spec = { environments = { { name = "staging" }, { name = "production", quota = { pods = 20 } } },
          members = { { email = "ana@example.com", role = "owner" } } } }))
      local p = assert(eventually(function()
        local x = c:get(AV, "Project", "shop")
        local r = condition(x, "Ready")
        return r and r.status == "True" and x
      end, 15), kd:output())
      assert.same({ "shop-staging", "shop-production" }, p.status.namespaces)
      local ns = assert(c:get("v1", "Namespace", "shop-production"))
      assert.equal(p.metadata.uid, ns.metadata.ownerReferences[1].uid)
      assert.truthy(c:list("v1", "ResourceQuota", { namespace = "shop-production" }).items[1])
      assert.truthy(c:list("rbac.authorization.k8s.io/v1", "RoleBinding", { namespace = "shop-staging" }).items[1])
      local reader = assert(c:get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "kipper-project-shop"))
      assert.equal("kipper-project-reader", reader.roleRef.name)
      assert.equal("ana@example.com", reader.subjects[1].name)
      assert.equal(p.metadata.uid, reader.metadata.ownerReferences[1].uid)
    end)

    it("stops on SIGTERM with exit status 0", function()
      assert.equal(0, kd:stop("TERM"))
    end)
  end)
end)
