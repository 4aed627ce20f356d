-- SPDX-License-Identifier: Apache-2.0
-- The Service reconcile policy (plugins/reconcilers/service.lua): every catalog entry and option
-- through the sandbox API's strict validation, credentials made once and kept, the volume, status
-- from the observed StatefulSet, pods and claim, finalize with and without kipper.run/delete-data,
-- and spec errors.
local catalog = require "kip.catalog.services"
local helpers = require "helpers.policy"
local invalid = require "kip.policy.invalid"
local secrets = require "kip.policy.secrets"
local tables = require "kip.util.tables"

local policy = helpers.policy("service")
local find = helpers.find

local function service(spec, md)
  local m = { name = "db", namespace = "default", generation = 1 }
  for k, v in pairs(md or {}) do m[k] = v end
  local s = { type = "postgres" }
  for k, v in pairs(spec or {}) do s[k] = v end
  return { apiVersion = "kipper.run/v1alpha1", kind = "Service", metadata = m, spec = s }
end

local function owned(obj, svc)
  obj.metadata.ownerReferences = { { apiVersion = "kipper.run/v1alpha1", kind = "Service", name = svc.metadata.name, uid = "u", controller = true } }
  return obj
end

local function spec_error(svc, ctx)
  local ok, err = pcall(policy.reconcile, svc, ctx or helpers.ctx())
  assert.is_false(ok)
  assert.is_true(invalid.is(err), tostring(err))
  return err
end

local function creds(out)
  return secrets.decode(find(out.objects, "Secret"))
end

