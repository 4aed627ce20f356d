-- SPDX-License-Identifier: Apache-2.0
-- kipperd's cluster settings: ConfigMap kipper-system/kipper-config (clusterId, zone, issuer,
-- storageClass, ingressClass; written by kip install and kip sandbox up), with --cluster-id and
-- --zone on top. Without the ConfigMap, clusterId is "" (no generated hosts) and the others have
-- their defaults. Uses a kip.k8s client.
local M = {}

M.NAMESPACE = "kipper-system"
M.NAME = "kipper-config"

M.DEFAULTS = { clusterId = "", zone = "kipper.run", issuer = "", storageClass = "local-path", ingressClass = "traefik" }

---The settings from a ConfigMap's data (nil: none) and flags.
---@param data table<string, string>|nil
---@param flags? {cluster_id?: string, zone?: string}
---@return {clusterId: string, zone: string, issuer: string, storageClass: string, ingressClass: string}
function M.merge(data, flags)
  flags = flags or {}
  local s = {}
  for k, v in pairs(M.DEFAULTS) do
    local given = type(data) == "table" and data[k] or nil
    s[k] = type(given) == "string" and given or v
  end
  if flags.cluster_id then s.clusterId = flags.cluster_id end
  if flags.zone then s.zone = flags.zone end
  return s
end

---Reads the ConfigMap through client and merges the flags.
---@param client table a kip.k8s client
---@param flags? {cluster_id?: string, zone?: string}
---@return table|nil settings
---@return string|nil warning (settings still returned) or error (settings nil): the API did not answer
function M.load(client, flags)
  local cm, err, code = client:get("v1", "ConfigMap", M.NAME, M.NAMESPACE)
  if not cm then
    if code == "notfound" then
      return M.merge(nil, flags), string.format("ConfigMap %s/%s not found: using defaults (no cluster ID, so no generated hosts)",
        M.NAMESPACE, M.NAME)
    end
    return nil, string.format("cannot read ConfigMap %s/%s: %s", M.NAMESPACE, M.NAME, tostring(err))
  end
  local s = M.merge(cm.data, flags)
  if s.clusterId == "" then
    return s, string.format("ConfigMap %s/%s has no clusterId: no generated hosts", M.NAMESPACE, M.NAME)
  end
  return s
end

return M
