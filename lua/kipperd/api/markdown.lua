-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.markdown: the REST API reference of docs/api.md, written from the OpenAPI document
-- (kipperd.api.openapi) of the routes kipperd registers, built without a cluster. docs/api.md
-- keeps a hand-written introduction above M.MARKER; scripts/api_doc.lua rewrites what follows it,
-- and a spec fails when the file differs from a fresh build. Uses kipperd.api, kipperd.api.openapi
-- and kip.json.
local json = require "kip.json"
local openapi = require "kipperd.api.openapi"

local M = {}

M.MARKER = "<!-- Generated from the OpenAPI document by scripts/api_doc.lua: do not edit below this line. -->"

---A stand-in for a kip.k8s client that fails when any of its methods is called: building the
---routes needs no cluster. Its conn names no reachable server.
---@return table client
function M.no_client()
  return setmetatable({ conn = { server = "https://no-cluster.invalid" } }, { __index = function(_, k)
    return function()
      error("kipperd.api.markdown: the routes called the cluster (client:" .. tostring(k) .. ") while being built", 2)
    end
  end })
end

---The OpenAPI document of every route kipperd registers (kipperd.api with its M.MODULES), built
---without a cluster.
---@param version? string the document's info.version (default "dev": the docs do not change per build)
---@return table document
function M.document(version)
  local r = require("kipperd.api").new({ client = M.no_client() })
  return openapi.build(r.docs, { version = version or "dev" })
end

local function pretty(value)
  return assert(json.encode(value, { indent = 2 }))
end

local function params_table(params, where)
  local rows = {}
  for _, p in ipairs(params or {}) do
    if p["in"] == where then rows[#rows + 1] = string.format("| `%s` | %s |", p.name, p.description or "") end
  end
  if #rows == 0 then return nil end
  return (where == "path" and "| Path parameter | |\n|---|---|\n" or "| Query parameter | |\n|---|---|\n") ..
    table.concat(rows, "\n")
end

local function success(op)
  local codes = {}
  for code in pairs(op.responses) do
    if code:match("^[12]") then codes[#codes + 1] = code end
  end
  table.sort(codes)
  return codes[1], op.responses[codes[1]]
end

local function error_codes(op)
  local codes = {}
  for code in pairs(op.responses) do
    if not code:match("^[12]") then codes[#codes + 1] = code end
  end
  table.sort(codes)
  return codes
end

---The reference section (everything below M.MARKER) for a document.
---@param doc table from kipperd.api.openapi.build
---@return string markdown
function M.reference(doc)
  local out = { M.MARKER, "", "## Endpoints", "" }
  local ops = openapi.operations(doc)
  local tag
  -- index
  for _, o in ipairs(ops) do
    local t = o.op.tags and o.op.tags[1] or "Other"
    if t ~= tag then
      tag = t
      out[#out + 1] = ""
      out[#out + 1] = "**" .. t .. "**"
      out[#out + 1] = ""
    end
    out[#out + 1] = string.format("- `%s %s` — %s (%s)", o.method, o.path, o.op.summary or "", o.op["x-kipper-access"] or "?")
  end
  tag = nil
  for _, o in ipairs(ops) do
    local op = o.op
    local t = op.tags and op.tags[1] or "Other"
    if t ~= tag then
      tag = t
      out[#out + 1] = ""
      out[#out + 1] = "## " .. t
      for _, def in ipairs(doc.tags or {}) do
        if def.name == t then out[#out + 1] = ""; out[#out + 1] = def.description end
      end
    end
    out[#out + 1] = ""
    out[#out + 1] = string.format("### %s %s", o.method, o.path)
    out[#out + 1] = ""
    out[#out + 1] = op.description or op.summary or ""
    for _, where in ipairs({ "path", "query" }) do
      local tbl = params_table(op.parameters, where)
      if tbl then out[#out + 1] = ""; out[#out + 1] = tbl end
    end
    local body = op.requestBody and op.requestBody.content["application/json"]
    if body then
      out[#out + 1] = ""
      out[#out + 1] = "Request body:"
      out[#out + 1] = ""
      out[#out + 1] = "```json\n" .. pretty(body.example) .. "\n```"
    end
    local code, res = success(op)
    local content = res and res.content and res.content["application/json"]
    out[#out + 1] = ""
    if content then
      out[#out + 1] = string.format("Response %s:", code)
      out[#out + 1] = ""
      out[#out + 1] = "```json\n" .. pretty(content.example) .. "\n```"
    else
      out[#out + 1] = string.format("Response %s: %s", code or "200", res and res.description or "")
    end
    local errs = error_codes(op)
    if #errs > 0 then
      out[#out + 1] = ""
      out[#out + 1] = "Errors: " .. table.concat(errs, ", ") .. "."
    end
  end
  return table.concat(out, "\n") .. "\n"
end

---docs/api.md with its reference replaced: the text up to M.MARKER kept, the reference after it.
---@param current string the file as it is
---@param reference string from M.reference
---@return string text
function M.splice(current, reference)
  local i = current:find(M.MARKER, 1, true)
  local intro = i and current:sub(1, i - 1) or (current ~= "" and (current:gsub("\n*$", "\n\n")) or "")
  return intro .. reference
end

return M
