-- SPDX-License-Identifier: Apache-2.0
-- A recipe target on a server over one SSH session (kip.ssh): commands run as root, directly when
-- the SSH user is root and through sudo otherwise (`sudo -n`, or `sudo -S` with the password on
-- stdin; never in argv), each on its own channel with progress ticks while it waits; files written
-- and read over SFTP (through a private temporary file and sudo for a non-root user). Counts the
-- commands it runs, for the SSH benchmark. Uses kip.ssh sessions and kip.util.strings.
local strings = require "kip.util.strings"

local M = {}

local Target = {}
Target.__index = Target

local q = strings.shell_quote

-- The sudo prefix and the text to send before the command's own stdin.
local function sudo_wrap(self, command, stdin)
  if self.sudo == "root" then return command, stdin end
  local inner = "sh -c " .. q(command)
  if self.sudo_password then
    -- -k: always ask, so the password line is read even when a timestamp is cached
    return "sudo -k -S -p '' -- " .. inner, self.sudo_password .. "\n" .. (stdin or "")
  end
  return "sudo -n -- " .. inner, stdin
end

---@param session table a kip.ssh session
---@param opts {user: string, host: string, port?: integer, sudo_password?: string}
function M.new(session, opts)
  local t = setmetatable({ session = session, user = opts.user, host = opts.host, commands = 0,
    sudo = opts.user == "root" and "root" or "sudo", sudo_password = opts.sudo_password }, Target)
  t.description = string.format("%s@%s%s", opts.user, opts.host,
    (opts.port and opts.port ~= 22) and (":" .. opts.port) or "")
  return t
end

---Checks that this user can become root: nil, message, hint when not.
function Target:check_sudo()
  if self.sudo == "root" then return true end
  local r, err = self:exec("true")
  if not r then return nil, err end
  if r.status == 0 then return true end
  local text = r.stderr
  if text:find("is not in the sudoers file", 1, true) or text:find("may not run sudo", 1, true) then
    return nil, string.format("user %s has no sudo rights on %s", self.user, self.host),
      string.format("Give %s sudo rights on the server (e.g. add it to the sudo group), or connect as root.", self.user)
  end
  if text:find("password is required", 1, true) or text:find("incorrect password", 1, true)
    or text:find("no password was provided", 1, true) then
    if self.sudo_password then
      return nil, string.format("sudo on %s refused the password given on stdin for %s", self.host, self.user),
        "Check the password; kip reads it from the first line of stdin with --sudo-password-stdin."
    end
    return nil, string.format("user %s needs a password for sudo on %s (or has no sudo rights there)", self.user, self.host),
      string.format("Pass the password with --sudo-password-stdin (e.g. 'kip install ... --sudo-password-stdin < pwfile'), " ..
        "or allow passwordless sudo: echo '%s ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/kipper", self.user)
  end
  if text:find("not found", 1, true) and text:find("sudo", 1, true) then
    return nil, string.format("sudo is not installed on %s, and %s is not root", self.host, self.user),
      "Install sudo on the server, or connect as root with --ssh-user root."
  end
  return nil, string.format("user %s cannot use sudo on %s: %s", self.user, self.host, strings.trim(text)),
    string.format("Give %s sudo rights on the server (e.g. add it to the sudo group), or connect as root.", self.user)
end

---Runs command as root; {status, signal, stdout, stderr} or nil, message, code.
---@param opts? {stdin?: string, timeout?: number, on_wait?: fun()}
function Target:exec(command, opts)
  opts = opts or {}
  local wrapped, stdin = sudo_wrap(self, command, opts.stdin)
  self.commands = self.commands + 1
  local ch, err, code = self.session:open(wrapped, { timeout = opts.timeout })
  if not ch then return nil, err, code end
  if stdin and stdin ~= "" then
    local ok, werr, wcode = ch:write(stdin)
    if not ok then ch:close(); return nil, werr, wcode end
  end
  ch:close_stdin()
  local out, errs = {}, {}
  while true do
    local kind, data, extra = ch:read(0.2)
    if kind == "stdout" then out[#out + 1] = data
    elseif kind == "stderr" then errs[#errs + 1] = data
    elseif kind == "idle" then if opts.on_wait then opts.on_wait() end
    elseif kind == "exit" then
      ch:close()
      local status = math.tointeger(data)
      return { status = status, signal = extra, ok = status == 0, stdout = table.concat(out), stderr = table.concat(errs) }
    else
      ch:close()
      return nil, data or "the channel closed", extra or "io"
    end
  end
end

---Writes path (as root) atomically with mode, creating its folder.
function Target:upload(path, data, opts)
  local mode = opts and opts.mode or "0644"
  if math.type(mode) == "integer" then mode = string.format("%04o", mode) end
  if self.sudo == "root" then
    self.commands = self.commands + 1
    return self.session:upload(path, data, { mode = mode, parents = true })
  end
  local tmp = string.format("/tmp/.kip-upload-%d-%d", os.time(), math.random(1, 1 << 30))
  self.commands = self.commands + 1
  local ok, err, code = self.session:upload(tmp, data, { mode = "0600" })
  if not ok then return nil, err, code end
  local dir = path:match("^(.*)/[^/]*$")
  local r, rerr, rcode = self:exec(string.format(
    "mkdir -p %s && cp %s %s.kip-new && chmod %s %s.kip-new && chown root:root %s.kip-new && mv -f %s.kip-new %s; s=$?; rm -f %s; exit $s",
    q(dir ~= "" and dir or "/"), q(tmp), q(path), mode, q(path), q(path), q(path), q(path), q(tmp)))
  if not r then return nil, rerr, rcode end
  if r.status ~= 0 then return nil, string.format("cannot write %s: %s", path, strings.trim(r.stderr)), "io" end
  return true
end

---Reads path (as root): data, or nil, message, code ("notfound" when it does not exist).
function Target:download(path)
  if self.sudo == "root" then
    self.commands = self.commands + 1
    return self.session:download(path)
  end
  local r, err, code = self:exec(string.format("if [ -e %s ]; then cat %s; else exit 3; fi", q(path), q(path)))
  if not r then return nil, err, code end
  if r.status == 3 then return nil, path .. ": no such file", "notfound" end
  if r.status ~= 0 then return nil, string.format("cannot read %s: %s", path, strings.trim(r.stderr)), "io" end
  return r.stdout
end

function Target:close()
  if self.session then self.session:close() end
end

return M
