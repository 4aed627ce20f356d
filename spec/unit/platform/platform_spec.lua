-- SPDX-License-Identifier: Apache-2.0
-- kip.platform: the CRDs and the objects `kip install` applies, for several sets of install
-- variables. Every object goes through the sandbox API's write path in this process (defaults and
-- the Kubernetes v1.34 schemas, fieldValidation=Strict as kubectl asks); HelmCharts are checked
-- against k3s's HelmChart CRD schema with unknown spec fields refused, the ClusterIssuer against
-- cert-manager's schema (spec/fixtures/k8s-schemas); the CRDs' own schemas are checked for
-- structure here, since the sandbox has no schema for CustomResourceDefinition itself.
local components = require "kip.platform.components"
local crds = require "kip.platform.crds"
local fs = require "kip.fs"
local json = require "kip.json"
local tables = require "kip.util.tables"
local validate = require "kip.sandbox.validate"
local policy_helpers = require "helpers.policy"
local yaml = require "kip.yaml"

-- What the k3s recipe sets, with the values a site would change.
local BASE = {
  ["cert_manager.repo"] = "https://charts.jetstack.io", ["cert_manager.version"] = "v1.19.1",
  ["images.registry"] = "",
  ["acme.server"] = "https://acme-staging-v02.api.letsencrypt.org/directory", ["acme.email"] = "",
  storage = "local-path", ["longhorn.repo"] = "https://charts.longhorn.io", ["longhorn.version"] = "1.10.1",
  ["longhorn.replicas"] = 3,
  ["traefik.redirect_https"] = false, ["traefik.trusted_ips"] = "",
  ["kipperd.image"] = "ghcr.io/kipper-run/kipperd:0.3.0", ["kipper.version"] = "0.3.0",
  ["console.host"] = "console.203-0-113-7.kipper.run",
}

local function vars(over)
  local v = tables.copy(BASE)
  for k, x in pairs(over or {}) do v[k] = x end
  return v
end

local COMBOS = {
  { name = "local-path, plain HTTP, no mirror", vars = vars() },
  { name = "local-path, HTTPS with redirect, trusted proxies",
    vars = vars({ ["acme.email"] = "ops@example.com", ["traefik.redirect_https"] = true,
      ["traefik.trusted_ips"] = "10.0.0.0/8, 192.168.1.0/24" }) },
  { name = "longhorn with one replica, air-gapped mirror, HTTPS without redirect",
    vars = vars({ storage = "longhorn", ["longhorn.replicas"] = 1, ["images.registry"] = "registry.internal:5000",
      ["acme.email"] = "ops@example.com" }) },
  { name = "longhorn with three replicas, mirror, redirect, no e-mail",
    vars = vars({ storage = "longhorn", ["images.registry"] = "registry.internal:5000/", ["traefik.redirect_https"] = true,
      ["kipper.version"] = "0.3.0+git.5.abc" }) },
}

local SCHEMAS = os.getenv("KIP_K8S_SCHEMAS") or "spec/fixtures/k8s-schemas"

-- A strict sandbox API in this process with Kipper's CRDs, and the Status message of a refusal
local new_api, refusal = policy_helpers.new_api, policy_helpers.refusal

