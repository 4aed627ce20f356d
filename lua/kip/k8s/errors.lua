-- SPDX-License-Identifier: Apache-2.0
-- Kubernetes API errors for kip.k8s: a response with a Status becomes `nil, message, code,
-- status`, where code is a short stable string from the Status reason or the HTTP status
-- ("notfound", "alreadyexists", "conflict", "invalid", "forbidden", ...).
local json = require "kip.json"

local M = {}

local by_reason = {
  NotFound = "notfound", AlreadyExists = "alreadyexists", Conflict = "conflict", Invalid = "invalid",
  Forbidden = "forbidden", Unauthorized = "unauthorized", Gone = "gone", Expired = "gone",
  BadRequest = "badrequest", MethodNotAllowed = "methodnotallowed", UnsupportedMediaType = "unsupported",
  Timeout = "timeout", ServerTimeout = "timeout", TooManyRequests = "toomanyrequests",
  InternalError = "internal", ServiceUnavailable = "unavailable", RequestEntityTooLarge = "toolarge",
}

local by_status = {
  [400] = "badrequest", [401] = "unauthorized", [403] = "forbidden", [404] = "notfound", [405] = "methodnotallowed",
  [409] = "conflict", [410] = "gone", [413] = "toolarge", [415] = "unsupported", [422] = "invalid",
  [429] = "toomanyrequests", [500] = "internal", [503] = "unavailable", [504] = "timeout",
}

---Turns an HTTP error response into `nil, message, code, status`.
---@param what string what was being done, e.g. "GET /api/v1/pods"
function M.from_response(what, resp)
  local status = json.decode(resp.body or "")
  if type(status) == "table" and status.kind == "Status" then
    local code = by_reason[status.reason] or by_status[resp.status] or "http"
    local message = status.message or string.format("%s: HTTP %d", what, resp.status)
    return nil, message, code, status
  end
  local text = (resp.body or ""):gsub("%s+$", "")
  if #text > 200 then text = text:sub(1, 200) .. "..." end
  return nil, string.format("%s: HTTP %d%s", what, resp.status, text ~= "" and (": " .. text) or ""),
    by_status[resp.status] or "http"
end

return M
