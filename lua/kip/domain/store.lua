-- SPDX-License-Identifier: Apache-2.0
-- What a cluster keeps about its gateway registration, through the Kubernetes API: the key of its
-- default certificate (Secret kube-system/kipper-default-tls, which Traefik serves and the gateway
-- pins), and Secret kipper-system/kipper-gateway {gateway, cluster, token} that kip writes after
-- registering and kipperd reads to send heartbeats. Uses a kip.k8s client, kip.tls and kip.fs.
local tls = require "kip.tls"

local M = {}

M.NAMESPACE = "kipper-system"
M.NAME = "kipper-gateway"
M.TLS_NAMESPACE = "kube-system"
M.TLS_NAME = "kipper-default-tls"
M.FIELD_MANAGER = "kip"

local function b64(v)
  return tls.base64_encode(v)
end

-- A Secret's data value, decoded; nil when absent or not base64.
local function field(secret, key)
  local v = secret and secret.data and secret.data[key]
  if type(v) ~= "string" then return nil end
  return (tls.base64_decode(v))
end

---The registration a Secret holds: {gateway, cluster, token}, or nil and what is missing.
---@param secret table|nil Secret kipper-system/kipper-gateway
function M.decode(secret)
  if not secret then return nil, "there is no Secret " .. M.NAMESPACE .. "/" .. M.NAME end
  local reg = { gateway = field(secret, "gateway"), cluster = field(secret, "cluster"), token = field(secret, "token") }
  for _, k in ipairs({ "gateway", "cluster", "token" }) do
    if not reg[k] or reg[k] == "" then
      return nil, string.format("Secret %s/%s has no %s", M.NAMESPACE, M.NAME, k)
    end
  end
  return reg
end

---The Secret kip stores after registering.
---@param reg {gateway: string, cluster: string, token: string}
function M.secret(reg)
  return {
    apiVersion = "v1", kind = "Secret", type = "Opaque",
    metadata = { name = M.NAME, namespace = M.NAMESPACE,
      labels = { ["app.kubernetes.io/managed-by"] = "kip", ["app.kubernetes.io/part-of"] = "kipper" } },
    data = { gateway = b64(reg.gateway), cluster = b64(reg.cluster), token = b64(reg.token) },
  }
end

---The stored registration; nil (and no error) when there is none, or nil, message on failure.
---@return table|nil reg
---@return string|nil err
function M.load(client)
  local s, err, code = client:get("v1", "Secret", M.NAME, M.NAMESPACE)
  if not s then
    if code == "notfound" then return nil end
    return nil, string.format("cannot read Secret %s/%s: %s", M.NAMESPACE, M.NAME, tostring(err))
  end
  local reg, why = M.decode(s)
  if not reg then return nil, why end
  return reg
end

---Stores the registration (server-side apply, field manager kip).
---@return boolean|nil ok
---@return string|nil err
function M.save(client, reg)
  local ok, err = client:apply(M.secret(reg), { field_manager = M.FIELD_MANAGER, force = true })
  if not ok then return nil, string.format("cannot store Secret %s/%s: %s", M.NAMESPACE, M.NAME, tostring(err)) end
  return true
end

---Deletes the stored registration (gone already is fine).
function M.delete(client)
  local ok, err, code = client:delete("v1", "Secret", M.NAME, M.NAMESPACE)
  if not ok and code ~= "notfound" then
    return nil, string.format("cannot delete Secret %s/%s: %s", M.NAMESPACE, M.NAME, tostring(err))
  end
  return true
end

---The private key that signs challenges: from a PEM file, or the key of Secret
---kube-system/kipper-default-tls read through the API. Returns key, where it came from, or nil,
---message, hint.
---@param client table|nil a kip.k8s client (needed without file)
---@param file string|nil --key FILE
function M.read_key(client, file)
  if file then
    local text, err = require("kip.fs").read(file)
    if not text then return nil, "cannot read the key " .. file .. ": " .. tostring(err) end
    local key, kerr = tls.load_key(text)
    if not key or not key:is_private() then
      return nil, string.format("%s holds no private key%s", file, kerr and (": " .. kerr) or ""),
        "Give the PEM private key of the certificate the cluster serves on port 443."
    end
    return key, file
  end
  local where = M.TLS_NAMESPACE .. "/" .. M.TLS_NAME
  local s, err, code = client:get("v1", "Secret", M.TLS_NAME, M.TLS_NAMESPACE)
  if not s then
    if code == "notfound" then
      return nil, "the cluster has no Secret " .. where .. " (the default certificate Traefik serves, whose key proves the cluster)",
        "'kip install' creates it; on a cluster kip did not install, give the key of the certificate it serves with --key FILE."
    end
    return nil, "cannot read Secret " .. where .. ": " .. tostring(err)
  end
  local pem = field(s, "tls.key")
  local key = pem and tls.load_key(pem)
  if not key or not key:is_private() then
    return nil, "Secret " .. where .. " has no usable private key in tls.key",
      "Delete the Secret and run 'kip install' again to make a new default certificate, or give --key FILE."
  end
  return key, "Secret " .. where
end

---The pin the gateway computes for a key: sha256 hex of its SubjectPublicKeyInfo (DER).
---@param key table a kip.tls.Key
function M.pin(key)
  local body = key:public_pem():gsub("%-%-%-%-%-[^\n]*%-%-%-%-%-", ""):gsub("%s", "")
  return tls.sha256_hex(assert(tls.base64_decode(body)))
end

return M
