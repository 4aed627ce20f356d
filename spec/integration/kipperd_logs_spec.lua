-- SPDX-License-Identifier: Apache-2.0
-- kipperd's live logs (GET /api/v1/projects/{project}/apps/{app}/logs over a WebSocket) end to end:
-- the sandbox API simulating pod logs, the real kipperd with its real policies
-- (helpers.console_api), an App deployed through the API, and a raw-socket WebSocket client
-- (helpers.ws). Lines from every pod prefixed with the pod, tail, previous, a pod added by scaling
-- up gets followed, a restarted container's new log is followed, refusals without an upgrade (401, 404, 400), a client that leaves ends the
-- upstream log connections, and hundreds of open/close cycles leave kipperd's threads and
-- descriptors where they were.
local console_api = require "helpers.console_api"
local fs = require "kip.fs"
local json = require "kip.json"
local ws = require "helpers.ws"

local AV = "kipper.run/v1alpha1"
local PW = "a long enough passphrase"
local ADMIN, VIEWER = "root@example.com", "view@example.com"
local PROTOCOL = "kipper.logs.v1"

local function count(dir)
  local n = 0
  for _ in pairs(fs.list(dir) or {}) do n = n + 1 end
  return n
end

-- The count once it stopped changing for a second (connections of earlier tests wind down first).
local function settled(dir)
  local last = count(dir)
  for _ = 1, 20 do
    require("kip.server").sleep(1)
    local now = count(dir)
    if now == last then return now end
    last = now
  end
  return last
end

