-- SPDX-License-Identifier: Apache-2.0
-- `kip node add|list|remove`: more servers for the current cluster. add runs the k3s-agent recipe
-- on a new server (the join token read from the cluster's server over SSH, the version pinned to
-- the server's); remove drains the node, deletes it and uninstalls the agent over SSH. Uses
-- kip.install.run, kip.install.drain, kip.install.health and kip.cli.confirm.
local confirm = require "kip.cli.confirm"
local drain = require "kip.install.drain"
local errors = require "kip.cli.errors"
local files = require "kip.install.k3s_files"
local health = require "kip.install.health"
local run = require "kip.install.run"
local strings = require "kip.util.strings"

local ssh_flags = {
  { name = "ssh-port", arg = "N", default = "22", help = "the new server's SSH port" },
  { name = "ssh-user", arg = "USER", default = "root", help = "the SSH user; not root: commands run through sudo" },
  { name = "ssh-key", arg = "FILE", help = "private key to log in with (default: ssh-agent's keys)" },
  { name = "accept-host-key", help = "trust a server's SSH host key if kip has not seen it before" },
  { name = "sudo-password-stdin", help = "read the sudo password from the first line of stdin (the same for both servers)" },
}

local function flags_with(extra)
  local out = {}
  for _, f in ipairs(extra) do out[#out + 1] = f end
  for _, f in ipairs(ssh_flags) do out[#out + 1] = f end
  return out
end

local function port(value)
  local n = math.tointeger(tonumber(value))
  if not n or n < 1 or n > 65535 then errors.usage(string.format("--ssh-port takes a port number (1-65535), not %q", value)) end
  return n
end

local verbs = {}

verbs.add = {
  summary = "Add a server to the cluster as a k3s agent (worker) node",
  description = "Reads the join token and k3s version from the cluster's server over SSH, then installs a k3s\n" ..
    "agent of the same version on the new server and waits until the node is Ready. Running it again\n" ..
    "skips what is done. The token goes into the agent's config.yaml (0600), never on a command line.",
  output = true,
  flags = flags_with({
    { name = "host", arg = "ADDRESS", help = "the new server's address (required by the bare-metal provider)" },
    { name = "name", arg = "NAME", help = "the node's name (default: the server's host name)" },
    { name = "set", arg = "KEY=VALUE", repeated = true, help = "set a k3s-agent recipe variable (e.g. k3s.install_script_url=...)" },
    { name = "recipe", arg = "FILE", help = "a site recipe that extends k3s-agent" },
    { name = "provider", arg = "NAME", help = "the infrastructure provider (default: the cluster's)" },
    { name = "plan", help = "show what would run and change nothing" },
  }),
  examples = {
    "kip node add --host 203.0.113.11 --ssh-key ~/.ssh/id_ed25519",
    "kip node add --host 10.0.0.12 --name worker-2 --ssh-user ubuntu --accept-host-key",
  },
  run = function(ctx)
    local f = ctx.flags
    local ssh_port = port(f["ssh-port"])
    if f.name then
      local ok, why = require("kip.util.names").check_label("node", f.name)
      if not ok then errors.usage(why) end
    end
    local cluster = ctx:cluster()
    local c = ctx:client()
    local p = run.provider(f.provider or cluster.provider)
    local recipe, vars = run.recipe("k3s-agent", { file = f.recipe, sets = f.set })
    if f["sudo-password-stdin"] then f.sudo_password = run.read_sudo_password() end
    local json = f.output ~= "table"
    local out = json and io.stderr or io.stdout

    out:write(string.format("Reading the join token and version from %s\n", cluster.host or cluster.name))
    local server = run.server_target(cluster, f)
    local token = server:download(files.NODE_TOKEN)
    local v = server:exec(files.BIN .. " --version")
    server:close()
    if not token then errors.fail("cannot read the join token " .. files.NODE_TOKEN .. " on " .. server.description) end
    local version = v and v.status == 0 and v.stdout:match("^k3s version (%S+)")
    if not version then errors.fail("cannot read the k3s version on " .. server.description .. " (is k3s installed there?)") end

    local target, machine = run.machine(p, { host = f.host, ssh_port = ssh_port, ssh_user = f["ssh-user"], ssh_key = f["ssh-key"],
      role = "agent", name = f.name, plan = f.plan or false }, f)
    local host = machine.address or machine.host
    local transcript = run.transcript(f.plan and "plan-node" or "node-add", files.cluster_name(host))
    out:write(string.format("%s a node to %s on %s (k3s %s)\n", f.plan and "Plan for adding" or "Adding", cluster.name,
      target.description, version))
    local state = { server_url = cluster.server, token = strings.trim(token), version = version, node_name = f.name,
      client = c, host = host, ssh_port = machine.ssh_port, ssh_user = machine.ssh_user, provider = p.name() }
    local summary = run.run({ recipe = recipe, vars = vars, target = target, state = state, plan = f.plan,
      transcript = transcript, out = out, what = "kip node add" })
    target:close()
    local result = { node = state.node_name, host = host, cluster = cluster.name, version = version, plan = f.plan or nil,
      ran = summary.ran, skipped = summary.skipped, ssh_commands = summary.commands, transcript = transcript }
    if json then ctx:show(result) return 0 end
    if f.plan then ctx:say("Nothing was changed.") return 0 end
    ctx:say("Node %s (%s) is Ready in cluster %s.", state.node_name, host, cluster.name)
    return 0
  end,
}

verbs.list = {
  summary = "List the cluster's nodes",
  output = true,
  examples = { "kip node list", "kip node list -o json" },
  run = function(ctx)
    local list, err = ctx:client():list("v1", "Node")
    if not list then errors.fail("cannot list the nodes: " .. err) end
    local rows = {}
    for _, n in ipairs(list.items or {}) do rows[#rows + 1] = health.node_row(n) end
    table.sort(rows, function(a, b) return a.name < b.name end)
    if ctx.flags.output ~= "table" then ctx:show(require("kip.yaml").array(rows)) return 0 end
    ctx:show(rows, { { "NAME", "name" }, { "STATUS", "status" }, { "ROLES", "roles" }, { "VERSION", "version" },
      { "INTERNAL-IP", "internal_ip" }, { "SSH-HOST", function(r) return r.host or "" end } })
    return 0
  end,
}

verbs.remove = {
  summary = "Drain a node, delete it from the cluster and uninstall k3s from it",
  description = "Cordons the node, evicts its pods (honouring PodDisruptionBudgets), deletes the Node and, for\n" ..
    "a node kip added, runs k3s-agent-uninstall.sh on it over SSH. The cluster's server cannot be\n" ..
    "removed this way: use 'kip cluster uninstall'. Asks for confirmation unless --yes.",
  args = { { name = "NAME", help = "a node from 'kip node list'" } },
  flags = {
    { name = "yes", short = "y", help = "do not ask for confirmation" },
    { name = "timeout", arg = "SECONDS", default = "300", help = "how long to wait for the pods to leave" },
    { name = "keep-k3s", help = "only drain and delete the node; leave k3s installed on it" },
    { name = "ssh-key", arg = "FILE", help = "the key to log in to the node with (default: the cluster's --ssh-key)" },
    { name = "accept-host-key", help = "trust the node's SSH host key if kip has not seen it before" },
    { name = "sudo-password-stdin", help = "read the sudo password from the first line of stdin" },
  },
  examples = { "kip node remove worker-2", "kip node remove worker-2 --yes --timeout 600" },
  run = function(ctx)
    local name, f = ctx.args.NAME, ctx.flags
    local timeout = tonumber(f.timeout)
    if not timeout or timeout <= 0 then errors.usage("--timeout takes a number of seconds") end
    local c = ctx:client()
    local node = c:get("v1", "Node", name)
    if not node then errors.fail(string.format("cluster %q has no node %q", ctx:cluster().name, name), "Run 'kip node list'.") end
    local labels = node.metadata.labels or {}
    if labels["node-role.kubernetes.io/control-plane"] or labels["node-role.kubernetes.io/master"] then
      errors.fail(string.format("%s is the cluster's server, not an agent node", name),
        "To take the whole cluster down, use 'kip cluster uninstall'.")
    end
    local a = node.metadata.annotations or {}
    local host = a["kipper.run/ssh-host"]
    confirm.typed(string.format("drain and delete node %s%s", name, host and not f["keep-k3s"] and
      (" and uninstall k3s from " .. host) or ""), name, f.yes)
    if f["sudo-password-stdin"] then f.sudo_password = run.read_sudo_password() end
    ctx:say("Draining %s", name)
    local ok, err = drain.drain(c, name, { timeout = timeout, say = function(t) ctx:say("  %s", t) end })
    if not ok then errors.fail(err, "Check the PodDisruptionBudgets that keep pods there (kubectl get pdb -A), or wait longer with --timeout.") end
    local deleted, derr, code = c:delete("v1", "Node", name)
    if not deleted and code ~= "notfound" then errors.fail("cannot delete node " .. name .. ": " .. derr) end
    ctx:say("Deleted node %s.", name)
    if f["keep-k3s"] then return 0 end
    if not host then
      ctx:say("kip did not add this node, so it does not know how to reach it: run /usr/local/bin/k3s-agent-uninstall.sh on it.")
      return 0
    end
    local target = require("kip.remote.connect").connect({ host = host, port = tonumber(a["kipper.run/ssh-port"]) or 22,
      user = a["kipper.run/ssh-user"] or "root", key = f["ssh-key"] or ctx:cluster()["ssh-key"], accept_host_key = f["accept-host-key"],
      sudo_password = f.sudo_password })
    local r = target:exec("if [ -x /usr/local/bin/k3s-agent-uninstall.sh ]; then /usr/local/bin/k3s-agent-uninstall.sh; else exit 3; fi",
      { timeout = 300 })
    target:close()
    if r and r.status == 3 then
      ctx:say("k3s was not installed on %s any more.", host)
    elseif not r or r.status ~= 0 then
      errors.fail(string.format("uninstalling k3s on %s failed: %s", host, r and strings.trim(r.stderr) or "no answer"),
        "Run /usr/local/bin/k3s-agent-uninstall.sh on it yourself.")
    else
      ctx:say("Uninstalled k3s from %s.", host)
    end
    local p = run.provider(a["kipper.run/provider"] or ctx:cluster().provider)
    local _, note = run.provider_value(p, "destroy", { host = host, ssh_port = tonumber(a["kipper.run/ssh-port"]) or 22,
      ssh_user = a["kipper.run/ssh-user"] or "root", role = "agent", name = name })
    if note then ctx:say("%s", note) end
    return 0
  end,
}

return {
  summary = "Add, list and remove the cluster's nodes",
  description = "Nodes are servers running k3s. 'kip install' makes the first (the server); 'kip node add'\n" ..
    "joins more as agents.",
  verbs = verbs,
  verb_order = { "add", "list", "remove" },
}
