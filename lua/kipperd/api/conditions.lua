-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.conditions: an object's status.conditions as the console API shows them (type,
-- status, reason, message, last_transition_time), for the App, Service and Project views. Uses
-- kip.json.
local json = require "kip.json"

local M = {}

---The conditions of an object, in its order, as a JSON array (empty when it has none).
---@param obj table a Kubernetes object
---@return table[] conditions {type, status, reason?, message?, last_transition_time?}
function M.view(obj)
  local out = {}
  for _, c in ipairs(obj.status and obj.status.conditions or {}) do
    out[#out + 1] = { type = c.type, status = c.status, reason = c.reason, message = c.message,
      last_transition_time = c.lastTransitionTime }
  end
  return json.array(out)
end

return M
