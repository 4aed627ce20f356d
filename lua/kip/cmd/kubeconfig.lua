-- SPDX-License-Identifier: Apache-2.0
-- `kip kubeconfig`: prints the current cluster's kubeconfig (the one kip install stored), for
-- kubectl and other Kubernetes tools. Uses kip.fs through the command context.
local errors = require "kip.cli.errors"
local fs = require "kip.fs"

return {
  summary = "Print the current cluster's kubeconfig, for kubectl",
  description = "Prints the kubeconfig kip stored when it installed the cluster. It holds the cluster's admin\n" ..
    "credentials: keep the copy private (mode 0600). --path prints where the file is instead.",
  flags = {
    { name = "path", help = "print the file's path instead of its content" },
  },
  examples = {
    "kip kubeconfig > ~/.kube/kipper.yaml && chmod 600 ~/.kube/kipper.yaml",
    "KUBECONFIG=$(kip kubeconfig --path) kubectl get pods -A",
    "kip kubeconfig --cluster staging",
  },
  run = function(ctx)
    local cluster = ctx:cluster()
    if not cluster.kubeconfig then
      errors.fail(string.format("cluster %q has no kubeconfig", cluster.name), "Run 'kip install' for it again.")
    end
    if ctx.flags.path then
      ctx:say("%s", cluster.kubeconfig)
      return 0
    end
    local text, err = fs.read(cluster.kubeconfig)
    if not text then
      errors.fail(string.format("cannot read the kubeconfig of cluster %q: %s", cluster.name, err),
        "Run 'kip install --host " .. (cluster.host or "IP") .. "' again: it fetches the kubeconfig anew.")
    end
    io.stdout:write(text)
    return 0
  end,
}
