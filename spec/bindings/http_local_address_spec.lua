-- SPDX-License-Identifier: Apache-2.0
-- kip.http's local_address: connections made from a chosen loopback address (127.0.0.N, as a
-- kipper-gateway sees a cluster's claim), checked by an in-process kip.server that answers with
-- the address it saw; a name instead of an address, and an address this machine does not have.
local http = require "kip.http"
local server = require "kip.server"

describe("kip.http local_address", function()
  local srv, url
  setup(function()
    srv = assert(server.listen({ listen = "0.0.0.0:0", handler = function(req)
      return { status = 200, body = req.remote_addr }
    end }))
    url = "http://127.0.0.1:" .. srv:port() .. "/"
  end)
  teardown(function() if srv then srv:close() end end)

  it("connects from the address given", function()
    local n = math.random(2, 250)
    local c <close> = assert(http.client({ local_address = "127.0.0." .. n }))
    local r = assert(c:request({ url = url, timeout = 10 }))
    assert.equal("127.0.0." .. n, r.body)
    local d <close> = assert(http.client())
    assert.equal("127.0.0.1", assert(d:request({ url = url, timeout = 10 })).body)
  end)

  it("refuses a name, and fails to connect from an address this machine does not have", function()
    local c, err, code = http.client({ local_address = "localhost" })
    assert.is_nil(c)
    assert.equal("invalid", code)
    assert.matches("not a numeric IP address", err, 1, true)
    local other <close> = assert(http.client({ local_address = "192.0.2.77" }))
    local r, cerr, ccode = other:request({ url = url, timeout = 10 })
    assert.is_nil(r)
    assert.equal("connect", ccode, cerr)
    assert.has_error(function() http.client({ local_address = 5 }) end)
  end)
end)
