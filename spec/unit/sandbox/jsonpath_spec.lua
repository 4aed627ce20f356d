-- SPDX-License-Identifier: Apache-2.0
-- kip.sandbox.jsonpath: the JSONPath of CRD printer columns, parsed and evaluated as client-go's
-- jsonpath does for kube-apiserver (fields, escapes, [N], slices, [*], .*, filters), its errors
-- (indexes out of range, comparisons of different types), and values printed as Go prints them.
local json = require "kip.json"
local jsonpath = require "kip.sandbox.jsonpath"
local yaml = require "kip.yaml"

local OBJ = assert(json.decode([[{
  "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
  "spec": {
    "environments": [{"name": "production"}, {"name": "staging"}, {"name": "dev"}],
    "servers": [{"hosts": ["a", "b"]}, {"hosts": ["c"]}],
    "ratio": 1.5, "big": 1234567.0, "small": 0.00001, "whole": 100000.0, "count": 7, "on": false,
    "map": {"b": 2, "a": "x"}, "empty": null
  },
  "status": {"conditions": [
    {"type": "Synced", "status": "False"},
    {"type": "Ready", "status": "True", "reason": "Done", "age": 3}
  ]}
}]]))

local function find(path, obj)
  local steps = assert(jsonpath.parse(path))
  return jsonpath.find(obj or OBJ, steps)
end

local function texts(path)
  local values = assert(find(path))
  local out = {}
  for i, v in ipairs(values) do out[i] = jsonpath.text(v) end
  return out
end

describe("kip.sandbox.jsonpath", function()
  it("follows fields, escaped dots and quoted keys", function()
    assert.same({ "1.5" }, texts(".spec.ratio"))
    assert.same({ "web" }, texts(".metadata.labels.app\\.kubernetes\\.io/name"))
    assert.same({ "web" }, texts(".metadata.labels['app.kubernetes.io/name']"))
    assert.same({ "1.5" }, texts("{.spec.ratio}"))
    assert.same({}, texts(".spec.missing.deeper"))
    assert.same({}, texts(".spec.ratio.x"))
  end)

  it("selects every element with [*] and every value with .*", function()
    assert.same({ "production", "staging", "dev" }, texts(".spec.environments[*].name"))
    assert.same({ "a", "b", "c" }, texts(".spec.servers[*].hosts[*]"))
    assert.same({ "x", "2" }, texts(".spec.map.*"))
  end)

  it("indexes and slices lists, negative indexes from the end", function()
    assert.same({ "staging" }, texts(".spec.environments[1].name"))
    assert.same({ "dev" }, texts(".spec.environments[-1].name"))
    assert.same({ "production", "staging" }, texts(".spec.environments[0:2].name"))
    assert.same({ "staging", "dev" }, texts(".spec.environments[1:].name"))
    assert.same({ "production", "dev" }, texts(".spec.environments[::2].name"))
  end)

  it("fails as client-go does: an index out of range, [N] or [*] on an object", function()
    local values, err = find(".spec.environments[3].name")
    assert.is_nil(values)
    assert.equal("array index out of bounds: index 3, length 3", err)
    assert.is_nil((find(".spec.environments[0:5]")))
    assert.is_nil((find(".spec.map[0]")))
    assert.is_nil((find(".spec.map[*]")))
  end)

  it("filters lists with [?(...)]: == != < > <= >= and existence", function()
    assert.same({ "True" }, texts('.status.conditions[?(@.type=="Ready")].status'))
    assert.same({ "False" }, texts(".status.conditions[?(@.type == 'Synced')].status"))
    assert.same({ "Synced" }, texts('.status.conditions[?(@.type!="Ready")].type'))
    assert.same({ "Ready" }, texts(".status.conditions[?(@.reason)].type"))
    assert.same({ "Ready" }, texts('.status.conditions[?(@.status=="True")].type'))
    assert.same({ "dev" }, texts('.spec.environments[?(@.name<"p")].name'))
    assert.same({}, texts('.status.conditions[?(@.type=="Gone")].status'))
    -- comparing needs one value of the same kind on each side, as Go's template comparisons
    assert.is_nil((find(".status.conditions[?(@.age>2)].type")))
    assert.is_nil((find(".status.conditions[?(@.type>2)].type")))
  end)

  it("refuses what it cannot parse", function()
    assert.is_nil((jsonpath.parse("spec.ratio")))
    assert.is_nil((jsonpath.parse(".spec..name")))
    assert.is_nil((jsonpath.parse(".spec.environments[x]")))
    assert.is_nil((jsonpath.parse(".spec.environments[0")))
    assert.is_nil((jsonpath.parse('.status.conditions[?(@.type=~"R")]')))
  end)

  it("prints values as Go's fmt does", function()
    assert.same({ "7" }, texts(".spec.count"))
    assert.same({ "false" }, texts(".spec.on"))
    assert.same({ "1.234567e+06" }, texts(".spec.big"))
    assert.same({ "1e-05" }, texts(".spec.small"))
    assert.same({ "100000" }, texts(".spec.whole"))
    assert.same({ "map[a:x b:2]" }, texts(".spec.map"))
    assert.same({ "[a b]", "[c]" }, texts(".spec.servers[*].hosts"))
    assert.same({ "<no value>" }, texts(".spec.empty"))
    assert.equal("[map[x:<nil>]]", jsonpath.text(yaml.array({ { x = yaml.null } })))
  end)
end)
