-- SPDX-License-Identifier: Apache-2.0
-- The health of an installed cluster, read through the Kubernetes API: the API server, the nodes
-- and each component Kipper relies on (its resource types, cert-manager and the Let's Encrypt
-- issuer, storage, Traefik, kipperd). For `kip status`. Uses a kip.k8s client and kip.install.apply.
local apply = require "kip.install.apply"
local crds = require "kip.platform.crds"

local M = {}

local function deployments(c, namespace, names)
  for _, n in ipairs(names) do
    local d = c:get("apps/v1", "Deployment", n, namespace)
    if not d then return "missing", string.format("deployment %s/%s does not exist", namespace, n) end
    local ok, why = apply.deployment_ready(d)
    if not ok then return "unhealthy", string.format("deployment %s/%s: %s", namespace, n, why) end
  end
  return "healthy", string.format("%d/%d deployments ready", #names, #names)
end

local CHECKS = {
  { name = "kipper resource types", check = function(c)
    for _, name in ipairs(crds.names()) do
      local crd = c:get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
      if not crd then return "missing", name .. " is not installed" end
      if apply.condition(crd, "Established") ~= "True" then return "unhealthy", name .. " is not established" end
    end
    return "healthy", table.concat(crds.names(), ", ")
  end },
  { name = "cert-manager", check = function(c)
    return deployments(c, "cert-manager", { "cert-manager", "cert-manager-webhook", "cert-manager-cainjector" })
  end },
  { name = "letsencrypt issuer", check = function(c)
    local ok, issuer = pcall(c.get, c, "cert-manager.io/v1", "ClusterIssuer", "letsencrypt")
    if not ok or not issuer then return "off", "not set up (install with --admin-email for HTTPS certificates)" end
    local status, message = apply.condition(issuer, "Ready")
    return status == "True" and "healthy" or "unhealthy", message or "no Ready condition yet"
  end },
  { name = "storage", check = function(c)
    local list = c:list("storage.k8s.io/v1", "StorageClass")
    for _, sc in ipairs(list and list.items or {}) do
      local a = sc.metadata.annotations or {}
      if a["storageclass.kubernetes.io/is-default-class"] == "true" then
        return "healthy", string.format("default StorageClass %s (%s)", sc.metadata.name, sc.provisioner)
      end
    end
    return "unhealthy", "no default StorageClass"
  end },
  { name = "traefik", check = function(c) return deployments(c, "kube-system", { "traefik" }) end },
  { name = "kipperd", check = function(c) return deployments(c, "kipper-system", { "kipperd" }) end },
}

local function node_row(n)
  local roles = {}
  for label in pairs(n.metadata.labels or {}) do
    local role = label:match("^node%-role%.kubernetes%.io/(.+)$")
    if role then roles[#roles + 1] = role end
  end
  table.sort(roles)
  local ready = apply.condition(n, "Ready")
  local status = ready == "True" and "Ready" or "NotReady"
  if n.spec and n.spec.unschedulable then status = status .. ",SchedulingDisabled" end
  local ip
  for _, a in ipairs(n.status and n.status.addresses or {}) do if a.type == "InternalIP" then ip = a.address end end
  local annotations = n.metadata.annotations or {}
  return { name = n.metadata.name, status = status, ready = ready == "True",
    roles = #roles > 0 and table.concat(roles, ",") or "<none>",
    version = n.status and n.status.nodeInfo and n.status.nodeInfo.kubeletVersion, internal_ip = ip,
    host = annotations["kipper.run/ssh-host"], created = n.metadata.creationTimestamp }
end
M.node_row = node_row

---@param c table a kip.k8s client
---@return table|nil report {server, version, api, nodes, components}; nil, message when the API is unreachable
function M.report(c)
  local r, err = c:request("GET", "/version")
  if not r then return nil, err end
  local info = type(r) == "table" and r or {}
  local report = { version = info.gitVersion, nodes = {}, components = {} }
  local nodes, nerr = c:list("v1", "Node")
  if not nodes then return nil, nerr end
  for _, n in ipairs(nodes.items or {}) do report.nodes[#report.nodes + 1] = node_row(n) end
  table.sort(report.nodes, function(a, b) return a.name < b.name end)
  for _, item in ipairs(CHECKS) do
    local ok, state, detail = pcall(item.check, c)
    if not ok then state, detail = "unknown", tostring(state) end
    report.components[#report.components + 1] = { name = item.name, state = state, detail = detail }
  end
  report.healthy = true
  for _, comp in ipairs(report.components) do
    if comp.state ~= "healthy" and comp.state ~= "off" then report.healthy = false end
  end
  for _, n in ipairs(report.nodes) do if not n.ready then report.healthy = false end end
  return report
end

return M
