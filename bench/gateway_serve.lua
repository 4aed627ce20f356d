-- SPDX-License-Identifier: Apache-2.0
-- kipper-gateway for bench/gateway.lua when GW_BENCH_GATEWAY=lua: the kip.gateway binding with one
-- worker, plain and TLS listeners on the given loopback ports, and one route, cluster 127-0-0-1 to
-- the upstream over plain HTTP (private upstreams allowed). Runs until it is signalled.
-- Uses kip.gateway and kip.server.sleep.
-- build/bin/kip lua bench/gateway_serve.lua PLAIN_PORT TLS_PORT UPSTREAM_PORT CERT KEY
local gateway = require "kip.gateway"
local sleep = require("kip.server").sleep

local plain, tls, upstream, cert, key = arg[1], arg[2], tonumber(arg[3]), arg[4], arg[5]
assert(plain and tls and upstream and cert and key, "usage: gateway_serve.lua PLAIN_PORT TLS_PORT UPSTREAM_PORT CERT KEY")
local gw = assert(gateway.start({
  listen = "127.0.0.1:" .. plain,
  tls_listen = "127.0.0.1:" .. tls,
  certs = { { cert = cert, key = key } },
  zone = "kipper.run",
  workers = 1,
  allow_private = true,
  timeouts = { idle = 300 },
}))
assert(gw:set_routes({ ["127-0-0-1"] = { ip = "127.0.0.1", port = upstream, scheme = "http" } }))
print("ready")
io.stdout:flush()
while true do sleep(3600) end
