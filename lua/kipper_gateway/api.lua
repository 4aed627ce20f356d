-- SPDX-License-Identifier: Apache-2.0
-- kipper-gateway's registration API (served by kip.server on --api-listen): register, prove,
-- re-challenge, heartbeat, read and delete clusters; /healthz and /metrics. JSON bodies up to
-- 4 KiB, errors as {"error", "hint"}, bearer tokens (the admin token, or a cluster's renewal token,
-- stored as its SHA-256 and compared in constant time), per-IP rate limits, and the
-- self-registration rules. Every change is saved to the registry file before the answer.
-- Uses kip.json, kip.tls, kip.log and kipper_gateway.registry/challenge/metrics (and kip.util.ratelimit limiters).
local challenge_mod = require "kipper_gateway.challenge"
local json = require "kip.json"
local log = require "kip.log"
local registry = require "kipper_gateway.registry"
local tls = require "kip.tls"

local M = {}

M.MAX_BODY = 4096

local function reply(status, body, headers)
  local h = headers or {}
  h["Content-Type"] = h["Content-Type"] or "application/json"
  h["Cache-Control"] = "no-store"
  return { status = status, headers = h, body = body and (assert(json.encode(body)) .. "\n") or "" }
end

local function fail(status, message, hint, headers)
  return reply(status, { error = message, hint = hint }, headers)
end

local function unauthorized(message, hint)
  return fail(401, message, hint, { ["WWW-Authenticate"] = 'Bearer realm="kipper-gateway"' })
end

