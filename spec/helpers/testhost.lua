-- SPDX-License-Identifier: Apache-2.0
-- Disposable "servers" for integration specs: this machine's own OpenSSH sshd inside new mount,
-- UTS and PID namespaces, where overlays (on a tmpfs) cover /etc, /usr/local, /var, /opt, /run and
-- /tmp and /root and /home start empty, so nothing a test installs touches the real ones; plus an HTTP server for
-- the stand-in k3s installer (spec/fixtures/k3s). Uses helpers, helpers.sshd, kip.proc, kip.fs.
local fs = require "kip.fs"
local helpers = require "helpers"
local proc = require "kip.proc"
local sshd = require "helpers.sshd"

local M = {}

local Host = {}
Host.__index = Host

local LIFETIME = 600 -- seconds: a host outlives a spec that dies before :stop() by at most this
local FIXTURES = "spec/fixtures/k3s"
local OVERLAID = { "/etc", "/usr/local", "/var", "/opt", "/run", "/tmp" } -- /tmp last
-- home folders start empty, as on a new server (this machine's own dot files stay out: a login
-- shell's rc file here may do slow or locking work on every command)
local FRESH = { ["/root"] = "0700", ["/home"] = "0755" }
local PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function run(argv, opts)
  local r, err = proc.run(argv, opts or { timeout = 60 })
  assert(r, err)
  assert(r.status == 0, (type(argv) == "table" and table.concat(argv, " ") or argv) .. ": " .. r.stderr)
  return r.stdout
end

local function alive(pid)
  local status = fs.read("/proc/" .. pid .. "/status")
  return status ~= nil and not status:match("State:%s+Z")
end

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  return (run({ "realpath", "--", path }):gsub("%s+$", ""))
end

---Whether hosts can be started here (specs are pending() otherwise).
---@return boolean ok
---@return string? why
function M.available()
  local ok, why = sshd.available()
  if not ok then return false, why end
  for _, tool in ipairs({ "unshare", "nsenter", "useradd", "chpasswd", "mount", "python3" }) do
    if not proc.which(tool) then return false, tool .. " is not installed" end
  end
  if not fs.exists("/usr/bin/sudo") then return false, "sudo is not installed" end
  return true
end

local function check_users(users)
  for _, u in ipairs(users or {}) do
    assert(type(u.name) == "string" and u.name:match("^[a-z_][a-z0-9_-]*$"), "testhost: bad user name " .. tostring(u.name))
    local sudo = u.sudo or "none"
    assert(sudo == "nopasswd" or sudo == "password" or sudo == "none", "testhost: sudo is nopasswd, password or none")
    assert(sudo ~= "password" or u.password, "testhost: sudo = \"password\" needs a password")
  end
end

-- The shell script that becomes PID 1 of the host's namespaces: it mounts the overlays, sets the
-- host up (hostname, sshd, users, sudo, os-release, the systemctl stand-in), then runs sshd in a
-- loop (so :restart_with_new_host_key keeps the namespace) and reaps orphans while it waits.
local function init_script(h, opts)
  local L = {
    "#!/bin/sh",
    "# PID 1 of a spec test host (spec/helpers/testhost.lua); written for one run, then removed",
    "set -eu",
    "D=" .. q(h.dir),
    "mount -t tmpfs -o mode=0700 kipstand \"$D/layers\"",
    -- the systemctl/journalctl stand-in must be copied before /tmp (where $D is) is overlaid
    "mkdir \"$D/layers/bin\"",
    "install -m 0755 \"$D/systemctl\" \"$D/layers/bin/systemctl\"",
  }
  local function add(line) L[#L + 1] = line end
  if opts.systemd ~= false then -- bind mounts first: /usr is not overlaid
    add("for c in systemctl journalctl; do")
    add("  if [ -e /usr/bin/$c ]; then mount --bind \"$D/layers/bin/systemctl\" /usr/bin/$c; fi")
    add("done")
  end
  add("for t in " .. table.concat(OVERLAID, " ") .. "; do")
  add("  n=$(printf '%s' \"$t\" | tr / _)")
  add("  mkdir -p \"$D/layers/$n/upper\" \"$D/layers/$n/work\"")
  -- the overlay's root takes the upper folder's mode and owner (/tmp is 1777)
  add("  chmod --reference=\"$t\" \"$D/layers/$n/upper\" && chown --reference=\"$t\" \"$D/layers/$n/upper\"")
  add("  mount -t overlay kipstand -o \"lowerdir=$t,upperdir=$D/layers/$n/upper,workdir=$D/layers/$n/work\" \"$t\"")
  add("done")
  for path, mode in pairs(FRESH) do add("mount -t tmpfs -o mode=" .. mode .. " kipstand " .. path) end
  add("cp -a /etc/skel/. /root/")
  -- no systemd or D-Bus here: nothing may reach this machine's own (if it runs them)
  add("rm -rf /run/systemd /run/dbus /var/run/dbus")
  if opts.systemd ~= false then -- where there is no systemd package: in /usr/local/sbin
    add("for c in systemctl journalctl; do")
    add("  [ -e /usr/bin/$c ] || install -m 0755 \"$D/systemctl\" /usr/local/sbin/$c")
    add("done")
  end
  add("hostname " .. q(h.hostname))
  add("printf '%s\\n' " .. q(h.hostname) .. " > /etc/hostname")
  -- the host's name resolves to its address, as on a server (sudo and the stand-in k3s use it)
  add("printf '%s %s\\n' " .. q(h.address) .. " " .. q(h.hostname) .. " >> /etc/hosts")
  if opts.os_release then
    add("rm -f /etc/os-release")
    add("cat \"$D/os-release\" > /etc/os-release")
  end
  add("mkdir -p /etc/ssh /run/sshd /root/.ssh")
  add("chmod 0700 /root/.ssh")
  add("rm -f /etc/ssh/ssh_host_*")
  add("install -m 0600 \"$D/host_ed25519\" /etc/ssh/ssh_host_ed25519_key")
  add("install -m 0644 \"$D/host_ed25519.pub\" /etc/ssh/ssh_host_ed25519_key.pub")
  add("install -m 0644 \"$D/sshd_config\" /etc/ssh/sshd_config")
  add("install -m 0600 \"$D/id_ed25519.pub\" /root/.ssh/authorized_keys")
  -- sshd refuses key logins to locked accounts ("!..." in /etc/shadow) when UsePAM is no
  add("case $(getent shadow root | cut -d: -f2) in '!'*) usermod -p '*' root;; esac")
  for _, u in ipairs(opts.users or {}) do
    local sudo = u.sudo or "none"
    local name, home = q(u.name), q("/home/" .. u.name)
    add("useradd -m -s /bin/sh " .. name)
    if u.password then
      add("printf '%s:%s\\n' " .. name .. " " .. q(u.password) .. " | chpasswd")
    else
      add("usermod -p '*' " .. name)
    end
    add("install -d -m 0700 -o " .. name .. " -g " .. name .. " " .. home .. "/.ssh")
    add("install -m 0600 -o " .. name .. " -g " .. name .. " \"$D/id_ed25519.pub\" " .. home .. "/.ssh/authorized_keys")
    if sudo ~= "none" then
      local rule = u.name .. " ALL=(ALL:ALL) " .. (sudo == "nopasswd" and "NOPASSWD: " or "") .. "ALL"
      add("printf '%s\\n' " .. q(rule) .. " > /etc/sudoers.d/kipstand-" .. u.name)
      add("chmod 0440 /etc/sudoers.d/kipstand-" .. u.name)
    end
  end
  add("echo 'kipstand: host ready'")
  add("set +e")
  add("trap '' HUP")
  -- the foreground wait reaps every child of PID 1, so orphans never stay zombies
  add("while :; do /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config; echo \"kipstand: sshd exited ($?)\"; sleep 0.2; done")
  return table.concat(L, "\n") .. "\n"
end

local function sshd_config(h)
  local sftp = fs.exists("/usr/lib/openssh/sftp-server") and "/usr/lib/openssh/sftp-server" or "internal-sftp"
  return table.concat({
    "# sshd_config of a spec test host (spec/helpers/testhost.lua)",
    "ListenAddress " .. h.address,
    "Port " .. h.port,
    "HostKey /etc/ssh/ssh_host_ed25519_key",
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes yes",
    "AuthorizedKeysFile .ssh/authorized_keys",
    "PidFile /run/sshd.pid",
    "Subsystem sftp " .. sftp,
    "LogLevel VERBOSE",
  }, "\n") .. "\n"
end

---Starts a host; call host:stop() in teardown.
---@param opts? {address?: string, port?: integer, hostname?: string, os_release?: string, systemd?: boolean,
---  users?: {name: string, sudo?: "nopasswd"|"password"|"none", password?: string}[]}
--- address: a loopback address (127.0.0.1 by default; 127.0.0.2, 127.0.0.3 ... for more hosts);
--- systemd: false leaves out the systemctl/journalctl stand-in (then the real systemctl fails there)
---@return table host
function M.start(opts)
  opts = opts or {}
  local ok, why = M.available()
  assert(ok, why)
  check_users(opts.users)
  local dir = helpers.tmpdir()
  local h = setmetatable({ dir = dir, address = opts.address or "127.0.0.1",
    hostname = opts.hostname or "kip-test-server", users = opts.users or {} }, Host)
  h.port = opts.port or sshd.free_port(h.address)
  h.key = sshd.keygen(dir .. "/id_ed25519", "ed25519", { comment = "kip-testhost" })
  h.known_hosts = dir .. "/known_hosts"
  h.log = dir .. "/host.log"
  assert(fs.write(h.known_hosts, ""))
  sshd.keygen(dir .. "/host_ed25519", "ed25519", { comment = "host" })
  h.host_key_fingerprint = sshd.fingerprint(dir .. "/host_ed25519.pub")
  assert(fs.mkdir(dir .. "/layers", { mode = "0700" }))
  assert(fs.write(dir .. "/systemctl", assert(fs.read(FIXTURES .. "/systemctl"))))
  assert(fs.write(dir .. "/sshd_config", sshd_config(h)))
  if opts.os_release then assert(fs.write(dir .. "/os-release", opts.os_release)) end
  assert(fs.write(dir .. "/init.sh", init_script(h, opts), { mode = "0700" }))
  -- unshare's --kill-child SIGKILLs the namespace's PID 1 when unshare dies, which kills every
  -- process in the namespace; timeout -s KILL makes sure that happens after LIFETIME at the latest
  local cmd = string.format("exec timeout -s KILL %d unshare --mount --uts --pid --fork --kill-child " ..
    "--mount-proc --propagation private sh %q > %q 2>&1 < /dev/null", LIFETIME, dir .. "/init.sh", h.log)
  h.timeout_pid = assert(tonumber(run({ "sh", "-c", cmd .. " & echo $!" }):match("%d+")), "no pid")
  local listening = "Server listening on " .. h.address .. " port " .. h.port
  local up = helpers.eventually(function()
    local log = fs.read(h.log) or ""
    return log:find(listening, 1, true) or log:find("Cannot bind any address", 1, true) or not alive(h.timeout_pid)
  end, 15)
  h.pid = h:_init_pid()
  fs.remove(dir .. "/init.sh") -- it may hold passwords; PID 1 has read what it needs (or holds it open)
  if not up or not (fs.read(h.log) or ""):find(listening, 1, true) or not h.pid then
    local log = fs.read(h.log)
    h:stop()
    error("the test host did not start: " .. tostring(log))
  end
  return h
end

-- The outer pid of the namespace's PID 1 (timeout -> unshare -> PID 1).
function Host:_init_pid()
  local function child(pid)
    local c = fs.read("/proc/" .. pid .. "/task/" .. pid .. "/children")
    return c and tonumber(c:match("%d+"))
  end
  local unshare = child(self.timeout_pid)
  return unshare and child(unshare)
end

---Runs a shell command inside the host's namespaces as root (nsenter; a clean environment, cwd /).
---@param opts? {stdin?: string, timeout?: number, env?: table<string, string>}
---@return {status: integer, stdout: string, stderr: string}
function Host:run(cmd, opts)
  opts = opts or {}
  assert(self.pid, "testhost: the host is stopped")
  local argv = { "nsenter", "--target", tostring(self.pid), "--mount", "--uts", "--pid", "--",
    "env", "-i", "PATH=" .. PATH, "HOME=/root", "LANG=C.UTF-8", "USER=root", "LOGNAME=root" }
  for k, v in pairs(opts.env or {}) do argv[#argv + 1] = k .. "=" .. v end
  for _, a in ipairs({ "sh", "-c", "cd / && " .. cmd }) do argv[#argv + 1] = a end
  local r, err, code, partial = proc.run(argv, { stdin = opts.stdin, timeout = opts.timeout or 60 })
  if not r then
    partial = partial or {}
    return { status = -1, stdout = partial.stdout or "", stderr = (partial.stderr or "") .. err, code = code }
  end
  return { status = r.status, stdout = r.stdout, stderr = r.stderr }
end

---The content of a file in the host, or nil, message.
function Host:read(path)
  local r = self:run("cat -- " .. q(path))
  if r.status ~= 0 then return nil, r.stderr end
  return r.stdout
end

---Writes a file in the host (parents created), mode default "0644".
function Host:write(path, data, mode)
  local r = self:run(string.format("mkdir -p -- \"$(dirname -- %s)\" && cat > %s && chmod %s %s",
    q(path), q(path), mode or "0644", q(path)), { stdin = data })
  assert(r.status == 0, "testhost: cannot write " .. path .. ": " .. r.stderr)
end

---Whether a path exists in the host (a dangling link counts).
function Host:exists(path)
  return self:run("test -e " .. q(path) .. " || test -L " .. q(path)).status == 0
end

---The command lines of the processes running in the host (its PID 1 and sshd included).
---@return string[]
function Host:processes()
  local r = self:run("exec ps -eo pid=,args=")
  assert(r.status == 0, r.stderr)
  local own = nil
  local list = {}
  for line in r.stdout:gmatch("[^\n]+") do
    local pid, args = line:match("^%s*(%d+)%s+(.*)$")
    if args and args:match("^ps %-eo pid=,args=") then own = pid end
    if args then list[#list + 1] = { pid = pid, args = args } end
  end
  local out = {}
  for _, p in ipairs(list) do
    if p.pid ~= own then out[#out + 1] = p.args end
  end
  return out
end

---Whether a process whose command line matches a Lua pattern runs in the host.
function Host:running(pattern)
  for _, args in ipairs(self:processes()) do
    if args:match(pattern) then return args end
  end
  return false
end

---Options for kip.ssh.connect to this host as root (or extra.user) with its key and known_hosts.
function Host:ssh_opts(extra)
  local o = { host = self.address, port = self.port, user = "root", key_file = self.key,
    known_hosts = self.known_hosts, agent = false, connect_timeout = 10, keepalive = 0 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

---What the host's PID 1 and sshd logged (setup errors, logins).
function Host:log_text()
  return fs.read(self.log) or ""
end

---Gives the host a new ed25519 host key and restarts its sshd (the namespace and what is
---installed stay); returns the new fingerprint, also in host.host_key_fingerprint.
function Host:restart_with_new_host_key()
  self.generation = (self.generation or 0) + 1
  local path = self.dir .. "/host_ed25519." .. self.generation
  sshd.keygen(path, "ed25519", { comment = "host" })
  self:write("/etc/ssh/ssh_host_ed25519_key", assert(fs.read(path)), "0600")
  self:write("/etc/ssh/ssh_host_ed25519_key.pub", assert(fs.read(path .. ".pub")), "0644")
  local listening = "Server listening on " .. self.address .. " port " .. self.port
  local function count()
    local n, at = 0, 1
    local log = self:log_text()
    while true do
      local s, e = log:find(listening, at, true)
      if not s then return n end
      n, at = n + 1, e + 1
    end
  end
  local before = count()
  local r = self:run("kill $(cat /run/sshd.pid)")
  assert(r.status == 0, "testhost: cannot stop sshd: " .. r.stderr)
  assert(helpers.eventually(function() return count() > before end, 10), "sshd did not restart: " .. self:log_text())
  self.host_key_fingerprint = sshd.fingerprint(path .. ".pub")
  return self.host_key_fingerprint
end

---Kills every process of the host (its namespaces go with them, and their mounts) and removes
---its folder. Idempotent.
function Host:stop(keep_dir)
  if self.pid or self.timeout_pid then
    local pid = self.pid or self:_init_pid()
    if pid then proc.run({ "kill", "-KILL", tostring(pid) }) end
    if self.timeout_pid then
      helpers.eventually(function() return not alive(self.timeout_pid) end, 10)
      if alive(self.timeout_pid) then proc.run({ "kill", "-KILL", tostring(self.timeout_pid) }) end
    end
    self.pid, self.timeout_pid = nil, nil
  end
  if not keep_dir and self.dir and fs.exists(self.dir) then helpers.rmtree(self.dir) end
end

---Serves the stand-in k3s installer (spec/fixtures/k3s/install.sh with the k3s stand-in inside it
---and the absolute path of the kip under test) over HTTP on 127.0.0.1.
---@param opts? {kip_bin?: string}
---@return {url: string, stop: fun(), requests: fun(): integer, dir: string}
function M.serve_installer(opts)
  opts = opts or {}
  local dir = helpers.tmpdir()
  local kip = absolute(opts.kip_bin or helpers.kip_bin())
  local k3s = assert(fs.read(FIXTURES .. "/k3s.sh")):gsub("@KIP_BIN@", function() return kip end)
  local script = assert(fs.read(FIXTURES .. "/install.sh")):gsub("@K3S_SH@\n", function() return k3s end)
  assert(fs.mkdir(dir .. "/www"))
  assert(fs.write(dir .. "/www/install.sh", script))
  local log = dir .. "/http.log"
  local cmd = string.format("exec timeout %d python3 -u -m http.server 0 --bind 127.0.0.1 --directory %q > %q 2>&1 < /dev/null",
    LIFETIME, dir .. "/www", log)
  local pid = assert(tonumber(run({ "sh", "-c", cmd .. " & echo $!" }):match("%d+")), "no pid")
  local port = helpers.eventually(function()
    return (fs.read(log) or ""):match("Serving HTTP on %S+ port (%d+)") or (not alive(pid) and "dead")
  end, 10)
  local srv = { dir = dir, pid = pid }
  function srv.stop()
    if srv.pid then
      proc.run({ "kill", tostring(srv.pid) })
      helpers.eventually(function() return not alive(srv.pid) end, 5)
      srv.pid = nil
    end
    helpers.rmtree(dir)
  end
  if not port or port == "dead" then
    local text = fs.read(log)
    srv.stop()
    error("the installer's HTTP server did not start: " .. tostring(text))
  end
  srv.url = "http://127.0.0.1:" .. port .. "/install.sh"
  ---How many times install.sh was downloaded (GET answered 200).
  function srv.requests()
    local n = 0
    for _ in (fs.read(log) or ""):gmatch('"GET /install%.sh[^"]*" 200') do n = n + 1 end
    return n
  end
  return srv
end

return M
