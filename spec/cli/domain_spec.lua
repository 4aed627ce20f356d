-- SPDX-License-Identifier: Apache-2.0
-- `kip domain register|status|unregister` end to end: the real kip against the sandbox API (which
-- holds Secret kube-system/kipper-default-tls) and a real kipper-gateway on loopback with
-- --allow-private-upstreams; the cluster's "ingress" is `openssl s_server` serving the Secret's
-- certificate on 127.0.0.N:443 (root needed; N random), and kip sends the claim from 127.0.0.N
-- (--source-address). Also kipperd's heartbeats against the same gateway: the module, then a running kipperd.
local default_tls = require "kip.platform.default_tls"
local fs = require "kip.fs"
local helpers = require "helpers"
local json = require "kip.json"
local kipcli = require "helpers.kipcli"
local proc = require "kip.proc"
local store = require "kip.domain.store"
local tls = require "kip.tls"

local gateway_bin = require("helpers.gateway").bin

local function gateway_available()
  if not fs.exists(gateway_bin()) then return false, gateway_bin() .. " is not built" end
  local r = proc.run({ gateway_bin(), "--help" }, { timeout = 10 })
  if not r or r.status ~= 0 or not r.stdout:find("api-listen", 1, true) then return false, "kipper-gateway is not built yet" end
  if not proc.which("openssl") then return false, "openssl is not installed" end
  local id = proc.run({ "id", "-u" })
  if not id or id.stdout:match("%d+") ~= "0" then return false, "needs root to listen on 127.0.0.N:443" end
  return true
end

local ok_env, why = gateway_available()
if not ok_env then
  describe("kip domain", function() pending(why) end)
  return
end

local function spawn(cmd)
  local r = assert(proc.run({ "sh", "-c", cmd .. " & echo $!" }))
  return assert(tonumber(r.stdout:match("%d+")))
end

local function stop(pid)
  if not pid then return end
  proc.run({ "kill", tostring(pid) })
  helpers.eventually(function() return not fs.exists("/proc/" .. pid .. "/status") or
    (fs.read("/proc/" .. pid .. "/status") or ""):match("State:%s+Z") end, 5)
end

local function port_open(host, port)
  local r = proc.run({ "python3", "-c", "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)", host,
    tostring(port) }, { timeout = 5 })
  return r and r.status == 0
end

