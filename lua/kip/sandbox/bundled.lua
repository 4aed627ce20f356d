-- SPDX-License-Identifier: Apache-2.0
-- The manifests k3s writes into its auto-deploy folder every time its server starts (here:
-- traefik.yaml, the HelmCharts of its bundled Traefik), so a sandbox with --manifests-dir has the
-- ingress controller a k3s server has; `--disable traefik` leaves it out, as k3s's flag does (and
-- removes the file, as k3s does). Uses kip.fs.
local fs = require "kip.fs"

local M = {}

M.TRAEFIK_VERSION = "34.2.1+up34.2.0"

local TRAEFIK = [[
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: traefik-crd
  namespace: kube-system
spec:
  chart: https://%{KUBERNETES_API}%/static/charts/traefik-crd-@V@.tgz
---
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: traefik
  namespace: kube-system
spec:
  chart: https://%{KUBERNETES_API}%/static/charts/traefik-@V@.tgz
  set:
    global.systemDefaultRegistry: ""
  valuesContent: |-
    deployment:
      podAnnotations:
        prometheus.io/port: "8082"
        prometheus.io/scrape: "true"
    providers:
      kubernetesIngress:
        publishedService:
          enabled: true
    priorityClassName: "system-cluster-critical"
    service:
      ipFamilyPolicy: "PreferDualStack"
]]

---Writes (or, when disabled, removes) the bundled manifests in dir.
---@param dir string
---@param disabled table<string, boolean> e.g. {traefik = true}
---@return boolean|nil ok
---@return string|nil message
function M.write(dir, disabled)
  local path = dir .. "/traefik.yaml"
  if disabled.traefik then
    fs.remove(path)
    return true
  end
  local ok, err = fs.mkdir(dir)
  if not ok then return nil, err end
  local text = TRAEFIK:gsub("@V@", M.TRAEFIK_VERSION)
  if fs.read(path) == text then return true end
  return fs.write(path, text, { mode = "0600" })
end

return M
