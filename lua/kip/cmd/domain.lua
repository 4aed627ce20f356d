-- SPDX-License-Identifier: Apache-2.0
-- `kip domain register|status|unregister`: the cluster's free name under a kipper-gateway's zone
-- (203-0-113-10.kipper.run, console-203-0-113-10.kipper.run, APP-203-0-113-10.kipper.run).
-- register claims the name, proves the cluster with the key of its default certificate and stores
-- the renewal token in Secret kipper-system/kipper-gateway, which kipperd's heartbeats use.
-- Uses kip.domain.*, kip.cli.errors and kip.cli.confirm.
local api_mod = require "kip.domain.api"
local errors = require "kip.cli.errors"
local message = require "kip.domain.message"
local register = require "kip.domain.register"
local store = require "kip.domain.store"

local function gateway_api(url, extra)
  local api, err = api_mod.new({ url = url, local_address = extra and extra.local_address })
  if not api then errors.usage(err) end
  return api
end

local function fail(err, hint)
  errors.fail(err, hint)
end

-- The stored registration, or a failure saying there is none.
local function stored(c)
  local reg, err = store.load(c)
  if err then fail(err) end
  if not reg then
    fail("this cluster is not registered with a gateway (there is no Secret " .. store.NAMESPACE .. "/" .. store.NAME .. ")",
      "Register it with 'kip domain register'.")
  end
  return reg
end

-- The IPv4 address of the API server of the current cluster.
local function api_server_ip(ctx)
  local server = ctx:client().conn.server or ""
  local hostpart = server:match("^%a+://%[?([^%]/]+)%]?:%d+") or server:match("^%a+://([^/:]+)")
  if not message.ipv4(hostpart or "") then
    errors.usage(string.format("the cluster's API server %s is not at an IPv4 address", server),
      "Give the cluster's public IPv4 address with --ip.")
  end
  return hostpart
end

local function port_flag(v)
  local n = math.tointeger(tonumber(v))
  if not n or n < 1 or n > 65535 then errors.usage(string.format("--port takes a port number (1-65535), not %q", v)) end
  return n
end

local function structured(ctx) return ctx.flags.output ~= "table" end

local verbs = {}

verbs.register = {
  summary = "Register the cluster with a kipper-gateway: a free name for it and its apps",
  description = "Claims CLUSTER.ZONE (CLUSTER is the IPv4 address with dashes, e.g. 203-0-113-10.kipper.run) at\n" ..
    "the gateway, which then routes it, console-CLUSTER.ZONE and APP-CLUSTER.ZONE to the cluster.\n" ..
    "The gateway accepts a claim only from the cluster's own address, then asks for a signature\n" ..
    "made with the key of the certificate the cluster serves on --port (Secret\n" ..
    "kube-system/kipper-default-tls, read through the API, or --key FILE), and pins that key.\n" ..
    "The renewal token is kept in Secret kipper-system/kipper-gateway, for kipperd's heartbeats;\n" ..
    "running it again re-registers with that token. --from server sends the claim from the\n" ..
    "cluster's server over SSH (the default for clusters kip installed).",
  output = true,
  flags = {
    { name = "gateway", arg = "URL", help = "the gateway's API (default: the stored one, else " .. api_mod.DEFAULT_URL .. ")" },
    { name = "ip", arg = "IP", help = "the cluster's public IPv4 address (default: its API server's)" },
    { name = "port", arg = "N", default = "443", help = "the port the cluster's ingress listens on" },
    { name = "scheme", arg = "SCHEME", choices = { "https", "http" }, default = "https", help = "https or http to the cluster" },
    { name = "key", arg = "FILE", help = "the private key of the certificate the cluster serves (default: from the cluster)" },
    { name = "zone", arg = "ZONE", help = "the gateway's zone, when its answer does not say (default " .. api_mod.DEFAULT_ZONE .. ")" },
    { name = "from", arg = "WHERE", choices = { "here", "server" }, help = "send the claim from this machine or from the " ..
      "cluster's server over SSH (default: server for a cluster kip installed over SSH, else here)" },
    { name = "source-address", arg = "IP", help = "with --from here: the local address to send from" },
    { name = "ssh-key", arg = "FILE", help = "with --from server: the key to log in with (default: the one kip install used)" },
    { name = "accept-host-key", help = "with --from server: trust the server's SSH host key if kip has not seen it" },
  },
  examples = {
    "kip domain register",
    "kip domain register --ip 203.0.113.10 --gateway https://api.kipper.run",
    "kip domain register --from here -o json",
  },
  run = function(ctx)
    local f = ctx.flags
    local port = port_flag(f.port)
    if f.ip and not message.ipv4(f.ip) then
      errors.usage(string.format("--ip %q is not an IPv4 address", f.ip), "A free name is for a public IPv4 address, e.g. --ip 203.0.113.10.")
    end
    if f["source-address"] and not message.ipv4(f["source-address"]) and not f["source-address"]:find(":", 1, true) then
      errors.usage(string.format("--source-address %q is not an IP address", f["source-address"]))
    end
    if f.gateway then
      local _, err = api_mod.check_url(f.gateway)
      if err then errors.usage("--gateway: " .. err) end
    end
    local cluster_entry = ctx:cluster()
    local from = f.from or ((cluster_entry.host and cluster_entry["ssh-user"]) and "server" or "here")
    if from == "server" and f["source-address"] then errors.usage("--source-address is for --from here") end
    local c = ctx:client()
    local ip = f.ip or api_server_ip(ctx)
    local cluster = message.cluster_id(ip)
    local key, key_from, khint = store.read_key(c, f.key)
    if not key then fail(key_from, khint) end
    local old, serr = store.load(c)
    if serr then fail(serr, "Delete the Secret to register afresh, or fix it.") end
    local url = f.gateway or (old and old.gateway) or api_mod.DEFAULT_URL
    local token = old and old.cluster == cluster and api_mod.check_url(old.gateway) == api_mod.check_url(url) and old.token or nil
    local api = gateway_api(url, { local_address = f["source-address"] })
    local out = structured(ctx) and io.stderr or io.stdout
    local claim, target
    if from == "server" then
      if not cluster_entry.host then
        errors.usage("cluster " .. cluster_entry.name .. " has no server kip can reach over SSH", "Use --from here.")
      end
      target = require("kip.install.run").server_target(cluster_entry, f, f["ssh-key"])
      claim = register.curl_claim(function(cmd, o) return target:exec(cmd, o) end)
    end
    local reg, err, _, hint = register.register({ api = api, cluster = cluster, ip = ip, port = port, scheme = f.scheme,
      key = key, token = token, claim = claim, say = function(text) out:write(text, "...\n") end,
      on_token = function(t)
        local ok, werr = store.save(c, { gateway = api.url, cluster = cluster, token = t })
        if not ok then out:write("warning: ", werr, "\n") end
      end })
    if target then target:close() end
    api:close()
    if not reg then fail(err, hint) end
    local zone = reg.zone or f.zone or api_mod.DEFAULT_ZONE
    local result = { cluster = cluster, gateway = api.url, ip = ip, port = port, scheme = reg.scheme, state = reg.state,
      domain = message.domain(cluster, zone), console = message.console_url(cluster, zone),
      apps = "https://APP-" .. message.domain(cluster, zone), pin = reg.pin, expires_at = reg.expires_at, key = key_from }
    if structured(ctx) then ctx:show(result) return 0 end
    ctx:say("Cluster %s is registered with %s (%s).", cluster, api.url, reg.state or "active")
    ctx:say("  domain:   %s", result.domain)
    ctx:say("  console:  %s", result.console)
    ctx:say("  apps:     %s", result.apps)
    ctx:say("kipperd renews the name with heartbeats (token in Secret %s/%s).", store.NAMESPACE, store.NAME)
    return 0
  end,
}