describe("kip domain (sandbox API, real kipper-gateway)", function()
  local env, dir, gw_pid, tls_pid, api_port, url, key
  local N = math.random(2, 250)
  local IP = "127.0.0." .. N
  local CL = "127-0-0-" .. N
  local ZONE = "kipper.test"

  setup(function()
    env = kipcli.start()
    dir = helpers.tmpdir()
    -- the cluster's default certificate, as kip install makes it
    local secret = default_tls.secret(CL .. "." .. ZONE)
    assert(env.c:create(secret))
    key = assert(tls.load_key(assert(tls.base64_decode(secret.data["tls.key"]))))
    helpers.write(dir .. "/tls.crt", assert(tls.base64_decode(secret.data["tls.crt"])))
    helpers.write(dir .. "/tls.key", assert(tls.base64_decode(secret.data["tls.key"])), tonumber("600", 8))
    tls_pid = spawn(string.format("exec openssl s_server -quiet -accept %s:443 -cert %q -key %q -www > %q 2>&1 < /dev/null",
      IP, dir .. "/tls.crt", dir .. "/tls.key", dir .. "/s_server.log"))
    assert(helpers.eventually(function() return port_open(IP, 443) end, 10), fs.read(dir .. "/s_server.log"))
    helpers.write(dir .. "/admin-token", tls.random_token() .. "\n", tonumber("600", 8))
    api_port = require("helpers.sshd").free_port()
    url = "http://127.0.0.1:" .. api_port
    gw_pid = spawn(string.format("exec %q --api-listen 127.0.0.1:%d --zone %s --registry %q " ..
      "--admin-token-file %q --allow-private-upstreams --api-rate 1000 --api-burst 1000 > %q 2>&1 < /dev/null",
      gateway_bin(), api_port, ZONE, dir .. "/registry.json", dir .. "/admin-token", dir .. "/gateway.log"))
    assert(helpers.eventually(function() return port_open("127.0.0.1", api_port) end, 10), fs.read(dir .. "/gateway.log"))
  end)

  teardown(function()
    stop(gw_pid)
    stop(tls_pid)
    if env then env:stop() end
    if dir then helpers.rmtree(dir) end
  end)

  local function register_args(extra)
    local a = { "domain", "register", "--gateway", url, "--ip", IP, "--zone", ZONE }
    for _, x in ipairs(extra or {}) do a[#a + 1] = x end
    return a
  end

  local function stored()
    return store.decode(env.c:get("v1", "Secret", store.NAME, store.NAMESPACE))
  end

  it("checks its flags before it connects", function()
    local cases = {
      { { "domain", "register", "--ip", "203.0.113" }, "--ip \"203.0.113\" is not an IPv4 address" },
      { { "domain", "register", "--ip", IP, "--port", "99999" }, "--port takes a port number" },
      { { "domain", "register", "--ip", IP, "--scheme", "ftp" }, "--scheme must be one of https, http" },
      { { "domain", "register", "--ip", IP, "--gateway", "api.kipper.run" }, "is not a gateway URL" },
      { { "domain", "register", "--ip", IP, "--source-address", "nowhere" }, "is not an IP address" },
    }
    for _, case in ipairs(cases) do
      local r = env:kip(case[1])
      assert.equal(2, r.status, table.concat(case[1], " ") .. ": " .. r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
    end
  end)

  it("takes the API server's address without --ip, and keeps the token when the proof then fails", function()
    -- the sandbox's API server is 127.0.0.1, which serves no certificate on port 443
    local r = env:kip({ "domain", "register", "--gateway", url, "--zone", ZONE })
    assert.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("Claiming 127-0-0-1 at " .. url, r.stdout, 1, true)
    assert.matches("proving 127-0-0-1: the gateway answered 403", r.stderr, 1, true)
    local reg = assert(stored())
    assert.equal("127-0-0-1", reg.cluster)
    assert.equal(43, #reg.token)
    assert(env.c:delete("v1", "Secret", store.NAME, store.NAMESPACE))
  end)

  it("names an unreachable gateway", function()
    local r = env:kip(register_args({ "--gateway", "http://127.0.0.1:" .. require("helpers.sshd").free_port() }))
    assert.equal(1, r.status)
    assert.matches("cannot reach the gateway at http://127.0.0.1:", r.stderr, 1, true)
    assert.matches("curl", r.stderr, 1, true)
  end)

  it("is refused when the claim does not come from the cluster's address", function()
    local r = env:kip(register_args())
    assert.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("403", r.stderr, 1, true)
    assert.matches("not from " .. IP, r.stderr, 1, true)
    assert.matches("own address", r.stderr, 1, true)
    assert.is_nil(env.c:get("v1", "Secret", store.NAME, store.NAMESPACE))
  end)

  local first
  it("registers: claim from the cluster's address, signed challenge, pin, token stored", function()
    local r = env:kip(register_args({ "--source-address", IP, "-o", "json" }))
    assert.equal(0, r.status, r.stdout .. r.stderr)
    first = assert(json.decode(r.stdout))
    assert.equal(CL, first.cluster)
    assert.equal("active", first.state)
    assert.equal(CL .. "." .. ZONE, first.domain)
    assert.equal("https://console-" .. CL .. "." .. ZONE, first.console)
    assert.equal(store.pin(key), first.pin)
    assert.equal("Secret kube-system/kipper-default-tls", first.key)
    assert.is_nil(first.token)
    assert.matches("Proving the claim", r.stderr, 1, true)
    local reg = assert(stored())
    assert.equal(url, reg.gateway)
    assert.equal(CL, reg.cluster)
    assert.equal(43, #reg.token)
    assert.is_nil(r.stdout:find(reg.token, 1, true))
    assert.is_nil(r.stderr:find(reg.token, 1, true))
    -- the gateway's registry has it, active, pinned to the Secret's key
    local registry = assert(json.decode(assert(fs.read(dir .. "/registry.json"))))
    local rec = registry.clusters[CL]
    assert.equal("active", rec.state)
    assert.equal(store.pin(key), rec.pin)
    assert.equal(tls.sha256_hex(reg.token), rec.token_sha256)
  end)

  it("registers again with the stored token, keeping it", function()
    local before = assert(stored())
    local r = env:kip(register_args({ "--source-address", IP }))
    assert.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("with the stored token", r.stdout, 1, true)
    assert.matches("Cluster " .. CL .. " is registered with " .. url .. " (active)", r.stdout, 1, true)
    assert.matches("console:  https://console-" .. CL .. "." .. ZONE, r.stdout, 1, true)
    assert.equal(before.token, assert(stored()).token)
  end)

  it("shows the registration with kip domain status", function()
    local r = env:kip({ "domain", "status", "-o", "json" })
    assert.equal(0, r.status, r.stderr)
    local rec = assert(json.decode(r.stdout))
    assert.equal(CL, rec.cluster)
    assert.equal("active", rec.state)
    assert.equal(store.pin(key), rec.pin)
    assert.is_nil(rec.token_sha256)
    r = env:kip({ "domain", "status" })
    assert.equal(0, r.status, r.stderr)
    assert.matches("state:%s+active", r.stdout)
  end)

  it("reports the gateway's reason when the proof is refused (a key the cluster does not serve)", function()
    local other = tls.generate_key("ecdsa-p256")
    helpers.write(dir .. "/other.key", other:private_pem(), tonumber("600", 8))
    local r = env:kip(register_args({ "--source-address", IP, "--key", dir .. "/other.key" }))
    assert.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("proving " .. CL .. ": the gateway answered 403", r.stderr, 1, true)
  end)

  it("sends kipperd's heartbeat with the stored token, and counts it", function()
    local metrics = require("kip.reconcile.metrics").new()
    local hb = require("kipperd.heartbeat").new({ client = env.c, interval = 3600, metrics = metrics })
    assert.equal("ok", hb:tick(0))
    assert.equal(1, metrics:value("kipperd_gateway_heartbeats_total", { result = "ok" }))
    assert.is_nil(hb:tick(10), "not due yet")
    local result, answer = hb:send()
    assert.equal("ok", result)
    assert.equal("active", answer.state)
  end)

  it("gets heartbeats from a running kipperd, which renew the name at the gateway", function()
    local before = assert(json.decode(assert(fs.read(dir .. "/registry.json")))).clusters[CL].renewed_at
    -- renewed_at has one-second resolution: let the clock move past the last renewal
    assert(helpers.eventually(function() return os.date("!%Y-%m-%dT%H:%M:%SZ") ~= before end, 3))
    local kd = require("helpers.kipperd").start({ kubeconfig = env.sb.kubeconfig, args = { "--gateway-heartbeat", "1" } })
    local ok, err = pcall(function()
      assert(helpers.eventually(function()
        return (kd:metrics()['kipperd_gateway_heartbeats_total{result="ok"}'] or 0) >= 1
      end, 20), kd:output())
      local after = assert(json.decode(assert(fs.read(dir .. "/registry.json")))).clusters[CL].renewed_at
      assert.is_true(after > before, after .. " is not after " .. before)
      assert.matches("gateway heartbeat", kd:output(), 1, true)
    end)
    kd:stop()
    assert(ok, err)
  end)

  it("is refused with 409 when the name is held by another owner (no token)", function()
    local saved = assert(env.c:get("v1", "Secret", store.NAME, store.NAMESPACE))
    assert(env.c:delete("v1", "Secret", store.NAME, store.NAMESPACE))
    local r = env:kip(register_args({ "--source-address", IP }))
    assert.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("409", r.stderr, 1, true)
    assert.matches("another owner", r.stderr, 1, true)
    assert(env.c:create({ apiVersion = "v1", kind = "Secret", type = saved.type, data = saved.data,
      metadata = { name = store.NAME, namespace = store.NAMESPACE } }))
  end)

  it("unregisters after confirmation, deleting the Secret", function()
    local r = env:kip({ "domain", "unregister" })
    assert.equal(1, r.status)
    assert.matches("without confirmation", r.stderr, 1, true)
    r = env:kip_tty({ "domain", "unregister" }, { ["to confirm"] = "wrong" })
    assert.matches("not confirmed", r.output, 1, true)
    assert.is_not_nil(stored())
    r = env:kip({ "domain", "unregister", "--yes" })
    assert.equal(0, r.status, r.stderr)
    assert.matches("Cluster " .. CL .. " is unregistered", r.stdout, 1, true)
    assert.is_nil(env.c:get("v1", "Secret", store.NAME, store.NAMESPACE))
    local registry = assert(json.decode(assert(fs.read(dir .. "/registry.json"))))
    assert.is_nil(registry.clusters[CL])
    r = env:kip({ "domain", "status" })
    assert.equal(1, r.status)
    assert.matches("not registered with a gateway", r.stderr, 1, true)
  end)
end)
