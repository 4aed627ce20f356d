-- SPDX-License-Identifier: Apache-2.0
-- Who is asking the sandbox API, and what they may do. A client certificate from the sandbox's CA
-- is system:admin (everything); the k3s-style node token, sent as a bearer token, is a node
-- (group system:nodes) that may only register and heartbeat Nodes and read Pods, as an agent
-- needs. Also makes, reads and parses the node token file. Uses kip.tls, kip.fs, kip.sandbox.status.
local fs = require "kip.fs"
local status = require "kip.sandbox.status"
local tls = require "kip.tls"

local M = {}

M.ADMIN = { name = "system:admin", groups = { "system:masters", "system:authenticated" }, admin = true }
M.NODE = { name = "system:node:*", groups = { "system:nodes", "system:authenticated" } }

---Splits a node token: "K10<sha256 hex of the CA PEM>::<user>:<password>", or the short form
---(just the password), as k3s accepts both.
---@param token string
---@return {ca_hash?: string, user?: string, password: string}|nil parts
---@return string? message
function M.parse(token)
  token = (token or ""):gsub("^%s+", ""):gsub("%s+$", "")
  if token == "" then return nil, "the token is empty" end
  local hash, user, password = token:match("^K10(%x+)::([^:]+):(.+)$")
  if hash then
    if #hash ~= 64 then return nil, "the CA hash in the token is not a sha256 (64 hex digits)" end
    return { ca_hash = hash:lower(), user = user, password = password }
  end
  if token:find("::", 1, true) or token:match("^K10") then
    return nil, "the token is not K10<CA hash>::server:<password> nor a bare password"
  end
  return { password = token }
end

---The full token for a CA and a password.
function M.format(ca_pem, password)
  return "K10" .. tls.sha256_hex(ca_pem) .. "::server:" .. password
end

---Reads the node token from path, or makes one (32 random hex characters as the password) and
---writes it there (mode 0600, parent folders created). A token whose CA hash is not this CA's, or
---a bare password, is rewritten in the full form for this CA with the same password (as k3s does).
---@return string|nil token the full token
---@return string? message
function M.ensure_token(path, ca_pem)
  local text, err, code = fs.read(path)
  local password
  if text then
    local parts, perr = M.parse(text)
    if not parts then return nil, string.format("%s: %s", path, perr) end
    password = parts.password
  elseif code ~= "notfound" then
    return nil, err
  else
    local bytes, rerr = tls.random(16)
    if not bytes then return nil, rerr end
    password = (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
  end
  local token = M.format(ca_pem, password)
  if text and text:gsub("%s+$", "") == token then return token end
  local dir = path:match("^(.*)/[^/]+$")
  if dir and dir ~= "" then
    local ok, merr = fs.mkdir(dir)
    if not ok then return nil, merr end
  end
  local ok, werr = fs.write(path, token .. "\n", { mode = "0600" })
  if not ok then return nil, werr end
  return token
end

---The user of a request: a verified client certificate is system:admin; a bearer token equal to
---the node token (or its password part) is a node. Raises 401 otherwise.
---@param node_token string the full token
function M.authenticate(req, node_token)
  if req.client_subject then return M.ADMIN end
  local bearer = (req.headers.authorization or ""):match("^[Bb]earer%s+(%S+)%s*$")
  if bearer and node_token then
    local parts = M.parse(node_token)
    -- both comparisons always run, so the time taken does not say which form was close
    local full = tls.equal(bearer, node_token)
    local short = parts and tls.equal(bearer, parts.password)
    if full or short then return M.NODE end
  end
  status.unauthorized()
end

-- What a node may do, by resource (and subresource): the verbs k3s's agents use.
local NODE_RULES = {
  ["nodes"] = { get = true, list = true, watch = true, create = true, update = true, patch = true },
  ["nodes/status"] = { get = true, update = true, patch = true },
  ["pods"] = { get = true, list = true, watch = true },
}

---Refuses (403) what the user may not do on a non-resource path: every authenticated user may
---read discovery, /version and the health checks (the system:discovery and
---system:public-info-viewer roles), which are the only non-resource paths the API serves.
function M.authorize_path(user, req)
  if user.admin or req.method == "GET" or req.method == "HEAD" then return end
  status.forbidden(string.format('forbidden: User "%s" cannot %s path "%s"', user.name, req.method:lower(), req.path))
end

---The Kubernetes verb of a request on a resource path.
function M.verb(method, name, watch)
  if method == "GET" then
    if watch then return "watch" end
    return name and "get" or "list"
  end
  return ({ POST = "create", PUT = "update", PATCH = "patch",
    DELETE = name and "delete" or "deletecollection" })[method] or method:lower()
end

---Refuses (403, kube-apiserver's RBAC message) what the user may not do.
---@param p table the parsed path {group, resource, name?, subresource?, namespace?}
function M.authorize(user, verb, p)
  if user.admin then return end
  local resource = p.subresource and (p.resource .. "/" .. p.subresource) or p.resource
  local rule = p.group == "" and NODE_RULES[resource]
  if rule and rule[verb] then return end
  local what = p.group ~= "" and (p.resource .. "." .. p.group) or p.resource
  local subject = p.name and string.format('%s "%s"', what, p.name) or what
  local scope = p.namespace and string.format('in the namespace "%s"', p.namespace) or "at the cluster scope"
  status.forbidden(string.format('%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s',
    subject, user.name, verb, resource, p.group, scope), { name = p.name, group = p.group, kind = p.resource })
end

return M
