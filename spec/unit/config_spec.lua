-- SPDX-License-Identifier: Apache-2.0
-- kip.config: reading config.yaml strictly (errors name the file and the line or field), writing
-- it atomically with mode 0600, keeping fields kip does not know.
local config = require "kip.config"
local fs = require "kip.fs"
local helpers = require "helpers"

describe("kip.config", function()
  local dir, path
  before_each(function()
    dir = helpers.tmpdir()
    path = dir .. "/home/config.yaml"
  end)
  after_each(function() helpers.rmtree(dir) end)

  it("reads a missing file as no clusters", function()
    local cfg = assert(config.load(path))
    assert.same({}, cfg.clusters)
    assert.is_nil(cfg.current)
  end)

  it("reads clusters and the current one", function()
    helpers.write(path, [[
apiVersion: kipper.run/v1alpha1
kind: Config
current-cluster: prod
clusters:
- name: prod
  server: https://203.0.113.10:6443
  host: 203.0.113.10
  ssh-port: 2222
  future-field: kept
- name: lab
]])
    local cfg = assert(config.load(path))
    assert.equal("prod", cfg.current)
    assert.equal(2, #cfg.clusters)
    assert.equal(2222, config.find(cfg, "prod")["ssh-port"])
    local lab, index = config.find(cfg, "lab")
    assert.equal(2, index)
    assert.equal("lab", lab.name)
    assert.is_nil(config.find(cfg, "nope"))
  end)

  it("writes 0600 atomically and keeps unknown fields", function()
    helpers.write(path, "clusters:\n- name: prod\n  future-field: kept\nextra: {a: 1}\n")
    local cfg = assert(config.load(path))
    cfg.current = "prod"
    table.insert(cfg.clusters, { name = "lab", server = "https://127.0.0.1:6443" })
    assert(config.save(cfg, path))
    assert.equal(tonumber("600", 8), fs.stat(path).mode)
    local again = assert(config.load(path))
    assert.equal("prod", again.current)
    assert.equal("kept", config.find(again, "prod")["future-field"])
    assert.equal(1, again.doc.extra.a)
    assert.equal("kipper.run/v1alpha1", again.doc.apiVersion)
    assert.equal("https://127.0.0.1:6443", config.find(again, "lab").server)
  end)

  it("creates its folder 0700", function()
    assert(config.save(assert(config.load(path)), path))
    assert.equal(tonumber("700", 8), fs.stat(dir .. "/home").mode)
  end)

  it("names the file and line of a syntax error", function()
    helpers.write(path, "clusters:\n- name: prod\n  server: [oops\n")
    local cfg, err = config.load(path)
    assert.is_nil(cfg)
    assert.matches("^" .. path:gsub("%p", "%%%0") .. ": line %d+, column %d+: ", err)
  end)

  it("names the field that is wrong", function()
    local cases = {
      { "clusters: {a: 1}\n", "clusters must be a list" },
      { "clusters:\n- name: Prod\n", [[clusters%[0%]%.name: invalid cluster name "Prod"]] },
      { "clusters:\n- server: x\n", "clusters%[0%]%.name: missing cluster name" },
      { "clusters:\n- name: a\n  ssh-port: http\n", "clusters%[0%]%.ssh%-port must be a port number" },
      { "clusters:\n- name: a\n  project: [shop]\n", "clusters%[0%]%.project must be a string" },
      { "clusters:\n- name: a\n  environment: 3\n", "clusters%[0%]%.environment must be a string" },
      { "clusters:\n- name: a\n- name: a\n", [[clusters%[1%]: the name "a" is used twice]] },
      { "current-cluster: [a]\n", "current%-cluster must be a cluster name" },
      { "apiVersion: v2\n", [[apiVersion is "v2"]] },
      { "- a\n", "the file must hold a mapping" },
    }
    for _, case in ipairs(cases) do
      helpers.write(path, case[1])
      local cfg, err = config.load(path)
      assert.is_nil(cfg, case[1])
      assert.matches(case[2], err)
      assert.matches("^" .. path:gsub("%p", "%%%0") .. ": ", err)
    end
  end)
end)