-- A resource definition checking against a copy of def's schema in which spec keeps no unknown
-- fields (k3s's HelmChart CRDs preserve them, which would let a misspelt field through).
local function closed_spec(def)
  local openapi = tables.copy(def.openapi)
  openapi.properties.spec["x-kubernetes-preserve-unknown-fields"] = nil
  return { kind = def.kind, group = def.group, resource = def.resource, openapi = openapi }
end

local cluster_issuer_def
local function issuer_def()
  if cluster_issuer_def == nil then
    local text = fs.read(SCHEMAS .. "/clusterissuer-cert-manager-v1.json")
    cluster_issuer_def = text and { kind = "ClusterIssuer", group = "cert-manager.io", resource = "clusterissuers",
      openapi = assert(json.decode(text)) } or false
  end
  return cluster_issuer_def or nil
end

-- Creates every object through the API (in order, so the namespace exists first); HelmCharts are
-- also checked against their CRD's spec fields with unknown ones refused. Returns the refusals.
local function apply_all(api, objects)
  local refused = {}
  for _, obj in ipairs(objects) do
    local def = api.registry:by_kind(obj.apiVersion, obj.kind)
    local where = obj.kind .. " " .. obj.metadata.name
    if not def then
      refused[#refused + 1] = where .. ": the sandbox does not serve " .. obj.apiVersion
    else
      local msg = refusal(api.create, api, def, obj.metadata.namespace, obj, { manager = "kip" })
      if not msg and def.group == "helm.cattle.io" then
        msg = refusal(validate.check, api, closed_spec(def), tables.copy(obj), "Strict")
      end
      if msg then refused[#refused + 1] = where .. ": " .. msg end
    end
  end
  return refused
end

local function find(objects, kind, name)
  for _, o in ipairs(objects) do
    if o.kind == kind and o.metadata.name == name then return o end
  end
end

local function values_of(obj)
  return assert(yaml.decode(obj.spec.valuesContent))
end

-- Whether the rules let verb be done on group/resource.
-- As RBAC decides: a rule matches the group, resource and verb, and the name when it lists names.
local function allows(rules, group, resource, verb, name)
  for _, r in ipairs(rules) do
    local g, res, v = false, false, false
    for _, x in ipairs(r.apiGroups) do g = g or x == group or x == "*" end
    for _, x in ipairs(r.resources) do res = res or x == resource or x == "*" end
    for _, x in ipairs(r.verbs) do v = v or x == verb or x == "*" end
    local named = r.resourceNames == nil or #r.resourceNames == 0
    for _, x in ipairs(r.resourceNames or {}) do named = named or x == name end
    if g and res and v and named then return true end
  end
  return false
end

describe("kip.platform.components", function()
  for _, combo in ipairs(COMBOS) do
    describe(combo.name, function()
      local v = combo.vars
      local objects = components.all(v)

      it("builds objects the sandbox API accepts with strict field validation", function()
        assert.same({}, apply_all(new_api(), objects))
      end)

      it("builds a ClusterIssuer that fits cert-manager's schema", function()
        local def = issuer_def()
        assert(def, "no cert-manager schema at " .. SCHEMAS)
        assert.is_nil(refusal(validate.check, new_api(), def, components.cluster_issuer(v), "Strict"))
      end)

      it("labels every object as kip's and Kipper's", function()
        local all = tables.copy(objects)
        all[#all + 1] = components.cluster_issuer(v)
        for _, o in ipairs(all) do
          assert.equal("kip", o.metadata.labels["app.kubernetes.io/managed-by"], o.kind .. " " .. o.metadata.name)
          assert.equal("kipper", o.metadata.labels["app.kubernetes.io/part-of"], o.kind .. " " .. o.metadata.name)
        end
      end)

      it("orders namespace, settings, cert-manager, storage, Traefik, kipperd; no ClusterIssuer or CRDs", function()
        local kinds = {}
        for _, o in ipairs(objects) do kinds[#kinds + 1] = o.kind .. "/" .. o.metadata.name end
        local want = { "Namespace/kipper-system", "ConfigMap/kipper-config", "HelmChart/cert-manager" }
        if v.storage == "longhorn" then want[#want + 1] = "HelmChart/longhorn" end
        for _, k in ipairs({ "HelmChartConfig/traefik", "ServiceAccount/kipperd", "ClusterRole/kipperd",
          "ClusterRole/kipper-project-reader", "ClusterRole/kipper-edit", "ClusterRole/kipper-view", "ClusterRoleBinding/kipperd",
          "Deployment/kipperd", "Service/kipperd", "Ingress/console" }) do
          want[#want + 1] = k
        end
        assert.same(want, kinds)
        assert.is_true(yaml.is_array(objects))
        local settings = objects[2].data
        assert.equals(v["acme.email"] ~= "" and "letsencrypt" or "", settings.issuer)
        assert.equals(v.storage, settings.storageClass)
        assert.equals("traefik", settings.ingressClass)
      end)

      it("pins cert-manager to the recipe's repository and version", function()
        local hc = find(objects, "HelmChart", "cert-manager")
        assert.equal("kube-system", hc.metadata.namespace)
        assert.same({ repo = v["cert_manager.repo"], chart = "cert-manager", version = "v1.19.1",
          targetNamespace = "cert-manager", createNamespace = true, valuesContent = hc.spec.valuesContent }, hc.spec)
        local values = values_of(hc)
        assert.is_true(values.crds.enabled)
        if v["images.registry"] == "" then
          assert.is_nil(values.image)
          assert.is_nil(values.webhook)
        else
          assert.equal("registry.internal:5000/jetstack/cert-manager-controller", values.image.repository)
          assert.equal("registry.internal:5000/jetstack/cert-manager-webhook", values.webhook.image.repository)
          assert.equal("registry.internal:5000/jetstack/cert-manager-cainjector", values.cainjector.image.repository)
          assert.equal("registry.internal:5000/jetstack/cert-manager-acmesolver", values.acmesolver.image.repository)
          assert.equal("registry.internal:5000/jetstack/cert-manager-startupapicheck", values.startupapicheck.image.repository)
        end
      end)

      it("installs the storage the recipe chose", function()
        local hc = find(objects, "HelmChart", "longhorn")
        assert.equal(v.storage, components.storage_class(v))
        if v.storage == "local-path" then
          assert.is_nil(hc)
          assert.equal("[]", json.encode(components.storage(v)))
          return
        end
        assert.same({ repo = "https://charts.longhorn.io", chart = "longhorn", version = "1.10.1",
          targetNamespace = "longhorn-system", createNamespace = true, valuesContent = hc.spec.valuesContent }, hc.spec)
        local values = values_of(hc)
        assert.is_true(values.persistence.defaultClass)
        assert.equal(v["longhorn.replicas"] == 1 and 1 or nil, values.persistence.defaultClassReplicaCount)
        assert.equal("registry.internal:5000", values.privateRegistry.registryUrl)
      end)

      it("configures k3s's Traefik", function()
        local hcc = find(objects, "HelmChartConfig", "traefik")
        assert.equal("kube-system", hcc.metadata.namespace)
        local values = values_of(hcc)
        assert.same({ enabled = true, format = "json" }, values.logs.access)
        assert.is_true(values.providers.kubernetesIngress.allowExternalNameServices)
        local web = (values.ports or {}).web or {}
        if v["traefik.redirect_https"] then
          assert.same({ to = "websecure", scheme = "https", permanent = true }, web.redirections.entryPoint)
        else
          assert.is_nil(web.redirections)
        end
        if v["traefik.trusted_ips"] == "" then
          assert.is_nil(web.forwardedHeaders)
        else
          assert.same({ "10.0.0.0/8", "192.168.1.0/24" }, web.forwardedHeaders.trustedIPs)
          assert.same({ "10.0.0.0/8", "192.168.1.0/24" }, values.ports.websecure.forwardedHeaders.trustedIPs)
        end
      end)

      it("runs kipperd restricted, probed and sized", function()
        local d = find(objects, "Deployment", "kipperd")
        assert.equal("kipper-system", d.metadata.namespace)
        local pod = d.spec.template.spec
        local c = pod.containers[1]
        assert.equal(v["kipperd.image"], c.image)
        assert.same({ "--in-cluster", "--listen", "0.0.0.0:8080" }, c.args)
        assert.same({ { name = "http", containerPort = 8080, protocol = "TCP" } }, c.ports)
        assert.same({ path = "/readyz", port = "http" }, c.readinessProbe.httpGet)
        assert.same({ path = "/healthz", port = "http" }, c.livenessProbe.httpGet)
        assert.same({ requests = { cpu = "50m", memory = "64Mi" }, limits = { cpu = "500m", memory = "256Mi" } }, c.resources)
        assert.same({ runAsNonRoot = true, runAsUser = 65532, allowPrivilegeEscalation = false, readOnlyRootFilesystem = true,
          capabilities = { drop = { "ALL" } }, seccompProfile = { type = "RuntimeDefault" } }, c.securityContext)
        assert.equal("kipperd", pod.serviceAccountName)
        local labels = d.spec.template.metadata.labels
        assert.equal("kipperd", labels["app.kubernetes.io/name"])
        assert.equal("kipper", labels["app.kubernetes.io/part-of"])
        assert.equal(v["kipper.version"]:gsub("+", "-"), labels["app.kubernetes.io/version"])
        assert.same({ ["app.kubernetes.io/name"] = "kipperd" }, d.spec.selector.matchLabels)
        local svc = find(objects, "Service", "kipperd")
        assert.same({ { name = "http", port = 80, targetPort = "http", protocol = "TCP" } }, svc.spec.ports)
        assert.equal("ClusterIP", svc.spec.type)
      end)

      it("serves the console over HTTPS only when there is an ACME e-mail", function()
        local ing = find(objects, "Ingress", "console")
        assert.equal("traefik", ing.spec.ingressClassName)
        assert.equal(v["console.host"], ing.spec.rules[1].host)
        assert.equal("kipperd", ing.spec.rules[1].http.paths[1].backend.service.name)
        if v["acme.email"] ~= "" then
          assert.equal("letsencrypt", ing.metadata.annotations["cert-manager.io/cluster-issuer"])
          assert.same({ { hosts = { v["console.host"] }, secretName = "console-tls" } }, ing.spec.tls)
        else
          assert.is_nil(ing.metadata.annotations)
          assert.is_nil(ing.spec.tls)
        end
      end)
    end)
  end

  it("gives kipperd the permissions its reconcilers need, and no more than it should", function()
    local role = find(components.kipperd(BASE), "ClusterRole", "kipperd")
    local rules = role.rules
    for _, need in ipairs({
      { "kipper.run", "apps", "update" }, { "kipper.run", "apps/status", "patch" }, { "kipper.run", "apps/finalizers", "update" },
      { "kipper.run", "services/status", "update" }, { "kipper.run", "projects", "watch" }, { "kipper.run", "apps/scale", "get" },
      { "", "namespaces", "create" }, { "", "secrets", "patch" }, { "", "configmaps", "create" }, { "", "services", "delete" },
      { "", "persistentvolumeclaims", "create" }, { "", "pods", "list" }, { "", "pods/log", "get" }, { "", "events", "create" },
      { "", "resourcequotas", "update" }, { "", "limitranges", "create" }, { "", "nodes", "list" },
      { "apps", "deployments", "patch" }, { "apps", "statefulsets", "create" }, { "apps", "replicasets", "list" },
      { "apps", "daemonsets", "list" },
      { "networking.k8s.io", "ingresses", "create" }, { "autoscaling", "horizontalpodautoscalers", "update" },
      { "policy", "poddisruptionbudgets", "create" }, { "rbac.authorization.k8s.io", "rolebindings", "create" },
      { "rbac.authorization.k8s.io", "roles", "create" }, { "rbac.authorization.k8s.io", "clusterroles", "bind", "admin" },
      { "rbac.authorization.k8s.io", "clusterroles", "bind", "edit" }, { "rbac.authorization.k8s.io", "clusterroles", "bind", "view" },
      { "rbac.authorization.k8s.io", "clusterroles", "bind", "kipper-project-reader" },
      { "rbac.authorization.k8s.io", "clusterrolebindings", "create" },
      { "cert-manager.io", "certificates", "watch" }, { "coordination.k8s.io", "leases", "update" },
    }) do
      assert.is_true(allows(rules, need[1], need[2], need[3], need[4]), table.concat(need, " "))
    end
    for _, deny in ipairs({
      { "", "nodes", "update" }, { "", "nodes", "delete" }, { "cert-manager.io", "certificates", "create" },
      -- it binds only the roles it hands out: never cluster-admin
      { "rbac.authorization.k8s.io", "clusterroles", "create" }, { "rbac.authorization.k8s.io", "clusterroles", "bind", "cluster-admin" },
      { "rbac.authorization.k8s.io", "clusterroles", "escalate" }, { "apiextensions.k8s.io", "customresourcedefinitions", "create" },
    }) do
      assert.is_false(allows(rules, deny[1], deny[2], deny[3], deny[4]), table.concat(deny, " "))
    end
    local binding = find(components.kipperd(BASE), "ClusterRoleBinding", "kipperd")
    assert.same({ apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = "kipperd" }, binding.roleRef)
    assert.same({ { kind = "ServiceAccount", name = "kipperd", namespace = "kipper-system" } }, binding.subjects)
  end)

  it("labels kipper-system for Pod Security", function()
    local ns = components.namespace()[1]
    assert.equal("baseline", ns.metadata.labels["pod-security.kubernetes.io/enforce"])
    assert.equal("kipper", ns.metadata.labels["app.kubernetes.io/part-of"])
  end)

  it("serves the console on any host, over HTTP, without console.host", function()
    local ing = find(components.kipperd(vars({ ["console.host"] = "", ["acme.email"] = "ops@example.com" })), "Ingress", "console")
    assert.is_nil(ing.spec.rules[1].host)
    assert.is_nil(ing.spec.tls)
    assert.is_nil(ing.metadata.annotations)
  end)

  it("builds the ClusterIssuer and its auto-deploy file", function()
    local v = vars({ ["acme.email"] = "ops@example.com" })
    local ci = components.cluster_issuer(v)
    assert.same({ server = v["acme.server"], email = "ops@example.com", privateKeySecretRef = { name = "letsencrypt-account-key" },
      solvers = { { http01 = { ingress = { ingressClassName = "traefik" } } } } }, ci.spec.acme)
    assert.is_nil(components.cluster_issuer(BASE).spec.acme.email)
    local text = components.cluster_issuer_yaml(v)
    assert.matches("^# Written by kip", text)
    assert.same(ci, (yaml.decode(text)))
  end)

  it("refuses storage other than local-path or longhorn, and missing variables", function()
    local bad = vars({ storage = "ceph" })
    assert.has_error(function() components.storage(bad) end, "storage must be local-path or longhorn")
    assert.has_error(function() components.storage_class(bad) end, "storage must be local-path or longhorn")
    assert.has_error(function() components.all(bad) end, "storage must be local-path or longhorn")
    local ok, err = pcall(components.cert_manager, vars({ ["cert_manager.version"] = "" }))
    assert.is_false(ok)
    assert.matches('"cert_manager.version" must be set', err)
  end)

  it("catches a broken object (the validator is really checking)", function()
    local objects = components.all(BASE)
    local d = find(objects, "Deployment", "kipperd")
    d.spec.template.spec.containers[1].securityContext.runAsUser = "nobody"
    d.spec.template.spec.containers[1].readinessProbe.httpGets = d.spec.template.spec.containers[1].readinessProbe.httpGet
    find(objects, "HelmChart", "cert-manager").spec.targetNamepsace = "oops"
    local refused = apply_all(new_api(), objects)
    assert.equal(2, #refused)
    assert.matches("HelmChart cert%-manager: .*targetNamepsace", refused[1])
    assert.matches("Deployment kipperd: .*runAsUser", refused[2])
    local def = issuer_def()
    if def then
      local ci = components.cluster_issuer(BASE)
      ci.spec.acme.solvers[1].http01.ingress.ingressClass = "traefik"
      assert.matches("ingressClass", refusal(validate.check, new_api(), def, ci, "Strict"))
    end
  end)
end)

-- Walks a CRD schema, calling fn(node, path) on every node.
local function each_node(node, path, fn)
  fn(node, path)
  for k, sub in pairs(node.properties or {}) do each_node(sub, path .. "." .. k, fn) end
  if node.items then each_node(node.items, path .. "[*]", fn) end
  if type(node.additionalProperties) == "table" then each_node(node.additionalProperties, path .. ".*", fn) end
end

-- The schema node a printer column's or scale subresource's JSONPath names (".spec.a[*].b").
local function node_at(root, json_path)
  local node = root
  for part in json_path:gmatch("[^.]+") do
    local name, star = part:match("^([^%[]+)(%[%*%])$")
    node = node and node.properties and node.properties[name or part]
    if star then node = node and node.items end
  end
  return node
end

local function version_of(crd) return crd.spec.versions[1] end
local function schema_of(crd) return version_of(crd).schema.openAPIV3Schema end
local function by_kind(kind)
  for _, c in ipairs(crds.all()) do
    if c.spec.names.kind == kind then return c end
  end
end

describe("kip.platform.crds", function()
  it("names Kipper's three CRDs", function()
    assert.same({ "apps.kipper.run", "services.kipper.run", "projects.kipper.run" }, crds.names())
    local names = {}
    for _, c in ipairs(crds.all()) do names[#names + 1] = c.metadata.name end
    assert.same(crds.names(), names)
  end)

  it("registers on the sandbox API, Established, served and stored as v1alpha1", function()
    local api = new_api()
    local crd_def = api.registry:get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for _, name in ipairs(crds.names()) do
      local stored = api.store:get(crd_def, nil, name)
      assert.equal("True", stored.status.conditions[2].status)
      assert.same({ "v1alpha1" }, stored.status.storedVersions)
    end
    assert.is_true(api.registry:get("kipper.run", "v1alpha1", "apps").scale)
    assert.is_false(api.registry:get("kipper.run", "v1alpha1", "projects").namespaced)
  end)

  it("has structural schemas: a type on every field, no preserved unknown fields, sound required lists", function()
    for _, c in ipairs(crds.all()) do
      local v = version_of(c)
      assert.same({ name = "v1alpha1", served = true, storage = true }, { name = v.name, served = v.served, storage = v.storage })
      each_node(schema_of(c), c.spec.names.kind, function(node, path)
        assert.is_nil(node["x-kubernetes-preserve-unknown-fields"], path)
        if node["x-kubernetes-int-or-string"] then
          assert.is_nil(node.type, path)
        else
          assert.is_string(node.type, path)
        end
        if node.type == "object" and path ~= c.spec.names.kind .. ".metadata" then
          assert.is_truthy(node.properties or node.additionalProperties, path)
        end
        for _, r in ipairs(node.required or {}) do assert.is_table(node.properties[r], path .. " requires " .. r) end
        if node["x-kubernetes-list-type"] == "map" then
          for _, key in ipairs(node["x-kubernetes-list-map-keys"]) do
            local item = node.items
            local required = false
            for _, r in ipairs(item.required or {}) do required = required or r == key end
            assert.is_true(required or item.properties[key].default ~= nil, path .. " key " .. key)
          end
        end
        for _, list in ipairs({ "required", "enum", "x-kubernetes-list-map-keys" }) do
          if node[list] then assert.is_true(yaml.is_array(node[list]), path .. " " .. list) end
        end
      end)
    end
  end)

  it("has defaults that fit their own schemas", function()
    local api = new_api()
    local seen = 0
    for _, c in ipairs(crds.all()) do
      each_node(schema_of(c), c.spec.names.kind, function(node, path)
        if node.default ~= nil then
          seen = seen + 1
          local def = { kind = "Default", group = "test", openapi = { type = "object", properties = { value = node } } }
          assert.is_nil(refusal(validate.check, api, def, { metadata = {}, value = node.default }, "Strict"), path)
        end
      end)
    end
    assert.equal(6, seen) -- port, replicas, route.path, members[*].role, autotune and autotune.mode
  end)

  it("defines App with its defaults, subresources and columns", function()
    local app = by_kind("App")
    assert.same({ kind = "App", listKind = "AppList", plural = "apps", singular = "app", shortNames = { "kapp" },
      categories = { "kipper" } }, app.spec.names)
    assert.equal("Namespaced", app.spec.scope)
    local spec = schema_of(app).properties.spec
    assert.same({ "image" }, spec.required)
    assert.same({ 8080, 1, 65535 }, { spec.properties.port.default, spec.properties.port.minimum, spec.properties.port.maximum })
    assert.same({ 1, 0 }, { spec.properties.replicas.default, spec.properties.replicas.minimum })
    assert.equal("/", spec.properties.route.properties.path.default)
    assert.same({ type = "string" }, { type = spec.properties.env.additionalProperties.type })
    assert.same({ "lightweight", "standard", "compute-heavy", "memory-heavy", "jvm" }, spec.properties.resources.properties.profile.enum)
    assert.same({ 1, 100 }, { spec.properties.autoscale.properties.cpuTarget.minimum, spec.properties.autoscale.properties.cpuTarget.maximum })
    assert.same({ "service" }, spec.properties.serviceBindings.items.required)
    local st = schema_of(app).properties.status
    assert.equal("int64", st.properties.observedGeneration.format)
    assert.same({ "type", "status", "reason", "message", "lastTransitionTime" }, st.properties.conditions.items.required)
    local v = version_of(app)
    assert.same({ status = {}, scale = { specReplicasPath = ".spec.replicas", statusReplicasPath = ".status.replicas" } }, v.subresources)
    assert.equal("{}", json.encode(v.subresources.status))
  end)

  it("defines Service and Project", function()
    local svc = by_kind("Service")
    assert.same({ "ksvc" }, svc.spec.names.shortNames)
    assert.equal("service", svc.spec.names.singular)
    local spec = schema_of(svc).properties.spec
    assert.same({ "type" }, spec.required)
    -- any DNS label: the catalog a site extends decides which types exist (kip.catalog.services)
    assert.is_nil(spec.properties.type.enum)
    assert.same({ 1, 63, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
      { spec.properties.type.minLength, spec.properties.type.maxLength, spec.properties.type.pattern })
    assert.same({ "postgres", "mysql", "redis", "mongodb", "rabbitmq", "minio" }, crds.SERVICE_TYPES)
    assert.same(schema_of(by_kind("App")).properties.spec.properties.resources, spec.properties.resources)
    assert.same({ status = {} }, version_of(svc).subresources)
    local proj = by_kind("Project")
    assert.equal("Cluster", proj.spec.scope)
    assert.same({ "kproj" }, proj.spec.names.shortNames)
    local pspec = schema_of(proj).properties.spec
    assert.same({ "name" }, pspec.properties.environments.items.required)
    assert.same({ "owner", "deployer", "viewer" }, pspec.properties.members.items.properties.role.enum)
    assert.is_table(schema_of(proj).properties.status.properties.namespaces)
  end)

  it("has printer columns that name real fields of the right type", function()
    local want = {
      App = { "Image", "Replicas", "Ready", "Phase", "URL", "Age" },
      Service = { "Type", "Version", "Phase", "Host", "Age" },
      Project = { "Display Name", "Environments", "Phase", "Age" },
    }
    for _, c in ipairs(crds.all()) do
      local names = {}
      for _, col in ipairs(version_of(c).additionalPrinterColumns) do
        names[#names + 1] = col.name
        if col.type == "date" then
          assert.equal(".metadata.creationTimestamp", col.jsonPath)
        else
          local node = node_at(schema_of(c), col.jsonPath)
          assert.is_table(node, col.jsonPath)
          assert.equal(col.type, node.type, col.jsonPath)
        end
      end
      assert.same(want[c.spec.names.kind], names)
    end
    local envs = version_of(by_kind("Project")).additionalPrinterColumns[2]
    assert.equal(".spec.environments[*].name", envs.jsonPath)
    local scale = version_of(by_kind("App")).subresources.scale
    assert.equal("integer", node_at(schema_of(by_kind("App")), scale.specReplicasPath).type)
    assert.equal("integer", node_at(schema_of(by_kind("App")), scale.statusReplicasPath).type)
  end)

  it("hashes the CRDs stably, stores the hash on each, and changes it when a CRD changes", function()
    local h = crds.hash()
    assert.matches("^%x+$", h)
    assert.equal(64, #h)
    assert.equal(h, crds.hash())
    assert.equal(h, crds.hash(crds.all()))
    for _, c in ipairs(crds.all()) do assert.equal(h, c.metadata.annotations["kipper.run/crd-hash"]) end
    local changed = crds.all()
    schema_of(changed[1]).properties.spec.properties.port.default = 3000
    assert.are_not.equal(h, crds.hash(changed))
    local fewer = crds.all()
    table.remove(fewer)
    assert.are_not.equal(h, crds.hash(fewer))
  end)

  it("lets valid custom resources through its schemas and refuses invalid ones clearly", function()
    local api = new_api()
    local function check(kind, resource, spec)
      local def = api.registry:get("kipper.run", "v1alpha1", resource)
      return refusal(validate.check, api, def, { apiVersion = "kipper.run/v1alpha1", kind = kind,
        metadata = { name = "x" }, spec = spec }, "Strict")
    end
    assert.is_nil(check("App", "apps", { image = "ghcr.io/acme/api:1", port = 3000, env = { A = "1" }, secrets = { "DB_PASSWORD" },
      resources = { profile = "jvm" }, route = { host = "api.example.com" }, autoscale = { enabled = true, min = 1, max = 5, cpuTarget = 70 },
      healthCheck = { path = "/healthz" }, serviceBindings = { { service = "db", envPrefix = "DATABASE_" } } }))
    local msg = check("App", "apps", { port = 70000 })
    assert.matches("spec.image: Required value", msg)
    assert.matches("spec.port: Invalid value: 70000", msg)
    assert.matches('spec.resources.profile: Unsupported value: "huge"', check("App", "apps", { image = "x", resources = { profile = "huge" } }))
    assert.matches('unknown field "spec.replica"', check("App", "apps", { image = "x", replica = 2 }))
    assert.matches("spec.env.A: Invalid value", check("App", "apps", { image = "x", env = { A = 1 } }))
    assert.is_nil(check("Service", "services", { type = "postgres", version = "16", storage = "10Gi", resources = { cpu = "500m", memory = "1Gi" } }))
    assert.matches("spec.type: Required value", check("Service", "services", { version = "16" }))
    assert.is_nil(check("Service", "services", { type = "oracle" })) -- kipperd reports a type its catalog lacks
    assert.matches("spec.type: Too long", check("Service", "services", { type = string.rep("x", 64) }))
    assert.is_nil(check("Project", "projects", { displayName = "Shop",
      environments = { { name = "production", quota = { cpu = 4, memory = "8Gi", pods = 20 } } },
      members = { { email = "a@example.com", role = "owner" } } }))
    assert.matches('spec.members%[0%].role: Unsupported value: "admin"',
      check("Project", "projects", { members = { { email = "a@example.com", role = "admin" } } }))
    assert.matches("spec.environments%[0%].name: Required value", check("Project", "projects", { environments = { { quota = { pods = 2 } } } }))
  end)
end)
