-- SPDX-License-Identifier: Apache-2.0
-- kip.k8s.kubeconfig: contexts, inline and file credentials (relative to the file), tokens,
-- insecure-skip-tls-verify, server rewrite, and errors that name the file and what is missing.
local helpers = require "helpers"
local kubeconfig = require "kip.k8s.kubeconfig"
local tls = require "kip.tls"

describe("kip.k8s.kubeconfig", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rmtree(dir) end)

  local function write(text) helpers.write(dir .. "/config", text) return dir .. "/config" end

  it("reads inline credentials of the current context, like the one k3s writes", function()
    local path = write(string.format([[
apiVersion: v1
kind: Config
clusters:
- name: default
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: %s
users:
- name: default
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: default
  context: {cluster: default, user: default}
current-context: default
]], tls.base64_encode("CA PEM"), tls.base64_encode("CERT PEM"), tls.base64_encode("KEY PEM")))
    local c = assert(kubeconfig.load({ path = path }))
    assert.equal("https://127.0.0.1:6443", c.server)
    assert.equal("CA PEM", c.ca_data)
    assert.equal("CERT PEM", c.cert_data)
    assert.equal("KEY PEM", c.key_data)
    assert.equal("default", c.namespace)
    assert.is_false(c.insecure)
  end)

  it("reads files relative to the kubeconfig, tokens, namespaces and named contexts", function()
    helpers.write(dir .. "/ca.pem", "CA FILE")
    helpers.write(dir .. "/token", "secret-token\n")
    local path = write([[
clusters:
- {name: a, cluster: {server: "https://a.example:6443", certificate-authority: ca.pem}}
- {name: b, cluster: {server: "https://b.example:6443", insecure-skip-tls-verify: true}}
users:
- {name: t, user: {token: abc}}
- {name: f, user: {tokenFile: token}}
contexts:
- {name: one, context: {cluster: a, user: t, namespace: team}}
- {name: two, context: {cluster: b, user: f}}
current-context: one
]])
    local one = assert(kubeconfig.load({ path = path }))
    assert.equal("CA FILE", one.ca_data)
    assert.equal("abc", one.token)
    assert.equal("team", one.namespace)
    local two = assert(kubeconfig.load({ path = path, context = "two", server = "https://10.0.0.1:6443" }))
    assert.equal("https://10.0.0.1:6443", two.server)
    assert.is_true(two.insecure)
    assert.equal("secret-token", two.token)
  end)

  it("names the file and the problem", function()
    local cases = {
      { "current-context: x\n", 'no context named "x"' },
      { "clusters: []\n", "no current%-context" },
      { "contexts: [{name: c, context: {cluster: k}}]\ncurrent-context: c\n", 'no cluster named "k"' },
      { "contexts: [{name: c, context: {cluster: k}}]\nclusters: [{name: k, cluster: {}}]\ncurrent-context: c\n", 'cluster "k" has no server URL' },
      { "contexts: [{name: c, context: {cluster: k}}]\n" ..
        "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority: nope.pem}}]\ncurrent-context: c\n",
        "certificate%-authority: .*nope%.pem" },
      { "contexts: [{name: c, context: {cluster: k}}]\n" ..
        "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority-data: '!!!'}}]\ncurrent-context: c\n",
        "certificate%-authority%-data is not valid base64" },
      { "a: [\n", "line %d+" },
    }
    for _, case in ipairs(cases) do
      local path = write(case[1])
      local c, err = kubeconfig.load({ path = path })
      assert.is_nil(c, case[1])
      assert.matches(case[2], err)
      assert.matches("^" .. path:gsub("%p", "%%%0"), err)
    end
    local c, err = kubeconfig.load({ path = dir .. "/missing" })
    assert.is_nil(c)
    assert.matches("missing", err)
  end)

  it("reads a pod's service account for in-cluster use", function()
    helpers.write(dir .. "/sa/token", "eyJ.token.sig\n")
    helpers.write(dir .. "/sa/ca.crt", "CLUSTER CA PEM")
    helpers.write(dir .. "/sa/namespace", "kipper-system")
    local c = assert(kubeconfig.in_cluster({ dir = dir .. "/sa", host = "10.43.0.1", port = "443" }))
    assert.same({ server = "https://10.43.0.1:443", ca_data = "CLUSTER CA PEM", token = "eyJ.token.sig",
      namespace = "kipper-system", context = "in-cluster" }, c)
    assert.equal("https://[fd00::1]:443", kubeconfig.in_cluster({ dir = dir .. "/sa", host = "fd00::1", port = "443" }).server)
    local none, err = kubeconfig.in_cluster({ dir = dir .. "/nothing", host = "10.43.0.1", port = "443" })
    assert.is_nil(none)
    assert.matches("service account token", err)
    none, err = kubeconfig.in_cluster({ dir = dir .. "/sa", host = "", port = "443" })
    assert.is_nil(none)
    assert.matches("KUBERNETES_SERVICE_HOST", err)
  end)
end)
