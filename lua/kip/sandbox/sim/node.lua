-- SPDX-License-Identifier: Apache-2.0
-- Simulated nodes: the sandbox's own one (named after the host, Ready, a control-plane node as
-- k3s makes it) and the shape every simulated kubelet reports (labels, Ready conditions with
-- heartbeats, capacity, nodeInfo), which `kip sandbox agent` reuses for the nodes it joins.
-- Uses the sandbox API's write path.
local time = require "kip.util.time"
local yaml = require "kip.yaml"

local M = {}

M.KUBELET_VERSION = "v1.34.0+kip-sandbox"

---The labels a k3s node carries.
---@param opts {arch?: string, control_plane?: boolean, instance_type?: string}
function M.labels(name, opts)
  local arch = opts.arch or "amd64"
  local labels = {
    ["kubernetes.io/hostname"] = name, ["kubernetes.io/os"] = "linux", ["kubernetes.io/arch"] = arch,
    ["beta.kubernetes.io/os"] = "linux", ["beta.kubernetes.io/arch"] = arch,
    ["node.kubernetes.io/instance-type"] = opts.instance_type or "k3s",
    ["beta.kubernetes.io/instance-type"] = opts.instance_type or "k3s",
  }
  if opts.control_plane then
    labels["node-role.kubernetes.io/control-plane"] = "true"
    labels["node-role.kubernetes.io/master"] = "true"
  end
  return labels
end

local HEALTHY = {
  { "MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available" },
  { "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure" },
  { "PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available" },
  { "Ready", "True", "KubeletReady", "kubelet is posting ready status" },
}

---The conditions of a healthy kubelet at heartbeat `now`; a condition whose status is unchanged
---from `previous` keeps its lastTransitionTime.
---@param previous? table[] the node's current conditions
---@param note? string added to each message (what simulates the kubelet)
function M.conditions(now, previous, note)
  local before = {}
  for _, c in ipairs(previous or {}) do before[c.type] = c end
  local out = yaml.array({})
  for _, h in ipairs(HEALTHY) do
    local p = before[h[1]]
    out[#out + 1] = { type = h[1], status = h[2], reason = h[3], message = note and (h[4] .. " (" .. note .. ")") or h[4],
      lastHeartbeatTime = now, lastTransitionTime = p and p.status == h[2] and p.lastTransitionTime or now }
  end
  return out
end

---The status a simulated kubelet reports.
---@param opts {name: string, ip: string, arch?: string, kubelet_version?: string, previous?: table[], note?: string}
function M.status(opts)
  local now = time.format_rfc3339()
  local arch = opts.arch or "amd64"
  local version = opts.kubelet_version or M.KUBELET_VERSION
  local resources = { cpu = "4", memory = "8Gi", pods = "110", ["ephemeral-storage"] = "100Gi" }
  return {
    conditions = M.conditions(now, opts.previous, opts.note),
    addresses = yaml.array({ { type = "InternalIP", address = opts.ip }, { type = "Hostname", address = opts.name } }),
    capacity = resources,
    allocatable = { cpu = resources.cpu, memory = resources.memory, pods = resources.pods,
      ["ephemeral-storage"] = resources["ephemeral-storage"] },
    daemonEndpoints = { kubeletEndpoint = { Port = 10250 } },
    nodeInfo = { kubeletVersion = version, kubeProxyVersion = version, operatingSystem = "linux",
      architecture = arch, containerRuntimeVersion = "kip-sandbox://simulated", osImage = "kip sandbox (simulated)",
      kernelVersion = "", machineID = "", systemUUID = "", bootID = "" },
  }
end

---Creates the sandbox's own node if it does not exist.
function M.ensure(sim)
  local api = sim.api
  local def = api.registry:get("", "v1", "nodes")
  if api.store:get(def, nil, sim.node_name) then return end
  api:create(def, nil, {
    metadata = { name = sim.node_name,
      labels = M.labels(sim.node_name, { control_plane = true, instance_type = "kip-sandbox" }) },
    spec = { podCIDR = "10.42.0.0/24", podCIDRs = yaml.array({ "10.42.0.0/24" }) },
    status = M.status({ name = sim.node_name, ip = sim.node_ip,
      note = "simulated by kip sandbox: no containers run on this node" }),
  }, { manager = "k3s" })
end

return M