-- "Bearer X" -> X
local function bearer(req)
  local h = req.headers.authorization
  if not h then return nil end
  return h:match("^[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
end

-- the client's IPv4 address (an IPv4-mapped IPv6 address is unwrapped)
local function client_ip(req)
  local a = req.remote_addr or ""
  return a:match("^::[fF][fF][fF][fF]:(%d+%.%d+%.%d+%.%d+)$") or a
end

local function decode_body(req, fields)
  if #req.body > M.MAX_BODY then
    return nil, fail(413, string.format("the body is over %d bytes", M.MAX_BODY), "Registration bodies are small JSON objects.")
  end
  local text = req.body
  if text:match("^%s*$") then text = "{}" end
  local body, err = json.decode(text)
  if body == nil then return nil, fail(400, "the body is not JSON: " .. tostring(err), "Send a JSON object.") end
  if type(body) ~= "table" or (json.is_array(body) and #body > 0) then
    return nil, fail(400, "the body is not a JSON object", "Send a JSON object.")
  end
  for k in pairs(body) do
    if not fields[k] then
      local names = {}
      for f in pairs(fields) do names[#names + 1] = f end
      table.sort(names)
      return nil, fail(400, string.format("unknown field %q", tostring(k)), "Known fields: " .. table.concat(names, ", ") .. ".")
    end
  end
  return body
end

---The request handler.
---@param ctx table {store, book, limiter, metrics, zone, allow_private, admin_token, is_public_ip,
---  fetch_chain, clock = os.time, monotonic = fn, on_change = fn(), stats = fn() -> table|nil}
---@return fun(req: kip.server.Request): kip.server.Response
function M.handler(ctx)
  local store, book = ctx.store, ctx.book
  local clock = ctx.clock or os.time
  local opts = store.opts

  -- A record as answered: its fields and the zone its names live in.
  local function view(rec)
    local v = registry.view(rec, opts)
    v.zone = ctx.zone
    return v
  end

  local function challenge_view(c)
    return { nonce = c.nonce, expires_at = registry.format_time(c.expires_at), message = c.message }
  end

  local function is_renewal(rec, token)
    return token ~= nil and rec and rec.token_sha256 ~= nil and tls.equal(tls.sha256_hex(token), rec.token_sha256)
  end

  local function saved(ok, err)
    if ok then return nil end
    log.error("cannot save the registry", { path = store.path, error = err })
    return fail(500, "the registry cannot be saved", "The gateway's operator must check its registry file and disk.")
  end

  local function port_scheme(body, rec)
    local port = body.port
    if port == nil then port = rec and rec.port or 443 end
    local scheme = body.scheme
    if scheme == nil then scheme = rec and rec.scheme or "https" end
    if math.type(port) ~= "integer" or port < 1 or port > 65535 then
      return nil, nil, fail(400, "port must be an integer from 1 to 65535")
    end
    if scheme ~= "http" and scheme ~= "https" then return nil, nil, fail(400, "scheme must be \"http\" or \"https\"") end
    return port, scheme
  end

  -- POST /v1/clusters
  local function register(req, admin, token)
    local body, err = decode_body(req, { cluster = true, ip = true, port = true, scheme = true, pin = true })
    if not body then return err end
    local id = body.cluster
    local name_ip = registry.cluster_ip(id)
    if not name_ip then
      return fail(400, "cluster must be a dashed IPv4 address such as 203-0-113-10", "The cluster's name is its public IP with dashes.")
    end
    local ip = body.ip == nil and name_ip or body.ip
    if not registry.parse_ipv4(ip) then return fail(400, "ip must be an IPv4 address such as 203.0.113.10") end
    local now = clock()
    local rec = store:get(id, now)
    local port, scheme, perr = port_scheme(body, nil)
    if perr then return perr end
    if not ctx.allow_private and not ctx.is_public_ip(ip) then
      return fail(403, ip .. " is not a public address",
        "The gateway routes only to public addresses (its operator can allow others with --allow-private-upstreams).")
    end
    if admin then
      if body.pin ~= nil and (type(body.pin) ~= "string" or not body.pin:match("^%x+$") or #body.pin ~= 64) then
        return fail(400, "pin must be the SHA-256 of the upstream key's SubjectPublicKeyInfo, as 64 hex digits")
      end
      local new = { cluster = id, ip = ip, port = port, scheme = scheme, owner = "admin", state = "active",
        pin = body.pin and body.pin:lower(), created_at = rec and rec.created_at or now, renewed_at = now }
      local bad = saved(store:put(new))
      if bad then return bad end
      book:drop(id)
      log.info("registered by the operator", { cluster = id, ip = ip, port = port, scheme = scheme })
      ctx.on_change()
      return reply(201, view(new))
    end
    if body.pin ~= nil then return fail(400, "pin is set by the gateway from the proof", "Leave pin out.") end
    if ip ~= name_ip then
      return fail(403, string.format("cluster %s is not the name of %s", id, ip),
        "A cluster registers the name of its own IP: " .. registry.dashed(ip) .. ".")
    end
    local from = client_ip(req)
    if from ~= ip then
      return fail(403, string.format("the request comes from %s, not from %s", from, ip),
        "Register from the cluster itself, so the request comes from the IP it claims.")
    end
    local renewal = is_renewal(rec, token)
    local new_token
    if rec and not renewal then
      if rec.owner == "admin" then
        return fail(409, id .. " is registered by the gateway's operator", "Ask the operator to delete it first.")
      end
      if rec.state ~= "pending" then
        return fail(409, id .. " is registered to another owner",
          "Send its renewal token (Authorization: Bearer), or wait until the name is free.")
      end
    end
    if not renewal then
      new_token = tls.random_token(32)
      rec = { cluster = id, ip = ip, port = port, scheme = scheme, owner = "self", state = "pending",
        token_sha256 = tls.sha256_hex(new_token), created_at = now, renewed_at = now }
      local bad = saved(store:put(rec))
      if bad then return bad end
      book:drop(id)
      log.info("registration started", { cluster = id, ip = ip, port = port, scheme = scheme })
    end
    local c, cerr = book:issue({ cluster = id, ip = ip, port = port, scheme = scheme, token_sha256 = rec.token_sha256 }, now)
    if not c then return fail(503, cerr, "Try again in a few minutes.", { ["Retry-After"] = "60" }) end
    return reply(202, { cluster = id, zone = ctx.zone, state = rec.state, token = new_token, challenge = challenge_view(c) })
  end

  -- the record of a cluster for its renewal token (or the admin token when admin_ok)
  local function authorize(id, admin, token, admin_ok)
    if not registry.cluster_ip(id) then return nil, fail(404, "no cluster " .. id, "Cluster ids are dashed IPv4 addresses.") end
    if not token then return nil, unauthorized("a bearer token is required", "Send Authorization: Bearer <renewal token>.") end
    local rec = store:get(id, clock())
    if admin and admin_ok then
      if not rec then return nil, fail(404, "no cluster " .. id) end
      return rec
    end
    if not rec then return nil, fail(404, "no cluster " .. id, "Register it with POST /v1/clusters.") end
    if not is_renewal(rec, token) then
      return nil, unauthorized("the token is not " .. id .. "'s renewal token", "Use the token the registration returned.")
    end
    return rec
  end

  local function prove(req, id, admin, token)
    local rec, err = authorize(id, admin, token, false)
    if not rec then return err end
    local body, berr = decode_body(req, { nonce = true, signature = true })
    if not body then return berr end
    if type(body.nonce) ~= "string" or type(body.signature) ~= "string" then
      return fail(400, "nonce and signature (strings) are required")
    end
    local c, why = book:take(body.nonce, clock())
    if not c then return fail(403, why, "Ask for a new challenge: POST /v1/clusters/" .. id .. "/challenge.") end
    if c.cluster ~= id or c.token_sha256 ~= rec.token_sha256 then
      return fail(403, "the nonce was not issued for this cluster and token", "Ask for a new challenge.")
    end
    local port = c.scheme == "https" and c.port or 443
    local sni = id .. "." .. ctx.zone
    -- the host lock is released while the chain is fetched: other requests may run meanwhile
    local chain, ferr = ctx.fetch_chain(c.ip, port, sni, 5)
    if not chain then
      log.info("proof refused", { cluster = id, reason = "fetch", error = ferr })
      return fail(403, string.format("cannot read the certificate served on %s:%d: %s", c.ip, port, tostring(ferr)),
        "The cluster must serve its default certificate on that port to clients asking for " .. sni .. ".")
    end
    local pin, verr = challenge_mod.verify(chain, c.message, body.signature)
    if not pin then
      log.info("proof refused", { cluster = id, reason = verr })
      return fail(403, verr, "Sign the challenge's message with the key of the certificate served for " .. sni .. ".")
    end
    local now = clock()
    local cur = store:get(id, now)
    if not cur or cur.token_sha256 ~= c.token_sha256 then
      return fail(409, id .. " changed while its proof was checked", "Register again.")
    end
    local new = {}
    for k, v in pairs(cur) do new[k] = v end
    new.state, new.pin, new.renewed_at, new.port, new.scheme = "active", pin, now, c.port, c.scheme
    local bad = saved(store:put(new))
    if bad then return bad end
    log.info("cluster proved its claim", { cluster = id, ip = new.ip, pin = pin })
    ctx.on_change()
    return reply(200, { cluster = id, zone = ctx.zone, state = new.state, pin = pin,
      expires_at = registry.format_time(registry.expires_at(new, opts)) })
  end

  local function rechallenge(req, id, admin, token)
    local rec, err = authorize(id, admin, token, false)
    if not rec then return err end
    local body, berr = decode_body(req, { port = true, scheme = true })
    if not body then return berr end
    local port, scheme, perr = port_scheme(body, rec)
    if perr then return perr end
    local c, cerr = book:issue({ cluster = id, ip = rec.ip, port = port, scheme = scheme, token_sha256 = rec.token_sha256 }, clock())
    if not c then return fail(503, cerr, "Try again in a few minutes.", { ["Retry-After"] = "60" }) end
    return reply(200, { cluster = id, zone = ctx.zone, state = rec.state, challenge = challenge_view(c) })
  end

  local function heartbeat(req, id, admin, token)
    local rec, err = authorize(id, admin, token, false)
    if not rec then return err end
    local _, berr = decode_body(req, {})
    if berr then return berr end
    if rec.state == "pending" then
      return fail(409, id .. " has not proved its claim yet", "Answer the challenge: POST /v1/clusters/" .. id .. "/proof.")
    end
    local new = {}
    for k, v in pairs(rec) do new[k] = v end
    local revived = new.state ~= "active"
    new.state, new.renewed_at = "active", clock()
    local bad = saved(store:put(new))
    if bad then return bad end
    if revived then
      log.info("cluster revived by its heartbeat", { cluster = id })
      ctx.on_change()
    end
    return reply(200, { cluster = id, zone = ctx.zone, state = new.state, renewed_at = registry.format_time(new.renewed_at),
      expires_at = registry.format_time(registry.expires_at(new, opts)) })
  end

  local function get_one(id, admin, token)
    local rec, err = authorize(id, admin, token, true)
    if not rec then return err end
    return reply(200, view(rec))
  end

  local function delete(id, admin, token)
    local rec, err = authorize(id, admin, token, true)
    if not rec then return err end
    local bad = saved(store:delete(id))
    if bad then return bad end
    book:drop(id)
    log.info("cluster deleted", { cluster = id, by = admin and "operator" or "owner" })
    if rec.state == "active" then ctx.on_change() end
    return { status = 204, headers = { ["Cache-Control"] = "no-store" }, body = "" }
  end

  local function list(admin)
    if not admin then return unauthorized("the admin token is required", "Send Authorization: Bearer <admin token>.") end
    local now = clock()
    local out = json.array({})
    for _, rec in ipairs(store:list()) do
      local r = store:get(rec.cluster, now)
      if r then out[#out + 1] = view(r) end
    end
    return reply(200, { clusters = out })
  end

  local function method_not_allowed(allow)
    return fail(405, "method not allowed", "Allowed: " .. allow .. ".", { Allow = allow })
  end

  -- -> endpoint name, rate-limit kind, function(admin, token) -> response
  local function route(req)
    local path, m = req.path, req.method
    if path == "/healthz" then
      return "healthz", nil, function()
        return { status = 200, headers = { ["Content-Type"] = "text/plain; charset=utf-8" }, body = "ok\n" }
      end
    end
    if path == "/metrics" then
      return "metrics", nil, function()
        return { status = 200, headers = { ["Content-Type"] = ctx.metrics_content_type },
          body = ctx.metrics:render(ctx.stats(), store:counts()) }
      end
    end
    if path == "/v1/clusters" or path == "/v1/clusters/" then
      if m == "POST" then return "register", "post", function(admin, token) return register(req, admin, token) end end
      if m == "GET" then return "list", "read", function(admin) return list(admin) end end
      return "other", "read", function() return method_not_allowed("GET, POST") end
    end
    local id, action = path:match("^/v1/clusters/([^/]+)/(%a+)$")
    if id then
      local actions = { proof = prove, challenge = rechallenge, heartbeat = heartbeat }
      local fn = actions[action]
      if fn then
        if m ~= "POST" then return action, "read", function() return method_not_allowed("POST") end end
        return action, action == "proof" and "proof" or "post", function(admin, token) return fn(req, id, admin, token) end
      end
    end
    id = path:match("^/v1/clusters/([^/]+)$")
    if id then
      if m == "GET" then return "get", "read", function(admin, token) return get_one(id, admin, token) end end
      if m == "DELETE" then return "delete", "post", function(admin, token) return delete(id, admin, token) end end
      return "other", "read", function() return method_not_allowed("GET, DELETE") end
    end
    return "other", "read", function()
      return fail(404, "not found", "The API serves /v1/clusters, /healthz and /metrics.")
    end
  end

  local function serve(req)
    local endpoint, kind, fn = route(req)
    local token = bearer(req)
    local admin = token ~= nil and ctx.admin_token ~= nil and tls.equal(token, ctx.admin_token)
    if kind and not admin then
      local ok, retry = ctx.limiter:take(client_ip(req), kind, ctx.monotonic())
      if not ok then
        return endpoint, fail(429, "too many requests from " .. client_ip(req), "Retry after " .. retry .. " s.",
          { ["Retry-After"] = tostring(retry) })
      end
    end
    if req.headers.authorization and not token then
      return endpoint, unauthorized("the Authorization header is not \"Bearer <token>\"")
    end
    return endpoint, fn(admin, token)
  end

  return function(req)
    local ok, endpoint, res = xpcall(serve, debug.traceback, req)
    if not ok then
      log.error("request failed", { method = req.method, path = req.path, error = endpoint })
      endpoint, res = "error", fail(500, "internal error", "See the gateway's log.")
    end
    ctx.metrics:count(endpoint, res.status)
    log.debug("api", { method = req.method, path = req.path, status = res.status, client = req.remote_addr })
    return res
  end
end

return M
