-- SPDX-License-Identifier: Apache-2.0
-- Taking a cluster down: k3s-agent-uninstall.sh on each node kip joined (found by the kipper.run/
-- ssh-* annotations, while the API still answers), k3s-uninstall.sh on the server, then the
-- provider's destroy(). Uses kip.remote.connect, kip.install.run and kip.k8s.
local connect = require "kip.remote.connect"
local errors = require "kip.cli.errors"
local run = require "kip.install.run"
local strings = require "kip.util.strings"

local M = {}

local function uninstall_on(target, script)
  local r, err = target:exec(string.format("if [ -x %s ]; then %s; else exit 3; fi", script, script), { timeout = 600 })
  target:close()
  if not r then return nil, err end
  if r.status == 3 then return "absent" end
  if r.status ~= 0 then return nil, strings.trim(r.stderr ~= "" and r.stderr or r.stdout) end
  return "removed"
end

-- The nodes kip added, from the API; nil, message when it does not answer.
local function agents(cluster)
  local ok, c, err = pcall(function()
    return require("kip.k8s").connect({ kubeconfig = cluster.kubeconfig or "", timeout = 15 })
  end)
  if not ok or not c then return nil, tostring(ok and err or c) end
  local list, lerr = c:list("v1", "Node")
  if not list then return nil, lerr end
  local out = {}
  for _, n in ipairs(list and list.items or {}) do
    local a = n.metadata.annotations or {}
    if a["kipper.run/ssh-host"] then
      out[#out + 1] = { name = n.metadata.name, host = a["kipper.run/ssh-host"],
        port = tonumber(a["kipper.run/ssh-port"]) or 22, user = a["kipper.run/ssh-user"] or "root",
        provider = a["kipper.run/provider"] }
    end
  end
  return out
end

---@param cluster table the config.yaml entry
---@param flags table accept-host-key, ssh-key, sudo_password
---@param say fun(fmt: string, ...)
function M.cluster(cluster, flags, say)
  local nodes, why = agents(cluster)
  if not nodes then
    say("warning: the cluster's API does not answer (%s), so kip cannot list the nodes it added; " ..
      "run /usr/local/bin/k3s-agent-uninstall.sh on each of them yourself.", why)
  end
  for _, node in ipairs(nodes or {}) do
    local target = connect.connect({ host = node.host, port = node.port, user = node.user, key = flags["ssh-key"] or cluster["ssh-key"],
      accept_host_key = flags["accept-host-key"], sudo_password = flags.sudo_password })
    local state, err = uninstall_on(target, "/usr/local/bin/k3s-agent-uninstall.sh")
    if not state then errors.fail(string.format("uninstalling the agent on %s (node %s) failed: %s", node.host, node.name, err)) end
    say("Node %s (%s): %s.", node.name, node.host, state == "absent" and "k3s was not installed" or "k3s uninstalled")
    local p = run.provider(node.provider or cluster.provider)
    local _, note = run.provider_value(p, "destroy", { host = node.host, ssh_port = node.port, ssh_user = node.user,
      role = "agent", name = node.name })
    if note then say("%s", note) end
  end
  local target = run.server_target(cluster, flags, flags["ssh-key"])
  local state, err = uninstall_on(target, "/usr/local/bin/k3s-uninstall.sh")
  if not state then
    errors.fail(string.format("uninstalling k3s on %s failed: %s", cluster.host, err),
      "Run /usr/local/bin/k3s-uninstall.sh on the server yourself, then 'kip cluster remove " .. cluster.name .. "'.")
  end
  say("Server %s: %s.", cluster.host, state == "absent" and "k3s was not installed" or "k3s uninstalled")
  local p = run.provider(cluster.provider)
  local _, note = run.provider_value(p, "destroy", { host = cluster.host, ssh_port = cluster["ssh-port"],
    ssh_user = cluster["ssh-user"], role = "server", name = cluster.name })
  if note then say("%s", note) end
end

return M
