-- SPDX-License-Identifier: Apache-2.0
-- metrics.k8s.io in the sandbox API, with the real kubectl: discovery, PodMetrics and NodeMetrics
-- lists and gets, `kubectl top pod` and `kubectl top node`, usage set by annotations on the pod or
-- its Deployment (a size or a share of the request), and simulated OOM kills (memory use above
-- the limit, or sandbox.kipper.run/oom) with lastState OOMKilled and a rising restart count.
local json = require "kip.json"
local sandbox = require "helpers.sandbox"

local function deployment(name, annotations, memory_limit)
  return json.encode({ apiVersion = "apps/v1", kind = "Deployment",
    metadata = { name = name, namespace = "default", annotations = annotations },
    spec = { replicas = 1, selector = { matchLabels = { app = name } },
      template = { metadata = { labels = { app = name } }, spec = { containers = { {
        name = "main", image = "ghcr.io/acme/" .. name .. ":1",
        resources = { requests = { cpu = "100m", memory = "200Mi" }, limits = { memory = memory_limit or "1Gi" } },
      } } } } } })
end

describe("sandbox metrics.k8s.io", function()
  local sb

  setup(function()
    sb = sandbox.start()
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  local function k(args, stdin)
    local r = sb:kubectl(args, stdin)
    assert(r.status == 0, table.concat(args, " ") .. ": " .. r.stderr .. r.stdout)
    return r.stdout
  end

  local function raw(path)
    return assert(json.decode(k({ "get", "--raw", path })))
  end

  local function pod_of(app)
    return sandbox.eventually(function()
      local list = json.decode(k({ "get", "pods", "-l", "app=" .. app, "-o", "json" }))
      local p = list.items[1]
      return p and p.status.phase == "Running" and p
    end, 60)
  end

  it("is discovered with its pods and nodes resources", function()
    local groups = raw("/apis")
    local found
    for _, g in ipairs(groups.groups) do
      if g.name == "metrics.k8s.io" then found = g end
    end
    assert.is_truthy(found)
    assert.equal("metrics.k8s.io/v1beta1", found.preferredVersion.groupVersion)
    local list = raw("/apis/metrics.k8s.io/v1beta1")
    local names = {}
    for _, r in ipairs(list.resources) do names[r.name] = r end
    assert.equal("PodMetrics", names.pods.kind)
    assert.is_true(names.pods.namespaced)
    assert.equal("NodeMetrics", names.nodes.kind)
    assert.is_false(names.nodes.namespaced)
  end)

  it("serves usage from annotations: a share of the request, a size, or the default", function()
    k({ "apply", "-f", "-" }, deployment("share", { ["sandbox.kipper.run/memory-usage"] = "95%", ["sandbox.kipper.run/cpu-usage"] = "250m" }))
    k({ "apply", "-f", "-" }, deployment("plain"))
    local share, plain = pod_of("share"), pod_of("plain")
    assert.is_truthy(share and plain)
    local pm = raw("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/" .. share.metadata.name)
    assert.equal("PodMetrics", pm.kind)
    local c = pm.containers[1]
    assert.equal("main", c.name)
    -- 95% of 200Mi = 194560Ki; 250m = 250000000n
    assert.equal("194560Ki", c.usage.memory)
    assert.equal("250000000n", c.usage.cpu)
    local dflt = raw("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/" .. plain.metadata.name).containers[1]
    assert.equal("102400Ki", dflt.usage.memory) -- half of 200Mi
    assert.equal("50000000n", dflt.usage.cpu)  -- half of 100m
    -- the pod's own annotation wins over its Deployment's
    k({ "annotate", "pod", share.metadata.name, "sandbox.kipper.run/memory-usage=300Mi" })
    pm = raw("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/" .. share.metadata.name)
    assert.equal("307200Ki", pm.containers[1].usage.memory)
    -- lists with a label selector
    local list = raw("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dplain")
    assert.equal("PodMetricsList", list.kind)
    assert.equal(1, #list.items)
    assert.equal(plain.metadata.name, list.items[1].metadata.name)
    local missing = sb:kubectl({ "get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope" })
    assert.are_not.equal(0, missing.status)
    assert.matches("NotFound", missing.stderr)
  end)

  it("answers kubectl top pod and kubectl top node", function()
    assert.is_truthy(pod_of("plain"))
    local out = k({ "top", "pod", "-l", "app=plain" })
    assert.matches("NAME%s+CPU%(cores%)%s+MEMORY%(bytes%)", out)
    assert.matches("plain%-[%w-]+%s+50m%s+100Mi", out)
    local nodes = k({ "top", "node" })
    assert.matches("sandbox%-node%s+%d+m", nodes)
    local containers = k({ "top", "pod", "--containers", "-l", "app=plain" })
    assert.matches("main%s+50m%s+100Mi", containers)
  end)

  it("OOM-kills a container whose memory use is above its limit, again after a back-off", function()
    k({ "apply", "-f", "-" }, deployment("hungry", { ["sandbox.kipper.run/memory-usage"] = "900Mi" }, "512Mi"))
    local pod = assert(pod_of("hungry"))
    local killed = sandbox.eventually(function()
      local p = json.decode(k({ "get", "pod", pod.metadata.name, "-o", "json" }))
      local cs = p.status.containerStatuses[1]
      return cs.restartCount >= 2 and cs
    end, 60)
    assert.is_truthy(killed, "the container was not OOMKilled twice")
    assert.equal("OOMKilled", killed.lastState.terminated.reason)
    assert.equal(137, killed.lastState.terminated.exitCode)
    assert.is_truthy(killed.state.running)
    -- below the limit: no kill
    local plain = json.decode(k({ "get", "pods", "-l", "app=plain", "-o", "json" })).items[1]
    assert.equal(0, plain.status.containerStatuses[1].restartCount)
  end)

  it("OOM-kills any container of a pod annotated sandbox.kipper.run/oom", function()
    k({ "apply", "-f", "-" }, deployment("doomed", { ["sandbox.kipper.run/oom"] = "true" }))
    local pod = assert(pod_of("doomed"))
    local cs = sandbox.eventually(function()
      local p = json.decode(k({ "get", "pod", pod.metadata.name, "-o", "json" }))
      local s = p.status.containerStatuses[1]
      return s.restartCount >= 1 and s
    end, 60)
    assert.is_truthy(cs)
    assert.equal("OOMKilled", cs.lastState.terminated.reason)
  end)
end)
