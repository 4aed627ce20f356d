-- SPDX-License-Identifier: Apache-2.0
-- `kip cluster list|current|use|rename|remove` through the real binary against a KIP_HOME made
-- for each test: output formats, selection by --cluster and KIP_CLUSTER, 0600 atomic writes,
-- and a corrupt config.yaml reported with file and line and left untouched.
local helpers = require "helpers"
local fs = require "kip.fs"
local json = require "kip.json"
local yaml = require "kip.yaml"

local CONFIG = [[
apiVersion: kipper.run/v1alpha1
kind: Config
current-cluster: prod
clusters:
- name: prod
  server: https://203.0.113.10:6443
  host: 203.0.113.10
  domain: 203-0-113-10.kipper.run
  kubeconfig: HOME/clusters/prod/kubeconfig
  ssh-user: root
- name: lab
  server: https://198.51.100.7:6443
  host: 198.51.100.7
]]

describe("kip cluster", function()
  local home
  local function kip(args, extra)
    local e = { KIP_HOME = home }
    for k, v in pairs(extra or {}) do e[k] = v end
    return helpers.kip(args, { env = e })
  end
  local function config_text() return assert(fs.read(home .. "/config.yaml")) end

  before_each(function()
    home = helpers.tmpdir()
    helpers.write(home .. "/config.yaml", (CONFIG:gsub("HOME", home)), tonumber("600", 8))
    helpers.write(home .. "/clusters/prod/kubeconfig", "apiVersion: v1\n", tonumber("600", 8))
  end)
  after_each(function() helpers.rmtree(home) end)

  it("lists clusters as a table, JSON and YAML", function()
    local r = kip({ "cluster", "list" })
    assert.equal(0, r.status, r.stderr)
    assert.equal(
      "CURRENT   NAME   SERVER                      HOST           DOMAIN\n" ..
      "*         prod   https://203.0.113.10:6443   203.0.113.10   203-0-113-10.kipper.run\n" ..
      "          lab    https://198.51.100.7:6443   198.51.100.7   \n", r.stdout)
    local j = assert(json.decode(kip({ "cluster", "list", "-o", "json" }).stdout))
    assert.equal(2, #j)
    assert.equal("prod", j[1].name)
    assert.is_true(j[1].current)
    assert.is_false(j[2].current)
    assert.equal("root", j[1]["ssh-user"])
    local y = assert(yaml.decode(kip({ "cluster", "list", "-o", "yaml" }).stdout))
    assert.equal("lab", y[2].name)
  end)

  it("says there are none yet, and -o json gives []", function()
    local empty = helpers.tmpdir()
    local r = helpers.kip({ "cluster", "list" }, { env = { KIP_HOME = empty } })
    assert.equal(0, r.status)
    assert.equal("", r.stdout)
    assert.matches("No clusters yet", r.stderr)
    local j = helpers.kip({ "cluster", "list", "-o", "json" }, { env = { KIP_HOME = empty } })
    assert.equal("[]\n", j.stdout)
    assert.is_false(fs.exists(empty .. "/config.yaml"), "listing must not create the file")
    helpers.rmtree(empty)
  end)

  it("picks the cluster from --cluster, then KIP_CLUSTER, then the current one", function()
    assert.equal("prod\n", kip({ "cluster", "current" }).stdout)
    assert.equal("lab\n", kip({ "cluster", "current" }, { KIP_CLUSTER = "lab" }).stdout)
    assert.equal("prod\n", kip({ "cluster", "current", "--cluster", "prod" }, { KIP_CLUSTER = "lab" }).stdout)
    assert.equal("lab\n", kip({ "--cluster=lab", "cluster", "current" }).stdout)
    local r = kip({ "cluster", "current", "--cluster", "nope" })
    assert.equal(1, r.status)
    assert.equal([[kip: error: no cluster named "nope" (from --cluster)
Run 'kip cluster list' to see the clusters kip knows.
]], r.stderr)
    local r2 = kip({ "cluster", "current" }, { KIP_CLUSTER = "gone" })
    assert.matches([[no cluster named "gone" %(from KIP_CLUSTER%)]], r2.stderr)
    local j = assert(json.decode(kip({ "cluster", "current", "-o", "json" }).stdout))
    assert.equal("https://203.0.113.10:6443", j.server)
  end)

  it("switches the current cluster and writes config.yaml 0600", function()
    local r = kip({ "cluster", "use", "lab" })
    assert.equal(0, r.status, r.stderr)
    assert.equal('Switched to cluster "lab".\n', r.stdout)
    assert.equal("lab\n", kip({ "cluster", "current" }).stdout)
    assert.equal(tonumber("600", 8), fs.stat(home .. "/config.yaml").mode)
    local again = kip({ "cluster", "use", "lab" })
    assert.equal(0, again.status)
    assert.matches("already the current cluster", again.stdout)
    local missing = kip({ "cluster", "use", "nope" })
    assert.equal(1, missing.status)
    assert.matches('no cluster named "nope"', missing.stderr)
  end)

  it("renames a cluster and follows it as current", function()
    local r = kip({ "cluster", "rename", "prod", "production" })
    assert.equal(0, r.status, r.stderr)
    assert.equal("production\n", kip({ "cluster", "current" }).stdout)
    local doc = assert(yaml.decode(config_text()))
    assert.equal("production", doc.clusters[1].name)
    assert.equal("203.0.113.10", doc.clusters[1].host)
  end)

  it("refuses a bad or taken new name and changes nothing", function()
    local before = config_text()
    local bad = kip({ "cluster", "rename", "prod", "Prod_1" })
    assert.equal(2, bad.status)
    assert.matches('invalid cluster name "Prod_1"', bad.stderr)
    local taken = kip({ "cluster", "rename", "prod", "lab" })
    assert.equal(1, taken.status)
    assert.matches('a cluster named "lab" already exists', taken.stderr)
    assert.equal(before, config_text())
  end)

  it("removes a cluster and the kubeconfig kip stored for it", function()
    local r = kip({ "cluster", "remove", "prod" })
    assert.equal(0, r.status, r.stderr)
    assert.matches('Removed cluster "prod"', r.stdout)
    assert.is_false(fs.exists(home .. "/clusters/prod/kubeconfig"))
    local j = assert(json.decode(kip({ "cluster", "list", "-o", "json" }).stdout))
    assert.equal(1, #j)
    assert.equal("lab", j[1].name)
    local cur = kip({ "cluster", "current" })
    assert.equal(1, cur.status)
    assert.matches("no cluster is selected", cur.stderr)
  end)

  it("keeps the kubeconfig with --keep-kubeconfig", function()
    assert.equal(0, kip({ "cluster", "remove", "prod", "--keep-kubeconfig" }).status)
    assert.is_true(fs.exists(home .. "/clusters/prod/kubeconfig"))
  end)

  it("reports a corrupt config.yaml with file and line and leaves it as it was", function()
    local corrupt = "current-cluster: prod\nclusters:\n- name: prod\n  server: [unclosed\n- name: lab\n"
    helpers.write(home .. "/config.yaml", corrupt)
    for _, argv in ipairs({ { "cluster", "list" }, { "cluster", "use", "lab" }, { "cluster", "remove", "prod" } }) do
      local r = kip(argv)
      assert.equal(1, r.status)
      assert.matches("^kip: error: " .. (home .. "/config.yaml"):gsub("%p", "%%%0") .. ": line 5, column 7: did not find expected ',' or ']'", r.stderr)
      assert.matches("\nFix or move .*config%.yaml; kip does not overwrite a file it cannot read%.\n$", r.stderr)
    end
    assert.equal(corrupt, config_text())
  end)

  it("reports a wrong field by name", function()
    helpers.write(home .. "/config.yaml", "clusters:\n- name: prod\n  ssh-port: twenty-two\n")
    local r = kip({ "cluster", "list" })
    assert.equal(1, r.status)
    assert.matches("config%.yaml: clusters%[0%]%.ssh%-port must be a port number", r.stderr)
  end)
end)
