-- SPDX-License-Identifier: Apache-2.0
-- kip.json (core/src/bind/l_json.c): strict RFC 8259 decoding with 64-bit integers, the shared
-- null and array mark; encoding with sorted keys, indentation, exact numbers and clear errors.
local json = require "kip.json"
local yaml = require "kip.yaml"
local cjson = require "cjson"

-- the message of a failed decode, checking the nil, message, "invalid" shape
local function decode_error(text)
  local v, err, code = json.decode(text)
  assert.is_nil(v)
  assert.equal("invalid", code)
  return err
end

local function encode_error(value, opts)
  local text, err, code = json.encode(value, opts)
  assert.is_nil(text)
  assert.equal("invalid", code)
  return err
end

describe("kip.json", function()
  describe("decode", function()
    it("decodes with cjson's null, which is kip.yaml's null", function()
      local v = assert(json.decode('{"a": null, "b": [1, 2.5, "x"], "c": true}'))
      assert.equal(yaml.null, v.a)
      assert.equal(cjson.null, v.a)
      assert.equal(json.null, v.a)
      assert.equal(2.5, v.b[2])
      assert.is_true(v.c)
    end)

    it("reads every kind of value at the top level", function()
      assert.equal(1, json.decode("1"))
      assert.equal("s", json.decode('"s"'))
      assert.is_true(json.decode(" true "))
      assert.is_false(json.decode("false"))
      assert.equal(json.null, json.decode("null"))
      assert.same({}, json.decode("{}"))
      assert.same({}, json.decode(" [ ] "))
    end)

    it("returns nil, message for bad JSON", function()
      assert.equal("line 1, column 2: unexpected character 'b' (expected a string key or '}')", decode_error("{bad"))
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

    it("keeps 64-bit integers exact", function()
      local v = assert(json.decode("[9223372036854775807, -9223372036854775808, 9007199254740993, -0, 0]"))
      assert.equal(math.maxinteger, v[1]); assert.equal("integer", math.type(v[1]))
      assert.equal(math.mininteger, v[2]); assert.equal("integer", math.type(v[2]))
      assert.equal(9007199254740993, v[3]); assert.equal("integer", math.type(v[3]))
      assert.equal("float", math.type(v[4])); assert.equal("-0.0", string.format("%.1f", v[4]))
      assert.equal("integer", math.type(v[5]))
      assert.equal("[9223372036854775807,-9223372036854775808,9007199254740993,-0,0]", json.encode(v))
    end)

    it("reads fractions, exponents and integers beyond 64 bits as floats", function()
      local v = assert(json.decode("[1.0, 1e2, 1E-2, 2.5e+3, 9223372036854775808, -9223372036854775809, 12345678901234567890123]"))
      for i = 1, #v do assert.equal("float", math.type(v[i]), "element " .. i) end
      assert.equal(1.0, v[1]); assert.equal(100.0, v[2]); assert.equal(0.01, v[3]); assert.equal(2500.0, v[4])
      assert.equal(2 ^ 63, v[5]); assert.equal(-(2 ^ 63), v[6]); assert.equal(1.2345678901234568e22, v[7])
    end)

    it("reads floats to the nearest double", function()
      local cases = { "0.1", "0.30000000000000004", "1.7976931348623157e308", "2.2250738585072014e-308",
        "5e-324", "4.9406564584124654e-324", "123456789.123456789", "0.000001234", "1e-7", "1e22", "1e23",
        "9007199254740993.0", "3.141592653589793", "2.718281828459045", "1.0000000000000002" }
      for _, s in ipairs(cases) do
        assert.equal(tonumber(s), json.decode(s), s)
      end
      assert.equal(0.0, json.decode("1e-400"))
      assert.equal(0.0, json.decode("0e999999999"))
    end)

    it("refuses numbers that overflow to infinity", function()
      assert.equal("line 1, column 1: number out of range (it would be infinite)", decode_error("1e400"))
      assert.equal("line 1, column 6: number out of range (it would be infinite)", decode_error('{"a":-1e309}'))
      decode_error("1" .. string.rep("0", 400))
    end)

    it("refuses numbers RFC 8259 does not allow", function()
      for _, s in ipairs({ "01", "-", "+1", ".5", "1.", "1.e3", "1e", "1e+", "0x10", "Infinity", "NaN", "-Infinity", "--1", "1_000" }) do
        decode_error(s)
      end
      assert.matches("no leading zeros", decode_error("[00]"))
    end)

    it("decodes every escape", function()
      assert.equal('"\\/\b\f\n\r\t', json.decode([["\"\\\/\b\f\n\r\t"]]))
      assert.equal("\0\1\31", json.decode([["\u0000\u0001\u001F"]]))
      assert.equal("é€", json.decode([["\u00e9\u20AC"]]))
      assert.equal("a\u{1F600}b", json.decode([["a\ud83d\ude00b"]]))
      assert.equal("\u{10FFFF}", json.decode([["\uDBFF\uDFFF"]]))
      assert.equal("x\u{10000}", json.decode([["x\uD800\uDC00"]]))
      assert.equal("plain é 😀 text", json.decode('"plain é 😀 text"'))
      assert.equal("k\n", next(json.decode([[{"k\n": 1}]])))
    end)

    it("refuses bad escapes and lone surrogates", function()
      assert.matches("^line 1, column 2: invalid escape", decode_error([["\x"]]))
      assert.matches("^line 1, column 3: invalid \\u escape %(four hex digits", decode_error([["a\u12"]]))
      assert.matches("invalid \\u escape", decode_error([["\u12G4"]]))
      assert.matches("a high surrogate without a low one", decode_error([["\ud83d"]]))
      assert.matches("a high surrogate without a low one", decode_error([["\ud83dx"]]))
      assert.matches("a high surrogate without a low one", decode_error([["\ud83d\u0041"]]))
      assert.matches("a low surrogate without a high one", decode_error([["\ude00"]]))
      assert.matches("unexpected end of text", decode_error([["abc\]]))
    end)

    it("refuses raw control characters and invalid UTF-8", function()
      assert.equal("line 1, column 3: control character in a string (write it as an escape)", decode_error('"a\nb"'))
      assert.matches("control character", decode_error('"\t"'))
      assert.matches("control character", decode_error('"\\n\0"'))
      assert.equal("byte 2: invalid UTF-8", decode_error('"a\xffb"'))
      assert.equal("byte 1: invalid UTF-8", decode_error('"\xc0\xaf"'), "overlong")
      assert.equal("byte 1: invalid UTF-8", decode_error('"\xed\xa0\x80"'), "encoded surrogate")
      assert.equal("byte 1: invalid UTF-8", decode_error('"\xf4\x90\x80\x80"'), "above U+10FFFF")
      assert.equal("byte 1: invalid UTF-8", decode_error('"\xe2\x82"'), "truncated")
      assert.equal("byte 3: invalid UTF-8", decode_error('"\\n\x80"'), "after an escape")
      assert.matches("unexpected byte 0xEF", decode_error("\xef\xbb\xbf{}"))
    end)

    it("gives the line and column (in characters) of errors", function()
      assert.equal("line 3, column 8: unexpected character '}' (expected a value)", decode_error('{\n  "a": 1,\n  "b": }'))
      assert.equal("line 1, column 8: unexpected character ']' (expected a string key)", decode_error('{"a":1,]'))
      assert.equal("line 1, column 6: unexpected character ',' (expected ':' after an object key)", decode_error('{"é" , 1}'))
      assert.equal("line 2, column 1: unexpected end of text (expected ',' or ']' after an array element)", decode_error("[1\n"))
      assert.equal("line 1, column 6: unexpected character '}' (expected ',' or ']' after an array element)", decode_error("[1, 2}"))
      assert.equal("line 1, column 2: unexpected end of text (expected a value)", decode_error(" "))
      assert.equal("line 1, column 1: unexpected end of text (expected a value)", decode_error(""))
      assert.equal("line 1, column 2: invalid literal (expected true, false or null)", decode_error("[tru]"))
    end)

    it("refuses trailing garbage, trailing commas and comments", function()
      assert.equal("line 1, column 4: unexpected text after the JSON value", decode_error("{} {}"))
      decode_error("1 2")
      decode_error("nullx")
      decode_error("[1,]")
      decode_error('{"a":1,}')
      decode_error("[1] // no")
      decode_error("/* no */ 1")
      decode_error("{'a': 1}")
      assert.is_table(json.decode(" \t\r\n[1]\n "))
    end)

    it("lets the last of duplicate keys win, as Go does", function()
      local v = assert(json.decode('{"a": 1, "b": 2, "a": 3}'))
      assert.equal(3, v.a)
      assert.equal(2, v.b)
    end)

    it("marks arrays so [] and {} survive a round trip", function()
      local v = assert(json.decode('{"a": [], "b": {}, "c": [1, [2]], "d": [{}]}'))
      assert.is_true(json.is_array(v.a)); assert.is_true(yaml.is_array(v.a))
      assert.is_false(json.is_array(v.b))
      assert.is_true(json.is_array(v.c)); assert.is_true(json.is_array(v.c[2]))
      assert.equal(yaml.array_mt, getmetatable(v.a))
      assert.equal('{"a":[],"b":{},"c":[1,[2]],"d":[{}]}', json.encode(v))
      assert.equal("a: []\nb: {}\nc:\n- 1\n- - 2\nd:\n- {}\n", yaml.encode(v))
      assert.equal("[]", json.encode(assert(yaml.decode("[]"))))
    end)

    it("keeps object keys strings, even when they look like numbers", function()
      local v = assert(json.decode('{"1": "a", "2": "b"}'))
      assert.equal("a", v["1"])
      assert.is_nil(v[1])
      assert.equal('{"1":"a","2":"b"}', json.encode(v))
    end)

    it("nests up to 512 levels and refuses deeper", function()
      assert.is_table(json.decode(string.rep("[", 512) .. string.rep("]", 512)))
      assert.is_table(json.decode(string.rep('{"a":', 511) .. "[]" .. string.rep("}", 511)))
      assert.equal("line 1, column 513: nesting deeper than 512 levels",
        decode_error(string.rep("[", 513) .. string.rep("]", 513)))
      assert.matches("nesting deeper than 512 levels", decode_error(string.rep("[", 100000)))
      assert.matches("nesting deeper than 512 levels", decode_error(string.rep('{"a":', 1000)))
    end)

    it("reads long strings, long arrays and big objects", function()
      local s = string.rep("x\"y\\é", 100000)
      assert.equal(s, json.decode(json.encode(s)))
      local big = json.decode("[" .. string.rep("1,", 199999) .. "1]")
      assert.equal(200000, #big)
      local keys = {}
      for i = 1, 5000 do keys[#keys + 1] = string.format('"k%d":%d', i, i) end
      local obj = json.decode("{" .. table.concat(keys, ",") .. "}")
      assert.equal(5000, obj.k5000)
    end)

    it("raises on misuse", function()
      assert.has_error(function() json.decode() end)
      assert.has_error(function() json.decode({}) end)
    end)
  end)

  describe("encode", function()
    it("encodes compactly with sorted keys", function()
      assert.equal('{"a":1,"b":[1,2],"c":{},"d":[],"e":null,"f":"x/y"}',
        json.encode({ b = { 1, 2 }, a = 1, c = {}, d = yaml.array(), e = json.null, f = "x/y" }))
    end)

    it("sorts keys bytewise", function()
      assert.equal('{"A":1,"B":2,"a":3,"aa":4,"b":5,"é":6}', json.encode({ b = 5, a = 3, aa = 4, B = 2, A = 1, ["é"] = 6 }))
      local many = {}
      for i = 1, 100 do many["k" .. string.format("%03d", 101 - i)] = i end
      assert.matches('^{"k001":100,"k002":99,', json.encode(many))
    end)

    it("sorts objects with many keys, and names paths through them", function()
      local big, expected = {}, {}
      for i = 1, 3000 do
        big[string.format("k%04d", i)] = { i }
        expected[i] = string.format('"k%04d":[%d]', i, i)
      end
      big[5000] = "n"
      assert.equal('{"5000":"n",' .. table.concat(expected, ",") .. "}", json.encode(big))
      big.k0300 = { f = print }
      assert.equal("big.k0300.f: cannot encode a function value in JSON", encode_error({ big = big }))
      big.k0300 = nil
      big["5000"] = "s"
      assert.equal('big: a table has both a number and a string key that read "5000"', encode_error({ big = big }))
    end)

    it("keeps lua_next order with sort = false", function()
      local t = { a = 1, b = 2, c = { d = true } }
      local v = json.decode(assert(json.encode(t, { sort = false })))
      assert.same(t, v)
      assert.equal("[1,2]", json.encode({ 1, 2 }, { sort = false }))
      assert.equal("{}", json.encode({}, { sort = false }))
    end)

    it("indents when asked", function()
      assert.equal('{\n  "a": [\n    1,\n    {\n      "b": true\n    }\n  ]\n}',
        json.encode({ a = { 1, { b = true } } }, { indent = 2 }))
      assert.equal('{\n    "a": [],\n    "b": {}\n}', json.encode({ a = json.array(), b = {} }, { indent = 4 }))
      assert.equal('{\n"a": 1\n}', json.encode({ a = 1 }, { indent = 0 }))
      assert.equal("[]", json.encode(json.array(), { indent = 2 }))
      assert.equal('{\n  "a": 1\n}', json.encode({ a = 1 }, { indent = 2, sort = false }))
    end)

    it("escapes what JSON needs escaped", function()
      assert.equal([["q\"b\\n\nt\tc\u0001"]], json.encode('q"b\\n\nt\tc\1'))
      assert.equal("x", json.decode(json.encode("x")))
      assert.equal('"\\b\\f\\r\\u0000\\u001f\127"', json.encode("\b\f\r\0\31\127"))
      assert.equal('"a/b</script>é😀"', json.encode("a/b</script>é😀"))
    end)

    it("refuses invalid UTF-8, naming the path", function()
      assert.equal("a.b[1]: string is not valid UTF-8", encode_error({ a = { b = { "ok", "bad\xff" } } }))
      assert.equal("a: a key is not valid UTF-8", encode_error({ a = { ["k\xc0"] = 1 } }))
      assert.equal("string is not valid UTF-8", encode_error("\xed\xa0\x80"))
    end)

    it("writes integers as integers and floats exactly", function()
      assert.equal("[9223372036854775807,-9223372036854775808,0,-5]",
        json.encode({ math.maxinteger, math.mininteger, 0, -5 }))
      assert.equal("[3,-2,9007199254740992,-9007199254740992,-0,0]",
        json.encode({ 3.0, -2.0, 2.0 ^ 53, -(2.0 ^ 53), -0.0, 0.0 }))
      assert.equal("[18014398509481984,1e+300,0.5,1e-07,123.456,1e+22]",
        json.encode({ 2.0 ^ 54, 1e300, 0.5, 1e-7, 123.456, 1e22 }))
      for _, x in ipairs({ 0.1, 1 / 3, 2 / 3, math.pi, 1e-300, 5e-324, 1.7976931348623157e308, 2 ^ 60 + 0.0,
        123456.789e-3, 0.1 + 0.2, 9007199254740993.0, -1.5e-10 }) do
        local back = json.decode(json.encode(x))
        assert.equal(x, back, string.format("%.17g", x))
      end
      assert.equal("0.30000000000000004", json.encode(0.1 + 0.2))
    end)

    it("refuses NaN and infinities", function()
      assert.equal("cannot encode infinity in JSON", encode_error(math.huge))
      assert.equal("a[0]: cannot encode -infinity in JSON", encode_error({ a = { -math.huge } }))
      assert.equal("n: cannot encode NaN in JSON", encode_error({ n = 0 / 0 }))
    end)

    it("tells arrays from objects", function()
      assert.equal("[1,2,3]", json.encode({ 1, 2, 3 }))
      assert.equal('{"1":1,"3":3}', json.encode({ [1] = 1, [3] = 3 }))
      assert.equal('{"1":"a","x":"b"}', json.encode({ "a", x = "b" }))
      assert.equal('{"0":"z","1":"a"}', json.encode({ [0] = "z", "a" }))
      assert.equal("{}", json.encode({}))
      assert.equal("[]", json.encode(json.array({})))
      assert.equal("[1,null,3]", json.encode(json.array({ 1, json.null, 3 })))
      assert.equal('{"1.5":true,"2":false}', json.encode({ [1.5] = true, [2] = false }))
    end)

    it("refuses keys that are not strings or numbers, and clashing keys", function()
      assert.equal("a: cannot encode a table key of type boolean", encode_error({ a = { [true] = 1 } }))
      assert.matches("cannot encode a table key of type table", encode_error({ [{}] = 1 }, { sort = false }))
      assert.equal('a table has both a number and a string key that read "1"', encode_error({ [1] = "x", ["1"] = "y", z = 1 }))
      assert.equal("cannot encode an infinite table key", encode_error({ [math.huge] = 1 }))
    end)

    it("refuses cycles, functions, userdata and non-finite numbers", function()
      local t = {}; t[1] = t
      assert.equal("[0]: a table contains itself, which JSON cannot hold", encode_error(t))
      local u = { a = { b = {} } }; u.a.b.c = u.a
      assert.equal("a.b.c: a table contains itself, which JSON cannot hold", encode_error(u))
      local _, err = json.encode({ f = print })
      assert.matches("cannot encode a function", err)
      assert.equal("f: cannot encode a function value in JSON", err)
      assert.equal("[1]: cannot encode a userdata value in JSON", encode_error({ 1, io.stdout }))
      assert.equal("cannot encode a thread value in JSON", encode_error(coroutine.create(print)))
      assert.is_nil(json.encode(math.huge))
    end)

    it("encodes a table twice when it is reached twice without a cycle", function()
      local shared = { x = 1 }
      assert.equal('{"a":{"x":1},"b":{"x":1}}', json.encode({ a = shared, b = shared }))
    end)

    it("nests up to 512 levels and refuses deeper", function()
      local function nest(n)
        local t = {}
        for _ = 2, n do t = { t } end
        return t
      end
      assert.equal(string.rep("[", 511) .. "{}" .. string.rep("]", 511), json.encode(nest(512)))
      assert.matches("^%[0%]%[0%].*: nesting deeper than 512 levels$", encode_error(nest(513)))
    end)

    it("writes nil and null as null", function()
      assert.equal("null", json.encode(nil))
      assert.equal("null", json.encode(json.null))
      assert.equal("[1,null]", json.encode({ 1, json.null }))
    end)

    it("raises on bad options", function()
      assert.has_error(function() json.encode({}, 5) end)
      assert.has_error(function() json.encode({}, { indent = 2.5 }) end)
      assert.has_error(function() json.encode({}, { indent = 17 }) end)
      assert.has_error(function() json.encode({}, { sort = 1 }) end)
    end)
  end)

  describe("array marks", function()
    it("shares kip.yaml's mark", function()
      local t = json.array({ 1 })
      assert.is_true(yaml.is_array(t))
      assert.is_true(json.is_array(yaml.array()))
      assert.equal(yaml.array_mt, json.array_mt)
      assert.is_true(json.is_array(json.array()))
      assert.is_false(json.is_array({}))
      assert.is_false(json.is_array("x"))
      assert.has_error(function() json.array(5) end)
    end)
  end)

  describe("round trips", function()
    it("decodes what it encodes and encodes what it decodes to the same text", function()
      local texts = {
        '{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}',
        '{"a":[1,-2,3.5,1e+300,-0,"x",true,false,null,{},[]],"b":{"c":{"d":[[[]]]}}}',
        '["\\u0000\\u001f\\"\\\\","é😀",""]',
        "9223372036854775807",
        '{"":1," ":2}',
      }
      for _, text in ipairs(texts) do
        local v = assert(json.decode(text))
        assert.equal(text, json.encode(v))
      end
    end)

    it("reads and writes a Kubernetes object", function()
      local text = [[
{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {
    "annotations": {
      "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}\n"
    },
    "creationTimestamp": "2024-05-01T12:00:00Z",
    "generation": 3,
    "labels": {
      "app": "api"
    },
    "name": "api",
    "namespace": "default",
    "resourceVersion": "123456",
    "uid": "6f1c-4a"
  },
  "spec": {
    "replicas": 3,
    "selector": {
      "matchLabels": {
        "app": "api"
      }
    },
    "template": {
      "metadata": {
        "creationTimestamp": null,
        "labels": {
          "app": "api"
        }
      },
      "spec": {
        "containers": [
          {
            "args": [],
            "env": [
              {
                "name": "RATIO",
                "value": "0.5"
              }
            ],
            "image": "ghcr.io/acme/api:1.2.3",
            "name": "api",
            "ports": [
              {
                "containerPort": 3000,
                "protocol": "TCP"
              }
            ],
            "resources": {}
          }
        ]
      }
    }
  },
  "status": {
    "availableReplicas": 3,
    "conditions": []
  }
}]]
      local v = assert(json.decode(text))
      assert.equal(3, v.spec.replicas); assert.equal("integer", math.type(v.spec.replicas))
      assert.equal(json.null, v.spec.template.metadata.creationTimestamp)
      assert.equal(3000, v.spec.template.spec.containers[1].ports[1].containerPort)
      assert.equal('{"apiVersion":"apps/v1","kind":"Deployment"}\n',
        v.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"])
      assert.equal(text, json.encode(v, { indent = 2 }))
      v.spec.replicas = 5.0 -- arithmetic may give a whole float; Go's int fields want 5, not 5.0
      assert.matches('"replicas":5,', json.encode(v))
    end)
  end)
end)
