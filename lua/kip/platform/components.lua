-- SPDX-License-Identifier: Apache-2.0
-- The Kubernetes objects `kip install` puts on a new k3s cluster, built from the install recipe's
-- variables: the kipper-system namespace, cert-manager and Longhorn as k3s HelmCharts, the
-- ClusterIssuer, the HelmChartConfig for k3s's bundled Traefik, and kipperd (RBAC, Deployment,
-- Service, console Ingress). Pure data, no I/O. The CRDs are kip.platform.crds, whose resource
-- names kipperd's ClusterRole covers. Uses kip.platform.meta and kip.yaml.
local crds = require "kip.platform.crds"
local default_tls = require "kip.platform.default_tls"
local meta = require "kip.platform.meta"
local yaml = require "kip.yaml"

local M = {}

local list = meta.list

M.NAMESPACE = "kipper-system"
M.ISSUER = "letsencrypt"
M.INGRESS_CLASS = "traefik"
M.CONFIG = "kipper-config"
M.PROJECT_READER = "kipper-project-reader"

---@alias kip.platform.vars table<string, string|number|boolean> the k3s recipe's variables

---Namespace kipper-system, where kipperd runs.
---@return table[] objects
function M.namespace()
  return list({ meta.object("v1", "Namespace", M.NAMESPACE, {
    labels = { ["pod-security.kubernetes.io/enforce"] = "baseline" } }) })
end

---ConfigMap kipper-system/kipper-config: the cluster settings kipperd reads at start (the cluster's
---id in generated host names, the zone, the certificate issuer, the storage and ingress classes).
---@param vars kip.platform.vars cluster.id, domain.zone, acme.email, storage
---@return table[] objects
function M.cluster_config(vars)
  return list({ meta.object("v1", "ConfigMap", M.CONFIG, { namespace = M.NAMESPACE }, { data = {
    clusterId = vars["cluster.id"] or "",
    zone = vars["domain.zone"] or "kipper.run",
    issuer = meta.nonempty(vars["acme.email"]) and M.ISSUER or "",
    storageClass = M.storage_class(vars),
    ingressClass = M.INGRESS_CLASS,
  } }) })
end

-- A k3s HelmChart in kube-system: helm-controller installs chart into target_ns.
local function helm_chart(name, repo, chart, version, target_ns, values)
  return meta.object("helm.cattle.io/v1", "HelmChart", name, { namespace = "kube-system" }, { spec = {
    repo = repo, chart = chart, version = version, targetNamespace = target_ns, createNamespace = true,
    valuesContent = assert(yaml.encode(values)),
  } })
end

local CERT_MANAGER_IMAGES = { -- values key -> the chart's default repository
  image = "quay.io/jetstack/cert-manager-controller",
  webhook = "quay.io/jetstack/cert-manager-webhook",
  cainjector = "quay.io/jetstack/cert-manager-cainjector",
  acmesolver = "quay.io/jetstack/cert-manager-acmesolver",
  startupapicheck = "quay.io/jetstack/cert-manager-startupapicheck",
}

---HelmChart cert-manager (with its CRDs), version-pinned, images from images.registry when set.
---@param vars kip.platform.vars cert_manager.repo, cert_manager.version, images.registry
---@return table[] objects
function M.cert_manager(vars)
  local values = { crds = { enabled = true } }
  local registry = vars["images.registry"]
  if meta.nonempty(registry) then
    for key, repo in pairs(CERT_MANAGER_IMAGES) do
      local repository = meta.mirror(registry, repo)
      if key == "image" then values.image = { repository = repository }
      else values[key] = { image = { repository = repository } } end
    end
  end
  return list({ helm_chart("cert-manager", meta.need(vars, "cert_manager.repo"), "cert-manager",
    meta.need(vars, "cert_manager.version"), "cert-manager", values) })
end

