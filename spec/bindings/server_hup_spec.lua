-- SPDX-License-Identifier: Apache-2.0
-- kip.server's SIGHUP handling, in child kip processes: srv:run{hup = true} returns "SIGHUP" and
-- serves again when called again; without hup a SIGHUP ends the process as it did before the
-- server blocked the signal. Uses kip.proc, kip.fs and helpers.
local fs = require "kip.fs"
local helpers = require "helpers"
local proc = require "kip.proc"

local SCRIPT = [[
local server = require "kip.server"
local hup = arg[1] == "hup"
local srv = assert(server.listen({ listen = "127.0.0.1:0", handler = function() return { body = "ok" } end }))
io.stdout:write("port ", srv:port(), "\n")
io.stdout:flush()
local whys = {}
for _ = 1, 3 do
  local why = srv:run({ tick = 0.05, hup = hup })
  whys[#whys + 1] = why
  io.stdout:write("run returned ", why, "\n")
  io.stdout:flush()
  if why ~= "SIGHUP" then break end
end
srv:close()
io.stdout:write("done ", table.concat(whys, ","), "\n")
]]

describe("kip.server and SIGHUP", function()
  local dir
  before_each(function()
    dir = helpers.tmpdir()
    assert(fs.write(dir .. "/serve.lua", SCRIPT))
  end)
  after_each(function() helpers.rmtree(dir) end)

  local function spawn(mode)
    local out = dir .. "/out-" .. mode
    local p = assert(proc.spawn({ helpers.kip_bin(), "lua", dir .. "/serve.lua", mode }, { stdout = out, stderr = "stdout" }))
    assert(helpers.eventually(function() return (fs.read(out) or ""):find("port %d+") end, 10), fs.read(out))
    return p, function() return fs.read(out) or "" end
  end

  it("returns \"SIGHUP\" from run with hup = true, and serves on when run again", function()
    local p, out = spawn("hup")
    p:kill("HUP")
    assert(helpers.eventually(function() return out():find("run returned SIGHUP", 1, true) end, 10), out())
    p:kill("HUP")
    assert(helpers.eventually(function() return select(2, out():gsub("run returned SIGHUP", "")) == 2 end, 10), out())
    assert.is_true(p:alive())
    p:kill("TERM")
    local r = assert(p:wait(10))
    assert.equal(0, r.status, out())
    assert.matches("done SIGHUP,SIGHUP,SIGTERM", out(), 1, true)
  end)

  it("lets a SIGHUP end the process without hup", function()
    local p, out = spawn("plain")
    p:kill("HUP")
    local r = assert(p:wait(10))
    assert.equal(1, r.signal, out()) -- SIGHUP's default action
    assert.is_nil(out():find("run returned", 1, true))
  end)
end)
