-- SPDX-License-Identifier: Apache-2.0
-- The CustomResourceDefinitions of Kipper's API, kipper.run/v1alpha1: App, Service and Project,
-- each with a structural schema, defaults, printer columns and the status subresource (App also
-- scale); their names; and a hash of them that kip keeps in an annotation on each CRD, so a re-run
-- sees whether a cluster's are current. Pure data; uses kip.platform.schema and .meta, kip.json,
-- kip.tls and kip.util.tables.
local json = require "kip.json"
local meta = require "kip.platform.meta"
local s = require "kip.platform.schema"
local tables = require "kip.util.tables"
local tls = require "kip.tls"

local M = {}

M.GROUP = "kipper.run"
M.VERSION = "v1alpha1"
M.HASH_ANNOTATION = "kipper.run/crd-hash"

local function column(name, type_, json_path, extra)
  local c = { name = name, type = type_, jsonPath = json_path }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

local AGE = column("Age", "date", ".metadata.creationTimestamp")
local PHASE = column("Phase", "string", ".status.phase")

-- A CRD from its names, scope, spec and status schemas and printer columns.
local function crd(d)
  local root = s.object(d.description, {
    apiVersion = s.string("The versioned schema of this representation of an object."),
    kind = s.string("The REST resource this object represents."),
    metadata = { type = "object" },
    spec = d.spec,
    status = d.status,
  }, { required = d.spec_required and { "spec" } or nil })
  local columns = meta.list(d.columns)
  columns[#columns + 1] = AGE
  return meta.object("apiextensions.k8s.io/v1", "CustomResourceDefinition", d.plural .. "." .. M.GROUP, nil, {
    spec = {
      group = M.GROUP,
      scope = d.scope,
      names = { kind = d.kind, listKind = d.kind .. "List", plural = d.plural, singular = d.kind:lower(),
        shortNames = meta.list(d.short), categories = meta.list({ "kipper" }) },
      versions = meta.list({ {
        name = M.VERSION, served = true, storage = true,
        schema = { openAPIV3Schema = root },
        subresources = { status = {}, scale = d.scale },
        additionalPrinterColumns = columns,
      } }),
    },
  })
end

local function port(description, opts)
  opts = opts or {}
  opts.minimum, opts.maximum = 1, 65535
  return s.integer(description, opts)
end

-- spec.autotune: the auto-tuner's mode and bounds (docs/autotune.md). The default mode,
-- recommend, changes nothing: auto restarts pods, which an App's owner opts into.
local function autotune_spec()
  return s.object("The auto-tuner: off, recommend (record what it would change) or auto (change spec.resources).", {
    mode = s.enum({ "off", "recommend", "auto" }, "off, recommend or auto.", { default = "recommend" }),
    maxMemory = s.quantity("The memory limit the tuner never raises beyond (default 4Gi)."),
    cooldown = s.integer("Seconds between two request changes (default 600).", { minimum = 0 }),
    samples = s.integer("Usage samples in a row a request change needs (default 5).", { minimum = 1, maximum = 100 }),
  }, { default = { mode = "recommend" } })
end

-- status.autotune: what the tuner last recommended, changed or could not change.
local function autotune_status()
  local values = {
    memory = s.string("Memory request."), memoryLimit = s.string("Memory limit."), cpu = s.string("CPU request."),
    reason = s.string("Why: OOMKilled, HighUsage or LowUsage."), message = s.string("What and why, in words."),
    time = s.string("When (RFC 3339)."),
  }
  return s.object("The auto-tuner's view of the App.", {
    mode = s.string("The mode it ran in."),
    recommendation = s.object("What it would change (recommend mode), until applied or superseded.", values),
    lastChange = s.object("Its last change of spec.resources (auto mode).", values),
    blocked = s.object("A change it could not make (ResourceQuota, maxMemory).", {
      reason = s.string("QuotaExceeded or AtMaxMemory."), message = s.string("What blocked it."),
      time = s.string("Since when (RFC 3339)."),
    }),
  })
end

local function app()
  return crd({
    kind = "App", plural = "apps", short = { "kapp" }, scope = "Namespaced", spec_required = true,
    description = "An application Kipper runs from a container image: a Deployment, a Service, and optionally an Ingress and an autoscaler.",
    spec = s.object("What the App should be.", {
      image = s.string("The container image, e.g. ghcr.io/acme/api:1.4.2.", { minLength = 1 }),
      port = port("The port the container listens on.", { default = 8080 }),
      replicas = s.integer("How many instances to run (when autoscale is off).", { minimum = 0, default = 1 }),
      env = s.map("Environment variables, name to value.", s.string("The value.")),
      secrets = s.list("Keys of Secret app-NAME-secrets the App needs as environment variables (left out: all of its keys).",
        s.string("A key of the App's Secret.", { minLength = 1, maxLength = 253, pattern = "^[-._a-zA-Z0-9]+$" }),
        { ["x-kubernetes-list-type"] = "set" }),
      resources = s.resources(),
      route = s.object("How the App is reached from outside the cluster.", {
        host = s.string("The host name, e.g. api.example.com.", { maxLength = 253 }),
        path = s.string("The path prefix.", { default = "/", pattern = "^/" }),
      }),
      autoscale = s.object("Horizontal autoscaling on CPU.", {
        enabled = s.boolean("Whether to autoscale (replicas is then ignored)."),
        min = s.integer("The fewest instances.", { minimum = 1 }),
        max = s.integer("The most instances.", { minimum = 1 }),
        cpuTarget = s.integer("The average CPU use to aim for, in percent of the request.", { minimum = 1, maximum = 100 }),
      }),
      healthCheck = s.object("How to tell the App is healthy.", {
        path = s.string("An HTTP path that answers 2xx or 3xx when healthy.", { pattern = "^/" }),
        tcp = s.boolean("Check that the port accepts connections instead of HTTP."),
        port = port("The port to check (default: spec.port)."),
      }),
      serviceBindings = s.list("Kipper Services whose connection details the App gets as environment variables.",
        s.object("A binding to one Service.", {
          service = s.string("The name of a Service in the App's namespace.", { minLength = 1, maxLength = 63, pattern = s.DNS_LABEL_PATTERN }),
          envPrefix = s.string("A prefix for the variable names, e.g. DATABASE_.", { pattern = "^[A-Za-z_][A-Za-z0-9_]*$" }),
        }, { required = { "service" } }),
        { ["x-kubernetes-list-type"] = "map", ["x-kubernetes-list-map-keys"] = { "service" } }),
      autotune = autotune_spec(),
    }, { required = { "image" } }),
    status = s.object("What the App is, as kipperd last saw it.", {
      phase = s.string("Pending, Progressing, Ready or Failed."),
      url = s.string("Where the App is reached."),
      replicas = s.integer("Instances that exist.", { minimum = 0 }),
      readyReplicas = s.integer("Instances that are ready.", { minimum = 0 }),
      image = s.string("The image the running instances use."),
      autotune = autotune_status(),
      observedGeneration = s.observed_generation(),
      conditions = s.conditions(),
    }),
    scale = { specReplicasPath = ".spec.replicas", statusReplicasPath = ".status.replicas" },
    columns = {
      column("Image", "string", ".spec.image"),
      column("Replicas", "integer", ".spec.replicas"),
      column("Ready", "integer", ".status.readyReplicas"),
      PHASE,
      column("URL", "string", ".status.url"),
    },
  })
end

-- The built-in types of the service catalog (kip.catalog.services); a site adds more as plugins, so
-- the schema takes any DNS label and kipperd reports a type the catalog does not have.
M.SERVICE_TYPES = { "postgres", "mysql", "redis", "mongodb", "rabbitmq", "minio" }

local function service()
  return crd({
    kind = "Service", plural = "services", short = { "ksvc" }, scope = "Namespaced", spec_required = true,
    description = "A backing service Kipper runs for Apps: a database, a cache, a queue or object storage.",
    spec = s.object("What the Service should be.", {
      type = s.string("What kind of service: a type of the service catalog, e.g. " .. table.concat(M.SERVICE_TYPES, ", ") .. ".",
        { minLength = 1, maxLength = 63, pattern = s.DNS_LABEL_PATTERN }),
      version = s.string("The version of the service's image (its tag), e.g. \"17\" for postgres; left out: the catalog's default.",
        { maxLength = 128, pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]*$" }),
      storage = s.quantity("The size of its volume, e.g. \"10Gi\"; left out: the catalog's default. Fixed once the volume exists."),
      resources = s.resources(),
    }, { required = { "type" } }),
    status = s.object("What the Service is, as kipperd last saw it.", {
      phase = s.string("Pending, Progressing, Ready or Failed."),
      host = s.string("The host name Apps connect to."),
      port = s.integer("The port Apps connect to.", { minimum = 0, maximum = 65535 }),
      credentialsSecret = s.string("The Secret holding the connection details."),
      observedGeneration = s.observed_generation(),
      conditions = s.conditions(),
    }),
    columns = {
      column("Type", "string", ".spec.type"),
      column("Version", "string", ".spec.version"),
      PHASE,
      column("Host", "string", ".status.host"),
    },
  })
end

local function project()
  return crd({
    kind = "Project", plural = "projects", short = { "kproj" }, scope = "Cluster",
    description = "A team's share of the cluster: one namespace per environment, with quotas and members.",
    spec = s.object("What the Project should be.", {
      displayName = s.string("A name for people, e.g. \"Web shop\"."),
      environments = s.list("The environments, each a namespace: PROJECT for one named \"default\" or like the project, " ..
        "else PROJECT-ENVIRONMENT (none: one named \"default\").",
        s.object("One environment.", {
          name = s.string("The environment's name, e.g. production.", { minLength = 1, maxLength = 63, pattern = s.DNS_LABEL_PATTERN }),
          quota = s.object("Limits on what the environment may use.", {
            cpu = s.int_or_quantity("Total CPU requests, e.g. 4 or \"4000m\"."),
            memory = s.int_or_quantity("Total memory requests, e.g. \"8Gi\"."),
            pods = s.integer("The most pods.", { minimum = 0 }),
          }),
        }, { required = { "name" } }),
        { ["x-kubernetes-list-type"] = "map", ["x-kubernetes-list-map-keys"] = { "name" } }),
      members = s.list("Who may use the Project, and how.",
        s.object("One member.", {
          email = s.string("The member's e-mail address.", { minLength = 3, maxLength = 254 }),
          role = s.enum({ "owner", "deployer", "viewer" }, "What the member may do.", { default = "viewer" }),
        }, { required = { "email" } }),
        { ["x-kubernetes-list-type"] = "map", ["x-kubernetes-list-map-keys"] = { "email" } }),
    }),
    status = s.object("What the Project is, as kipperd last saw it.", {
      phase = s.string("Pending or Ready."),
      namespaces = s.list("The namespaces of its environments.", s.string("A namespace."), { ["x-kubernetes-list-type"] = "set" }),
      observedGeneration = s.observed_generation(),
      conditions = s.conditions(),
    }),
    columns = {
      column("Display Name", "string", ".spec.displayName"),
      column("Environments", "string", ".spec.environments[*].name"),
      PHASE,
    },
  })
end

local function build()
  return { app(), service(), project() }
end

---A stable hash of CRDs (default: Kipper's), ignoring the hash annotation itself.
---@param crds? table[] CustomResourceDefinition objects
---@return string hex sha256, 64 lowercase hex digits
function M.hash(crds)
  local list = tables.copy(crds or build())
  for _, c in ipairs(list) do
    local a = c.metadata and c.metadata.annotations
    if a then
      a[M.HASH_ANNOTATION] = nil
      if next(a) == nil then c.metadata.annotations = nil end
    end
  end
  return tls.sha256_hex(assert(json.encode(meta.list(list))))
end

---Kipper's CustomResourceDefinitions, each annotated with kipper.run/crd-hash = M.hash().
---@return table[] crds App, Service, Project
function M.all()
  local list = build()
  local h = M.hash(list)
  for _, c in ipairs(list) do c.metadata.annotations = { [M.HASH_ANNOTATION] = h } end
  return meta.list(list)
end

---@return string[] names "apps.kipper.run", "services.kipper.run", "projects.kipper.run"
function M.names()
  local out = meta.list({})
  for _, c in ipairs(build()) do out[#out + 1] = c.metadata.name end
  return out
end

return M
