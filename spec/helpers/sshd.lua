-- SPDX-License-Identifier: Apache-2.0
-- Starts a real OpenSSH server (/usr/sbin/sshd) for specs: host and client keys made with
-- ssh-keygen in a temporary folder, an sshd_config listening on a free loopback port,
-- `sshd -D -e` in the background (log in the folder, at most 10 minutes), stopped by pid; also
-- ssh-agent. Uses helpers, kip.proc and kip.fs; needs root (sshd switches users).
local fs = require "kip.fs"
local helpers = require "helpers"
local proc = require "kip.proc"

local M = {}

local Sshd = {}
Sshd.__index = Sshd

local SSHD = "/usr/sbin/sshd"
local LIFETIME = 600 -- seconds: `timeout` ends sshd and ssh-agent even if a spec dies before :stop()

local function run(argv, opts)
  local r = assert(proc.run(argv, opts or { timeout = 60 }))
  assert(r.status == 0, table.concat(argv, " ") .. ": " .. r.stderr)
  return r.stdout
end

-- Runs a shell line that starts something in the background and prints its pid.
local function spawn(cmd)
  return assert(tonumber(run({ "sh", "-c", cmd .. " & echo $!" }):match("%d+")), "no pid")
end

local function alive(pid)
  local status = fs.read("/proc/" .. pid .. "/status")
  return status ~= nil and not status:match("State:%s+Z")
end

local function stop_pid(pid)
  proc.run({ "kill", tostring(pid) })
  M.eventually(function() return not alive(pid) end, 5)
  if alive(pid) then proc.run({ "kill", "-KILL", tostring(pid) }) end
end

---Whether sshd, ssh-keygen and root rights are there (specs are pending() otherwise).
---@return boolean ok
---@return string? why
function M.available()
  if not fs.exists(SSHD) then return false, SSHD .. " is not installed (openssh-server)" end
  if not proc.which("ssh-keygen") then return false, "ssh-keygen is not installed (openssh-client)" end
  local id = run({ "id", "-u" })
  if not id:match("^0%s") then return false, "sshd needs root" end
  return true
end

M.eventually = helpers.eventually

---A free TCP port on 127.0.0.1, or on address (bound and released; a race with other processes is unlikely).
function M.free_port(address)
  return assert(tonumber(run({ "python3", "-c",
    "import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])",
    address or "127.0.0.1" })))
end

