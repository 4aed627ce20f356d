-- SPDX-License-Identifier: Apache-2.0
-- Host names and URLs: the generated host of an App (NAME-CLUSTERID.ZONE in namespace default,
-- NAME-NAMESPACE-CLUSTERID.ZONE elsewhere), its URL, and the in-cluster host of a Service.
-- Pure Lua.
local M = {}

---The generated public host of an App, or nil (and why) when there is none.
---@param name string
---@param namespace string
---@param cluster table ctx.cluster: {clusterId, zone}
---@return string|nil host
---@return string|nil problem why no host, when the cluster has an id but the label is too long
function M.generated(name, namespace, cluster)
  local id = cluster and cluster.clusterId
  if id == nil or id == "" then return nil end
  local label = namespace == "default" and (name .. "-" .. id) or (name .. "-" .. namespace .. "-" .. id)
  if #label > 63 then
    return nil, string.format("the generated host name %s.%s is longer than DNS allows (%d characters before the zone, at most 63): "
      .. "use a shorter App or namespace name, or set route.host", label, cluster.zone or "kipper.run", #label)
  end
  return label .. "." .. (cluster.zone ~= nil and cluster.zone ~= "" and cluster.zone or "kipper.run")
end

---@param host string
---@param path string|nil the route's path prefix ("/" adds nothing)
---@param tls boolean
---@return string
function M.url(host, path, tls)
  local suffix = (path and path ~= "/") and path or ""
  return (tls and "https://" or "http://") .. host .. suffix
end

---The in-cluster DNS name of a Service.
---@return string NAME.NAMESPACE.svc.cluster.local
function M.service(name, namespace)
  return string.format("%s.%s.svc.cluster.local", name, namespace)
end

return M
