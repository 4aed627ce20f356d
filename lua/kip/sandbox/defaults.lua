-- SPDX-License-Identifier: Apache-2.0
-- Defaulting the sandbox API applies on create and update, as kube-apiserver's defaulters do
-- for the fields people see: Service type, cluster IP and ports, workload replicas and strategy,
-- Pod restart policy and phase, Namespace phase, PVC phase. Pure Lua.
local yaml = require "kip.yaml"

local M = {}

local function spec_of(obj)
  obj.spec = type(obj.spec) == "table" and obj.spec or {}
  return obj.spec
end

local function default_pod_spec(spec)
  spec.restartPolicy = spec.restartPolicy or "Always"
  spec.dnsPolicy = spec.dnsPolicy or "ClusterFirst"
  spec.schedulerName = spec.schedulerName or "default-scheduler"
  spec.terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds or 30
  for _, c in ipairs(spec.containers or {}) do
    if type(c) == "table" then
      c.imagePullPolicy = c.imagePullPolicy or
        ((type(c.image) == "string" and (c.image:match(":latest$") or not c.image:match(":[^/]+$"))) and "Always" or "IfNotPresent")
      c.terminationMessagePath = c.terminationMessagePath or "/dev/termination-log"
      c.terminationMessagePolicy = c.terminationMessagePolicy or "File"
      for _, p in ipairs(c.ports or {}) do
        if type(p) == "table" then p.protocol = p.protocol or "TCP" end
      end
    end
  end
end

local by_kind = {}

function by_kind.Namespace(obj)
  obj.status = obj.status or {}
  obj.status.phase = obj.status.phase or "Active"
  local spec = spec_of(obj)
  spec.finalizers = spec.finalizers or yaml.array({ "kubernetes" })
  obj.metadata.labels = obj.metadata.labels or {}
  obj.metadata.labels["kubernetes.io/metadata.name"] = obj.metadata.name
end

function by_kind.Service(obj, old, api)
  local spec = spec_of(obj)
  spec.type = spec.type or "ClusterIP"
  spec.sessionAffinity = spec.sessionAffinity or "None"
  if spec.clusterIP == nil or spec.clusterIP == "" then
    spec.clusterIP = old and old.spec and old.spec.clusterIP or api:allocate_cluster_ip()
  end
  if spec.clusterIP ~= "None" then spec.clusterIPs = yaml.array({ spec.clusterIP }) end
  for _, p in ipairs(spec.ports or {}) do
    if type(p) == "table" then
      p.protocol = p.protocol or "TCP"
      if p.targetPort == nil then p.targetPort = p.port end
    end
  end
end

local function default_workload(obj)
  local spec = spec_of(obj)
  if spec.replicas == nil then spec.replicas = 1 end
  spec.revisionHistoryLimit = spec.revisionHistoryLimit or 10
  local tpl = type(spec.template) == "table" and spec.template or nil
  if tpl and type(tpl.spec) == "table" then default_pod_spec(tpl.spec) end
end

function by_kind.Deployment(obj)
  default_workload(obj)
  local spec = obj.spec
  spec.progressDeadlineSeconds = spec.progressDeadlineSeconds or 600
  spec.strategy = spec.strategy or { type = "RollingUpdate", rollingUpdate = { maxSurge = "25%", maxUnavailable = "25%" } }
end

function by_kind.StatefulSet(obj)
  default_workload(obj)
  local spec = obj.spec
  spec.podManagementPolicy = spec.podManagementPolicy or "OrderedReady"
  spec.updateStrategy = spec.updateStrategy or { type = "RollingUpdate", rollingUpdate = { partition = 0 } }
end

function by_kind.ReplicaSet(obj)
  local spec = spec_of(obj)
  if spec.replicas == nil then spec.replicas = 1 end
  if type(spec.template) == "table" and type(spec.template.spec) == "table" then default_pod_spec(spec.template.spec) end
end

function by_kind.Job(obj)
  local spec = spec_of(obj)
  spec.completions = spec.completions or 1
  spec.parallelism = spec.parallelism or 1
  spec.backoffLimit = spec.backoffLimit or 6
  if type(spec.template) == "table" and type(spec.template.spec) == "table" then
    spec.template.spec.restartPolicy = spec.template.spec.restartPolicy or "Never"
    default_pod_spec(spec.template.spec)
  end
end

function by_kind.Pod(obj)
  default_pod_spec(spec_of(obj))
  obj.status = obj.status or {}
  obj.status.phase = obj.status.phase or "Pending"
end

function by_kind.PersistentVolumeClaim(obj)
  local spec = spec_of(obj)
  spec.volumeMode = spec.volumeMode or "Filesystem"
  if spec.storageClassName == nil then spec.storageClassName = "local-path" end
  obj.status = obj.status or {}
  obj.status.phase = obj.status.phase or "Pending"
end

function by_kind.Secret(obj)
  obj.type = obj.type or "Opaque"
end

---Fills in defaults on obj (in place). old is the stored object on update.
function M.apply(def, obj, old, api)
  local fn = by_kind[def.kind]
  if fn and def.group ~= nil then fn(obj, old, api) end
end

return M
