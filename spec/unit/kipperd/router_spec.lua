-- SPDX-License-Identifier: Apache-2.0
-- kipperd.api.router: {param} routes (exact paths first), query parsing, 404 and 405 with Allow,
-- JSON bodies (413, 415, 400), kip errors answered 400 (or their http_status) and other errors
-- 500 without their message, 503 when the Kubernetes API failed; route docs kept for the OpenAPI
-- document.
local errors = require "kip.cli.errors"
local json = require "kip.json"
local router = require "kipperd.api.router"

describe("kipperd.api.router", function()
  local r, seen
  before_each(function()
    seen = nil
    r = router.new("/api/")
    local function echo(name)
      return function(req)
        seen = { name = name, params = req.params }
        return router.json(200, { route = name })
      end
    end
    r:add("GET", "/api/v1/projects/{project}/apps/{app}", echo("app"), { summary = "An app", tag = "Apps" })
    r:add("DELETE", "/api/v1/projects/{project}/apps/{app}", echo("delete"))
    r:add("GET", "/api/v1/projects/{project}/apps", echo("apps"))
    r:add("GET", "/api/v1/projects/mine/apps", echo("exact"))
    r:add("POST", "/api/v1/fail", function() errors.usage("replicas takes a whole number", "Send {\"replicas\": N}.") end)
    r:add("POST", "/api/v1/conflict", function() errors.fail("project shop already exists", nil, 409) end)
    r:add("POST", "/api/v1/bug", function() error("secret detail in a bug") end)
    r:add("POST", "/api/v1/body", function(req)
      local body, bad = router.body(req)
      if not body then return bad end
      return router.json(200, body)
    end)
  end)

  local function handle(method, path, extra)
    local req = { method = method, path = path, headers = {} }
    for k, v in pairs(extra or {}) do req[k] = v end
    local res = r:handle(req)
    local ok, doc = pcall(json.decode, res.body ~= "" and res.body or "null")
    return res, ok and doc or nil
  end

  it("gives path parameters to the handler, and an exact route wins over a pattern", function()
    local res, doc = handle("GET", "/api/v1/projects/shop/apps/web")
    assert.equal(200, res.status)
    assert.equal("app", doc.route)
    assert.same({ project = "shop", app = "web" }, seen.params)
    handle("GET", "/api/v1/projects/shop/apps")
    assert.same({ name = "apps", params = { project = "shop" } }, seen)
    handle("GET", "/api/v1/projects/mine/apps")
    assert.equal("exact", seen.name)
    assert.equal("application/json", res.headers["Content-Type"])
  end)

  it("answers 404 for unknown paths and 405 with Allow for other methods", function()
    local res, doc = handle("GET", "/api/v1/projects/shop/apps/web/extra")
    assert.equal(404, res.status)
    assert.matches("not found", doc.error)
    assert.equal(404, (handle("GET", "/api/v1/projects//apps")).status)
    local res2, doc2 = handle("PUT", "/api/v1/projects/shop/apps/web")
    assert.equal(405, res2.status)
    assert.equal("DELETE, GET", res2.headers.Allow)
    assert.equal("method not allowed", doc2.error)
    assert.is_nil(seen)
  end)

  it("parses the query: decoding, + as space, the last repeat wins, empty values", function()
    assert.same({ environment = "prod", q = "a b/c", x = "" },
      router.query({ query = "environment=staging&q=a+b%2Fc&environment=prod&x=&&" }))
    assert.same({}, router.query({}))
  end)

  it("answers kip errors 400 with message and hint, or their http_status; other errors 500 without detail", function()
    local res, doc = handle("POST", "/api/v1/fail")
    assert.equal(400, res.status)
    assert.same({ error = "replicas takes a whole number", hint = "Send {\"replicas\": N}." }, doc)
    local res2, doc2 = handle("POST", "/api/v1/conflict")
    assert.equal(409, res2.status)
    assert.equal("project shop already exists", doc2.error)
    local res3, doc3 = handle("POST", "/api/v1/bug")
    assert.equal(500, res3.status)
    assert.equal("internal error", doc3.error)
    assert.is_nil(res3.body:find("secret detail", 1, true))
  end)

  it("answers 503 with the client's message when the Kubernetes API failed", function()
    local res = router.api_failed("connection refused")
    assert.equal(503, res.status)
    assert.same({ error = "the Kubernetes API failed: connection refused", hint = "Try again; see kipperd's log." },
      json.decode(res.body))
  end)

  it("reads JSON object bodies: 415 without JSON, 413 over the cap, 400 for non-objects", function()
    local json_ct = { ["content-type"] = "application/json; charset=utf-8" }
    local res, doc = handle("POST", "/api/v1/body", { headers = json_ct, body = '{"replicas": 2}' })
    assert.equal(200, res.status)
    assert.same({ replicas = 2 }, doc)
    assert.equal(415, (handle("POST", "/api/v1/body", { headers = { ["content-type"] = "text/plain" }, body = "{}" })).status)
    assert.equal(415, (handle("POST", "/api/v1/body", { body = "{}" })).status)
    assert.equal(413, (handle("POST", "/api/v1/body", { headers = json_ct, body = string.rep(" ", router.MAX_BODY + 1) })).status)
    assert.equal(400, (handle("POST", "/api/v1/body", { headers = json_ct, body = "[1, 2]" })).status)
    assert.equal(400, (handle("POST", "/api/v1/body", { headers = json_ct, body = "{nope" })).status)
  end)

  it("keeps each route's documentation, in the order added", function()
    assert.same({ method = "GET", path = "/api/v1/projects/{project}/apps/{app}", doc = { summary = "An app", tag = "Apps" } },
      r.docs[1])
    assert.same({}, r.docs[2].doc)
    assert.is_true(r:owns("/api/v1/x"))
    assert.is_false(r:owns("/healthz"))
  end)
end)