verbs.status = {
  summary = "Show the cluster's registration at its gateway",
  output = true,
  examples = { "kip domain status", "kip domain status -o json" },
  run = function(ctx)
    local c = ctx:client()
    local reg = stored(c)
    local api = gateway_api(reg.gateway)
    local rec, err, code, hint = register.status(api, reg)
    api:close()
    if not rec then
      if code == "notfound" then
        fail(string.format("the gateway %s does not know cluster %s any more", reg.gateway, reg.cluster),
          "Register it again with 'kip domain register'.")
      end
      fail(err, hint)
    end
    rec.gateway = rec.gateway or reg.gateway
    rec.cluster = rec.cluster or reg.cluster
    if structured(ctx) then ctx:show(rec) return 0 end
    local rows = { { "cluster", rec.cluster }, { "gateway", rec.gateway }, { "state", rec.state },
      { "address", rec.ip and string.format("%s://%s:%s", rec.scheme or "https", rec.ip, tostring(rec.port or 443)) },
      { "pin", rec.pin }, { "renewed", rec.renewed_at }, { "expires", rec.expires_at }, { "created", rec.created_at } }
    for _, r in ipairs(rows) do
      if r[2] ~= nil then ctx:say("%-9s %s", r[1] .. ":", tostring(r[2])) end
    end
    return 0
  end,
}

verbs.unregister = {
  summary = "Give the cluster's name back to the gateway and forget the token",
  flags = { { name = "yes", short = "y", help = "do not ask for confirmation" } },
  examples = { "kip domain unregister", "kip domain unregister --yes" },
  run = function(ctx)
    local c = ctx:client()
    local reg = stored(c)
    require("kip.cli.confirm").typed(string.format("unregister %s from %s: its names stop working and may be taken by others",
      reg.cluster, reg.gateway), reg.cluster, ctx.flags.yes)
    local api = gateway_api(reg.gateway)
    local ok, err, _, hint = register.unregister(api, reg)
    api:close()
    if not ok then fail(err, hint) end
    local dok, derr = store.delete(c)
    if not dok then fail(derr) end
    ctx:say("Cluster %s is unregistered from %s; the token is deleted.", reg.cluster, reg.gateway)
    return 0
  end,
}

return {
  summary = "The cluster's free domain at a kipper-gateway: register, status, unregister",
  description = "A kipper-gateway gives every registered cluster a name under its zone, from its IPv4\n" ..
    "address: 203-0-113-10.kipper.run, with console-203-0-113-10.kipper.run and\n" ..
    "APP-203-0-113-10.kipper.run for its apps. 'kip install' registers new clusters.",
  verbs = verbs,
  verb_order = { "register", "status", "unregister" },
}
