-- SPDX-License-Identifier: Apache-2.0
-- The SSH side of `kip install`, measured on a test host (spec/helpers/testhost.lua: this
-- machine's sshd in its own namespaces, the stand-in k3s installer): connections opened and
-- commands (SSH sessions) run, read from sshd's own log, and the wall time, for an install and for
-- a re-run; and, for comparison, the same number of commands run the way a shell-script installer
-- runs them: one `ssh` (OpenSSH client) per command. Prints Markdown rows.
-- Run from the repository root: build/kip lua bench/install_ssh.lua
package.path = "spec/?.lua;spec/?/init.lua;" .. package.path
local helpers = require "helpers"
local json = require "kip.json"
local proc = require "kip.proc"
local sshd = require "helpers.sshd"
local testhost = require "helpers.testhost"

local function now()
  local r = assert(proc.run({ "date", "+%s.%N" }))
  return tonumber(r.stdout)
end

local function count(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do n = n + 1 end
  return n
end

local home = helpers.tmpdir()
local installer = testhost.serve_installer()
local host = testhost.start({ hostname = "kip-bench" })
local ok, err = pcall(function()
  local args = { "install", "--host", host.address, "--ssh-port", tostring(host.port), "--ssh-key", host.key,
    "--accept-host-key", "--admin-email", "ops@example.com", "--set", "k3s.install_script_url=" .. installer.url,
    "--set", "k3s.api_port=" .. sshd.free_port(), "--set", "preflight.min_disk_gb=1", "-o", "json" }
  local rows = {}
  for _, what in ipairs({ "install on a new server", "re-run on the installed server" }) do
    local log_before = host:log_text()
    local t0 = now()
    local r = helpers.kip(args, { env = { KIP_HOME = home, SSH_AUTH_SOCK = false }, timeout = 300 })
    local seconds = now() - t0
    assert(r.status == 0, r.stdout .. r.stderr)
    local result = json.decode(r.stdout)
    local log = host:log_text():sub(#log_before + 1)
    rows[#rows + 1] = { what = what, seconds = seconds, connections = count(log, "Accepted publickey"),
      sessions = count(log, "Starting session"), commands = result.ssh_commands, ran = result.ran, skipped = result.skipped,
      fetches = installer.requests() }
  end
  -- the comparison: as many `ssh HOST true` as the re-run ran commands, one connection each
  local n = rows[2].sessions
  local ssh_args = { "ssh", "-q", "-i", host.key, "-p", tostring(host.port), "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "root@" .. host.address, "true" }
  local t0 = now()
  for _ = 1, n do
    local r = assert(proc.run(ssh_args, { timeout = 30 }))
    assert(r.status == 0, r.stderr)
  end
  local ssh_seconds = now() - t0
  for _, row in ipairs(rows) do
    print(string.format("| kip install: %s | %d | %d | %d | %.2f | %d ran, %d skipped; install script fetched %d time(s) in all |",
      row.what, row.connections, row.sessions, row.commands, row.seconds, row.ran, row.skipped, row.fetches))
  end
  print(string.format("| OpenSSH client: %d x `ssh root@host true` (one connection per command) | %d | %d | %d | %.2f | %s |",
    n, n, n, n, ssh_seconds, "what a re-run costs a script that connects per command"))
  print(string.format("\nRe-run / one-connection-per-command: %.2fx the time, with 1 connection instead of %d.",
    rows[2].seconds / ssh_seconds, n))
end)
host:stop()
installer.stop()
helpers.rmtree(home)
if not ok then error(err, 0) end