---n distinct free TCP ports on 127.0.0.1, or on address: all bound at once, then released (picked
---one by one, the kernel may hand the same port out twice).
---@return integer ...
function M.free_ports(n, address)
  local out = run({ "python3", "-c", [[
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[2]))]
for s in socks: s.bind((sys.argv[1], 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))]], address or "127.0.0.1", tostring(n) })
  local ports = {}
  for p in out:gmatch("%d+") do ports[#ports + 1] = assert(tonumber(p)) end
  assert(#ports == n, out)
  return table.unpack(ports)
end

---Makes a key pair with ssh-keygen at path (and path.pub); returns path.
---@param opts? {passphrase?: string, format?: "PEM"|"PKCS8"|"RFC4716", comment?: string}
function M.keygen(path, type, opts)
  opts = opts or {}
  local argv = { "ssh-keygen", "-q", "-t", type, "-N", opts.passphrase or "", "-f", path, "-C", opts.comment or "kip-spec" }
  if type == "rsa" then argv[#argv + 1] = "-b"; argv[#argv + 1] = "2048" end
  if opts.format then argv[#argv + 1] = "-m"; argv[#argv + 1] = opts.format end
  run(argv)
  return path
end

---The fingerprint ssh-keygen -l prints for a key file ("SHA256:...").
function M.fingerprint(path)
  return (run({ "ssh-keygen", "-lf", path }):match("(SHA256:%S+)"))
end

---Starts sshd; call :stop() in teardown.
---@param opts? {dir?: string, port?: integer, host_keys?: string[], suffix?: string, log_level?: string}
--- dir: reuse a folder (and its client keys); host_keys: key types ("ed25519", "ecdsa", "rsa");
--- suffix: a name suffix for new host keys (a restart with other keys)
function M.start(opts)
  opts = opts or {}
  local ok, why = M.available()
  assert(ok, why)
  local dir = opts.dir or helpers.tmpdir()
  local d = setmetatable({ dir = dir, owns_dir = not opts.dir, host_keys = {} }, Sshd)
  d.port = opts.port or M.free_port()
  d.authorized_keys = dir .. "/authorized_keys"
  d.known_hosts = dir .. "/known_hosts"
  d.log = dir .. "/sshd" .. (opts.suffix or "") .. ".log"
  local lines = {
    "ListenAddress 127.0.0.1",
    "Port " .. d.port,
  }
  for _, t in ipairs(opts.host_keys or { "ed25519", "ecdsa", "rsa" }) do
    local path = dir .. "/host_" .. t .. (opts.suffix or "")
    if not fs.exists(path) then M.keygen(path, t, { comment = "host" }) end
    d.host_keys[t] = path
    lines[#lines + 1] = "HostKey " .. path
  end
  if not fs.exists(d.authorized_keys) then helpers.write(d.authorized_keys, "", "0644") end
  for _, l in ipairs({
    "AuthorizedKeysFile " .. d.authorized_keys .. " %h/.ssh/authorized_keys",
    "StrictModes no",
    "UsePAM no",
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PidFile " .. dir .. "/sshd.pid",
    "Subsystem sftp internal-sftp",
    -- DEBUG1 logs global requests (keepalives), but also sends debug lines to sessions' stderr
    "LogLevel " .. (opts.log_level or "VERBOSE"),
  }) do lines[#lines + 1] = l end
  d.config = dir .. "/sshd_config"
  helpers.write(d.config, table.concat(lines, "\n") .. "\n", "0600")
  if not fs.exists("/run/sshd") then assert(fs.mkdir("/run/sshd", { mode = "0755" })) end
  d.pid = spawn(string.format("exec timeout %d %s -D -e -f %q >> %q 2>&1 < /dev/null", LIFETIME, SSHD, d.config, d.log))
  local listening = M.eventually(function()
    return (fs.read(d.log) or ""):find("Server listening on 127.0.0.1 port " .. d.port, 1, true) or not alive(d.pid)
  end, 10)
  if not listening or not alive(d.pid) then
    local log = fs.read(d.log)
    d:stop()
    error("sshd did not start: " .. tostring(log))
  end
  return d
end

---Makes a client key in the folder (once) and returns its path.
---@param opts? {passphrase?: string, format?: string, authorize?: boolean} authorize (default true)
function Sshd:key(name, type, opts)
  opts = opts or {}
  local path = self.dir .. "/" .. name
  if not fs.exists(path) then
    M.keygen(path, type, opts)
    if opts.authorize ~= false then self:authorize(path .. ".pub") end
  end
  return path
end

---Adds a public key file to authorized_keys.
function Sshd:authorize(pub_path)
  assert(fs.append(self.authorized_keys, assert(fs.read(pub_path))))
end

---The log lines sshd wrote so far matching a Lua pattern.
function Sshd:log_count(pattern)
  local n = 0
  for line in (fs.read(self.log) or ""):gmatch("[^\n]+") do
    if line:match(pattern) then n = n + 1 end
  end
  return n
end

---Options for kip.ssh.connect with this server's port and known_hosts, plus extra.
function Sshd:opts(extra)
  local o = { host = "127.0.0.1", port = self.port, known_hosts = self.known_hosts, agent = false,
    connect_timeout = 10 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

function Sshd:stop(keep_dir)
  if self.pid then
    stop_pid(self.pid)
    self.pid = nil
  end
  if self.owns_dir and not keep_dir then helpers.rmtree(self.dir) end
end

---Starts ssh-agent on a socket in dir; returns {sock, pid, add = fn(key_path), stop = fn()}.
function M.agent(dir)
  assert(fs.mkdir(dir))
  local sock = dir .. "/agent.sock"
  local pid = spawn(string.format("exec timeout %d ssh-agent -D -a %q > %q 2>&1 < /dev/null", LIFETIME, sock, dir .. "/agent.log"))
  assert(M.eventually(function() return fs.exists(sock) end, 5), "ssh-agent did not start")
  local agent = { sock = sock, pid = pid }
  function agent.add(key)
    run({ "ssh-add", key }, { env = { SSH_AUTH_SOCK = sock }, timeout = 30 })
  end
  function agent.stop()
    if agent.pid then stop_pid(agent.pid); agent.pid = nil end
  end
  return agent
end

return M
