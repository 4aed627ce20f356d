-- SPDX-License-Identifier: Apache-2.0
-- kip.server WebSocket upgrades in-process, against a real client (spec/helpers/ws_client.py over a
-- raw socket): refused upgrades get the handler's ordinary response, the subprotocol is the
-- handler's choice, stream writes arrive as text frames in order, closes on either side are seen
-- by the other, pings are answered, stopping the server sends 1001, WebSockets over TLS (the TLS
-- front relays them), and thousands of open/close cycles leave this process's thread and descriptor
-- counts where they were.
local fs = require "kip.fs"
local helpers = require "helpers"
local server = require "kip.server"
local tls = require "kip.tls"
local ws = require "helpers.ws"

local function count(dir)
  local n = 0
  for _ in pairs(assert(fs.list(dir))) do n = n + 1 end
  return n
end

describe("kip.server WebSocket", function()
  local srv, base, streams, seen
  setup(function()
    streams, seen = {}, {}
    srv = assert(server.listen({ listen = "127.0.0.1:0", handler = function(req)
      seen[#seen + 1] = { path = req.path, websocket = req.websocket, protocol = req.headers["sec-websocket-protocol"] }
      if req.path == "/plain" then return { status = 200, body = "plain" } end
      if not req.websocket then return { status = 400, body = "{\"error\": \"WebSocket only\"}" } end
      if req.path == "/deny" then
        return { status = 401, headers = { ["WWW-Authenticate"] = "Bearer" }, body = "{\"error\": \"no token\"}" }
      end
      if req.path == "/forbidden" then return { status = 403, body = "{\"error\": \"role too low\"}" } end
      if req.path == "/bad101" then return { status = 101 } end
      local s = server.stream()
      if req.path == "/burst" then
        for i = 1, 500 do s:write("line " .. i) end
        streams[#streams + 1] = s
      elseif req.path == "/cycle" then
        s:write("hello")
      else
        s:write("hello")
        streams[#streams + 1] = s
      end
      local protocol = req.path ~= "/noproto" and "kipper.logs.v1" or nil
      return { status = 101, websocket = s, subprotocol = protocol }
    end }))
    base = "ws://127.0.0.1:" .. srv:port()
  end)
  teardown(function() srv:close() end)

  it("refuses an upgrade with the handler's ordinary response", function()
    local ev = ws.run(base .. "/deny", { protocols = { "kipper.logs.v1", "bearer.x" } })
    assert.equal("refused", ev[1].event)
    assert.equal(401, ev[1].status)
    assert.equal("Bearer", ev[1].headers["www-authenticate"])
    assert.equal("{\"error\": \"no token\"}", ev[1].body)
    ev = ws.run(base .. "/forbidden")
    assert.equal(403, ev[1].status)
    assert.equal("application/json", ev[1].headers["content-type"])
    ev = ws.run(base .. "/bad101")
    assert.equal(500, ev[1].status, "status 101 without a stream is the handler's error")
  end)

  it("tells the handler it is an upgrade and what subprotocols the client offered", function()
    local ev = ws.run(base .. "/chat", { protocols = { "kipper.logs.v1", "bearer.abc" }, steps = { "read:1", "close" } })
    assert.equal(101, ev[1].status)
    assert.equal("kipper.logs.v1", ev[1].subprotocol, "the handler's choice, never bearer.abc")
    local last = seen[#seen]
    assert.is_true(last.websocket)
    assert.equal("kipper.logs.v1, bearer.abc", last.protocol)
    ev = ws.run(base .. "/noproto", { protocols = { "bearer.abc" }, steps = { "read:1", "close" } })
    assert.equal(101, ev[1].status)
    assert.is_nil(ev[1].headers["sec-websocket-protocol"])
    local plain = require("kip.http").request({ url = "http://127.0.0.1:" .. srv:port() .. "/plain" })
    assert.equal("plain", plain.body)
    assert.is_nil(seen[#seen].websocket)
  end)

  it("sends each write as one text frame, in order, then a close frame when the stream closes", function()
    local c = ws.spawn(base .. "/burst", { steps = { "read-until-close" } })
    assert.truthy(c:wait_for("text"))
    streams[#streams]:close()
    local ev = c:stop()
    local texts = ws.texts(ev)
    assert.equal(500, #texts)
    for i = 1, 500 do assert.equal("line " .. i, texts[i]) end
    assert.equal(1000, ws.find(ev, "close").code)
  end)

  it("sees the client's close frame, answers it, and the stream stops being open", function()
    local c = ws.spawn(base .. "/live", { steps = { "read:2", "close:4001" } })
    assert.truthy(c:wait_for("text"))
    local s = streams[#streams]
    assert.is_true(s:is_open())
    assert.is_true(s:write("second"))
    local ev = c:stop()
    assert.same({ "hello", "second" }, ws.texts(ev))
    assert.equal(4001, ws.find(ev, "close").code, "the close is echoed with the client's code")
    assert.truthy(helpers.eventually(function() return not s:is_open() end, 5))
    assert.is_false(s:write("too late"))
  end)

  it("notices a client that goes away without a close frame", function()
    local ev = ws.run(base .. "/live", { steps = { "read:1", "drop" } })
    assert.same({ "hello" }, ws.texts(ev))
    local s = streams[#streams]
    assert.truthy(helpers.eventually(function() return not s:is_open() end, 5))
  end)

  it("answers pings with pongs", function()
    local ev = ws.run(base .. "/live", { steps = { "read:1", "ping:are-you-there", "close" } })
    assert.equal("are-you-there", ws.find(ev, "pong").data)
  end)

  it("sends a close frame (1000) when the handler's side closes the stream", function()
    local c = ws.spawn(base .. "/live", { steps = { "read-until-close" } })
    assert.truthy(c:wait_for("text"))
    local s = streams[#streams]
    s:write("bye")
    s:close()
    local ev = c:stop()
    assert.same({ "hello", "bye" }, ws.texts(ev))
    assert.equal(1000, ws.find(ev, "close").code)
  end)

  it("keeps threads and descriptors steady over 2000 open/close cycles", function()
    collectgarbage()
    local threads, fds = count("/proc/self/task"), count("/proc/self/fd")
    local ev = ws.run(base .. "/cycle", { cycles = 1000, steps = { "read:1", "close" } })
    assert.equal(1000, ev[1].ok, tostring(ev[1].first_failure))
    ev = ws.run(base .. "/cycle", { cycles = 500, steps = { "read:1", "drop" } })
    assert.equal(500, ev[1].ok, tostring(ev[1].first_failure))
    ev = ws.run(base .. "/deny", { cycles = 500 })
    assert.equal(500, ev[1].refused)
    local steady = helpers.eventually(function()
      collectgarbage()
      return count("/proc/self/task") == threads and count("/proc/self/fd") == fds
    end, 15)
    assert.is_true(steady, string.format("threads %d -> %d, fds %d -> %d", threads, count("/proc/self/task"), fds,
      count("/proc/self/fd")))
  end)
end)

describe("kip.server WebSocket when the server closes", function()
  it("sends every open WebSocket a close frame with 1001 (going away)", function()
    local kept = {}
    local srv = assert(server.listen({ listen = "127.0.0.1:0", handler = function()
      local s = server.stream()
      s:write("hello")
      kept[#kept + 1] = s
      return { status = 101, websocket = s, subprotocol = "kipper.logs.v1" }
    end }))
    local url = "ws://127.0.0.1:" .. srv:port() .. "/x"
    local a = ws.spawn(url, { steps = { "read-until-close" } })
    local b = ws.spawn(url, { steps = { "read-until-close" } })
    assert.truthy(a:wait_for("text"))
    assert.truthy(b:wait_for("text"))
    srv:close()
    for _, c in ipairs({ a, b }) do
      local ev = c:stop()
      assert.equal(1001, (ws.find(ev, "close") or {}).code)
    end
    for _, s in ipairs(kept) do assert.is_false(s:is_open()) end
  end)
end)

describe("kip.server WebSocket over TLS", function()
  it("upgrades through the TLS front and frames both ways", function()
    local dir = helpers.tmpdir()
    local ca_key = assert(tls.generate_key("ecdsa-p256"))
    local ca = assert(tls.create_certificate({ subject = { CN = "test-ca" }, key = ca_key, ca = true }))
    local key = assert(tls.generate_key("ecdsa-p256"))
    local cert = assert(tls.create_certificate({ subject = { CN = "server" }, sans = { "127.0.0.1" }, key = key,
      issuer = { cert = ca, key = ca_key }, usage = "server" }))
    assert(fs.write(dir .. "/server.pem", cert:pem() .. key:private_pem()))
    assert(fs.write(dir .. "/ca.pem", ca:pem()))
    local seen
    local srv = assert(server.listen({ listen = "127.0.0.1:0", cert_file = dir .. "/server.pem", handler = function(req)
      seen = req
      local s = server.stream()
      s:write("over tls")
      return { status = 101, websocket = s, subprotocol = "kipper.logs.v1" }
    end }))
    local ev = ws.run("wss://127.0.0.1:" .. srv:port() .. "/tls", { cafile = dir .. "/ca.pem",
      protocols = { "kipper.logs.v1" }, steps = { "read:1", "ping:x", "close:4002" } })
    srv:close()
    helpers.rmtree(dir)
    assert.equal(101, ev[1].status)
    assert.same({ "over tls" }, ws.texts(ev))
    assert.equal("x", ws.find(ev, "pong").data)
    assert.equal(4002, ws.find(ev, "close").code)
    assert.is_true(seen.websocket)
  end)
end)
