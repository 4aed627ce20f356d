-- SPDX-License-Identifier: Apache-2.0
-- Kubernetes Status objects for errors, as kube-apiserver sends them (reason, code, message,
-- details), raised as Lua errors by the handlers and turned into responses by kip.sandbox.api.
local M = {}

local Status = {}
Status.__index = Status
Status.__tostring = function(s) return s.message end

local function fail(code, reason, message, details)
  error(setmetatable({
    kind = "Status", apiVersion = "v1", metadata = {}, status = "Failure",
    message = message, reason = reason, code = code, details = details,
  }, Status), 0)
end

function M.is(err) return getmetatable(err) == Status end

---@return table the Status as plain data, for JSON
function M.body(s)
  return { kind = "Status", apiVersion = "v1", metadata = {}, status = "Failure", message = s.message,
    reason = s.reason, code = s.code, details = s.details }
end

local function what(def, name)
  local res = def.group ~= "" and (def.resource .. "." .. def.group) or def.resource
  return res, string.format("%s %q", res, name)
end

function M.not_found(def, name)
  local res, thing = what(def, name)
  fail(404, "NotFound", thing .. " not found", { name = name, group = def.group, kind = def.resource })
  return res
end

function M.already_exists(def, name)
  local _, thing = what(def, name)
  fail(409, "AlreadyExists", thing .. " already exists", { name = name, group = def.group, kind = def.resource })
end

function M.conflict(def, name, why)
  local _, thing = what(def, name)
  fail(409, "Conflict", string.format("Operation cannot be fulfilled on %s: %s", thing, why),
    { name = name, group = def.group, kind = def.resource })
end

---A server-side apply conflict: message lists the fields, causes name each one.
function M.apply_conflict(def, name, message, causes)
  fail(409, "Conflict", message, { name = name, group = def.group, kind = def.resource, causes = causes })
end

---@param causes {field: string, message: string, reason?: string}[]
function M.invalid(def, name, causes)
  local parts = {}
  for _, c in ipairs(causes) do
    c.reason = c.reason or "FieldValueInvalid"
    parts[#parts + 1] = c.field .. ": " .. c.message
  end
  fail(422, "Invalid", string.format("%s %q is invalid: %s", def.kind, name or "", table.concat(parts, ", ")),
    { name = name, group = def.group, kind = def.kind, causes = causes })
end

function M.bad_request(message)
  fail(400, "BadRequest", message)
end

function M.method_not_allowed(message)
  fail(405, "MethodNotAllowed", message)
end

function M.unsupported_media(message)
  fail(415, "UnsupportedMediaType", message)
end

function M.gone(message)
  fail(410, "Expired", message)
end

---@param details? table {name?, group?, kind?} as kube-apiserver names what was refused
function M.forbidden(message, details)
  fail(403, "Forbidden", message, details)
end

---No credentials, or credentials the API does not know: 401 with kube-apiserver's message.
function M.unauthorized()
  fail(401, "Unauthorized", "Unauthorized")
end

---429, as an eviction blocked by a PodDisruptionBudget is answered.
---@param causes? {reason: string, message: string}[]
function M.too_many_requests(message, causes)
  fail(429, "TooManyRequests", message, causes and { causes = causes } or nil)
end

---500 with a message (the API could not do what was asked, as kube-apiserver's InternalError).
function M.internal(message)
  fail(500, "InternalError", message)
end

function M.not_found_path(path)
  fail(404, "NotFound", "the server could not find the requested resource", { causes = { { reason = "UnexpectedServerResponse", message = "404 page not found: " .. path } } })
end

return M
