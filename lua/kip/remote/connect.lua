-- SPDX-License-Identifier: Apache-2.0
-- Opening the SSH connection a command works over, the way a person expects from ssh: host keys
-- checked against $KIP_HOME/known_hosts (an unknown key is confirmed on a terminal or accepted with
-- --accept-host-key, showing its SHA256 fingerprint; a changed key is always refused), an encrypted
-- key's passphrase asked on a terminal, and for a user other than root a check that sudo works.
-- Failures raise kip.cli.errors with what to do. Uses kip.ssh, kip.host, kip.config and
-- kip.recipe.ssh_target.
local config = require "kip.config"
local errors = require "kip.cli.errors"
local host = require "kip.host"
local ssh = require "kip.ssh"
local ssh_target = require "kip.recipe.ssh_target"

local M = {}

---Where kip keeps the host keys it trusts.
function M.known_hosts()
  return config.home() .. "/known_hosts"
end

---Whether kip may ask questions: standard input and error are terminals.
function M.interactive()
  return host.isatty("stdin") and host.isatty("stderr")
end

local function where(o)
  return string.format("%s@%s%s", o.user, o.host, o.port ~= 22 and (":" .. o.port) or "")
end

local function key_passphrase(o, ask)
  if not o.key then return nil end
  local info, err, code = ssh.load_key_info(o.key)
  if not info then
    if code == "notfound" then errors.fail(string.format("the SSH key %s does not exist", o.key), "Pass the private key with --ssh-key FILE.") end
    errors.fail(string.format("cannot use the SSH key %s: %s", o.key, err),
      "Pass an OpenSSH or PEM private key (ed25519, ecdsa or rsa) with --ssh-key.")
  end
  if not info.private then
    errors.fail(string.format("%s is a public key", o.key), "Pass the private key (the file without .pub) with --ssh-key.")
  end
  if not info.encrypted then return nil end
  if not ask then
    errors.fail(string.format("the SSH key %s is encrypted and there is no terminal to ask its passphrase on", o.key),
      string.format("Load it into ssh-agent first (ssh-add %s) and run kip again.", o.key))
  end
  for _ = 1, 3 do
    local pass = ask(string.format("Enter passphrase for key '%s': ", o.key), { secret = true })
    if not pass then errors.fail("no passphrase given for " .. o.key) end
    if ssh.load_key_info(o.key, { passphrase = pass }) then return pass end
    io.stderr:write("Wrong passphrase, try again.\n")
  end
  errors.fail(string.format("wrong passphrase for the SSH key %s", o.key), "Check the passphrase, or load the key into ssh-agent (ssh-add).")
end

local function fail_connect(o, err, code, details)
  local target = where(o)
  if code == "hostkey-changed" then
    errors.fail(string.format("the host key of %s has CHANGED: the server now offers %s %s", target,
      details.key_type or "?", details.fingerprint or "?"),
      string.format("Someone could be intercepting the connection. If the server was reinstalled, check that fingerprint " ..
        "on its console (ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), then remove the old key with: ssh-keygen -R '%s' -f %s",
        (details.key_type or "ed25519"):match("ssh%-(%w+)") or (details.key_type or ""):match("^(%a+)") or "ed25519",
        o.port == 22 and o.host or string.format("[%s]:%d", o.host, o.port), details.known_hosts or M.known_hosts()))
  elseif code == "auth" then
    errors.fail(string.format("%s refused the SSH login (the server allows: %s)", target,
      table.concat(details and details.allowed or {}, ", ")),
      string.format("Check the user (--ssh-user) and the key (--ssh-key), and that its .pub is in ~%s/.ssh/authorized_keys on the server.", o.user))
  elseif code == "connect" or code == "timeout" then
    errors.fail(string.format("cannot reach %s: %s", target, err),
      "Check the address and port (--ssh-port), that sshd runs there, and that no firewall blocks it.")
  end
  errors.fail(err)
end

---Connects to a server as the CLI does; returns a recipe target (see kip.recipe.ssh_target).
---@param o {host: string, port?: integer, user?: string, key?: string, accept_host_key?: boolean,
---  sudo_password?: string, ask?: fun(prompt: string, opts?: table): string|nil, connect_timeout?: number}
--- ask: how to ask the person (default kip.host.ask when interactive, else none)
function M.connect(o)
  o.port = o.port or 22
  o.user = o.user or "root"
  local ask = o.ask
  if ask == nil and M.interactive() then ask = host.ask end
  local passphrase = key_passphrase(o, ask)
  local opts = { host = o.host, port = o.port, user = o.user, key_file = o.key, key_passphrase = passphrase,
    known_hosts = M.known_hosts(), accept_unknown_host_key = o.accept_host_key,
    connect_timeout = o.connect_timeout or 10, keepalive = 15 }
  local session, err, code, details = ssh.connect(opts)
  if not session and code == "hostkey-unknown" then
    local shown = string.format("%s key fingerprint is %s", details.key_type, details.fingerprint)
    if not ask then
      errors.fail(string.format("the host key of %s is not known yet (%s)", where(o), shown),
        "Check the fingerprint on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then run again with " ..
        "--accept-host-key, or run kip from a terminal to confirm it.")
    end
    io.stderr:write(string.format("The authenticity of host '%s' can't be established.\n%s.\n", where(o), shown))
    local answer = ask("Are you sure you want to trust it and continue connecting (yes/no)? ")
    if not answer or not answer:lower():match("^%s*y") then
      errors.fail("the host key of " .. where(o) .. " was not confirmed; nothing was changed")
    end
    opts.accept_fingerprint = details.fingerprint
    session, err, code, details = ssh.connect(opts)
  end
  if passphrase then opts.key_passphrase = nil end
  if not session then fail_connect(o, err, code, details) end
  local target = ssh_target.new(session, { user = o.user, host = o.host, port = o.port, sudo_password = o.sudo_password })
  local ok, why, hint = target:check_sudo()
  if not ok then
    target:close()
    errors.fail(why, hint)
  end
  return target
end

return M
