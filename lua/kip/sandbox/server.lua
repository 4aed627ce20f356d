-- SPDX-License-Identifier: Apache-2.0
-- `kip sandbox api` put together: the API (kip.sandbox.api) with its simulated cluster
-- (kip.sandbox.sim) behind kip.server over TLS with client certificates, a kubeconfig for it,
-- and the tick that drives controllers, followed logs, watch bookmarks and the state file.
local api_mod = require "kip.sandbox.api"
local certs = require "kip.sandbox.certs"
local fs = require "kip.fs"
local logs = require "kip.sandbox.logs"
local server = require "kip.server"
local sim = require "kip.sandbox.sim"
local state = require "kip.sandbox.state"

local M = {}

---Serves until SIGINT/SIGTERM.
---@param opts {listen: string, kubeconfig_out?: string, certs_dir: string, state_file?: string,
---  node_name: string, verbose?: boolean, on_ready?: fun(info: table), delay?: number}
---@return string why "SIGINT", "SIGTERM" or "stopped"
function M.run(opts)
  local host = opts.listen:match("^%[?([^%]]*)%]?:%d+$") or "127.0.0.1"
  local files = certs.ensure(opts.certs_dir, host)
  local api = api_mod.new({ address = opts.listen, log = opts.verbose and function(msg)
    io.stderr:write("kip sandbox api: ", msg, "\n")
  end or nil })
  if opts.state_file then
    local ok, err = state.load(api, opts.state_file)
    if not ok then return nil, err end
  end
  local simulation = sim.install(api, { node_name = opts.node_name, delay = opts.delay })
  local srv, err = server.listen({ listen = opts.listen, cert_file = files.server, ca_file = files.ca,
    require_client_cert = true, threads = 64, handler = function(req) return api:handle(req) end })
  if not srv then return nil, err end
  local port = srv:port()
  local url = string.format("https://%s:%d", host:find(":") and ("[" .. host .. "]") or host, port)
  api.address = string.format("%s:%d", host, port)
  if opts.kubeconfig_out then
    local ok, werr = fs.write(opts.kubeconfig_out, certs.kubeconfig(files, url, "kip-sandbox"), { mode = "0600" })
    if not ok then
      srv:close()
      return nil, werr
    end
  end
  if opts.on_ready then opts.on_ready({ url = url, port = port, kubeconfig = opts.kubeconfig_out }) end
  local last_log, last_bookmark, last_save = 0, 0, 0
  local saved_rv = api.store.rv
  local why = srv:run({ tick = 0.1, on_tick = function(now)
    sim.tick(simulation, now)
    if now - last_log >= 1 then
      last_log = now
      logs.tick(api)
    end
    if now - last_bookmark >= 10 then
      last_bookmark = now
      api:send_bookmarks()
    end
    if opts.state_file and api.store.rv ~= saved_rv and now - last_save >= 1 then
      last_save, saved_rv = now, api.store.rv
      local ok, serr = state.save(api, opts.state_file)
      if not ok then io.stderr:write("kip sandbox api: warning: cannot save state: ", serr, "\n") end
    end
  end })
  if opts.state_file and api.store.rv ~= saved_rv then state.save(api, opts.state_file) end
  srv:close()
  return why
end

return M
