-- SPDX-License-Identifier: Apache-2.0
-- The pure part of gateway registration: cluster ids (the dashed IPv4), the names and URLs a
-- cluster gets in the gateway's zone, and the challenge message a cluster signs to prove it holds
-- the key of the certificate it serves (docs/domains.md): built here byte for byte and compared
-- with what the gateway sent, so kip signs nothing else. Uses kip.tls (sha256, base64url).
local tls = require "kip.tls"

local M = {}

M.VERSION_LINE = "kipper-gateway-challenge-v1"

---The IPv4 address's octets, or nil when ip is not a dotted-quad IPv4 address (no leading zeros).
---@param ip string
---@return integer[]|nil
function M.ipv4(ip)
  if type(ip) ~= "string" then return nil end
  local a, b, c, d = ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local out = {}
  for i, s in ipairs({ a, b, c, d }) do
    if #s > 3 or (#s > 1 and s:sub(1, 1) == "0") then return nil end
    local n = tonumber(s)
    if n > 255 then return nil end
    out[i] = n
  end
  return out
end

---The cluster id for an IPv4 address: "203.0.113.10" -> "203-0-113-10"; nil for anything else.
---@param ip string
---@return string|nil
function M.cluster_id(ip)
  if not M.ipv4(ip) then return nil end
  return (ip:gsub("%.", "-"))
end

---The cluster's name in the zone: "203-0-113-10.kipper.run".
function M.domain(cluster, zone)
  return cluster .. "." .. zone
end

---The console's URL: "https://console-203-0-113-10.kipper.run".
function M.console_url(cluster, zone)
  return "https://console-" .. cluster .. "." .. zone
end

---The exact message to sign for a challenge (LF line ends, no trailing LF).
---@param c {cluster: string, ip: string, nonce: string, token: string}
---@return string
function M.text(c)
  return table.concat({
    M.VERSION_LINE,
    "cluster=" .. c.cluster,
    "ip=" .. c.ip,
    "nonce=" .. c.nonce,
    "token-sha256=" .. tls.sha256_hex(c.token),
  }, "\n")
end

---Checks a challenge from the gateway against what this cluster asked for: the message must be
---exactly M.text for this cluster, ip, the challenge's nonce and our token.
---@param challenge table the gateway's {nonce, message, expires_at}
---@param want {cluster: string, ip: string, token: string}
---@return string|nil message the message to sign
---@return string|nil why it is refused
function M.check(challenge, want)
  if type(challenge) ~= "table" then return nil, "the gateway sent no challenge" end
  local nonce, message = challenge.nonce, challenge.message
  if type(nonce) ~= "string" or not nonce:match("^[%w_%-]+$") or #nonce > 256 then
    return nil, "the challenge's nonce is missing or malformed"
  end
  if type(message) ~= "string" then return nil, "the challenge has no message" end
  local expected = M.text({ cluster = want.cluster, ip = want.ip, nonce = nonce, token = want.token })
  if message ~= expected then
    return nil, "the challenge message is not the one for this cluster, address and token " ..
      "(kip signs only 'kipper-gateway-challenge-v1' for cluster " .. want.cluster .. ", ip " .. want.ip .. ")"
  end
  return message
end

---The proof's signature: base64url of key:sign(message).
---@param key table a private kip.tls.Key
---@param message string
---@return string
function M.sign(key, message)
  return tls.base64url_encode(key:sign(message))
end

return M