describe("Service policy", function()
  it("declares the interface the engine uses", function()
    assert.same({ "kipper.run/v1alpha1", "Service", "kipper.run/service-data" }, { policy.api_version, policy.kind, policy.finalizer })
    assert.same({ { "apps/v1", "StatefulSet" }, { "v1", "Service" } }, policy.owns)
    assert.is_function(policy.reconcile)
    assert.is_function(policy.finalize)
  end)

  describe("emits objects the API accepts (Kubernetes v1.34 schemas, strict) for", function()
    for _, t in ipairs(catalog.types(catalog.load())) do
      it(t .. " with the catalog's defaults", function()
        local svc = service({ type = t }, { name = "s-" .. t })
        local out = policy.reconcile(svc, helpers.ctx())
        local api = helpers.new_api()
        assert.same({}, helpers.apply_all(api, out.objects))
        assert.is_nil(helpers.check_status(api, svc, out.status))
      end)

      it(t .. " with a version, size, resources, in another namespace, without a storage class", function()
        local svc = service({ type = t, version = "1.2.3", storage = "1Gi", resources = { cpu = "300m", memory = "2Gi", memoryLimit = "3Gi" } },
          { name = "s-" .. t, namespace = "team-b" })
        local out = policy.reconcile(svc, helpers.ctx({ cluster = { clusterId = "", storageClass = "" } }))
        local api = helpers.new_api()
        assert.same({}, helpers.apply_all(api, out.objects))
        assert.is_nil(helpers.check_status(api, svc, out.status))
        local sts = find(out.objects, "StatefulSet")
        assert.is_nil(sts.spec.volumeClaimTemplates[1].spec.storageClassName)
        assert.equal("1Gi", sts.spec.volumeClaimTemplates[1].spec.resources.requests.storage)
        assert.matches(":1%.2%.3$", sts.spec.template.spec.containers[1].image)
      end)
    end

    it("a type a site adds to the catalog", function()
      local cat = catalog.load()
      local valkey = catalog.builtin().redis
      valkey.image, valkey.version = "docker.io/valkey/valkey", "8.1"
      valkey.args = { "valkey-server", "--requirepass", "$(REDIS_PASSWORD)" }
      assert.is_true(catalog.check("valkey", valkey))
      cat.entries.valkey = valkey
      local svc = service({ type = "valkey" }, { name = "kv" })
      local out = policy.reconcile(svc, helpers.ctx({ catalog = cat }))
      assert.same({}, helpers.apply_all(helpers.new_api(), out.objects))
      assert.equal("docker.io/valkey/valkey:8.1", find(out.objects, "StatefulSet").spec.template.spec.containers[1].image)
    end)
  end)

  describe("each built-in type", function()
    local want = {
      postgres = { "docker.io/library/postgres:17", 5432, "/var/lib/postgresql/data", "10Gi", "postgres://app:%x+@db%.default%.svc%.cluster%.local:5432/app" },
      mysql = { "docker.io/library/mysql:8.4", 3306, "/var/lib/mysql", "10Gi", "mysql://app:%x+@db%.default%.svc%.cluster%.local:3306/app" },
      redis = { "docker.io/library/redis:7.4", 6379, "/data", "2Gi", "redis://default:%x+@db%.default%.svc%.cluster%.local:6379/0" },
      mongodb = { "docker.io/library/mongo:8.0", 27017, "/data/db", "10Gi",
        "mongodb://app:%x+@db%.default%.svc%.cluster%.local:27017/app%?authSource=admin" },
      rabbitmq = { "docker.io/library/rabbitmq:4.1-management", 5672, "/var/lib/rabbitmq", "5Gi", "amqp://app:%x+@db%.default%.svc%.cluster%.local:5672/" },
      minio = { "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z", 9000, "/data", "20Gi", "http://db%.default%.svc%.cluster%.local:9000" },
    }
    for t, w in pairs(want) do
      it(t .. " runs its image with its volume, port and credentials", function()
        local out = policy.reconcile(service({ type = t }), helpers.ctx())
        local sts = find(out.objects, "StatefulSet")
        local c = sts.spec.template.spec.containers[1]
        assert.equal(w[1], c.image)
        assert.equal(w[2], c.ports[1].containerPort)
        assert.same({ { name = "data", mountPath = w[3] } }, c.volumeMounts)
        assert.equal(w[4], sts.spec.volumeClaimTemplates[1].spec.resources.requests.storage)
        local values = creds(out)
        assert.matches("^" .. w[5] .. "$", values.url)
        assert.equal("db.default.svc.cluster.local", values.host)
        assert.equal(tostring(w[2]), values.port)
        assert.is_string(values.username)
        assert.equal(32, #values.password)
        -- every credentials variable comes from the Secret
        for _, e in ipairs(c.env) do
          if e.valueFrom then
            assert.equal("db-credentials", e.valueFrom.secretKeyRef.name)
            assert.is_string(values[e.valueFrom.secretKeyRef.key], e.name)
          end
        end
        -- runs restricted, as the image's non-root user, with the volume writable to it
        local sc = sts.spec.template.spec.securityContext
        assert.is_true(sc.runAsNonRoot)
        assert.is_true(sc.runAsUser > 0)
        assert.equal(sc.runAsGroup, sc.fsGroup)
        assert.same({ "ALL" }, c.securityContext.capabilities.drop)
        assert.same({ "db.default.svc.cluster.local", w[2], "db-credentials" },
          { out.status.host, out.status.port, out.status.credentialsSecret })
      end)
    end
  end)

  it("runs one pod with a retained claim, behind a headless Service", function()
    local out = policy.reconcile(service({ type = "rabbitmq" }), helpers.ctx())
    local sts = find(out.objects, "StatefulSet")
    assert.same({ 1, "db" }, { sts.spec.replicas, sts.spec.serviceName })
    assert.same({ whenDeleted = "Retain", whenScaled = "Retain" }, sts.spec.persistentVolumeClaimRetentionPolicy)
    assert.equal("local-path", sts.spec.volumeClaimTemplates[1].spec.storageClassName)
    local svc = find(out.objects, "Service")
    assert.equal("None", svc.spec.clusterIP)
    assert.same({ { name = "rabbitmq", port = 5672, targetPort = "rabbitmq", protocol = "TCP" },
      { name = "management", port = 15672, targetPort = "management", protocol = "TCP" } }, svc.spec.ports)
    assert.same(sts.spec.selector.matchLabels, svc.spec.selector)
    assert.equal("rabbitmq", sts.spec.selector.matchLabels["app.kubernetes.io/name"])
  end)

  describe("credentials", function()
    it("are made once with ctx.random, in a Secret the engine must keep", function()
      local ctx = helpers.ctx()
      local out = policy.reconcile(service({ type = "mysql" }), ctx)
      assert.equal(2, ctx.calls) -- password and root-password
      local s = find(out.objects, "Secret")
      assert.same({ "db-credentials", "true" }, { s.metadata.name, s.metadata.annotations["kipper.run/retain"] })
      local v = creds(out)
      assert.same({ "app", "app" }, { v.username, v.database })
      assert.are_not.equal(v.password, v["root-password"])
      assert.equal("mysql://app:" .. v.password .. "@db.default.svc.cluster.local:3306/app", v.url)
    end)

    it("stay as they are once the Secret exists", function()
      local first = find(policy.reconcile(service(), helpers.ctx()).objects, "Secret")
      local ctx = helpers.ctx({ observed = { first } })
      local again = policy.reconcile(service(), ctx)
      assert.equal(0, ctx.calls)
      assert.same(first.data, find(again.objects, "Secret").data)
      -- a key missing from an older Secret is made; the others stay
      local old = tables.copy(first)
      old.data.database = nil
      old.data.url = nil
      ctx = helpers.ctx({ observed = { old } })
      local v = creds(policy.reconcile(service(), ctx))
      assert.equal(0, ctx.calls) -- database is a fixed value
      assert.equal(secrets.decode(first).password, v.password)
      assert.equal(secrets.decode(first).url, v.url)
      old.data.password = nil
      ctx = helpers.ctx({ observed = { old } })
      v = creds(policy.reconcile(service(), ctx))
      assert.equal(1, ctx.calls)
      assert.equal(string.rep("11", 16), v.password) -- the first value this ctx.random gives
      assert.equal("app", v.username)
    end)
  end)

  it("keeps the volume size it was made with, and says so", function()
    local svc = service({ storage = "10Gi" })
    local sts = owned(tables.copy(find(policy.reconcile(svc, helpers.ctx()).objects, "StatefulSet")), svc)
    local out = policy.reconcile(service({ storage = "50Gi" }), helpers.ctx({ observed = { sts }, cluster = { storageClass = "longhorn" } }))
    local tpl = find(out.objects, "StatefulSet").spec.volumeClaimTemplates[1]
    assert.same({ "10Gi", "local-path" }, { tpl.spec.resources.requests.storage, tpl.spec.storageClassName })
    local c = out.status.conditions[3]
    assert.same({ "Configured", "False", "StorageFixed" }, { c.type, c.status, c.reason })
    assert.matches("made with 10Gi and its size cannot change here %(spec.storage is 50Gi%): resize the claim data%-db%-0", c.message)
  end)

  describe("status", function()
    local function observe(svc, sts_status, extra)
      local sts = owned(tables.copy(find(policy.reconcile(svc, helpers.ctx()).objects, "StatefulSet")), svc)
      sts.metadata.generation = 1
      sts.status = sts_status
      local observed = { sts }
      for _, o in ipairs(extra or {}) do observed[#observed + 1] = o end
      return policy.reconcile(svc, helpers.ctx({ observed = observed }))
    end

    it("is Pending, then Progressing, then Ready", function()
      local out = policy.reconcile(service(), helpers.ctx())
      assert.same({ "Pending", "Creating" }, { out.status.phase, out.status.conditions[1].reason })
      assert.equal("StatefulSet db is being created", out.status.conditions[1].message)
      out = observe(service(), { observedGeneration = 1, replicas = 1, readyReplicas = 0, updatedReplicas = 1 })
      assert.same({ "Progressing", "Starting" }, { out.status.phase, out.status.conditions[1].reason })
      out = observe(service(), { observedGeneration = 1, replicas = 1, readyReplicas = 1, updatedReplicas = 1, currentRevision = "a", updateRevision = "a" })
      assert.same({ "Ready", "True", "Available" }, { out.status.phase, out.status.conditions[1].status, out.status.conditions[1].reason })
      out = observe(service(), { observedGeneration = 1, replicas = 1, readyReplicas = 1, updatedReplicas = 1, currentRevision = "a", updateRevision = "b" })
      assert.equal("Progressing", out.status.phase)
    end)

    it("says when the volume waits for storage", function()
      local pvc = { apiVersion = "v1", kind = "PersistentVolumeClaim", metadata = { name = "data-db-0", namespace = "default" },
        spec = { storageClassName = "longhorn" }, status = { phase = "Pending" } }
      local out = observe(service(), { observedGeneration = 1, replicas = 1, readyReplicas = 0 }, { pvc })
      assert.same({ "Progressing", "VolumePending" }, { out.status.phase, out.status.conditions[1].reason })
      assert.equal("volume data-db-0 is waiting to be provisioned (storage class longhorn)", out.status.conditions[1].message)
    end)

    it("is Failed with the reason when the pod keeps crashing", function()
      local pod = { apiVersion = "v1", kind = "Pod", metadata = { name = "db-0", namespace = "default",
        labels = { ["app.kubernetes.io/name"] = "postgres", ["app.kubernetes.io/instance"] = "db", ["app.kubernetes.io/component"] = "service" } },
        status = { containerStatuses = { { name = "postgres", ready = false, restartCount = 4,
          state = { waiting = { reason = "CrashLoopBackOff" } }, lastState = { terminated = { exitCode = 1, reason = "Error" } } } } } }
      local out = observe(service(), { observedGeneration = 1, replicas = 1, readyReplicas = 0 }, { pod })
      assert.same({ "Failed", "CrashLoopBackOff" }, { out.status.phase, out.status.conditions[1].reason })
      assert.equal("pod db-0, container postgres is CrashLoopBackOff (last exit code 1, Error, restarted 4 times); "
        .. "it keeps crashing: see its logs (kubectl logs -n default db-0)", out.status.conditions[1].message)
    end)
  end)

  describe("finalize", function()
    local function refs(result)
      local out = {}
      for _, r in ipairs(result.delete) do out[#out + 1] = table.concat({ r.apiVersion, r.kind, r.namespace, r.name }, " ") end
      return out
    end

    it("keeps the volume and credentials unless asked", function()
      local result = policy.finalize(service({}, { namespace = "shop" }), helpers.ctx())
      assert.same({}, refs(result))
      assert.equal("kept volume data-db-0 and Secret db-credentials for a new Service db to use again; "
        .. "to remove them: kubectl delete -n shop pvc/data-db-0 secret/db-credentials", result.message)
      result = policy.finalize(service({}, { annotations = { ["kipper.run/delete-data"] = "false" } }), helpers.ctx())
      assert.same({}, refs(result))
    end)

    it("deletes them with kipper.run/delete-data: \"true\"", function()
      local extra = { apiVersion = "v1", kind = "PersistentVolumeClaim", metadata = { name = "data-db-1", namespace = "shop",
        labels = { ["app.kubernetes.io/name"] = "postgres", ["app.kubernetes.io/instance"] = "db", ["app.kubernetes.io/component"] = "service" } } }
      local other = tables.copy(extra)
      other.metadata.name, other.metadata.labels["app.kubernetes.io/instance"] = "data-other-0", "other"
      local result = policy.finalize(service({}, { namespace = "shop", annotations = { ["kipper.run/delete-data"] = "true" } }),
        helpers.ctx({ observed = { extra, other } }))
      assert.same({ "v1 PersistentVolumeClaim shop data-db-0", "v1 PersistentVolumeClaim shop data-db-1", "v1 Secret shop db-credentials" }, refs(result))
      assert.equal("deleted volume data-db-0, data-db-1 and Secret db-credentials", result.message)
    end)
  end)

  describe("refuses", function()
    it("a type the catalog does not have, listing those it has", function()
      local err = spec_error(service({ type = "oracle" }))
      assert.equal("UnknownType", err.reason)
      assert.equal('unknown service type "oracle": the catalog has minio, mongodb, mysql, postgres, rabbitmq, redis '
        .. "(a site adds one as plugins/catalog/oracle.lua)", err.message)
      local cat = catalog.load()
      cat.errors.broken = 'catalog entry "broken": port must be an integer from 1 to 65535 (it is "x") (from /site/plugins/catalog/broken.lua)'
      err = spec_error(service({ type = "broken" }), helpers.ctx({ catalog = cat }))
      assert.equal(cat.errors.broken, err.message)
    end)

    it("a version that is not an image tag", function()
      local err = spec_error(service({ version = "17; rm -rf" }))
      assert.same({ "InvalidVersion", 'version "17; rm -rf" is not an image tag: use letters, digits, \'.\', \'_\' and \'-\', e.g. "17"' },
        { err.reason, err.message })
    end)

    it("a change of type", function()
      local sts = owned(tables.copy(find(policy.reconcile(service(), helpers.ctx()).objects, "StatefulSet")), service())
      local err = spec_error(service({ type = "mysql" }), helpers.ctx({ observed = { sts } }))
      assert.same({ "TypeChanged", "Service db is a postgres and cannot become a mysql: delete it and add a new one (its data would not fit)" },
        { err.reason, err.message })
    end)

    it("a name an App's Service has", function()
      local taken = { apiVersion = "v1", kind = "Service", metadata = { name = "db", namespace = "default",
        ownerReferences = { { apiVersion = "kipper.run/v1alpha1", kind = "App", name = "db", uid = "x", controller = true } } } }
      local err = spec_error(service(), helpers.ctx({ observed = { taken } }))
      assert.same({ "NameTaken", "Service db already exists in namespace default and is not this Service's: rename the Service, or delete the Service" },
        { err.reason, err.message })
    end)
  end)
end)
