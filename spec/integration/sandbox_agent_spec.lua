-- SPDX-License-Identifier: Apache-2.0
-- Nodes joining the real `kip sandbox api` as k3s agents join a server, driven by the real
-- `kip sandbox agent` and the real kubectl: the node token and /cacerts, what the token may do
-- (401 without it, 403 beyond nodes and pods), refusals of a wrong token or CA, waiting for an API
-- that is not up, NotReady after the grace period, kubectl drain through eviction, a
-- PodDisruptionBudget's 429, and the scheduler keeping pods off cordoned and NotReady nodes.
local fs = require "kip.fs"
local helpers = require "helpers"
local http = require "kip.http"
local json = require "kip.json"
local sandbox = require "helpers.sandbox"
local server = require "kip.server"
local tls = require "kip.tls"

local DEPLOY = [[
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
      volumes: [{name: scratch, emptyDir: {}}]
]]

local PDB = [[
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec:
  minAvailable: 4
  selector: {matchLabels: {app: web}}
]]

local function ready_of(node)
  for _, c in ipairs(node.status.conditions or {}) do
    if c.type == "Ready" then return c end
  end
end

describe("kip sandbox agent joining kip sandbox api", function()
  local sb, dir, token_file, token, ca_pem
  setup(function()
    dir = helpers.tmpdir()
    token_file = dir .. "/server/node-token"
    sb = sandbox.start({ node_token_file = token_file, node_monitor_grace = 3 })
    token = assert(fs.read(token_file)):gsub("%s+$", "")
    ca_pem = assert(fs.read(sb.dir .. "/tls/ca.crt"))
  end)
  teardown(function()
    sb:stop()
    helpers.rmtree(dir)
  end)

  local function node(name)
    local r = sb:kubectl({ "get", "node", name, "-o", "json" })
    return r.status == 0 and json.decode(r.stdout) or nil
  end

  local function api_get(path, bearer)
    local resp = assert(http.request({ url = sb.url .. path, ca_data = ca_pem, token = bearer }))
    return resp.status, json.decode(resp.body)
  end

  local function token_kubeconfig(bearer)
    local path = dir .. "/token.kubeconfig"
    assert(fs.write(path, json.encode({ apiVersion = "v1", kind = "Config", ["current-context"] = "node",
      clusters = { { name = "s", cluster = { server = sb.url, ["certificate-authority-data"] = tls.base64_encode(ca_pem) } } },
      users = { { name = "node", user = { token = bearer } } },
      contexts = { { name = "node", context = { cluster = "s", user = "node" } } } }), { mode = "0600" }))
    return path
  end

  it("writes a k3s-style node token (0600) and serves the CA at /cacerts without a certificate", function()
    local hash, password = token:match("^K10(%x+)::server:(%x+)$")
    assert.equal(64, #hash, token)
    assert.equal(32, #password)
    assert.equal(tonumber("600", 8), assert(fs.stat(token_file)).mode & tonumber("777", 8))
    local resp = assert(http.request({ url = sb.url .. "/cacerts", insecure = true }))
    assert.equal(200, resp.status)
    assert.equal(ca_pem, resp.body)
    assert.equal(hash, tls.sha256_hex(resp.body))
    assert.matches("kip sandbox agent %-%-server " .. sb.url:gsub("%p", "%%%0"), assert(fs.read(sb.dir .. "/out.log")))
  end)

  it("answers 401 without a certificate or the token, and lets the token do only what a node may", function()
    local code, st = api_get("/api/v1/namespaces/default/secrets")
    assert.equal(401, code)
    assert.same({ "Status", "Unauthorized", "Unauthorized" }, { st.kind, st.reason, st.message })
    assert.equal(401, (api_get("/api/v1/nodes", "not-the-token")))
    assert.equal(200, (api_get("/api/v1/nodes", token)))
    assert.equal(200, (api_get("/api/v1/pods", token)))
    assert.equal(200, (api_get("/api/v1/nodes", token:match("::server:(.+)$"))), "the short form (the password) works too")
    code, st = api_get("/api/v1/namespaces/default/secrets", token)
    assert.equal(403, code)
    assert.equal("Forbidden", st.reason)
    -- the real kubectl with the token
    local kc = token_kubeconfig(token)
    local r = sb:kubectl({ "--kubeconfig", kc, "get", "secrets" })
    assert.not_equal(0, r.status)
    assert.matches('Error from server %(Forbidden%): secrets is forbidden: User "system:node:%*" cannot list resource "secrets" ' ..
      'in API group "" in the namespace "default"', r.stderr)
    r = sb:kubectl({ "--kubeconfig", kc, "delete", "node", "sandbox-node" })
    assert.matches('cannot delete resource "nodes" in API group "" at the cluster scope', r.stderr)
    assert.equal(0, sb:kubectl({ "--kubeconfig", kc, "get", "nodes" }).status)
    -- the admin's certificate still works
    assert.equal(0, sb:kubectl({ "get", "secrets" }).status)
  end)

  it("joins a Ready node with the token, with k3s's agent labels", function()
    local agent = sb:agent({ node_name = "worker-1", labels = "tier=edge" })
    local n = sandbox.eventually(function()
      local got = node("worker-1")
      -- the pod CIDR is assigned by the node IPAM controller, after the node registered
      return got and ready_of(got) and ready_of(got).status == "True" and got.spec.podCIDR and got
    end, 10)
    assert.truthy(n, agent.output())
    local labels = n.metadata.labels
    assert.equal("worker-1", labels["kubernetes.io/hostname"])
    assert.equal("linux", labels["kubernetes.io/os"])
    assert.is_string(labels["kubernetes.io/arch"])
    assert.equal("k3s", labels["node.kubernetes.io/instance-type"])
    assert.equal("edge", labels.tier)
    assert.is_nil(labels["node-role.kubernetes.io/control-plane"])
    assert.equal("KubeletReady", ready_of(n).reason)
    assert.equal("110", n.status.allocatable.pods)
    assert.equal("v1.34.0+kip-sandbox", n.status.nodeInfo.kubeletVersion)
    assert.matches("^10%.42%.%d+%.0/24$", n.spec.podCIDR)
    assert.matches("node worker%-1 joined " .. sb.url:gsub("%p", "%%%0") .. ": Ready", agent.output())
    assert.matches("worker%-1%s+Ready%s+<none>", sb:ok({ "get", "nodes" }))
    -- the heartbeat moves on
    local first = ready_of(n).lastHeartbeatTime
    assert.truthy(sandbox.eventually(function() return ready_of(node("worker-1")).lastHeartbeatTime ~= first end, 5))
  end)

  it("refuses a wrong token with a clear message and exit status 1", function()
    local bad = dir .. "/wrong-token"
    assert(fs.write(bad, token:gsub("::server:.*$", "::server:0123456789abcdef0123456789abcdef") .. "\n"))
    local r = helpers.kip({ "sandbox", "agent", "--server", sb.url, "--token-file", bad, "--node-name", "intruder" }, { timeout = 30 })
    assert.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("kip: error: the API at " .. sb.url:gsub("%p", "%%%0") .. " refused the token %(401 Unauthorized%)", r.stderr)
    assert.is_nil(node("intruder"))
  end)

  it("refuses a token whose CA hash is not the server's CA", function()
    local other = dir .. "/other-ca-token"
    assert(fs.write(other, "K10" .. tls.sha256_hex("another CA") .. "::server:" .. token:match("::server:(.+)$")))
    local r = helpers.kip({ "sandbox", "agent", "--server", sb.url, "--token-file", other, "--node-name", "intruder" }, { timeout = 30 })
    assert.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("kip: error: the CA of " .. sb.url:gsub("%p", "%%%0") .. " does not match the token", r.stderr)
  end)

  it("leaves its node when stopped, and the node turns NotReady after the grace period", function()
    local agent = sb.agents[1]
    assert.equal(0, agent.stop(), agent.output())
    assert.matches("stopped %(SIGTERM%); node worker%-1 stays registered", agent.output())
    assert.truthy(node("worker-1"), "the Node stays, as a kubelet leaves it")
    local n = sandbox.eventually(function()
      local got = node("worker-1")
      return ready_of(got).status == "Unknown" and got
    end, 10)
    assert.truthy(n, "worker-1 did not turn NotReady")
    local ready = ready_of(n)
    assert.equal("NodeStatusUnknown", ready.reason)
    assert.equal("Kubelet stopped posting node status.", ready.message)
    local keys = {}
    for _, t in ipairs(n.spec.taints or {}) do keys[#keys + 1] = t.key .. ":" .. t.effect end
    table.sort(keys)
    assert.same({ "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule" }, keys)
    local table_out = sb:ok({ "get", "nodes" })
    assert.matches("worker%-1%s+NotReady", table_out)
    assert.matches("sandbox%-node%s+Ready", table_out, "the sandbox's own node is not affected")
  end)

  it("drains a joined node with kubectl drain (cordon, then eviction)", function()
    sb:agent({ node_name = "worker-2" })
    assert.truthy(sandbox.eventually(function()
      local got = node("worker-2")
      return got and ready_of(got) and ready_of(got).status == "True"
    end, 10))
    sb:ok({ "apply", "-f", "-" }, DEPLOY)
    local function pods_on(name)
      local list = json.decode(sb:ok({ "get", "pods", "-l", "app=web", "-o", "json" }))
      local n, running = 0, 0
      for _, p in ipairs(list.items) do
        if p.spec.nodeName == name then n = n + 1 end
        if p.status.phase == "Running" and not p.metadata.deletionTimestamp then running = running + 1 end
      end
      return n, running, list.items
    end
    assert.truthy(sandbox.eventually(function()
      local on, running = pods_on("worker-2")
      return on > 0 and running == 4
    end, 10), "no pod went to worker-2")
    assert.equal(0, (pods_on("worker-1")), "no pod goes to the NotReady node")
    local r = sb:kubectl({ "drain", "worker-2", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s" }, nil, 90)
    assert.equal(0, r.status, r.stderr)
    assert.matches("node/worker%-2 cordoned", r.stdout)
    assert.matches("evicting pod default/web%-", r.stderr .. r.stdout)
    assert.matches("node/worker%-2 drained", r.stdout)
    assert.matches("worker%-2%s+Ready,SchedulingDisabled", sb:ok({ "get", "nodes" }))
    assert.truthy(sandbox.eventually(function()
      local on, running = pods_on("worker-2")
      return on == 0 and running == 4
    end, 10), "the ReplicaSet's new pods did not land elsewhere")
  end)

  it("answers an eviction that a PodDisruptionBudget forbids with 429 and the real message", function()
    sb:ok({ "apply", "-f", "-" }, PDB)
    assert.truthy(sandbox.eventually(function()
      local pdb = json.decode(sb:ok({ "get", "pdb", "web", "-o", "json" }))
      return pdb.status and pdb.status.currentHealthy == 4 and pdb.status.disruptionsAllowed == 0
    end, 10))
    local victim = json.decode(sb:ok({ "get", "pods", "-l", "app=web", "-o", "json" })).items[1].metadata.name
    local body = dir .. "/eviction.json"
    assert(fs.write(body, json.encode({ apiVersion = "policy/v1", kind = "Eviction",
      metadata = { name = victim, namespace = "default" } })))
    local r = sb:kubectl({ "create", "--raw", "/api/v1/namespaces/default/pods/" .. victim .. "/eviction", "-f", body })
    assert.not_equal(0, r.status)
    assert.matches("Error from server %(TooManyRequests%): Cannot evict pod as it would violate the pod's disruption budget%.", r.stderr)
    -- the Status itself
    local conn = assert(require("kip.k8s").kubeconfig.load({ path = sb.kubeconfig }))
    local resp = assert(http.request({ url = sb.url .. "/api/v1/namespaces/default/pods/" .. victim .. "/eviction",
      method = "POST", body = assert(fs.read(body)), headers = { ["Content-Type"] = "application/json" },
      ca_data = conn.ca_data, cert_data = conn.cert_data, key_data = conn.key_data }))
    assert.equal(429, resp.status)
    local st = json.decode(resp.body)
    assert.equal("TooManyRequests", st.reason)
    assert.equal("DisruptionBudget", st.details.causes[1].reason)
    assert.equal("The disruption budget web needs 4 healthy pods and has 4 currently", st.details.causes[1].message)
    assert.equal(0, sb:kubectl({ "get", "pod", victim }).status, "the pod is still there")
    -- kubectl drain retries such evictions until its timeout
    r = sb:kubectl({ "drain", "sandbox-node", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=3s" }, nil, 60)
    assert.not_equal(0, r.status)
    assert.matches("Cannot evict pod as it would violate the pod's disruption budget", r.stderr)
    sb:ok({ "uncordon", "sandbox-node" })
    -- with room in the budget, the eviction goes through
    sb:ok({ "patch", "pdb", "web", "--type", "merge", "-p", '{"spec":{"minAvailable":3}}' })
    assert.truthy(sandbox.eventually(function()
      return sb:kubectl({ "create", "--raw", "/api/v1/namespaces/default/pods/" .. victim .. "/eviction", "-f", body }).status == 0
    end, 10))
    assert.truthy(sandbox.eventually(function() return sb:kubectl({ "get", "pod", victim }).status ~= 0 end, 5))
  end)

  it("keeps new pods off cordoned and NotReady nodes, and says why when none is left", function()
    sb:ok({ "delete", "pdb", "web" })
    sb:ok({ "cordon", "sandbox-node" })
    sb:ok({ "apply", "-f", "-" }, [[
apiVersion: v1
kind: Pod
metadata: {name: stranded, namespace: default}
spec:
  containers: [{name: c, image: busybox}]
]])
    local pod = sandbox.eventually(function()
      local p = json.decode(sb:ok({ "get", "pod", "stranded", "-o", "json" }))
      for _, c in ipairs(p.status.conditions or {}) do
        if c.type == "PodScheduled" and c.status == "False" then return p, c end
      end
    end, 10)
    assert.truthy(pod, "the pod was scheduled on a cordoned or NotReady node")
    assert.is_nil(pod.spec.nodeName)
    local cond
    for _, c in ipairs(pod.status.conditions) do if c.type == "PodScheduled" then cond = c end end
    assert.equal("Unschedulable", cond.reason)
    assert.equal("0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, " ..
      "2 node(s) were unschedulable.", cond.message)
    sb:ok({ "uncordon", "worker-2" })
    assert.equal("worker-2", sandbox.eventually(function()
      local p = json.decode(sb:ok({ "get", "pod", "stranded", "-o", "json" }))
      return p.spec.nodeName
    end, 10))
    sb:ok({ "uncordon", "sandbox-node" })
  end)

  it("waits with a back-off for an API that is not up yet", function()
    -- a free port: listen on port 0, then let it go
    local probe = assert(server.listen({ listen = "127.0.0.1:0", handler = function() return { status = 200 } end }))
    local port = probe:port()
    probe:close()
    -- a bare password as the token: the agent cannot check the CA, and says so
    local later_dir = helpers.tmpdir()
    local later_token = later_dir .. "/node-token"
    assert(fs.write(later_token, "0123456789abcdef0123456789abcdef\n", { mode = "0600" }))
    local agent = sb:agent({ node_name = "late", server = "https://127.0.0.1:" .. port, token_file = later_token })
    assert.truthy(sandbox.eventually(function()
      return agent.output():match("waiting for the API at https://127%.0%.0%.1:%d+ %(.-%); trying again in %d+s")
    end, 10), agent.output())
    assert.is_true(agent.running())
    local late = sandbox.start({ port = port, node_token_file = later_token })
    finally(function()
      agent.stop()
      late:stop()
      helpers.rmtree(later_dir)
    end)
    assert.truthy(sandbox.eventually(function()
      local r = late:kubectl({ "get", "node", "late" })
      return r.status == 0 and r.stdout:match("late%s+Ready")
    end, 20), agent.output())
    assert.matches("warning: the token has no CA hash", agent.output())
    assert.matches("^K10%x+::server:0123456789abcdef0123456789abcdef", assert(fs.read(later_token)),
      "the server rewrote the bare password as a full token")
  end)
end)
