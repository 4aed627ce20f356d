-- SPDX-License-Identifier: Apache-2.0
-- `kip cluster list|current|use|rename|remove`: the clusters kip knows, kept in
-- $KIP_HOME/config.yaml (kip install adds them). Uses kip.config through the command context.
local config = require "kip.config"
local errors = require "kip.cli.errors"
local fs = require "kip.fs"
local names = require "kip.util.names"

local columns = {
  { "CURRENT", function(c) return c.current and "*" or "" end },
  { "NAME", "name" },
  { "SERVER", "server" },
  { "HOST", "host" },
  { "DOMAIN", "domain" },
}

-- A copy of the entry for -o json/yaml, with `current` set.
local function view(cluster, current)
  local v = {}
  for k, x in pairs(cluster) do v[k] = x end
  v.current = cluster.name == current
  return v
end

local function must_find(cfg, name)
  local cluster, index = config.find(cfg, name)
  if not cluster then
    errors.fail(string.format("no cluster named %q", name), "Run 'kip cluster list' to see the clusters kip knows.")
  end
  return cluster, index
end

local function check_name(name)
  local ok, why = names.check_label("cluster", name)
  if not ok then errors.usage(why) end
end

local verbs = {}

verbs.list = {
  summary = "List the clusters kip knows; * marks the current one",
  output = true,
  examples = { "kip cluster list", "kip cluster list -o json" },
  run = function(ctx)
    local cfg = ctx:config()
    local rows = {}
    for _, c in ipairs(cfg.clusters) do rows[#rows + 1] = view(c, cfg.current) end
    if ctx.flags.output == "table" then
      if #rows == 0 then
        io.stderr:write("No clusters yet. Install one with 'kip install --host IP'.\n")
        return 0
      end
      ctx:show(rows, columns)
    else
      ctx:show(require("kip.yaml").array(rows))
    end
    return 0
  end,
}

verbs.current = {
  summary = "Show the cluster commands use (--cluster and KIP_CLUSTER count)",
  output = true,
  examples = { "kip cluster current", "KIP_CLUSTER=staging kip cluster current -o yaml" },
  run = function(ctx)
    local cluster = ctx:cluster()
    if ctx.flags.output == "table" then
      ctx:say("%s", cluster.name)
    else
      ctx:show(view(cluster, ctx:config().current))
    end
    return 0
  end,
}

verbs.use = {
  summary = "Make NAME the current cluster",
  args = { { name = "NAME", help = "a cluster from 'kip cluster list'" } },
  examples = { "kip cluster use prod" },
  run = function(ctx)
    local cfg = ctx:config()
    local name = ctx.args.NAME
    must_find(cfg, name)
    if cfg.current == name then
      ctx:say("Cluster %q is already the current cluster.", name)
      return 0
    end
    cfg.current = name
    ctx:save_config()
    ctx:say("Switched to cluster %q.", name)
    return 0
  end,
}

verbs.rename = {
  summary = "Rename a cluster in kip's configuration (the server is not touched)",
  args = {
    { name = "OLD", help = "the cluster's current name" },
    { name = "NEW", help = "its new name: lowercase letters, digits and '-'" },
  },
  examples = { "kip cluster rename 203-0-113-10 prod" },
  run = function(ctx)
    local cfg = ctx:config()
    local old, new = ctx.args.OLD, ctx.args.NEW
    check_name(new)
    local cluster = must_find(cfg, old)
    if old == new then
      ctx:say("Cluster %q already has that name.", old)
      return 0
    end
    if config.find(cfg, new) then
      errors.fail(string.format("a cluster named %q already exists", new),
        "Pick another name, or remove that one first with 'kip cluster remove " .. new .. "'.")
    end
    cluster.name = new
    if cfg.current == old then cfg.current = new end
    ctx:save_config()
    ctx:say("Renamed cluster %q to %q.", old, new)
    return 0
  end,
}

verbs.remove = {
  summary = "Forget a cluster: remove it from kip's configuration (the server keeps running)",
  args = { { name = "NAME", help = "a cluster from 'kip cluster list'" } },
  flags = {
    { name = "keep-kubeconfig", help = "keep the kubeconfig kip stored for it under KIP_HOME" },
  },
  examples = { "kip cluster remove old-test", "kip cluster remove staging --keep-kubeconfig" },
  run = function(ctx)
    local cfg = ctx:config()
    local name = ctx.args.NAME
    local cluster, index = must_find(cfg, name)
    table.remove(cfg.clusters, index)
    if cfg.current == name then cfg.current = nil end
    ctx:save_config()
    ctx:say("Removed cluster %q from kip's configuration; the server itself was not changed.", name)
    local kubeconfig = cluster.kubeconfig
    local home = config.home() .. "/"
    if kubeconfig and not ctx.flags["keep-kubeconfig"] and kubeconfig:sub(1, #home) == home and fs.exists(kubeconfig) then
      local ok, err = fs.remove(kubeconfig)
      if ok then
        ctx:say("Deleted its kubeconfig %s.", kubeconfig)
      else
        io.stderr:write("kip: warning: could not delete ", kubeconfig, ": ", err, "\n")
      end
    end
    if cfg.current == nil and #cfg.clusters > 0 then
      ctx:say("No cluster is current now; pick one with 'kip cluster use NAME'.")
    end
    return 0
  end,
}

verbs.uninstall = {
  summary = "Uninstall k3s (and so Kipper) from the cluster's servers and forget the cluster",
  description = "Runs k3s's uninstall scripts over SSH: k3s-agent-uninstall.sh on every node 'kip node add'\n" ..
    "joined, then k3s-uninstall.sh on the server. Every app, volume and certificate on the cluster is\n" ..
    "deleted. Then the provider releases the machines (the bare-metal provider leaves your servers\n" ..
    "running) and kip forgets the cluster. Asks you to type the cluster's name unless --yes.",
  args = { { name = "NAME", optional = true, help = "the cluster (default: the current one)" } },
  flags = {
    { name = "yes", short = "y", help = "do not ask for confirmation" },
    { name = "ssh-key", arg = "FILE", help = "the key to log in with (default: the one kip install used)" },
    { name = "accept-host-key", help = "trust a server's SSH host key if kip has not seen it before" },
    { name = "sudo-password-stdin", help = "read the sudo password from the first line of stdin" },
  },
  examples = { "kip cluster uninstall", "kip cluster uninstall staging --yes" },
  run = function(ctx)
    local f = ctx.flags
    local cfg = ctx:config()
    local cluster = ctx.args.NAME and must_find(cfg, ctx.args.NAME) or ctx:cluster()
    require("kip.cli.confirm").typed(string.format("uninstall k3s from %s, deleting every app and volume of cluster %s",
      cluster.host or "its server", cluster.name), cluster.name, f.yes)
    local run = require "kip.install.run"
    if f["sudo-password-stdin"] then f.sudo_password = run.read_sudo_password() end
    require("kip.install.uninstall").cluster(cluster, f, function(fmt, ...) ctx:say(fmt, ...) end)
    local _, index = config.find(cfg, cluster.name)
    table.remove(cfg.clusters, index)
    if cfg.current == cluster.name then cfg.current = nil end
    ctx:save_config()
    local home = config.home() .. "/"
    if cluster.kubeconfig and cluster.kubeconfig:sub(1, #home) == home then fs.remove(cluster.kubeconfig) end
    ctx:say("Cluster %q is uninstalled and removed from kip's configuration.", cluster.name)
    return 0
  end,
}

return {
  summary = "Manage the clusters kip knows",
  description = "Lists, selects, renames and forgets the clusters in KIP_HOME/config.yaml. 'kip install'\n" ..
    "adds a cluster; --cluster NAME or KIP_CLUSTER picks one for a single command.",
  verbs = verbs,
  verb_order = { "list", "current", "use", "rename", "remove", "uninstall" },
}
