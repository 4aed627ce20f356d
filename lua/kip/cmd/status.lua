-- SPDX-License-Identifier: Apache-2.0
-- `kip status`: the current cluster, its nodes and the health of each component Kipper runs on,
-- read through the Kubernetes API. Exits 1 when something is not healthy, so scripts can wait on
-- it. Uses kip.install.health.
local errors = require "kip.cli.errors"
local health = require "kip.install.health"

local MARK = { healthy = "ok", off = "off", missing = "MISSING", unhealthy = "NOT READY", unknown = "UNKNOWN" }

return {
  summary = "Show the cluster, its nodes and the health of Kipper's components",
  description = "Asks the cluster's API for its version, its nodes and the state of each component:\n" ..
    "Kipper's resource types, cert-manager and the Let's Encrypt issuer, storage, Traefik and kipperd.\n" ..
    "Exits 1 when a node or a component is not healthy.",
  output = true,
  examples = { "kip status", "kip status -o json", "kip status --cluster staging" },
  run = function(ctx)
    local cluster = ctx:cluster()
    local report, err = health.report(ctx:client())
    if not report then
      errors.fail(string.format("cannot reach cluster %q at %s: %s", cluster.name, cluster.server or "?", err),
        "Check that the server is up and its API port is reachable from here.")
    end
    report.cluster = cluster.name
    report.server = cluster.server
    if ctx.flags.output ~= "table" then
      ctx:show(report)
      return report.healthy and 0 or 1
    end
    ctx:say("Cluster %s (%s), Kubernetes %s: %s", cluster.name, cluster.server or "?", report.version or "?",
      report.healthy and "healthy" or "NOT HEALTHY")
    ctx:say("")
    ctx:show(report.nodes, { { "NODE", "name" }, { "STATUS", "status" }, { "ROLES", "roles" }, { "VERSION", "version" },
      { "INTERNAL-IP", "internal_ip" } })
    ctx:say("")
    local rows = {}
    for _, c in ipairs(report.components) do rows[#rows + 1] = { name = c.name, state = MARK[c.state] or c.state, detail = c.detail } end
    ctx:show(rows, { { "COMPONENT", "name" }, { "STATE", "state" }, { "DETAIL", "detail" } })
    return report.healthy and 0 or 1
  end,
}
