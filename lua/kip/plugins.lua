-- SPDX-License-Identifier: Apache-2.0
-- Where providers, git providers, install recipes, reconcile policies and service catalog entries
-- come from. Plugin roots are searched in order: each folder of $KIP_PLUGIN_PATH, then
-- $KIP_HOME/plugins, then the built-ins shipped with kip; each root is laid out like the repository
-- (providers/NAME.lua, gitproviders/, plugins/recipes/, plugins/reconcilers/, plugins/tuners/, plugins/catalog/, or
-- NAME/init.lua). The first match wins.
-- A searcher placed right after package.preload makes `require "providers.NAME"` follow that order.
-- Uses kip.fs, kip.host and kip.config.
local config = require "kip.config"
local fs = require "kip.fs"
local host = require "kip.host"
local strings = require "kip.util.strings"

local M = {}

-- kind -> folder inside a root, in the order `kip plugins` lists them
M.kinds = {
  { kind = "provider", dir = "providers" },
  { kind = "gitprovider", dir = "gitproviders" },
  { kind = "recipe", dir = "plugins/recipes" },
  { kind = "reconciler", dir = "plugins/reconcilers" },
  { kind = "tuner", dir = "plugins/tuners" },
  { kind = "catalog", dir = "plugins/catalog" },
}

local dir_of_kind = {}
for _, k in ipairs(M.kinds) do dir_of_kind[k.kind] = k.dir end

-- The first segment of the module names the searcher answers for.
local plugin_prefixes = { providers = true, gitproviders = true, plugins = true }

---@return {path: string, source: string}[] roots in search order
function M.roots()
  local roots = {}
  local path = os.getenv("KIP_PLUGIN_PATH")
  if path and path ~= "" then
    for _, dir in ipairs(strings.split(path, ":")) do
      if dir ~= "" then roots[#roots + 1] = { path = (dir:gsub("/+$", "")), source = "KIP_PLUGIN_PATH" } end
    end
  end
  local ok, home = pcall(config.home)
  if ok then roots[#roots + 1] = { path = home .. "/plugins", source = "KIP_HOME" } end
  local data = host.data_dir()
  if data then roots[#roots + 1] = { path = data, source = "builtin" } end
  return roots
end

---The file a module name resolves to, searching the roots in order.
---@param modname string e.g. "providers.baremetal"
---@return string|nil path
---@return string[] tried every path looked at
function M.search(modname)
  local rel = modname:gsub("%.", "/")
  local tried = {}
  for _, root in ipairs(M.roots()) do
    for _, candidate in ipairs({ root.path .. "/" .. rel .. ".lua", root.path .. "/" .. rel .. "/init.lua" }) do
      tried[#tried + 1] = candidate
      if fs.exists(candidate) then return candidate, tried end
    end
  end
  return nil, tried
end

local function searcher(modname)
  local prefix = modname:match("^([^.]+)%.")
  if not plugin_prefixes[prefix] then return nil end
  local path, tried = M.search(modname)
  if not path then
    return "\n\tno plugin file '" .. table.concat(tried, "'\n\tno plugin file '") .. "'"
  end
  local chunk, err = loadfile(path)
  if not chunk then error(string.format("error loading plugin '%s' from %s:\n\t%s", modname, path, err), 0) end
  return chunk, path
end

---Places the plugin searcher right after package.preload (once per Lua state).
function M.install_searcher()
  for _, s in ipairs(package.searchers) do
    if s == searcher then return end
  end
  table.insert(package.searchers, 2, searcher)
end

---@param kind "provider"|"gitprovider"|"recipe"|"reconciler"|"tuner"|"catalog"
---@param name string
---@return string module name, e.g. "plugins.recipes.k3s"
function M.module_name(kind, name)
  local dir = assert(dir_of_kind[kind], "unknown plugin kind " .. tostring(kind))
  return dir:gsub("/", ".") .. "." .. name
end

---Loads one plugin through the search order.
---@return table|nil plugin the module's table
---@return string|nil message why it could not be loaded
function M.load(kind, name)
  M.install_searcher()
  local ok, mod = pcall(require, M.module_name(kind, name))
  if not ok then return nil, tostring(mod) end
  if type(mod) ~= "table" then
    return nil, string.format("%s %q does not return a table (it returned a %s)", kind, name, type(mod))
  end
  return mod
end

-- Names found in one kind's folder of one root: NAME.lua and NAME/init.lua.
local function names_in(dir)
  local found = {}
  local entries = fs.list(dir)
  for _, entry in ipairs(entries or {}) do
    local name = entry:match("^([%w_-]+)%.lua$")
    if name then
      found[#found + 1] = { name = name, path = dir .. "/" .. entry }
    elseif entry:match("^[%w_-]+$") and fs.exists(dir .. "/" .. entry .. "/init.lua") then
      found[#found + 1] = { name = entry, path = dir .. "/" .. entry .. "/init.lua" }
    end
  end
  return found
end

---The plugins of one kind in the roots, without loading them: the first of each name wins and
---the later files of that name are its shadows.
---@param kind string
---@return {kind: string, name: string, path: string, source: string, shadows?: string[]}[] sorted by name
function M.find(kind)
  local dir = assert(dir_of_kind[kind], "unknown plugin kind " .. tostring(kind))
  local by_name, order = {}, {}
  for _, root in ipairs(M.roots()) do
    for _, f in ipairs(names_in(root.path .. "/" .. dir)) do
      local entry = by_name[f.name]
      if entry then
        entry.shadows = entry.shadows or {}
        table.insert(entry.shadows, f.path)
      else
        entry = { kind = kind, name = f.name, path = f.path, source = root.source }
        by_name[f.name] = entry
        order[#order + 1] = f.name
      end
    end
  end
  table.sort(order)
  local out = {}
  for _, name in ipairs(order) do out[#out + 1] = by_name[name] end
  return out
end

---Every plugin found, the first of each kind and name winning; each one is loaded to check it.
---@return {kind: string, name: string, path: string, source: string, error?: string, shadows?: string[]}[]
function M.list()
  M.install_searcher()
  local result = {}
  for _, k in ipairs(M.kinds) do
    for _, entry in ipairs(M.find(k.kind)) do
      local _, err = M.load(k.kind, entry.name)
      entry.error = err
      result[#result + 1] = entry
    end
  end
  return result
end

return M
