-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.openapi: the OpenAPI 3.1 document of the console API, built from the routes a
-- kipperd.api.router holds and the documentation each carries (summary, tag, access, query,
-- example request and response bodies): path parameters from the {name} segments, bearer security
-- on every route that is not public, and JSON schemas inferred from the examples (which are kept
-- as examples). Pure data; uses kip.json (its array mark).
local json = require "kip.json"

local M = {}

M.OPENAPI = "3.1.0"

-- What each tag groups, in the order they are listed.
M.TAGS = {
  { name = "Auth", description = "Logging in and out, refreshing the access token, the current user." },
  { name = "Meta", description = "The API's own description and version (public)." },
  { name = "Cluster", description = "The cluster's health and a summary of what runs on it." },
  { name = "Projects", description = "Projects, their environments and members." },
  { name = "Apps", description = "Apps in a project's environment, and their live logs." },
  { name = "Services", description = "Backing services (databases, caches, queues) and the catalog." },
  { name = "Routes", description = "Every host served, its app and its TLS state." },
  { name = "Users", description = "The console's users (admins only)." },
}

---The JSON schema of an example value: objects list their properties, all required but those
---named in optional (at any depth); arrays take their items' schema from the first element.
---@param value any
---@param optional? table<string, boolean> property names that may be left out
---@return table schema
function M.schema_of(value, optional)
  local t = math.type(value) or type(value)
  if t == "integer" then return { type = "integer" } end
  if t == "float" then return { type = "number" } end
  if t == "string" then return { type = "string" } end
  if t == "boolean" then return { type = "boolean" } end
  if value == json.null or t ~= "table" then return { type = "null" } end
  local n = 0
  for _ in pairs(value) do n = n + 1 end
  if json.is_array(value) or (n > 0 and n == #value) then
    if #value == 0 then return { type = "array" } end
    return { type = "array", items = M.schema_of(value[1], optional) }
  end
  local props, required = {}, {}
  for k, v in pairs(value) do
    props[k] = M.schema_of(v, optional)
    if not (optional and optional[k]) then required[#required + 1] = k end
  end
  if next(props) == nil then return { type = "object" } end
  table.sort(required)
  return { type = "object", properties = props, required = #required > 0 and json.array(required) or nil }
end

---Whether a route needs no token (its access note starts with "public").
function M.is_public(doc)
  return tostring(doc.access):match("^public") ~= nil
end

-- {name} segments of a path, in order.
local function path_params(path)
  local out = {}
  for name in path:gmatch("{([%w_]+)}") do out[#out + 1] = name end
  return out
end

local PARAM_HELP = {
  project = "the project's name", app = "the app's name", service = "the service's name",
  email = "the user's e-mail address",
}

local function parameters(path, doc)
  local params = {}
  for _, name in ipairs(path_params(path)) do
    params[#params + 1] = { name = name, ["in"] = "path", required = true,
      description = PARAM_HELP[name] or name, schema = { type = "string" } }
  end
  local names = {}
  for name in pairs(doc.query or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    params[#params + 1] = { name = name, ["in"] = "query", required = false, description = doc.query[name],
      schema = { type = "string" } }
  end
  return #params > 0 and json.array(params) or nil
end

local ERROR_REF = { ["$ref"] = "#/components/schemas/Error" }

local function error_response(text)
  return { description = text, content = { ["application/json"] = { schema = ERROR_REF } } }
end

-- The error answers a route can give, by what it needs.
local function errors_for(method, path, doc)
  local out = {}
  if doc.body ~= nil then
    out["400"] = error_response("Bad input: the message names the field.")
    out["413"] = error_response("The request body is too large.")
    out["415"] = error_response("The request body is not JSON.")
  end
  if not M.is_public(doc) then
    out["401"] = error_response("No token, or an invalid, expired or revoked one.")
    if not tostring(doc.access):match("^any user") then out["403"] = error_response("The caller's role is too low.") end
    out["503"] = error_response("The Kubernetes API failed.")
  end
  if path:find("{", 1, true) then out["404"] = error_response("No such object, or the caller may not see it.") end
  if method ~= "GET" and doc.conflict then out["409"] = error_response(doc.conflict) end
  return out
end

local function set_of(list)
  local out = {}
  for _, k in ipairs(list or {}) do out[k] = true end
  return out
end

local function operation(route, security)
  local doc, method, path = route.doc, route.method, route.path
  local optional = set_of(doc.optional)
  local status = tostring(doc.status or 200)
  local responses = errors_for(method, path, doc)
  if doc.response ~= nil then
    responses[status] = { description = doc.response_description or "OK", content = { ["application/json"] = {
      schema = M.schema_of(doc.response, optional), example = doc.response } } }
  else
    local text = status == "204" and "Done (no body)." or status == "101" and "Switching Protocols: the WebSocket is open." or "OK"
    responses[status] = { description = doc.response_description or text }
  end
  local op = {
    tags = doc.tag and json.array({ doc.tag }) or nil,
    summary = doc.summary,
    description = table.concat({ doc.description or doc.summary or "", "Access: " .. tostring(doc.access or "?") .. "." }, "\n\n"),
    operationId = doc.operation_id,
    ["x-kipper-access"] = doc.access,
    parameters = parameters(path, doc),
    responses = responses,
    security = M.is_public(doc) and json.array({}) or security,
  }
  if doc.body ~= nil then
    op.requestBody = { required = true, content = { ["application/json"] = { schema = M.schema_of(doc.body, optional), example = doc.body } } }
  end
  if doc.websocket then op["x-kipper-websocket"] = doc.websocket end
  return op
end

---The OpenAPI document of a router's routes.
---@param routes {method: string, path: string, doc: kipperd.api.RouteDoc}[] router.docs
---@param opts? {version?: string, server?: string}
---@return table document
function M.build(routes, opts)
  opts = opts or {}
  local paths = {}
  local security = json.array({ { bearer = json.array({}) } })
  for _, route in ipairs(routes) do
    local item = paths[route.path] or {}
    paths[route.path] = item
    item[route.method:lower()] = operation(route, security)
  end
  local tags = {}
  for _, t in ipairs(M.TAGS) do tags[#tags + 1] = t end
  return {
    openapi = M.OPENAPI,
    info = { title = "Kipper console API", version = opts.version or "0",
      description = "kipperd's JSON API under /api/v1, used by the Kipper console. Authenticate with " ..
        "POST /api/v1/auth/login, then send Authorization: Bearer TOKEN. Errors are {\"error\", \"hint\"}." },
    servers = json.array({ { url = opts.server or "/" } }),
    tags = json.array(tags),
    paths = paths,
    components = {
      securitySchemes = { bearer = { type = "http", scheme = "bearer", bearerFormat = "JWT",
        description = "The token from POST /api/v1/auth/login or /api/v1/auth/refresh (valid 15 minutes)." } },
      schemas = { Error = { type = "object", required = json.array({ "error" }), properties = {
        error = { type = "string", description = "what went wrong" },
        hint = { type = "string", description = "what to do about it" } } } },
    },
  }
end

---The operations of a document in a stable order (by tag as in M.TAGS, then path, then method):
---{method, path, op}.
---@param doc table from M.build
---@return {method: string, path: string, op: table}[]
function M.operations(doc)
  local rank = {}
  for i, t in ipairs(M.TAGS) do rank[t.name] = i end
  local methods = { get = 1, post = 2, put = 3, patch = 4, delete = 5 }
  local out = {}
  for path, item in pairs(doc.paths) do
    for method, op in pairs(item) do out[#out + 1] = { method = method:upper(), path = path, op = op } end
  end
  table.sort(out, function(a, b)
    local ta = rank[a.op.tags and a.op.tags[1] or ""] or 99
    local tb = rank[b.op.tags and b.op.tags[1] or ""] or 99
    if ta ~= tb then return ta < tb end
    if a.path ~= b.path then return a.path < b.path end
    return (methods[a.method:lower()] or 9) < (methods[b.method:lower()] or 9)
  end)
  return out
end

return M
