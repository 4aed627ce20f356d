-- SPDX-License-Identifier: Apache-2.0
-- kipper_gateway.config: flags, the config file (YAML and JSON, the flags' keys, flags win),
-- validation with usage errors, durations and the admin token file's checks.
local config = require "kipper_gateway.config"
local errors = require "kip.cli.errors"
local fs = require "kip.fs"
local helpers = require "helpers"

local BASE = { "--zone", "kipper.run", "--registry", "/tmp/reg.json", "--api-listen", "127.0.0.1:0" }

local function with(extra)
  local argv = table.move(BASE, 1, #BASE, 1, {})
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  return argv
end

-- the usage (or failure) error raised by fn, as {status, message}
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(errors.is(err), tostring(err))
  return err
end

describe("kipper_gateway.config", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rmtree(dir) end)

  it("returns nil for --help", function()
    assert.is_nil(config.parse({ "--zone", "x", "-h" }))
  end)

  it("fills the defaults", function()
    local c = config.parse(with())
    assert.equal("kipper.run", c.zone)
    assert.equal("/tmp/reg.json", c.registry)
    assert.equal("127.0.0.1:0", c.api_listen)
    assert.equal(1, c.workers)
    assert.equal(30 * 86400, c.ttl)
    assert.equal(90 * 86400, c.hold)
    assert.equal(30, c.timeouts.drain)
    assert.is_false(c.allow_private)
    assert.same({}, c.certs)
    assert.equal("text", c.log_format)
  end)

  it("pairs --cert with --key in order", function()
    for _, f in ipairs({ "a.pem", "a.key", "b.pem", "b.key" }) do assert(fs.write(dir .. "/" .. f, "x")) end
    local c = config.parse(with({ "--tls-listen", "0.0.0.0:443", "--cert", dir .. "/a.pem", "--key", dir .. "/a.key",
      "--cert", dir .. "/b.pem", "--key", dir .. "/b.key" }))
    assert.same({ { cert = dir .. "/a.pem", key = dir .. "/a.key" }, { cert = dir .. "/b.pem", key = dir .. "/b.key" } }, c.certs)
    local e = raised(config.parse, with({ "--cert", dir .. "/a.pem" }))
    assert.equal(2, e.status)
    assert.matches("1 --cert but 0 --key", e.message, 1, true)
  end)

  it("refuses what it cannot use, with usage errors", function()
    local cases = {
      { {}, "--zone is required", { "--registry", "r", "--api-listen", "127.0.0.1:1" } },
      { { "--zone", "Kipper.RUN" }, "DNS name" },
      { { "--zone", "kipper..run" }, "DNS name" },
      { { "--zone", "-kipper.run" }, "DNS name" },
      { { "--listen", "8080" }, "ADDRESS:PORT" },
      { { "--workers", "0" }, "--workers" },
      { { "--heartbeat-ttl", "soon" }, "--heartbeat-ttl" },
      { { "--hold", "-1d" }, "--hold" },
      { { "--tls-listen", "0.0.0.0:443" }, "needs at least one --cert" },
      { { "--cert", "/nonexistent.pem", "--key", "/nonexistent.key" }, "no such file" },
      { { "--log-format", "xml" }, "must be one of" },
      { { "--bogus" }, "unknown flag --bogus" },
    }
    for _, c in ipairs(cases) do
      local argv = c[3] or with(c[1])
      local e = raised(config.parse, argv)
      assert.equal(2, e.status, c[2])
      assert.matches(c[2], e.message, 1, true)
    end
  end)

  it("reads durations in seconds, minutes, hours and days (a plain number is days)", function()
    assert.equal(90, config.parse_duration("90s"))
    assert.equal(300, config.parse_duration("5m"))
    assert.equal(7200, config.parse_duration("2h"))
    assert.equal(86400 * 30, config.parse_duration("30d"))
    assert.equal(86400 * 30, config.parse_duration("30"))
    assert.equal(43200, config.parse_duration("0.5"))
    assert.is_nil(config.parse_duration("0s"))
    assert.is_nil(config.parse_duration("3w"))
  end)

  it("reads a YAML config file with the flags' keys, and lets flags win", function()
    assert(fs.write(dir .. "/c.pem", "x"))
    assert(fs.write(dir .. "/c.key", "x"))
    local path = dir .. "/gw.yaml"
    assert(fs.write(path, table.concat({
      "zone: example.org",
      "registry: /var/lib/reg.json",
      "api-listen: 127.0.0.1:8443",
      "tls_listen: 0.0.0.0:443",
      "certs:",
      "  - cert: " .. dir .. "/c.pem",
      "    key: " .. dir .. "/c.key",
      "workers: 4",
      "allow-private-upstreams: true",
      "heartbeat-ttl: 12h",
      "timeouts: {header: 5, drain: 10}",
    }, "\n")))
    local c = config.parse({ "--config", path, "--workers", "2" })
    assert.equal("example.org", c.zone)
    assert.equal("0.0.0.0:443", c.tls_listen)
    assert.same({ { cert = dir .. "/c.pem", key = dir .. "/c.key" } }, c.certs)
    assert.equal(2, c.workers)
    assert.is_true(c.allow_private)
    assert.equal(43200, c.ttl)
    assert.same({ header = 5, drain = 10 }, c.timeouts)
  end)

  it("reads a JSON config file", function()
    local path = dir .. "/gw.json"
    assert(fs.write(path, '{"zone":"kipper.run","registry":"r.json","api-listen":"127.0.0.1:1","drain-timeout":5}'))
    local c = config.parse({ "--config", path })
    assert.equal(5, c.timeouts.drain)
  end)

  it("names unknown settings and bad values in a config file", function()
    local path = dir .. "/gw.yaml"
    assert(fs.write(path, "zone: kipper.run\nregistery: r.json\n"))
    local e = raised(config.parse, { "--config", path })
    assert.equal(2, e.status)
    assert.matches('unknown setting "registery"', e.message, 1, true)
    assert.matches("Did you mean registry?", e.hint, 1, true)
    assert(fs.write(path, "zone: [a]\n"))
    assert.matches("zone must be a string", raised(config.parse, { "--config", path }).message, 1, true)
    assert(fs.write(path, "allow-private-upstreams: yes please\n"))
    assert.matches("true or false", raised(config.parse, { "--config", path }).message, 1, true)
    assert(fs.write(path, "zone: [\n"))
    assert.matches(path, raised(config.parse, { "--config", path }).message, 1, true)
    assert.matches("cannot read the config file", raised(config.parse, { "--config", dir .. "/none.yaml" }).message, 1, true)
  end)

  it("reads the example config file in gateway/ without complaint", function()
    local s = config.read_file("gateway/config.example.yaml")
    assert.equal("kipper.run", s.zone)
    assert.equal("0.0.0.0:8443", s["api-listen"])
    assert.equal(1, #s.certs)
    assert.equal(30, s.timeouts.drain)
  end)

  describe("the admin token file", function()
    it("is read without its line end", function()
      local path = dir .. "/token"
      assert(fs.write(path, "0123456789abcdef0123\n", { mode = "0600" }))
      assert.equal("0123456789abcdef0123", config.read_admin_token(path))
    end)

    it("is refused when others may read it, when empty, or too short", function()
      local path = dir .. "/token"
      assert(fs.write(path, "0123456789abcdef0123\n", { mode = "0640" }))
      local e = raised(config.read_admin_token, path)
      assert.equal(1, e.status)
      assert.matches("can be read or written by others", e.message)
      assert.matches("chmod 600", e.hint)
      assert(fs.write(path, "\n", { mode = "0600" }))
      assert.matches("is empty", raised(config.read_admin_token, path).message)
      assert(fs.write(path, "short", { mode = "0600" }))
      assert.matches("shorter than 16", raised(config.read_admin_token, path).message)
      assert.matches("cannot read", raised(config.read_admin_token, dir .. "/none").message)
    end)
  end)
end)
