---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.gateway"` (core/src/bind/l_gateway.c). Never loaded; for editors and docs.

---@class kip.gateway
local gateway = {}

---@class kip.gateway.Timeouts seconds (fractions allowed)
---@field header? number a request head must arrive within this (408 after), default 10; also the TLS handshake
---@field idle? number a keep-alive connection may wait this long for its next request, default 60
---@field connect? number connecting to an upstream (and its TLS handshake), default 5 (504 after)
---@field upstream? number the longest quiet spell of an upstream in a request or a tunnel, default 60 (504 before its response)

---@class kip.gateway.Options
---@field listen? string plain HTTP listener "a.b.c.d:port" ("*:port" for every address; port 0 picks one)
---@field tls_listen? string TLS listener, same form; needs certs
---@field certs? {cert: string, key: string}[] certificate and key files; the first is the default, SNI picks the others
---@field zone? string default "kipper.run"
---@field workers? integer threads, each with its own listeners (SO_REUSEPORT), default 1
---@field allow_private? boolean allow private, loopback and link-local upstreams, default false
---@field access_log? string "-" for standard output or a file (appended); one JSON line per request
---@field timeouts? kip.gateway.Timeouts
---@field max_head? integer request head bound in bytes (431 above), default 16384

---@class kip.gateway.Route
---@field ip string the upstream's IPv4 address
---@field port? integer default 443 for https, 80 for http
---@field scheme? "https"|"http" default "https" (TLS with SNI "<cluster>.<zone>")
---@field pin? string SHA-256 hex of the upstream leaf's SPKI DER; a different key is refused (502)

---@class kip.gateway.Gateway
local Gateway = {}

---@return {listen?: integer, tls_listen?: integer} ports the bound ports
function Gateway:ports() end

---Replaces the whole route table at once; requests already routed keep their upstream. Raises on
---a malformed route.
---@param routes table<string, kip.gateway.Route> cluster name ("203-0-113-10") -> upstream
---@return true
function Gateway:set_routes(routes) end

---Replaces the certificates for new TLS handshakes; open connections keep theirs.
---@param certs {cert: string, key: string}[]
---@return true|nil ok
---@return string? message why the files were refused (the old certificates stay)
---@return string? code
function Gateway:set_certs(certs) end

---The counters, summed over the workers: connections_active, connections_total, requests_total,
---responses_2xx/3xx/4xx/5xx, bytes_in, bytes_out, upstream_connects, upstream_reused,
---upstream_errors, upstream_timeouts, refused_host, refused_private, refused_pin,
---refused_framing, tls_handshakes, tls_resumed, websocket_tunnels.
---@return table<string, integer>
function Gateway:stats() end

---Stops accepting, closes idle connections, lets requests in flight finish (Connection: close)
---for up to seconds, then stops the workers, cutting what is left. Blocks with the host lock released.
---@param seconds? number default 30
---@return boolean finished whether every connection finished in time
function Gateway:drain(seconds) end

---Stops at once and frees everything (also __close and __gc). Idempotent.
function Gateway:close() end

---Starts the proxy: binds the listeners and starts the workers. Every host answers 404 until
---set_routes. Raises on malformed options.
---@param opts kip.gateway.Options
---@return kip.gateway.Gateway|nil gateway
---@return string? message address in use, unreadable certificates, ...
---@return string? code
function gateway.start(opts) end

---Host header -> cluster, as the proxy routes it.
---@param host string "APP-A-B-C-D.ZONE" or "A-B-C-D.ZONE" (optional :port)
---@param zone string
---@return {cluster: string, ip: string, app: string}|nil route app is "" for the cluster name itself
---@return string? why "other zone", "extra labels", "bad character", "not a cluster name", "IP literal", "empty"
function gateway.parse_host(host, zone) end

---Whether a dotted IPv4 address is public unicast (the proxy's and the registration's SSRF test).
---@param ip string
---@return boolean|nil public
---@return string? message "not an IPv4 address"
function gateway.is_public_ip(ip) end

---Fetches the certificate chain a TLS server presents (blocking, host lock released).
---@param ip string
---@param port integer
---@param opts? {sni?: string, timeout?: number}
---@return string|nil pem the chain, leaf first
---@return string? message
---@return string? code
function gateway.peer_certificate(ip, port, opts) end

return gateway
