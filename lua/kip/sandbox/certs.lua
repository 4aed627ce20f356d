-- SPDX-License-Identifier: Apache-2.0
-- TLS material for the sandbox API, made as k3s makes its own: an ECDSA P-256 CA, a server
-- certificate for 127.0.0.1/localhost (and the listen address), and a client certificate for
-- system:admin in system:masters; plus the kubeconfig that uses them. Kept in a folder so a
-- restart reuses them. Uses kip.tls, kip.fs and kip.yaml.
local fs = require "kip.fs"
local tls = require "kip.tls"
local yaml = require "kip.yaml"

local M = {}

local MODE = "0600"

local function write(path, text)
  assert(fs.write(path, text, { mode = MODE }))
end

local function load_pair(dir, name)
  local cert_pem, key_pem = fs.read(dir .. "/" .. name .. ".crt"), fs.read(dir .. "/" .. name .. ".key")
  if not cert_pem or not key_pem then return nil end
  local cert, key = tls.load_certificate(cert_pem), tls.load_key(key_pem)
  if not cert or not key or cert:not_after() < os.time() + 86400 then return nil end
  return cert, key, cert_pem, key_pem
end

---Loads the CA, server and client certificates from dir, making those that are missing.
---@param dir string
---@param host string the address clients connect to (added to the server certificate)
---@return table files {ca, server (cert+key PEM, as civetweb wants), client_cert, client_key}
function M.ensure(dir, host)
  assert(fs.mkdir(dir, { mode = "0700" }))
  local ca, ca_key, ca_pem = load_pair(dir, "ca")
  if not ca then
    ca_key = assert(tls.generate_key("ecdsa-p256"))
    ca = assert(tls.create_certificate({ subject = { CN = "kip-sandbox-ca@" .. os.time() }, key = ca_key,
      ca = true, days = 3650 }))
    ca_pem = ca:pem()
    write(dir .. "/ca.crt", ca_pem)
    write(dir .. "/ca.key", ca_key:private_pem())
  end
  local sans = { "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "127.0.0.1", "::1" }
  if host and host ~= "127.0.0.1" and host ~= "localhost" and host ~= "0.0.0.0" then sans[#sans + 1] = host end
  local server = load_pair(dir, "server")
  local want_sans = table.concat(sans, ",")
  if not server or table.concat(server:sans(), ",") ~= want_sans or not server:verify(ca) then
    local key = assert(tls.generate_key("ecdsa-p256"))
    local cert = assert(tls.create_certificate({ subject = { CN = "kube-apiserver" }, sans = sans, key = key,
      issuer = { cert = ca, key = ca_key }, usage = "server", days = 365 }))
    write(dir .. "/server.crt", cert:pem())
    write(dir .. "/server.key", key:private_pem())
  end
  local client = load_pair(dir, "client-admin")
  if not client or not client:verify(ca) then
    local key = assert(tls.generate_key("ecdsa-p256"))
    local cert = assert(tls.create_certificate({ subject = { CN = "system:admin", O = "system:masters" }, key = key,
      issuer = { cert = ca, key = ca_key }, usage = "client", days = 365 }))
    write(dir .. "/client-admin.crt", cert:pem())
    write(dir .. "/client-admin.key", key:private_pem())
  end
  -- civetweb reads the certificate and its key from one file
  write(dir .. "/server.pem", assert(fs.read(dir .. "/server.crt")) .. assert(fs.read(dir .. "/server.key")))
  return { ca = dir .. "/ca.crt", ca_pem = ca_pem, server = dir .. "/server.pem",
    client_cert = dir .. "/client-admin.crt", client_key = dir .. "/client-admin.key" }
end

---A kubeconfig for the sandbox, shaped like the one k3s writes (/etc/rancher/k3s/k3s.yaml).
---@param name string cluster, user and context name
function M.kubeconfig(files, server_url, name)
  local function b64(path) return tls.base64_encode(assert(fs.read(path))) end
  return assert(yaml.encode({
    apiVersion = "v1", kind = "Config", preferences = {},
    clusters = yaml.array({ { name = name, cluster = { server = server_url,
      ["certificate-authority-data"] = tls.base64_encode(files.ca_pem) } } }),
    users = yaml.array({ { name = name, user = { ["client-certificate-data"] = b64(files.client_cert),
      ["client-key-data"] = b64(files.client_key) } } }),
    contexts = yaml.array({ { name = name, context = { cluster = name, user = name } } }),
    ["current-context"] = name,
  }))
end

return M
