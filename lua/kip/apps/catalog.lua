-- SPDX-License-Identifier: Apache-2.0
-- The service types `kip service add` accepts: those of the service catalog (kip.catalog.services,
-- built-ins plus site plugins) when kip has it, else the Service CRD's enum. Also the masked
-- connection URL of `kip service info`. Uses kip.platform.crds.
local crds = require "kip.platform.crds"

local M = {}

-- The catalog module, or nil when this kip has none (or it does not load).
local function catalog()
  local ok, mod = pcall(require, "kip.catalog.services")
  if ok and type(mod) == "table" then return mod end
end

---The known type names, sorted.
---@return string[]
function M.types()
  local mod = catalog()
  if mod and type(mod.types) == "function" then
    local ok, names = pcall(mod.types)
    if ok and type(names) == "table" and #names > 0 then return names end
  end
  local names = {}
  for _, t in ipairs(crds.SERVICE_TYPES) do names[#names + 1] = t end
  table.sort(names)
  return names
end

---Whether t is a type the catalog has, and if not, why (the catalog's own words when it has
---some: an invalid site plugin's error, or the known types).
---@param t string
---@return boolean
---@return string|nil why
function M.check(t)
  local mod = catalog()
  if mod and type(mod.load) == "function" and type(mod.get) == "function" then
    local ok, entry, why = pcall(function() return mod.get(mod.load(), t) end)
    if ok then
      if entry then return true end
      return false, why
    end
  end
  for _, n in ipairs(M.types()) do if n == t then return true end end
  return false, string.format("unknown service type %q: known types are %s", tostring(t), table.concat(M.types(), ", "))
end

---A connection URL with the password replaced by ****.
---@param url string
---@param password? string
function M.mask(url, password)
  if type(url) ~= "string" then return url end
  if password and password ~= "" then
    local out, start = {}, 1
    while true do
      local i, j = url:find(password, start, true)
      if not i then break end
      out[#out + 1] = url:sub(start, i - 1)
      out[#out + 1] = "****"
      start = j + 1
    end
    out[#out + 1] = url:sub(start)
    url = table.concat(out)
  end
  -- user:password@ left in a URL whose password was not given
  return (url:gsub("^([%w+.-]+://[^:/@]+:)[^@/]+@", "%1****@"))
end

return M
