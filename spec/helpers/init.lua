-- SPDX-License-Identifier: Apache-2.0
-- Shared by the specs (busted loads it first; specs `require "helpers"`): puts spec/ on
-- package.path, runs the real kip binary, and makes temporary folders. Specs run inside
-- `kip lua`, so the core modules are already there. Uses kip.proc and kip.fs.
package.path = "spec/?.lua;spec/?/init.lua;" .. package.path

local fs = require "kip.fs"
local proc = require "kip.proc"

local M = {}

---Path of the kip under test: $KIP_BIN (set by ctest), else build/kip.
function M.kip_bin()
  return os.getenv("KIP_BIN") or "build/kip"
end

---Runs kip with args. opts.env entries are added to the environment (false removes one);
---opts.stdin is written to its standard input.
---@return {status: integer, stdout: string, stderr: string}
function M.kip(args, opts)
  opts = opts or {}
  local argv = { M.kip_bin() }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local env = { KIP_CLUSTER = false, KIP_PLUGIN_PATH = false, KIP_LOG_LEVEL = false }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local result = assert(proc.run(argv, { env = env, stdin = opts.stdin, timeout = opts.timeout or 60, cwd = opts.cwd }))
  return { status = result.status, stdout = result.stdout, stderr = result.stderr }
end

---A new empty folder; remove it with M.rmtree.
function M.tmpdir()
  local r = assert(proc.run({ "mktemp", "-d", "/tmp/kip-spec.XXXXXX" }))
  assert(r.status == 0, r.stderr)
  return (r.stdout:gsub("%s+$", ""))
end

function M.rmtree(path)
  assert(path:match("^/tmp/kip%-spec%."), "refusing to remove " .. path)
  assert(proc.run({ "rm", "-rf", "--", path }))
end

---Calls fn until it returns a true value or `seconds` pass (default 10); returns that value or nil.
---Waits with kip.server.sleep, which lets servers in this process run meanwhile.
function M.eventually(fn, seconds)
  local sleep = require("kip.server").sleep
  local deadline = os.time() + (seconds or 10)
  repeat
    local v = fn()
    if v then return v end
    sleep(0.05)
  until os.time() > deadline
  return fn()
end

---Writes text to path, creating parent folders.
function M.write(path, text, mode)
  assert(fs.mkdir(path:match("^(.*)/[^/]+$")))
  assert(fs.write(path, text, { mode = mode }))
end

return M
