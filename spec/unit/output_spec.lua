-- SPDX-License-Identifier: Apache-2.0
-- kip.output: aligned tables with upper-case headers, indented JSON, YAML.
local output = require "kip.output"
local yaml = require "kip.yaml"

describe("kip.output", function()
  local rows = {
    { name = "prod", server = "https://203.0.113.10:6443" },
    { name = "staging-eu", server = yaml.null },
  }
  local columns = { { "NAME", "name" }, { "SERVER", "server" }, { "LEN", function(r) return #r.name end } }

  it("aligns columns", function()
    assert.equal(
      "NAME         SERVER                      LEN\n" ..
      "prod         https://203.0.113.10:6443   4\n" ..
      "staging-eu                               10\n",
      output.table(rows, columns))
  end)

  it("renders nothing for no rows", function()
    assert.equal("", output.table({}, columns))
  end)

  it("renders JSON and YAML", function()
    assert.equal('[\n  {\n    "name": "prod"\n  }\n]\n', output.render("json", { { name = "prod" } }))
    assert.equal("- name: prod\n", output.render("yaml", { { name = "prod" } }))
    assert.equal("[]\n", output.render("json", yaml.array({})))
  end)
end)
