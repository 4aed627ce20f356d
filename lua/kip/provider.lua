-- SPDX-License-Identifier: Apache-2.0
-- Infrastructure providers (InfraProvider): loading one by name through the plugin search order and
-- checking it has the interface kip install and kip node use: name(), provision(request),
-- destroy(machine), get_load_balancer(cluster), storage_class(cluster). See docs/providers.md.
-- Uses kip.plugins.
local plugins = require "kip.plugins"

local M = {}

M.FUNCTIONS = { "name", "provision", "destroy", "get_load_balancer", "storage_class" }

---@return table|nil provider
---@return string|nil message naming what is missing
function M.load(name)
  if not plugins.search(plugins.module_name("provider", name)) then
    local known = {}
    for _, found in ipairs(plugins.list()) do
      if found.kind == "provider" then known[#known + 1] = found.name end
    end
    return nil, string.format("no infrastructure provider %q (kip has: %s)", name, table.concat(known, ", "))
  end
  local p, err = plugins.load("provider", name)
  if not p then return nil, string.format("provider %q does not load: %s", name, err) end
  for _, f in ipairs(M.FUNCTIONS) do
    if type(p[f]) ~= "function" then
      return nil, string.format("provider %q has no %s function (an InfraProvider needs %s)", name, f,
        table.concat(M.FUNCTIONS, ", "))
    end
  end
  return p
end

---Calls provider function fname; a Lua error in the provider comes back as nil, message.
function M.call(p, fname, ...)
  local ok, a, b = pcall(p[fname], ...)
  if not ok then return nil, string.format("provider %s failed in %s: %s", tostring(p.name and p.name()), fname, tostring(a)) end
  return a, b
end

return M
