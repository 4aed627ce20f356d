-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.cluster: the cluster's health for the console (any user). GET /api/v1/cluster: the
-- cluster's ID and zone (kipperd's settings), kipperd's and the API server's versions, the nodes
-- (Ready condition, roles from node-role labels, kubelet version, address, capacity) and the
-- components (every Deployment and DaemonSet in kube-system, kipper-system and cert-manager, plus
-- the ones Kipper expects listed as "not installed" when absent, except kipperd itself: without
-- its Deployment it is the process answering, running outside the cluster); healthy when every
-- node is Ready and every installed component is. GET /api/v1/dashboard: counts over the projects the
-- caller may see (apps by status, services, routes) with the nodes and the health. Uses
-- kip.install.health (node rows), kipperd.api.environment, .routes, .services and .router.
local environment = require "kipperd.api.environment"
local health = require "kip.install.health"
local json = require "kip.json"
local router = require "kipperd.api.router"

local M = {}

M.NAMESPACES = { "kube-system", "kipper-system", "cert-manager" }

-- Components a Kipper cluster normally has: listed even when missing.
M.EXPECTED = {
  { namespace = "kipper-system", name = "kipperd", kind = "Deployment" },
  { namespace = "kube-system", name = "traefik", kind = "Deployment" },
  { namespace = "kube-system", name = "coredns", kind = "Deployment" },
  { namespace = "kube-system", name = "metrics-server", kind = "Deployment" },
  { namespace = "kube-system", name = "local-path-provisioner", kind = "Deployment" },
  { namespace = "cert-manager", name = "cert-manager", kind = "Deployment" },
}

