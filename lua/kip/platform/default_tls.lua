-- SPDX-License-Identifier: Apache-2.0
-- The cluster's default certificate: Secret kube-system/kipper-default-tls (kubernetes.io/tls), a
-- self-signed ECDSA P-256 certificate for "<cluster>.<zone>" that k3s's Traefik serves when no
-- Ingress matches the SNI (components.traefik points tlsStore.default at it). A kipper-gateway
-- connects to the cluster with that SNI and pins this key, and `kip domain register` proves the
-- cluster with it. Made once at install and kept. Uses kip.tls.
local tls = require "kip.tls"

local M = {}

M.NAMESPACE = "kube-system"
M.NAME = "kipper-default-tls"

---The name the certificate is for: "<cluster.id>.<domain.zone>", else the console host, else a
---placeholder.
---@param vars table the recipe's variables
---@return string
function M.host(vars)
  local id, zone = vars["cluster.id"], vars["domain.zone"]
  if type(id) == "string" and id ~= "" then return id .. "." .. (zone ~= "" and zone or "kipper.run") end
  local console = vars["console.host"]
  if type(console) == "string" and console ~= "" then return console end
  return "kipper.invalid"
end

---A new Secret with a fresh key and certificate for host (valid 10 years).
---@param host string
---@return table secret
function M.secret(host)
  local key = tls.generate_key("ecdsa-p256")
  local cert = assert(tls.create_certificate({ subject = { CN = host:sub(1, 64), O = "Kipper" }, sans = { host },
    key = key, usage = "server", days = 3650 }))
  return {
    apiVersion = "v1", kind = "Secret", type = "kubernetes.io/tls",
    metadata = { name = M.NAME, namespace = M.NAMESPACE,
      labels = { ["app.kubernetes.io/managed-by"] = "kip", ["app.kubernetes.io/part-of"] = "kipper" } },
    data = { ["tls.crt"] = tls.base64_encode(cert:pem()), ["tls.key"] = tls.base64_encode(key:private_pem()) },
  }
end

---Whether a Secret holds a certificate and its private key.
---@param secret table|nil
---@return boolean ok
---@return string|nil why not
function M.usable(secret)
  if not secret then return false, "Secret " .. M.NAMESPACE .. "/" .. M.NAME .. " does not exist" end
  local data = secret.data or {}
  local crt = data["tls.crt"] and tls.base64_decode(data["tls.crt"])
  local pem = data["tls.key"] and tls.base64_decode(data["tls.key"])
  local cert = crt and tls.load_certificate(crt)
  local key = pem and tls.load_key(pem)
  if not cert or not key or not key:is_private() then return false, "it has no certificate and private key" end
  if cert:public_key():public_pem() ~= key:public_pem() then return false, "its certificate and key do not match" end
  return true
end

return M
