-- SPDX-License-Identifier: Apache-2.0
-- kip.yaml: decoding with Kubernetes YAML typing, anchors, merges and block scalars; encoding
-- that reads back as the same value; errors as nil, message with line and column.
local yaml = require "kip.yaml"
local cjson = require "cjson"

describe("kip.yaml", function()
  describe("decode", function()
    it("reads a Kubernetes manifest", function()
      local doc = assert(yaml.decode([[
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: api
        image: ghcr.io/acme/api:latest
        ports:
        - containerPort: 3000
]]))
      assert.equal("apps/v1", doc.apiVersion)
      assert.equal("api", doc.metadata.labels.app)
      assert.equal(3, doc.spec.replicas)
      assert.equal("integer", math.type(doc.spec.replicas))
      assert.equal(3000, doc.spec.template.spec.containers[1].ports[1].containerPort)
    end)

    it("types plain scalars as Kubernetes (YAML 1.1) does", function()
      local v = assert(yaml.decode([[
int: 42
neg: -17
hex: 0x1F
octal: 0755
octal_o: 0o17
binary: 0b101
under: 1_000
float: 1.5
exp: 1e3
inf: .inf
ninf: -.Inf
t1: true
t2: yes
t3: On
f1: false
f2: no
f3: OFF
n1: ~
n2: null
n3:
str: hello
version: 1.2.3
]]))
      assert.equal(42, v.int); assert.equal("integer", math.type(v.int))
      assert.equal(-17, v.neg)
      assert.equal(31, v.hex)
      assert.equal(493, v.octal)
      assert.equal(15, v.octal_o)
      assert.equal(5, v.binary)
      assert.equal(1000, v.under)
      assert.equal(1.5, v.float)
      assert.equal(1000.0, v.exp); assert.equal("float", math.type(v.exp))
      assert.equal(math.huge, v.inf)
      assert.equal(-math.huge, v.ninf)
      assert.is_true(v.t1); assert.is_true(v.t2); assert.is_true(v.t3)
      assert.is_false(v.f1); assert.is_false(v.f2); assert.is_false(v.f3)
      assert.equal(yaml.null, v.n1); assert.equal(yaml.null, v.n2); assert.equal(yaml.null, v.n3)
      assert.equal("hello", v.str)
      assert.equal("1.2.3", v.version)
    end)

    it("reads .nan as NaN", function()
      local v = assert(yaml.decode("x: .nan"))
      assert.is_true(v.x ~= v.x)
    end)

    it("keeps quoted and block scalars as strings", function()
      local v = assert(yaml.decode([[
a: "42"
b: 'true'
c: "~"
lit: |
  line one
  line two
fold: >
  one
  two
keep: |+
  x

strip: |-
  y
]]))
      assert.equal("42", v.a)
      assert.equal("true", v.b)
      assert.equal("~", v.c)
      assert.equal("line one\nline two\n", v.lit)
      assert.equal("one two\n", v.fold)
      assert.equal("x\n\n", v.keep)
      assert.equal("y", v.strip)
    end)

    it("honours explicit core tags", function()
      local v = assert(yaml.decode('a: !!str 42\nb: !!int "7"\nc: !!float 1\nd: !!bool "yes"\n'))
      assert.equal("42", v.a)
      assert.equal(7, v.b)
      assert.equal("float", math.type(v.c))
      assert.is_true(v.d)
      local bad, err = yaml.decode("a: !!int hello\n")
      assert.is_nil(bad)
      assert.matches("line 1, column 4: value does not match its tag", err)
    end)

    it("gives a number too big for 64 bits as a float", function()
      local v = assert(yaml.decode("big: 99999999999999999999\n"))
      assert.equal("float", math.type(v.big))
      assert.equal(1e20, v.big)
    end)

    it("shares anchored values through aliases and applies merge keys", function()
      local v = assert(yaml.decode([[
base: &base {cpu: 100m, memory: 128Mi}
list: &l [a, b]
small:
  <<: *base
  memory: 64Mi
both:
  <<: [*base, {gpu: 1, cpu: 1}]
again: *l
]]))
      assert.equal("100m", v.small.cpu)
      assert.equal("64Mi", v.small.memory)
      assert.equal("100m", v.both.cpu, "the first merged mapping wins")
      assert.equal(1, v.both.gpu)
      assert.equal(v.list, v.again)
      assert.is_nil(v.small["<<"])
    end)

    it("marks sequences so empty ones stay sequences", function()
      local v = assert(yaml.decode("a: []\nb: {}\nc: [1]\n"))
      assert.is_true(yaml.is_array(v.a))
      assert.is_false(yaml.is_array(v.b))
      assert.is_true(yaml.is_array(v.c))
      assert.equal("a: []\nb: {}\nc:\n- 1\n", yaml.encode(v))
    end)

    it("uses the same null as cjson", function()
      assert.equal(cjson.null, yaml.null)
      local v = assert(yaml.decode("a: null"))
      assert.equal('{"a":null}', cjson.encode(v))
    end)

    it("returns nothing for empty text and refuses several documents", function()
      assert.equal(0, select("#", yaml.decode("")))
      assert.equal(0, select("#", yaml.decode("# only a comment\n")))
      local v, err, code = yaml.decode("a: 1\n---\nb: 2\n")
      assert.is_nil(v)
      assert.matches("several YAML documents", err)
      assert.equal("invalid", code)
    end)

    it("reports syntax errors with line and column", function()
      local v, err, code = yaml.decode("a: 1\nb: [1, 2\nc: 3\n")
      assert.is_nil(v)
      assert.equal("invalid", code)
      assert.matches("^line %d+, column %d+: ", err)
      local _, err2 = yaml.decode("a: 1\n  b: 2\n")
      assert.matches("^line 2, column 4: mapping values are not allowed", err2)
    end)

    it("refuses duplicate keys, unknown and recursive aliases, and collection keys", function()
      local _, e1 = yaml.decode("name: a\nname: b\n")
      assert.equal('line 2, column 1: duplicate key "name"', e1)
      local _, e2 = yaml.decode("a: *nope\n")
      assert.matches("alias %*nope refers to no complete anchor", e2)
      local _, e3 = yaml.decode("a: &r [*r]\n")
      assert.matches("alias %*r", e3)
      local _, e4 = yaml.decode("? [a]\n: b\n")
      assert.matches("mapping keys must be scalars", e4)
    end)

    it("refuses alias bombs instead of handing them on", function()
      local text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
      for i = 1, 8 do
        text = text .. string.format("l%d: &l%d [%s]\n", i, i, string.rep("*l" .. (i - 1), 10, ", "))
      end
      local v, err = yaml.decode(text)
      assert.is_nil(v)
      assert.matches("alias bomb", err)
    end)

    it("refuses nesting deeper than 512 levels", function()
      local v, err = yaml.decode(string.rep("[", 600) .. string.rep("]", 600))
      assert.is_nil(v)
      assert.matches("nesting deeper than 512 levels", err)
      assert.is_table(yaml.decode(string.rep("[", 500) .. string.rep("]", 500)))
    end)

    it("refuses invalid UTF-8 and control characters", function()
      local v, err = yaml.decode("a: \xff\xfe\n")
      assert.is_nil(v)
      assert.is_string(err)
      local v2, err2 = yaml.decode("a: b\0c\n")
      assert.is_nil(v2)
      assert.is_string(err2)
    end)

    it("raises on a non-string argument", function()
      assert.has_error(function() yaml.decode({}) end)
    end)
  end)

  describe("decode_all", function()
    it("returns every document and skips empty ones", function()
      local docs = assert(yaml.decode_all("a: 1\n---\n---\n# comment\n---\nb: 2\n...\n"))
      assert.equal(2, #docs)
      assert.equal(1, docs[1].a)
      assert.equal(2, docs[2].b)
      assert.is_true(yaml.is_array(docs))
    end)

    it("returns an empty list for empty text", function()
      local docs = assert(yaml.decode_all(""))
      assert.equal(0, #docs)
    end)

    it("reports the line of an error in a later document", function()
      local docs, err = yaml.decode_all("a: 1\n---\nb: [\n")
      assert.is_nil(docs)
      assert.matches("^line 4, column 1", err)
    end)

    it("keeps anchors to their own document", function()
      local docs, err = yaml.decode_all("a: &x 1\n---\nb: *x\n")
      assert.is_nil(docs)
      assert.matches("line 3, column 4: alias %*x", err)
    end)
  end)

  describe("encode", function()
    local function roundtrip(v)
      local text = assert(yaml.encode(v))
      return assert(yaml.decode(text)), text
    end

    it("quotes strings that would read back as another type", function()
      local tricky = { "42", "-7", "0x1F", "0755", "1_000", "1e3", "3.5", ".inf", "-.inf", ".nan",
        "true", "false", "yes", "no", "on", "off", "y", "n", "Y", "NO", "null", "Null", "~", "",
        "<<", " leading", "trailing ", "a: b", "- x", "#c", "[x]", "{x}", "&a", "*a", "!t", "%p",
        "@x", "`x", "'q'", '"q"', "multi\nline", "tab\there", "\n", "é ☃" }
      for _, s in ipairs(tricky) do
        local back, text = roundtrip({ v = s })
        assert.equal(s, back.v, "for " .. string.format("%q", s) .. " encoded as " .. text)
        assert.equal("string", type(back.v))
      end
      assert.equal('a: "42"\n', yaml.encode({ a = "42" }))
    end)

    it("keeps numbers, booleans and null their type", function()
      local back = roundtrip({ i = 42, f = 3.0, g = 0.1, big = 2 ^ 63, t = true, f2 = false, n = yaml.null,
        inf = math.huge, ninf = -math.huge, min = math.mininteger })
      assert.equal("integer", math.type(back.i))
      assert.equal("float", math.type(back.f)); assert.equal(3.0, back.f)
      assert.equal(0.1, back.g)
      assert.equal(2 ^ 63, back.big)
      assert.is_true(back.t); assert.is_false(back.f2)
      assert.equal(yaml.null, back.n)
      assert.equal(math.huge, back.inf); assert.equal(-math.huge, back.ninf)
      assert.equal(math.mininteger, back.min)
    end)

    it("writes literal blocks for multi-line strings", function()
      local text = assert(yaml.encode({ script = "#!/bin/sh\necho hi\n" }))
      assert.equal("script: |\n  #!/bin/sh\n  echo hi\n", text)
    end)

    it("sorts keys and tells sequences from mappings", function()
      local text = assert(yaml.encode({ b = { 1, 2 }, a = { x = 1 }, c = yaml.array({}), d = {} }))
      assert.equal("a:\n  x: 1\nb:\n- 1\n- 2\nc: []\nd: {}\n", text)
    end)

    it("writes number keys as strings", function()
      local back = roundtrip({ [10] = "x", [1.5] = "y" })
      assert.equal("x", back["10"])
      assert.equal("y", back["1.5"])
    end)

    it("writes sparse tables as mappings", function()
      local back = roundtrip({ [1] = "a", [3] = "c" })
      assert.equal("a", back["1"])
      assert.equal("c", back["3"])
    end)

    it("returns nil, message for what YAML cannot hold, naming where", function()
      local t = {}; t.self = t
      local v, err, code = yaml.encode({ a = t })
      assert.is_nil(v)
      assert.equal("invalid", code)
      assert.equal("a.self: a table contains itself, which YAML text cannot hold", err)
      local _, err2 = yaml.encode({ list = { 1, print } })
      assert.equal("list[1]: cannot encode a function value as YAML", err2)
      local _, err3 = yaml.encode({ s = "\xff" })
      assert.equal("s: string is not valid UTF-8", err3)
      local _, err4 = yaml.encode({ [true] = 1 })
      assert.matches("mapping keys must be strings or numbers", err4)
    end)

    it("encodes a shared table twice but not a cycle", function()
      local shared = { x = 1 }
      local back = roundtrip({ a = shared, b = shared })
      assert.equal(1, back.a.x)
      assert.equal(1, back.b.x)
    end)

    it("writes scalars at the top level", function()
      assert.equal("42\n", yaml.encode(42))
      assert.equal('"42"\n', yaml.encode("42"))
      assert.equal("null\n", yaml.encode(nil))
    end)
  end)

  describe("encode_all", function()
    it("writes a stream that decode_all reads back", function()
      local text = assert(yaml.encode_all({ { kind = "A" }, { kind = "B" } }))
      assert.equal("---\nkind: A\n---\nkind: B\n", text)
      local docs = assert(yaml.decode_all(text))
      assert.equal("B", docs[2].kind)
    end)
  end)
end)
