-- SPDX-License-Identifier: Apache-2.0
-- `kip sandbox api`: a stand-in for kube-apiserver (and k3s's server) with a simulated cluster
-- around it, for trying Kipper and testing plugins without a server (kubectl works against it);
-- `kip sandbox agent`: a simulated node that joins it with the node token, as a k3s agent does.
-- Uses kip.sandbox.server and kip.sandbox.agent.
local config = require "kip.config"
local errors = require "kip.cli.errors"
local fs = require "kip.fs"

local verbs = {}

-- This host's name as a node name: /proc/sys/kernel/hostname, lowercased.
local function host_name()
  local name = fs.read("/proc/sys/kernel/hostname")
  name = name and name:match("^%s*(.-)%s*$") or ""
  if name == "" then name = "kip-sandbox" end
  return (name:lower():gsub("[^a-z0-9.-]", "-"))
end

local function seconds(ctx, flag)
  local v = tonumber(ctx.flags[flag])
  if not v or v < 0 then errors.usage(string.format("--%s takes a number of seconds, not %q", flag, tostring(ctx.flags[flag]))) end
  return v
end

verbs.api = {
  summary = "Serve a sandbox Kubernetes API (simulated cluster) and write a kubeconfig for it",
  description = "Serves the Kubernetes API over TLS with client certificates, like k3s, and writes a\n" ..
    "kubeconfig for it. Objects are validated against the Kubernetes v1.34 schemas; a simulated node,\n" ..
    "controllers and kubelet make Deployments, StatefulSets, Jobs and volumes behave as on a cluster,\n" ..
    "but no container ever runs: pod logs are simulated lines that say so. Stop it with Ctrl-C.\n" ..
    "State is kept in memory, or in --state FILE so a restart keeps it.\n\n" ..
    "As k3s does, it can apply the manifests of a folder (--manifests-dir: every *.yaml, *.yml and\n" ..
    "*.json, every 2 s, an Addon per file in kube-system) and let agents join with a node token\n" ..
    "(--node-token-file: made if missing, the CA at /cacerts, the token as a bearer token that may\n" ..
    "only register nodes; see 'kip sandbox agent'). A joined node without heartbeats for\n" ..
    "--node-monitor-grace seconds turns NotReady. Like a k3s server, it writes k3s's bundled\n" ..
    "traefik.yaml into the manifests folder at start (--disable traefik leaves Traefik out).",
  flags = {
    { name = "listen", arg = "ADDRESS:PORT", default = "127.0.0.1:6443", help = "where to serve (port 0 picks a free one)" },
    { name = "kubeconfig-out", arg = "FILE", help = "write the kubeconfig here (default KIP_HOME/sandbox/kubeconfig)" },
    { name = "state", arg = "FILE", help = "keep the objects in this file across restarts" },
    { name = "certs-dir", arg = "DIR", help = "where the CA and certificates live (default KIP_HOME/sandbox/tls)" },
    { name = "node-name", arg = "NAME", help = "the simulated node's name (default: this host's name)" },
    { name = "pod-start-delay", arg = "SECONDS", default = "1", help = "how long a simulated pod takes to start" },
    { name = "manifests-dir", arg = "DIR", help = "apply the manifests in DIR as k3s's auto-deploy folder does" },
    { name = "node-token-file", arg = "FILE", help = "the node token agents join with (written if missing)" },
    { name = "disable", arg = "COMPONENT", choices = { "traefik" },
      help = "with --manifests-dir: do not deploy this bundled component (as k3s's --disable)" },
    { name = "node-monitor-grace", arg = "SECONDS", default = "40",
      help = "how long a joined node may go without a heartbeat before it is NotReady" },
  },
  examples = {
    "kip sandbox api --listen 127.0.0.1:6443 --kubeconfig-out /tmp/sandbox.yaml",
    "KUBECONFIG=/tmp/sandbox.yaml kubectl get nodes",
    "kip sandbox api --listen 127.0.0.1:0 --state ~/.kip/sandbox/state.json -v",
    "kip sandbox api --manifests-dir /tmp/manifests -v   # then drop a cluster-issuer.yaml into /tmp/manifests",
    "kip sandbox api --listen 0.0.0.0:6443 --node-token-file /tmp/sandbox/node-token",
  },
  run = function(ctx)
    local home = config.home() .. "/sandbox"
    local kubeconfig = ctx.flags["kubeconfig-out"] or (home .. "/kubeconfig")
    local node = ctx.flags["node-name"] or host_name()
    local delay = seconds(ctx, "pod-start-delay")
    local grace = seconds(ctx, "node-monitor-grace")
    if not ctx.flags.listen:match(":%d+$") then
      errors.usage(string.format("--listen takes ADDRESS:PORT, not %q", ctx.flags.listen))
    end
    local why, err = require("kip.sandbox.server").run({
      listen = ctx.flags.listen, kubeconfig_out = kubeconfig, state_file = ctx.flags.state,
      certs_dir = ctx.flags["certs-dir"] or (home .. "/tls"), node_name = node, verbose = ctx.flags.verbose,
      delay = delay, node_monitor_grace = grace, manifests_dir = ctx.flags["manifests-dir"],
      node_token_file = ctx.flags["node-token-file"],
      disable = ctx.flags.disable and { [ctx.flags.disable] = true } or {},
      on_ready = function(info)
        io.stdout:write(string.format(
          "kip sandbox api: serving a simulated Kubernetes API on %s (no container runs here)\n" ..
          "kubeconfig: %s\ntry: KUBECONFIG=%s kubectl get nodes\n", info.url, info.kubeconfig, info.kubeconfig))
        if info.node_token_file then
          io.stdout:write(string.format("node token: %s\njoin: kip sandbox agent --server %s --token-file %s\n",
            info.node_token_file, info.url, info.node_token_file))
        end
        io.stdout:flush()
      end,
    })
    if not why then errors.fail("cannot start the sandbox API: " .. tostring(err),
      "Pick another address with --listen (port 0 picks a free one), or check the files named above.") end
    io.stdout:write("kip sandbox api: stopped (" .. why .. ")\n")
    return 0
  end,
}

-- "k=v,k2=v2" as a table, or a usage error.
local function parse_labels(text)
  local out = {}
  for item in (text or ""):gmatch("[^,]+") do
    local k, v = item:match("^%s*([%w%._/%-]+)=([%w%._%-]*)%s*$")
    if not k then errors.usage(string.format("--labels takes KEY=VALUE,... ; %q is not one", item)) end
    out[k] = v
  end
  return out
end

-- kubernetes.io/arch of this machine.
local function arch()
  local r = require("kip.proc").run({ "uname", "-m" })
  local m = r and r.ok and r.stdout:match("%S+") or ""
  return ({ x86_64 = "amd64", aarch64 = "arm64", arm64 = "arm64", armv7l = "arm", s390x = "s390x",
    ppc64le = "ppc64le", riscv64 = "riscv64" })[m] or "amd64"
end

verbs.agent = {
  summary = "Join a simulated node to a sandbox API with its node token, as a k3s agent joins a server",
  description = "Fetches the server's CA from /cacerts and checks it against the hash in the node token\n" ..
    "(K10<sha256 of the CA>::server:<password>), then registers the Node (k3s's agent labels, Ready,\n" ..
    "with capacity; no container runs) with the token as a bearer token, and posts its heartbeat\n" ..
    "until Ctrl-C or SIGTERM. It then exits 0 and leaves the Node, as a kubelet does: the server marks\n" ..
    "it NotReady when heartbeats stop. While the API is not up it retries with a back-off.",
  flags = {
    { name = "server", arg = "URL", help = "the API to join, e.g. https://127.0.0.1:6443 (required)" },
    { name = "token-file", arg = "FILE", help = "the server's node token (required)" },
    { name = "node-name", arg = "NAME", help = "the node's name (default: this host's name)" },
    { name = "labels", arg = "K=V,...", help = "labels to add to the node" },
    { name = "node-ip", arg = "IP", default = "127.0.0.1", help = "the InternalIP the node reports" },
    { name = "kubelet-version", arg = "VERSION", help = "the kubelet version the node reports (default: the sandbox's)" },
    { name = "node-status-update-frequency", arg = "SECONDS", default = "10", help = "how often the heartbeat is posted" },
  },
  examples = {
    "kip sandbox api --node-token-file /tmp/sandbox/node-token --kubeconfig-out /tmp/sandbox.yaml",
    "kip sandbox agent --server https://127.0.0.1:6443 --token-file /tmp/sandbox/node-token --node-name worker-1",
    "KUBECONFIG=/tmp/sandbox.yaml kubectl get nodes",
  },
  run = function(ctx)
    local url, token_file = ctx.flags.server, ctx.flags["token-file"]
    if not url then errors.usage("--server URL is required", "e.g. --server https://127.0.0.1:6443") end
    if not url:match("^https://[^/]+") then errors.usage(string.format("--server takes https://HOST:PORT, not %q", url)) end
    if not token_file then errors.usage("--token-file FILE is required", "The server writes it: kip sandbox api --node-token-file FILE.") end
    local interval = seconds(ctx, "node-status-update-frequency")
    if interval <= 0 then errors.usage("--node-status-update-frequency must be more than 0 seconds") end
    local token = errors.check(fs.read(token_file))
    local node = ctx.flags["node-name"] or host_name()
    local kubelet_version = ctx.flags["kubelet-version"]
    local why, err, hint, joined = require("kip.sandbox.agent").run({
      server = url, token = token, node_name = node, labels = parse_labels(ctx.flags.labels),
      node_ip = ctx.flags["node-ip"], arch = arch(), kubelet_version = kubelet_version, interval = interval,
      say = function(line)
        io.stdout:write(line, "\n")
        io.stdout:flush()
      end,
    })
    if not why then errors.fail(err, hint) end
    if joined then
      io.stdout:write(string.format("kip sandbox agent: stopped (%s); node %s stays registered and turns NotReady once the server misses its heartbeats\n",
        why, node))
    else
      io.stdout:write(string.format("kip sandbox agent: stopped (%s) before node %s joined\n", why, node))
    end
    return 0
  end,
}

verbs.up = {
  summary = "Start a whole local Kipper (sandbox API, kipperd with the console, gateway) and make it the current cluster",
  description = "Starts 'kip sandbox api', kipperd and kipper-gateway on this machine, installs Kipper's resource types on the\n" ..
    "API, adds a cluster named 'sandbox' to kip's configuration and makes it current, and prints what\n" ..
    "to try. kipperd serves the web console (when it is built) on its address; the console's admin\n" ..
    "login (admin@sandbox.local, its password kept in KIP_HOME/sandbox/console-admin) is printed at\n" ..
    "each start. Nothing runs containers: pods and logs are simulated. Logs and the objects' state are\n" ..
    "kept in KIP_HOME/sandbox; Ctrl-C stops everything. 'make sandbox' runs this from the source tree.",
  flags = {
    { name = "listen", arg = "ADDRESS:PORT", default = "127.0.0.1:6443", help = "where the sandbox API listens" },
    { name = "kipperd-listen", arg = "ADDRESS:PORT", default = "127.0.0.1:8080", help = "where kipperd serves the console, its API, /metrics and /readyz" },
    { name = "gateway-listen", arg = "ADDRESS:PORT", default = "127.0.0.1:8000", help = "where kipper-gateway proxies CLUSTER.localhost names" },
    { name = "gateway-api-listen", arg = "ADDRESS:PORT", default = "127.0.0.1:8001", help = "where kipper-gateway serves its registration API and /metrics" },
    { name = "status-listen", arg = "ADDRESS:PORT", default = "127.0.0.1:0", help = "where the status page is served (port 0: a free one)" },
    { name = "fresh", help = "start from an empty cluster (forget the objects kept from the last run)" },
  },
  examples = {
    "kip sandbox up",
    "kip sandbox up --listen 127.0.0.1:16443 --kipperd-listen 127.0.0.1:18080 --fresh",
    "kip sandbox up --gateway-listen 127.0.0.1:18000 --gateway-api-listen 127.0.0.1:18001",
  },
  run = function(ctx)
    for _, f in ipairs({ "listen", "kipperd-listen", "gateway-listen", "gateway-api-listen", "status-listen" }) do
      if not ctx.flags[f]:match("^[^:]+:%d+$") then errors.usage(string.format("--%s takes ADDRESS:PORT, not %q", f, ctx.flags[f])) end
    end
    local status, err = require("kip.sandbox.up").run({ listen = ctx.flags.listen, kipperd_listen = ctx.flags["kipperd-listen"],
      gateway_listen = ctx.flags["gateway-listen"], gateway_api_listen = ctx.flags["gateway-api-listen"],
      status_listen = ctx.flags["status-listen"], fresh = ctx.flags.fresh })
    if status ~= 0 then errors.fail(err, "See the logs in " .. config.home() .. "/sandbox; another sandbox may hold the ports (--listen).") end
    return 0
  end,
}

return {
  summary = "A local stand-in for a Kipper cluster, for trying Kipper and testing plugins",
  description = "The sandbox runs on your machine without a server or containers. 'kip sandbox api' serves\n" ..
    "a Kubernetes API that kubectl and kip can use, with a simulated cluster behind it; 'kip sandbox\n" ..
    "agent' joins a simulated node to it.",
  verbs = verbs,
  verb_order = { "up", "api", "agent" },
}
