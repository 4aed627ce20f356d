-- SPDX-License-Identifier: Apache-2.0
-- `kip sandbox api`: a stand-in for kube-apiserver with a simulated cluster around it, for trying
-- Kipper and testing plugins without a server (kubectl works against it). Uses kip.sandbox.server.
local config = require "kip.config"
local errors = require "kip.cli.errors"

local verbs = {}

verbs.api = {
  summary = "Serve a sandbox Kubernetes API (simulated cluster) and write a kubeconfig for it",
  description = "Serves the Kubernetes API over TLS with client certificates, like k3s, and writes a\n" ..
    "kubeconfig for it. Objects are validated against the Kubernetes v1.34 schemas; a simulated node,\n" ..
    "controllers and kubelet make Deployments, StatefulSets, Jobs and volumes behave as on a cluster,\n" ..
    "but no container ever runs: pod logs are simulated lines that say so. Stop it with Ctrl-C.\n" ..
    "State is kept in memory, or in --state FILE so a restart keeps it.",
  flags = {
    { name = "listen", arg = "ADDRESS:PORT", default = "127.0.0.1:6443", help = "where to serve (port 0 picks a free one)" },
    { name = "kubeconfig-out", arg = "FILE", help = "write the kubeconfig here (default KIP_HOME/sandbox/kubeconfig)" },
    { name = "state", arg = "FILE", help = "keep the objects in this file across restarts" },
    { name = "certs-dir", arg = "DIR", help = "where the CA and certificates live (default KIP_HOME/sandbox/tls)" },
    { name = "node-name", arg = "NAME", help = "the simulated node's name (default: this host's name)" },
    { name = "pod-start-delay", arg = "SECONDS", default = "1", help = "how long a simulated pod takes to start" },
  },
  examples = {
    "kip sandbox api --listen 127.0.0.1:6443 --kubeconfig-out /tmp/sandbox.yaml",
    "KUBECONFIG=/tmp/sandbox.yaml kubectl get nodes",
    "kip sandbox api --listen 127.0.0.1:0 --state ~/.kip/sandbox/state.json -v",
  },
  run = function(ctx)
    local home = config.home() .. "/sandbox"
    local kubeconfig = ctx.flags["kubeconfig-out"] or (home .. "/kubeconfig")
    local node = ctx.flags["node-name"]
    if not node then
      local f = io.open("/proc/sys/kernel/hostname")
      node = f and f:read("l") or "kip-sandbox"
      if f then f:close() end
      node = node:lower():gsub("[^a-z0-9.-]", "-")
    end
    local delay = tonumber(ctx.flags["pod-start-delay"])
    if not delay or delay < 0 then errors.usage("--pod-start-delay takes a number of seconds") end
    if not ctx.flags.listen:match(":%d+$") then
      errors.usage(string.format("--listen takes ADDRESS:PORT, not %q", ctx.flags.listen))
    end
    local why, err = require("kip.sandbox.server").run({
      listen = ctx.flags.listen, kubeconfig_out = kubeconfig, state_file = ctx.flags.state,
      certs_dir = ctx.flags["certs-dir"] or (home .. "/tls"), node_name = node, verbose = ctx.flags.verbose,
      delay = delay,
      on_ready = function(info)
        io.stdout:write(string.format(
          "kip sandbox api: serving a simulated Kubernetes API on %s (no container runs here)\n" ..
          "kubeconfig: %s\ntry: KUBECONFIG=%s kubectl get nodes\n", info.url, info.kubeconfig, info.kubeconfig))
        io.stdout:flush()
      end,
    })
    if not why then errors.fail("cannot start the sandbox API: " .. tostring(err),
      "Pick another address with --listen (port 0 picks a free one).") end
    io.stdout:write("kip sandbox api: stopped (" .. why .. ")\n")
    return 0
  end,
}

return {
  summary = "A local stand-in for a Kipper cluster, for trying Kipper and testing plugins",
  description = "The sandbox runs on your machine without a server or containers. 'kip sandbox api' serves\n" ..
    "a Kubernetes API that kubectl and kip can use, with a simulated cluster behind it.",
  verbs = verbs,
  verb_order = { "api" },
}
