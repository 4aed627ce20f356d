-- SPDX-License-Identifier: Apache-2.0
-- The local side of an installed cluster: its kubeconfig made from the server's k3s.yaml (server
-- rewritten to the address kip reaches, names changed from "default" to the cluster's), stored 0600
-- under $KIP_HOME/clusters/NAME/, and its entry in config.yaml made current. Writes nothing that
-- is already as wanted, so a re-run changes no file. Uses kip.config, kip.fs and kip.yaml.
local config = require "kip.config"
local fs = require "kip.fs"
local yaml = require "kip.yaml"

local M = {}

---$KIP_HOME/clusters/NAME/kubeconfig
function M.kubeconfig_path(name)
  return string.format("%s/clusters/%s/kubeconfig", config.home(), name)
end

---The local kubeconfig for cluster name from the server's k3s.yaml.
---@return string|nil text
---@return string|nil message
function M.kubeconfig_text(k3s_yaml, name, server_url)
  local doc, err = yaml.decode(k3s_yaml)
  if type(doc) ~= "table" or type(doc.clusters) ~= "table" or not doc.clusters[1] then
    return nil, "the server's k3s.yaml is not a kubeconfig: " .. tostring(err or "no clusters")
  end
  local cluster, user = doc.clusters[1], doc.users and doc.users[1]
  cluster.name = name
  cluster.cluster.server = server_url
  if user then user.name = name end
  doc.contexts = yaml.array({ { name = name, context = { cluster = name, user = user and name or nil } } })
  doc["current-context"] = name
  doc.clusters = yaml.array({ cluster })
  if user then doc.users = yaml.array({ user }) end
  return yaml.encode(doc)
end

---Writes the kubeconfig (0600, folders 0700) unless it already holds text.
---@return string|nil path
---@return string|nil message
function M.store(name, text)
  local path = M.kubeconfig_path(name)
  if fs.read(path) == text then return path end
  local ok, err = fs.mkdir(path:match("^(.*)/[^/]*$"), { mode = config.DIR_MODE })
  if not ok then return nil, err end
  ok, err = fs.write(path, text, { mode = config.FILE_MODE })
  if not ok then return nil, err end
  return path
end

local function same(entry, cluster)
  for k, v in pairs(entry) do if cluster[k] ~= v then return false end end
  return true
end

---Whether config.yaml has this entry (every field equal) and it is current.
function M.is_registered(entry)
  local cfg = config.load()
  local c = cfg and config.find(cfg, entry.name)
  return c ~= nil and cfg.current == entry.name and same(entry, c)
end

---Adds or updates the cluster entry in config.yaml and makes it current; writes only on a change.
---@return boolean|nil ok
---@return string|nil message
function M.register(entry)
  local cfg, err = config.load()
  if not cfg then return nil, err end
  local c = config.find(cfg, entry.name)
  if c and same(entry, c) and cfg.current == entry.name then return true end
  if c then
    for k, v in pairs(entry) do c[k] = v end
  else
    cfg.clusters[#cfg.clusters + 1] = entry
  end
  cfg.current = entry.name
  return config.save(cfg)
end

return M
