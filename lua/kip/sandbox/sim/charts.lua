-- SPDX-License-Identifier: Apache-2.0
-- What the simulated helm-controller (kip.sandbox.sim.helm) installs when a HelmChart's job
-- completes, keyed by spec.chart: a small, hand-written stand-in for the charts Kipper installs or
-- relies on (cert-manager, Longhorn, k3s's bundled Traefik: their CRDs, Deployments, Services and
-- storage classes), so what waits for them sees them arrive. Charts not listed install nothing.
-- Pure data.
local yaml = require "kip.yaml"

local M = {}

local arr = yaml.array

-- A CRD with a minimal structural schema (spec and status kept as they are) and a status subresource.
---@param opts {cluster?: boolean, short?: string[], categories?: string[], columns?: table[], version?: string}
local function crd(group, kind, plural, opts)
  local ready = '.status.conditions[?(@.type=="Ready")]'
  local columns = opts.columns or {
    { name = "Ready", type = "string", jsonPath = ready .. ".status" },
    { name = "Status", type = "string", jsonPath = ready .. ".message", priority = 1 },
  }
  columns[#columns + 1] = { name = "Age", type = "date", jsonPath = ".metadata.creationTimestamp" }
  return {
    apiVersion = "apiextensions.k8s.io/v1", kind = "CustomResourceDefinition",
    metadata = { name = plural .. "." .. group },
    spec = {
      group = group, scope = opts.cluster and "Cluster" or "Namespaced",
      names = { kind = kind, listKind = kind .. "List", plural = plural, singular = kind:lower(),
        shortNames = opts.short and arr(opts.short) or nil, categories = arr(opts.categories or { "cert-manager" }) },
      versions = arr({ {
        name = opts.version or "v1", served = true, storage = true, subresources = { status = {} },
        additionalPrinterColumns = arr(columns),
        schema = { openAPIV3Schema = { type = "object", properties = {
          spec = { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
          status = { type = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
        } } },
      } }),
    },
  }
end

local function deployment(ns, name, labels, image, service_account)
  local selector = { ["app.kubernetes.io/name"] = labels["app.kubernetes.io/name"],
    ["app.kubernetes.io/instance"] = labels["app.kubernetes.io/instance"],
    ["app.kubernetes.io/component"] = labels["app.kubernetes.io/component"] }
  return {
    apiVersion = "apps/v1", kind = "Deployment",
    metadata = { name = name, namespace = ns, labels = labels },
    spec = { replicas = 1, selector = { matchLabels = selector },
      template = { metadata = { labels = labels },
        spec = { serviceAccountName = service_account,
          containers = arr({ { name = name, image = image } }) } } },
  }
end

-- cert-manager (jetstack/cert-manager): its six CRDs and its three Deployments.
local function cert_manager(ctx)
  local version = ctx.version ~= "" and ctx.version or "v1.18.2"
  if not version:match("^v") then version = "v" .. version end
  local out = {
    crd("cert-manager.io", "Certificate", "certificates", { short = { "cert", "certs" }, columns = {
      { name = "Ready", type = "string", jsonPath = '.status.conditions[?(@.type=="Ready")].status' },
      { name = "Secret", type = "string", jsonPath = ".spec.secretName" },
      { name = "Issuer", type = "string", jsonPath = ".spec.issuerRef.name", priority = 1 },
      { name = "Status", type = "string", jsonPath = '.status.conditions[?(@.type=="Ready")].message', priority = 1 },
    } }),
    crd("cert-manager.io", "CertificateRequest", "certificaterequests", { short = { "cr", "crs" }, columns = {
      { name = "Approved", type = "string", jsonPath = '.status.conditions[?(@.type=="Approved")].status' },
      { name = "Denied", type = "string", jsonPath = '.status.conditions[?(@.type=="Denied")].status' },
      { name = "Ready", type = "string", jsonPath = '.status.conditions[?(@.type=="Ready")].status' },
      { name = "Issuer", type = "string", jsonPath = ".spec.issuerRef.name" },
      { name = "Requester", type = "string", jsonPath = ".spec.username" },
      { name = "Status", type = "string", jsonPath = '.status.conditions[?(@.type=="Ready")].message', priority = 1 },
    } }),
    crd("cert-manager.io", "Issuer", "issuers", {}),
    crd("cert-manager.io", "ClusterIssuer", "clusterissuers", { cluster = true }),
    crd("acme.cert-manager.io", "Order", "orders", { categories = { "cert-manager", "cert-manager-acme" }, columns = {
      { name = "State", type = "string", jsonPath = ".status.state" },
      { name = "Issuer", type = "string", jsonPath = ".spec.issuerRef.name", priority = 1 },
      { name = "Reason", type = "string", jsonPath = ".status.reason", priority = 1 },
    } }),
    crd("acme.cert-manager.io", "Challenge", "challenges", { categories = { "cert-manager", "cert-manager-acme" }, columns = {
      { name = "State", type = "string", jsonPath = ".status.state" },
      { name = "Domain", type = "string", jsonPath = ".spec.dnsName" },
      { name = "Reason", type = "string", jsonPath = ".status.reason", priority = 1 },
    } }),
  }
  for _, c in ipairs({ { "cert-manager", "controller", "cert-manager-controller" },
      { "cert-manager-webhook", "webhook", "cert-manager-webhook" },
      { "cert-manager-cainjector", "cainjector", "cert-manager-cainjector" } }) do
    local name, component, image = c[1], c[2], c[3]
    local short = name == "cert-manager" and "cert-manager" or component
    local labels = { app = short, ["app.kubernetes.io/name"] = short,
      ["app.kubernetes.io/instance"] = ctx.release, ["app.kubernetes.io/component"] = component,
      ["app.kubernetes.io/version"] = version }
    out[#out + 1] = { apiVersion = "v1", kind = "ServiceAccount", metadata = { name = name, namespace = ctx.namespace, labels = labels } }
    out[#out + 1] = deployment(ctx.namespace, name, labels, "quay.io/jetstack/" .. image .. ":" .. version, name)
  end
  return out
end

-- Longhorn (longhorn/longhorn): its storage class (the default, as the chart makes it) and the
-- deployment that installs its CSI driver.
local function longhorn(ctx)
  local version = ctx.version ~= "" and ctx.version or "v1.9.1"
  if not version:match("^v") then version = "v" .. version end
  local labels = { app = "longhorn-driver-deployer", ["app.kubernetes.io/name"] = "longhorn",
    ["app.kubernetes.io/instance"] = ctx.release, ["app.kubernetes.io/component"] = "driver-deployer",
    ["app.kubernetes.io/version"] = version }
  return {
    { apiVersion = "storage.k8s.io/v1", kind = "StorageClass",
      metadata = { name = "longhorn", annotations = { ["storageclass.kubernetes.io/is-default-class"] = "true" },
        labels = { ["app.kubernetes.io/name"] = "longhorn", ["app.kubernetes.io/instance"] = ctx.release } },
      provisioner = "driver.longhorn.io", allowVolumeExpansion = true, reclaimPolicy = "Delete",
      volumeBindingMode = "Immediate",
      parameters = { numberOfReplicas = "3", staleReplicaTimeout = "30", fromBackup = "", fsType = "ext4",
        dataLocality = "disabled" } },
    { apiVersion = "v1", kind = "ServiceAccount", metadata = { name = "longhorn-service-account", namespace = ctx.namespace, labels = labels } },
    deployment(ctx.namespace, "longhorn-driver-deployer", labels, "longhornio/longhorn-manager:" .. version,
      "longhorn-service-account"),
  }
end

-- k3s's bundled Traefik CRDs (chart traefik-crd): traefik.io/v1alpha1.
local function traefik_crd()
  local out = {}
  for _, k in ipairs({ { "IngressRoute", "ingressroutes" }, { "IngressRouteTCP", "ingressroutetcps" },
      { "IngressRouteUDP", "ingressrouteudps" }, { "Middleware", "middlewares" }, { "MiddlewareTCP", "middlewaretcps" },
      { "ServersTransport", "serverstransports" }, { "ServersTransportTCP", "serverstransporttcps" },
      { "TLSOption", "tlsoptions" }, { "TLSStore", "tlsstores" }, { "TraefikService", "traefikservices" } }) do
    out[#out + 1] = crd("traefik.io", k[1], k[2], { version = "v1alpha1", columns = {}, categories = {} })
  end
  return out
end

-- k3s's bundled Traefik (chart traefik, release in kube-system): its Deployment and its
-- LoadBalancer Service on ports 80 and 443.
local function traefik(ctx)
  local version = ctx.version ~= "" and ctx.version or "34.2.1+up34.2.0"
  local labels = { ["app.kubernetes.io/name"] = "traefik", ["app.kubernetes.io/instance"] = ctx.release .. "-" .. ctx.namespace,
    ["helm.sh/chart"] = "traefik-" .. version:gsub("%+", "_") }
  local selector = { ["app.kubernetes.io/name"] = "traefik", ["app.kubernetes.io/instance"] = labels["app.kubernetes.io/instance"] }
  return {
    { apiVersion = "v1", kind = "ServiceAccount", metadata = { name = "traefik", namespace = ctx.namespace, labels = labels } },
    { apiVersion = "apps/v1", kind = "Deployment", metadata = { name = "traefik", namespace = ctx.namespace, labels = labels },
      spec = { replicas = 1, selector = { matchLabels = selector },
        template = { metadata = { labels = labels }, spec = { serviceAccountName = "traefik",
          containers = arr({ { name = "traefik", image = "rancher/mirrored-library-traefik:3.3.6",
            ports = arr({ { name = "web", containerPort = 8000 }, { name = "websecure", containerPort = 8443 } }) } }) } } } },
    { apiVersion = "v1", kind = "Service", metadata = { name = "traefik", namespace = ctx.namespace, labels = labels },
      spec = { type = "LoadBalancer", selector = selector, ports = arr({
        { name = "web", port = 80, targetPort = "web", protocol = "TCP" },
        { name = "websecure", port = 443, targetPort = "websecure", protocol = "TCP" } }) } },
  }
end

M.charts = { ["cert-manager"] = cert_manager, longhorn = longhorn, traefik = traefik, ["traefik-crd"] = traefik_crd }

---The chart's name in spec.chart: "cert-manager", "jetstack/cert-manager", or a chart archive's
---URL as k3s's bundled charts use ("https://%{KUBERNETES_API}%/static/charts/traefik-34.2.1+up34.2.0.tgz").
function M.name_of(chart)
  local last = (chart or ""):match("([^/]+)$") or ""
  if last:match("%.tgz$") then last = last:gsub("%.tgz$", ""):gsub("%-v?%d[^-]*$", "") end
  return last
end

---The objects chart `name` installs, or nil for a chart the sandbox does not know.
---@param ctx {namespace: string, release: string, version: string}
---@return table[]|nil
function M.objects(name, ctx)
  local fn = M.charts[M.name_of(name)]
  return fn and fn(ctx) or nil
end

return M
