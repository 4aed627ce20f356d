-- SPDX-License-Identifier: Apache-2.0
-- The bare-metal InfraProvider: servers you already have, reachable over SSH. provision() creates
-- nothing: it checks the request and returns how to reach the machine; destroy() deletes nothing
-- (the server stays yours; kip only uninstalls k3s from it). Traffic arrives at the server's own
-- address, and storage is k3s's local-path. The interface is described in docs/providers.md.
local M = {}

function M.name() return "baremetal" end

---@param req {host: string, ssh_port?: integer, ssh_user?: string, ssh_key?: string, role: "server"|"agent", name?: string}
---@return table|nil machine {host, ssh_port, ssh_user, ssh_key, address}
---@return string|nil message
function M.provision(req)
  if type(req.host) ~= "string" or req.host == "" then
    return nil, "the bare-metal provider needs the server's address: pass --host IP"
  end
  return { host = req.host, ssh_port = req.ssh_port or 22, ssh_user = req.ssh_user or "root", ssh_key = req.ssh_key,
    address = req.host, role = req.role }
end

---Nothing to release: the machine is not kip's to delete.
---@return boolean ok
---@return string note
function M.destroy(machine)
  return true, string.format("%s is your server: kip leaves it running (k3s was uninstalled from it)", machine.host)
end

---The address traffic for the cluster's apps arrives at: the server's own.
---@param cluster {host: string}
---@return {ip?: string, hostname?: string}
function M.get_load_balancer(cluster)
  if cluster.host:match("^%d+%.%d+%.%d+%.%d+$") then return { ip = cluster.host } end
  return { hostname = cluster.host }
end

---The StorageClass apps' volumes use.
function M.storage_class()
  return "local-path"
end

return M
