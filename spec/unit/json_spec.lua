-- SPDX-License-Identifier: Apache-2.0
-- kip.json: cjson decoding with the shared null; encoding with sorted keys, indentation,
-- sequences told from mappings as kip.yaml does, and clear errors.
local json = require "kip.json"
local yaml = require "kip.yaml"

describe("kip.json", function()
  it("decodes with cjson's null, which is kip.yaml's null", function()
    local v = assert(json.decode('{"a": null, "b": [1, 2.5, "x"], "c": true}'))
    assert.equal(yaml.null, v.a)
    assert.equal(2.5, v.b[2])
    assert.is_true(v.c)
  end)

  it("returns nil, message for bad JSON", function()
    local v, err = json.decode("{bad")
    assert.is_nil(v)
    assert.matches("Expected object key string", err)
  end)

  it("encodes compactly with sorted keys", function()
    assert.equal('{"a":1,"b":[1,2],"c":{},"d":[],"e":null,"f":"x/y"}',
      json.encode({ b = { 1, 2 }, a = 1, c = {}, d = yaml.array(), e = json.null, f = "x/y" }))
  end)

  it("indents when asked", function()
    assert.equal('{\n  "a": [\n    1,\n    {\n      "b": true\n    }\n  ]\n}',
      json.encode({ a = { 1, { b = true } } }, { indent = 2 }))
  end)

  it("escapes what JSON needs escaped", function()
    assert.equal([["q\"b\\n\nt\tc\u0001"]], json.encode('q"b\\n\nt\tc\1'))
    assert.equal("x", json.decode(json.encode("x")))
  end)

  it("reads whole numbers as integers and writes numbers exactly", function()
    local v = assert(json.decode('{"replicas": 3, "big": 9007199254740992, "half": 0.5}'))
    assert.equal("integer", math.type(v.replicas))
    assert.equal(9007199254740992, v.big)
    assert.equal("integer", math.type(v.big))
    assert.equal("float", math.type(v.half))
    assert.equal("[1,0.1,3,1e+300]", json.encode({ 1, 0.1, 3.0, 1e300 }))
    local back = json.decode(json.encode({ 0.1, 1 / 3 }))
    assert.equal(0.1, back[1])
    assert.equal(1 / 3, back[2])
  end)

  it("refuses cycles, functions and non-finite numbers", function()
    local t = {}; t[1] = t
    assert.is_nil(json.encode(t))
    local _, err = json.encode({ f = print })
    assert.matches("cannot encode a function", err)
    assert.is_nil(json.encode(math.huge))
  end)
end)
