-- SPDX-License-Identifier: Apache-2.0
-- Defaulting the sandbox API applies on create and update. Built-in kinds (of their own group and
-- version only) get what kube-apiserver's defaulters set for the fields people see: Service
-- type, cluster IP and ports, workload replicas and strategy, Pod restart policy and phase,
-- Namespace phase, PVC phase, Secret stringData folded into data. Custom resources get the `default`s of their CRD's structural
-- schema, as kube-apiserver applies them. Uses kip.util.tables and kip.yaml.
local tables = require "kip.util.tables"
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

-- The built-in defaulters, by apiVersion then kind: a custom resource whose kind is also a built-in
-- kind's (kipper.run/v1alpha1 Service) must not get the built-in kind's defaults.
local core, apps, batch = {}, {}, {}
local builtin = { v1 = core, ["apps/v1"] = apps, ["batch/v1"] = batch }

-- stringData is write-only: kube-apiserver folds it into data (base64), stringData winning
function core.Secret(obj)
  obj.type = obj.type or "Opaque"
  if type(obj.stringData) ~= "table" then
    obj.stringData = nil
    return
  end
  local b64 = require("kip.tls").base64_encode
  obj.data = type(obj.data) == "table" and obj.data or {}
  for k, v in pairs(obj.stringData) do
    if type(v) == "string" then obj.data[k] = b64(v) end
  end
  obj.stringData = nil
end

function core.Namespace(obj)
  obj.status = obj.status or {}
  obj.status.phase = obj.status.phase or "Active"
  local spec = spec_of(obj)
  spec.finalizers = spec.finalizers or yaml.array({ "kubernetes" })
  obj.metadata.labels = obj.metadata.labels or {}
  obj.metadata.labels["kubernetes.io/metadata.name"] = obj.metadata.name
end

function core.Service(obj, old, api)
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

function apps.Deployment(obj)
  default_workload(obj)
  local spec = obj.spec
  spec.progressDeadlineSeconds = spec.progressDeadlineSeconds or 600
  spec.strategy = spec.strategy or { type = "RollingUpdate", rollingUpdate = { maxSurge = "25%", maxUnavailable = "25%" } }
end

function apps.StatefulSet(obj)
  default_workload(obj)
  local spec = obj.spec
  spec.podManagementPolicy = spec.podManagementPolicy or "OrderedReady"
  spec.updateStrategy = spec.updateStrategy or { type = "RollingUpdate", rollingUpdate = { partition = 0 } }
end

function apps.ReplicaSet(obj)
  local spec = spec_of(obj)
  if spec.replicas == nil then spec.replicas = 1 end
  if type(spec.template) == "table" and type(spec.template.spec) == "table" then default_pod_spec(spec.template.spec) end
end

function batch.Job(obj)
  local spec = spec_of(obj)
  spec.completions = spec.completions or 1
  spec.parallelism = spec.parallelism or 1
  spec.backoffLimit = spec.backoffLimit or 6
  if type(spec.template) == "table" and type(spec.template.spec) == "table" then
    spec.template.spec.restartPolicy = spec.template.spec.restartPolicy or "Never"
    default_pod_spec(spec.template.spec)
  end
end

function core.Pod(obj)
  default_pod_spec(spec_of(obj))
  obj.status = obj.status or {}
  obj.status.phase = obj.status.phase or "Pending"
end

-- The default storage class: the newest one annotated as default (as kube-apiserver picks it).
local function default_class(api)
  local def = api and api.registry:get("storage.k8s.io", "v1", "storageclasses")
  local best
  for _, sc in ipairs(def and api.store:list(def) or {}) do
    local a = sc.metadata.annotations or {}
    if a["storageclass.kubernetes.io/is-default-class"] == "true" and
        (not best or (sc.metadata.creationTimestamp or "") >= (best.metadata.creationTimestamp or "")) then
      best = sc
    end
  end
  return best and best.metadata.name
end

function core.PersistentVolumeClaim(obj, old, api)
  local spec = spec_of(obj)
  spec.volumeMode = spec.volumeMode or "Filesystem"
  if spec.storageClassName == nil then
    spec.storageClassName = old and old.spec and old.spec.storageClassName or default_class(api)
  end
  obj.status = obj.status or {}
  obj.status.phase = obj.status.phase or "Pending"
end

-- --- structural schema defaults (custom resources) ---------------------------------------------

local null = yaml.null

local function has_default(s)
  return type(s) == "table" and s.default ~= nil and s.default ~= null
end

-- A null where the schema does not allow one (nullable unset or false).
local function non_nullable_null(v, s)
  return v == null and type(s) == "table" and not s.nullable
end

local function is_list(v)
  return yaml.is_array(v) or #v > 0
end

local function field_schema(s, k)
  if type(s) ~= "table" then return nil end
  local p = type(s.properties) == "table" and s.properties[k]
  if p then return p end
  if type(s.additionalProperties) == "table" then return s.additionalProperties end
  return nil
end

-- Drops the nulls of fields that may not be null and have no default (defaulting fills the others),
-- as kube-apiserver's PruneNonNullableNullsWithoutDefaults.
local function prune_nulls(x, s)
  if type(x) ~= "table" or type(s) ~= "table" then return end
  if is_list(x) then
    for i = 1, #x do prune_nulls(x[i], s.items) end
    return
  end
  for k, v in pairs(x) do
    local fs = field_schema(s, k)
    if non_nullable_null(v, fs) and not has_default(fs) then
      x[k] = nil
    else
      prune_nulls(v, fs)
    end
  end
end

-- Fills in defaults as kube-apiserver's structural defaulting does: a property with a default is
-- set when it is missing (or null and not nullable) in an object that exists, then every value is
-- defaulted in turn, so an object made from a default gets its own properties' defaults, while an
-- absent object stays absent. Defaults are copied.
local function default_value(x, s)
  if type(x) ~= "table" or type(s) ~= "table" then return end
  if is_list(x) then
    local items = s.items
    for i = 1, #x do
      if non_nullable_null(x[i], items) and has_default(items) then x[i] = tables.copy(items.default) end
      default_value(x[i], items)
    end
    return
  end
  if type(s.properties) == "table" then
    for k, prop in pairs(s.properties) do
      if has_default(prop) and (x[k] == nil or non_nullable_null(x[k], prop)) then x[k] = tables.copy(prop.default) end
    end
  end
  local extra = type(s.additionalProperties) == "table" and s.additionalProperties or nil
  for k, v in pairs(x) do
    local prop = type(s.properties) == "table" and s.properties[k]
    if prop then
      default_value(v, prop)
    elseif extra then
      if non_nullable_null(v, extra) and has_default(extra) then
        x[k] = tables.copy(extra.default)
        v = x[k]
      end
      default_value(v, extra)
    end
  end
end

---Applies a structural schema's defaults to obj (in place), after dropping the nulls the schema
---does not allow and that have no default (as kube-apiserver does for custom resources).
---@param schema table an openAPIV3Schema
---@param obj table the whole object
function M.structural(schema, obj)
  prune_nulls(obj, schema)
  default_value(obj, schema)
end

---Fills in defaults on obj (in place). old is the stored object on update. Built-in kinds get
---their defaulter only in their own group and version; custom resources their CRD's defaults.
function M.apply(def, obj, old, api)
  if def.crd then
    if type(def.openapi) == "table" then M.structural(def.openapi, obj) end
    return
  end
  local fn = builtin[def.api_version] and builtin[def.api_version][def.kind]
  if fn then fn(obj, old, api) end
end

return M
