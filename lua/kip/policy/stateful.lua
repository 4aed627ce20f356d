-- SPDX-License-Identifier: Apache-2.0
-- A catalog Service's workload: a StatefulSet of one pod running the entry's image with its volume
-- "data" (a PersistentVolumeClaim per pod from a volumeClaimTemplate, kept when the StatefulSet
-- goes), environment from the credentials Secret, and a headless Service giving the pod its stable
-- host name. Uses kip.policy.probes, .security and .hash.
local hash = require "kip.policy.hash"
local labels_mod = require "kip.policy.labels"
local probes = require "kip.policy.probes"
local security = require "kip.policy.security"

local M = {}

M.VOLUME = "data"

-- The name of the main port: the type when it is a valid port name, else "service".
local function port_name(type_)
  if #type_ <= 15 and type_:match("%a") and not type_:find("%-%-") then return type_ end
  return "service"
end

---The claim a pod of StatefulSet `name` gets for the volume: data-NAME-0 for the first pod.
function M.claim_name(name, index)
  return M.VOLUME .. "-" .. name .. "-" .. (index or 0)
end

local function env_of(entry, secret)
  local env = {}
  for _, e in ipairs(entry.env) do
    if e.key then
      env[#env + 1] = { name = e.name, valueFrom = { secretKeyRef = { name = secret, key = e.key } } }
    else
      env[#env + 1] = { name = e.name, value = e.value }
    end
  end
  return env
end

---@param svc table the Service (namespace filled in)
---@param entry table its catalog entry
---@param parts {image: string, resources: table, selector: table, labels: table, storage: string,
---  storage_class?: string, secret: string}
---@return table statefulset
---@return string template_hash
function M.statefulset(svc, entry, parts)
  local name, ns = svc.metadata.name, svc.metadata.namespace
  local pname = port_name(svc.spec.type)
  local ports = { { name = pname, containerPort = entry.port, protocol = "TCP" } }
  for _, p in ipairs(entry.ports or {}) do ports[#ports + 1] = { name = p.name, containerPort = p.port, protocol = "TCP" } end
  local readiness, liveness = probes.for_service(entry.probe, entry.port)
  local template = {
    metadata = { labels = parts.labels },
    spec = {
      containers = { {
        name = svc.spec.type, image = parts.image, command = entry.command, args = entry.args,
        ports = ports, env = env_of(entry, parts.secret),
        volumeMounts = { { name = M.VOLUME, mountPath = entry.data_path } },
        resources = parts.resources,
        readinessProbe = readiness, livenessProbe = liveness,
        securityContext = security.container(true),
      } },
      securityContext = security.pod(true, entry.security_context),
      automountServiceAccountToken = false,
      enableServiceLinks = false,
    },
  }
  local template_hash = hash.short(template, 16)
  return {
    apiVersion = "apps/v1", kind = "StatefulSet",
    metadata = { name = name, namespace = ns, labels = parts.labels,
      annotations = { [labels_mod.TEMPLATE_HASH] = template_hash } },
    spec = {
      serviceName = name,
      replicas = 1,
      selector = { matchLabels = parts.selector },
      persistentVolumeClaimRetentionPolicy = { whenDeleted = "Retain", whenScaled = "Retain" },
      template = template,
      volumeClaimTemplates = { {
        metadata = { name = M.VOLUME, labels = parts.selector },
        spec = {
          accessModes = { "ReadWriteOnce" },
          storageClassName = parts.storage_class,
          resources = { requests = { storage = parts.storage } },
        },
      } },
    },
  }, template_hash
end

---The headless Service that gives the pod its DNS name (NAME.NAMESPACE.svc.cluster.local).
---@return table service
function M.headless(svc, entry, selector, labels)
  local pname = port_name(svc.spec.type)
  local ports = { { name = pname, port = entry.port, targetPort = pname, protocol = "TCP" } }
  for _, p in ipairs(entry.ports or {}) do ports[#ports + 1] = { name = p.name, port = p.port, targetPort = p.name, protocol = "TCP" } end
  return { apiVersion = "v1", kind = "Service",
    metadata = { name = svc.metadata.name, namespace = svc.metadata.namespace, labels = labels },
    spec = { clusterIP = "None", selector = selector, ports = ports } }
end

return M