---ClusterIssuer letsencrypt: ACME with HTTP-01 through Traefik.
---@param vars kip.platform.vars acme.server, acme.email (optional)
---@return table issuer
function M.cluster_issuer(vars)
  local email = vars["acme.email"]
  return meta.object("cert-manager.io/v1", "ClusterIssuer", M.ISSUER, nil, { spec = { acme = {
    server = meta.need(vars, "acme.server"),
    email = meta.nonempty(email) and email or nil,
    privateKeySecretRef = { name = "letsencrypt-account-key" },
    solvers = list({ { http01 = { ingress = { ingressClassName = M.INGRESS_CLASS } } } }),
  } } })
end

---The ClusterIssuer as the YAML file kip writes to k3s's auto-deploy folder.
---@param vars kip.platform.vars
---@return string yaml
function M.cluster_issuer_yaml(vars)
  return "# Written by kip (Kipper): the ClusterIssuer Kipper's Ingresses get certificates from.\n" ..
    "# k3s applies this file from its auto-deploy folder; `kip install` rewrites it, so change the\n" ..
    "# recipe variables acme.server and acme.email rather than this file.\n" ..
    assert(yaml.encode(M.cluster_issuer(vars)))
end

local function check_storage(vars)
  local v = vars.storage
  if v ~= "local-path" and v ~= "longhorn" then error("storage must be local-path or longhorn", 3) end
  return v
end

---The default StorageClass the storage choice gives.
---@param vars kip.platform.vars storage
---@return string name "longhorn" or "local-path"
function M.storage_class(vars)
  return check_storage(vars)
end

---What storage needs installed: HelmChart longhorn, or nothing for local-path (k3s ships it).
---@param vars kip.platform.vars storage, longhorn.repo, longhorn.version, longhorn.replicas, images.registry
---@return table[] objects
function M.storage(vars)
  if check_storage(vars) == "local-path" then return list({}) end
  local values = { persistence = { defaultClass = true } }
  if vars["longhorn.replicas"] == 1 then values.persistence.defaultClassReplicaCount = 1 end
  if meta.nonempty(vars["images.registry"]) then
    values.privateRegistry = { registryUrl = (vars["images.registry"]:gsub("/+$", "")) }
  end
  return list({ helm_chart("longhorn", meta.need(vars, "longhorn.repo"), "longhorn",
    meta.need(vars, "longhorn.version"), "longhorn-system", values) })
end

local function split_cidrs(text)
  local out = list({})
  for item in (type(text) == "string" and text or ""):gmatch("[^,]+") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then out[#out + 1] = item end
  end
  return out
end

---HelmChartConfig traefik: settings for k3s's bundled Traefik v3 chart (values layout of
---traefik-helm-chart v34 and later): JSON access logs, Ingresses to ExternalName services, the
---HTTP to HTTPS redirect, trusted forwarding proxies, and the default certificate (Secret
---kube-system/kipper-default-tls, kip.platform.default_tls) that a kipper-gateway pins.
---@param vars kip.platform.vars traefik.redirect_https, traefik.trusted_ips
---@return table[] objects
function M.traefik(vars)
  local ports = {}
  local trusted = split_cidrs(vars["traefik.trusted_ips"])
  if #trusted > 0 then
    ports.web = { forwardedHeaders = { trustedIPs = trusted } }
    ports.websecure = { forwardedHeaders = { trustedIPs = trusted } }
  end
  if vars["traefik.redirect_https"] == true then
    ports.web = ports.web or {}
    ports.web.redirections = { entryPoint = { to = "websecure", scheme = "https", permanent = true } }
  end
  local values = {
    logs = { access = { enabled = true, format = "json" } },
    providers = { kubernetesIngress = { allowExternalNameServices = true } },
    ports = next(ports) and ports or nil,
    tlsStore = { default = { defaultCertificate = { secretName = default_tls.NAME } } },
  }
  return list({ meta.object("helm.cattle.io/v1", "HelmChartConfig", "traefik", { namespace = "kube-system" },
    { spec = { valuesContent = assert(yaml.encode(values)) } }) })
end

local READ = { "get", "list", "watch" }
local WRITE = { "get", "list", "watch", "create", "update", "patch", "delete" }

local function rule(group, resources, verbs)
  return { apiGroups = list({ group }), resources = list(resources), verbs = list(verbs) }
end

