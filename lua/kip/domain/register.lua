-- SPDX-License-Identifier: Apache-2.0
-- Registering a cluster with a kipper-gateway and keeping the registration, shared by
-- `kip domain`, `kip install` and kipperd: claim the name (POST /v1/clusters), check that the
-- challenge is exactly ours and sign it with the key of the certificate the cluster serves, send
-- the proof, and later status, heartbeat and unregister with the renewal token. The claim must come
-- from the cluster's own address, so it can be sent another way (M.curl_claim: curl run on the
-- server over SSH). Uses kip.domain.api, kip.domain.message, kip.domain.store and kip.json.
local api_mod = require "kip.domain.api"
local json = require "kip.json"
local message = require "kip.domain.message"
local store = require "kip.domain.store"

local M = {}

local function path(cluster, sub)
  return "/v1/clusters/" .. cluster .. (sub and ("/" .. sub) or "")
end

-- What to say when the claim was refused.
local function claim_hint(code, reg)
  if code == "conflict" then
    return string.format("Cluster name %s is registered or held for another owner. Only the holder of its token can " ..
      "register it again; a name nobody renews is freed after its hold period.", reg.cluster)
  elseif code == "refused" then
    return string.format("A self-registration must come from the cluster's own address (%s), and that address must be " ..
      "public. 'kip domain register --from server' sends it from the cluster's server over SSH (kip install does).", reg.ip)
  end
end

