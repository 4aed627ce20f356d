-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.router: a small router for kipperd's JSON API (/api/v1/...): METHOD + path routes
-- whose segments may be parameters ("/api/v1/projects/{project}/apps/{app}", given to the handler
-- as req.params), JSON responses and errors ({"error", "hint"}), request bodies read as JSON
-- objects under a size cap, 404 and 405 (with Allow) answered in JSON. Each route may carry its
-- documentation (summary, access, request and response shapes), from which kipperd.api.openapi
-- writes the OpenAPI document. Handlers get (req) and return a kip.server response table. A
-- handler that raises a kip error (kip.cli.errors: usage or fail) answers 400 with its message and
-- hint (http_status when the error carries one); anything else raised answers 500 without its
-- message (logged). Uses kip.cli.errors, kip.json and kip.log.
local errors = require "kip.cli.errors"
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

---The 503 of a request the Kubernetes API failed.
---@param err any the client's message
function M.api_failed(err)
  return M.error(503, "the Kubernetes API failed: " .. tostring(err), "Try again; see kipperd's log.")
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

---Query parameters of a request ("a=1&b=x%20y" -> {a = "1", b = "x y"}); the last of repeats wins.
---@param req table kip.server request
---@return table<string, string>
function M.query(req)
  local out = {}
  for pair in ((req.query or "") .. "&"):gmatch("([^&]*)&") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    if k and k ~= "" then
      local function dec(x) return (x:gsub("%+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)) end
      out[dec(k)] = dec(v)
    end
  end
  return out
end

local Router = {}
Router.__index = Router

---A router for paths under prefix (e.g. "/api/").
---@param prefix string
function M.new(prefix)
  return setmetatable({ prefix = prefix, routes = {}, patterns = {}, docs = {} }, Router)
end

local function segments(path)
  local out = {}
  for seg in path:gmatch("[^/]+") do out[#out + 1] = seg end
  return out
end

---@class kipperd.api.RouteDoc
---@field summary string one line
---@field tag? string the group in the OpenAPI document (Auth, Apps, ...)
---@field access? string who may call it ("public", "any user", "admin", "project viewer", ...)
---@field query? table<string, string> query parameter -> description
---@field body? table an example request body (its shape documents the schema)
---@field response? any an example response body
---@field status? integer the success status (default 200)
---@field conflict? string when it answers 409
---@field optional? string[] property names of the examples that may be left out (the rest are required)
---@field description? string more text

---Adds a route: method ("GET", "POST", ...) and a path whose segments may be {name} parameters.
---@param method string
---@param path string
---@param handler fun(req: table): table
---@param doc? kipperd.api.RouteDoc
function Router:add(method, path, handler, doc)
  local r = self.routes[path]
  if not r then
    r = {}
    self.routes[path] = r
    if path:find("{", 1, true) then
      local segs, names = segments(path), {}
      for i, s in ipairs(segs) do names[i] = s:match("^{([%w_]+)}$") end
      self.patterns[#self.patterns + 1] = { path = path, segs = segs, names = names }
    end
  end
  r[method] = handler
  self.docs[#self.docs + 1] = { method = method, path = path, doc = doc or {} }
end

-- The routes of a path and its parameters: an exact route first, else the first pattern whose
-- literal segments match (parameters match any one non-empty segment).
function Router:_find(path)
  local r = self.routes[path]
  if r then return r, {} end
  local segs = segments(path)
  for _, p in ipairs(self.patterns) do
    if #p.segs == #segs then
      local params = {}
      for i, s in ipairs(segs) do
        if p.names[i] then
          params[p.names[i]] = s
        elseif p.segs[i] ~= s then
          params = nil
          break
        end
      end
      if params then return self.routes[p.path], params end
    end
  end
end

---Whether the router answers this path (its prefix).
function Router:owns(path)
  return type(path) == "string" and path:sub(1, #self.prefix) == self.prefix
end

---Answers a request under the prefix.
---@param req table kip.server request
---@return table response
function Router:handle(req)
  local r, params = self:_find(req.path)
  if not r then return M.error(404, "not found: " .. tostring(req.path)) end
  req.params = params
  local h = r[req.method]
  if not h then
    local allow = {}
    for m in pairs(r) do allow[#allow + 1] = m end
    table.sort(allow)
    return M.error(405, "method not allowed", "Use " .. table.concat(allow, ", ") .. ".",
      { Allow = table.concat(allow, ", ") })
  end
  local ok, res = pcall(h, req)
  if not ok and errors.is(res) then
    return M.error(res.http_status or 400, tostring(res.message), res.hint)
  end
  if not ok then
    log.error("API handler failed", { method = req.method, path = req.path, error = tostring(res) })
    return M.error(500, "internal error", "See kipperd's log.")
  end
  return res
end

return M
