-- SPDX-License-Identifier: Apache-2.0
-- Validation of the names users give kip (clusters, apps, services, projects): Kubernetes
-- DNS-label rules, checked before anything is written or sent. Pure Lua.
local M = {}

---@param what string what the name is for, e.g. "cluster"
---@param name any
---@return boolean|nil ok
---@return string|nil message why the name is refused, naming the rule
function M.check_label(what, name)
  if type(name) ~= "string" or name == "" then
    return nil, string.format("missing %s name", what)
  end
  if #name > 63 or not name:match("^[a-z0-9][-a-z0-9]*$") or name:sub(-1) == "-" then
    return nil, string.format(
      "invalid %s name %q: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
      what, name)
  end
  return true
end

return M
