-- SPDX-License-Identifier: Apache-2.0
-- kip's configuration, $KIP_HOME/config.yaml: the clusters kip knows (name, server, kubeconfig,
-- host, SSH user/key/port, domain, the project and environment in use) and the current one. Read
-- strictly (a file that does not parse or has a wrong field is an error naming the file and the
-- line or field, never replaced); written atomically with mode 0600; fields kip does not know are
-- kept. Uses kip.fs and kip.yaml.
local fs = require "kip.fs"
local names = require "kip.util.names"
local yaml = require "kip.yaml"

local M = {}

M.API_VERSION = "kipper.run/v1alpha1"
M.FILE_MODE = tonumber("600", 8)
M.DIR_MODE = tonumber("700", 8)

-- The fields of a cluster entry and their types. project and environment: what 'kip project use'
-- chose, where app and service commands work on that cluster.
M.cluster_fields = {
  name = "string", server = "string", kubeconfig = "string", host = "string",
  ["ssh-user"] = "string", ["ssh-key"] = "string", ["ssh-port"] = "port", domain = "string", provider = "string",
  project = "string", environment = "string",
}

---@return string home $KIP_HOME, or ~/.kip
function M.home()
  local home = os.getenv("KIP_HOME")
  if home and home ~= "" then return (home:gsub("/+$", "")) end
  local user_home = os.getenv("HOME")
  if not user_home or user_home == "" then
    error("neither KIP_HOME nor HOME is set; set KIP_HOME to the folder kip should keep its files in", 0)
  end
  return user_home .. "/.kip"
end

---@return string path of config.yaml
function M.path()
  return M.home() .. "/config.yaml"
end

local function check_type(value, want)
  if want == "port" then
    return math.type(value) == "integer" and value >= 1 and value <= 65535, "a port number (1-65535)"
  end
  return type(value) == want, "a " .. want
end

-- Checks the decoded document; returns the config or nil, "where: what".
local function validate(doc)
  if doc == nil or doc == yaml.null then doc = {} end
  if type(doc) ~= "table" or yaml.is_array(doc) then
    return nil, "the file must hold a mapping (apiVersion, kind, current-cluster, clusters)"
  end
  if doc.apiVersion ~= nil and doc.apiVersion ~= M.API_VERSION then
    return nil, string.format("apiVersion is %q; this kip reads %s", tostring(doc.apiVersion), M.API_VERSION)
  end
  if doc.kind ~= nil and doc.kind ~= "Config" then
    return nil, string.format("kind is %q, expected Config", tostring(doc.kind))
  end
  local current = doc["current-cluster"]
  if current == yaml.null then current = nil end
  if current ~= nil and type(current) ~= "string" then
    return nil, "current-cluster must be a cluster name (a string)"
  end
  local clusters = doc.clusters
  if clusters == nil or clusters == yaml.null then clusters = {} end
  if type(clusters) ~= "table" or (next(clusters) ~= nil and not yaml.is_array(clusters)) then
    return nil, "clusters must be a list"
  end
  local seen = {}
  for i, c in ipairs(clusters) do
    local where = string.format("clusters[%d]", i - 1)
    if type(c) ~= "table" or yaml.is_array(c) then
      return nil, where .. " must be a mapping"
    end
    for field, want in pairs(M.cluster_fields) do
      local v = c[field]
      if v ~= nil and v ~= yaml.null then
        local ok, expected = check_type(v, want)
        if not ok then return nil, string.format("%s.%s must be %s", where, field, expected) end
      end
    end
    local ok, why = names.check_label("cluster", c.name)
    if not ok then return nil, where .. ".name: " .. why end
    if seen[c.name] then
      return nil, string.format("%s: the name %q is used twice", where, c.name)
    end
    seen[c.name] = true
  end
  return { doc = doc, current = current, clusters = clusters }
end

---Loads config.yaml. A missing file is an empty configuration.
---@param path? string the file (default: M.path())
---@return table|nil cfg {current: string|nil, clusters: table[], doc: table}
---@return string|nil message naming the file and the line or field that is wrong
function M.load(path)
  path = path or M.path()
  local text, err, code = fs.read(path)
  if not text then
    if code == "notfound" then return validate(nil) end
    return nil, err
  end
  local doc, perr = yaml.decode(text)
  if perr then
    return nil, string.format("%s: %s", path, perr)
  end
  local cfg, verr = validate(doc)
  if not cfg then return nil, string.format("%s: %s", path, verr) end
  return cfg
end

---Writes cfg to config.yaml atomically with mode 0600, creating its folder (0700) if needed.
---@param path? string the file (default: M.path())
---@return boolean|nil ok
---@return string|nil message
function M.save(cfg, path)
  path = path or M.path()
  local ok, err = fs.mkdir(path:match("^(.*)/[^/]*$") or ".", { mode = M.DIR_MODE })
  if not ok then return nil, err end
  local doc = cfg.doc
  doc.apiVersion = doc.apiVersion or M.API_VERSION
  doc.kind = doc.kind or "Config"
  doc["current-cluster"] = cfg.current
  doc.clusters = yaml.array(cfg.clusters)
  local text, eerr = yaml.encode(doc)
  if not text then return nil, "cannot encode the configuration: " .. eerr end
  return fs.write(path, text, { mode = M.FILE_MODE })
end

---@return table|nil cluster the entry named name
---@return integer|nil index its position in cfg.clusters
function M.find(cfg, name)
  for i, c in ipairs(cfg.clusters) do
    if c.name == name then return c, i end
  end
end

return M
