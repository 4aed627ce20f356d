-- SPDX-License-Identifier: Apache-2.0
-- `kip sandbox api` put together: the API (kip.sandbox.api) with its simulated cluster
-- (kip.sandbox.sim) behind kip.server over TLS with client certificates (and, with a node token,
-- bearer tokens for agents: kip.sandbox.auth), a kubeconfig for it, and the tick that drives
-- controllers, the auto-deploy folder (kip.sandbox.deploy), followed logs, watch bookmarks and
-- the state file.
local api_mod = require "kip.sandbox.api"
local auth = require "kip.sandbox.auth"
local certs = require "kip.sandbox.certs"
local deploy = require "kip.sandbox.deploy"
local fs = require "kip.fs"
local logs = require "kip.sandbox.logs"
local server = require "kip.server"
local sim = require "kip.sandbox.sim"
local state = require "kip.sandbox.state"

local M = {}

---Serves until SIGINT/SIGTERM.
---@param opts {listen: string, kubeconfig_out?: string, certs_dir: string, state_file?: string,
---  node_name: string, verbose?: boolean, on_ready?: fun(info: table), delay?: number,
---  manifests_dir?: string, node_token_file?: string, node_monitor_grace?: number, disable?: table<string, boolean>}
---@return string|nil why "SIGINT", "SIGTERM" or "stopped"
---@return string? message why it could not start
function M.run(opts)
  local host = opts.listen:match("^%[?([^%]]*)%]?:%d+$") or "127.0.0.1"
  local files = certs.ensure(opts.certs_dir, host)
  local token
  if opts.node_token_file then
    local terr
    token, terr = auth.ensure_token(opts.node_token_file, files.ca_pem)
    if not token then return nil, "node token: " .. tostring(terr) end
  end
  local api = api_mod.new({ address = opts.listen, node_token = token, ca_pem = files.ca_pem,
    log = opts.verbose and function(msg)
      io.stderr:write("kip sandbox api: ", msg, "\n")
    end or nil })
  if opts.state_file then
    local ok, err = state.load(api, opts.state_file)
    if not ok then return nil, err end
  end
  local simulation = sim.install(api, { node_name = opts.node_name, delay = opts.delay,
    node_monitor_grace = opts.node_monitor_grace })
  if opts.manifests_dir then
    local ok, berr = require("kip.sandbox.bundled").write(opts.manifests_dir, opts.disable or {})
    if not ok then return nil, "cannot write k3s's bundled manifests: " .. tostring(berr) end
  end
  local deployer = opts.manifests_dir and deploy.new(api, { dir = opts.manifests_dir, node_name = opts.node_name })
  -- a round's bug is reported, not fatal: the API keeps serving
  local function deploy_round()
    local ok, derr = xpcall(deployer.scan, debug.traceback, deployer)
    if not ok then io.stderr:write("kip sandbox api: internal error in the manifests folder's round: ", tostring(derr), "\n") end
  end
  if deployer then deploy_round() end
  -- with a node token, clients without a certificate get through the handshake and need the token;
  -- each watch and followed log holds a thread, and kube-apiserver does not cap those: room for hundreds
  local srv, err = server.listen({ listen = opts.listen, cert_file = files.server, ca_file = files.ca,
    require_client_cert = token == nil, threads = 320, handler = function(req) return api:handle(req) end })
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
  if opts.on_ready then
    opts.on_ready({ url = url, port = port, kubeconfig = opts.kubeconfig_out, node_token_file = opts.node_token_file })
  end
  local last_log, last_bookmark, last_save, last_deploy = 0, 0, 0, 0
  local saved_rv = api.store.rv
  local why = srv:run({ tick = 0.1, on_tick = function(now)
    sim.tick(simulation, now)
    if now - last_log >= 1 then
      last_log = now
      logs.tick(api)
    end
    if deployer and now - last_deploy >= 2 then
      last_deploy = now
      deploy_round()
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
