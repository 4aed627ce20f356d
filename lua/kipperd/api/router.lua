-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.router: a small router for kipperd's JSON API (/api/v1/...): exact METHOD + path
-- routes, JSON responses and errors ({"error", "hint"}), request bodies read as JSON objects under
-- a size cap, 404 and 405 (with Allow) answered in JSON. Handlers get (req, ctx) and return a
-- kip.server response table. A handler that raises answers 500 without its message (logged).
-- Uses kip.json and kip.log.
local json = require "kip.json"
local log = require "kip.log"

local M = {}

M.MAX_BODY = 4096 -- bytes of a JSON request body, unless a route says otherwise

local function headers(extra)
  local h = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store",
    ["X-Content-Type-Options"] = "nosniff" }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

---A JSON response.
---@param status integer
---@param value any JSON-encodable
---@param extra? table<string, string> more headers
function M.json(status, value, extra)
  local body = assert(json.encode(value))
  return { status = status, headers = headers(extra), body = body .. "\n" }
end

---A JSON error {error, hint?}.
---@param status integer
---@param message string
---@param hint? string
---@param extra? table<string, string> more headers
function M.error(status, message, hint, extra)
  return M.json(status, { error = message, hint = hint }, extra)
end

---A response without a body (204).
function M.empty(status, extra)
  local h = headers(extra)
  h["Content-Type"] = nil
  return { status = status or 204, headers = h, body = "" }
end

---The request body as a JSON object, or nil and an error response (413 over max bytes, 415 for a
---Content-Type other than application/json, 400 for anything but a JSON object).
---@param req table kip.server request
---@param max? integer bytes (default M.MAX_BODY)
---@return table|nil object
---@return table|nil response the error to answer with
function M.body(req, max)
  max = max or M.MAX_BODY
  local body = req.body or ""
  if #body > max then
    return nil, M.error(413, string.format("the request body is too large (at most %d bytes)", max))
  end
  local ctype = (req.headers or {})["content-type"] or ""
  if not ctype:lower():match("^%s*application/json%s*;?") then
    return nil, M.error(415, "the request body must be JSON", "Send it with Content-Type: application/json.")
  end
  local ok, value = pcall(json.decode, body)
  if not ok or type(value) ~= "table" or json.is_array(value) then
    return nil, M.error(400, "the request body is not a JSON object")
  end
  return value
end

local Router = {}
Router.__index = Router

---A router for paths under prefix (e.g. "/api/").
---@param prefix string
function M.new(prefix)
  return setmetatable({ prefix = prefix, routes = {} }, Router)
end

---Adds a route: method ("GET", "POST", ...) and an exact path.
---@param method string
---@param path string
---@param handler fun(req: table): table
function Router:add(method, path, handler)
  local r = self.routes[path]
  if not r then
    r = {}
    self.routes[path] = r
  end
  r[method] = handler
end

---Whether the router answers this path (its prefix).
function Router:owns(path)
  return type(path) == "string" and path:sub(1, #self.prefix) == self.prefix
end

---Answers a request under the prefix.
---@param req table kip.server request
---@return table response
function Router:handle(req)
  local r = self.routes[req.path]
  if not r then return M.error(404, "not found: " .. tostring(req.path)) end
  local h = r[req.method]
  if not h then
    local allow = {}
    for m in pairs(r) do allow[#allow + 1] = m end
    table.sort(allow)
    return M.error(405, "method not allowed", "Use " .. table.concat(allow, ", ") .. ".",
      { Allow = table.concat(allow, ", ") })
  end
  local ok, res = pcall(h, req)
  if not ok then
    log.error("API handler failed", { method = req.method, path = req.path, error = tostring(res) })
    return M.error(500, "internal error", "See kipperd's log.")
  end
  return res
end

return M
