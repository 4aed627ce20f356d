-- SPDX-License-Identifier: Apache-2.0
-- kip.provider and providers/baremetal.lua: loading an InfraProvider, checking its interface,
-- calling it without letting its errors crash kip, and the bare-metal provider's answers.
local helpers = require "helpers"
local provider = require "kip.provider"

describe("kip.provider", function()
  it("loads the bare-metal provider and answers for a server you own", function()
    local p = assert(provider.load("baremetal"))
    assert.equals("baremetal", p.name())
    local m = assert(p.provision({ host = "203.0.113.10", role = "server", plan = true }))
    assert.same({ host = "203.0.113.10", address = "203.0.113.10", ssh_port = 22, ssh_user = "root", role = "server" }, m)
    local none, err = p.provision({ role = "server" })
    assert.is_nil(none)
    assert.matches("needs the server's address: pass %-%-host IP", err)
    assert.same({ ip = "203.0.113.10" }, p.get_load_balancer({ host = "203.0.113.10" }))
    assert.same({ hostname = "k3s.example.com" }, p.get_load_balancer({ host = "k3s.example.com" }))
    assert.equals("local-path", p.storage_class({ host = "203.0.113.10" }))
    local ok, note = p.destroy(m)
    assert.is_true(ok)
    assert.matches("is your server", note)
  end)

  it("names what is missing, and turns a provider's error into a message", function()
    local none, err = provider.load("no-such-cloud")
    assert.is_nil(none)
    assert.equals('no infrastructure provider "no-such-cloud" (kip has: baremetal)', err)
    local dir = helpers.tmpdir()
    finally(function() helpers.rmtree(dir) end)
    helpers.write(dir .. "/providers/half.lua", "return { name = function() return 'half' end, provision = function() end }\n")
    helpers.write(dir .. "/providers/boom.lua", [[
return { name = function() return "boom" end, destroy = function() return true end, get_load_balancer = function() end,
  storage_class = function() end, provision = function() error("quota exceeded") end }
]])
    local script = [[
local provider = require "kip.provider"
local p, err = provider.load("half")
print(p, err)
local b = assert(provider.load("boom"))
print(provider.call(b, "provision", {}))
]]
    local r = helpers.kip({ "lua", "-" }, { env = { KIP_PLUGIN_PATH = dir }, stdin = script })
    assert.equals(0, r.status, r.stderr)
    assert.matches('nil\tprovider "half" has no destroy function (an InfraProvider needs name, provision, destroy, ' ..
      "get_load_balancer, storage_class)", r.stdout, 1, true)
    assert.matches("nil\tprovider boom failed in provision: .-quota exceeded", r.stdout)
  end)
end)