---A Node as the API shows it.
function M.node_view(n)
  local row = health.node_row(n)
  local roles = {}
  for label in pairs(n.metadata.labels or {}) do
    local role = label:match("^node%-role%.kubernetes%.io/(.+)$")
    if role then roles[#roles + 1] = role end
  end
  table.sort(roles)
  local cap = n.status and n.status.capacity or {}
  return { name = row.name, ready = row.ready, status = row.status, roles = json.array(roles),
    kubelet_version = row.version, internal_ip = row.internal_ip, cpu = cap.cpu, memory = cap.memory,
    unschedulable = (n.spec and n.spec.unschedulable) == true, created_at = row.created }
end

---A Deployment or DaemonSet as a component: {name, namespace, kind, ready, replicas, ready_replicas, message}.
function M.component_view(obj, kind)
  local s, spec, md = obj.status or {}, obj.spec or {}, obj.metadata
  local want, have
  if kind == "DaemonSet" then
    want, have = s.desiredNumberScheduled or 0, s.numberReady or 0
  else
    want, have = spec.replicas or 1, s.readyReplicas or 0
  end
  local rolling = (s.observedGeneration or 0) < (md.generation or 0)
  local ready = not rolling and have >= want
  local message
  if rolling then message = "rolling out"
  elseif want == 0 then message = "scaled to zero"
  else message = string.format("%d/%d ready", have, want) end
  return { name = md.name, namespace = md.namespace, kind = kind, ready = ready, replicas = want,
    ready_replicas = have, message = message }
end

---The cluster's nodes (views, sorted) or nil and a message.
function M.nodes(c)
  local list, err = c:list("v1", "Node", { all = true })
  if not list then return nil, err end
  local out = {}
  for _, n in ipairs(list.items or {}) do out[#out + 1] = M.node_view(n) end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

---How the kipperd answering shows when no kipperd Deployment exists: it runs outside the cluster
---(kip sandbox up, a developer's machine), up since it is answering.
---@param version string this kipperd's version
function M.outside_view(version)
  return { name = "kipperd", namespace = "", kind = "Process", ready = true, installed = true, replicas = 1,
    ready_replicas = 1, message = string.format("running outside the cluster (this kipperd, version %s)", version) }
end

---The components (views, sorted by namespace and name) or nil and a message. With this_version
---(the version of the kipperd asking), a missing kipperd Deployment shows as this process
---running outside the cluster instead of "not installed".
---@param c table kip.k8s client
---@param this_version? string
function M.components(c, this_version)
  local out, seen = {}, {}
  for _, ns in ipairs(M.NAMESPACES) do
    for _, kind in ipairs({ "Deployment", "DaemonSet" }) do
      local list, err, code = c:list("apps/v1", kind, { namespace = ns, all = true })
      if not list and code ~= "notfound" and code ~= "forbidden" then return nil, err end
      for _, obj in ipairs(list and list.items or {}) do
        out[#out + 1] = M.component_view(obj, kind)
        seen[ns .. "/" .. obj.metadata.name] = true
      end
    end
  end
  for _, e in ipairs(M.EXPECTED) do
    local missing = not seen[e.namespace .. "/" .. e.name]
    if missing and e.name == "kipperd" and this_version then
      out[#out + 1] = M.outside_view(this_version)
    elseif missing then
      out[#out + 1] = { name = e.name, namespace = e.namespace, kind = e.kind, ready = false, installed = false,
        replicas = 0, ready_replicas = 0, message = "not installed" }
    end
  end
  for _, comp in ipairs(out) do
    if comp.installed == nil then comp.installed = true end
  end
  table.sort(out, function(a, b)
    if a.namespace ~= b.namespace then return a.namespace < b.namespace end
    return a.name < b.name
  end)
  return out
end

---Whether nodes and components are healthy: at least one node, every node Ready, every installed
---component ready.
function M.healthy(nodes, components)
  if #nodes == 0 then return false end
  for _, n in ipairs(nodes) do if not n.ready then return false end end
  for _, comp in ipairs(components) do
    if comp.installed and not comp.ready then return false end
  end
  return true
end

---The cluster report of GET /api/v1/cluster, or nil and a message.
function M.report(c, deps)
  local version, verr = c:request("GET", "/version")
  if not version then return nil, verr end
  local nodes, nerr = M.nodes(c)
  if not nodes then return nil, nerr end
  local components, cerr = M.components(c, deps.version)
  if not components then return nil, cerr end
  local settings = deps.engine and deps.engine.cluster or {}
  return {
    cluster_id = settings.clusterId, zone = settings.zone, issuer = settings.issuer,
    kipperd_version = deps.version, kubernetes_version = type(version) == "table" and version.gitVersion or nil,
    healthy = M.healthy(nodes, components), nodes = json.array(nodes), components = json.array(components),
  }
end

-- Apps of namespaces counted by phase: {total, ready, progressing, failed}.
local function count_apps(c, namespaces)
  local apps, err = environment.list_in(c, "kipper.run/v1alpha1", "App", namespaces)
  if not apps then return nil, err end
  local out = { total = #apps, ready = 0, progressing = 0, failed = 0 }
  for _, app in ipairs(apps) do
    local phase = app.status and app.status.phase
    if phase == "Ready" then out.ready = out.ready + 1
    elseif phase == "Failed" then out.failed = out.failed + 1
    else out.progressing = out.progressing + 1 end
  end
  return out
end

---The dashboard of GET /api/v1/dashboard for a user, or nil and a message.
---@param c table kip.k8s client
---@param user {email: string, role: string}
---@param this_version? string the version of the kipperd asking (see M.components)
function M.dashboard(c, user, this_version)
  local projects, namespaces = environment.visible_namespaces(c, user)
  if not projects then return nil, namespaces end
  local apps, aerr = count_apps(c, namespaces)
  if not apps then return nil, aerr end
  local services, serr = require("kipperd.api.services").count(c, namespaces)
  if not services then return nil, serr end
  local routes, rerr = require("kipperd.api.routes").list(c, user, { tls = false, namespaces = namespaces })
  if not routes then return nil, rerr end
  local nodes, nerr = M.nodes(c)
  if not nodes then return nil, nerr end
  local components, cerr = M.components(c, this_version)
  if not components then return nil, cerr end
  local ready_nodes = 0
  for _, n in ipairs(nodes) do if n.ready then ready_nodes = ready_nodes + 1 end end
  return { projects = #projects, apps = apps, services = services, nodes = { total = #nodes, ready = ready_nodes },
    routes = #routes, healthy = M.healthy(nodes, components) }
end

---Adds the cluster routes.
---@param r table kipperd.api.router
---@param deps kipperd.api.Deps
function M.routes(r, deps)
  r:add("GET", "/api/v1/cluster", function(req)
    local user, res = deps.access:user(req)
    if not user then return res end
    local report, err = M.report(deps.client, deps)
    if not report then return router.api_failed(err) end
    return router.json(200, report)
  end, { summary = "The cluster's health: nodes, components and versions", tag = "Cluster", access = "any user",
    description = "Components are the Deployments and DaemonSets of kube-system, kipper-system and cert-manager; " ..
      "expected ones that are missing have installed = false (message \"not installed\") and do not make the cluster " ..
      "unhealthy. Without a kipperd Deployment, kipperd is the process answering, running outside the cluster " ..
      "(kind \"Process\", namespace \"\", ready). healthy: at least one node, every node Ready, every installed " ..
      "component ready.",
    optional = { "cluster_id", "zone", "issuer", "kubernetes_version", "kubelet_version", "internal_ip", "cpu", "memory", "created_at" },
    response = { cluster_id = "203-0-113-10", zone = "kipper.run", issuer = "letsencrypt", kipperd_version = "0.7.0",
      kubernetes_version = "v1.33.1+k3s1", healthy = true,
      nodes = { { name = "server-1", ready = true, status = "Ready", roles = { "control-plane", "master" },
        kubelet_version = "v1.33.1+k3s1", internal_ip = "10.0.0.2", cpu = "4", memory = "8036732Ki",
        unschedulable = false, created_at = "2026-01-01T00:00:00Z" } },
      components = { M.outside_view("0.7.0"), { name = "traefik", namespace = "kube-system", kind = "Deployment",
        ready = true, installed = true, replicas = 1, ready_replicas = 1, message = "1/1 ready" } } } })

  r:add("GET", "/api/v1/dashboard", function(req)
    local user, res = deps.access:user(req)
    if not user then return res end
    local summary, err = M.dashboard(deps.client, user, deps.version)
    if not summary then return router.api_failed(err) end
    return router.json(200, summary)
  end, { summary = "Counts for the dashboard over the projects the caller may see", tag = "Cluster", access = "any user",
    response = { projects = 2, apps = { total = 5, ready = 4, progressing = 1, failed = 0 }, services = { total = 2, ready = 2 },
      nodes = { total = 1, ready = 1 }, routes = 5, healthy = true } })
end

return M
