-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.cluster's views, on objects as the API returns them: a Node (Ready condition, roles
-- from node-role labels, capacity), Deployments and DaemonSets as components (ready, rolling out,
-- scaled to zero), kipperd itself when it runs outside the cluster (no kipperd Deployment), and the
-- health rule (every node Ready, every installed component ready).
local cluster = require "kipperd.api.cluster"

describe("kipperd.api.cluster", function()
  local function deployment(spec_replicas, ready, generation, observed)
    return { metadata = { name = "web", namespace = "kube-system", generation = generation or 1 },
      spec = { replicas = spec_replicas }, status = { readyReplicas = ready, observedGeneration = observed or 1 } }
  end

  it("shows a node's readiness, roles, version, address and capacity", function()
    local v = cluster.node_view({
      metadata = { name = "n1", creationTimestamp = "2026-01-01T00:00:00Z",
        labels = { ["node-role.kubernetes.io/control-plane"] = "true", ["node-role.kubernetes.io/master"] = "true", zone = "a" } },
      spec = { unschedulable = true },
      status = { conditions = { { type = "Ready", status = "True" } }, capacity = { cpu = "4", memory = "8Gi" },
        nodeInfo = { kubeletVersion = "v1.33.1+k3s1" }, addresses = { { type = "InternalIP", address = "10.0.0.2" } } },
    })
    assert.is_true(v.ready)
    assert.same({ "control-plane", "master" }, v.roles)
    assert.equal("v1.33.1+k3s1", v.kubelet_version)
    assert.equal("10.0.0.2", v.internal_ip)
    assert.equal("4", v.cpu)
    assert.equal("8Gi", v.memory)
    assert.is_true(v.unschedulable)
    assert.equal("Ready,SchedulingDisabled", v.status)
    local down = cluster.node_view({ metadata = { name = "n2" }, status = { conditions = { { type = "Ready", status = "Unknown" } } } })
    assert.is_false(down.ready)
    assert.same({}, down.roles)
  end)

  it("judges Deployments by ready replicas and rollout, DaemonSets by ready pods", function()
    local ok = cluster.component_view(deployment(2, 2), "Deployment")
    assert.is_true(ok.ready)
    assert.equal("2/2 ready", ok.message)
    assert.equal(2, ok.replicas)
    local short = cluster.component_view(deployment(2, 1), "Deployment")
    assert.is_false(short.ready)
    assert.equal("1/2 ready", short.message)
    local rolling = cluster.component_view(deployment(1, 1, 3, 2), "Deployment")
    assert.is_false(rolling.ready)
    assert.equal("rolling out", rolling.message)
    local zero = cluster.component_view(deployment(0, nil), "Deployment")
    assert.is_true(zero.ready)
    assert.equal("scaled to zero", zero.message)
    local ds = cluster.component_view({ metadata = { name = "svclb", namespace = "kube-system", generation = 1 },
      status = { desiredNumberScheduled = 3, numberReady = 2, observedGeneration = 1 } }, "DaemonSet")
    assert.is_false(ds.ready)
    assert.equal("2/3 ready", ds.message)
    assert.equal("DaemonSet", ds.kind)
  end)

  it("shows a missing kipperd Deployment as the kipperd answering, outside the cluster; other missing ones as not installed", function()
    -- a cluster with only coredns: what the sandbox has when kip sandbox up runs kipperd beside it
    local lists = {}
    local c = { list = function(_, _, kind, opts)
      lists[#lists + 1] = opts.namespace .. "/" .. kind
      if opts.namespace == "kube-system" and kind == "Deployment" then return { items = { deployment(1, 1) } } end
      return { items = {} }
    end }
    local by = {}
    for _, comp in ipairs(assert(cluster.components(c, "0.7.0"))) do by[comp.name] = comp end
    assert.equal(6, #lists) -- Deployments and DaemonSets of the three namespaces
    local self = by.kipperd
    assert.is_true(self.installed)
    assert.is_true(self.ready)
    assert.equal("Process", self.kind)
    assert.equal("", self.namespace)
    assert.equal("running outside the cluster (this kipperd, version 0.7.0)", self.message)
    assert.equal(1, self.ready_replicas)
    assert.is_false(by.traefik.installed)
    assert.equal("not installed", by.traefik.message)
    assert.is_true(by.web.installed)
    -- without the asking kipperd's version (no process to speak of), kipperd is missing like the others
    local plain = {}
    for _, comp in ipairs(assert(cluster.components(c))) do plain[comp.name] = comp end
    assert.is_false(plain.kipperd.installed)
    assert.equal("not installed", plain.kipperd.message)
    -- a kipperd Deployment is shown as it is, whatever answers
    c.list = function(_, _, kind, opts)
      if opts.namespace == "kipper-system" and kind == "Deployment" then
        local d = deployment(1, 0)
        d.metadata.name, d.metadata.namespace = "kipperd", "kipper-system"
        return { items = { d } }
      end
      return { items = {} }
    end
    for _, comp in ipairs(assert(cluster.components(c, "0.7.0"))) do by[comp.name] = comp end
    assert.equal("Deployment", by.kipperd.kind)
    assert.is_false(by.kipperd.ready)
    assert.equal("0/1 ready", by.kipperd.message)
  end)

  it("is healthy with every node Ready and every installed component ready; missing ones do not count", function()
    local nodes = { { ready = true } }
    local comps = { { installed = true, ready = true }, { installed = false, ready = false } }
    assert.is_true(cluster.healthy(nodes, comps))
    assert.is_false(cluster.healthy({}, comps))
    assert.is_false(cluster.healthy({ { ready = true }, { ready = false } }, comps))
    comps[#comps + 1] = { installed = true, ready = false }
    assert.is_false(cluster.healthy(nodes, comps))
  end)
end)
