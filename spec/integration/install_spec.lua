-- SPDX-License-Identifier: Apache-2.0
-- kip install end to end: the real kip against test hosts (this machine's sshd in its own
-- namespaces, spec/helpers/testhost.lua) with the stand-in k3s installer, whose k3s server is the
-- sandbox API. A plan, a full install, a re-run that changes and fetches nothing, kip status and
-- kip kubeconfig, a failing step and resume, host keys, sudo users, unreachable hosts and refused
-- logins, node add/remove and cluster uninstall.
local fs = require "kip.fs"
local helpers = require "helpers"
local json = require "kip.json"
local proc = require "kip.proc"
local testhost = require "helpers.testhost"

local available, why = testhost.available()
if not available then
  describe("kip install", function() pending("needs root, sshd, unshare and sudo: " .. why) end)
  return
end

local function kubectl(kubeconfig, args)
  local argv = { "kubectl", "--kubeconfig", kubeconfig }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return assert(proc.run(argv, { timeout = 30 }))
end

describe("kip install", function()
  local home, installer, server, api_port
  local function kip(args, opts)
    opts = opts or {}
    local env = { KIP_HOME = home, SSH_AUTH_SOCK = false }
    for k, v in pairs(opts.env or {}) do env[k] = v end
    return helpers.kip(args, { env = env, stdin = opts.stdin, timeout = opts.timeout or 240 })
  end
  local function install_args(h, extra)
    local args = { "install", "--host", h.address, "--ssh-port", tostring(h.port), "--ssh-key", h.key,
      "--set", "k3s.install_script_url=" .. installer.url, "--set", "k3s.api_port=" .. api_port,
      "--set", "wait.timeout=60", "--set", "preflight.min_disk_gb=1", "--set", "gateway=" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    return args
  end

  setup(function()
    home = helpers.tmpdir()
    installer = testhost.serve_installer()
    server = testhost.start({ hostname = "kip-server" })
    api_port = require("helpers.sshd").free_port()
  end)

  teardown(function()
    if server then server:stop() end
    if installer then installer.stop() end
    helpers.rmtree(home)
  end)

  it("refuses an unknown host key without a terminal or --accept-host-key, showing its fingerprint", function()
    local r = kip(install_args(server, { "--plan" }))
    assert.equals(1, r.status, r.stderr)
    assert.matches("the host key of root@" .. server.address .. ":" .. server.port .. " is not known yet", r.stderr, 1, true)
    assert.matches(server.host_key_fingerprint, r.stderr, 1, true)
    assert.matches("--accept-host-key", r.stderr, 1, true)
    assert.is_false(fs.exists(home .. "/known_hosts") and fs.read(home .. "/known_hosts") ~= "")
  end)

  it("plans without changing anything", function()
    local r = kip(install_args(server, { "--plan", "--accept-host-key" }))
    assert.equals(0, r.status, r.stderr)
    assert.matches("%[1/%d+%] Check the server %.%.%. would run", r.stdout)
    assert.matches("Install k3s %.%.%. would run", r.stdout)
    assert.matches("Nothing was changed", r.stdout)
    assert.is_false(server:exists("/etc/rancher/k3s/config.yaml"))
    assert.is_false(server:exists("/usr/local/bin/k3s"))
    assert.equals(0, installer.requests())
    assert.is_nil((fs.read(home .. "/config.yaml") or ""):match("clusters:%s*%-"))
    -- the host key was recorded once accepted
    assert.matches("ssh%-ed25519", fs.read(home .. "/known_hosts"))
  end)

  local first
  it("installs k3s and Kipper, and makes the cluster current", function()
    local t0 = os.time()
    local r = kip(install_args(server, { "--admin-email", "ops@example.com", "-o", "json" }))
    assert.equals(0, r.status, r.stdout .. r.stderr)
    first = assert(json.decode(r.stdout))
    assert.equals("127-0-0-1", first.cluster)
    assert.equals(3, first.skipped, r.stderr)
    assert.matches("Wait for the API and the node %.%.%. skipped: ready already", r.stderr)
    assert.matches("Make the cluster's default certificate %.%.%. done", r.stderr)
    assert.matches("Register the cluster's domain with the gateway %.%.%. skipped: no gateway", r.stderr)
    assert.matches("Set up storage %.%.%. skipped: nothing to install", r.stderr)
    assert.equals("https://console-127-0-0-1.kipper.run", first.console)
    assert.matches("%[3/%d+%] Install k3s %.%.%. done", r.stderr)
    assert.matches("Create the console's admin %.%.%. done", r.stderr)
    assert.equals(1, installer.requests())
    assert.is_true(os.time() - t0 < 180)
    -- the server has k3s, its config and the issuer manifest
    assert.matches("tls%-san:%s*%-%s*127%.0%.0%.1", server:read("/etc/rancher/k3s/config.yaml"))
    assert.matches("^k3s version v1%.34%.1%+k3s1", server:run("/usr/local/bin/k3s --version").stdout)
    assert.matches("ops@example.com", server:read("/var/lib/rancher/k3s/server/manifests/kipper-cluster-issuer.yaml"))
    -- local files: kubeconfig 0600, config.yaml entry, transcript
    local kubeconfig = home .. "/clusters/127-0-0-1/kubeconfig"
    assert.equals(tonumber("600", 8), fs.stat(kubeconfig).mode & tonumber("777", 8))
    local cfg = fs.read(home .. "/config.yaml")
    assert.matches("current%-cluster: 127%-0%-0%-1", cfg)
    assert.matches("server: https://127%.0%.0%.1:" .. api_port, cfg)
    assert.matches("ssh%-port: " .. server.port, cfg)
    local transcript = assert(fs.read(first.transcript))
    assert.matches("## step 3/%d+ k3s%-install", transcript)
    assert.matches("INSTALL_K3S_VERSION=v1%.34%.1%+k3s1", transcript)
    -- the cluster through kubectl: node Ready, CRDs, kipperd, cert-manager, issuer
    local nodes = kubectl(kubeconfig, { "get", "nodes" })
    assert.equals(0, nodes.status, nodes.stderr)
    assert.matches("kip%-server%s+Ready", nodes.stdout)
    for _, crd in ipairs({ "apps.kipper.run", "services.kipper.run", "projects.kipper.run" }) do
      assert.equals(0, kubectl(kubeconfig, { "get", "crd", crd }).status)
    end
    assert.matches("1/1", kubectl(kubeconfig, { "-n", "kipper-system", "get", "deployment", "kipperd" }).stdout)
    assert.matches("True", kubectl(kubeconfig, { "get", "clusterissuer", "letsencrypt" }).stdout)
    assert.equals(0, kubectl(kubeconfig, { "-n", "kube-system", "get", "helmchart", "cert-manager" }).status)
    local settings = json.decode(kubectl(kubeconfig, { "-n", "kipper-system", "get", "configmap", "kipper-config", "-o", "json" }).stdout)
    assert.same({ clusterId = "127-0-0-1", zone = "kipper.run", issuer = "letsencrypt", storageClass = "local-path",
      ingressClass = "traefik" }, settings.data)
    -- the console's admin: --admin-email with a generated password, given once in the JSON only
    assert.equals("ops@example.com", first.admin.email)
    local password = first.admin.password
    assert.equals(24, #password)
    assert.is_nil(transcript:find(password, 1, true))
    assert.is_nil(r.stderr:find(password, 1, true))
    local c = assert(require("kip.k8s").connect({ kubeconfig = kubeconfig, timeout = 30 }))
    local users = require "kipperd.auth.users"
    local list = assert(users.list(c))
    assert.equals(1, #list)
    assert.equals("ops@example.com", list[1].email)
    assert.equals("admin", list[1].role)
    assert.equals("ops@example.com", assert(users.authenticate(c, "ops@example.com", password)).email)
    assert.is_nil(users.authenticate(c, "ops@example.com", password .. "x"))
  end)

  it("re-runs without changing or fetching anything", function()
    local before_cfg = fs.read(home .. "/config.yaml")
    local before_k3s = server:run("cat /var/lib/rancher/k3s/kipstand.pid").stdout
    local r = kip(install_args(server, { "--admin-email", "ops@example.com", "-o", "json" }))
    assert.equals(0, r.status, r.stdout .. r.stderr)
    local again = assert(json.decode(r.stdout))
    assert.equals(0, again.ran)
    assert.is_nil(again.admin)
    assert.matches("Create the console's admin %.%.%. skipped: an admin exists already", r.stderr)
    assert.is_nil((r.stdout .. r.stderr):find(first.admin.password, 1, true))
    assert.equals(first.ran + first.skipped, again.skipped)
    assert.equals(1, installer.requests())
    assert.equals(before_cfg, fs.read(home .. "/config.yaml"))
    assert.equals(before_k3s, server:run("cat /var/lib/rancher/k3s/kipstand.pid").stdout)
    assert.is_true(again.ssh_commands < first.ssh_commands + 5)
    io.stderr:write(string.format("\n[install: %d SSH commands; re-run: %d]\n", first.ssh_commands, again.ssh_commands))
  end)

  it("shows the cluster with kip status and kip kubeconfig", function()
    local r = kip({ "status" })
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.matches("Cluster 127%-0%-0%-1 %(https://127%.0%.0%.1:%d+%), Kubernetes v1%.34", r.stdout)
    assert.matches("kip%-server%s+Ready", r.stdout)
    assert.matches("kipperd%s+ok", r.stdout)
    assert.matches("cert%-manager%s+ok", r.stdout)
    r = kip({ "status", "-o", "json" })
    local report = assert(json.decode(r.stdout))
    assert.is_true(report.healthy)
    r = kip({ "kubeconfig" })
    assert.equals(0, r.status)
    assert.equals(fs.read(home .. "/clusters/127-0-0-1/kubeconfig"), r.stdout)
  end)

  it("applies a changed setting on a re-run: writes registries.yaml and restarts k3s", function()
    local pid = server:run("cat /var/lib/rancher/k3s/kipstand.pid").stdout
    local r = kip(install_args(server, { "--admin-email", "ops@example.com",
      "--set", "k3s.registry_mirrors=docker.io=https://mirror.example" }))
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.matches("Write k3s's configuration %.%.%. done", r.stdout)
    assert.matches("restarting k3s to apply the new configuration", r.stdout, 1, true)
    assert.is_nil(r.stdout:find("console login", 1, true))
    assert.matches("https://mirror%.example", server:read("/etc/rancher/k3s/registries.yaml"))
    assert.are_not.equal(pid, server:run("cat /var/lib/rancher/k3s/kipstand.pid").stdout)
    -- back to no mirrors: kip's registries.yaml goes
    r = kip(install_args(server, { "--admin-email", "ops@example.com" }))
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.is_false(server:exists("/etc/rancher/k3s/registries.yaml"))
    assert.equals(0, kip({ "status" }).status)
  end)

  it("stops at a failing step with what went wrong, and resumes after the fix", function()
    local site = home .. "/site.lua"
    helpers.write(site, [[
return {
  extends = "k3s",
  steps = {
    { name = "data-disk", title = "Check the data disk", after = "k3s-config",
      check = function(ctx) return ctx:test("test -f /root/disk-ok") end,
      run = function(ctx) ctx:sh("echo 'checking /dev/vdb'; echo 'no data disk mounted' >&2; exit 7",
        { hint = "Mount the data disk on /var/lib/rancher." }) end },
  },
}
]])
    -- a fresh server, so the steps before the failing one really run
    local other = testhost.start({ address = "127.0.0.2", hostname = "kip-other" })
    finally(function() other:stop() end)
    local args = install_args(other, { "--recipe", site, "--accept-host-key", "--name", "other",
      "--set", "k3s.api_port=" .. require("helpers.sshd").free_port() })
    local r = kip(args)
    assert.equals(1, r.status, r.stdout .. r.stderr)
    assert.matches('step "data%-disk" failed: the command exited with status 7', r.stderr)
    assert.matches("exit status: 7", r.stderr, 1, true)
    assert.matches("| no data disk mounted", r.stderr, 1, true)
    assert.matches("Mount the data disk on /var/lib/rancher.", r.stderr, 1, true)
    assert.matches("transcript: " .. home .. "/logs/install-other-", r.stderr, 1, true)
    assert.matches("resumes", r.stderr)
    assert.is_true(other:exists("/etc/rancher/k3s/config.yaml"))
    assert.is_false(other:exists("/usr/local/bin/k3s"))
    other:run("touch /root/disk-ok")
    r = kip(args)
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.matches("Write k3s's configuration %.%.%. already done, skipped", r.stdout)
    assert.matches("Check the data disk %.%.%. already done, skipped", r.stdout)
    assert.matches("Install k3s %.%.%. done", r.stdout)
    assert.matches("Set up Let's Encrypt %.%.%. skipped: no %-%-admin%-email", r.stdout)
  end)

  -- kip on a terminal (spec/helpers/pty_run.py answers its prompts)
  local function on_tty(answers, args, kip_home)
    local argv = { "python3", "spec/helpers/pty_run.py", "--timeout", "60" }
    for _, a in ipairs(answers) do argv[#argv + 1] = "--answer"; argv[#argv + 1] = a end
    argv[#argv + 1] = "--"
    argv[#argv + 1] = helpers.kip_bin()
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return assert(proc.run(argv, { env = { KIP_HOME = kip_home, SSH_AUTH_SOCK = false, KIP_CLUSTER = false }, timeout = 90 }))
  end

  it("asks to confirm an unknown host key on a terminal, and records only what was confirmed", function()
    local fresh = helpers.tmpdir()
    finally(function() helpers.rmtree(fresh) end)
    local args = install_args(server, { "--plan" })
    local r = on_tty({ "(yes/no)? =no" }, args, fresh)
    assert.equals(1, r.status, r.stdout)
    assert.matches("The authenticity of host 'root@127.0.0.1:" .. server.port .. "' can't be established.", r.stdout, 1, true)
    assert.matches("ssh-ed25519 key fingerprint is " .. server.host_key_fingerprint, r.stdout, 1, true)
    assert.matches("was not confirmed; nothing was changed", r.stdout, 1, true)
    assert.is_falsy(fs.read(fresh .. "/known_hosts"))
    r = on_tty({ "(yes/no)? =yes" }, args, fresh)
    assert.equals(0, r.status, r.stdout)
    assert.matches("Nothing was changed", r.stdout, 1, true)
    assert.matches("ssh%-ed25519", fs.read(fresh .. "/known_hosts"))
  end)

  it("asks an encrypted key's passphrase on a terminal, and says what to do without one", function()
    local key = require("helpers.sshd").keygen(home .. "/locked", "ed25519", { passphrase = "open sesame" })
    server:write("/root/.ssh/authorized_keys", server:read("/root/.ssh/authorized_keys") .. assert(fs.read(key .. ".pub")), "0600")
    local args = install_args(server, { "--plan" })
    for i, a in ipairs(args) do if a == server.key then args[i] = key end end
    local r = kip(args)
    assert.equals(1, r.status)
    assert.matches("is encrypted and there is no terminal to ask its passphrase on", r.stderr, 1, true)
    assert.matches("ssh-add " .. key, r.stderr, 1, true)
    r = on_tty({ "Enter passphrase for key '" .. key .. "': =open sesame" }, args, home)
    assert.equals(0, r.status, r.stdout)
    assert.is_nil(r.stdout:find("open sesame", 1, true)) -- not echoed
  end)

  it("refuses a changed host key, saying how to fix it after checking", function()
    local fp = server:restart_with_new_host_key()
    local r = kip(install_args(server, { "--plan" }))
    assert.equals(1, r.status)
    assert.matches("has CHANGED: the server now offers ssh%-ed25519 " .. fp:gsub("%p", "%%%0"), r.stderr)
    assert.matches("ssh-keygen -R '[127.0.0.1]:" .. server.port .. "' -f " .. home .. "/known_hosts", r.stderr, 1, true)
    -- --accept-host-key does not override a changed key
    r = kip(install_args(server, { "--plan", "--accept-host-key" }))
    assert.equals(1, r.status)
    assert.matches("CHANGED", r.stderr)
  end)

  it("says quickly when the host is unreachable or refuses the login", function()
    local t0 = os.time()
    local r = kip({ "install", "--host", "127.0.0.1", "--ssh-port", tostring(require("helpers.sshd").free_port()), "--plan" })
    assert.equals(1, r.status)
    assert.matches("cannot reach root@127%.0%.0%.1:%d+", r.stderr)
    local other_key = require("helpers.sshd").keygen(home .. "/stranger", "ed25519")
    local h = testhost.start({ address = "127.0.0.3", hostname = "kip-auth" })
    finally(function() h:stop() end)
    r = kip({ "install", "--host", h.address, "--ssh-port", tostring(h.port), "--ssh-key", other_key, "--accept-host-key", "--plan" })
    assert.equals(1, r.status)
    assert.matches("refused the SSH login", r.stderr)
    assert.matches("publickey", r.stderr)
    assert.is_true(os.time() - t0 < 20)
  end)
end)

describe("kip install as a user other than root", function()
  local home, installer, h
  setup(function()
    home = helpers.tmpdir()
    installer = testhost.serve_installer()
    h = testhost.start({ address = "127.0.0.4", hostname = "kip-sudo", users = {
      { name = "deploy", sudo = "nopasswd" }, { name = "carol", sudo = "password", password = "s3cret-sudo" },
      { name = "nobody2", sudo = "none" } } })
  end)
  teardown(function()
    if h then h:stop() end
    if installer then installer.stop() end
    helpers.rmtree(home)
  end)
  local function kip(user, extra, stdin)
    local args = { "install", "--host", h.address, "--ssh-port", tostring(h.port), "--ssh-key", h.key, "--ssh-user", user,
      "--accept-host-key", "--set", "k3s.install_script_url=" .. installer.url, "--set", "wait.timeout=60",
      "--set", "preflight.min_disk_gb=1", "--set", "k3s.api_port=" .. require("helpers.sshd").free_port(), "--set", "gateway=" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    return helpers.kip(args, { env = { KIP_HOME = home, SSH_AUTH_SOCK = false }, stdin = stdin, timeout = 240 })
  end

  it("installs through passwordless sudo", function()
    local r = kip("deploy")
    assert.equals(0, r.status, r.stdout .. r.stderr)
    assert.matches("on deploy@127%.0%.0%.4", r.stdout)
    -- without --admin-email the admin is admin@CLUSTER.local; the password is printed once, in the summary
    local password = r.stdout:match("console login: admin@127%-0%-0%-4%.local / (%S+) %(shown once; " ..
      "kip user reset%-password admin@127%-0%-0%-4%.local renews it%)\n")
    assert.is_string(password, r.stdout)
    local _, count = r.stdout:gsub(password:gsub("%p", "%%%0"), "")
    assert.equals(1, count)
    local logs = home .. "/logs"
    for _, name in ipairs(assert(fs.list(logs))) do
      assert.is_nil(assert(fs.read(logs .. "/" .. name)):find(password, 1, true), name)
    end
    assert.is_true(h:exists("/usr/local/bin/k3s"))
    assert.matches("root", h:run("stat -c %U /etc/rancher/k3s/config.yaml").stdout)
  end)

  it("explains a sudo that needs a password, and uses one from stdin without putting it in argv or logs", function()
    local r = kip("carol", { "--plan" })
    assert.equals(1, r.status)
    assert.matches("user carol needs a password for sudo on 127%.0%.0%.4", r.stderr)
    assert.matches("%-%-sudo%-password%-stdin", r.stderr)
    r = kip("carol", { "--plan", "--sudo-password-stdin" }, "wrong-password\n")
    assert.equals(1, r.status)
    assert.matches("refused the password", r.stderr)
    r = kip("carol", { "--plan", "--sudo-password-stdin", "-o", "json" }, "s3cret-sudo\n")
    assert.equals(0, r.status, r.stdout .. r.stderr)
    local result = assert(json.decode(r.stdout))
    assert.is_nil(fs.read(result.transcript):find("s3cret", 1, true))
    assert.is_nil(h:log_text():find("s3cret", 1, true))
  end)

  it("refuses a user without sudo rights", function()
    local r = kip("nobody2", { "--plan" })
    assert.equals(1, r.status)
    assert.matches("user nobody2 ", r.stderr)
    assert.matches("sudo", r.stderr)
  end)
end)
