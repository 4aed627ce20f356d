-- SPDX-License-Identifier: Apache-2.0
-- The cluster around the sandbox API, in the spirit of KWOK: a Ready node, workload controllers,
-- a scheduler and a kubelet that starts pods, volumes that bind, garbage collection, namespace
-- termination, node lifecycle, disruption budgets, OOM kills (sandbox.kipper.run annotations),
-- k3s's helm-controller and cert-manager's issuers.
-- Controllers run on the server's tick and write through the API's own write path, so watches
-- see every change. Nothing here runs containers. Uses kip.sandbox.sim.*.
local certmanager = require "kip.sandbox.sim.certmanager"
local disruption = require "kip.sandbox.sim.disruption"
local gc = require "kip.sandbox.sim.gc"
local helm = require "kip.sandbox.sim.helm"
local kubelet = require "kip.sandbox.sim.kubelet"
local node = require "kip.sandbox.sim.node"
local nodelifecycle = require "kip.sandbox.sim.nodelifecycle"
local oom = require "kip.sandbox.sim.oom"
local storage = require "kip.sandbox.sim.storage"
local workloads = require "kip.sandbox.sim.workloads"

local M = {}

-- kinds whose changes wake each controller
local wakes = {
  workloads = { Deployment = true, ReplicaSet = true, StatefulSet = true, DaemonSet = true, Job = true, Pod = true },
  kubelet = { Pod = true, Node = true },
  oom = { Pod = true, ReplicaSet = true, Deployment = true },
  storage = { PersistentVolumeClaim = true },
  gc = { Namespace = true },
  helm = { HelmChart = true, Job = true, Namespace = true },
  nodes = { Node = true },
  disruption = { PodDisruptionBudget = true, Pod = true, Deployment = true, ReplicaSet = true, StatefulSet = true },
  certmanager = { ClusterIssuer = true, Issuer = true, Deployment = true },
}

-- in the order they run on each round
local controllers = {
  { "gc", gc }, { "helm", helm }, { "workloads", workloads }, { "kubelet", kubelet }, { "oom", oom }, { "storage", storage },
  { "nodes", nodelifecycle }, { "disruption", disruption }, { "certmanager", certmanager },
}

---Installs the simulation on api.
---@param opts {node_name: string, node_ip?: string, delay?: number, node_monitor_grace?: number}
---  delay: seconds a pod takes to start; node_monitor_grace: seconds without a heartbeat before a
---  joined node is NotReady (default 40)
function M.install(api, opts)
  local sim = { api = api, node_name = opts.node_name, node_ip = opts.node_ip or "127.0.0.1",
    delay = opts.delay or 1, node_monitor_grace = opts.node_monitor_grace or 40, dirty = {}, timers = {} }
  for _, c in ipairs(controllers) do sim.dirty[c[1]] = true end
  api:on_change(function(_, def, obj, event)
    for name, kinds in pairs(wakes) do
      if kinds[def.kind] then sim.dirty[name] = true end
    end
    if event == "DELETED" or (obj.metadata.ownerReferences and event == "ADDED") or obj.metadata.deletionTimestamp then
      sim.dirty.gc = true
    end
  end)
  node.ensure(sim)
  api.sim = sim
  return sim
end

---Wakes controller `name` at monotonic time `at` (for transitions that take time).
function M.wake_at(sim, name, at)
  local t = sim.timers[name]
  if not t or at < t then sim.timers[name] = at end
end

---Runs the controllers that have work; called on every server tick with the monotonic time.
function M.tick(sim, now)
  sim.now = now
  for name, at in pairs(sim.timers) do
    if now >= at then
      sim.dirty[name] = true
      sim.timers[name] = nil
    end
  end
  -- a few rounds, so a chain (Deployment -> ReplicaSet -> Pods) settles within one tick
  for _ = 1, 4 do
    local any = false
    for _, step in ipairs(controllers) do
      local name, controller = step[1], step[2]
      if sim.dirty[name] then
        sim.dirty[name] = false
        -- a controller's bug is reported, not fatal: the API keeps serving
        local ok, err = xpcall(controller.run, debug.traceback, sim, M)
        if not ok then io.stderr:write("kip sandbox api: internal error in the ", name, " controller: ", tostring(err), "\n") end
        any = true
      end
    end
    if not any then break end
  end
end

return M
