-- SPDX-License-Identifier: Apache-2.0
-- The sandbox's one node: named after the host, Ready, a control-plane node as k3s makes it,
-- with capacity for pods. Uses the sandbox API's write path.
local yaml = require "kip.yaml"

local M = {}

function M.ensure(sim)
  local api = sim.api
  local def = api.registry:get("", "v1", "nodes")
  if api.store:get(def, nil, sim.node_name) then return end
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local obj = api:create(def, nil, {
    metadata = { name = sim.node_name, labels = {
      ["kubernetes.io/hostname"] = sim.node_name, ["kubernetes.io/os"] = "linux", ["kubernetes.io/arch"] = "amd64",
      ["node-role.kubernetes.io/control-plane"] = "true", ["node-role.kubernetes.io/master"] = "true",
      ["node.kubernetes.io/instance-type"] = "kip-sandbox" } },
    spec = { podCIDR = "10.42.0.0/24" },
  }, { manager = "k3s" })
  obj = api.store:get(def, nil, obj.metadata.name)
  local st = {
    conditions = yaml.array({
      { type = "MemoryPressure", status = "False", reason = "KubeletHasSufficientMemory", message = "simulated by kip sandbox", lastHeartbeatTime = now, lastTransitionTime = now },
      { type = "DiskPressure", status = "False", reason = "KubeletHasNoDiskPressure", message = "simulated by kip sandbox", lastHeartbeatTime = now, lastTransitionTime = now },
      { type = "PIDPressure", status = "False", reason = "KubeletHasSufficientPID", message = "simulated by kip sandbox", lastHeartbeatTime = now, lastTransitionTime = now },
      { type = "Ready", status = "True", reason = "KubeletReady", message = "simulated by kip sandbox: no containers run on this node", lastHeartbeatTime = now, lastTransitionTime = now },
    }),
    addresses = yaml.array({ { type = "InternalIP", address = sim.node_ip }, { type = "Hostname", address = sim.node_name } }),
    capacity = { cpu = "4", memory = "8Gi", pods = "110", ["ephemeral-storage"] = "100Gi" },
    allocatable = { cpu = "4", memory = "8Gi", pods = "110", ["ephemeral-storage"] = "100Gi" },
    nodeInfo = { kubeletVersion = "v1.34.0+kip-sandbox", kubeProxyVersion = "v1.34.0+kip-sandbox", operatingSystem = "linux",
      architecture = "amd64", containerRuntimeVersion = "kip-sandbox://simulated", osImage = "kip sandbox (simulated)",
      kernelVersion = "", machineID = "", systemUUID = "", bootID = "" },
  }
  local with_status = { metadata = obj.metadata, status = st }
  api:update(def, nil, sim.node_name, with_status, { manager = "k3s", subresource = "status" })
end

return M
