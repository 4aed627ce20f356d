-- SPDX-License-Identifier: Apache-2.0
-- kip.proc: run (outputs, status, signals, stdin, shell, env, cwd, timeout, cap, errors, misuse),
-- spawn (output files, wait, kill, process groups, die_with_parent, errors, misuse) and which.
local proc = require "kip.proc"
local fs = require "kip.fs"
local helpers = require "helpers"

-- State letter and process group of pid from /proc, or nil once it is gone.
local function stat(pid)
  local text = fs.read("/proc/" .. pid .. "/stat")
  if not text then return nil end
  local state, pgrp = text:match("%) (%a) %-?%d+ (%d+)")
  return state, tonumber(pgrp)
end

-- Whether pid exists and is not a zombie (an orphan may stay a zombie: that counts as dead).
local function running(pid)
  local state = stat(pid)
  return state ~= nil and state ~= "Z" and state ~= "X"
end

describe("kip.proc", function()
  describe("run", function()
    it("returns the status and both outputs", function()
      local r = assert(proc.run({ "sh", "-c", "echo out; echo err >&2; exit 3" }))
      assert.equal(3, r.status)
      assert.is_nil(r.signal)
      assert.is_false(r.ok)
      assert.equal("out\n", r.stdout)
      assert.equal("err\n", r.stderr)

      r = assert(proc.run({ "true" }))
      assert.same({ status = 0, ok = true, stdout = "", stderr = "" }, r)
    end)

    it("passes arguments verbatim, without a shell", function()
      local r = assert(proc.run({ "printf", "%s|", "a b", "$HOME", "*", "" }))
      assert.equal("a b|$HOME|*||", r.stdout)
    end)

    it("feeds stdin; without it stdin is empty", function()
      local big = ("0123456789abcdef"):rep(65536) -- 1 MiB
      local r = assert(proc.run({ "cat" }, { stdin = big }))
      assert.equal(#big, #r.stdout)
      assert.is_true(r.stdout == big)
      r = assert(proc.run({ "cat" }, { timeout = 5 }))
      assert.equal("", r.stdout)
    end)

    it("survives a command that does not read its stdin", function()
      local r = assert(proc.run({ "true" }, { stdin = ("x"):rep(4 * 1024 * 1024) }))
      assert.is_true(r.ok)
    end)

    it("reports a signal instead of a status", function()
      local r = assert(proc.run({ "sh", "-c", "kill -TERM $$" }))
      assert.is_nil(r.status)
      assert.equal(15, r.signal)
      assert.is_false(r.ok)
    end)

    it("runs a string through /bin/sh with shell = true", function()
      local r = assert(proc.run("echo $((1 + 2)) | tr 3 x", { shell = true }))
      assert.equal("x\n", r.stdout)
      assert.is_true(r.ok)
    end)

    it("overrides, removes and clears environment variables", function()
      local r = assert(proc.run({ "sh", "-c", 'echo "$KIP_SPEC_A:${HOME-unset}:${PATH:+path}"' },
        { env = { KIP_SPEC_A = "one two", HOME = false } }))
      assert.equal("one two:unset:path\n", r.stdout)

      r = assert(proc.run({ "/usr/bin/env" }, { clear_env = true, env = { ONLY = "1" } }))
      assert.equal("ONLY=1\n", r.stdout)
      r = assert(proc.run({ "/usr/bin/env" }, { clear_env = true }))
      assert.equal("", r.stdout)
      -- PATH is looked up in the child's environment (with the /bin:/usr/bin default)
      r = assert(proc.run({ "env" }, { clear_env = true }))
      assert.equal("", r.stdout)
    end)

    it("runs in cwd", function()
      local r = assert(proc.run({ "pwd" }, { cwd = "/" }))
      assert.equal("/\n", r.stdout)
      local ok, msg, code = proc.run({ "pwd" }, { cwd = "/nonexistent-kip-spec" })
      assert.is_nil(ok)
      assert.equal("notfound", code)
      assert.matches("/nonexistent-kip-spec", msg, 1, true)
    end)

    it("returns nil, msg, 'notfound' for a missing command", function()
      -- (a PATH entry we may not search would give "permission", as with execvp)
      local r, msg, code = proc.run({ "kip-spec-no-such-command", "arg" }, { env = { PATH = "/usr/bin:/bin" } })
      assert.is_nil(r)
      assert.equal("cannot run 'kip-spec-no-such-command': No such file or directory", msg)
      assert.equal("notfound", code)
    end)

    it("returns nil, msg, 'permission' for a file that is not executable", function()
      local tmp = os.tmpname()
      assert(fs.write(tmp, "echo hi\n"))
      local r, msg, code = proc.run({ tmp })
      fs.remove(tmp)
      assert.is_nil(r)
      assert.equal("permission", code)
      assert.matches(tmp, msg, 1, true)
    end)

    it("kills the command and its children on timeout", function()
      local t0 = os.time()
      local r, msg, code, partial = proc.run({ "sh", "-c", "echo started; sleep 30; echo never" }, { timeout = 0.2 })
      assert.is_nil(r)
      assert.equal("timeout", code)
      assert.matches("'sh'", msg, 1, true)
      assert.matches("0.2", msg, 1, true)
      assert.is_true(os.time() - t0 < 10)
      assert.is_table(partial)
      assert.equal("started\n", partial.stdout)
      assert.equal(9, partial.signal)
      assert.is_false(partial.ok)
    end)

    it("returns nil, msg, 'nomem' past max_output", function()
      local r, msg, code, partial = proc.run({ "yes" }, { max_output = 100, timeout = 10 })
      assert.is_nil(r)
      assert.equal("nomem", code)
      assert.matches("100 bytes", msg, 1, true)
      assert.equal(100, #partial.stdout)
    end)

    it("raises on misuse", function()
      assert.has_error(function() proc.run("echo hi") end,
        "kip.proc.run: argv must be an array of strings; pass shell = true to run a string through /bin/sh")
      assert.has_error(function() proc.run() end)
      assert.has_error(function() proc.run({}) end)
      assert.has_error(function() proc.run({ "echo", 1 }) end)
      assert.has_error(function() proc.run({ "echo", {} }) end)
      assert.has_error(function() proc.run({ "echo\0x" }) end)
      assert.has_error(function() proc.run({ "echo" }, "opts") end)
      assert.has_error(function() proc.run({ "echo" }, { shell = true }) end)
      assert.has_error(function() proc.run({ "echo" }, { timeout = "1" }) end)
      assert.has_error(function() proc.run({ "echo" }, { timeout = -1 }) end)
      assert.has_error(function() proc.run({ "echo" }, { max_output = 1.5 }) end)
      assert.has_error(function() proc.run({ "echo" }, { stdin = 42 }) end)
      assert.has_error(function() proc.run({ "echo" }, { env = "A=1" }) end)
      assert.has_error(function() proc.run({ "echo" }, { env = { A = true } }) end)
      assert.has_error(function() proc.run({ "echo" }, { env = { ["A=B"] = "x" } }) end)
      assert.has_error(function() proc.run({ "echo" }, { env = { [1] = "x" } }) end)
      assert.has_error(function() proc.run({ "echo" }, { clear_env = 1 }) end)
      assert.has_error(function() proc.run({ "echo" }, { cwd = false }) end)
    end)
  end)

  describe("spawn", function()
    local dir
    before_each(function() dir = helpers.tmpdir() end)
    after_each(function() helpers.rmtree(dir) end)

    it("runs in the background with output appended to a file; kill and wait", function()
      local out = dir .. "/out.log"
      local p = assert(proc.spawn({ "sh", "-c", "echo hi; sleep 30" }, { stdout = out }))
      assert.is_true(p:alive())
      assert.is_true(math.type(p:pid()) == "integer" and p:pid() > 0)
      assert.is_true(helpers.eventually(function() return fs.read(out) == "hi\n" end, 5))
      assert.equal(tonumber("600", 8), fs.stat(out).mode & tonumber("777", 8))
      assert.matches("^kip%.proc%.Process: 'sh' %(pid %d+%)$", tostring(p))
      assert.is_true(p:kill("TERM"))
      local r = assert(p:wait(5))
      assert.same({ signal = 15, ok = false }, r)
      assert.is_false(p:alive())
      assert.same(r, p:wait()) -- remembered
      assert.matches("killed by signal 15", tostring(p))
      local ok, msg, code = p:kill()
      assert.is_nil(ok)
      assert.equal("notfound", code)
      assert.matches("'sh' %(pid %d+%) has already exited", msg)

      -- appended, not truncated; a string command with shell = true
      p = assert(proc.spawn("echo again", { shell = true, stdout = out }))
      assert.same({ status = 0, ok = true }, p:wait(5))
      assert.equal("hi\nagain\n", fs.read(out))
    end)

    it("reports the exit status", function()
      local p = assert(proc.spawn({ "sh", "-c", "exit 3" }))
      assert.same({ status = 3, ok = false }, p:wait())
      assert.is_false(p:alive())
      assert.matches("exited with status 3", tostring(p))
    end)

    it("fails synchronously when the program cannot start", function()
      local p, msg, code = proc.spawn({ "kip-spec-no-such-command" }, { env = { PATH = "/usr/bin:/bin" } })
      assert.is_nil(p)
      assert.equal("cannot run 'kip-spec-no-such-command': No such file or directory", msg)
      assert.equal("notfound", code)
      p, msg, code = proc.spawn({ "pwd" }, { cwd = "/nonexistent-kip-spec" })
      assert.is_nil(p)
      assert.equal("notfound", code)
      assert.matches("/nonexistent-kip-spec", msg, 1, true)
      p, msg, code = proc.spawn({ "pwd" }, { stdout = "/nonexistent-kip-spec/out.log" })
      assert.is_nil(p)
      assert.equal("notfound", code)
      assert.matches("/nonexistent-kip-spec/out.log", msg, 1, true)
    end)

    it("applies env and cwd; stderr = 'stdout' shares the file", function()
      local out = dir .. "/out.log"
      local p = assert(proc.spawn({ "sh", "-c", 'echo "$KIP_SPEC_A:${HOME-unset}"; echo err >&2; pwd; echo last >&2' },
        { env = { KIP_SPEC_A = "one two", HOME = false }, cwd = "/", stdout = out, stderr = "stdout" }))
      assert.same({ status = 0, ok = true }, p:wait(5))
      assert.equal("one two:unset\nerr\n/\nlast\n", fs.read(out))

      p = assert(proc.spawn({ "/usr/bin/env" }, { clear_env = true, env = { ONLY = "1" }, stdout = out .. ".env",
        stderr = dir .. "/err.log" }))
      assert(p:wait(5))
      assert.equal("ONLY=1\n", fs.read(out .. ".env"))
      assert.equal("", fs.read(dir .. "/err.log"))
    end)

    it("waits with a timeout, then for good", function()
      local p = assert(proc.spawn({ "sleep", "30" }))
      local t0 = os.time()
      local r, msg, code = p:wait(0.1)
      assert.is_nil(r)
      assert.equal("timeout", code)
      assert.matches("timed out", msg, 1, true)
      assert.is_true(os.time() - t0 < 5)
      assert.is_true(p:alive())
      r, msg, code = p:wait(0)
      assert.is_nil(r)
      assert.equal("timeout", code)
      assert.matches("still running after 0 s", msg, 1, true)
      assert.is_true(p:kill("KILL"))
      assert.same({ signal = 9, ok = false }, p:wait())
    end)

    it("puts the child in its own process group unless new_group = false", function()
      local p = assert(proc.spawn({ "sleep", "30" }))
      local _, pgrp = stat(p:pid())
      assert.equal(p:pid(), pgrp)
      assert(p:kill("KILL"))
      assert(p:wait(5))

      local _, mine = stat("self")
      p = assert(proc.spawn({ "sleep", "30" }, { new_group = false }))
      _, pgrp = stat(p:pid())
      assert.equal(mine, pgrp)
      assert.is_true(p:kill(15)) -- the process only: we are in that group too
      assert.same({ signal = 15, ok = false }, p:wait(5))
    end)

    it("kills the whole group, grandchildren included", function()
      local out = dir .. "/pid"
      local p = assert(proc.spawn({ "sh", "-c", "sleep 30 & echo $!; wait" }, { stdout = out }))
      local grandchild = helpers.eventually(function() return tonumber((fs.read(out) or ""):match("^(%d+)\n")) end, 5)
      assert.is_number(grandchild)
      assert.is_true(running(grandchild))
      assert.is_true(p:kill())
      assert.same({ signal = 15, ok = false }, p:wait(5))
      assert.is_true(helpers.eventually(function() return not running(grandchild) end, 5))
    end)

    it("starts the child with default signal handling", function()
      -- INT is delivered to sleep even if kip ignores it; TERM even if kip blocks it
      local p = assert(proc.spawn({ "sleep", "30" }))
      assert.is_true(p:kill("INT"))
      assert.same({ signal = 2, ok = false }, p:wait(5))
      p = assert(proc.spawn({ "sleep", "30" }))
      assert.is_true(p:kill("SIGHUP"))
      assert.same({ signal = 1, ok = false }, p:wait(5))
    end)

    it("dies with its parent unless die_with_parent = false", function()
      local function spawn_from_short_lived_kip(opts)
        local r = assert(proc.run({ helpers.kip_bin(), "lua", "-" }, { timeout = 30, stdin =
          'local p = assert(require("kip.proc").spawn({ "sleep", "30" }, ' .. opts .. '))\n' ..
          'io.write(p:pid())\n' }))
        assert.equal(0, r.status, r.stderr)
        return assert(tonumber(r.stdout))
      end
      local pid = spawn_from_short_lived_kip("{}")
      assert.is_true(helpers.eventually(function() return not running(pid) end, 5))

      pid = spawn_from_short_lived_kip("{ die_with_parent = false }")
      require("kip.server").sleep(0.2)
      assert.is_true(running(pid))
      assert(proc.run({ "kill", "-KILL", tostring(pid) }))
      assert.is_true(helpers.eventually(function() return not running(pid) end, 5))
    end)

    it("never kills implicitly: __close and __gc only reap", function()
      local pid
      do
        local p <close> = assert(proc.spawn({ "sleep", "30" }))
        pid = p:pid()
      end
      collectgarbage()
      collectgarbage()
      assert.is_true(running(pid))
      assert(proc.run({ "kill", "-KILL", tostring(pid) }))
      assert.is_true(helpers.eventually(function() return not running(pid) end, 5))

      -- closing an exited one reaps it: no zombie is left behind
      do
        local p <close> = assert(proc.spawn({ "true" }))
        pid = p:pid()
        assert.is_true(helpers.eventually(function() return stat(pid) == "Z" end, 5))
      end
      assert.is_nil(stat(pid))
    end)

    it("releases the host lock while it waits, so kip.server handlers run meanwhile", function()
      if not proc.which("curl") then pending("curl is not installed") return end
      local server = require "kip.server"
      local srv = assert(server.listen({ listen = "127.0.0.1:0", handler = function()
        return { status = 200, body = "handled" }
      end }))
      finally(function() srv:close() end)
      local out = dir .. "/curl.out"
      local p = assert(proc.spawn({ "curl", "-s", "-m", "5", "http://127.0.0.1:" .. srv:port() .. "/" }, { stdout = out }))
      assert.same({ status = 0, ok = true }, p:wait(10))
      assert.equal("handled", fs.read(out))
    end)

    it("raises on misuse", function()
      assert.has_error(function() proc.spawn("sleep 1") end,
        "kip.proc.spawn: argv must be an array of strings; pass shell = true to run a string through /bin/sh")
      assert.has_error(function() proc.spawn() end)
      assert.has_error(function() proc.spawn({}) end)
      assert.has_error(function() proc.spawn({ "echo", 1 }) end)
      assert.has_error(function() proc.spawn({ "echo" }, "opts") end)
      assert.has_error(function() proc.spawn({ "echo" }, { stdin = "x" }) end,
        "kip.proc.spawn: option 'stdin' is not supported (stdin is /dev/null)")
      assert.has_error(function() proc.spawn({ "echo" }, { timeout = 1 }) end)
      assert.has_error(function() proc.spawn({ "echo" }, { max_output = 1 }) end)
      assert.has_error(function() proc.spawn({ "echo" }, { stdout = 1 }) end)
      assert.has_error(function() proc.spawn({ "echo" }, { stdout = "" }) end)
      assert.has_error(function() proc.spawn({ "echo" }, { stderr = false }) end)
      assert.has_error(function() proc.spawn({ "echo" }, { new_group = "yes" }) end)
      assert.has_error(function() proc.spawn({ "echo" }, { die_with_parent = 0 }) end)
      assert.has_error(function() proc.spawn({ "echo" }, { env = { A = true } }) end)
      local p = assert(proc.spawn({ "true" }))
      assert.has_error(function() p:kill("BOGUS") end)
      assert.has_error(function() p:kill(0) end)
      assert.has_error(function() p:kill(1.5) end)
      assert.has_error(function() p:wait(-1) end)
      assert.has_error(function() p:wait("1") end)
      assert.has_error(function() p.pid({}) end)
      assert(p:wait(5))
    end)
  end)

  describe("which", function()
    it("finds executables in PATH", function()
      local sh = proc.which("sh")
      assert.is_string(sh)
      assert.matches("^/.*/sh$", sh)
      assert.equal("/bin/sh", proc.which("/bin/sh"))
      assert.is_nil(proc.which("kip-spec-no-such-command"))
      assert.is_nil(proc.which("/etc/passwd"))
      assert.has_error(function() proc.which() end)
    end)
  end)
end)
