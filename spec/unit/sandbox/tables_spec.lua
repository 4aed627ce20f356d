-- SPDX-License-Identifier: Apache-2.0
-- kip.sandbox.tables for custom resources: additionalPrinterColumns cells as kube-apiserver's table
-- convertor makes them (the first value of the JSONPath, typed cells, null when nothing is there),
-- a CRD without columns (Name, Age; never a built-in kind's columns), and ages and times as
-- apimachinery prints and reads them.
local tables = require "kip.sandbox.tables"
local yaml = require "kip.yaml"

local null = yaml.null

local function crd_def(columns, kind)
  return { group = "example.com", version = "v1", kind = kind or "Widget", resource = "widgets", crd = true,
    printer_columns = columns }
end

local function column(name, typ, path, priority)
  return { name = name, type = typ, jsonPath = path, priority = priority }
end

local function widget(spec, status)
  return { apiVersion = "example.com/v1", kind = "Widget",
    metadata = { name = "w", creationTimestamp = tables.now() }, spec = spec, status = status }
end

local function cells(columns, obj)
  return tables.table(crd_def(columns), { obj }, {}).rows[1].cells
end

describe("kip.sandbox.tables for custom resources", function()
  it("prints the first value a JSONPath selects: a wildcard, an index, a filter", function()
    local obj = widget({ environments = yaml.array({ { name = "production" }, { name = "staging" } }) },
      { conditions = yaml.array({ { type = "Synced", status = "False" }, { type = "Ready", status = "True" } }) })
    local c = cells({
      column("Environments", "string", ".spec.environments[*].name"),
      column("Last", "string", ".spec.environments[-1].name"),
      column("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
      column("Synced", "string", ".status.conditions[?(@.type=='Synced')].status"),
    }, obj)
    assert.same({ "w", "production", "staging", "True", "False" }, { c[1], c[2], c[3], c[4], c[5] })
  end)

  it("gives a null cell when the path selects nothing or cannot be evaluated", function()
    local c = cells({
      column("Missing", "string", ".status.phase"),
      column("Out", "string", ".spec.list[5]"),
      column("Filter", "string", '.status.conditions[?(@.type=="Ready")].status'),
      column("Bad", "string", "spec.list"),
    }, widget({ list = yaml.array({ 1 }) }))
    for i = 2, 5 do assert.equal(null, c[i]) end
  end)

  it("types cells as the column says, or leaves them null", function()
    local obj = widget({ replicas = 3, ratio = 2.75, on = false, size = "3", at = "2020-01-01T00:00:00Z",
      bad = "yesterday", map = { b = 1, a = "x" }, list = yaml.array({ "a", "b" }), none = null })
    local c = cells({
      column("Replicas", "integer", ".spec.replicas"),
      column("Ratio", "integer", ".spec.ratio"),
      column("Size", "integer", ".spec.size"),
      column("R", "number", ".spec.replicas"),
      column("On", "boolean", ".spec.on"),
      column("NotBool", "boolean", ".spec.size"),
      column("At", "date", ".spec.at"),
      column("Bad", "date", ".spec.bad"),
      column("Map", "string", ".spec.map"),
      column("List", "string", ".spec.list"),
      column("Num", "string", ".spec.ratio"),
      column("None", "string", ".spec.none"),
      column("NoneInt", "integer", ".spec.none"),
    }, obj)
    assert.equal(3, c[2])
    assert.equal(2, c[3])
    assert.equal(null, c[4])
    assert.equal(3.0, c[5])
    assert.equal("float", math.type(c[5]))
    assert.is_false(c[6])
    assert.equal(null, c[7])
    assert.matches("^%d+y%d+d$", c[8])
    assert.equal("<invalid>", c[9])
    assert.equal("map[a:x b:1]", c[10])
    assert.equal("[a b]", c[11])
    assert.equal("2.75", c[12])
    assert.equal("<no value>", c[13])
    assert.equal(null, c[14])
  end)

  it("describes the columns with their types and priorities", function()
    local t = tables.table(crd_def({ column("Size", "integer", ".spec.size"), column("Seen", "date", ".status.seen", 1) }),
      {}, {})
    local defs = t.columnDefinitions
    assert.same({ "Name", "Size", "Seen", "Age" }, { defs[1].name, defs[2].name, defs[3].name, defs[4].name })
    assert.equal("integer", defs[2].type)
    assert.equal("date", defs[3].type)
    assert.equal(1, defs[3].priority)
  end)

  it("shows Name and Age for a CRD without columns, even when its kind is a built-in kind's", function()
    local t = tables.table(crd_def(nil, "Service"), { widget({ type = "postgres" }) }, {})
    assert.equal(2, #t.columnDefinitions)
    assert.equal("Age", t.columnDefinitions[2].name)
    assert.matches("^%d+s$", t.rows[1].cells[2])
  end)
end)

describe("kip.sandbox.tables times", function()
  it("prints ages as HumanDuration: a little ahead is 0s, more is <invalid>", function()
    assert.equal("5s", tables.age(5))
    assert.equal("0s", tables.age(-1))
    assert.equal("<invalid>", tables.age(-5))
    assert.equal("<unknown>", tables.age(nil))
    assert.equal("2d3h", tables.age(51 * 3600))
  end)

  it("reads RFC 3339 times with a fraction or an offset", function()
    local z = tables.parse_time("2026-11-23T21:07:39Z")
    assert.equal(z, tables.parse_time("2026-11-23T22:07:39+01:00"))
    assert.equal(z, tables.parse_time("2026-11-23T21:07:39.250Z"))
    assert.equal(z, tables.parse_time("2026-11-23T16:37:39.5-04:30"))
    assert.is_nil(tables.parse_time("yesterday"))
  end)
end)
