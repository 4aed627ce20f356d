-- SPDX-License-Identifier: Apache-2.0
-- How an App is reached: a ClusterIP Service (port 80 to the container's "http" port) and an
-- Ingress for its generated host and its custom host (spec.route.host), each with a cert-manager
-- certificate of its own when the cluster has an issuer. Uses kip.policy.hosts.
local hosts = require "kip.policy.hosts"

local M = {}

---@param app table
---@param selector table<string, string>
---@param labels table<string, string>
---@return table service
function M.service(app, selector, labels)
  return { apiVersion = "v1", kind = "Service",
    metadata = { name = app.metadata.name, namespace = app.metadata.namespace, labels = labels },
    spec = { type = "ClusterIP", selector = selector,
      ports = { { name = "http", port = 80, targetPort = "http", protocol = "TCP" } } } }
end

---The App's hosts, generated first, then custom, each with the Secret its certificate goes to
---(NAME-tls, NAME-custom-tls: stable whichever hosts there are); and why the generated host is
---missing, if it is.
---@return {host: string, tls_secret: string}[] hosts
---@return string|nil problem
function M.hosts(app, cluster)
  local name, list = app.metadata.name, {}
  local generated, problem = hosts.generated(name, app.metadata.namespace, cluster)
  if generated then list[#list + 1] = { host = generated, tls_secret = name .. "-tls" } end
  local custom = app.spec.route and app.spec.route.host
  if custom and custom ~= "" and custom ~= generated then list[#list + 1] = { host = custom, tls_secret = name .. "-custom-tls" } end
  return list, problem
end

---The Ingress for the App's hosts, or nil when it has none.
---@param app table
---@param host_list {host: string, tls_secret: string}[] from M.hosts
---@param cluster table ctx.cluster: {issuer, ingressClass}
---@param labels table<string, string>
---@return table|nil ingress
function M.ingress(app, host_list, cluster, labels)
  if #host_list == 0 then return nil end
  local name = app.metadata.name
  local path = (app.spec.route and app.spec.route.path) or "/"
  local issuer = cluster.issuer ~= nil and cluster.issuer ~= "" and cluster.issuer or nil
  local rules, tls = {}, {}
  for _, h in ipairs(host_list) do
    rules[#rules + 1] = { host = h.host, http = { paths = { { path = path, pathType = "Prefix",
      backend = { service = { name = name, port = { name = "http" } } } } } } }
    if issuer then tls[#tls + 1] = { hosts = { h.host }, secretName = h.tls_secret } end
  end
  local class = cluster.ingressClass ~= nil and cluster.ingressClass ~= "" and cluster.ingressClass or nil
  return { apiVersion = "networking.k8s.io/v1", kind = "Ingress",
    metadata = { name = name, namespace = app.metadata.namespace, labels = labels,
      annotations = issuer and { ["cert-manager.io/cluster-issuer"] = issuer } or nil },
    spec = { ingressClassName = class, rules = rules, tls = issuer and tls or nil } }
end

---The App's URL: its custom host when it has one, else the generated one; nil without hosts.
function M.url(app, host_list, cluster)
  local custom = app.spec.route and app.spec.route.host
  local host = (custom and custom ~= "") and custom or (host_list[1] and host_list[1].host)
  if not host then return nil end
  return hosts.url(host, app.spec.route and app.spec.route.path, cluster.issuer ~= nil and cluster.issuer ~= "")
end

return M
