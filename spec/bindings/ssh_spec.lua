-- SPDX-License-Identifier: Apache-2.0
-- kip.ssh against a real OpenSSH server on loopback (spec/helpers/sshd.lua): host key checking
-- (unknown, accepted and recorded, hashed known_hosts, changed), key types and formats, encrypted
-- keys, ssh-agent, refused authentication, unreachable ports, exec (output, status, signals,
-- stdin, large output, timeouts that kill, one connection for many commands), streamed channels,
-- SFTP upload and download, a non-root user, and misuse.
local fs = require "kip.fs"
local helpers = require "helpers"
local proc = require "kip.proc"
local server = require "kip.server"
local ssh = require "kip.ssh"
local sshd = require "helpers.sshd"

local available, why = sshd.available()
if not available then
  describe("kip.ssh", function()
    it("runs against a real sshd", function() pending(why) end)
  end)
  return
end

local function now()
  local r = assert(proc.run({ "date", "+%s.%N" }))
  return tonumber(r.stdout)
end

describe("kip.ssh", function()
  local d, key

  lazy_setup(function()
    d = sshd.start()
    key = d:key("id_ed25519", "ed25519")
  end)

  lazy_teardown(function()
    if d then d:stop() end
  end)

  -- A session that has the server's key recorded already.
  local function connect(extra)
    local o = d:opts({ key_file = key, accept_unknown_host_key = true, keepalive = 0 })
    for k, v in pairs(extra or {}) do o[k] = v end
    return assert(ssh.connect(o))
  end

  describe("host keys", function()
    it("refuses an unknown key and reports its fingerprint as ssh-keygen prints it", function()
      local kh = d.dir .. "/unknown_known_hosts"
      local s, msg, code, details = ssh.connect(d:opts({ key_file = key, known_hosts = kh }))
      assert.is_nil(s)
      assert.equals("hostkey-unknown", code)
      assert.equals(sshd.fingerprint(d.host_keys.ed25519 .. ".pub"), details.fingerprint)
      assert.equals("ssh-ed25519", details.key_type)
      assert.matches(details.fingerprint, msg, 1, true)
      assert.matches("root@127.0.0.1:" .. d.port, msg, 1, true)
      assert.is_false(fs.exists(kh))
    end)

    it("records an accepted key in known_hosts and verifies it the next time", function()
      local kh = d.dir .. "/accept %d/known_hosts" -- its folder is created too; libssh's %d is not expanded
      local s = assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh, accept_unknown_host_key = true })))
      local fp, type = s:fingerprint()
      assert.equals(sshd.fingerprint(d.host_keys.ed25519 .. ".pub"), fp)
      assert.equals("ssh-ed25519", type)
      s:close()
      local text = assert(fs.read(kh))
      assert.matches("^%[127%.0%.0%.1%]:" .. d.port .. " ssh%-ed25519 AAAA%S+\n$", text)
      -- verified without accepting now; a second accept does not add a line
      s = assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh })))
      s:close()
      s = assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh, accept_unknown_host_key = true })))
      s:close()
      assert.equals(text, fs.read(kh))
    end)

    it("accepts an unknown key only with the fingerprint that was confirmed", function()
      local kh = d.dir .. "/confirm/known_hosts"
      local s, msg, code = ssh.connect(d:opts({ key_file = key, known_hosts = kh, accept_fingerprint = "SHA256:not-this-one" }))
      assert.is_nil(s)
      assert.equals("hostkey-unknown", code)
      assert.matches("not SHA256:not-this-one, the one that was confirmed", msg, 1, true)
      assert.is_false(fs.exists(kh))
      local fp = sshd.fingerprint(d.host_keys.ed25519 .. ".pub")
      s = assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh, accept_fingerprint = fp })))
      s:close()
      assert.matches("^%[127%.0%.0%.1%]:" .. d.port .. " ssh%-ed25519 ", fs.read(kh))
    end)

    it("reads hashed known_hosts entries (ssh-keygen -H)", function()
      local kh = d.dir .. "/hashed_known_hosts"
      assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh, accept_unknown_host_key = true }))):close()
      local r = assert(proc.run({ "ssh-keygen", "-H", "-f", kh }))
      assert.equals(0, r.status, r.stderr)
      assert.matches("^|1|", fs.read(kh))
      assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh }))):close()
    end)

    it("checks the other host key types", function()
      for _, t in ipairs({ "ecdsa", "rsa" }) do
        local kh = d.dir .. "/kh_" .. t
        local pub = assert(fs.read(d.host_keys[t] .. ".pub"))
        helpers.write(kh, "[127.0.0.1]:" .. d.port .. " " .. pub)
        local s = assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh })))
        assert.equals(sshd.fingerprint(d.host_keys[t] .. ".pub"), s:fingerprint())
        s:close()
      end
    end)
  end)

  describe("authentication", function()
    it("uses ed25519, ecdsa and rsa keys in OpenSSH and PEM formats", function()
      for _, k in ipairs({
        { "id_ecdsa", "ecdsa" }, { "id_rsa", "rsa" },
        { "id_rsa_pem", "rsa", { format = "PEM" } }, { "id_ecdsa_pem", "ecdsa", { format = "PEM" } },
        { "id_ed25519_pkcs8", "ed25519", { format = "PKCS8" } },
      }) do
        local path = d:key(k[1], k[2], k[3])
        local s = assert(ssh.connect(d:opts({ key_file = path, accept_unknown_host_key = true })))
        assert.equals("ok\n", s:exec("echo ok").stdout, k[1])
        s:close()
      end
    end)

    it("reports an encrypted key without passphrase, a wrong one, then works with the right one", function()
      local path = d:key("id_encrypted", "ed25519", { passphrase = "s3cret pass" })
      local before = d:log_count("Connection from")
      local s, msg, code = ssh.connect(d:opts({ key_file = path }))
      assert.is_nil(s)
      assert.equals("passphrase", code)
      assert.matches("is encrypted", msg)
      s, msg, code = ssh.connect(d:opts({ key_file = path, key_passphrase = "wrong" }))
      assert.is_nil(s)
      assert.equals("passphrase", code)
      assert.matches("wrong passphrase", msg)
      assert.not_matches("s3cret", msg)
      assert.equals(before, d:log_count("Connection from")) -- checked before connecting
      s = assert(ssh.connect(d:opts({ key_file = path, key_passphrase = "s3cret pass", accept_unknown_host_key = true })))
      assert.equals("ok\n", s:exec("echo ok").stdout)
      assert.not_matches("s3cret", tostring(s))
      s:close()
      -- an encrypted PEM key too
      local pem = d:key("id_encrypted_pem", "rsa", { passphrase = "pem-pass", format = "PEM" })
      assert.equals("passphrase", select(3, ssh.connect(d:opts({ key_file = pem }))))
      assert(ssh.connect(d:opts({ key_file = pem, key_passphrase = "pem-pass", accept_unknown_host_key = true }))):close()
    end)

    it("refuses a key the server does not know, saying what was tried and what is allowed", function()
      local other = d:key("id_other", "ed25519", { authorize = false })
      local s, msg, code, details = ssh.connect(d:opts({ key_file = other, accept_unknown_host_key = true }))
      assert.is_nil(s)
      assert.equals("auth", code)
      assert.matches("authentication refused", msg)
      assert.matches(other, msg, 1, true)
      assert.matches(sshd.fingerprint(other), msg, 1, true)
      assert.matches("the server allows: publickey", msg, 1, true)
      assert.same({ "publickey" }, details.allowed)
      s, msg, code = ssh.connect(d:opts({ accept_unknown_host_key = true }))
      assert.is_nil(s)
      assert.equals("auth", code)
      assert.matches("no way to authenticate", msg)
    end)

    it("uses the keys of ssh-agent", function()
      local agents = {} -- busted keeps one finally per test
      finally(function() for _, a in ipairs(agents) do a.stop() end end)
      local agent = sshd.agent(d.dir)
      agents[1] = agent
      local path = d:key("id_agent", "ecdsa")
      agent.add(path)
      local s = assert(ssh.connect(d:opts({ agent = true, agent_socket = agent.sock, accept_unknown_host_key = true })))
      assert.equals("ok\n", s:exec("echo ok").stdout)
      s:close()
      -- an encrypted key_file without passphrase is fine when the agent holds a key that gets in
      local enc = d:key("id_encrypted", "ed25519", { passphrase = "s3cret pass" })
      s = assert(ssh.connect(d:opts({ key_file = enc, agent = true, agent_socket = agent.sock, accept_unknown_host_key = true })))
      s:close()
      -- and reported as a passphrase problem when it does not
      local empty = sshd.agent(d.dir .. "/agent2")
      agents[2] = empty
      local _, msg, code = ssh.connect(d:opts({ key_file = enc, agent = true, agent_socket = empty.sock, accept_unknown_host_key = true }))
      assert.equals("passphrase", code)
      assert.matches("ssh%-agent did not get in", msg)
      _, msg, code = ssh.connect(d:opts({ agent = true, agent_socket = d.dir .. "/no-agent", accept_unknown_host_key = true }))
      assert.equals("auth", code)
      assert.matches("no agent socket at", msg)
    end)

    it("fails quickly with code connect on a closed port", function()
      local t0 = now()
      local s, msg, code = ssh.connect(d:opts({ key_file = key, port = sshd.free_port() }))
      assert.is_nil(s)
      assert.equals("connect", code)
      assert.matches("Connection refused", msg)
      assert.is_true(now() - t0 < 2)
    end)
  end)

  describe("exec", function()
    local s
    lazy_setup(function() s = connect() end)
    lazy_teardown(function() if s then s:close() end end)

    it("returns stdout, stderr and the exit status", function()
      local r = assert(s:exec("echo out; echo err >&2; exit 3"))
      assert.same({ status = 3, ok = false, stdout = "out\n", stderr = "err\n" }, r)
      r = assert(s:exec("true"))
      assert.same({ status = 0, ok = true, stdout = "", stderr = "" }, r)
    end)

    it("reports a command killed by a signal", function()
      local r = assert(s:exec("kill -TERM $$"))
      assert.equals("TERM", r.signal)
      assert.is_nil(r.status)
      assert.is_false(r.ok)
    end)

    it("feeds stdin, small and large", function()
      assert.equals("hello", s:exec("cat", { stdin = "hello" }).stdout)
      local big = string.rep("0123456789abcdef", 256 * 1024) -- 4 MiB
      local r = assert(s:exec("wc -c", { stdin = big }))
      assert.equals(tostring(#big), r.stdout:match("%d+"))
      r = assert(s:exec("cat", { stdin = big }))
      assert.equals(#big, #r.stdout)
      assert.is_true(r.stdout == big)
      -- a command that does not read its input is no failure
      assert.equals(0, s:exec("true", { stdin = big }).status)
    end)

    it("collects several MiB of output and caps it with max_output", function()
      local r = assert(s:exec("head -c 6000000 /dev/zero | tr '\\0' x; head -c 3000000 /dev/zero | tr '\\0' y >&2"))
      assert.equals(6000000, #r.stdout)
      assert.equals(3000000, #r.stderr)
      assert.is_nil(r.stdout:find("[^x]"))
      local none, msg, code, partial = s:exec("head -c 100000 /dev/zero", { max_output = 1000 })
      assert.is_nil(none)
      assert.equals("nomem", code)
      assert.matches("max_output", msg)
      assert.equals(1000, #partial.stdout)
    end)

    it("kills a command that runs past its timeout and returns quickly", function()
      local t0 = now()
      local r, msg, code, partial = s:exec("echo started; sleep 30", { timeout = 1 })
      local took = now() - t0
      assert.is_nil(r)
      assert.equals("timeout", code)
      assert.matches("did not finish within 1 s", msg)
      assert.equals("started\n", partial.stdout)
      assert.is_true(took < 4, "took " .. took)
      -- the remote sleep is gone (sshd refuses signals for root sessions: the kill script did it)
      assert.truthy(sshd.eventually(function()
        return s:exec("ps -eo args | grep -c '^sleep 30$'").stdout == "0\n"
      end, 5))
    end)

    it("runs many commands over one connection", function()
      local accepted = d:log_count("Accepted publickey")
      local conn = s:exec("echo $SSH_CONNECTION").stdout
      for i = 1, 30 do
        local r = assert(s:exec("echo " .. i .. " $SSH_CONNECTION"))
        assert.equals(i .. " " .. conn, r.stdout)
      end
      assert.equals(accepted, d:log_count("Accepted publickey")) -- sshd logged no new login
    end)

    it("sends keepalives while a command runs quietly", function()
      local dbg = sshd.start({ host_keys = { "ed25519" }, log_level = "DEBUG1" })
      local k
      finally(function()
        if k then k:close() end
        dbg:stop()
      end)
      local path = dbg:key("id", "ed25519")
      k = assert(ssh.connect(dbg:opts({ key_file = path, accept_unknown_host_key = true, keepalive = 0.3 })))
      assert.equals(0, k:exec("sleep 1.5").status)
      assert.is_true(dbg:log_count("keepalive@openssh%.com") >= 3)
      local quiet = assert(ssh.connect(dbg:opts({ key_file = path, keepalive = 0 })))
      local before = dbg:log_count("keepalive@openssh%.com")
      assert.equals(0, quiet:exec("sleep 1").status)
      quiet:close()
      assert.equals(before, dbg:log_count("keepalive@openssh%.com"))
    end)

    it("puts KIP_EXEC_ID in the command's environment and nothing in its output", function()
      local r = assert(s:exec("echo $KIP_EXEC_ID; echo -n x >&2"))
      assert.matches("^%x+\n$", r.stdout)
      assert.equals("x", r.stderr)
    end)

    it("never puts stdin in messages", function()
      local _, msg = s:exec("sleep 5", { stdin = "top-secret-input", timeout = 0.2 })
      assert.not_matches("top%-secret", msg)
    end)
  end)

  describe("channels", function()
    local s
    lazy_setup(function() s = connect() end)
    lazy_teardown(function() if s then s:close() end end)

    it("streams lines as they come, with idle ticks, then the exit", function()
      local ch <close> = assert(s:open("for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.3; done; printf last; exit 7"))
      -- streamed: idle ticks come between the lines (the command sleeps between them), not only
      -- before a burst at the end
      local got, idles, idles_after_first = {}, 0, 0
      for kind, a, b in ch:lines(0.1) do
        if kind == "idle" then
          idles = idles + 1
          if #got > 0 then idles_after_first = idles_after_first + 1 end
        elseif kind == "exit" then
          got[#got + 1] = "exit " .. tostring(a) .. " " .. tostring(b)
        else
          got[#got + 1] = kind .. " " .. a
        end
      end
      table.sort(got)
      assert.same({ "exit 7 nil", "stderr err1", "stderr err2", "stderr err3",
        "stdout last", "stdout out1", "stdout out2", "stdout out3" }, got)
      assert.is_true(idles >= 3)
      assert.is_true(idles_after_first >= 2, "the lines came in one burst: " .. idles_after_first .. " idle ticks after the first")
      assert.is_nil(ch:read()) -- after the exit
    end)

    it("reads chunks, writes stdin and closes it", function()
      local ch <close> = assert(s:open("tr a-z A-Z"))
      assert.is_true(ch:write("hello "))
      assert.is_true(ch:write("world\n"))
      assert.is_true(ch:close_stdin())
      local out = {}
      while true do
        local kind, data, sig = ch:read(5)
        if kind == "exit" then
          assert.equals(0, data)
          assert.is_nil(sig)
          break
        end
        assert.equals("stdout", kind)
        out[#out + 1] = data
      end
      assert.equals("HELLO WORLD\n", table.concat(out))
      local ok, msg, code = ch:write("more")
      assert.is_nil(ok)
      assert.equals("io", code)
      assert.matches("standard input is closed", msg)
    end)

    it("returns long lines whole and a last line without newline", function()
      local ch <close> = assert(s:open("head -c 200000 /dev/zero | tr '\\0' a; echo; printf 'b\\nc'"))
      local lines = {}
      for kind, line in ch:lines() do
        if kind == "stdout" then lines[#lines + 1] = line end
      end
      assert.equals(3, #lines)
      assert.equals(200000, #lines[1])
      assert.same({ "b", "c" }, { lines[2], lines[3] })
    end)

    it("writes large input to a command that answers as it reads, without deadlock", function()
      local ch <close> = assert(s:open("cat"))
      local chunk = string.rep("z", 1024 * 1024)
      for _ = 1, 6 do assert.is_true(ch:write(chunk)) end -- cat's output is buffered meanwhile
      assert(ch:close_stdin())
      local n = 0
      while true do
        local kind, data = ch:read()
        if kind == "exit" then break end
        n = n + #data
      end
      assert.equals(6 * #chunk, n)
    end)

    it("kills the command when its timeout passes", function()
      -- 3 s: long enough for "hi" to arrive on a loaded machine, short for the test.
      local ch <close> = assert(s:open("echo hi; sleep 30", { timeout = 3 }))
      assert.same({ "stdout", "hi" }, { ch:lines()() })
      local kind, msg, code = ch:read()
      assert.is_nil(kind)
      assert.equals("timeout", code)
      assert.matches("within 3 s", msg)
      local again = { ch:read() }
      assert.equals("timeout", again[3])
    end)

    it("close() kills a running command; using a closed channel raises", function()
      local ch = assert(s:open("sleep 41"))
      assert.equals("idle", ch:read(0.2))
      ch:close()
      ch:close() -- idempotent
      assert.matches("closed", tostring(ch))
      assert.has_error(function() ch:read() end, "kip.ssh: the channel is closed")
      assert.truthy(sshd.eventually(function()
        return s:exec("ps -eo args | grep -c '^sleep 41$'").stdout == "0\n"
      end, 5))
    end)

    it("keeps several channels of one session apart", function()
      local a <close> = assert(s:open("for i in 1 2 3; do echo a$i; sleep 0.1; done"))
      local b <close> = assert(s:open("for i in 1 2 3; do echo b$i; sleep 0.1; done"))
      local ra, rb = {}, {}
      local ia, ib = a:lines(), b:lines()
      for _ = 1, 3 do
        local _, la = ia()
        local _, lb = ib()
        ra[#ra + 1], rb[#rb + 1] = la, lb
      end
      assert.same({ "a1", "a2", "a3" }, ra)
      assert.same({ "b1", "b2", "b3" }, rb)
    end)
  end)

  describe("SFTP", function()
    local s, dir
    lazy_setup(function()
      s = connect()
      dir = d.dir .. "/files"
      assert(fs.mkdir(dir))
    end)
    lazy_teardown(function() if s then s:close() end end)

    local function mode_of(path)
      return s:exec("stat -c %a " .. path).stdout:match("%d+")
    end

    it("uploads with exactly the mode asked for, whatever the umask, and downloads", function()
      assert.is_true(s:upload(dir .. "/a.txt", "alpha\n"))
      assert.equals("644", mode_of(dir .. "/a.txt"))
      assert.is_true(s:upload(dir .. "/b.sh", "#!/bin/sh\n", { mode = "0775" }))
      assert.equals("775", mode_of(dir .. "/b.sh"))
      assert.is_true(s:upload(dir .. "/c", "c", { mode = 384 })) -- 0600
      assert.equals("600", mode_of(dir .. "/c"))
      assert.equals("alpha\n", s:download(dir .. "/a.txt"))
      local binary = {}
      for i = 0, 1024 * 1024 - 1 do binary[#binary + 1] = string.char(i % 256) end
      binary = table.concat(binary)
      assert.is_true(s:upload(dir .. "/bin", binary))
      assert.is_true(s:download(dir .. "/bin") == binary)
    end)

    it("replaces an existing file atomically and leaves no temporary file", function()
      assert.is_true(s:upload(dir .. "/r.conf", "v1", { mode = "0600" }))
      local inode = s:exec("stat -c %i " .. dir .. "/r.conf").stdout
      assert.is_true(s:upload(dir .. "/r.conf", "v2", { mode = "0640" }))
      assert.equals("v2", s:download(dir .. "/r.conf"))
      assert.equals("640", mode_of(dir .. "/r.conf"))
      assert.not_equals(inode, s:exec("stat -c %i " .. dir .. "/r.conf").stdout) -- a new file, renamed
      assert.equals("", s:exec("ls -A " .. dir .. " | grep kip-").stdout)
    end)

    it("reports missing files and folders, and creates parents on request", function()
      local data, msg, code = s:download(dir .. "/missing")
      assert.is_nil(data)
      assert.equals("notfound", code)
      assert.matches("missing", msg)
      local ok
      ok, msg, code = s:upload(dir .. "/no/such/dir/f", "x")
      assert.is_nil(ok)
      assert.equals("notfound", code)
      assert.matches("no/such/dir/f", msg, 1, true)
      assert.is_true(s:upload(dir .. "/no/such/dir/f", "x", { parents = true }))
      assert.equals("x", s:download(dir .. "/no/such/dir/f"))
      ok, msg, code = s:upload(dir, "x")
      assert.is_nil(ok)
      assert.equals("invalid", code)
      assert.matches("folder", msg)
      ok, msg, code = s:download(dir, { max_size = 10 })
      assert.is_nil(ok)
      assert.equals("invalid", code)
      assert.matches("folder", msg)
      assert.equals("nomem", select(3, s:download(dir .. "/bin", { max_size = 10 })))
    end)
  end)

  it("lets kip.server handlers and the main thread take turns on one session", function()
    local s = connect()
    local started = false
    local srv = assert(server.listen({ listen = "127.0.0.1:0", handler = function()
      started = true
      local r = assert(s:exec("sleep 1; echo handler")) -- releases the host lock while it runs
      return { status = 200, body = r.stdout }
    end }))
    local out = d.dir .. "/curl.out"
    finally(function()
      srv:close()
      s:close()
    end)
    assert(proc.run(string.format("curl -s http://127.0.0.1:%d/ > %q 2>/dev/null < /dev/null &", srv:port(), out),
      { shell = true }))
    assert.truthy(sshd.eventually(function() return started end, 10))
    server.sleep(0.2) -- the handler is inside its exec now
    local t0 = now()
    assert.equals("main\n", assert(s:exec("echo main")).stdout)
    assert.is_true(now() - t0 > 0.3, "the main thread waited for the handler's turn")
    assert.truthy(sshd.eventually(function() return fs.read(out) == "handler\n" end, 5))
  end)

  it("works as a non-root user", function()
    if not proc.which("useradd") then pending("useradd is not installed") return end
    local name = "kipssh" .. tostring(math.random(100000, 999999))
    local home = d.dir .. "/home/" .. name
    assert(proc.run({ "chmod", "0755", d.dir }))
    local s
    finally(function() -- one handler (busted keeps the last): the session ends before userdel
      if s then s:close() end
      sshd.eventually(function() -- its sshd process may outlive the session for a moment
        local r = proc.run({ "userdel", name })
        return r.status == 0 or r.status == 6 -- 6: no such user
      end, 5)
    end)
    local r = assert(proc.run({ "useradd", "-M", "-d", home, "-s", "/bin/sh", name }))
    assert.equals(0, r.status, r.stderr)
    assert(proc.run({ "usermod", "-p", "*", name })) -- not locked: sshd refuses locked accounts
    assert(fs.mkdir(home .. "/.ssh"))
    local path = d:key("id_user", "ed25519", { authorize = false })
    helpers.write(home .. "/.ssh/authorized_keys", assert(fs.read(path .. ".pub")))
    assert(proc.run({ "chown", "-R", name, home }))
    s = assert(ssh.connect(d:opts({ user = name, key_file = path, accept_unknown_host_key = true })))
    assert.equals(name .. "\n", s:exec("id -un").stdout)
    assert.is_true(s:upload(home .. "/f", "mine", { mode = "0600" }))
    assert.equals(name .. " 600\n", s:exec("stat -c '%U %a' " .. home .. "/f").stdout)
    -- signals work for non-root sessions; the timeout kills either way
    local _, _, code = s:exec("sleep 42", { timeout = 0.5 })
    assert.equals("timeout", code)
    assert.truthy(sshd.eventually(function()
      return s:exec("ps -eo args | grep -c '^sleep 42$'").stdout == "0\n"
    end, 5))
  end)

  it("refuses a changed host key, always, and says how to fix it", function()
    local kh = d.dir .. "/changed_known_hosts"
    assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh, accept_unknown_host_key = true }))):close()
    d:stop(true)
    d = sshd.start({ dir = d.dir, port = d.port, suffix = "_new" })
    d.owns_dir = true
    for _, accept in ipairs({ false, true }) do
      local s, msg, code, details = ssh.connect(d:opts({ key_file = key, known_hosts = kh, accept_unknown_host_key = accept }))
      assert.is_nil(s)
      assert.equals("hostkey-changed", code)
      assert.equals(sshd.fingerprint(d.host_keys.ed25519 .. ".pub"), details.fingerprint)
      assert.equals("ssh-ed25519", details.key_type)
      assert.equals(kh, details.known_hosts)
      assert.equals(1, details.line)
      assert.matches("host key has changed", msg)
      assert.matches("man-in-the-middle", msg, 1, true)
      assert.matches("ssh-keygen -R '[127.0.0.1]:" .. d.port .. "' -f '" .. kh .. "'", msg, 1, true)
    end
    -- the fix the message gives works
    local r = assert(proc.run({ "ssh-keygen", "-R", "[127.0.0.1]:" .. d.port, "-f", kh }))
    assert.equals(0, r.status, r.stderr)
    assert(ssh.connect(d:opts({ key_file = key, known_hosts = kh, accept_unknown_host_key = true }))):close()
  end)
end)

describe("kip.ssh misuse and helpers", function()
  it("raises on bad arguments", function()
    assert.has_error(function() ssh.connect() end)
    assert.has_error(function() ssh.connect({ known_hosts = "/tmp/x" }) end, "kip.ssh: connect needs a host")
    assert.has_error(function() ssh.connect({ host = "h" }) end)
    assert.has_error(function() ssh.connect({ host = "h", known_hosts = "/k", port = 70000 }) end)
    assert.has_error(function() ssh.connect({ host = "h", known_hosts = "/k", agent = "yes" }) end)
    assert.has_error(function() ssh.connect({ host = "h", known_hosts = "/k", connect_timeout = -1 }) end)
  end)

  it("returns invalid for bad host and user names", function()
    local _, _, code = ssh.connect({ host = "bad host", known_hosts = "/tmp/kh" })
    assert.equals("invalid", code)
    _, _, code = ssh.connect({ host = "h", user = "a@b", known_hosts = "/tmp/kh" })
    assert.equals("invalid", code)
  end)

  it("fingerprints public keys and describes key files", function()
    local dir = helpers.tmpdir()
    finally(function() helpers.rmtree(dir) end)
    local path = sshd.keygen(dir .. "/k", "ed25519", { passphrase = "pw-12345" })
    local fp = sshd.fingerprint(path .. ".pub")
    assert.same({ fp, "ssh-ed25519" }, { ssh.fingerprint(assert(fs.read(path .. ".pub"))) })
    local _, _, code = ssh.fingerprint("not a key")
    assert.equals("invalid", code)
    assert.same({ type = "ssh-ed25519", fingerprint = fp, encrypted = true, private = true }, ssh.load_key_info(path))
    assert.same({ type = "ssh-ed25519", fingerprint = fp, encrypted = true, private = true },
      ssh.load_key_info(path, { passphrase = "pw-12345" }))
    assert.equals("passphrase", select(3, ssh.load_key_info(path, { passphrase = "no" })))
    assert.same({ type = "ssh-ed25519", fingerprint = fp, encrypted = false, private = false }, ssh.load_key_info(path .. ".pub"))
    assert.equals("notfound", select(3, ssh.load_key_info(dir .. "/none")))
  end)
end)
