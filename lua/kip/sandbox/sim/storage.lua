-- SPDX-License-Identifier: Apache-2.0
-- Volumes in the sandbox, as k3s's local-path provisioner (or the claim's class's provisioner,
-- e.g. Longhorn's) would leave them: every claim gets a PersistentVolume of the size it asked for
-- and is Bound. No disk is touched.
local tables = require "kip.util.tables"
local yaml = require "kip.yaml"

local M = {}

function M.run(sim)
  local api = sim.api
  local pvc_def = api.registry:get("", "v1", "persistentvolumeclaims")
  local pv_def = api.registry:get("", "v1", "persistentvolumes")
  local sc_def = api.registry:get("storage.k8s.io", "v1", "storageclasses")
  for _, pvc in ipairs(api.store:list(pvc_def)) do
    local st = pvc.status or {}
    if st.phase ~= "Bound" and not pvc.metadata.deletionTimestamp then
      local size = tables.get(pvc, "spec.resources.requests.storage") or "1Gi"
      local modes = tables.copy(pvc.spec.accessModes) or yaml.array({ "ReadWriteOnce" })
      local pv_name = "pvc-" .. pvc.metadata.uid
      local class = pvc.spec.storageClassName and api.store:get(sc_def, nil, pvc.spec.storageClassName)
      local provisioner = class and class.provisioner or "rancher.io/local-path"
      if not api.store:get(pv_def, nil, pv_name) then
        api:create(pv_def, nil, {
          metadata = { name = pv_name, annotations = { ["pv.kubernetes.io/provisioned-by"] = provisioner } },
          spec = { capacity = { storage = size }, accessModes = modes, persistentVolumeReclaimPolicy = "Delete",
            storageClassName = pvc.spec.storageClassName, volumeMode = "Filesystem",
            claimRef = { kind = "PersistentVolumeClaim", namespace = pvc.metadata.namespace, name = pvc.metadata.name,
              uid = pvc.metadata.uid, apiVersion = "v1" },
            hostPath = { path = "/var/lib/rancher/k3s/storage/" .. pv_name .. " (simulated)" } },
        }, { manager = provisioner == "rancher.io/local-path" and "local-path-provisioner" or provisioner })
        local pv = api.store:get(pv_def, nil, pv_name)
        api:update(pv_def, nil, pv_name, { metadata = pv.metadata, status = { phase = "Bound" } },
          { manager = "persistentvolume-controller", subresource = "status" })
      end
      local new = tables.copy(pvc)
      new.spec.volumeName = pv_name
      pvc = api:update(pvc_def, pvc.metadata.namespace, pvc.metadata.name, new, { manager = "kube-controller-manager" })
      api:update(pvc_def, pvc.metadata.namespace, pvc.metadata.name,
        { metadata = pvc.metadata, status = { phase = "Bound", accessModes = modes, capacity = { storage = size } } },
        { manager = "kube-controller-manager", subresource = "status" })
    end
  end
end

return M
