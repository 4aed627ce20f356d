-- SPDX-License-Identifier: Apache-2.0
-- kip node add|list|remove and kip cluster uninstall end to end: a server installed with kip
-- install on one test host, an agent joined from another (the stand-in k3s agent is `kip sandbox
-- agent`, which joins the sandbox API with the node token), drained, removed and uninstalled.
local fs = require "kip.fs"
local helpers = require "helpers"
local json = require "kip.json"
local sshd = require "helpers.sshd"
local testhost = require "helpers.testhost"

local available, why = testhost.available()
if not available then
  describe("kip node", function() pending("needs root, sshd, unshare and sudo: " .. why) end)
  return
end

describe("kip node and kip cluster uninstall", function()
  local home, installer, server, agent
  local function kip(args, opts)
    opts = opts or {}
    return helpers.kip(args, { env = { KIP_HOME = home, SSH_AUTH_SOCK = false }, stdin = opts.stdin, timeout = opts.timeout or 240 })
  end

  setup(function()
    home = helpers.tmpdir()
    installer = testhost.serve_installer()
    server = testhost.start({ address = "127.0.0.5", hostname = "kip-main" })
    agent = testhost.start({ address = "127.0.0.6", hostname = "kip-worker" })
    -- one key for both hosts, as most people have
    agent:write("/root/.ssh/authorized_keys", agent:read("/root/.ssh/authorized_keys") .. assert(fs.read(server.key .. ".pub")), "0600")
    local r = kip({ "install", "--host", server.address, "--ssh-port", tostring(server.port), "--ssh-key", server.key,
      "--accept-host-key", "--name", "main", "--set", "k3s.install_script_url=" .. installer.url,
      "--set", "k3s.api_port=" .. sshd.free_port(), "--set", "wait.timeout=60", "--set", "preflight.min_disk_gb=1" })
    assert(r.status == 0, r.stdout .. r.stderr)
  end)

  teardown(function()
    for _, h in ipairs({ agent, server }) do if h then h:stop() end end
    if installer then installer.stop() end
    helpers.rmtree(home)
  end)

  local function node_add(extra)
    local args = { "node", "add", "--host", agent.address, "--ssh-port", tostring(agent.port), "--ssh-key", server.key,
      "--accept-host-key", "--set", "k3s.install_script_url=" .. installer.url, "--set", "wait.timeout=60",
      "--set", "preflight.min_disk_gb=1" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    return kip(args)
  end

  it("adds an agent with the server's token and version, and lists it", function()
    local r = node_add({ "-o", "json" })
    assert.equals(0, r.status, r.stdout .. r.stderr)
    local result = assert(json.decode(r.stdout))
    assert.equals("kip-worker", result.node)
    assert.equals("v1.34.1+k3s1", result.version)
    -- the token is in the agent's config.yaml (0600), never in a command line or the transcript
    local token = server:read("/var/lib/rancher/k3s/server/node-token"):gsub("%s+$", "")
    local cfg = agent:read("/etc/rancher/k3s/config.yaml")
    assert.matches("token: " .. token:gsub("%p", "%%%0"), cfg)
    assert.matches("600", agent:run("stat -c %a /etc/rancher/k3s/config.yaml").stdout)
    assert.is_nil(fs.read(result.transcript):find(token, 1, true))
    r = kip({ "node", "list" })
    assert.equals(0, r.status, r.stderr)
    assert.matches("kip%-main%s+Ready%s+control%-plane", r.stdout)
    assert.matches("kip%-worker%s+Ready%s+<none>%s+%S+%s+%S*%s*" .. agent.address:gsub("%.", "%%."), r.stdout)
    -- a second run changes nothing
    r = node_add({ "-o", "json" })
    assert.equals(0, r.status, r.stderr)
    assert.equals(0, json.decode(r.stdout).ran)
  end)

  it("refuses to remove the server node, or without confirmation", function()
    local r = kip({ "node", "remove", "kip-main", "--yes" })
    assert.equals(1, r.status)
    assert.matches("kip%-main is the cluster's server", r.stderr)
    r = kip({ "node", "remove", "kip-worker" })
    assert.equals(1, r.status)
    assert.matches("without confirmation", r.stderr)
    assert.matches("kip%-worker%s+Ready", kip({ "node", "list" }).stdout)
  end)

  it("drains, deletes and uninstalls an agent", function()
    local r = kip({ "node", "remove", "kip-worker", "--yes" })
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.matches("Deleted node kip%-worker", r.stdout)
    assert.matches("Uninstalled k3s from " .. agent.address:gsub("%.", "%%."), r.stdout)
    assert.is_nil(kip({ "node", "list" }).stdout:find("kip-worker", 1, true))
    assert.is_false(agent:exists("/usr/local/bin/k3s"))
    assert.is_false(agent:exists("/etc/rancher/k3s"))
    assert.is_falsy(agent:running("sandbox agent"))
  end)

  it("uninstalls the cluster after confirmation and forgets it", function()
    local r = kip({ "cluster", "uninstall" })
    assert.equals(1, r.status)
    assert.matches("without confirmation", r.stderr)
    assert.is_true(server:exists("/usr/local/bin/k3s"))
    r = kip({ "cluster", "uninstall", "--yes" })
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.matches("Server 127%.0%.0%.5: k3s uninstalled", r.stdout)
    assert.matches("is your server: kip leaves it running", r.stdout)
    assert.is_false(server:exists("/usr/local/bin/k3s"))
    assert.is_false(server:exists("/etc/rancher/k3s/k3s.yaml"))
    assert.is_falsy(server:running("sandbox api"))
    assert.is_nil((fs.read(home .. "/config.yaml") or ""):find("name: main", 1, true))
    assert.is_false(fs.exists(home .. "/clusters/main/kubeconfig"))
  end)
end)