-- What kipperd may do: its own resources, and what its reconcilers create and read.
local function rbac_rules()
  local kipper = {}
  for _, c in ipairs(crds.all()) do
    local plural = c.spec.names.plural
    meta.append(kipper, { plural, plural .. "/status", plural .. "/finalizers" })
    if c.spec.versions[1].subresources.scale then kipper[#kipper + 1] = plural .. "/scale" end
  end
  return list({
    rule(crds.GROUP, kipper, WRITE),
    rule("", { "namespaces", "services", "secrets", "configmaps", "persistentvolumeclaims", "resourcequotas", "limitranges" }, WRITE),
    rule("", { "pods" }, { "get", "list", "watch", "delete" }),
    rule("", { "pods/log" }, { "get" }),
    rule("", { "events" }, { "get", "list", "watch", "create", "patch" }),
    rule("", { "nodes" }, READ),
    rule("apps", { "deployments", "statefulsets", "controllerrevisions" }, WRITE),
    rule("apps", { "replicasets", "daemonsets" }, READ), -- daemonsets: the console's component health
    rule("networking.k8s.io", { "ingresses" }, WRITE),
    rule("autoscaling", { "horizontalpodautoscalers" }, WRITE),
    rule("policy", { "poddisruptionbudgets" }, WRITE),
    rule("rbac.authorization.k8s.io", { "roles", "rolebindings" }, WRITE),
    -- it binds only the roles it hands out (RBAC checks `bind` by name): never cluster-admin
    { apiGroups = list({ "rbac.authorization.k8s.io" }), resources = list({ "clusterroles" }), verbs = list({ "bind" }),
      resourceNames = list({ "admin", "edit", "view", M.PROJECT_READER }) },
    rule("rbac.authorization.k8s.io", { "clusterrolebindings" }, WRITE), -- a Project's members may read it
    rule("cert-manager.io", { "certificates" }, READ),
    rule("coordination.k8s.io", { "leases" }, WRITE),
    rule("metrics.k8s.io", { "pods" }, { "get", "list" }), -- the auto-tuner's usage samples
  })
end

---ClusterRoles for people: kipper-edit and kipper-view, aggregated into Kubernetes's admin, edit and
---view, so a project's members (bound to those in their namespaces) can manage or see Apps and
---Services there; and kipper-project-reader, which kipperd binds to a Project's members so they can
---read Projects (cluster-scoped, so their namespace roles do not cover them).
---@return table[] objects
function M.user_roles()
  local namespaced = {}
  for _, c in ipairs(crds.all()) do
    if c.spec.scope == "Namespaced" then namespaced[#namespaced + 1] = c.spec.names.plural end
  end
  local status = {}
  for _, r in ipairs(namespaced) do status[#status + 1] = r .. "/status" end
  local rbac = "rbac.authorization.k8s.io/v1"
  local function role(name, aggregate, rules)
    local labels = {}
    for _, to in ipairs(aggregate) do labels["rbac.authorization.k8s.io/aggregate-to-" .. to] = "true" end
    return meta.object(rbac, "ClusterRole", name, { labels = labels }, { rules = list(rules) })
  end
  return {
    meta.object(rbac, "ClusterRole", M.PROJECT_READER, {}, { rules = list({ rule(crds.GROUP, { "projects" }, READ) }) }),
    role("kipper-edit", { "admin", "edit" }, { rule(crds.GROUP, namespaced, { "create", "update", "patch", "delete",
      "deletecollection" }), rule(crds.GROUP, { "apps/scale" }, { "update", "patch" }) }),
    role("kipper-view", { "admin", "edit", "view" }, { rule(crds.GROUP, namespaced, READ), rule(crds.GROUP, status, READ) }),
  }
end

local function kipperd_deployment(vars, labels)
  local selector = { ["app.kubernetes.io/name"] = "kipperd" }
  local restricted = {
    runAsNonRoot = true, runAsUser = 65532, allowPrivilegeEscalation = false, readOnlyRootFilesystem = true,
    capabilities = { drop = list({ "ALL" }) }, seccompProfile = { type = "RuntimeDefault" },
  }
  return meta.object("apps/v1", "Deployment", "kipperd", { namespace = M.NAMESPACE, labels = labels }, { spec = {
    replicas = 1,
    selector = { matchLabels = selector },
    template = {
      metadata = { labels = meta.labels(labels) },
      spec = {
        serviceAccountName = "kipperd",
        securityContext = { runAsNonRoot = true, runAsUser = 65532, runAsGroup = 65532, seccompProfile = { type = "RuntimeDefault" } },
        containers = list({ {
          name = "kipperd",
          image = meta.need(vars, "kipperd.image"),
          args = list({ "--in-cluster", "--listen", "0.0.0.0:8080" }),
          ports = list({ { name = "http", containerPort = 8080, protocol = "TCP" } }),
          readinessProbe = { httpGet = { path = "/readyz", port = "http" }, periodSeconds = 5 },
          livenessProbe = { httpGet = { path = "/healthz", port = "http" }, periodSeconds = 10, failureThreshold = 3 },
          resources = { requests = { cpu = "50m", memory = "64Mi" }, limits = { cpu = "500m", memory = "256Mi" } },
          securityContext = restricted,
          volumeMounts = list({ { name = "tmp", mountPath = "/tmp" } }),
        } }),
        volumes = list({ { name = "tmp", emptyDir = {} } }),
      },
    },
  } })
end

local function console_ingress(vars)
  local host = meta.nonempty(vars["console.host"]) and vars["console.host"] or nil
  local tls = host ~= nil and meta.nonempty(vars["acme.email"])
  local path = { path = "/", pathType = "Prefix", backend = { service = { name = "kipperd", port = { name = "http" } } } }
  return meta.object("networking.k8s.io/v1", "Ingress", "console", { namespace = M.NAMESPACE,
    annotations = tls and { ["cert-manager.io/cluster-issuer"] = M.ISSUER } or nil }, { spec = {
    ingressClassName = M.INGRESS_CLASS,
    rules = list({ { host = host, http = { paths = list({ path }) } } }),
    tls = tls and list({ { hosts = list({ host }), secretName = "console-tls" } }) or nil,
  } })
end

---kipperd: ServiceAccount, ClusterRole and binding, Deployment, Service and the console Ingress
---(HTTPS through cert-manager when acme.email and console.host are set, plain HTTP otherwise).
---@param vars kip.platform.vars kipperd.image, kipper.version, console.host, acme.email
---@return table[] objects
function M.kipperd(vars)
  local labels = { ["app.kubernetes.io/name"] = "kipperd",
    ["app.kubernetes.io/version"] = meta.label_value(meta.need(vars, "kipper.version")) }
  local ns = { namespace = M.NAMESPACE, labels = labels }
  local rbac = "rbac.authorization.k8s.io/v1"
  return meta.append(list({
    meta.object("v1", "ServiceAccount", "kipperd", ns),
    meta.object(rbac, "ClusterRole", "kipperd", { labels = labels }, { rules = rbac_rules() }),
  }), M.user_roles(), {
    meta.object(rbac, "ClusterRoleBinding", "kipperd", { labels = labels }, {
      roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = "kipperd" },
      subjects = list({ { kind = "ServiceAccount", name = "kipperd", namespace = M.NAMESPACE } }),
    }),
    kipperd_deployment(vars, labels),
    meta.object("v1", "Service", "kipperd", ns, { spec = {
      type = "ClusterIP", selector = { ["app.kubernetes.io/name"] = "kipperd" },
      ports = list({ { name = "http", port = 80, targetPort = "http", protocol = "TCP" } }),
    } }),
    console_ingress(vars),
  })
end

---Everything kip applies through the API, in order: namespace, cluster settings, cert-manager,
---storage, Traefik settings, kipperd. Not the ClusterIssuer (k3s's auto-deploy folder) nor the CRDs (kip.platform.crds).
---@param vars kip.platform.vars
---@return table[] objects
function M.all(vars)
  return meta.append(list({}), M.namespace(), M.cluster_config(vars), M.cert_manager(vars), M.storage(vars), M.traefik(vars),
    M.kipperd(vars))
end

return M
