-- SPDX-License-Identifier: Apache-2.0
-- Finding and assembling install recipes: a recipe is a module (plugins/recipes/NAME.lua, found
-- through the plugin search order) with variables and ordered steps; a site recipe (`--recipe FILE`
-- or $KIP_HOME/recipes/NAME.lua) names the recipe it `extends` and adds, replaces or removes steps
-- and changes variables, so sites customise without copying. Uses kip.plugins and kip.fs.
local fs = require "kip.fs"
local plugins = require "kip.plugins"

local M = {}

local function check_step(step, where)
  if type(step) ~= "table" or type(step.name) ~= "string" or step.name == "" then
    return nil, where .. ": every step needs a name"
  end
  if not step.remove and type(step.run) ~= "function" then
    return nil, string.format("%s: step %q has no run function", where, step.name)
  end
  if step.check ~= nil and type(step.check) ~= "function" then
    return nil, string.format("%s: step %q: check must be a function", where, step.name)
  end
  return true
end

local function validate(recipe, where)
  if type(recipe) ~= "table" then return nil, where .. " does not return a table" end
  if type(recipe.steps) ~= "table" then return nil, where .. ": steps (a list) is missing" end
  if recipe.vars ~= nil and type(recipe.vars) ~= "table" then return nil, where .. ": vars must be a table" end
  local seen = {}
  for _, step in ipairs(recipe.steps) do
    local ok, err = check_step(step, where)
    if not ok then return nil, err end
    if seen[step.name] and not recipe.extends then return nil, string.format("%s: two steps are named %q", where, step.name) end
    seen[step.name] = true
  end
  return recipe
end

local function index_of(steps, name)
  for i, s in ipairs(steps) do if s.name == name then return i end end
end

-- Applies a site recipe's changes to a copy of its base.
local function extend(base, site, where)
  local out = { name = base.name, description = site.description or base.description, vars = {}, steps = {},
    sources = { table.unpack(base.sources or {}) } }
  for k, v in pairs(base.vars or {}) do out.vars[k] = v end
  for k, v in pairs(site.vars or {}) do out.vars[k] = v end
  for _, s in ipairs(base.steps) do out.steps[#out.steps + 1] = s end
  for _, s in ipairs(site.steps) do
    local at = index_of(out.steps, s.name)
    if s.remove then
      if not at then return nil, string.format("%s: cannot remove step %q: %s has no such step", where, s.name, base.name) end
      table.remove(out.steps, at)
    elseif at then
      out.steps[at] = s -- replace
    else
      local anchor = s.before or s.after
      local pos = #out.steps + 1
      if anchor then
        local a = index_of(out.steps, anchor)
        if not a then return nil, string.format("%s: step %q is placed next to %q, which %s does not have", where, s.name, anchor, base.name) end
        pos = s.before and a or a + 1
      end
      table.insert(out.steps, pos, s)
    end
  end
  out.sources[#out.sources + 1] = where
  return out
end

local function load_file(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, recipe = pcall(chunk)
  if not ok then return nil, string.format("%s: %s", path, tostring(recipe)) end
  return recipe
end

---The recipe to run: the built-in (or plugin) recipe `name`, extended by
---$KIP_HOME/recipes/NAME.lua if it exists, then by `file` if given.
---@param name string e.g. "k3s"
---@param opts? {file?: string, home?: string}
---@return table|nil recipe {name, description, vars, steps, sources}
---@return string|nil message
function M.resolve(name, opts)
  opts = opts or {}
  local base, err = plugins.load("recipe", name)
  if not base then return nil, string.format("no recipe %q: %s", name, err) end
  local path = plugins.search(plugins.module_name("recipe", name)) or name
  local ok, verr = validate(base, path)
  if not ok then return nil, verr end
  local recipe = { name = name, description = base.description, vars = {}, steps = {}, sources = { path } }
  for k, v in pairs(base.vars or {}) do recipe.vars[k] = v end
  for _, s in ipairs(base.steps) do recipe.steps[#recipe.steps + 1] = s end
  local layers = {}
  if opts.home then
    local site = opts.home .. "/recipes/" .. name .. ".lua"
    if fs.exists(site) then layers[#layers + 1] = site end
  end
  if opts.file then layers[#layers + 1] = opts.file end
  for _, file in ipairs(layers) do
    local site, lerr = load_file(file)
    if not site then return nil, lerr end
    local valid, serr = validate(site, file)
    if not valid then return nil, serr end
    if site.extends ~= nil and site.extends ~= name then
      return nil, string.format("%s extends recipe %q, but the recipe being installed is %q", file, site.extends, name)
    end
    recipe, serr = extend(recipe, site, file)
    if not recipe then return nil, serr end
  end
  return recipe
end

M.validate = validate
M.extend = extend

return M