describe("kipperd live logs", function()
  local env, c, url
  local eventually = console_api.eventually
  local APPS = "/api/v1/projects/shop/apps"

  local function protocols(as) return { PROTOCOL, "bearer." .. env:token(as) } end

  -- the pod and the simulated line number of a frame "[POD] [kip sandbox] simulated log line N from pod POD ..."
  local function parse(text)
    local pod, rest = text:match("^%[([^%]]+)%] (.*)$")
    return pod, tonumber(rest and rest:match("simulated log line (%d+)")), rest
  end

  -- frames grouped by pod: {pod = {line numbers in order}}
  local function by_pod(texts)
    local out = {}
    for _, t in ipairs(texts) do
      local pod, n = parse(t)
      assert(pod and n, "not a prefixed sandbox line: " .. t)
      out[pod] = out[pod] or {}
      table.insert(out[pod], n)
    end
    return out
  end

  local function keys(t)
    local out = {}
    for k in pairs(t) do out[#out + 1] = k end
    table.sort(out)
    return out
  end

  local function running_pods()
    local list = c:list("v1", "Pod", { namespace = "shop", label_selector = "app.kubernetes.io/name=web" })
    local out = {}
    for _, p in ipairs(list and list.items or {}) do
      if p.status and p.status.phase == "Running" then out[#out + 1] = p end
    end
    return out
  end

  setup(function()
    env = console_api.start({ users = { { email = ADMIN, role = "admin", password = PW },
      { email = VIEWER, role = "viewer", password = PW } } })
    c = env.c
    assert(c:create({ apiVersion = AV, kind = "Project", metadata = { name = "shop" }, spec = {} }))
    assert(env:project_ready("shop"), "project shop is not ready: " .. env.kd:output())
    local status, doc = env:call("POST", APPS, { name = "web", image = "nginxdemos/hello:0.3", port = 80, replicas = 2 }, ADMIN)
    assert.equal(201, status, json.encode(doc))
    assert(eventually(function() return #running_pods() == 2 end, 30), "the pods did not start: " .. env.kd:output())
    url = string.format("ws://127.0.0.1:%d%s/web/logs", env.kd.port, APPS)
  end)

  teardown(function()
    if env then env:stop() end
  end)

  it("sends every pod's last lines prefixed with the pod, then follows them", function()
    local ev = ws.run(url .. "?tail=3", { protocols = protocols(VIEWER), steps = { "read:12", "close" } })
    assert.equal(101, ev[1].status, json.encode(ev[1]))
    assert.equal(PROTOCOL, ev[1].subprotocol)
    local pods = by_pod(ws.texts(ev))
    local names = {}
    for _, p in ipairs(running_pods()) do names[#names + 1] = p.metadata.name end
    table.sort(names)
    assert.same(names, keys(pods))
    for pod, ns in pairs(pods) do
      assert.equal(18, ns[1], pod .. ": tail=3 starts at line 18 of 20")
      for i = 2, #ns do assert.equal(ns[i - 1] + 1, ns[i], pod .. ": lines in order") end
    end
    local _, _, rest = parse(ws.texts(ev)[1])
    assert.matches("from pod " .. keys(pods)[1]:gsub("%-", "%%-"), rest)
    assert.truthy(ws.find(ev, "close"), "the close is answered")
  end)

  it("starts with 100 lines by default (the sandbox's pods have printed 20)", function()
    local ev = ws.run(url, { protocols = protocols(VIEWER), steps = { "read:40", "close" } })
    for _, ns in pairs(by_pod(ws.texts(ev))) do assert.equal(1, ns[1]) end
  end)

  it("follows a pod that starts later (scale up)", function()
    local client = ws.spawn(url .. "?tail=1", { protocols = protocols(ADMIN), steps = { "read:100000" }, timeout = 60 })
    assert.truthy(client:wait_for("text"))
    local status = env:call("POST", APPS .. "/web/scale", { replicas = 3 }, ADMIN)
    assert.equal(200, status)
    local seen = eventually(function()
      return #keys(by_pod(ws.texts(client:events()))) == 3
    end, 30)
    client.proc:kill("KILL")
    local ev = client:stop()
    assert.is_true(seen, "pods seen: " .. table.concat(keys(by_pod(ws.texts(ev))), " "))
    -- the new pod is sent from its first line
    local pods = by_pod(ws.texts(ev))
    local firsts = {}
    for _, ns in pairs(pods) do firsts[#firsts + 1] = ns[1] end
    table.sort(firsts)
    assert.same({ 1, 20, 20 }, firsts)
    assert.equal(200, (env:call("POST", APPS .. "/web/scale", { replicas = 2 }, ADMIN)))
    assert(eventually(function() return #running_pods() == 2 end, 30))
  end)

  it("sends the previous container's log with previous=true, then closes", function()
    local pod = running_pods()[1]
    local st = pod.status
    st.containerStatuses[1].restartCount = 1
    assert(c:update_status({ apiVersion = "v1", kind = "Pod", metadata = pod.metadata, status = st }))
    local ev = ws.run(url .. "?previous=true&tail=5", { protocols = protocols(VIEWER), steps = { "read-until-close" } })
    local texts = ws.texts(ev)
    assert.equal(5, #texts, json.encode(ev))
    for _, t in ipairs(texts) do
      local p, _, rest = parse(t)
      assert.equal(pod.metadata.name, p, "only the restarted pod has a previous log")
      assert.matches("previous container", rest)
    end
    assert.same({ 16, 17, 18, 19, 20 }, by_pod(texts)[pod.metadata.name])
    assert.equal(1000, ws.find(ev, "close").code)
  end)

  it("follows a restarted container's new log from its start", function()
    local pod = running_pods()[2]
    local name = pod.metadata.name
    local client = ws.spawn(url .. "?tail=1", { protocols = protocols(VIEWER), steps = { "read:100000" }, timeout = 60 })
    assert.truthy(eventually(function() return by_pod(ws.texts(client:events()))[name] end, 60))
    local st = pod.status
    st.containerStatuses[1].restartCount = (st.containerStatuses[1].restartCount or 0) + 1
    assert(c:update_status({ apiVersion = "v1", kind = "Pod", metadata = pod.metadata, status = st }))
    -- the old log ends (the sandbox ends it as a dying container's), the new one starts at line 1
    local again = eventually(function()
      local ns = by_pod(ws.texts(client:events()))[name] or {}
      for i = 2, #ns do if ns[i] == 1 then return true end end
    end, 60)
    client.proc:kill("KILL")
    local ev = client:stop()
    assert.truthy(again, table.concat(by_pod(ws.texts(ev))[name] or {}, " "))
  end)

  it("refuses without an upgrade: no token, a bad token, no such project or app, a bad query", function()
    local function refused(u, protos)
      local ev = ws.run(u, { protocols = protos })
      assert.equal("refused", ev[1].event, u .. ": " .. json.encode(ev[1]))
      return ev[1].status, json.decode(ev[1].body)
    end
    local status, doc = refused(url, { PROTOCOL })
    assert.equal(401, status)
    assert.matches("bearer", doc.hint)
    assert.equal(401, (refused(url, { PROTOCOL, "bearer.not-a-token" })))
    local forged = env:token(VIEWER):gsub("%.[^.]+$", ".AAAA")
    assert.equal(401, (refused(url, { PROTOCOL, "bearer." .. forged })))
    assert.equal(404, (refused(url:gsub("/shop/", "/nope/"), protocols(VIEWER))))
    assert.equal(404, (refused(url:gsub("/web/", "/ghost/"), protocols(VIEWER))))
    assert.equal(400, (refused(url .. "?tail=lots", protocols(VIEWER))))
    assert.equal(400, (refused(url .. "?previous=maybe", protocols(VIEWER))))
    status, doc = refused(url, { "bearer." .. env:token(VIEWER) })
    assert.equal(400, status)
    assert.matches(PROTOCOL, doc.error)
    -- a plain GET is told to upgrade
    local st = env:call("GET", APPS .. "/web/logs", nil, VIEWER)
    assert.equal(400, st)
  end)

  it("drops the upstream log connections when the client leaves", function()
    local fd_dir = "/proc/" .. env.kd.pid .. "/fd"
    local before = settled(fd_dir)
    local client = ws.spawn(url .. "?tail=1", { protocols = protocols(VIEWER), steps = { "read:4", "sleep:60" } })
    assert.truthy(eventually(function() return #ws.texts(client:events()) >= 4 end, 60))
    local during = count(fd_dir)
    assert.is_true(during >= before + 3, string.format("the WebSocket and two pod logs: %d -> %d", before, during))
    local m = env.kd:metrics()
    assert.equal(1, m["kipperd_log_sessions"])
    assert.equal(2, m["kipperd_log_streams"], "one followed log per pod")
    client.proc:kill("KILL")
    client:stop()
    assert.truthy(eventually(function() return count(fd_dir) <= before end, 60),
      string.format("descriptors %d before, %d now", before, count(fd_dir)))
    m = env.kd:metrics()
    assert.equal(0, m["kipperd_log_sessions"])
    assert.equal(0, m["kipperd_log_streams"])
    assert.is_true(m["kipperd_log_sessions_total"] >= 1)
  end)

  it("keeps kipperd's threads and descriptors steady over many open/close cycles", function()
    local pid = env.kd.pid
    local threads, fds = count("/proc/" .. pid .. "/task"), settled("/proc/" .. pid .. "/fd")
    local ev = ws.run(url .. "?tail=1", { protocols = protocols(VIEWER), cycles = 300, steps = { "read:1", "close" } })
    assert.equal(300, ev[1].ok, tostring(ev[1].first_failure))
    ev = ws.run(url .. "?tail=1", { protocols = protocols(VIEWER), cycles = 200, steps = { "read:1", "drop" } })
    assert.equal(200, ev[1].ok, tostring(ev[1].first_failure))
    local steady = eventually(function()
      return count("/proc/" .. pid .. "/task") == threads and count("/proc/" .. pid .. "/fd") <= fds
    end, 60)
    assert.truthy(steady, string.format("threads %d -> %d, fds %d -> %d", threads, count("/proc/" .. pid .. "/task"), fds,
      count("/proc/" .. pid .. "/fd")))
    assert.equal(200, (env:call("GET", "/api/v1/auth/me", nil, VIEWER)), "the API still answers")
  end)

  it("sends a close frame (1001) to open log WebSockets when kipperd stops", function()
    local client = ws.spawn(url .. "?tail=1", { protocols = protocols(VIEWER), steps = { "read-until-close" }, timeout = 30 })
    assert.truthy(client:wait_for("text"))
    local log = env.kd:output()
    local t0 = os.time()
    local exit = env.kd:stop()
    assert.equal(0, exit, string.format("kipperd exited %d after %d s: %s", exit, os.time() - t0, log))
    local ev = client:stop()
    assert.equal(1001, (ws.find(ev, "close") or {}).code, json.encode(ev))
  end)
end)
