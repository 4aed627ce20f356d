-- SPDX-License-Identifier: Apache-2.0
-- An App's Deployment: one container named after the App with its image and port, environment from
-- the env Secret plus bindings and profile variables, requests and limits, probes, a restricted
-- security context unless the App allows root, and a rolling update that adds one pod before
-- removing one; the App's kipper.run/restarted-at annotation in the pod template (kip app restart).
-- Replicas are left to the autoscaler when autoscale is on. Uses kip.policy.*.
local hash = require "kip.policy.hash"
local labels_mod = require "kip.policy.labels"
local probes = require "kip.policy.probes"
local security = require "kip.policy.security"

local M = {}

M.RESTARTED_AT = "kipper.run/restarted-at"

---@param app table the App (spec defaults filled in: port, replicas)
---@param parts {env_secret: string, env: table[], resources: table, selector: table, labels: table,
---  revision: integer}
---@return table deployment
---@return string template_hash the hash of its pod template (also in annotation kipper.run/template-hash)
function M.build(app, parts)
  local name, ns, spec = app.metadata.name, app.metadata.namespace, app.spec
  local restricted = not labels_mod.is_true(app, labels_mod.ALLOW_ROOT)
  local readiness, liveness = probes.for_app(spec.healthCheck, spec.port)
  local container = {
    name = name, image = spec.image,
    ports = { { name = "http", containerPort = spec.port, protocol = "TCP" } },
    envFrom = { { secretRef = { name = parts.env_secret } } },
    env = #parts.env > 0 and parts.env or nil,
    resources = parts.resources,
    readinessProbe = readiness, livenessProbe = liveness,
    securityContext = security.container(restricted),
  }
  -- `kip app restart` stamps the App; carried into the pod template, it rolls the pods
  local restarted = (app.metadata.annotations or {})[M.RESTARTED_AT]
  local template = {
    metadata = { labels = parts.labels, annotations = restarted and { [M.RESTARTED_AT] = restarted } or nil },
    spec = {
      containers = { container },
      securityContext = security.pod(restricted),
      automountServiceAccountToken = false,
      enableServiceLinks = false,
    },
  }
  local template_hash = hash.short(template, 16)
  local autoscaled = spec.autoscale and spec.autoscale.enabled
  local d = {
    apiVersion = "apps/v1", kind = "Deployment",
    metadata = { name = name, namespace = ns, labels = parts.labels,
      annotations = { [labels_mod.REVISION] = tostring(parts.revision), [labels_mod.TEMPLATE_HASH] = template_hash } },
    spec = {
      replicas = (not autoscaled) and spec.replicas or nil,
      revisionHistoryLimit = 3,
      selector = { matchLabels = parts.selector },
      strategy = { type = "RollingUpdate", rollingUpdate = { maxUnavailable = 0, maxSurge = 1 } },
      template = template,
    },
  }
  return d, template_hash
end

return M
