-- SPDX-License-Identifier: Apache-2.0
-- `require "kip.k8s"`: the Kubernetes client for kip and plugins. connect() reads a kubeconfig
-- (or a kip cluster's) and returns a client (kip.k8s.client); the pieces are also here for those
-- who need them. Uses kip.k8s.kubeconfig and kip.k8s.client.
local client = require "kip.k8s.client"
local kubeconfig = require "kip.k8s.kubeconfig"

local M = {}

M.kubeconfig = kubeconfig
M.client = client

---A client for a kubeconfig's current (or named) context, or, with in_cluster, for the API of the
---cluster this program runs in (its pod's service account).
---@param opts? {kubeconfig?: string, context?: string, server?: string, timeout?: number, in_cluster?: boolean}
---@return table|nil client
---@return string|nil message
function M.connect(opts)
  opts = opts or {}
  local conn, err
  if opts.in_cluster then
    conn, err = kubeconfig.in_cluster()
  else
    conn, err = kubeconfig.load({ path = opts.kubeconfig, context = opts.context, server = opts.server })
  end
  if not conn then return nil, err end
  return client.new(conn, { timeout = opts.timeout })
end

return M
