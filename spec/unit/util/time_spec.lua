-- SPDX-License-Identifier: Apache-2.0
-- kip.util.time: days from civil dates, RFC 3339 and IMF-fixdate HTTP dates both ways, in UTC
-- whatever the local time zone.
local time = require "kip.util.time"

describe("kip.util.time", function()
  it("counts days from 1970-01-01, across leap years and before the epoch", function()
    assert.equal(0, time.days_from_civil(1970, 1, 1))
    assert.equal(-1, time.days_from_civil(1969, 12, 31))
    assert.equal(11016, time.days_from_civil(2000, 2, 29))
    assert.equal(11017, time.days_from_civil(2000, 3, 1))
    assert.equal(-719468, time.days_from_civil(0, 3, 1))
    -- every day of a few years, against the C library's UTC calendar
    for t = 946684800 - 400 * 86400, 946684800 + 800 * 86400, 86400 do
      local d = os.date("!*t", t)
      assert.equal(t // 86400, time.days_from_civil(d.year, d.month, d.day))
    end
  end)

  it("writes RFC 3339 UTC times, dropping fractions", function()
    assert.equal("1970-01-01T00:00:00Z", time.format_rfc3339(0))
    assert.equal("2027-01-15T08:00:00Z", time.format_rfc3339(1800000000.75))
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", time.format_rfc3339())
    assert.is_true(math.abs(time.parse_rfc3339(time.format_rfc3339()) - os.time()) <= 1)
  end)

  it("reads RFC 3339 times, with fractions and offsets", function()
    assert.equal(0, time.parse_rfc3339("1970-01-01T00:00:00Z"))
    assert.equal(1735787045, time.parse_rfc3339("2025-01-02T03:04:05Z"))
    assert.equal(1735787045, time.parse_rfc3339("2025-01-02T03:04:05.123456Z"))
    assert.equal(1735787045, time.parse_rfc3339("2025-01-02T05:04:05+02:00"))
    assert.equal(1735787045, time.parse_rfc3339("2025-01-01T22:34:05.5-04:30"))
    assert.equal(1735787045, time.parse_rfc3339("2025-01-02t03:04:05z"))
    assert.equal(1735787045, time.parse_rfc3339("2025-01-02 03:04:05"))
    assert.equal(951782400, time.parse_rfc3339("2000-02-29T00:00:00Z"))
    for _, t in ipairs({ 0, 951782400, 1700000000, 4102444799 }) do
      assert.equal(t, time.parse_rfc3339(time.format_rfc3339(t)))
    end
  end)

  it("refuses what is not an RFC 3339 time", function()
    assert.is_nil(time.parse_rfc3339("yesterday"))
    assert.is_nil(time.parse_rfc3339(nil))
    assert.is_nil(time.parse_rfc3339(1735787045))
    assert.is_nil(time.parse_rfc3339("2025-01-02"))
    assert.is_nil(time.parse_rfc3339("2025-01-02T03:04:05 GMT"))
    assert.is_nil(time.parse_rfc3339("2027-13-01T00:00:00Z"))
    assert.is_nil(time.parse_rfc3339("2027-01-00T00:00:00Z"))
    assert.is_nil(time.parse_rfc3339("2027-01-01T24:00:00Z"))
    assert.is_nil(time.parse_rfc3339("2027-01-01T00:60:00Z"))
  end)

  it("writes and reads IMF-fixdate HTTP dates", function()
    assert.equal("Sun, 06 Nov 1994 08:49:37 GMT", time.format_http_date(784111777))
    assert.equal("Thu, 01 Jan 1970 00:00:00 GMT", time.format_http_date(0))
    assert.equal(784111777, time.parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"))
    assert.equal(951782400, time.parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"))
    for _, t in ipairs({ 0, 1700000000, 4102444799 }) do
      assert.equal(t, time.parse_http_date(time.format_http_date(t)))
    end
    assert.is_nil(time.parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"))
    assert.is_nil(time.parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"))
    assert.is_nil(time.parse_http_date(nil))
  end)
end)
