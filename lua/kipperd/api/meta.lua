-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.meta: the API's own description, public: GET /api/v1/openapi.json (the OpenAPI
-- document of every route the router holds, built once on first use, so this module is
-- registered last) and GET /api/v1/version. Uses kipperd.api.openapi and kipperd.api.router.
local openapi = require "kipperd.api.openapi"
local router = require "kipperd.api.router"

local M = {}

local BASE = "/api/v1"

---Adds the meta routes.
---@param r table kipperd.api.router
---@param deps kipperd.api.Deps
function M.routes(r, deps)
  local document -- encoded once: the routes do not change after start
  r:add("GET", BASE .. "/openapi.json", function()
    if not document then
      document = router.json(200, openapi.build(r.docs, { version = deps.version }))
      document.headers["Cache-Control"] = "no-cache"
    end
    return document
  end, { summary = "The OpenAPI 3.1 document of this API", tag = "Meta", access = "public",
    description = "Built from the routes kipperd serves, with their access rules and example bodies.",
    response = { openapi = "3.1.0", info = { title = "Kipper console API", version = "0.7.0" }, paths = {} } })
  r:add("GET", BASE .. "/version", function()
    return router.json(200, { version = deps.version })
  end, { summary = "kipperd's version", tag = "Meta", access = "public", response = { version = "0.7.0" } })
end

return M
