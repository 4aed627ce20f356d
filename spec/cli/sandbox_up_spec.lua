-- SPDX-License-Identifier: Apache-2.0
-- `kip sandbox up` end to end: the real kip starts the sandbox API, the real kipperd and the real
-- kipper-gateway (which routes the sandbox's names to kipperd), makes
-- `sandbox` the current cluster with Kipper's resource types on it, serves its status page and
-- the console (KIP_CONSOLE_DIR: a stand-in build) with a printed admin login that works and stays
-- the same on the next start, and stops everything on SIGINT (or when a child dies).
local fs = require "kip.fs"
local helpers = require "helpers"
local http = require "kip.http"
local json = require "kip.json"
local proc = require "kip.proc"
local sshd = require "helpers.sshd"

describe("kip sandbox up", function()
  local home, up, ports
  local INDEX = "<!doctype html><title>Kipper console stand-in</title>\n"

  local function start(extra)
    local argv = { helpers.kip_bin(), "sandbox", "up", "--listen", "127.0.0.1:" .. ports.api,
      "--kipperd-listen", "127.0.0.1:" .. ports.kipperd, "--gateway-listen", "127.0.0.1:" .. ports.gateway,
      "--gateway-api-listen", "127.0.0.1:" .. ports.gateway_api }
    for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
    return assert(proc.spawn(argv, { env = { KIP_HOME = home, KIP_CLUSTER = false,
      KIP_CONSOLE_DIR = home .. "/console" }, stdout = home .. "/up.out", stderr = "stdout" }))
  end

  setup(function()
    home = helpers.tmpdir()
    assert(fs.mkdir(home .. "/console"))
    assert(fs.write(home .. "/console/index.html", INDEX))
    local api, kipperd, gateway, gateway_api = sshd.free_ports(4)
    ports = { api = api, kipperd = kipperd, gateway = gateway, gateway_api = gateway_api }
    up = start()
  end)
  teardown(function()
    if up and up:alive() then up:kill("KILL"); up:wait(5) end
    helpers.rmtree(home)
  end)

  local function output() return fs.read(home .. "/up.out") or "" end

  it("starts the API and kipperd and makes sandbox the current cluster", function()
    assert.truthy(helpers.eventually(function()
      return output():find("Kipper's sandbox is up", 1, true) or not up:alive()
    end, 60), output())
    assert.is_true(up:alive(), output())
    assert.matches("kipperd:%s+http://127%.0%.0%.1:" .. ports.kipperd, output())
    assert.matches("current%-cluster: sandbox", fs.read(home .. "/config.yaml"))
    local r = helpers.kip({ "cluster", "current" }, { env = { KIP_HOME = home } })
    assert.equals("sandbox\n", r.stdout)
    local kubeconfig = home .. "/sandbox/kubeconfig"
    r = assert(proc.run({ "kubectl", "--kubeconfig", kubeconfig, "get", "crd", "apps.kipper.run", "-o", "name" }))
    assert.equals(0, r.status, r.stderr)
    r = assert(proc.run({ "kubectl", "--kubeconfig", kubeconfig, "-n", "kipper-system", "get", "configmap", "kipper-config",
      "-o", "jsonpath={.data.clusterId}" }))
    assert.equals("127-0-0-1", r.stdout)
    local m = assert(http.request({ url = "http://127.0.0.1:" .. ports.kipperd .. "/metrics", timeout = 5 }))
    assert.equals(200, m.status)
    local status_url = output():match("status:%s+(http://%S+)")
    local s = assert(http.request({ url = status_url, timeout = 5 }))
    local page = assert(json.decode(s.body))
    assert.equals(3, #page.components)
    for _, c in ipairs(page.components) do assert.is_true(c.running, c.name) end
  end)

  local function login_of(out)
    return out:match("login:%s+(%S+)%s+password: (%S+)")
  end

  local function log_in(email, password)
    local r = assert(http.request({ method = "POST", url = "http://127.0.0.1:" .. ports.kipperd .. "/api/v1/auth/login",
      headers = { ["Content-Type"] = "application/json" }, body = json.encode({ email = email, password = password }),
      timeout = 10 }))
    return r.status, json.decode(r.body)
  end

  it("serves the console with an admin login it prints", function()
    local url = "http://127.0.0.1:" .. ports.kipperd .. "/"
    assert.matches("console:%s+" .. url:gsub("%p", "%%%0"), output())
    local r = assert(http.request({ url = url, headers = { Accept = "text/html" }, timeout = 5 }))
    assert.equal(200, r.status)
    assert.equal(INDEX, r.body)
    local email, password = login_of(output())
    assert.equal("admin@sandbox.local", email, output())
    local status, doc = log_in(email, password)
    assert.equal(200, status, json.encode(doc))
    assert.equal("admin", doc.user.role)
    assert.equal(401, (log_in(email, password .. "x")))
    local st = assert(fs.stat(home .. "/sandbox/console-admin"))
    assert.equal(tonumber("600", 8), st.mode)
    -- through the gateway too
    local name = "127-0-0-1.localhost"
    local c = assert(proc.run({ "curl", "-sS", "-H", "Accept: text/html", "--resolve", name .. ":" .. ports.gateway .. ":127.0.0.1",
      "http://" .. name .. ":" .. ports.gateway .. "/projects" }))
    assert.equal(INDEX, c.stdout, c.stderr)
  end)

  it("routes the sandbox cluster's names through kipper-gateway to kipperd", function()
    local url = "http://127-0-0-1.localhost:" .. ports.gateway
    assert.matches("gateway:%s+" .. url:gsub("%p", "%%%0"), output())
    -- Host names as a browser sends them; the connection goes to the gateway on loopback.
    for _, name in ipairs({ "127-0-0-1.localhost", "console-127-0-0-1.localhost" }) do
      local r = assert(proc.run({ "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--resolve",
        name .. ":" .. ports.gateway .. ":127.0.0.1", "http://" .. name .. ":" .. ports.gateway .. "/readyz" }))
      assert.equals("200", r.stdout, r.stderr)
    end
    -- A cluster the gateway does not know gets its 404 page, without reaching kipperd.
    local r = assert(proc.run({ "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: 203-0-113-10.localhost",
      "http://127.0.0.1:" .. ports.gateway .. "/readyz" }))
    assert.equals("404", r.stdout)
    local m = assert(http.request({ url = "http://127.0.0.1:" .. ports.gateway_api .. "/metrics", timeout = 5 }))
    assert.matches("kipper_gateway_registrations{state=\"active\"} 1", m.body, 1, true)
  end)

  it("stops its children and exits 0 on Ctrl-C", function()
    local page = json.decode(assert(http.request({ url = output():match("status:%s+(http://%S+)"), timeout = 5 })).body)
    assert(up:kill("INT"))
    local st = up:wait(30)
    assert.truthy(st, "kip sandbox up did not stop")
    assert.equals(0, st.status, output())
    assert.matches("kip sandbox: stopped %(SIGINT%)", output())
    for _, c in ipairs(page.components) do
      assert.is_false(fs.exists("/proc/" .. c.pid .. "/status") and
        not (fs.read("/proc/" .. c.pid .. "/status") or ""):match("State:%s+Z"), c.name .. " still runs")
    end
    assert.truthy(fs.exists(home .. "/sandbox/state.json"))
  end)

  -- (re)starts kip sandbox up and waits for its summary
  local function restart(extra)
    if up:alive() then
      assert(up:kill("INT"))
      assert.truthy(up:wait(30))
    end
    fs.remove(home .. "/up.out")
    up = start(extra)
    assert.truthy(helpers.eventually(function()
      return output():find("Kipper's sandbox is up", 1, true) or not up:alive()
    end, 60), output())
  end

  it("prints the same login on the next start, and a new one once its file is gone", function()
    local first_email, first_password = login_of(output())
    restart()
    local email, password = login_of(output())
    assert.equal(first_email, email)
    assert.equal(first_password, password)
    assert.equal(200, (log_in(email, password)))
    -- without the kept file, the admin gets a new password, and the old one stops working
    assert(up:kill("INT"))
    assert.truthy(up:wait(30))
    assert(fs.remove(home .. "/sandbox/console-admin"))
    restart()
    email, password = login_of(output())
    assert.equal("admin@sandbox.local", email)
    assert.are_not.equal(first_password, password)
    assert.equal(200, (log_in(email, password)))
    assert.equal(401, (log_in(email, first_password)))
  end)

  it("says so when the password was changed in the console, and makes the admin again after --fresh", function()
    local email, kept = login_of(output())
    local _, doc = log_in(email, kept)
    local r = assert(http.request({ method = "POST", url = "http://127.0.0.1:" .. ports.kipperd .. "/api/v1/auth/password",
      headers = { ["Content-Type"] = "application/json", Authorization = "Bearer " .. doc.token },
      body = json.encode({ current = kept, new = "a brand new passphrase" }), timeout = 10 }))
    assert.equal(204, r.status, r.body)
    restart()
    assert.is_nil(login_of(output()))
    assert.matches("login:%s+admin@sandbox%.local%s+%(password changed in the console; delete .*console%-admin", output())
    assert.equal(200, (log_in(email, "a brand new passphrase")))
    -- a fresh state has no users: the admin is made again with the kept password
    restart({ "--fresh" })
    local _, password = login_of(output())
    assert.equal(kept, password)
    assert.equal(200, (log_in(email, kept)))
    assert(up:kill("INT"))
    assert.truthy(up:wait(30))
  end)
end)
