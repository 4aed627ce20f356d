-- SPDX-License-Identifier: Apache-2.0
-- Writes the REST API reference of docs/api.md from the OpenAPI document of the routes kipperd
-- registers (kipperd.api.markdown, no cluster needed). The hand-written introduction above the
-- marker line is kept; everything below it is replaced.
-- Usage: build/kip lua scripts/api_doc.lua [FILE]    (default docs/api.md)
--        build/kip lua scripts/api_doc.lua --check [FILE]   (exit 1 when FILE is stale)
--        build/kip lua scripts/api_doc.lua --openapi       (print the OpenAPI document as JSON)
local markdown = require "kipperd.api.markdown"

local args = { ... }
local check = args[1] == "--check"
if check then table.remove(args, 1) end
if args[1] == "--openapi" then
  io.stdout:write(assert(require("kip.json").encode(markdown.document(), { indent = 2 })), "\n")
  return
end
local path = args[1] or "docs/api.md"
local f = io.open(path, "r")
local current = f and f:read("a") or ""
if f then f:close() end
local fresh = markdown.splice(current, markdown.reference(markdown.document()))
if check then
  if fresh ~= current then
    io.stderr:write(path, " is stale: run 'kip lua scripts/api_doc.lua ", path, "'\n")
    os.exit(1)
  end
  return
end
if fresh ~= current then
  local out = assert(io.open(path, "w"))
  out:write(fresh)
  out:close()
  io.stderr:write("wrote ", path, "\n")
end
