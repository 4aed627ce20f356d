-- SPDX-License-Identifier: Apache-2.0
-- Writes a sandbox API state file holding N realistic Pods (metadata, labels, annotations,
-- owner references, a container with env, ports, resources and probes, and a Running status),
-- so the benchmarks list the same objects every run. Usage: kip lua bench/make_state.lua FILE N
local fs = require "kip.fs"
local json = require "kip.json"

local path, n = arg[1], tonumber(arg[2] or "10000")
assert(path and n, "usage: kip lua bench/make_state.lua FILE N")

local pods = json.array({})
for i = 1, n do
  local name = string.format("api-7d9f8c6b5-%05d", i)
  pods[i] = {
    apiVersion = "v1", kind = "Pod",
    metadata = {
      generation = 1, name = name, namespace = "bench", uid = string.format("00000000-0000-4000-8000-%012d", i),
      resourceVersion = tostring(100 + i), creationTimestamp = "2026-11-23T10:00:00Z",
      labels = { app = "api", ["app.kubernetes.io/name"] = "api", ["pod-template-hash"] = "7d9f8c6b5", shard = tostring(i % 16) },
      annotations = { ["kipper.run/revision"] = tostring(i % 7), ["kipper.run/config-hash"] = string.rep("ab", 16) },
      ownerReferences = json.array({ { apiVersion = "apps/v1", kind = "ReplicaSet", name = "api-7d9f8c6b5",
        uid = "11111111-2222-4333-8444-555555555555", controller = true, blockOwnerDeletion = true } }),
    },
    spec = {
      nodeName = "bench-node", restartPolicy = "Always", dnsPolicy = "ClusterFirst", schedulerName = "default-scheduler",
      terminationGracePeriodSeconds = 30,
      containers = json.array({ {
        name = "api", image = "ghcr.io/acme/api:1.4.2", imagePullPolicy = "IfNotPresent",
        ports = json.array({ { containerPort = 3000, protocol = "TCP", name = "http" } }),
        env = json.array({ { name = "PORT", value = "3000" }, { name = "LOG_LEVEL", value = "info" },
          { name = "DATABASE_URL", valueFrom = { secretKeyRef = { name = "api-secrets", key = "database-url" } } } }),
        resources = { requests = { cpu = "100m", memory = "128Mi" }, limits = { cpu = "500m", memory = "256Mi" } },
        readinessProbe = { httpGet = { path = "/healthz", port = 3000, scheme = "HTTP" }, periodSeconds = 10 },
        livenessProbe = { tcpSocket = { port = 3000 }, periodSeconds = 20 },
      } }),
    },
    status = {
      phase = "Running", podIP = string.format("10.42.%d.%d", i // 250, i % 250 + 1), hostIP = "127.0.0.1",
      startTime = "2026-11-23T10:00:02Z", qosClass = "Burstable",
      conditions = json.array({ { type = "Ready", status = "True", lastTransitionTime = "2026-11-23T10:00:05Z" } }),
      containerStatuses = json.array({ { name = "api", ready = true, started = true, restartCount = 0,
        image = "ghcr.io/acme/api:1.4.2", imageID = "sandbox://ghcr.io/acme/api:1.4.2",
        state = { running = { startedAt = "2026-11-23T10:00:03Z" } } } }),
    },
  }
end
local ns = { apiVersion = "v1", kind = "Namespace", metadata = { name = "bench", uid = "00000000-0000-4000-8000-000000000000",
  resourceVersion = "100", creationTimestamp = "2026-11-23T10:00:00Z" }, spec = { finalizers = json.array({ "kubernetes" }) },
  status = { phase = "Active" } }
-- the owner of the Pods, so garbage collection keeps them
local rs = { apiVersion = "apps/v1", kind = "ReplicaSet", metadata = { name = "api-7d9f8c6b5", namespace = "bench",
  uid = "11111111-2222-4333-8444-555555555555", resourceVersion = "99", creationTimestamp = "2026-11-23T10:00:00Z",
  labels = { app = "api", ["pod-template-hash"] = "7d9f8c6b5" } },
  spec = { replicas = n, selector = { matchLabels = { app = "api", ["pod-template-hash"] = "7d9f8c6b5" } },
    template = { metadata = { labels = { app = "api", ["pod-template-hash"] = "7d9f8c6b5" } },
      spec = { containers = json.array({ { name = "api", image = "ghcr.io/acme/api:1.4.2" } }) } } },
  status = { replicas = n, readyReplicas = n, availableReplicas = n, fullyLabeledReplicas = n, observedGeneration = 1 } }
local state = { kind = "KipSandboxState", rv = 100 + n, resources = json.array({
  { group = "", version = "v1", resource = "namespaces", objects = json.array({ ns }) },
  { group = "apps", version = "v1", resource = "replicasets", objects = json.array({ rs }) },
  { group = "", version = "v1", resource = "pods", objects = pods },
}) }
assert(fs.write(path, assert(json.encode(state))))
