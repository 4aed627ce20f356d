-- SPDX-License-Identifier: Apache-2.0
-- kip.log: levels, text and JSON lines on stderr, KIP_LOG_LEVEL. Runs scripts in the real kip
-- so stderr can be read.
local helpers = require "helpers"
local json = require "kip.json"
local log = require "kip.log"

local function run(script, env)
  local dir = helpers.tmpdir()
  helpers.write(dir .. "/s.lua", script)
  local r = helpers.kip({ "lua", dir .. "/s.lua" }, { env = env })
  helpers.rmtree(dir)
  return r
end

describe("kip.log", function()
  it("writes levelled text lines with sorted fields to stderr", function()
    local r = run([[
local log = require "kip.log"
log.debug("hidden")
log.info("deployed", { app = "api", replicas = 3 })
log.warn("slow")
log.error("failed")
]])
    assert.equal(0, r.status)
    assert.equal("", r.stdout)
    assert.equal("kip: deployed app=api replicas=3\nkip: warning: slow\nkip: error: failed\n", r.stderr)
  end)

  it("filters by level and honours KIP_LOG_LEVEL", function()
    local r = run([[
local log = require "kip.log"
log.debug("one")
log.set_level("error")
log.warn("two")
log.error("three")
print(log.level(), log.enabled("warn"), log.enabled("error"))
]], { KIP_LOG_LEVEL = "debug" })
    assert.equal("kip: debug: one\nkip: error: three\n", r.stderr)
    assert.equal("error\tfalse\ttrue\n", r.stdout)
  end)

  it("writes JSON lines", function()
    local r = run([[
local log = require "kip.log"
log.set_format("json")
log.info('said "hi"\n', { n = 1 })
]])
    local line = assert(json.decode(r.stderr))
    assert.equal("info", line.level)
    assert.equal('said "hi"\n', line.msg)
    assert.equal("1", line.n)
    assert.equal("kip", line.program)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", line.time)
  end)

  it("raises on misuse", function()
    assert.has_error(function() log.set_level("loud") end)
    assert.has_error(function() log.info({}) end)
    assert.has_error(function() log.info("x", "not a table") end)
  end)
end)
