-- SPDX-License-Identifier: Apache-2.0
-- kipperd.auth.user_cache against the real sandbox API, used as kipperd.auth.users' client: reads
-- from the API until the watch syncs, then from the copy (hits and misses counted in a metrics
-- registry, copies handed out); its own writes show at once; a change made through another client
-- shows when the watch event is polled, or at once through refresh (a console login's second look);
-- a watch event older than a write the copy took is dropped; a deleted Secret sends reads to the
-- API until one is made again. Cheap scrypt parameters.
local json = require "kip.json"
local k8s = require "kip.k8s"
local metrics_mod = require "kip.reconcile.metrics"
local sandbox = require "helpers.sandbox"
local user_cache = require "kipperd.auth.user_cache"
local users = require "kipperd.auth.users"

local PW = "correct horse battery"
local ANA, BEN = "ana@example.com", "ben@example.com"

describe("kipperd.auth.user_cache (sandbox API)", function()
  local sb, c, cache, metrics

  setup(function()
    users.hash_params = { N = 16, r = 1, p = 1 }
    sb = sandbox.start()
    c = assert(k8s.connect({ kubeconfig = sb.kubeconfig }))
    assert(c:apply({ apiVersion = "v1", kind = "Namespace", metadata = { name = "kipper-system" } }, { field_manager = "spec" }))
    assert(users.add(c, ANA, "admin", PW))
    assert(users.add(c, BEN, "viewer", PW))
    metrics = metrics_mod.new()
    cache = user_cache.new({ client = c, metrics = metrics, backoff_min = 0.1, backoff_max = 0.5 })
  end)
  teardown(function()
    users.hash_params = nil
    if cache then cache:close() end
    if c then c:close() end
    if sb then sb:stop() end
  end)

  -- polls the watch until fn() is true (deadline `seconds`)
  local function poll_until(fn, seconds, what)
    assert(sandbox.eventually(function()
      cache:poll()
      return fn()
    end, seconds or 10), (what or "the condition") .. " did not happen: " .. json.encode(cache:stats()))
  end

  local function role_of(email)
    return assert(users.get(cache, email)).role
  end

  it("reads from the API until the watch syncs, then from its copy", function()
    assert.is_false(cache:serving())
    assert.equal("viewer", role_of(BEN))
    assert.equal(1, metrics:value(user_cache.MISSES))
    assert.equal(0, metrics:value(user_cache.HITS))
    assert(cache:start())
    poll_until(function() return cache:serving() end, 10, "the sync")
    local before = metrics:value(user_cache.MISSES)
    for _ = 1, 20 do assert.equal("viewer", role_of(BEN)) end
    assert.equal(20, metrics:value(user_cache.HITS))
    assert.equal(before, metrics:value(user_cache.MISSES))
    -- what it hands out is a copy: changing it changes nothing kept
    local s = assert(cache:get("v1", "Secret", "kipper-users", "kipper-system"))
    s.data["users.json"] = "bm90IGpzb24="
    assert.equal("viewer", role_of(BEN))
    -- other objects go to the API
    assert.equal("kipper-system", assert(cache:get("v1", "Namespace", "kipper-system")).metadata.name)
  end)

  it("shows its own writes at once, before their watch event", function()
    poll_until(function() return cache:serving() end)
    local epoch = assert(users.get(cache, BEN)).sessions_epoch
    local v = assert(users.set_password(cache, BEN, "a brand new passphrase"))
    assert.equal(epoch + 1, v.sessions_epoch)
    assert.equal(epoch + 1, assert(users.get(cache, BEN)).sessions_epoch) -- no poll in between
    assert.is_truthy(users.authenticate(cache, BEN, "a brand new passphrase"))
    assert(users.set_role(cache, BEN, "deployer"))
    assert.equal("deployer", role_of(BEN))
    assert.is_true(cache:serving())
  end)

  it("shows a change made through another client once its watch event is polled", function()
    poll_until(function() return cache:serving() end)
    local epoch = assert(users.get(cache, ANA)).sessions_epoch
    assert(users.end_sessions(c, ANA))
    poll_until(function() return assert(users.get(cache, ANA)).sessions_epoch == epoch + 1 end, 5, "the new epoch")
    assert(users.add(c, "cy@example.com", "viewer", PW))
    poll_until(function() return users.get(cache, "cy@example.com") ~= nil end, 5, "the new user")
    assert(users.remove(c, "cy@example.com"))
    poll_until(function() return users.get(cache, "cy@example.com") == nil end, 5, "the removal")
  end)

  it("retries a write over a copy the watch has not brought up to date yet", function()
    poll_until(function() return cache:serving() end)
    cache.informer:stop() -- no event reaches the copy now
    assert(users.set_role(c, BEN, "viewer")) -- elsewhere: the copy still says deployer
    assert.equal("deployer", role_of(BEN))
    -- the write through the cache meets a 409, re-reads, and keeps both changes
    assert(users.end_sessions(cache, ANA))
    assert.equal("viewer", role_of(BEN))
    assert(cache.informer:start())
    poll_until(function() return cache.informer:synced() end)
  end)

  it("refresh reads a password set elsewhere before its watch event is polled", function()
    poll_until(function() return cache:serving() end)
    cache.informer:stop() -- no event reaches the copy now
    assert(users.set_password(c, ANA, "reset from the command line"))
    local seen = cache:version()
    assert.is_nil(users.authenticate(cache, ANA, "reset from the command line")) -- the copy is behind
    assert.is_true(cache:refresh(seen))
    assert.is_truthy(users.authenticate(cache, ANA, "reset from the command line"))
    assert.is_true(cache:version() > seen)
    assert.is_false(cache:refresh(cache:version())) -- nothing newer
    -- newer than what a refused login read, though the watch brought it meanwhile
    assert.is_true(cache:refresh(seen))
    assert.is_true(cache:serving())
    assert(cache.informer:start())
    poll_until(function() return cache.informer:synced() end)
  end)

  it("lets a console login use a password set elsewhere before its watch event is polled", function()
    local jwt = require "kipperd.auth.jwt"
    local api = require("kipperd.api.auth").new({ client = c, users = cache, secure_cookies = false,
      signer = jwt.new_signer({ key = jwt.generate_key(), kid = "k1", issuer = "kipperd", audience = "kipper-console" }) })
    local function login(password)
      return api:login({ method = "POST", remote_addr = "127.0.0.1", headers = { ["content-type"] = "application/json" },
        body = json.encode({ email = ANA, password = password }) })
    end
    poll_until(function() return cache:serving() end)
    assert.equal(200, login("reset from the command line").status)
    cache.informer:stop()
    assert(users.set_password(c, ANA, "reset once more elsewhere"))
    local res = login("reset once more elsewhere")
    assert.equal(200, res.status, res.body)
    assert.equal(401, login("reset from the command line").status)
    assert(cache.informer:start())
    poll_until(function() return cache.informer:synced() end)
  end)

  it("drops a watch event older than a write it took", function()
    poll_until(function() return cache:serving() end)
    assert(users.set_role(c, BEN, "admin")) -- elsewhere: its event is queued, not yet polled
    assert(sandbox.eventually(function() return cache.informer:stats().pending > 0 end, 5), "no event queued")
    cache.informer:stop() -- nothing later is queued: the write's own event stays out
    local v = assert(users.set_role(cache, BEN, "viewer")) -- conflict, re-read, write: newer than the queued event
    assert.equal("viewer", v.role)
    assert.is_true(cache:poll() > 0) -- delivers the older event (role admin)
    assert.equal("viewer", role_of(BEN))
    assert.is_true(cache:serving())
    assert(cache.informer:start())
    poll_until(function() return cache.informer:synced() and cache.informer:stats().pending == 0 end)
    cache:poll()
    assert.equal("viewer", role_of(BEN))
  end)

  it("reads from the API while the Secret is deleted, and from its copy once one is made again", function()
    poll_until(function() return cache:serving() end)
    assert(c:delete("v1", "Secret", "kipper-users", "kipper-system"))
    poll_until(function() return not cache:serving() end, 5, "the deletion")
    local misses = metrics:value(user_cache.MISSES)
    assert.same({}, assert(users.list(cache)))
    assert.equal(misses + 1, metrics:value(user_cache.MISSES))
    assert(users.add(cache, ANA, "admin", PW)) -- created through the cache: the copy takes it
    assert.is_true(cache:serving())
    local hits = metrics:value(user_cache.HITS)
    assert.equal("admin", role_of(ANA))
    assert.equal(hits + 1, metrics:value(user_cache.HITS))
  end)
end)
