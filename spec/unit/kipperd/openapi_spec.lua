-- SPDX-License-Identifier: Apache-2.0
-- The console API's OpenAPI document (kipperd.api.openapi over the routes kipperd.api registers,
-- built without a cluster): every route is in it with a summary and an access note, so a new
-- route cannot skip its docs; path parameters, security, schemas inferred from the examples; and
-- the document passes openapi-spec-validator; docs/api.md matches a fresh build of its reference
-- (kipperd.api.markdown). Uses kip.json, kip.fs and kip.proc.
local fs = require "kip.fs"
local json = require "kip.json"
local markdown = require "kipperd.api.markdown"
local openapi = require "kipperd.api.openapi"

describe("kipperd.api.openapi", function()
  local routes, doc

  setup(function()
    routes = require("kipperd.api").new({ client = markdown.no_client() }).docs
    doc = openapi.build(routes, { version = "1.2.3" })
  end)

  it("lists every registered route, each with a summary, a tag and an access note", function()
    assert.is_true(#routes >= 20, "only " .. #routes .. " routes")
    local tags = {}
    for _, t in ipairs(openapi.TAGS) do tags[t.name] = true end
    for _, r in ipairs(routes) do
      local what = r.method .. " " .. r.path
      local op = doc.paths[r.path] and doc.paths[r.path][r.method:lower()]
      assert.is_table(op, what .. " is missing from the document")
      assert.is_string(r.doc.summary, what .. " has no summary")
      assert.is_true(#r.doc.summary > 5, what .. ": summary too short")
      assert.is_string(r.doc.access, what .. " has no access note")
      assert.is_true(tags[r.doc.tag] == true, what .. " has no known tag: " .. tostring(r.doc.tag))
      assert.equal(op["x-kipper-access"], r.doc.access)
      assert.matches("Access: " .. r.doc.access, op.description, 1, true)
      if r.doc.status ~= 204 and r.doc.status ~= 101 then -- no content; a WebSocket
        assert.is_not_nil(r.doc.response, what .. " documents no response example")
      end
    end
  end)

  it("documents the contract's routes", function()
    for _, want in ipairs({
      "GET /api/v1/openapi.json", "GET /api/v1/version", "GET /api/v1/cluster", "GET /api/v1/dashboard",
      "GET /api/v1/catalog", "GET /api/v1/projects/{project}/services", "POST /api/v1/projects/{project}/services",
      "GET /api/v1/projects/{project}/services/{service}", "GET /api/v1/projects/{project}/services/{service}/credentials",
      "DELETE /api/v1/projects/{project}/services/{service}", "GET /api/v1/routes", "GET /api/v1/users",
      "POST /api/v1/users", "PUT /api/v1/users/{email}/role", "POST /api/v1/users/{email}/reset-password",
      "DELETE /api/v1/users/{email}", "POST /api/v1/auth/login", "GET /api/v1/auth/me",
    }) do
      local method, path = want:match("^(%S+) (%S+)$")
      assert.is_table(doc.paths[path] and doc.paths[path][method:lower()], want .. " is not documented")
    end
  end)

  it("is OpenAPI 3.1 with bearer security on every route but the public ones", function()
    assert.equal("3.1.0", doc.openapi)
    assert.equal("1.2.3", doc.info.version)
    assert.equal("bearer", doc.components.securitySchemes.bearer.scheme)
    local login = doc.paths["/api/v1/auth/login"].post
    assert.equal(0, #login.security)
    assert.is_nil(login.responses["401"])
    local users = doc.paths["/api/v1/users"].get
    assert.same({ bearer = {} }, users.security[1])
    assert.is_table(users.responses["401"])
    assert.is_table(users.responses["403"])
    assert.is_nil(doc.paths["/api/v1/cluster"].get.responses["403"]) -- any user
    -- the document encodes, and decodes back
    local text = assert(json.encode(doc))
    assert.equal("3.1.0", json.decode(text).openapi)
  end)

  it("declares path parameters and query parameters", function()
    local op = doc.paths["/api/v1/projects/{project}/services/{service}/credentials"].get
    local names = {}
    for _, p in ipairs(op.parameters) do names[p.name] = p["in"] end
    assert.same({ project = "path", service = "path", environment = "query" }, names)
    assert.is_table(op.responses["404"])
    assert.is_table(op.responses["403"])
  end)

  it("infers schemas from the examples", function()
    local s = openapi.schema_of({ name = "db", port = 5432, ready = true, ratio = 0.5, tags = { "a" }, empty = json.array({}),
      nested = { x = 1 } })
    assert.same({ "empty", "name", "nested", "port", "ratio", "ready", "tags" }, s.required)
    assert.equal("string", s.properties.name.type)
    assert.equal("integer", s.properties.port.type)
    assert.equal("boolean", s.properties.ready.type)
    assert.equal("number", s.properties.ratio.type)
    assert.same({ type = "array", items = { type = "string" } }, s.properties.tags)
    assert.same({ type = "array" }, s.properties.empty)
    assert.equal("integer", s.properties.nested.properties.x.type)
    local opt = openapi.schema_of({ a = 1, b = { c = 2, d = 3 } }, { b = true, d = true })
    assert.same({ "a" }, opt.required)
    assert.same({ "c" }, opt.properties.b.required)
    assert.is_nil(openapi.schema_of({ x = 1 }, { x = true }).required)
    local post = doc.paths["/api/v1/users"].post
    assert.same({ "email", "role" }, post.requestBody.content["application/json"].schema.required)
    assert.equal("object", post.requestBody.content["application/json"].schema.type)
    assert.equal("string", post.requestBody.content["application/json"].schema.properties.email.type)
    assert.is_table(post.responses["201"].content["application/json"].example)
  end)

  it("passes openapi-spec-validator (when Python has it)", function()
    local proc = require "kip.proc"
    local has = proc.run({ "python3", "-c", "import openapi_spec_validator" })
    if not (has and has.status == 0) then
      pending("python3 module openapi_spec_validator is not installed")
      return
    end
    local r = assert(proc.run({ "python3", "-c",
      "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))\nprint('valid')" },
      { stdin = assert(json.encode(doc)), timeout = 60 }))
    assert.equal(0, r.status, r.stderr)
    assert.matches("valid", r.stdout, 1, true)
  end)

  it("docs/api.md is up to date with the routes (run: kip lua scripts/api_doc.lua)", function()
    local current = assert(fs.read("docs/api.md"), "docs/api.md is missing")
    assert.matches(markdown.MARKER, current, 1, true)
    local fresh = markdown.splice(current, markdown.reference(markdown.document()))
    assert.is_true(fresh == current, "docs/api.md is stale: run 'kip lua scripts/api_doc.lua' and commit docs/api.md")
    -- the hand-written introduction is there
    assert.matches("Authorization: Bearer", current, 1, true)
    assert.matches("kipper.logs.v1", current, 1, true)
  end)
end)
