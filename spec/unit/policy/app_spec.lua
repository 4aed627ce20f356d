-- SPDX-License-Identifier: Apache-2.0
-- The App reconcile policy (plugins/reconcilers/app.lua): every option through the sandbox API's
-- strict validation, the env Secret and rollouts, revisions, bindings, status from observed
-- Deployments and pods, and spec errors.
local helpers = require "helpers.policy"
local invalid = require "kip.policy.invalid"
local tables = require "kip.util.tables"
local tls = require "kip.tls"

local policy = helpers.policy("app")
local find = helpers.find

local function app(spec, md)
  local m = { name = "web", namespace = "default", generation = 1 }
  for k, v in pairs(md or {}) do m[k] = v end
  local s = { image = "ghcr.io/acme/web:1.0", port = 8080, replicas = 1 }
  for k, v in pairs(spec or {}) do s[k] = v end
  return { apiVersion = "kipper.run/v1alpha1", kind = "App", metadata = m, spec = s }
end

local function owned(obj, a)
  obj.metadata.ownerReferences = { { apiVersion = "kipper.run/v1alpha1", kind = "App", name = a.metadata.name, uid = "u", controller = true } }
  return obj
end

local function user_secret(values, ns)
  return { apiVersion = "v1", kind = "Secret", metadata = { name = "app-web-secrets", namespace = ns or "default" },
    data = tables.copy(require("kip.policy.secrets").encode(values)) }
end

local function bound_service(name, type_, ns)
  return { apiVersion = "kipper.run/v1alpha1", kind = "Service", metadata = { name = name, namespace = ns or "default" }, spec = { type = type_ } }
end

-- Runs the policy, expecting a spec error; returns it.
local function spec_error(a, ctx)
  local ok, err = pcall(policy.reconcile, a, ctx or helpers.ctx())
  assert.is_false(ok)
  assert.is_true(invalid.is(err), tostring(err))
  return err
end

local function container(out)
  return find(out.objects, "Deployment").spec.template.spec.containers[1]
end

