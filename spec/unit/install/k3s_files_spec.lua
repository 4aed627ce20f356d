-- SPDX-License-Identifier: Apache-2.0
-- kip.install.k3s_files and kip.install.local_cluster: the files written on the server, and the
-- local kubeconfig made from k3s.yaml.
local files = require "kip.install.k3s_files"
local helpers = require "helpers"
local yaml = require "kip.yaml"

local VARS = { ["k3s.api_port"] = 6443, ["k3s.node_name"] = "", ["k3s.system_default_registry"] = "", ["k3s.tls_san"] = "",
  ["k3s.registry_mirrors"] = "" }

local function with(over)
  local v = {}
  for k, x in pairs(VARS) do v[k] = x end
  for k, x in pairs(over) do v[k] = x end
  return v
end

describe("kip.install.k3s_files", function()
  it("writes the server's config.yaml with the host in the certificate", function()
    local cfg = assert(yaml.decode(files.server_config(VARS, "203.0.113.10")))
    assert.same({ "203.0.113.10" }, cfg["tls-san"])
    assert.equals("0600", cfg["write-kubeconfig-mode"])
    assert.is_nil(cfg["https-listen-port"])
    cfg = assert(yaml.decode(files.server_config(with({ ["k3s.api_port"] = 7443, ["k3s.node_name"] = "n1",
      ["k3s.tls_san"] = "api.example.com, 203.0.113.10", ["k3s.system_default_registry"] = "mirror.example" }), "203.0.113.10")))
    assert.equals(7443, cfg["https-listen-port"])
    assert.equals("n1", cfg["node-name"])
    assert.same({ "203.0.113.10", "api.example.com" }, cfg["tls-san"])
    assert.equals("mirror.example", cfg["system-default-registry"])
  end)

  it("writes an agent's config.yaml with the token", function()
    local cfg = assert(yaml.decode(files.agent_config("https://10.0.0.1:6443", "K10abc::server:xyz", "w1")))
    assert.same({ server = "https://10.0.0.1:6443", token = "K10abc::server:xyz", ["node-name"] = "w1" }, cfg)
  end)

  it("turns registry mirrors into registries.yaml, and refuses a malformed one", function()
    assert.is_false(files.registries(VARS))
    local mirrors = "docker.io=https://m1.example,docker.io=https://m2.example, ghcr.io=https://m3.example"
    local text = assert(files.registries(with({ ["k3s.registry_mirrors"] = mirrors })))
    local doc = assert(yaml.decode(text))
    assert.same({ "https://m1.example", "https://m2.example" }, doc.mirrors["docker.io"].endpoint)
    assert.same({ "https://m3.example" }, doc.mirrors["ghcr.io"].endpoint)
    local none, err = files.registries(with({ ["k3s.registry_mirrors"] = "docker.io" }))
    assert.is_nil(none)
    assert.matches('"docker.io" is not REGISTRY=URL', err, 1, true)
  end)

  it("reads k3s --version and names clusters after hosts", function()
    assert.is_true(files.has_version("k3s version v1.34.1+k3s1 (24fc436e)\ngo version go1.24.6\n", "v1.34.1+k3s1"))
    assert.is_false(files.has_version("k3s version v1.34.10+k3s1 (x)\n", "v1.34.1+k3s1"))
    assert.equals("203-0-113-10", files.cluster_name("203.0.113.10"))
    assert.equals("k3s-example-com", files.cluster_name("K3S.example.com"))
  end)
end)

describe("kip.install.local_cluster", function()
  -- runs in its own kip, since KIP_HOME decides where files go
  it("rewrites the server and names, stores 0600 and registers the cluster once", function()
    local home = helpers.tmpdir()
    local script = [==[
local fs, yaml = require "kip.fs", require "kip.yaml"
local lc = require "kip.install.local_cluster"
local home = os.getenv("KIP_HOME")
local K3S_YAML = [[
apiVersion: v1
clusters:
- cluster: {certificate-authority-data: Q0E=, server: "https://127.0.0.1:6443"}
  name: default
contexts:
- context: {cluster: default, user: default}
  name: default
current-context: default
kind: Config
users:
- name: default
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}
]]
local text = assert(lc.kubeconfig_text(K3S_YAML, "prod", "https://203.0.113.10:6443"))
local doc = yaml.decode(text)
assert(doc.clusters[1].cluster.server == "https://203.0.113.10:6443")
assert(doc["current-context"] == "prod" and doc.users[1].name == "prod" and doc.contexts[1].context.cluster == "prod")
assert(doc.users[1].user["client-certificate-data"] == "Q0VSVA==")
local path = assert(lc.store("prod", text))
assert(path == home .. "/clusters/prod/kubeconfig", path)
assert(fs.stat(path).mode & 511 == 384, "mode")
local entry = { name = "prod", server = "https://203.0.113.10:6443", kubeconfig = path, host = "203.0.113.10" }
assert(not lc.is_registered(entry))
assert(lc.register(entry))
assert(lc.is_registered(entry))
local before = fs.read(home .. "/config.yaml")
assert(lc.register(entry))
assert(fs.read(home .. "/config.yaml") == before)
assert(lc.kubeconfig_text("not: [a kubeconfig", "x", "https://h:1") == nil)
print("ok")
]==]
    local r = helpers.kip({ "lua", "-" }, { env = { KIP_HOME = home }, stdin = script })
    helpers.rmtree(home)
    assert.equals(0, r.status, r.stderr)
    assert.equals("ok\n", r.stdout)
  end)
end)