---A claim function that sends POST /v1/clusters with curl through exec (e.g. a command run on the
---cluster's server over SSH), so the gateway sees the request come from the server's address.
---The body and the token go on curl's standard input (a curl config), never in its argv.
---@param exec fun(command: string, opts: {stdin: string, timeout: number}): table|nil, string|nil
---  runs a shell command; returns {status, stdout, stderr} or nil, message
---@return fun(api: table, body: table, token: string|nil, what: string): table|nil, string|nil, string|nil, string|nil
function M.curl_claim(exec)
  local function quote(s) return '"' .. s:gsub('[\\"]', "\\%0") .. '"' end
  return function(api, body, token, what)
    local lines = {
      "silent", "show-error", "max-time = " .. tostring(api.timeout), "request = \"POST\"",
      "url = " .. quote(api.url .. "/v1/clusters"),
      "header = \"Content-Type: application/json\"", "header = \"Accept: application/json\"",
      "data-binary = " .. quote(assert(json.encode(body))),
      "write-out = \"\\n%{http_code}\"",
    }
    if token then lines[#lines + 1] = "header = " .. quote("Authorization: Bearer " .. token) end
    local r, err = exec("curl --config -", { stdin = table.concat(lines, "\n") .. "\n", timeout = api.timeout + 5 })
    if not r then
      return nil, string.format("%s: cannot run curl on the server: %s", what, tostring(err)), "unreachable"
    end
    if r.status == 127 then
      return nil, what .. ": curl is not installed on the server", "unreachable",
        "Install curl on the server (the registration is sent from there), or run 'kip domain register' on it."
    end
    local text, status = r.stdout:match("^(.*)\n(%d%d%d)$")
    if r.status ~= 0 or not status or status == "000" then
      return nil, string.format("%s: cannot reach the gateway at %s from the server: %s", what, api.url,
        (r.stderr:gsub("%s+$", ""))), "unreachable",
        "Check that the server can reach the gateway (outgoing HTTPS), and the gateway URL."
    end
    return api_mod.result({ status = tonumber(status), headers = {}, body = text }, what)
  end
end

-- The default claim: straight from this machine.
local function direct_claim(api, body, token, what)
  return api:call("POST", "/v1/clusters", { body = body, token = token, what = what })
end

---Registers the cluster and proves it. Returns the registration
---{cluster, ip, port, scheme, state, pin, expires_at, token, new_token, zone?}, or nil, message,
---code, hint. say(text) reports progress.
---@param opts {api: table, cluster: string, ip: string, port?: integer, scheme?: string, key: table,
---  token?: string, claim?: function, say?: fun(text: string), on_token?: fun(token: string)}
function M.register(opts)
  local api, say = opts.api, opts.say or function() end
  local reg = { cluster = opts.cluster, ip = opts.ip, port = opts.port or 443, scheme = opts.scheme or "https" }
  if message.cluster_id(reg.ip) ~= reg.cluster then
    return nil, string.format("cluster %s is not the dashed form of IP %s", tostring(reg.cluster), tostring(reg.ip)), "invalid"
  end
  local claim = opts.claim or direct_claim
  say(string.format("Claiming %s at %s (%s://%s:%d)%s", reg.cluster, api.url, reg.scheme, reg.ip, reg.port,
    opts.token and ", with the stored token" or ""))
  local answer, err, code, hint = claim(api, { cluster = reg.cluster, ip = reg.ip, port = reg.port, scheme = reg.scheme },
    opts.token, "registering " .. reg.cluster)
  if not answer then
    local ours = claim_hint(code, reg)
    return nil, err, code, (hint and ours) and (hint .. "\n" .. ours) or hint or ours
  end
  local token = answer.token or opts.token
  if type(token) ~= "string" or token == "" then
    return nil, "registering " .. reg.cluster .. ": the gateway sent no renewal token", "http",
      "The name may be registered already by this cluster with a token kip lost: ask the gateway's operator."
  end
  reg.token, reg.new_token = token, answer.token ~= nil and answer.token ~= opts.token
  -- the token is shown once: keep it before anything else can fail
  if reg.new_token and opts.on_token then opts.on_token(token) end
  reg.zone = type(answer.zone) == "string" and answer.zone or nil
  local challenge = answer.challenge
  if not challenge then
    -- already active (e.g. registered by an operator): ask for a challenge to prove the key anyway
    say("Asking the gateway for a challenge")
    local c, cerr, ccode, chint = api:call("POST", path(reg.cluster, "challenge"), { token = token,
      what = "asking for a challenge for " .. reg.cluster })
    if not c then return nil, cerr, ccode, chint, reg end
    challenge = c.challenge or c
  end
  local text, why = message.check(challenge, { cluster = reg.cluster, ip = reg.ip, token = token })
  if not text then
    return nil, "refusing to sign the gateway's challenge: " .. why, "challenge",
      "The gateway at " .. api.url .. " does not speak this version of the protocol, or is not a kipper-gateway.", reg
  end
  say(string.format("Proving the claim: the gateway checks the signature with the key of the certificate %s:%d serves",
    reg.ip, reg.port))
  local proof, perr, pcode, phint = api:call("POST", path(reg.cluster, "proof"), { token = token,
    body = { nonce = challenge.nonce, signature = message.sign(opts.key, text) }, what = "proving " .. reg.cluster })
  if not proof then
    if pcode == "refused" then
      phint = phint or string.format("The gateway connects to %s:%d with SNI %s and checks the signature with the key of " ..
        "the certificate served there: it must be the one of Secret %s/%s (Traefik's default certificate), and port %d " ..
        "must be reachable from the internet.", reg.ip, reg.port, message.domain(reg.cluster, reg.zone or api_mod.DEFAULT_ZONE),
        store.TLS_NAMESPACE, store.TLS_NAME, reg.port)
    end
    return nil, perr, pcode, phint, reg
  end
  reg.state, reg.pin, reg.expires_at = proof.state, proof.pin, proof.expires_at
  reg.zone = reg.zone or (type(proof.zone) == "string" and proof.zone or nil)
  if reg.pin and reg.pin ~= store.pin(opts.key) then
    return nil, string.format("the gateway pinned key %s, not the one kip signed with (%s)", tostring(reg.pin),
      store.pin(opts.key)), "challenge", "The certificate served on port " .. reg.port .. " is not the cluster's default one.", reg
  end
  return reg
end

---The gateway's record of a cluster (GET /v1/clusters/ID with the renewal token).
function M.status(api, reg)
  return api:call("GET", path(reg.cluster), { token = reg.token, what = "reading the registration of " .. reg.cluster })
end

---A heartbeat: keeps the name (POST /v1/clusters/ID/heartbeat).
function M.heartbeat(api, reg)
  return api:call("POST", path(reg.cluster, "heartbeat"), { token = reg.token, body = {},
    what = "heartbeat of " .. reg.cluster })
end

---Unregisters (DELETE /v1/clusters/ID); a name the gateway does not know any more is fine.
function M.unregister(api, reg)
  local ok, err, code, hint = api:call("DELETE", path(reg.cluster), { token = reg.token,
    what = "unregistering " .. reg.cluster })
  if not ok and code ~= "notfound" then return nil, err, code, hint end
  return true
end

return M