local function env_names(c)
  local names = {}
  for _, e in ipairs(c.env or {}) do names[#names + 1] = e.name end
  return names
end

describe("App policy", function()
  it("declares the interface the engine uses", function()
    assert.equal("kipper.run/v1alpha1", policy.api_version)
    assert.equal("App", policy.kind)
    assert.is_nil(policy.finalizer)
    assert.is_function(policy.reconcile)
    assert.is_nil(policy.finalize)
    local kinds = {}
    for _, k in ipairs(policy.owns) do kinds[#kinds + 1] = k[1] .. " " .. k[2] end
    assert.same({ "apps/v1 Deployment", "v1 Service", "networking.k8s.io/v1 Ingress", "autoscaling/v2 HorizontalPodAutoscaler",
      "policy/v1 PodDisruptionBudget", "v1 Secret" }, kinds)
  end)

  describe("emits objects the API accepts (Kubernetes v1.34 schemas, strict) for", function()
    local cluster_plain = { clusterId = "203-0-113-10", zone = "kipper.run", issuer = "", storageClass = "local-path", ingressClass = "traefik" }
    local cases = {
      { "the lightweight profile", { resources = { profile = "lightweight" } } },
      { "the standard profile", { resources = { profile = "standard" } } },
      { "the compute-heavy profile", { resources = { profile = "compute-heavy" } } },
      { "the memory-heavy profile", { resources = { profile = "memory-heavy" } } },
      { "the jvm profile", { resources = { profile = "jvm" } } },
      { "explicit requests", { resources = { cpu = "250m", memory = "300Mi" } } },
      { "explicit requests and limits", { resources = { cpu = "1500m", memory = "3Gi", cpuLimit = "3", memoryLimit = "4Gi" } } },
      { "an HTTP health check", { healthCheck = { path = "/healthz" } } },
      { "an HTTP health check on another port", { healthCheck = { path = "/ready", port = 9090 } } },
      { "a TCP health check", { healthCheck = { tcp = true } } },
      { "a custom host with HTTPS", { route = { host = "www.example.com", path = "/" } } },
      { "a custom host and path without HTTPS", { route = { host = "www.example.com", path = "/shop" } }, cluster = cluster_plain },
      { "no cluster id (custom host only)", { route = { host = "www.example.com" } }, cluster = { clusterId = "", issuer = "letsencrypt" } },
      { "no cluster id and no host (no Ingress)", {}, cluster = { clusterId = "" } },
      { "autoscaling with defaults", { autoscale = { enabled = true } } },
      { "autoscaling with bounds", { autoscale = { enabled = true, min = 3, max = 10, cpuTarget = 60 } } },
      { "autoscaling off", { autoscale = { enabled = false, min = 3 } } },
      { "zero replicas", { replicas = 0 } },
      { "three replicas", { replicas = 3 } },
      { "env", { env = { LOG_LEVEL = "debug", ["app.mode"] = "x", EMPTY = "" } } },
      { "a user Secret, all keys", {}, observed = { user_secret({ TOKEN = "t0k3n", OTHER = "o" }) } },
      { "a user Secret, listed keys", { secrets = { "TOKEN" } }, observed = { user_secret({ TOKEN = "t0k3n", OTHER = "o" }) } },
      { "listed keys without the user Secret", { secrets = { "TOKEN" } } },
      { "service bindings", { serviceBindings = { { service = "db" }, { service = "cache", envPrefix = "CACHE_" }, { service = "files", envPrefix = "S3" } } },
        observed = { bound_service("db", "postgres"), bound_service("cache", "redis"), bound_service("files", "minio") } },
      { "a binding to a Service not there yet", { serviceBindings = { { service = "db" }, { service = "later", envPrefix = "Q" } } },
        observed = { bound_service("db", "mysql") } },
      { "another namespace", { route = { host = "a.example.com" } }, md = { namespace = "shop-staging" } },
      { "root allowed", {}, md = { annotations = { ["kipper.run/allow-root"] = "true" } } },
      { "everything at once", { replicas = 4, env = { A = "1" }, secrets = { "TOKEN" }, resources = { profile = "jvm", memory = "1200Mi" },
        route = { host = "shop.example.com", path = "/api" }, autoscale = { enabled = true, min = 2, max = 8 }, healthCheck = { path = "/h" },
        serviceBindings = { { service = "db" } } }, md = { namespace = "team-a" },
        observed = { user_secret({ TOKEN = "x" }, "team-a"), bound_service("db", "mongodb", "team-a") } },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        local a = app(c[2], c.md)
        local out = policy.reconcile(a, helpers.ctx({ observed = c.observed, cluster = c.cluster }))
        local api = helpers.new_api()
        assert.same({}, helpers.apply_all(api, out.objects))
        assert.is_nil(helpers.check_status(api, a, out.status))
        assert.same({}, helpers.apply_all(api, {})) -- the API is still usable
      end)
    end
  end)

  it("is checked by a validator that refuses what Kubernetes refuses", function()
    local out = policy.reconcile(app({ replicas = 2, autoscale = { enabled = true } }), helpers.ctx())
    container(out).securityContext.runAsUser = "nobody"
    find(out.objects, "Service").spec.ports[1].targetPorts = "http"
    find(out.objects, "HorizontalPodAutoscaler").spec.minReplica = 1
    local refused = helpers.apply_all(helpers.new_api(), out.objects)
    assert.equal(3, #refused)
    assert.matches("Deployment web: .*runAsUser.*must be of type integer", refused[1])
    assert.matches('Service web: .*unknown field "spec.ports%[0%].targetPorts"', refused[2])
    assert.matches('HorizontalPodAutoscaler web: .*unknown field "spec.minReplica"', refused[3])
    local bad = policy.reconcile(app(), helpers.ctx()).status
    bad.conditions[1].status = "Maybe"
    assert.matches('status.conditions%[0%].status: Unsupported value: "Maybe"', helpers.check_status(helpers.new_api(), app(), bad))
    bad = policy.reconcile(app(), helpers.ctx()).status
    bad.conditions[2].reason = "not camel case"
    assert.equal('status.conditions[1].reason "not camel case" is not CamelCase', helpers.check_status(helpers.new_api(), app(), bad))
  end)

  describe("the Deployment", function()
    it("runs restricted unless the App allows root", function()
      local out = policy.reconcile(app(), helpers.ctx())
      local spec = find(out.objects, "Deployment").spec.template.spec
      assert.same({ runAsNonRoot = true, seccompProfile = { type = "RuntimeDefault" } }, spec.securityContext)
      assert.same({ allowPrivilegeEscalation = false, runAsNonRoot = true, capabilities = { drop = { "ALL" } },
        seccompProfile = { type = "RuntimeDefault" } }, spec.containers[1].securityContext)
      local root = policy.reconcile(app({}, { annotations = { ["kipper.run/allow-root"] = "true" } }), helpers.ctx())
      local rspec = find(root.objects, "Deployment").spec.template.spec
      assert.same({ seccompProfile = { type = "RuntimeDefault" } }, rspec.securityContext)
      assert.is_nil(rspec.containers[1].securityContext)
      -- only "true" allows root
      local yes = policy.reconcile(app({}, { annotations = { ["kipper.run/allow-root"] = "yes" } }), helpers.ctx())
      assert.is_true(find(yes.objects, "Deployment").spec.template.spec.securityContext.runAsNonRoot)
    end)

    it("sizes the container from the profile or explicit values", function()
      local function res(r) return container(policy.reconcile(app({ resources = r }), helpers.ctx())).resources end
      assert.same({ requests = { cpu = "100m", memory = "256Mi" }, limits = { cpu = "500m", memory = "512Mi" } }, res(nil))
      assert.same({ requests = { cpu = "50m", memory = "64Mi" }, limits = { cpu = "200m", memory = "128Mi" } }, res({ profile = "lightweight" }))
      assert.same({ requests = { cpu = "1", memory = "1Gi" }, limits = { cpu = "2", memory = "2Gi" } }, res({ profile = "compute-heavy" }))
      assert.same({ requests = { cpu = "250m", memory = "1Gi" }, limits = { cpu = "1", memory = "4Gi" } }, res({ profile = "memory-heavy" }))
      assert.same({ requests = { cpu = "500m", memory = "1Gi" }, limits = { cpu = "2", memory = "2Gi" } }, res({ profile = "jvm" }))
      -- a request above the profile's limit raises the limit; explicit limits are kept
      assert.same({ requests = { cpu = "2", memory = "1Gi" }, limits = { cpu = "2", memory = "1Gi" } }, res({ cpu = "2", memory = "1Gi" }))
      assert.same({ requests = { cpu = "250m", memory = "64Mi" }, limits = { cpu = "1", memory = "256Mi" } },
        res({ profile = "lightweight", cpu = "250m", cpuLimit = "1", memoryLimit = "256Mi" }))
      assert.same({ "JAVA_TOOL_OPTIONS" }, env_names(container(policy.reconcile(app({ resources = { profile = "jvm" } }), helpers.ctx()))))
      assert.equal("-XX:MaxRAMPercentage=75", container(policy.reconcile(app({ resources = { profile = "jvm" } }), helpers.ctx())).env[1].value)
      -- the user's own JAVA_TOOL_OPTIONS wins
      assert.same({}, env_names(container(policy.reconcile(app({ resources = { profile = "jvm" }, env = { JAVA_TOOL_OPTIONS = "-Xmx1g" } }), helpers.ctx()))))
    end)

    it("probes the health check path, or the port", function()
      local c = container(policy.reconcile(app({ healthCheck = { path = "/healthz" } }), helpers.ctx()))
      assert.same({ path = "/healthz", port = 8080 }, c.readinessProbe.httpGet)
      assert.same({ path = "/healthz", port = 8080 }, c.livenessProbe.httpGet)
      assert.is_true(c.livenessProbe.failureThreshold > c.readinessProbe.failureThreshold)
      c = container(policy.reconcile(app({ port = 3000, healthCheck = { path = "/x", tcp = true, port = 3001 } }), helpers.ctx()))
      assert.same({ port = 3001 }, c.readinessProbe.tcpSocket)
      c = container(policy.reconcile(app({ port = 3000 }), helpers.ctx()))
      assert.same({ port = 3000 }, c.livenessProbe.tcpSocket)
    end)

    it("rolls one pod at a time, and leaves replicas to the autoscaler", function()
      local d = find(policy.reconcile(app({ replicas = 3 }), helpers.ctx()).objects, "Deployment")
      assert.same({ type = "RollingUpdate", rollingUpdate = { maxUnavailable = 0, maxSurge = 1 } }, d.spec.strategy)
      assert.equal(3, d.spec.replicas)
      local out = policy.reconcile(app({ replicas = 3, autoscale = { enabled = true, min = 2 } }), helpers.ctx())
      assert.is_nil(find(out.objects, "Deployment").spec.replicas)
      local hpa = find(out.objects, "HorizontalPodAutoscaler")
      assert.same({ 2, 5, 80 }, { hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.metrics[1].resource.target.averageUtilization })
    end)

    it("has a disruption budget only when more than one pod runs", function()
      assert.is_nil(find(policy.reconcile(app({ replicas = 1 }), helpers.ctx()).objects, "PodDisruptionBudget"))
      local pdb = find(policy.reconcile(app({ replicas = 2 }), helpers.ctx()).objects, "PodDisruptionBudget")
      assert.equal(1, pdb.spec.minAvailable)
      assert.is_nil(find(policy.reconcile(app({ replicas = 5, autoscale = { enabled = true, min = 1 } }), helpers.ctx()).objects, "PodDisruptionBudget"))
      assert.is_table(find(policy.reconcile(app({ replicas = 1, autoscale = { enabled = true, min = 2 } }), helpers.ctx()).objects, "PodDisruptionBudget"))
    end)
  end)

  describe("the environment", function()
    it("puts env and the user's Secret in a Secret named after its content", function()
      local observed = { user_secret({ TOKEN = "t0k3n", LOG = "from-secret" }) }
      local out = policy.reconcile(app({ env = { LOG = "info", MODE = "prod" } }), helpers.ctx({ observed = observed }))
      local s = out.objects[1]
      assert.equal("Secret", s.kind)
      assert.matches("^app%-web%-env%-%x+$", s.metadata.name)
      assert.same({ LOG = "from-secret", MODE = "prod", TOKEN = "t0k3n" }, require("kip.policy.secrets").decode(s))
      assert.equal(s.metadata.name, container(out).envFrom[1].secretRef.name)
      assert.equal(tls.base64_encode("prod"), s.data.MODE)
      -- same content, same name; a changed secret value, a new name and a new pod template
      local again = policy.reconcile(app({ env = { MODE = "prod", LOG = "info" } }), helpers.ctx({ observed = observed }))
      assert.equal(s.metadata.name, again.objects[1].metadata.name)
      local changed = policy.reconcile(app({ env = { LOG = "info", MODE = "prod" } }),
        helpers.ctx({ observed = { user_secret({ TOKEN = "new", LOG = "from-secret" }) } }))
      assert.are_not.equal(s.metadata.name, changed.objects[1].metadata.name)
      assert.are_not.same(find(out.objects, "Deployment").spec.template, find(changed.objects, "Deployment").spec.template)
      assert.are_not.equal(find(out.objects, "Deployment").metadata.annotations["kipper.run/template-hash"],
        find(changed.objects, "Deployment").metadata.annotations["kipper.run/template-hash"])
    end)

    it("takes only the listed keys, and says which are missing", function()
      local observed = { user_secret({ TOKEN = "t", OTHER = "o" }) }
      local out = policy.reconcile(app({ secrets = { "TOKEN" } }), helpers.ctx({ observed = observed }))
      assert.same({ TOKEN = "t" }, require("kip.policy.secrets").decode(out.objects[1]))
      out = policy.reconcile(app({ secrets = { "TOKEN", "DB_PASSWORD", "API_KEY" } }), helpers.ctx({ observed = observed }))
      assert.equal("Failed", out.status.phase)
      local ready = out.status.conditions[1]
      assert.same({ "Ready", "False", "SecretMissing" }, { ready.type, ready.status, ready.reason })
      assert.equal("Secret app-web-secrets has no keys DB_PASSWORD, API_KEY listed in spec.secrets: set them with kip app secret set web KEY, "
        .. "or remove them from spec.secrets", ready.message)
      local configured = out.status.conditions[3]
      assert.same({ "Configured", "False", "SecretMissing" }, { configured.type, configured.status, configured.reason })
      -- the objects are still there, so the App keeps running meanwhile
      assert.is_table(find(out.objects, "Deployment"))
    end)

    it("keeps env Secrets that pods still use, until those pods go", function()
      local old = { apiVersion = "v1", kind = "Secret", type = "Opaque", metadata = { name = "app-web-env-0123456789", namespace = "default" },
        data = { A = "MQ==" } }
      local pod = { apiVersion = "v1", kind = "Pod", metadata = { name = "web-1", namespace = "default",
        labels = { ["app.kubernetes.io/name"] = "web", ["app.kubernetes.io/instance"] = "web", ["app.kubernetes.io/component"] = "app" } },
        spec = { containers = { { name = "web",
          envFrom = { { secretRef = { name = "app-web-env-0123456789" } }, { secretRef = { name = "app-web-secrets" } } } } } } }
      local out = policy.reconcile(app(), helpers.ctx({ observed = { old, pod } }))
      local kept = out.objects[2]
      assert.same({ "Secret", "app-web-env-0123456789" }, { kept.kind, kept.metadata.name })
      assert.same(old.data, kept.data)
      out = policy.reconcile(app(), helpers.ctx({ observed = { old } }))
      assert.equal("Deployment", out.objects[2].kind)
    end)

    it("refuses variable names Kubernetes would not pass on", function()
      local err = spec_error(app({ env = { ["1ABC"] = "x" } }))
      assert.equal("InvalidEnv", err.reason)
      assert.matches('"1ABC"', err.message)
      assert.equal("InvalidEnv", spec_error(app({ env = { ["A B"] = "x" } })).reason)
    end)
  end)

  describe("service bindings", function()
    local function var(c, name)
      for _, e in ipairs(c.env or {}) do
        if e.name == name then return e end
      end
    end

    it("give HOST, PORT, USER, PASSWORD and URL from the credentials Secret", function()
      local out = policy.reconcile(app({ serviceBindings = { { service = "db" }, { service = "jobs", envPrefix = "QUEUE" } } }),
        helpers.ctx({ observed = { bound_service("db", "postgres"), bound_service("jobs", "rabbitmq") } }))
      local c = container(out)
      assert.same({ "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_URL",
        "QUEUE_HOST", "QUEUE_PORT", "QUEUE_USER", "QUEUE_PASSWORD", "QUEUE_URL" }, env_names(c))
      assert.same({ secretKeyRef = { name = "db-credentials", key = "password" } }, var(c, "POSTGRES_PASSWORD").valueFrom)
      assert.same({ secretKeyRef = { name = "jobs-credentials", key = "url" } }, var(c, "QUEUE_URL").valueFrom)
      assert.same({ secretKeyRef = { name = "jobs-credentials", key = "username" } }, var(c, "QUEUE_USER").valueFrom)
      assert.same({ "Configured", "True", "AsSpecified" },
        { out.status.conditions[3].type, out.status.conditions[3].status, out.status.conditions[3].reason })
    end)

    it("wait for a bound Service that is not there, naming it", function()
      local out = policy.reconcile(app({ serviceBindings = { { service = "db" }, { service = "cache", envPrefix = "CACHE_" } } }), helpers.ctx())
      assert.same({ "CACHE_HOST", "CACHE_PORT", "CACHE_USER", "CACHE_PASSWORD", "CACHE_URL" }, env_names(container(out)))
      assert.equal("Pending", out.status.phase)
      local ready = out.status.conditions[1]
      assert.same({ "False", "ServiceNotFound" }, { ready.status, ready.reason })
      assert.matches("bound Service db does not exist in namespace default", ready.message)
      assert.matches("bound Service cache does not exist", out.status.conditions[3].message)
    end)

    it("refuse two bindings giving the same variables", function()
      local err = spec_error(app({ serviceBindings = { { service = "a" }, { service = "b" } } }),
        helpers.ctx({ observed = { bound_service("a", "redis"), bound_service("b", "redis") } }))
      assert.equal("BindingConflict", err.reason)
      assert.equal("serviceBindings a and b both set REDIS_HOST: give one of them an envPrefix", err.message)
    end)
  end)

  describe("routing", function()
    it("serves the generated host, with the namespace outside default", function()
      local function hosts(a, cluster)
        local ing = find(policy.reconcile(a, helpers.ctx({ cluster = cluster })).objects, "Ingress")
        if not ing then return nil end
        local out = {}
        for _, r in ipairs(ing.spec.rules) do out[#out + 1] = r.host end
        return out
      end
      assert.same({ "web-203-0-113-10.kipper.run" }, hosts(app()))
      assert.same({ "web-shop-203-0-113-10.kipper.run" }, hosts(app({}, { namespace = "shop" })))
      assert.same({ "web-203-0-113-10.example.net", "web.example.com" },
        hosts(app({ route = { host = "web.example.com" } }), { clusterId = "203-0-113-10", zone = "example.net", issuer = "" }))
      assert.same({ "web.example.com" }, hosts(app({ route = { host = "web.example.com" } }), { clusterId = "" }))
      assert.is_nil(hosts(app(), { clusterId = "" }))
    end)

    it("asks cert-manager for a certificate per host when the cluster has an issuer", function()
      local out = policy.reconcile(app({ route = { host = "web.example.com", path = "/" } }), helpers.ctx())
      local ing = find(out.objects, "Ingress")
      assert.same({ ["cert-manager.io/cluster-issuer"] = "letsencrypt" }, ing.metadata.annotations)
      assert.same({ { hosts = { "web-203-0-113-10.kipper.run" }, secretName = "web-tls" }, { hosts = { "web.example.com" }, secretName = "web-custom-tls" } },
        ing.spec.tls)
      assert.equal("https://web.example.com", out.status.url)
      local plain = policy.reconcile(app(), helpers.ctx({ cluster = { clusterId = "203-0-113-10", zone = "kipper.run", issuer = "" } }))
      assert.is_nil(find(plain.objects, "Ingress").metadata.annotations)
      assert.is_nil(find(plain.objects, "Ingress").spec.tls)
      assert.equal("http://web-203-0-113-10.kipper.run", plain.status.url)
    end)

    it("says when the generated host would be too long, and still serves the custom one", function()
      local name = string.rep("a", 30)
      local out = policy.reconcile(app({ route = { host = "x.example.com" } }, { name = name, namespace = string.rep("n", 30) }), helpers.ctx())
      local ing = find(out.objects, "Ingress")
      assert.equal(1, #ing.spec.rules)
      assert.equal("x.example.com", ing.spec.rules[1].host)
      assert.equal("HostTooLong", out.status.conditions[3].reason)
      assert.matches("longer than DNS allows", out.status.conditions[3].message)
      assert.equal("Creating", out.status.conditions[1].reason) -- not blocking
    end)
  end)

  describe("revisions", function()
    local function revision(n, data)
      return { apiVersion = "apps/v1", kind = "ControllerRevision", revision = n, data = data,
        metadata = { name = "web-" .. n, namespace = "default", labels = { ["kipper.run/revision-of"] = "web" } } }
    end
    local DATA = { image = "ghcr.io/acme/web:1.0", env = {}, port = 8080, replicas = 1 }

    it("start at 1 and record image, env, port and replicas", function()
      local out = policy.reconcile(app({ env = { A = "1" } }), helpers.ctx())
      local r = find(out.objects, "ControllerRevision")
      assert.same({ "web-1", 1 }, { r.metadata.name, r.revision })
      assert.same({ image = "ghcr.io/acme/web:1.0", env = { A = "1" }, port = 8080, replicas = 1 }, r.data)
      assert.equal("web", r.metadata.labels["kipper.run/revision-of"])
      assert.equal("1", find(out.objects, "Deployment").metadata.annotations["kipper.run/revision"])
    end)

    it("stay when nothing they record changed, and go up by one when it did", function()
      local out = policy.reconcile(app(), helpers.ctx({ observed = { revision(1, DATA) } }))
      assert.is_nil(find(out.objects, "ControllerRevision"))
      assert.equal("1", find(out.objects, "Deployment").metadata.annotations["kipper.run/revision"])
      out = policy.reconcile(app({ replicas = 2 }), helpers.ctx({ observed = { revision(1, DATA), revision(3, DATA), revision(2, DATA) } }))
      -- the newest (3) holds replicas 1; now 2: revision 4
      local r = find(out.objects, "ControllerRevision")
      assert.same({ "web-4", 4, 2 }, { r.metadata.name, r.revision, r.data.replicas })
      assert.same({}, out.delete)
      -- a revision of another App is not counted
      local other = revision(7, DATA)
      other.metadata.labels["kipper.run/revision-of"] = "api"
      other.metadata.name = "api-7"
      assert.equal(1, find(policy.reconcile(app({ image = "x:2" }), helpers.ctx({ observed = { other } })).objects, "ControllerRevision").revision)
    end)

    it("keep the newest ten", function()
      local observed = {}
      for i = 3, 14 do observed[#observed + 1] = revision(i, { image = "x:" .. i, env = {}, port = 8080, replicas = 1 }) end
      local out = policy.reconcile(app(), helpers.ctx({ observed = observed }))
      assert.equal(15, find(out.objects, "ControllerRevision").revision)
      local gone = {}
      for _, ref in ipairs(out.delete) do
        assert.same({ "apps/v1", "ControllerRevision", "default" }, { ref.apiVersion, ref.kind, ref.namespace })
        gone[#gone + 1] = ref.name
      end
      assert.same({ "web-5", "web-4", "web-3" }, gone)
    end)
  end)

  describe("status", function()
    local function observe(a, d_status, extra)
      local first = policy.reconcile(a, helpers.ctx())
      local d = owned(tables.copy(find(first.objects, "Deployment")), a)
      d.metadata.generation = 3
      d.spec.replicas = d.spec.replicas or 2
      d.status = d_status
      local observed = { d }
      for _, o in ipairs(extra or {}) do observed[#observed + 1] = o end
      return policy.reconcile(a, helpers.ctx({ observed = observed }))
    end
    local function pod(name, cs, conditions)
      return { apiVersion = "v1", kind = "Pod", metadata = { name = name, namespace = "default",
        labels = { ["app.kubernetes.io/name"] = "web", ["app.kubernetes.io/instance"] = "web", ["app.kubernetes.io/component"] = "app" } },
        spec = { containers = { { name = "web" } } }, status = { containerStatuses = cs, conditions = conditions } }
    end
    local function cond(out, i) local c = out.status.conditions[i] return { c.type, c.status, c.reason } end

    it("is Ready when the Deployment has rolled out", function()
      local a = app({ replicas = 2 })
      a.status = { image = "old:1" }
      local out = observe(a, { observedGeneration = 3, replicas = 2, updatedReplicas = 2, readyReplicas = 2, availableReplicas = 2 })
      assert.same({ "Ready", 2, 2, "ghcr.io/acme/web:1.0" }, { out.status.phase, out.status.replicas, out.status.readyReplicas, out.status.image })
      assert.same({ "Ready", "True", "Available" }, cond(out, 1))
      assert.equal("2 instances ready", out.status.conditions[1].message)
      assert.same({ "Progressing", "False", "Complete" }, cond(out, 2))
    end)

    it("is Progressing while pods roll out, keeping the image that runs", function()
      local a = app({ replicas = 3 })
      a.status = { image = "ghcr.io/acme/web:0.9" }
      local out = observe(a, { observedGeneration = 3, replicas = 4, updatedReplicas = 1, readyReplicas = 3, availableReplicas = 3 })
      assert.equal("Progressing", out.status.phase)
      assert.equal("ghcr.io/acme/web:0.9", out.status.image)
      assert.same({ "Ready", "False", "Starting" }, cond(out, 1))
      assert.equal("rolling out: 1 of 3 instances updated, 3 ready", out.status.conditions[1].message)
      assert.same({ "Progressing", "True", "RollingOut" }, cond(out, 2))
      -- the controller has not seen the new generation yet
      out = observe(app({ replicas = 2 }), { observedGeneration = 2, replicas = 2, updatedReplicas = 2, readyReplicas = 2, availableReplicas = 2 })
      assert.same({ "Progressing", "True", "Updating" }, { out.status.phase, out.status.conditions[2].status, out.status.conditions[2].reason })
    end)

    it("is Progressing when the observed Deployment does not have the change yet", function()
      local a = app({ replicas = 1 })
      local first = policy.reconcile(a, helpers.ctx())
      local d = owned(tables.copy(find(first.objects, "Deployment")), a)
      d.status = { replicas = 1, updatedReplicas = 1, readyReplicas = 1, availableReplicas = 1 }
      local changed = app({ replicas = 1, image = "ghcr.io/acme/web:2.0" })
      local out = policy.reconcile(changed, helpers.ctx({ observed = { d } }))
      assert.same({ "Progressing", "Updating" }, { out.status.phase, out.status.conditions[1].reason })
      assert.equal("Deployment web is taking the latest change", out.status.conditions[1].message)
    end)

    it("is Pending before the Deployment exists", function()
      local out = policy.reconcile(app(), helpers.ctx())
      assert.same({ "Pending", 0, 0 }, { out.status.phase, out.status.replicas, out.status.readyReplicas })
      assert.same({ "Ready", "False", "Creating" }, cond(out, 1))
      assert.is_nil(out.status.image)
    end)

    it("is Failed with the reason when pods keep crashing", function()
      local crash = pod("web-abc", { { name = "web", ready = false, restartCount = 5,
        state = { waiting = { reason = "CrashLoopBackOff", message = "back-off 2m40s restarting failed container=web" } },
        lastState = { terminated = { exitCode = 1, reason = "Error" } } } })
      local out = observe(app({ replicas = 2 }), { observedGeneration = 3, replicas = 2, updatedReplicas = 2, readyReplicas = 1, availableReplicas = 1 },
        { crash, pod("web-ok", { { name = "web", ready = true, restartCount = 0, state = { running = {} } } }) })
      assert.equal("Failed", out.status.phase)
      assert.same({ "Ready", "False", "CrashLoopBackOff" }, cond(out, 1))
      assert.equal("pod web-abc, container web is CrashLoopBackOff: back-off 2m40s restarting failed container=web (last exit code 1, Error, "
        .. "restarted 5 times); it keeps crashing: see its logs (kip app logs web)", out.status.conditions[1].message)
    end)

    it("is Failed when the image cannot be pulled, or runs as root", function()
      local pull = pod("web-x", { { name = "web", ready = false, restartCount = 0,
        state = { waiting = { reason = "ImagePullBackOff", message = 'Back-off pulling image "ghcr.io/acme/web:nope"' } } } })
      local out = observe(app({ replicas = 1 }),
        { observedGeneration = 3, replicas = 2, updatedReplicas = 1, readyReplicas = 1, availableReplicas = 1 }, { pull })
      assert.same({ "Failed", "ImagePullBackOff" }, { out.status.phase, out.status.conditions[1].reason })
      assert.matches("check its name and tag", out.status.conditions[1].message)
      local root = pod("web-y", { { name = "web", ready = false, restartCount = 0, state = { waiting = { reason = "CreateContainerConfigError",
        message = "container has runAsNonRoot and image will run as root (pod: \"web-y_default\", container: web)" } } } })
      out = observe(app({ replicas = 1 }), { observedGeneration = 3, replicas = 1, updatedReplicas = 1 }, { root })
      assert.same({ "Failed", "CreateContainerConfigError" }, { out.status.phase, out.status.conditions[1].reason })
      assert.matches('kipper.run/allow%-root: "true"', out.status.conditions[1].message)
    end)

    it("is Failed when pods are killed for memory or cannot be scheduled", function()
      local oom = pod("web-m", { { name = "web", ready = false, restartCount = 3, state = { running = {} },
        lastState = { terminated = { exitCode = 137, reason = "OOMKilled" } } } })
      local out = observe(app({ replicas = 1 }), { observedGeneration = 3, replicas = 1, updatedReplicas = 1 }, { oom })
      assert.same({ "Failed", "OOMKilled" }, { out.status.phase, out.status.conditions[1].reason })
      assert.matches("more memory than its limit %(last exit code 137, OOMKilled, restarted 3 times%)", out.status.conditions[1].message)
      local pending = pod("web-p", nil, { { type = "PodScheduled", status = "False", reason = "Unschedulable",
        message = "0/1 nodes are available: 1 Insufficient memory." } })
      out = observe(app({ replicas = 1, resources = { profile = "memory-heavy" } }), { observedGeneration = 3, replicas = 1, updatedReplicas = 1 }, { pending })
      assert.same({ "Failed", "Unschedulable" }, { out.status.phase, out.status.conditions[1].reason })
      assert.equal("pod web-p cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.", out.status.conditions[1].message)
    end)

    it("is Failed when the rollout passes its deadline", function()
      local out = observe(app({ replicas = 2 }), { observedGeneration = 3, replicas = 3, updatedReplicas = 1, readyReplicas = 2, availableReplicas = 2,
        conditions = { { type = "Available", status = "False", reason = "MinimumReplicasUnavailable",
          message = "Deployment does not have minimum availability." },
          { type = "Progressing", status = "False", reason = "ProgressDeadlineExceeded", message = 'ReplicaSet "web-5d9" has timed out progressing.' } } })
      assert.equal("Failed", out.status.phase)
      assert.same({ "Ready", "False", "ProgressDeadlineExceeded" }, cond(out, 1))
      assert.same({ "Progressing", "False", "ProgressDeadlineExceeded" }, cond(out, 2))
      assert.equal('Deployment web did not finish rolling out in time (ReplicaSet "web-5d9" has timed out progressing.)', out.status.conditions[1].message)
    end)

    it("is Failed at once when the API refuses its pods (a quota), long before the deadline", function()
      local quota = 'pods "web-5d9-x" is forbidden: exceeded quota: kipper-quota, requested: pods=1, used: pods=10, limited: pods=10'
      local out = observe(app({ replicas = 2 }), { observedGeneration = 3, replicas = 1, updatedReplicas = 1, readyReplicas = 1,
        availableReplicas = 1, conditions = { { type = "Progressing", status = "True", reason = "ReplicaSetUpdated" },
          { type = "ReplicaFailure", status = "True", reason = "FailedCreate", message = quota } } })
      assert.equal("Failed", out.status.phase)
      assert.same({ "Ready", "False", "QuotaExceeded" }, cond(out, 1))
      assert.equal("Deployment web cannot create pods: " .. quota ..
        " (raise the project's quota, or lower the app's resources or replicas)", out.status.conditions[1].message)
      -- another refusal keeps the API's reason
      out = observe(app(), { observedGeneration = 3, replicas = 0, conditions = {
        { type = "ReplicaFailure", status = "True", reason = "FailedCreate", message = "pods is forbidden: violates PodSecurity" } } })
      assert.same({ "Ready", "False", "FailedCreate" }, cond(out, 1))
    end)

    it("is Ready at zero replicas", function()
      local out = observe(app({ replicas = 0 }), { observedGeneration = 3, replicas = 0 })
      assert.same({ "Ready", "True", "ScaledToZero" }, { out.status.phase, out.status.conditions[1].status, out.status.conditions[1].reason })
    end)

    it("waits for the autoscaler's replica count", function()
      local out = observe(app({ autoscale = { enabled = true, min = 2 } }), { observedGeneration = 3, replicas = 2, updatedReplicas = 2,
        readyReplicas = 2, availableReplicas = 2 })
      assert.equal("Ready", out.status.phase)
    end)
  end)

  describe("refuses", function()
    it("an autoscaler whose max is below its min", function()
      local err = spec_error(app({ autoscale = { enabled = true, min = 4, max = 2 } }))
      assert.same({ "InvalidAutoscale", "autoscale.max (2) is below autoscale.min (4): raise max or lower min" }, { err.reason, err.message })
    end)

    it("a limit below its request, and an unknown profile", function()
      local err = spec_error(app({ resources = { memory = "1Gi", memoryLimit = "512Mi" } }))
      assert.same({ "InvalidResources", "resources.memoryLimit (512Mi) is below resources.memory (1Gi): raise the limit or lower the request" },
        { err.reason, err.message })
      assert.equal("InvalidResources", spec_error(app({ resources = { profile = "huge" } })).reason)
      assert.equal("InvalidResources", spec_error(app({ resources = { cpu = "lots" } })).reason)
    end)

    it("a name another owner's Deployment or Service has", function()
      local foreign = { apiVersion = "v1", kind = "Service", metadata = { name = "web", namespace = "default",
        ownerReferences = { { apiVersion = "kipper.run/v1alpha1", kind = "Service", name = "web", uid = "x", controller = true } } } }
      local err = spec_error(app(), helpers.ctx({ observed = { foreign } }))
      assert.equal("NameTaken", err.reason)
      assert.equal("Service web already exists in namespace default and is not this App's: rename the App, or delete the Service", err.message)
      local mine = owned({ apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "web", namespace = "default" } }, app())
      assert.is_table(policy.reconcile(app(), helpers.ctx({ observed = { mine } })))
      local orphan = { apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "web", namespace = "default" } }
      assert.equal("NameTaken", spec_error(app(), helpers.ctx({ observed = { orphan } })).reason)
    end)

    it("with an error the engine can print", function()
      local ok, err = pcall(policy.reconcile, app({ autoscale = { enabled = true, min = 4, max = 2 } }), helpers.ctx())
      assert.is_false(ok)
      assert.equal("autoscale.max (2) is below autoscale.min (4): raise max or lower min", tostring(err))
    end)
  end)

  it("rolls the pods when kip app restart stamps the App", function()
    local before = find(policy.reconcile(app(), helpers.ctx()).objects, "Deployment", "web")
    assert.is_nil(before.spec.template.metadata.annotations)
    local stamped = app(nil, { annotations = { ["kipper.run/restarted-at"] = "2026-11-24T01:00:00Z" } })
    local after = find(policy.reconcile(stamped, helpers.ctx()).objects, "Deployment", "web")
    assert.equals("2026-11-24T01:00:00Z", after.spec.template.metadata.annotations["kipper.run/restarted-at"])
    assert.are_not.equal(before.metadata.annotations["kipper.run/template-hash"], after.metadata.annotations["kipper.run/template-hash"])
  end)

  it("is pure: the same input gives the same output, and the input is not changed", function()
    local a = app({ replicas = 3, env = { A = "1" }, route = { host = "x.example.com" }, autoscale = { enabled = true, min = 2 } })
    local before = tables.copy(a)
    local one = helpers.plain(policy.reconcile(a, helpers.ctx()))
    local two = helpers.plain(policy.reconcile(a, helpers.ctx()))
    assert.same(one, two)
    assert.same(before, a)
  end)
end)
