-- SPDX-License-Identifier: Apache-2.0
-- metrics.k8s.io/v1beta1 in the sandbox API, as metrics-server serves it: PodMetrics and
-- NodeMetrics (get and list, label selectors) with simulated usage, so `kubectl top` and the
-- auto-tuner have numbers. A container uses half of its memory and CPU requests unless
-- annotations on its pod, or on the pod's ReplicaSet or Deployment, say otherwise:
-- sandbox.kipper.run/memory-usage and sandbox.kipper.run/cpu-usage ("900Mi", "250m", or "95%" of
-- the request). Uses kip.json, kip.policy.quantity, kip.sandbox.selectors, kip.sandbox.status and
-- kip.util.time.
local json = require "kip.json"
local quantity = require "kip.policy.quantity"
local selectors = require "kip.sandbox.selectors"
local status = require "kip.sandbox.status"
local time = require "kip.util.time"
local yaml = require "kip.yaml"

local M = {}

M.GROUP, M.VERSION = "metrics.k8s.io", "v1beta1"
M.MEMORY_USAGE = "sandbox.kipper.run/memory-usage"
M.CPU_USAGE = "sandbox.kipper.run/cpu-usage"
M.OOM = "sandbox.kipper.run/oom"
M.DEFAULT_SHARE = { memory = 0.5, cpu = 0.5 } -- inside the auto-tuner's 30-90% band
M.FALLBACK = { memory = 64 * 2 ^ 20, cpu = 0.005 } -- a container without a request
M.WINDOW = "30s"

---Adds PodMetrics and NodeMetrics to the API's resources (discovery lists them).
function M.install(api)
  for _, d in ipairs({
    { kind = "PodMetrics", resource = "pods", namespaced = true },
    { kind = "NodeMetrics", resource = "nodes", namespaced = false },
  }) do
    api.registry:add({ group = M.GROUP, version = M.VERSION, kind = d.kind, resource = d.resource, namespaced = d.namespaced,
      verbs = { "get", "list" }, metrics = true })
  end
end

-- The owner of obj of a kind (its controller reference), from the store.
local function owner(api, obj, group, resource, kind)
  for _, r in ipairs(obj.metadata.ownerReferences or {}) do
    if r.kind == kind then
      return api.store:get(api.registry:get(group, "v1", resource), obj.metadata.namespace, r.name)
    end
  end
end

---The value of a sandbox annotation for a pod: the pod's own, else its ReplicaSet's, else that
---ReplicaSet's Deployment's.
---@return string|nil
function M.annotation(api, pod, key)
  local obj = pod
  for _, step in ipairs({ false, { "apps", "replicasets", "ReplicaSet" }, { "apps", "deployments", "Deployment" } }) do
    if step then obj = owner(api, obj, step[1], step[2], step[3]) end
    if not obj then return nil end
    local v = (obj.metadata.annotations or {})[key]
    if v ~= nil then return v end
  end
end

local function requested(container, res)
  local r = container.resources or {}
  return quantity.parse((r.requests or {})[res]) or quantity.parse((r.limits or {})[res])
end

---The simulated usage of each container of a pod: {name, cpu (cores), memory (bytes)}.
---@return {name: string, cpu: number, memory: number}[]
function M.usage(api, pod)
  local out = {}
  local given = { memory = M.annotation(api, pod, M.MEMORY_USAGE), cpu = M.annotation(api, pod, M.CPU_USAGE) }
  for _, c in ipairs((pod.spec or {}).containers or {}) do
    local u = { name = c.name }
    for _, res in ipairs({ "memory", "cpu" }) do
      local req = requested(c, res)
      local text = given[res]
      local pct = type(text) == "string" and tonumber(text:match("^(%d+%.?%d*)%%$"))
      if pct then
        u[res] = (req or M.FALLBACK[res]) * pct / 100
      elseif text and quantity.parse(text) then
        u[res] = quantity.parse(text)
      else
        u[res] = req and req * M.DEFAULT_SHARE[res] or M.FALLBACK[res]
      end
    end
    out[#out + 1] = u
  end
  return out
end

local function memory_text(n) return string.format("%dKi", math.floor(n / 1024 + 0.5)) end
local function cpu_text(n) return string.format("%dn", math.floor(n * 1e9 + 0.5)) end

local function running(pod)
  return (pod.status or {}).phase == "Running" and not pod.metadata.deletionTimestamp
end

local function pod_metrics(api, pod)
  local containers = yaml.array({})
  for _, u in ipairs(M.usage(api, pod)) do
    containers[#containers + 1] = { name = u.name, usage = { cpu = cpu_text(u.cpu), memory = memory_text(u.memory) } }
  end
  local md = pod.metadata
  return { kind = "PodMetrics", apiVersion = M.GROUP .. "/" .. M.VERSION,
    metadata = { name = md.name, namespace = md.namespace, labels = md.labels, creationTimestamp = time.format_rfc3339() },
    timestamp = time.format_rfc3339(), window = M.WINDOW, containers = containers }
end

local function node_metrics(api, node)
  local cpu, mem = 0.05, 256 * 2 ^ 20 -- the node's own use
  for _, pod in ipairs(api.store:list(api.registry:get("", "v1", "pods"))) do
    if running(pod) and pod.spec.nodeName == node.metadata.name then
      for _, u in ipairs(M.usage(api, pod)) do
        cpu, mem = cpu + u.cpu, mem + u.memory
      end
    end
  end
  return { kind = "NodeMetrics", apiVersion = M.GROUP .. "/" .. M.VERSION,
    metadata = { name = node.metadata.name, labels = node.metadata.labels, creationTimestamp = time.format_rfc3339() },
    timestamp = time.format_rfc3339(), window = M.WINDOW, usage = { cpu = cpu_text(cpu), memory = memory_text(mem) } }
end

local function respond(body)
  return { status = 200, headers = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-cache, private" },
    body = assert(json.encode(body)) }
end

---Answers GET of a PodMetrics or NodeMetrics list or object (only running pods have metrics).
---@param def table the resource (PodMetrics or NodeMetrics)
---@param ns string|nil
---@param name string|nil
---@param q table the query
function M.serve(api, def, ns, name, q, method)
  if method ~= "GET" then status.method_not_allowed(method .. " is not supported on " .. def.resource .. "." .. M.GROUP) end
  local label, lerr = selectors.parse_labels(q.labelSelector)
  if not label then status.bad_request("unable to parse labelSelector: " .. lerr) end
  local source = def.kind == "PodMetrics" and api.registry:get("", "v1", "pods") or api.registry:get("", "v1", "nodes")
  local build = def.kind == "PodMetrics" and pod_metrics or node_metrics
  if name then
    local obj = api.store:get(source, ns, name)
    if not obj or (def.kind == "PodMetrics" and not running(obj)) then status.not_found(def, name) end
    return respond(build(api, obj))
  end
  local items = yaml.array({})
  for _, obj in ipairs(api.store:list(source, ns)) do
    if label(obj.metadata.labels) and (def.kind == "NodeMetrics" or running(obj)) then items[#items + 1] = build(api, obj) end
  end
  return respond({ kind = def.kind .. "List", apiVersion = M.GROUP .. "/" .. M.VERSION,
    metadata = { resourceVersion = "" }, items = items })
end

return M
