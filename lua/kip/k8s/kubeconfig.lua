-- SPDX-License-Identifier: Apache-2.0
-- Reading kubeconfig files: the current (or a named) context, its cluster and user, with
-- certificate-authority(-data), client-certificate(-data), client-key(-data), token(-file),
-- insecure-skip-tls-verify, the context's namespace and an optional server rewrite. Relative file
-- paths are read from the kubeconfig's folder. in_cluster() reads a pod's service account instead.
-- Uses kip.fs, kip.yaml and kip.tls (base64).
local fs = require "kip.fs"
local tls = require "kip.tls"
local yaml = require "kip.yaml"

local M = {}

local function named(list, name, what, path)
  for _, entry in ipairs(type(list) == "table" and list or {}) do
    if type(entry) == "table" and entry.name == name then return entry end
  end
  return nil, string.format("%s: no %s named %q", path, what, tostring(name))
end

local function resolve(dir, file)
  if file:sub(1, 1) == "/" then return file end
  if file:sub(1, 2) == "~/" then return (os.getenv("HOME") or "") .. file:sub(2) end
  return dir .. "/" .. file
end

-- PEM from `<field>-data` (base64) or from the file `<field>`.
local function pem(section, field, dir, path)
  local data = section[field .. "-data"]
  if type(data) == "string" and data ~= "" then
    local decoded, err = tls.base64_decode(data)
    if not decoded then return nil, string.format("%s: %s-data is not valid base64: %s", path, field, err) end
    return decoded
  end
  local file = section[field]
  if type(file) == "string" and file ~= "" then
    local text, err = fs.read(resolve(dir, file))
    if not text then return nil, string.format("%s: %s: %s", path, field, err) end
    return text
  end
  return false
end

---The default kubeconfig path: $KUBECONFIG (first of a colon list), else ~/.kube/config.
function M.default_path()
  local env = os.getenv("KUBECONFIG")
  if env and env ~= "" then return env:match("^[^:]+") end
  return (os.getenv("HOME") or "") .. "/.kube/config"
end

---Loads connection settings from a kubeconfig.
---@param opts? {path?: string, context?: string, server?: string} server: use this URL instead (a rewrite)
---@return table|nil conn {server, ca_data, cert_data, key_data, token, insecure, namespace, context, cluster, user}
---@return string|nil message naming the file and what is wrong
function M.load(opts)
  opts = opts or {}
  local path = opts.path or M.default_path()
  local text, rerr = fs.read(path)
  if not text then return nil, rerr end
  local doc, derr = yaml.decode(text)
  if not doc then return nil, string.format("%s: %s", path, derr or "empty file") end
  if type(doc) ~= "table" then return nil, path .. ": not a kubeconfig (a mapping is expected)" end
  local dir = path:match("^(.*)/[^/]*$") or "."
  local context_name = opts.context or doc["current-context"]
  if not context_name or context_name == "" then
    return nil, path .. ": no current-context; name one with --context"
  end
  local ctx_entry, err = named(doc.contexts, context_name, "context", path)
  if not ctx_entry then return nil, err end
  local ctx = ctx_entry.context or {}
  local cluster_entry, cerr = named(doc.clusters, ctx.cluster, "cluster", path)
  if not cluster_entry then return nil, cerr end
  local cluster = cluster_entry.cluster or {}
  local user = {}
  if ctx.user then
    local user_entry, uerr = named(doc.users, ctx.user, "user", path)
    if not user_entry then return nil, uerr end
    user = user_entry.user or {}
  end
  local conn = {
    server = opts.server or cluster.server, context = context_name, cluster = ctx.cluster, user = ctx.user,
    namespace = ctx.namespace ~= nil and ctx.namespace ~= yaml.null and ctx.namespace or "default",
    insecure = cluster["insecure-skip-tls-verify"] == true,
  }
  if type(conn.server) ~= "string" or not conn.server:match("^https?://") then
    return nil, string.format("%s: cluster %q has no server URL", path, tostring(ctx.cluster))
  end
  conn.server = conn.server:gsub("/+$", "")
  local v, e
  v, e = pem(cluster, "certificate-authority", dir, path)
  if v == nil then return nil, e end
  conn.ca_data = v or nil
  v, e = pem(user, "client-certificate", dir, path)
  if v == nil then return nil, e end
  conn.cert_data = v or nil
  v, e = pem(user, "client-key", dir, path)
  if v == nil then return nil, e end
  conn.key_data = v or nil
  if type(user.token) == "string" and user.token ~= "" then
    conn.token = user.token
  elseif type(user.tokenFile) == "string" then
    local t, terr = fs.read(resolve(dir, user.tokenFile))
    if not t then return nil, string.format("%s: tokenFile: %s", path, terr) end
    conn.token = t:gsub("%s+$", "")
  end
  if (conn.cert_data == nil) ~= (conn.key_data == nil) then
    return nil, string.format("%s: user %q has a client certificate without its key, or a key without its certificate", path, tostring(ctx.user))
  end
  return conn
end

M.SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

---Connection settings for a program running in a pod (as client-go's rest.InClusterConfig): the
---API at $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, verified with the service account's
---ca.crt, authenticated with its token; the namespace is the pod's.
---@param opts? {dir?: string, host?: string, port?: string} dir: the service account folder (default M.SERVICE_ACCOUNT_DIR)
---@return table|nil conn {server, ca_data, token, namespace, context = "in-cluster"}
---@return string|nil message what is missing
function M.in_cluster(opts)
  opts = opts or {}
  local dir = opts.dir or M.SERVICE_ACCOUNT_DIR
  local h = opts.host or os.getenv("KUBERNETES_SERVICE_HOST")
  local port = opts.port or os.getenv("KUBERNETES_SERVICE_PORT")
  if not h or h == "" or not port or port == "" then
    return nil, "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"
  end
  local token, terr = fs.read(dir .. "/token")
  if not token then return nil, "cannot read the service account token: " .. tostring(terr) end
  token = token:gsub("%s+$", "")
  if token == "" then return nil, dir .. "/token is empty" end
  local ca, cerr = fs.read(dir .. "/ca.crt")
  if not ca then return nil, "cannot read the service account CA: " .. tostring(cerr) end
  local ns = fs.read(dir .. "/namespace")
  ns = ns and ns:match("^%s*(.-)%s*$") or ""
  return { server = string.format("https://%s:%s", h:find(":", 1, true) and ("[" .. h .. "]") or h, port),
    ca_data = ca, token = token, namespace = ns ~= "" and ns or "default", context = "in-cluster" }
end

return M
