-- SPDX-License-Identifier: Apache-2.0
-- The registration challenge: single-use nonces (10 minutes, kept in memory only), the exact
-- message a cluster signs, and the proof: the certificate chain the cluster serves is fetched (by
-- kip.gateway.peer_certificate, which releases the host lock while it waits), the signature is
-- checked with the leaf's public key and that key's SPKI SHA-256 becomes the pin.
-- Uses kip.tls and kip.gateway (peer_certificate).
local gateway = require "kip.gateway"
local tls = require "kip.tls"

local M = {}

M.TTL = 600
M.MAX_PER_CLUSTER = 4
M.MAX_TOTAL = 10000

---The message a cluster signs (LF line ends, no trailing LF).
---@param cluster string
---@param ip string
---@param nonce string
---@param token_sha256 string sha256 hex of the renewal token
---@return string
function M.message(cluster, ip, nonce, token_sha256)
  return table.concat({
    "kipper-gateway-challenge-v1",
    "cluster=" .. cluster,
    "ip=" .. ip,
    "nonce=" .. nonce,
    "token-sha256=" .. token_sha256,
  }, "\n")
end

-- --- outstanding nonces -----------------------------------------------------------------------

local Book = {}
Book.__index = Book

---A book of outstanding challenges.
---@param opts? {ttl?: number, max_per_cluster?: integer, max_total?: integer, random?: fun(): string}
function M.new_book(opts)
  opts = opts or {}
  return setmetatable({
    ttl = opts.ttl or M.TTL, max_per_cluster = opts.max_per_cluster or M.MAX_PER_CLUSTER,
    max_total = opts.max_total or M.MAX_TOTAL, random = opts.random or function() return tls.random_token(32) end,
    nonces = {}, total = 0,
  }, Book)
end

---Issues a challenge for a claim: the oldest outstanding one of the same cluster goes when it has
---too many.
---@param info {cluster: string, ip: string, port: integer, scheme: string, token_sha256: string}
---@param now number Unix seconds
---@return {nonce: string, expires_at: number, message: string}|nil challenge
---@return string|nil why when the gateway holds too many challenges
function Book:issue(info, now)
  self:sweep(now)
  local mine = {}
  for nonce, c in pairs(self.nonces) do
    if c.cluster == info.cluster then mine[#mine + 1] = { nonce = nonce, issued = c.issued, seq = c.seq } end
  end
  table.sort(mine, function(a, b) return a.seq < b.seq end)
  for i = 1, #mine - self.max_per_cluster + 1 do self:_remove(mine[i].nonce) end
  if self.total >= self.max_total then return nil, "too many outstanding challenges" end
  local nonce = self.random()
  self.seq = (self.seq or 0) + 1
  local c = {
    cluster = info.cluster, ip = info.ip, port = info.port, scheme = info.scheme,
    token_sha256 = info.token_sha256, issued = now, expires_at = now + self.ttl, seq = self.seq,
  }
  self.nonces[nonce] = c
  self.total = self.total + 1
  return { nonce = nonce, expires_at = c.expires_at, message = M.message(c.cluster, c.ip, nonce, c.token_sha256) }
end

function Book:_remove(nonce)
  if self.nonces[nonce] then
    self.nonces[nonce] = nil
    self.total = self.total - 1
  end
end

---Takes a nonce out of the book (used or not, it cannot be used again).
---@return table|nil info what issue() was given, plus `message`
---@return string|nil why
function Book:take(nonce, now)
  local c = type(nonce) == "string" and self.nonces[nonce] or nil
  if not c then return nil, "unknown or already used nonce" end
  self:_remove(nonce)
  if now >= c.expires_at then return nil, "the challenge expired; ask for a new one" end
  c.message = M.message(c.cluster, c.ip, nonce, c.token_sha256)
  return c
end

---Forgets every challenge of a cluster (it was deleted or replaced).
function Book:drop(cluster)
  for nonce, c in pairs(self.nonces) do
    if c.cluster == cluster then self:_remove(nonce) end
  end
end

---Forgets the expired challenges.
function Book:sweep(now)
  for nonce, c in pairs(self.nonces) do
    if now >= c.expires_at then self:_remove(nonce) end
  end
end

-- --- the proof --------------------------------------------------------------------------------

---The pin of a key: sha256 hex of its SubjectPublicKeyInfo DER.
---@param key userdata kip.tls.Key
---@return string
function M.pin(key)
  local pem = key:public_pem()
  local b64 = pem:match("%-%-%-%-%-BEGIN PUBLIC KEY%-%-%-%-%-(.-)%-%-%-%-%-END PUBLIC KEY%-%-%-%-%-")
  local der = assert(tls.base64_decode((b64 or ""):gsub("%s", "")))
  return tls.sha256_hex(der)
end

---Checks a signature over message with the key of the chain's leaf certificate.
---@param chain_pem string the chain the cluster serves, leaf first
---@param message string
---@param signature string base64url (unpadded) of key:sign(message)
---@return string|nil pin the leaf key's pin when the signature verifies
---@return string|nil why
function M.verify(chain_pem, message, signature)
  local leaf, err = tls.load_certificate(chain_pem or "")
  if not leaf then return nil, "the served certificate cannot be read: " .. tostring(err) end
  local key = leaf:public_key()
  leaf:close()
  local sig = type(signature) == "string" and tls.base64url_decode(signature)
  if not sig then
    key:close()
    return nil, "the signature is not base64url"
  end
  local ok = key:verify(message, sig)
  local pin = ok and M.pin(key) or nil
  key:close()
  if not ok then return nil, "the signature does not verify with the key of the certificate the cluster serves" end
  return pin
end

---The certificate chain (PEM, leaf first) served on ip:port to a client sending SNI `sni`.
---@return string|nil pem
---@return string|nil why
function M.fetch_chain(ip, port, sni, timeout)
  return gateway.peer_certificate(ip, port, { sni = sni, timeout = timeout })
end

return M
