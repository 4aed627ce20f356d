-- SPDX-License-Identifier: Apache-2.0
-- kip.informer without a cluster: misuse, the work queue, and informers against a fake API server
-- run in this process by kip.server (so its handlers only run while :poll has the host lock
-- released): paged lists, watch events, bookmarks, a watch ending, ERROR 410 and HTTP 410, HTTP
-- errors with back-off, stop and close. The real sandbox API is in spec/integration.
local informer = require "kip.informer"
local json = require "kip.json"
local server = require "kip.server"

local function now()
  local t = require("kip.proc").run({ "date", "+%s.%N" })
  return tonumber(t.stdout)
end

-- A fake collection /api/v1/configmaps: api.objects (name -> {data =, rv =}) is listed in name
-- order, `limit` items a page; watch requests get a stream (api.watches) the test writes events to.
local function fake_api()
  local api = { objects = {}, rv = 10, watches = {}, lists = {} }
  local function list(q)
    local names = {}
    for name in pairs(api.objects) do names[#names + 1] = name end
    table.sort(names)
    local first, limit = tonumber(q.continue or "1"), tonumber(q.limit or "0")
    local last = limit > 0 and math.min(#names, first + limit - 1) or #names
    local items = {}
    for i = first, last do
      local o = api.objects[names[i]]
      items[#items + 1] = { metadata = { name = names[i], namespace = "default", resourceVersion = tostring(o.rv) },
        data = o.data }
    end
    return { kind = "ConfigMapList", apiVersion = "v1", items = json.array(items),
      metadata = { resourceVersion = tostring(api.rv), continue = last < #names and tostring(last + 1) or nil } }
  end
  api.srv = assert(server.listen({ listen = "127.0.0.1:0", threads = 32, handler = function(req)
    local q = {}
    for k, v in req.query:gmatch("([^&=]+)=([^&]*)") do
      q[k] = (v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
    end
    if api.status then
      return { status = api.status, headers = { ["Content-Type"] = "application/json" },
        body = json.encode({ kind = "Status", apiVersion = "v1", status = "Failure", message = "no luck", code = api.status }) }
    end
    if q.watch then
      if api.watch_status then
        return { status = api.watch_status, body = json.encode({ kind = "Status", message = "expired", code = api.watch_status }) }
      end
      local s = server.stream()
      api.watches[#api.watches + 1] = { stream = s, query = q }
      return { status = 200, headers = { ["Content-Type"] = "application/json" }, stream = s }
    end
    api.lists[#api.lists + 1] = q
    return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = json.encode(list(q)) }
  end }))
  api.url = "http://127.0.0.1:" .. api.srv:port()
  function api.put(name, data)
    api.rv = api.rv + 1
    api.objects[name] = { data = data, rv = api.rv }
    return { kind = "ConfigMap", apiVersion = "v1",
      metadata = { name = name, namespace = "default", resourceVersion = tostring(api.rv) }, data = data }
  end
  function api.send(type, obj)
    local w = assert(api.watches[#api.watches], "no watch is open")
    assert(w.stream:write(json.encode({ type = type, object = obj }) .. "\n"))
  end
  return api
end

local function recorder(api, opts)
  local rec = { log = {} }
  local o = { conn = { server = api.url }, path = "/api/v1/configmaps", backoff_min = 0.05, backoff_max = 0.2 }
  for k, v in pairs(opts or {}) do o[k] = v end
  rec.inf = informer.new(o)
  rec.inf:on({
    on_add = function(obj) rec.log[#rec.log + 1] = "add " .. obj.metadata.name end,
    on_update = function(old, new)
      rec.log[#rec.log + 1] = string.format("update %s %s->%s", new.metadata.name, old.data.v, new.data.v)
    end,
    on_delete = function(obj) rec.log[#rec.log + 1] = "delete " .. obj.metadata.name end,
  })
  return rec
end

-- Polls (which lets the fake server's handlers run) until fn() is true or 10 s pass.
local function poll_until(rec, fn, what)
  local deadline = os.time() + 10
  repeat
    rec.inf:poll(0.02)
    if fn() then return end
  until os.time() > deadline
  error((what or "the condition") .. " did not happen; log: " .. table.concat(rec.log, ", ") ..
    "; stats: " .. json.encode(rec.inf:stats()), 2)
end

describe("kip.informer", function()
  it("raises on misuse", function()
    assert.has_error(function() informer.new() end)
    assert.has_error(function() informer.new({ path = "/api/v1/pods" }) end, "kip.informer: option 'conn' must be a table, got nil")
    assert.has_error(function() informer.new({ conn = {}, path = "/api/v1/pods" }) end, "kip.informer: conn.server is required")
    assert.has_error(function() informer.new({ conn = { server = "https://h" } }) end, "kip.informer: option 'path' is required")
    assert.has_error(function() informer.new({ conn = { server = "ftp://h" }, path = "/x" }) end)
    assert.has_error(function() informer.new({ conn = { server = "https://h" }, path = "api/v1/pods" }) end)
    assert.has_error(function() informer.new({ conn = { server = "https://h" }, path = "/x?watch=1" }) end)
    assert.has_error(function() informer.new({ conn = { server = "https://h" }, path = "/x", page_size = 0 }) end)
    assert.has_error(function() informer.new({ conn = { server = "https://h", token = 1 }, path = "/x" }) end)
    assert.has_error(function() informer.new({ conn = { server = "https://h" }, path = "/x", backoff_max = -1 }) end)
    local inf = informer.new({ conn = { server = "https://127.0.0.1:1/" }, path = "/api/v1/pods" })
    assert.matches("^kip%.informer%.Informer %(/api/v1/pods, stopped%)$", tostring(inf))
    assert.has_error(function() inf:on({ on_add = true }) end, "kip.informer: handler 'on_add' must be a function, got boolean")
    assert.has_error(function() inf:on() end)
    assert.has_error(function() inf:get() end)
    assert.has_error(function() inf:poll(-1) end)
    assert.equal(inf, inf:on({}))
    assert.equal(0, inf:poll())
    assert.is_nil(inf:get("default", "x"))
    assert.same({}, inf:list())
    inf:close()
    inf:close()
    assert.matches("closed%)$", tostring(inf))
    assert.has_error(function() inf:start() end, "kip.informer: the informer is closed")
    assert.has_error(function() inf:poll() end, "kip.informer: the informer is closed")
  end)

  it("keeps failing requests in its stats and stops at once while backing off", function()
    local rec = recorder({ url = "http://127.0.0.1:1" }, { backoff_min = 5, backoff_max = 10 })
    assert.is_true(rec.inf:start())
    local deadline = os.time() + 10
    while rec.inf:stats().errors == 0 and os.time() < deadline do rec.inf:poll(0.05) end
    local st = rec.inf:stats()
    assert.equal(1, st.errors)
    assert.matches("^GET http://127%.0%.0%.1:1/api/v1/configmaps%?limit=500: ", st.last_error)
    assert.is_false(rec.inf:synced())
    local t0 = now()
    rec.inf:stop()
    assert.is_true(now() - t0 < 2, "stop waited for the back-off")
    assert.is_false(rec.inf:stats().running)
    do
      local closing <close> = rec.inf
      assert(closing:start())
    end
    assert.has_error(function() rec.inf:stats() end, "kip.informer: the informer is closed")
    -- dropped while running: __gc stops it
    local dropped = recorder({ url = "http://127.0.0.1:1" }).inf
    assert(dropped:start())
    dropped = nil -- luacheck: ignore 311
    collectgarbage()
    collectgarbage()
  end)

  describe("against a fake API server", function()
    local api
    before_each(function() api = fake_api() end)
    after_each(function() api.srv:close() end)

    it("lists in pages, then applies watch events and bookmarks", function()
      for i = 1, 5 do api.put("cm-" .. i, { v = "1" }) end
      local rec = recorder(api, { page_size = 2, label_selector = "a=b,c in (d)", field_selector = "metadata.name!=x" })
      finally(function() rec.inf:close() end)
      assert(rec.inf:start())
      poll_until(rec, function() return rec.inf:synced() and #api.watches == 1 end, "the sync and the watch")
      assert.same({ "add cm-1", "add cm-2", "add cm-3", "add cm-4", "add cm-5" }, rec.log)
      assert.equal(3, #api.lists)
      assert.same({ limit = "2", labelSelector = "a=b,c in (d)", fieldSelector = "metadata.name!=x" }, api.lists[1])
      assert.equal("3", api.lists[2].continue)
      assert.equal("5", api.lists[3].continue)
      local wq = api.watches[1].query
      assert.equal("15", wq.resourceVersion)
      assert.equal("true", wq.allowWatchBookmarks)
      assert.equal("a=b,c in (d)", wq.labelSelector)
      local t = tonumber(wq.timeoutSeconds)
      assert.is_true(t >= 300 and t <= 360, wq.timeoutSeconds)
      local obj = rec.inf:get("default", "cm-3")
      assert.equal("ConfigMap", obj.kind)
      assert.equal("v1", obj.apiVersion)
      assert.equal("15", rec.inf:resource_version())

      rec.log = {}
      api.send("ADDED", api.put("cm-6", { v = "1" }))
      api.send("MODIFIED", api.put("cm-1", { v = "2" }))
      api.send("MODIFIED", api.put("cm-9", { v = "1" })) -- unknown before: an add
      api.rv = api.rv + 1
      api.send("DELETED", { metadata = { name = "cm-2", namespace = "default", resourceVersion = tostring(api.rv) } })
      api.objects["cm-2"] = nil
      api.send("DELETED", { metadata = { name = "never-seen", namespace = "default", resourceVersion = tostring(api.rv) } })
      api.send("BOOKMARK", { kind = "ConfigMap", apiVersion = "v1", metadata = { resourceVersion = "40" } })
      poll_until(rec, function() return #rec.log == 4 and rec.inf:resource_version() == "40" end, "the events and the bookmark")
      assert.same({ "add cm-6", "update cm-1 1->2", "add cm-9", "delete cm-2" }, rec.log)
      assert.same({ "cm-1", "cm-3", "cm-4", "cm-5", "cm-6", "cm-9" }, (function()
        local out = {}
        for i, o in ipairs(rec.inf:list("default")) do out[i] = o.metadata.name end
        return out
      end)())
      local st = rec.inf:stats()
      assert.equal(1, st.bookmarks)
      assert.equal(5, st.events)
      assert.equal(3, st.pages)

      -- the server ends the watch: the informer watches again from where it was
      api.watches[1].stream:close()
      poll_until(rec, function() return #api.watches == 2 end, "the second watch")
      assert.equal("40", api.watches[2].query.resourceVersion)
      assert.equal(1, rec.inf:stats().lists)
      assert.is_true(rec.inf:stats().reconnects >= 1)
    end)

    it("relists on an ERROR 410 event and on HTTP 410, reconciling its cache", function()
      api.put("a", { v = "1" })
      api.put("b", { v = "1" })
      local rec = recorder(api)
      finally(function() rec.inf:close() end)
      assert(rec.inf:start())
      poll_until(rec, function() return #api.watches == 1 end, "the watch")
      -- meanwhile, without events: a is gone, b changed, c is new
      api.objects.a = nil
      api.put("b", { v = "2" })
      api.put("c", { v = "1" })
      rec.log = {}
      api.send("ERROR", { kind = "Status", apiVersion = "v1", status = "Failure", reason = "Expired", code = 410,
        message = "too old resource version" })
      poll_until(rec, function() return #rec.log == 3 end, "the reconcile")
      assert.same({ "delete a", "update b 1->2", "add c" }, rec.log)
      assert.equal(1, rec.inf:stats().relists)
      assert.equal(0, rec.inf:stats().errors)
      poll_until(rec, function() return #api.watches == 2 end, "the watch after the relist")

      api.watch_status = 410
      api.watches[#api.watches].stream:close()
      poll_until(rec, function() return rec.inf:stats().relists >= 2 end, "the relist after HTTP 410")
      api.watch_status = nil
      poll_until(rec, function() return #api.watches == 3 end, "the watch after it")
    end)

    it("backs off after HTTP errors and reports the Status message", function()
      api.status = 403
      local rec = recorder(api)
      finally(function() rec.inf:close() end)
      assert(rec.inf:start())
      poll_until(rec, function() return rec.inf:stats().errors >= 2 end, "two failed lists")
      assert.equal("list /api/v1/configmaps: HTTP 403: no luck", rec.inf:stats().last_error)
      assert.is_false(rec.inf:synced())
      api.status = nil
      api.put("x", { v = "1" })
      poll_until(rec, function() return rec.inf:synced() and rec.log[1] == "add x" and #api.watches == 1 end,
        "the list once allowed, and the watch")
      api.watch_status = 500
      api.watches[#api.watches].stream:close()
      local errors = rec.inf:stats().errors
      poll_until(rec, function() return rec.inf:stats().errors >= errors + 2 end, "failed watches")
      assert.matches("^watch /api/v1/configmaps: HTTP 500", rec.inf:stats().last_error)
    end)

    it("rejects watch lines that are not events", function()
      local rec = recorder(api)
      finally(function() rec.inf:close() end)
      assert(rec.inf:start())
      poll_until(rec, function() return #api.watches == 1 end, "the watch")
      assert(api.watches[1].stream:write("not json\n"))
      poll_until(rec, function() return rec.inf:stats().errors == 1 end, "the error")
      assert.matches("^watch /api/v1/configmaps: line 1, column 1: ", rec.inf:stats().last_error)
      poll_until(rec, function() return #api.watches == 2 end, "the next watch")
    end)
  end)
end)

describe("kip.informer.queue", function()
  it("hands out each key once, and again after done when re-added meanwhile", function()
    local q = informer.queue()
    assert.matches("^kip%.informer%.Queue %(0 ready%)$", tostring(q))
    q:add("ns/a")
    q:add("ns/b")
    q:add("ns/a")
    assert.equal(2, q:len())
    assert.equal("ns/a", q:get())
    q:add("ns/a") -- being processed: waits for done
    assert.equal("ns/b", q:get(0))
    assert.is_nil(q:get(0.01))
    q:done("ns/a")
    assert.equal("ns/a", q:get(0))
    q:done("ns/a")
    q:done("ns/b")
    assert.equal(0, q:len())
  end)

  it("delays keys and backs off failing ones", function()
    local q = informer.queue({ base_delay = 0.01, max_delay = 0.04 })
    q:add_after("late", 0.08)
    q:add_after("soon", 0.02)
    q:add_after("now", 0)
    assert.equal("now", q:get())
    assert.equal("soon", q:get(1))
    assert.equal("late", q:get(1))
    assert.equal(0.01, q:add_rate_limited("bad"))
    assert.equal(0.02, q:add_rate_limited("bad"))
    assert.equal(0.04, q:add_rate_limited("bad"))
    assert.equal(0.04, q:add_rate_limited("bad"))
    assert.equal(4, q:failures("bad"))
    assert.equal("bad", q:get(1))
    q:done("bad")
    q:forget("bad")
    assert.equal(0, q:failures("bad"))
    assert.equal(0.01, q:add_rate_limited("bad"))
    assert.has_error(function() q:add_after("x") end)
    assert.has_error(function() q:add("a\0b") end)
    assert.has_error(function() q:get(-1) end)
    assert.has_error(function() informer.queue({ base_delay = 0 }) end)
    assert.has_error(function() informer.queue({ max_delay = "1" }) end)
  end)

  it("shuts down: queued keys first, then nil, \"shutdown\"; closed queues raise", function()
    local q = informer.queue()
    q:add("last")
    q:shutdown()
    assert.is_true(q:shutting_down())
    q:add("ignored")
    assert.equal("last", q:get())
    local key, why = q:get()
    assert.is_nil(key)
    assert.equal("shutdown", why)
    q:close()
    q:close()
    assert.equal("kip.informer.Queue (closed)", tostring(q))
    assert.has_error(function() q:add("x") end, "kip.informer: the queue is closed")
    do
      local scoped <close> = informer.queue()
      scoped:add("k")
    end
  end)
end)
