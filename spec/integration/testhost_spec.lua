-- SPDX-License-Identifier: Apache-2.0
-- The test hosts (spec/helpers/testhost.lua) and the stand-in k3s installer (spec/fixtures/k3s)
-- with the real kip.ssh and kip.http: a host is its own machine (hostname, /etc, processes) that
-- leaves this one untouched; the installer run over SSH installs a k3s whose server is the
-- sandbox API and whose agent joins it; uninstall removes it; sudo users; a changed host key; two
-- hosts at once; stop kills everything. Uses helpers, helpers.testhost, kip.ssh, kip.http, kip.proc.
local fs = require "kip.fs"
local helpers = require "helpers"
local http = require "kip.http"
local json = require "kip.json"
local proc = require "kip.proc"
local ssh = require "kip.ssh"
local sshd = require "helpers.sshd"
local testhost = require "helpers.testhost"

local available, why = testhost.available()
if not available then
  describe("test hosts", function()
    it("run", function() pending(why) end)
  end)
  return
end

local VERSION = "v1.34.1+k3s1"

local function kubectl(kubeconfig, args)
  local argv = { "kubectl", "--kubeconfig", kubeconfig, "--request-timeout", "10s" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return assert(proc.run(argv, { timeout = 30 }))
end

-- The pid (outside) of a process whose command line contains text, or nil.
local function outside_pid(text)
  local r = assert(proc.run({ "pgrep", "-f", "--", text }))
  return tonumber(r.stdout:match("%d+"))
end

describe("test hosts", function()
  local installer, host, session, api_port, dir

  local function download_installer()
    local resp = assert(http.request({ url = installer.url, timeout = 10 }))
    assert.equals(200, resp.status)
    return resp.body
  end

  -- Runs the installer on h as root over SSH, with env (a shell prefix).
  local function install(s, env)
    assert(s:upload("/tmp/kip-k3s-install.sh", download_installer(), { mode = "0700" }))
    return assert(s:exec(env .. " sh /tmp/kip-k3s-install.sh", { timeout = 60 }))
  end

  -- A local kubeconfig for h's k3s.yaml, its server rewritten to h's address (as kip does).
  local function local_kubeconfig(h, name)
    local text = assert(h:read("/etc/rancher/k3s/k3s.yaml"))
    local path = dir .. "/" .. name .. ".kubeconfig"
    assert(fs.write(path, (text:gsub("https://127%.0%.0%.1:", "https://" .. h.address .. ":")), { mode = "0600" }))
    return path
  end

  local function node_ready(kubeconfig, name)
    local r = kubectl(kubeconfig, { "get", "node", name, "-o", "json" })
    if r.status ~= 0 then return false end
    for _, c in ipairs(json.decode(r.stdout).status.conditions or {}) do
      if c.type == "Ready" then return c.status == "True" end
    end
    return false
  end

  lazy_setup(function()
    dir = helpers.tmpdir()
    installer = testhost.serve_installer()
    host = testhost.start({ users = {
      { name = "alice", sudo = "nopasswd" },
      { name = "bob", sudo = "password", password = "b0b-s3cret" },
      { name = "carol", sudo = "none", password = "c4rol-pass" },
    } })
    api_port = sshd.free_port(host.address)
    session = assert(ssh.connect(host:ssh_opts({ accept_unknown_host_key = true })))
  end)

  lazy_teardown(function()
    if session then session:close() end
    if host then host:stop() end
    if installer then installer.stop() end
    if dir then helpers.rmtree(dir) end
  end)

  it("is a machine of its own over SSH, and leaves this one alone", function()
    assert.equals(host.host_key_fingerprint, session:fingerprint())
    assert.matches("^%[127%.0%.0%.1%]:" .. host.port .. " ssh%-ed25519 ", fs.read(host.known_hosts))
    assert.equals("kip-test-server\n", session:exec("hostname").stdout)
    assert.equals("root\n", session:exec("id -un").stdout)
    assert.is_true(session:upload("/etc/kipstand-marker", "inside\n"))
    assert.equals("inside\n", host:read("/etc/kipstand-marker"))
    assert.is_true(host:exists("/etc/kipstand-marker"))
    assert.is_false(fs.exists("/etc/kipstand-marker"))
    assert.is_nil(host:read("/etc/no-such-file"))
    for _, path in ipairs({ "/usr/local/kipstand", "/var/lib/kipstand", "/home/kipstand", "/opt/kipstand", "/tmp/kipstand-x" }) do
      assert.equals(0, session:exec("mkdir -p " .. path .. " && touch " .. path .. "/f").status)
      assert.is_false(fs.exists(path), path)
    end
    -- only its own processes: PID 1 and sshd, and the session's
    local procs = host:processes()
    assert.matches("init%.sh", procs[1])
    assert.truthy(host:running("^sshd: /usr/sbin/sshd"))
    assert.is_false(host:running("kip lua"))
  end)

  it("gives users with passwordless, password and no sudo", function()
    local function as(user, cmd, stdin)
      local s = assert(ssh.connect(host:ssh_opts({ user = user })))
      local r = assert(s:exec(cmd, { stdin = stdin }))
      s:close()
      return r
    end
    assert.equals("alice\n", as("alice", "id -un").stdout)
    assert.equals(0, as("alice", "sudo -n true").status)
    assert.equals("root\n", as("alice", "sudo -n id -un").stdout)
    local r = as("bob", "sudo -n true")
    assert.equals(1, r.status)
    assert.matches("a password is required", r.stderr)
    assert.equals(0, as("bob", "sudo -S -k -p '' true", "b0b-s3cret\n").status)
    assert.not_equals(0, as("bob", "sudo -S -k -p '' true", "wrong\n").status)
    r = as("carol", "sudo -S -k -p '' true", "c4rol-pass\n")
    assert.equals(1, r.status)
    assert.matches("carol is not in the sudoers file", r.stderr)
    assert.is_false(fs.exists("/home/carol"))
  end)

  describe("with the stand-in k3s installer", function()
    it("fails like get.k3s.io when not root or without a version", function()
      local s = assert(ssh.connect(host:ssh_opts({ user = "alice" })))
      finally(function() s:close() end)
      assert(s:upload("/tmp/install.sh", download_installer()))
      local r = assert(s:exec("INSTALL_K3S_VERSION=" .. VERSION .. " sh /tmp/install.sh"))
      assert.equals(1, r.status)
      assert.equals("[ERROR]  You need to be root to perform this install\n", r.stderr)
      r = install(session, "INSTALL_K3S_EXEC='server'")
      assert.equals(1, r.status)
      assert.matches("%[ERROR%]  kipstand: set INSTALL_K3S_VERSION", r.stderr)
      r = install(session, "INSTALL_K3S_VERSION=latest")
      assert.equals(1, r.status)
      assert.matches("[ERROR]  Download failed", r.stderr, 1, true)
      r = install(session, "INSTALL_K3S_VERSION=" .. VERSION .. " K3S_URL=https://127.0.0.1:6443")
      assert.equals(1, r.status)
      assert.matches("K3S_TOKEN or K3S_TOKEN_FILE is not defined", r.stderr, 1, true)
      assert.is_false(host:exists("/usr/local/bin/k3s"))
    end)

    it("fails as systemd does when k3s cannot start, and starts it once it can", function()
      -- the port of the host's sshd is taken
      assert(session:upload("/etc/rancher/k3s/config.yaml", "https-listen-port: " .. host.port .. "\n",
        { parents = true, mode = "0600" }))
      local r = install(session, "INSTALL_K3S_VERSION=" .. VERSION)
      assert.equals(1, r.status, r.stdout .. r.stderr)
      assert.matches("[INFO]  systemd: Starting k3s\n", r.stdout, 1, true)
      assert.matches("Job for k3s.service failed because the control process exited with error code.\n" ..
        "See \"systemctl status k3s.service\" and \"journalctl -xeu k3s.service\" for details.\n", r.stderr, 1, true)
      assert.equals("failed\n", session:exec("systemctl is-active k3s").stdout)
      assert.matches("127%.0%.0%.1:" .. host.port, session:exec("journalctl -u k3s --no-pager").stdout)
      assert.is_false(host:exists("/etc/rancher/k3s/k3s.yaml"))
      -- a re-run with a usable port changes neither the binary nor the unit; the service starts
      -- anyway, as systemd's Restart=always would start it
      assert(session:upload("/etc/rancher/k3s/config.yaml", "https-listen-port: " .. api_port .. "\n", { mode = "0600" }))
      r = install(session, "INSTALL_K3S_VERSION=" .. VERSION)
      assert.equals(0, r.status, r.stdout .. r.stderr)
      assert.matches("No change detected so skipping service start", r.stdout, 1, true)
      assert.truthy(helpers.eventually(function() return host:exists("/etc/rancher/k3s/k3s.yaml") end, 15))
      assert.equals(0, session:exec("/usr/local/bin/k3s-uninstall.sh").status)
      assert.is_false(host:exists("/etc/rancher/k3s/k3s.yaml"))
    end)

    it("installs a k3s server whose API is the sandbox, named after the host", function()
      assert(session:upload("/etc/rancher/k3s/config.yaml", "https-listen-port: " .. api_port .. "\n",
        { parents = true, mode = "0600" }))
      local before = installer.requests()
      local r = install(session, "INSTALL_K3S_VERSION=" .. VERSION .. " INSTALL_K3S_EXEC='server'")
      assert.equals(0, r.status, r.stdout .. r.stderr)
      assert.equals(before + 1, installer.requests())
      assert.matches("[INFO]  Using " .. VERSION .. " as release\n", r.stdout, 1, true)
      assert.matches("[INFO]  Installing k3s to /usr/local/bin/k3s\n", r.stdout, 1, true)
      assert.matches("[INFO]  systemd: Starting k3s\n", r.stdout, 1, true)
      assert.equals("k3s version " .. VERSION .. " (kipstand)\ngo version go1.24.6\n",
        session:exec("k3s --version").stdout)
      assert.truthy(helpers.eventually(function() return host:exists("/etc/rancher/k3s/k3s.yaml") end, 15))
      assert.equals("600\n", session:exec("stat -c %a /etc/rancher/k3s/k3s.yaml").stdout)
      local k3s_yaml = host:read("/etc/rancher/k3s/k3s.yaml")
      assert.matches("server: https://127%.0%.0%.1:" .. api_port .. "\n", k3s_yaml)
      assert.matches("current%-context: default", k3s_yaml)
      local kubeconfig = local_kubeconfig(host, "server")
      assert.truthy(helpers.eventually(function() return node_ready(kubeconfig, "kip-test-server") end, 15))
      assert.matches("^K10%x+::server:%S+\n?$", host:read("/var/lib/rancher/k3s/server/node-token"))
      -- the service as systemd would run it, and k3s's own kubectl on the host
      assert.equals("active\n", session:exec("systemctl is-active k3s").stdout)
      assert.equals("enabled\n", session:exec("systemctl is-enabled k3s").stdout)
      assert.matches("kip%-test%-server%s+Ready", session:exec("k3s kubectl get nodes").stdout)
      assert.matches("k3s is up and running", session:exec("journalctl -u k3s --no-pager").stdout)
      assert.truthy(host:running("kip sandbox api %-%-listen 127%.0%.0%.1:" .. api_port))
      -- nothing of it on this machine
      assert.is_false(fs.exists("/etc/rancher"))
      assert.is_false(fs.exists("/usr/local/bin/k3s"))
      assert.is_false(fs.exists("/var/lib/rancher"))
    end)

    it("changes nothing when run again with the same version", function()
      local pid = host:read("/var/lib/rancher/k3s/kipstand.pid")
      assert.matches("^%d+\n$", pid)
      local r = install(session, "INSTALL_K3S_VERSION=" .. VERSION .. " INSTALL_K3S_EXEC='server'")
      assert.equals(0, r.status, r.stderr)
      assert.matches("Skipping binary downloaded, installed k3s matches hash", r.stdout, 1, true)
      assert.matches("No change detected so skipping service start", r.stdout, 1, true)
      assert.equals(pid, host:read("/var/lib/rancher/k3s/kipstand.pid"))
    end)

    it("adds an agent on a second host at the same time, the token only in files", function()
      local token = assert(host:read("/var/lib/rancher/k3s/server/node-token")):gsub("%s+$", "")
      local agent = testhost.start({ address = "127.0.0.2", hostname = "kip-test-agent" })
      local s
      finally(function()
        if s then s:close() end
        agent:stop()
      end)
      s = assert(ssh.connect(agent:ssh_opts({ accept_unknown_host_key = true })))
      assert.equals("kip-test-agent\n", s:exec("hostname").stdout)
      assert.equals("kip-test-server\n", session:exec("hostname").stdout)
      assert.is_false(agent:exists("/usr/local/bin/k3s"))
      assert.is_false(agent:exists("/etc/kipstand-marker"))
      assert(s:upload("/etc/rancher/k3s/config.yaml", "token: " .. token .. "\n", { parents = true, mode = "0600" }))
      -- like k3s's, the installer waits for as long as the agent cannot join
      assert(s:upload("/tmp/kip-k3s-install.sh", download_installer()))
      local nowhere = "https://" .. host.address .. ":" .. sshd.free_port(host.address)
      local r, _, code = s:exec("INSTALL_K3S_VERSION=" .. VERSION .. " INSTALL_K3S_EXEC='agent' K3S_URL=" .. nowhere ..
        " sh /tmp/kip-k3s-install.sh", { timeout = 3 })
      assert.is_nil(r)
      assert.equals("timeout", code)
      assert.equals("activating\n", s:exec("systemctl is-active k3s-agent").stdout)
      local url = "https://" .. host.address .. ":" .. api_port
      r = install(s, "INSTALL_K3S_VERSION=" .. VERSION .. " INSTALL_K3S_EXEC='agent' K3S_URL=" .. url)
      assert.equals(0, r.status, r.stdout .. r.stderr)
      assert.matches("[INFO]  systemd: Starting k3s-agent\n", r.stdout, 1, true)
      assert.is_true(agent:exists("/usr/local/bin/k3s-agent-uninstall.sh"))
      assert.equals("K3S_URL='" .. url .. "'\n", agent:read("/etc/systemd/system/k3s-agent.service.env"))
      local kubeconfig = local_kubeconfig(host, "server")
      assert.truthy(helpers.eventually(function() return node_ready(kubeconfig, "kip-test-agent") end, 15))
      assert.equals("active\n", s:exec("systemctl is-active k3s-agent").stdout)
      local addresses = kubectl(kubeconfig, { "get", "node", "kip-test-agent", "-o", "jsonpath={.status.addresses}" })
      assert.matches('"address":"127.0.0.2","type":"InternalIP"', addresses.stdout, 1, true)
      assert.matches("node kip%-test%-agent joined", s:exec("journalctl -u k3s-agent").stdout)
      for _, args in ipairs(agent:processes()) do assert.not_matches(token, args, 1, true) end
      r = assert(s:exec("k3s-agent-uninstall.sh"))
      assert.equals(0, r.status, r.stderr)
      assert.is_false(agent:running("sandbox agent"))
      assert.is_false(agent:exists("/usr/local/bin/k3s"))
    end)

    it("is removed by k3s-uninstall.sh, service and all", function()
      local r = assert(session:exec("/usr/local/bin/k3s-uninstall.sh", { timeout = 60 }))
      assert.equals(0, r.status, r.stderr)
      assert.matches("+ systemctl stop k3s.service", r.stderr, 1, true)
      assert.is_false(host:running("sandbox api"))
      for _, path in ipairs({ "/usr/local/bin/k3s", "/usr/local/bin/k3s-uninstall.sh", "/usr/local/bin/k3s-killall.sh",
        "/usr/local/bin/crictl", "/etc/rancher/k3s", "/var/lib/rancher/k3s", "/etc/systemd/system/k3s.service",
        "/etc/systemd/system/k3s.service.env", "/etc/systemd/system/multi-user.target.wants/k3s.service" }) do
        assert.is_false(host:exists(path), path)
      end
      assert.equals("inactive\n", session:exec("systemctl is-active k3s").stdout)
      assert.not_equals(0, kubectl(dir .. "/server.kubeconfig", { "get", "nodes" }).status) -- the API is gone
    end)
  end)

  it("restarts with a new host key, keeping what it has", function()
    local old = host.host_key_fingerprint
    local fp = host:restart_with_new_host_key()
    assert.not_equals(old, fp)
    local s, msg, code, details = ssh.connect(host:ssh_opts())
    assert.is_nil(s, msg)
    assert.equals("hostkey-changed", code)
    assert.equals(fp, details.fingerprint)
    assert.is_true(host:exists("/etc/kipstand-marker"))
    local other = host.dir .. "/known_hosts.new"
    s = assert(ssh.connect(host:ssh_opts({ known_hosts = other, accept_unknown_host_key = true })))
    assert.equals(fp, s:fingerprint())
    s:close()
  end)

  it("stops every process it runs, also those started in the background over SSH", function()
    local os_release = 'NAME="Plan 9"\nID=plan9\nVERSION_ID="4"\n'
    local h = testhost.start({ address = "127.0.0.3", hostname = "kip-test-stop", os_release = os_release, systemd = false })
    local stopped = false
    finally(function() if not stopped then h:stop() end end)
    local s = assert(ssh.connect(h:ssh_opts({ accept_unknown_host_key = true })))
    assert.equals(os_release, s:exec(". /etc/os-release && cat /etc/os-release").stdout)
    local r = s:exec("systemctl is-active ssh")
    assert.not_equals(0, r.status)
    assert.not_matches("kipstand", r.stdout .. r.stderr)
    local marker = tostring(math.random(4000000, 4999999))
    assert.equals(0, s:exec("setsid nohup sleep " .. marker .. " > /dev/null 2>&1 < /dev/null &").status)
    s:close()
    assert.truthy(helpers.eventually(function() return outside_pid("sleep " .. marker) end, 5))
    local d = h.dir
    h:stop()
    stopped = true
    assert.is_nil(outside_pid("sleep " .. marker))
    assert.is_nil(outside_pid(d))
    assert.is_false(fs.exists(d))
    h:stop() -- idempotent
  end)
end)
