-- SPDX-License-Identifier: Apache-2.0
-- kipper_gateway.registry: names and addresses, the lifecycle of self-registered names against a
-- clock passed in, the routes, the registry file (decode errors, atomic save with mode 0600,
-- reload keeping the old state on a bad file).
local fs = require "kip.fs"
local gateway = require "kip.gateway"
local helpers = require "helpers"
local registry = require "kipper_gateway.registry"

local DAY = 86400
local T0 = 1800000000

local function rec(over)
  local r = { cluster = "203-0-113-10", ip = "203.0.113.10", port = 443, scheme = "https", owner = "self",
    token_sha256 = string.rep("a", 64), state = "active", created_at = T0, renewed_at = T0 }
  for k, v in pairs(over or {}) do r[k] = v end
  return r
end

describe("kipper_gateway.registry", function()
  it("reads cluster ids and IPv4 addresses strictly", function()
    assert.equal("203.0.113.10", registry.cluster_ip("203-0-113-10"))
    assert.equal("0.0.0.0", registry.cluster_ip("0-0-0-0"))
    for _, bad in ipairs({ "203-0-113", "203-0-113-010", "256-0-0-1", "a-b-c-d", "203.0.113.10", "1-2-3-4-5", "", 5 }) do
      assert.is_nil(registry.cluster_ip(bad), tostring(bad))
    end
    assert.equal("203.0.113.10", registry.parse_ipv4("203.0.113.10"))
    for _, bad in ipairs({ "203.0.113", "203.0.113.01", "1.2.3.256", "::1", " 1.2.3.4", {} }) do
      assert.is_nil(registry.parse_ipv4(bad), tostring(bad))
    end
    assert.equal("203-0-113-10", registry.dashed("203.0.113.10"))
  end)

  it("relies on kip.gateway.is_public_ip: public addresses apart from private, loopback, link-local, CGNAT and reserved ones", function()
    for _, ip in ipairs({ "203.0.113.10", "8.8.8.8", "198.51.100.1", "192.0.2.1", "100.63.255.255", "172.32.0.1" }) do
      assert.is_true(gateway.is_public_ip(ip) == true, ip)
    end
    for _, ip in ipairs({ "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
      "100.64.0.1", "0.1.2.3", "224.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.0.8", "junk" }) do
      assert.is_false(gateway.is_public_ip(ip) == true, ip)
    end
  end)

  it("writes and reads RFC 3339 times in UTC", function()
    assert.equal("2027-01-15T08:00:00Z", registry.format_time(T0))
    assert.equal(T0, registry.parse_time("2027-01-15T08:00:00Z"))
    assert.equal(0, registry.parse_time("1970-01-01T00:00:00Z"))
    assert.equal(951782400, registry.parse_time("2000-02-29T00:00:00Z"))
    assert.is_nil(registry.parse_time("2027-13-01T00:00:00Z"))
    assert.is_nil(registry.parse_time("2027-01-15 08:00:00"))
  end)

  describe("lifecycle", function()
    local opts = { ttl = 30 * DAY, hold = 90 * DAY }

    it("keeps a renewed name active for the TTL, then holds it, then frees it", function()
      local r = rec()
      assert.equal("active", registry.state_at(r, T0, opts))
      assert.equal("active", registry.state_at(r, T0 + 30 * DAY - 1, opts))
      assert.equal("expired", registry.state_at(r, T0 + 30 * DAY, opts))
      assert.equal("expired", registry.state_at(r, T0 + 120 * DAY - 1, opts))
      assert.equal("gone", registry.state_at(r, T0 + 120 * DAY, opts))
      assert.equal(T0 + 30 * DAY, registry.expires_at(r, opts))
    end)

    it("never expires the operator's records", function()
      local r = rec({ owner = "admin", token_sha256 = false })
      assert.equal("active", registry.state_at(r, T0 + 1000 * DAY, opts))
      assert.is_nil(registry.expires_at(r, opts))
    end)

    it("forgets an unproved registration after a day (or the TTL when shorter)", function()
      local r = rec({ state = "pending" })
      assert.equal("pending", registry.state_at(r, T0 + DAY - 1, opts))
      assert.equal("gone", registry.state_at(r, T0 + DAY, opts))
      assert.equal("gone", registry.state_at(r, T0 + 10, { ttl = 10, hold = 10 }))
    end)

    it("advances a set of records: states change in place, gone ones are removed", function()
      local records = {
        ["203-0-113-10"] = rec(),
        ["203-0-113-11"] = rec({ cluster = "203-0-113-11", ip = "203.0.113.11", renewed_at = T0 - 31 * DAY }),
        ["203-0-113-12"] = rec({ cluster = "203-0-113-12", ip = "203.0.113.12", renewed_at = T0 - 121 * DAY }),
        ["203-0-113-13"] = rec({ cluster = "203-0-113-13", ip = "203.0.113.13", owner = "admin", renewed_at = T0 - 999 * DAY }),
      }
      local changes = registry.advance(records, T0, opts)
      assert.same({
        { cluster = "203-0-113-11", from = "active", to = "expired" },
        { cluster = "203-0-113-12", from = "active", to = "gone" },
      }, changes)
      assert.equal("expired", records["203-0-113-11"].state)
      assert.is_nil(records["203-0-113-12"])
      assert.same({}, registry.advance(records, T0, opts))
      -- routes: active ones only
      local routes = registry.routes(records)
      assert.same({ ip = "203.0.113.10", port = 443, scheme = "https" }, routes["203-0-113-10"])
      assert.is_nil(routes["203-0-113-11"])
      assert.is_not_nil(routes["203-0-113-13"])
    end)
  end)

  describe("the file", function()
    local dir
    before_each(function() dir = helpers.tmpdir() end)
    after_each(function() helpers.rmtree(dir) end)

    it("starts empty when the file is missing, and saves atomically with mode 0600", function()
      local path = dir .. "/reg.json"
      local store = assert(registry.open(path))
      assert.same({}, store:list())
      assert(store:put(rec({ pin = string.rep("b", 64) })))
      assert.equal(tonumber("600", 8), fs.stat(path).mode)
      assert.same({}, fs.list(dir) and (function()
        local tmp = {}
        for _, n in ipairs(fs.list(dir)) do if n:match("%.tmp") then tmp[#tmp + 1] = n end end
        return tmp
      end)())
      local again = assert(registry.open(path))
      assert.same(rec({ pin = string.rep("b", 64) }), again:get("203-0-113-10"))
      assert(again:delete("203-0-113-10"))
      assert.same({}, assert(registry.open(path)):list())
    end)

    it("leaves memory as it was when the save fails", function()
      local store = assert(registry.open(dir .. "/missing-folder/reg.json"))
      local ok, err = store:put(rec())
      assert.is_nil(ok)
      assert.matches("missing%-folder", err)
      assert.is_nil(store:get("203-0-113-10"))
    end)

    it("refuses a corrupt file, naming the path and the reason", function()
      local path = dir .. "/reg.json"
      local cases = {
        { "{", "not JSON" },
        { "[]", "not a JSON object" },
        { '{"version":2,"clusters":{}}', "version 2" },
        { '{"version":1}', "clusters" },
        { '{"version":1,"clusters":{"nope":{}}}', '"nope" is not a cluster id' },
        { '{"version":1,"clusters":{"1-2-3-4":{"ip":"1.2.3.4","port":70000,"scheme":"https","owner":"admin","state":"active",' ..
          '"created_at":"2027-01-15T08:00:00Z","renewed_at":"2027-01-15T08:00:00Z"}}}', "port" },
        { '{"version":1,"clusters":{"1-2-3-4":{"ip":"1.2.3.4","port":443,"scheme":"https","owner":"self","state":"active",' ..
          '"created_at":"2027-01-15T08:00:00Z","renewed_at":"2027-01-15T08:00:00Z"}}}', "token_sha256" },
        { '{"version":1,"clusters":{"1-2-3-4":{"ip":"1.2.3.4","port":443,"scheme":"https","owner":"admin","state":"active",' ..
          '"created_at":"yesterday","renewed_at":"2027-01-15T08:00:00Z"}}}', "created_at" },
      }
      for _, c in ipairs(cases) do
        assert(fs.write(path, c[1]))
        local store, why = registry.open(path)
        assert.is_nil(store, c[1])
        assert.matches(path, why, 1, true)
        assert.matches(c[2], why, 1, true)
      end
    end)

    it("reloads an edited file, reporting what changed, and keeps memory on a bad one", function()
      local path = dir .. "/reg.json"
      local store = assert(registry.open(path))
      assert(store:put(rec()))
      assert(store:put(rec({ cluster = "203-0-113-11", ip = "203.0.113.11" })))
      local other = assert(registry.open(path))
      other.records["203-0-113-11"] = nil
      other.records["203-0-113-12"] = rec({ cluster = "203-0-113-12", ip = "203.0.113.12" })
      other.records["203-0-113-10"].port = 8443
      assert(other:save())
      local diff = assert(store:reload())
      assert.same({ added = { "203-0-113-12" }, removed = { "203-0-113-11" }, changed = { "203-0-113-10" } }, diff)
      assert.equal(8443, store:get("203-0-113-10").port)
      assert(fs.write(path, "garbage"))
      local d, why = store:reload()
      assert.is_nil(d)
      assert.matches("not JSON", why)
      assert.equal(8443, store:get("203-0-113-10").port)
      assert.is_not_nil(store:get("203-0-113-12"))
    end)

    it("brings records up to date on get and on advance, saving the changes", function()
      local path = dir .. "/reg.json"
      local store = assert(registry.open(path, { ttl = 10, hold = 20 }))
      assert(store:put(rec({ renewed_at = T0 })))
      assert.equal("expired", store:get("203-0-113-10", T0 + 10).state)
      assert.is_nil(store:get("203-0-113-10", T0 + 30))
      local changes = store:advance(T0 + 30)
      assert.equal("gone", changes[1].to)
      assert.same({}, assert(registry.open(path)):list())
      assert.same({ pending = 0, active = 0, expired = 0 }, store:counts())
    end)
  end)
end)
