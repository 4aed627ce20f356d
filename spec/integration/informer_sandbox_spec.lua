-- SPDX-License-Identifier: Apache-2.0
-- kip.informer against the real `kip sandbox api` driven by kubectl: the initial sync, add/update/
-- delete callbacks, label and field selectors, lists of several pages, stop and start, handler
-- errors, and the API restarting mid-watch with its state (resume, nothing lost or repeated) and
-- without it (410 Gone, relist, deletes for what vanished). Uses helpers.sandbox and kip.json.
local fs = require "kip.fs"
local helpers = require "helpers"
local informer = require "kip.informer"
local json = require "kip.json"
local sandbox = require "helpers.sandbox"

local function conn_of(sb)
  local tls = sb.dir .. "/tls/"
  return { server = sb.url, ca_data = assert(fs.read(tls .. "ca.crt")),
    cert_data = assert(fs.read(tls .. "client-admin.crt")), key_data = assert(fs.read(tls .. "client-admin.key")) }
end

local function configmap(name, data, labels)
  return assert(json.encode({ apiVersion = "v1", kind = "ConfigMap",
    metadata = { name = name, labels = labels }, data = data }))
end

-- An informer whose handlers record what they are given: rec.adds[name], rec.updates[name] and
-- rec.deletes[name] count the calls, rec.last[name] is the latest object, rec.log the order.
local function recorder(sb, opts)
  local rec = { adds = {}, updates = {}, deletes = {}, last = {}, log = {} }
  local function bump(t, kind, obj, old)
    local name = obj.metadata.name
    t[name] = (t[name] or 0) + 1
    rec.last[name] = obj
    rec.log[#rec.log + 1] = { kind = kind, name = name, obj = obj, old = old }
  end
  local o = { conn = conn_of(sb), path = opts.path or "/api/v1/namespaces/default/configmaps",
    label_selector = opts.label_selector, field_selector = opts.field_selector, page_size = opts.page_size,
    backoff_min = 0.1, backoff_max = 0.5 }
  rec.inf = informer.new(o)
  rec.inf:on({
    on_add = function(obj) bump(rec.adds, "add", obj) end,
    on_update = function(old, new) bump(rec.updates, "update", new, old) end,
    on_delete = function(obj) bump(rec.deletes, "delete", obj) end,
  })
  return rec
end

-- Polls the informer until fn() is true; fails with what it saw after `seconds`.
local function poll_until(rec, fn, seconds, what)
  local ok = sandbox.eventually(function()
    rec.inf:poll(0.05)
    return fn()
  end, seconds or 10)
  if not ok then
    local seen = {}
    for _, e in ipairs(rec.log) do seen[#seen + 1] = e.kind .. " " .. e.name end
    error(string.format("%s did not happen; events: %s; stats: %s", what or "the condition",
      table.concat(seen, ", "), json.encode(rec.inf:stats())), 2)
  end
end

local function names(objs)
  local out = {}
  for i, o in ipairs(objs) do out[i] = o.metadata.name end
  return out
end

describe("kip.informer against the sandbox API", function()
  local sb, dir, state
  setup(function()
    dir = helpers.tmpdir()
    state = dir .. "/state.json"
    sb = sandbox.start({ dir = dir, state = state })
  end)
  teardown(function()
    if sb then sb:stop() end
    helpers.rmtree(dir)
  end)

  it("syncs what exists, then calls on_add, on_update and on_delete", function()
    sb:ok({ "create", "-f", "-" }, configmap("basic-b", { x = "1" }, { suite = "basic" }))
    sb:ok({ "create", "-f", "-" }, configmap("basic-a", { x = "1" }, { suite = "basic" }))
    sb:ok({ "create", "-f", "-" }, configmap("other", { x = "1" }))
    local rec = recorder(sb, { label_selector = "suite=basic" })
    finally(function() rec.inf:close() end)
    assert.is_false(rec.inf:synced())
    assert.is_nil(rec.inf:resource_version())
    assert.is_true(rec.inf:start())
    poll_until(rec, function() return rec.inf:synced() and rec.adds["basic-a"] and rec.adds["basic-b"] end, 10, "the initial sync")
    assert.same({ "basic-a", "basic-b" }, names(rec.inf:list()))
    assert.same({ "basic-a", "basic-b" }, names(rec.inf:list("default")))
    assert.same({}, rec.inf:list("elsewhere"))
    assert.equal("[]", json.encode(rec.inf:list("elsewhere")))
    local a = rec.inf:get("default", "basic-a")
    assert.equal("1", a.data.x)
    assert.equal("ConfigMap", a.kind, "list items get the list's kind")
    assert.equal("v1", a.apiVersion)
    assert.same(a, rec.inf:get("default/basic-a"))
    assert.is_nil(rec.inf:get("default", "other"))
    local rv0 = tonumber(rec.inf:resource_version())
    assert.is_number(rv0)

    sb:ok({ "patch", "cm", "basic-a", "--type", "merge", "-p", '{"data":{"x":"2"}}' })
    poll_until(rec, function() return rec.updates["basic-a"] end, 10, "the update")
    local ev = rec.log[#rec.log]
    assert.equal("1", ev.old.data.x)
    assert.equal("2", ev.obj.data.x)
    assert.equal("2", rec.inf:get("default", "basic-a").data.x)
    sb:ok({ "delete", "cm", "basic-b" })
    poll_until(rec, function() return rec.deletes["basic-b"] end, 10, "the delete")
    assert.equal("basic-b", rec.last["basic-b"].metadata.name)
    assert.is_nil(rec.inf:get("default", "basic-b"))
    sb:ok({ "create", "-f", "-" }, configmap("basic-c", { x = "3" }, { suite = "basic" }))
    poll_until(rec, function() return rec.adds["basic-c"] end, 10, "the add")
    assert.same({ "basic-a", "basic-c" }, names(rec.inf:list()))
    assert.is_true(tonumber(rec.inf:resource_version()) > rv0)
    assert.is_nil(rec.adds.other)
    local st = rec.inf:stats()
    assert.equal(1, st.lists)
    assert.equal(1, st.pages)
    assert.equal(0, st.relists)
    assert.is_true(st.watches >= 1)
    assert.is_true(st.events >= 3)
    assert.equal(0, st.pending)
    assert.is_true(st.running)
    assert.matches("^kip%.informer%.Informer %(/api/v1/namespaces/default/configmaps, running%)$", tostring(rec.inf))
  end)

  it("delivers only what the label or field selector matches", function()
    sb:ok({ "create", "-f", "-" }, configmap("sel-web", {}, { app = "web" }))
    sb:ok({ "create", "-f", "-" }, configmap("sel-db", {}, { app = "db" }))
    local rec = recorder(sb, { label_selector = "app in (web, api)" })
    local byname = recorder(sb, { field_selector = "metadata.name=sel-db2" })
    finally(function()
      rec.inf:close()
      byname.inf:close()
    end)
    assert(rec.inf:start())
    assert(byname.inf:start())
    poll_until(rec, function() return rec.inf:synced() end, 10, "the sync")
    assert.same({ "sel-web" }, names(rec.inf:list()))
    sb:ok({ "create", "-f", "-" }, configmap("sel-db2", {}, { app = "db" }))
    sb:ok({ "create", "-f", "-" }, configmap("sel-api", {}, { app = "api" }))
    poll_until(rec, function() return rec.adds["sel-api"] end, 10, "the add of sel-api")
    poll_until(byname, function() return byname.adds["sel-db2"] end, 10, "the add of sel-db2")
    assert.is_nil(rec.adds["sel-db"])
    assert.is_nil(rec.adds["sel-db2"])
    assert.same({ "sel-db2" }, names(byname.inf:list()))
    -- an object that comes to match arrives as an add
    sb:ok({ "label", "cm", "sel-db", "app=web", "--overwrite" })
    poll_until(rec, function() return rec.adds["sel-db"] end, 10, "the add of the relabelled sel-db")
    assert.same({ "sel-api", "sel-db", "sel-web" }, names(rec.inf:list()))
  end)

  it("lists in pages", function()
    local items = {}
    for i = 1, 1200 do
      items[i] = { apiVersion = "v1", kind = "ConfigMap",
        metadata = { name = string.format("bulk-%04d", i), labels = { bulk = "yes" } }, data = { i = tostring(i) } }
    end
    sb:ok({ "create", "--validate=false", "-f", "-" }, assert(json.encode({ apiVersion = "v1", kind = "List", items = items })))
    local rec = recorder(sb, { label_selector = "bulk=yes", page_size = 500 })
    finally(function() rec.inf:close() end)
    assert(rec.inf:start())
    local count = function()
      local n = 0
      for _ in pairs(rec.adds) do n = n + 1 end
      return n
    end
    poll_until(rec, function() return rec.inf:synced() and count() == 1200 end, 30, "the sync of 1,200 objects")
    local st = rec.inf:stats()
    assert.equal(1, st.lists)
    assert.equal(3, st.pages)
    local all = rec.inf:list()
    assert.equal(1200, #all)
    assert.equal("bulk-0001", all[1].metadata.name)
    assert.equal("1200", all[1200].data.i)
    for name, n in pairs(rec.adds) do assert.equal(1, n, name) end
    sb:ok({ "delete", "cm", "bulk-0001", "bulk-0600", "bulk-1200" })
    poll_until(rec, function() return #rec.inf:list() == 1197 end, 10, "the deletes")
    assert.same({ ["bulk-0001"] = 1, ["bulk-0600"] = 1, ["bulk-1200"] = 1 }, rec.deletes)
  end)

  it("stops, and catches up with what changed meanwhile when started again", function()
    sb:ok({ "create", "-f", "-" }, configmap("ss-1", { v = "1" }, { suite = "stop" }))
    sb:ok({ "create", "-f", "-" }, configmap("ss-2", { v = "1" }, { suite = "stop" }))
    local rec = recorder(sb, { label_selector = "suite=stop" })
    finally(function() rec.inf:close() end)
    assert(rec.inf:start())
    assert.has_error(function() rec.inf:start() end, "kip.informer: the informer is running already")
    poll_until(rec, function() return rec.inf:synced() and rec.adds["ss-2"] end, 10, "the sync")
    rec.inf:stop()
    rec.inf:stop() -- idempotent
    assert.is_false(rec.inf:stats().running)
    assert.matches("stopped%)$", tostring(rec.inf))
    sb:ok({ "delete", "cm", "ss-1" })
    sb:ok({ "patch", "cm", "ss-2", "--type", "merge", "-p", '{"data":{"v":"2"}}' })
    sb:ok({ "create", "-f", "-" }, configmap("ss-3", { v = "1" }, { suite = "stop" }))
    assert.equal(0, rec.inf:poll(0.3), "a stopped informer delivers nothing new")
    assert.same({ "ss-1", "ss-2" }, names(rec.inf:list()), "the cache stays while stopped")
    assert(rec.inf:start())
    poll_until(rec, function() return rec.deletes["ss-1"] and rec.updates["ss-2"] and rec.adds["ss-3"] end, 10,
      "the catch-up")
    assert.equal("2", rec.inf:get("default", "ss-2").data.v)
    assert.same({ "ss-2", "ss-3" }, names(rec.inf:list()))
    local st = rec.inf:stats()
    assert.equal(2, st.lists)
    assert.equal(1, st.relists)
  end)

  it("raises a handler's error from poll and keeps the later events queued", function()
    local rec = recorder(sb, { label_selector = "suite=raise" })
    finally(function() rec.inf:close() end)
    assert(rec.inf:start())
    poll_until(rec, function() return rec.inf:synced() end, 10, "the sync")
    sb:ok({ "create", "-f", "-" }, configmap("raise-1", {}, { suite = "raise" }))
    sb:ok({ "create", "-f", "-" }, configmap("raise-2", {}, { suite = "raise" }))
    assert(sandbox.eventually(function() return rec.inf:stats().pending == 2 end, 10))
    local seen = {}
    rec.inf:on({ on_add = function(obj)
      seen[#seen + 1] = obj.metadata.name
      if #seen == 1 then error("handler failed") end
    end })
    assert.has_error(function() rec.inf:poll() end)
    assert.same({ "raise-1" }, seen)
    assert.equal(1, rec.inf:stats().pending)
    assert.equal(1, rec.inf:poll())
    assert.same({ "raise-1", "raise-2" }, seen)
  end)

  it("resumes after the API restarts with its state, losing and repeating nothing", function()
    for i = 1, 3 do sb:ok({ "create", "-f", "-" }, configmap("keep-" .. i, { v = "1" }, { suite = "keep" })) end
    local rec = recorder(sb, { label_selector = "suite=keep" })
    finally(function() rec.inf:close() end)
    assert(rec.inf:start())
    poll_until(rec, function() return rec.inf:synced() and rec.adds["keep-3"] end, 10, "the sync")
    sb:ok({ "patch", "cm", "keep-1", "--type", "merge", "-p", '{"data":{"v":"2"}}' })
    poll_until(rec, function() return rec.updates["keep-1"] end, 10, "the update before the restart")
    local before = rec.inf:stats()

    local port = sb.port
    sb:stop(true) -- SIGTERM: the sandbox saves its state as it exits
    sb = nil
    rec.inf:poll(0.3)
    sb = sandbox.start({ port = port, state = state, dir = dir })
    sb:ok({ "create", "-f", "-" }, configmap("keep-4", { v = "1" }, { suite = "keep" }))
    sb:ok({ "delete", "cm", "keep-2" })
    sb:ok({ "patch", "cm", "keep-3", "--type", "merge", "-p", '{"data":{"v":"3"}}' })
    poll_until(rec, function() return rec.adds["keep-4"] and rec.deletes["keep-2"] and rec.updates["keep-3"] end, 20,
      "the changes after the restart")
    rec.inf:poll(0.5) -- anything repeated would arrive by now
    assert.same({ ["keep-1"] = 1, ["keep-2"] = 1, ["keep-3"] = 1, ["keep-4"] = 1 }, rec.adds)
    assert.same({ ["keep-1"] = 1, ["keep-3"] = 1 }, rec.updates)
    assert.same({ ["keep-2"] = 1 }, rec.deletes)
    assert.same({ "keep-1", "keep-3", "keep-4" }, names(rec.inf:list()))
    assert.equal("2", rec.inf:get("default", "keep-1").data.v)
    assert.equal("3", rec.inf:get("default", "keep-3").data.v)
    local st = rec.inf:stats()
    assert.is_true(st.reconnects > before.reconnects)
    assert.is_true(st.watches > before.watches)
  end)

  it("relists after the API restarts without its state, and delivers deletes for what vanished", function()
    for i = 1, 2 do sb:ok({ "create", "-f", "-" }, configmap("gone-" .. i, {}, { suite = "gone" })) end
    local rec = recorder(sb, { label_selector = "suite=gone" })
    finally(function() rec.inf:close() end)
    assert(rec.inf:start())
    poll_until(rec, function() return rec.inf:synced() and rec.adds["gone-2"] end, 10, "the sync")
    local before = rec.inf:stats()

    local port = sb.port
    sb:stop(true)
    sb = nil
    sb = sandbox.start({ port = port, dir = dir }) -- a fresh, empty cluster on the same port
    sb:ok({ "create", "-f", "-" }, configmap("gone-new", {}, { suite = "gone" }))
    poll_until(rec, function() return rec.deletes["gone-1"] and rec.deletes["gone-2"] and rec.adds["gone-new"] end, 20,
      "the relist")
    assert.same({ "gone-new" }, names(rec.inf:list()))
    local st = rec.inf:stats()
    assert.is_true(st.relists > before.relists)
    assert.equal(before.lists + 1, st.lists)
    assert.is_true(rec.inf:synced())
  end)
end)
