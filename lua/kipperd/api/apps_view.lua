-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.apps_view: how the console API shows an App. AppSummary (name, image, replicas,
-- status, URL) from the App alone; AppDetail adds what kipperd made for it, read from the cluster:
-- its pods, resources (the Deployment's, else the spec's), hosts (its Ingress), revision, secret
-- names (never values), recent events (the App's and its pods', newest first) and the
-- auto-tuner's state. Uses kip.apps.{events,format,history,pods,secrets}, kipperd.api.conditions and
-- kip.json.
local conditions = require "kipperd.api.conditions"
local events = require "kip.apps.events"
local format = require "kip.apps.format"
local json = require "kip.json"
local pods = require "kip.apps.pods"
local secrets = require "kip.apps.secrets"

local M = {}

M.EVENTS = 20 -- at most this many events in AppDetail
M.REVISION = "kipper.run/revision" -- on the App's Deployment: the revision it runs

---The App's status word: "Ready", "Progressing", "Failed", "Scaled to zero" or "Unknown".
---@param app table the App
---@return string
function M.status(app)
  local phase = app.status and app.status.phase
  if phase == "Failed" then return "Failed" end
  if app.spec and app.spec.replicas == 0 then return "Scaled to zero" end
  if phase == "Ready" then
    local gen = app.metadata.generation or 0
    return (app.status.observedGeneration or gen) >= gen and "Ready" or "Progressing"
  end
  if phase == "Progressing" or phase == "Pending" then return "Progressing" end
  return "Unknown"
end

---An App as a list shows it.
---@param app table the App
---@param env? string its project environment
---@return table AppSummary
function M.summary(app, env)
  local spec, st = app.spec or {}, app.status or {}
  return {
    name = app.metadata.name, namespace = app.metadata.namespace, environment = env or "default",
    image = spec.image, replicas = spec.replicas or 1, ready_replicas = st.readyReplicas or 0,
    status = M.status(app), url = st.url, created_at = app.metadata.creationTimestamp,
  }
end

-- Why a pod is not running well: a waiting or terminated container's reason.
local function pod_reason(st)
  for _, cs in ipairs(st.containerStatuses or {}) do
    local s = cs.state or {}
    if s.waiting and s.waiting.reason then return s.waiting.reason end
    if s.terminated and s.terminated.reason then return s.terminated.reason end
  end
  return st.reason
end

---A pod as AppDetail shows it.
function M.pod(pod)
  local st, sum = pod.status or {}, pods.summary(pod)
  return { name = pod.metadata.name, phase = sum.phase, ready = sum.total > 0 and sum.ready == sum.total,
    restarts = sum.restarts, node = pod.spec and pod.spec.nodeName, started_at = st.startTime, reason = pod_reason(st) }
end

-- The resources of the App's container: the Deployment's (kipperd applied profiles and limits),
-- else the spec's requests.
local function resources(app, dep)
  local tmpl = dep and dep.spec and dep.spec.template and dep.spec.template.spec
  local ctr = tmpl and tmpl.containers and tmpl.containers[1]
  if ctr and ctr.resources then
    return { requests = ctr.resources.requests or {}, limits = ctr.resources.limits or {} }
  end
  local r = app.spec.resources or {}
  return { requests = { cpu = r.cpu, memory = r.memory }, limits = { cpu = r.cpuLimit, memory = r.memoryLimit } }
end

local function hosts(app, ingress)
  local out = {}
  for _, rule in ipairs(ingress and ingress.spec and ingress.spec.rules or {}) do
    if rule.host then out[#out + 1] = rule.host end
  end
  if #out == 0 and app.spec.route and app.spec.route.host then out[1] = app.spec.route.host end
  return json.array(out)
end

local function autotune(app)
  local spec = app.spec.autotune or {}
  local st = app.status and app.status.autotune or {}
  return { mode = spec.mode or "off", max_memory = spec.maxMemory, recommendation = st.recommendation,
    last_change = st.lastChange, blocked = st.blocked }
end

local function recent_events(c, app)
  local rows = events.recent(c, app.metadata.namespace, app.metadata.name, M.EVENTS)
  local out = {}
  for i = #rows, 1, -1 do
    local r = rows[i]
    out[#out + 1] = { type = r.type, reason = r.reason, message = r.message, object = r.object, count = r.count or 1,
      last_seen = r.time }
  end
  return json.array(out)
end

---The revision the App runs: its Deployment's, else the newest one recorded.
local function revision(c, app, dep)
  local ann = dep and dep.metadata.annotations or {}
  local n = math.tointeger(tonumber(ann[M.REVISION]))
  if n then return n end
  local revs = require("kip.apps.history").list(c, app)
  return revs[#revs] and revs[#revs].revision or nil
end

---An App with everything the console's detail panel shows.
---@param c table kip.k8s client
---@param app table the App
---@param env? string its project environment
---@return table AppDetail
function M.detail(c, app, env)
  local ns, name = app.metadata.namespace, app.metadata.name
  local out = M.summary(app, env)
  local dep = c:get("apps/v1", "Deployment", name, ns)
  local ingress = c:get("networking.k8s.io/v1", "Ingress", name, ns)
  local pod_views = {}
  for _, p in ipairs(pods.list(c, ns, name)) do pod_views[#pod_views + 1] = M.pod(p) end
  out.port = app.spec.port or 8080
  out.env = app.spec.env or {}
  out.secrets = json.array(secrets.keys(secrets.get(c, ns, name)))
  out.resources = resources(app, dep)
  out.hosts = hosts(app, ingress)
  out.conditions = conditions.view(app)
  out.pods = json.array(pod_views)
  out.revision = revision(c, app, dep)
  out.autotune = autotune(app)
  out.events = recent_events(c, app)
  out.health_path = app.spec.healthCheck and app.spec.healthCheck.path
  out.age = format.age(app.metadata.creationTimestamp)
  return out
end

return M
