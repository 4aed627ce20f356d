-- SPDX-License-Identifier: Apache-2.0
-- The recipe `kip node add` runs on a new server: a k3s agent joined to the cluster, with the
-- version pinned to the server's and the join token written into the agent's config.yaml (0600,
-- never on a command line), then the node waited for until Ready and marked with how kip reaches
-- it (for `kip node remove`). Gets ctx.state.server_url, token, version, node_name, client, ssh_*
-- from kip node add. Uses kip.install.*.
local apply = require "kip.install.apply"
local files = require "kip.install.k3s_files"
local steps = require "kip.install.steps"
local strings = require "kip.util.strings"

local vars = {
  ["k3s.install_script_url"] = "https://get.k3s.io",
  ["k3s.exec_args"] = "",
  ["k3s.registry_mirrors"] = "",
  ["preflight.min_memory_mb"] = 512,
  ["preflight.min_disk_gb"] = 5,
  ["preflight.allow_unsupported_os"] = false,
  ["wait.timeout"] = 600,
}

-- The node's name: --name, else the server's host name (as k3s names it).
local function node_name(ctx)
  if not ctx.state.node_name then
    ctx.state.node_name = strings.trim(ctx:sh("hostname").stdout):lower()
  end
  return ctx.state.node_name
end

local function annotations(ctx)
  local st = ctx.state
  return { ["kipper.run/ssh-host"] = st.host, ["kipper.run/ssh-port"] = tostring(st.ssh_port),
    ["kipper.run/ssh-user"] = st.ssh_user, ["kipper.run/provider"] = st.provider }
end

local function node_ready(ctx)
  local node = ctx.state.client:get("v1", "Node", node_name(ctx))
  if not node then return false, "node " .. node_name(ctx) .. " has not joined yet" end
  if apply.condition(node, "Ready") ~= "True" then return false, "node " .. node_name(ctx) .. " is not Ready" end
  return node
end

local recipe_steps = {
  steps.preflight("agent", "test -x " .. files.BIN .. " && test -f " .. files.CONFIG),
  {
    name = "k3s-config", title = "Write the agent's configuration",
    check = function(ctx)
      local st = ctx.state
      local registries = files.registries(ctx.vars)
      return ctx:download(files.CONFIG) == files.agent_config(st.server_url, st.token, node_name(ctx))
        and (registries == false or ctx:download(files.REGISTRIES) == registries)
    end,
    run = function(ctx)
      local st = ctx.state
      local registries, err = files.registries(ctx.vars)
      if registries == nil then ctx:fail(err, "Write mirrors as --set k3s.registry_mirrors=docker.io=https://mirror.example") end
      ctx:upload(files.CONFIG, files.agent_config(st.server_url, st.token, node_name(ctx)), "0600")
      if registries then ctx:upload(files.REGISTRIES, registries, "0600") end
    end,
  },
  steps.install("agent", function(ctx) return ctx.state.version end, { title = "Install the k3s agent",
    hint = "Look at the install script's output above; on the server, 'journalctl -u k3s-agent' shows why the agent did not start." }),
  {
    name = "node-ready", title = "Wait for the node to join",
    hint = "The agent must reach the server's API port; on the new server, 'journalctl -u k3s-agent' shows why it cannot.",
    check = function(ctx) return node_ready(ctx) and true end,
    run = function(ctx)
      local v, waiting = apply.wait(function() return node_ready(ctx) end,
        { timeout = ctx.vars["wait.timeout"], tick = function() ctx.ui:tick() end })
      if not v then ctx:fail(string.format("the node did not become Ready within %ds: %s", ctx.vars["wait.timeout"], waiting)) end
    end,
  },
  {
    name = "node-labels", title = "Record how kip reaches the node",
    check = function(ctx)
      local node = ctx.state.client:get("v1", "Node", node_name(ctx))
      return node ~= nil and apply.contains(annotations(ctx), node.metadata.annotations or {})
    end,
    run = function(ctx)
      local ok, err = ctx.state.client:patch("v1", "Node", node_name(ctx), nil,
        { metadata = { annotations = annotations(ctx) } }, { type = "merge" })
      if not ok then ctx:fail("cannot annotate the node: " .. err) end
    end,
  },
}

return {
  description = "A k3s agent joined to an installed cluster (used by kip node add)",
  vars = vars,
  steps = recipe_steps,
}
