-- SPDX-License-Identifier: Apache-2.0
-- WebSocket clients for specs and benchmarks: runs spec/helpers/ws_client.py (a raw-socket RFC 6455
-- client) with a script of steps and reads back the events it printed (one JSON object a line).
-- run() waits for the client; spawn() leaves it running (its events are read from a file as they
-- come). Both wait with the host lock released (Process:wait), so a kip.server in the same process
-- answers meanwhile. Uses kip.proc, kip.fs, kip.json and helpers.
local fs = require "kip.fs"
local helpers = require "helpers"
local json = require "kip.json"
local proc = require "kip.proc"

local M = {}

M.CLIENT = "spec/helpers/ws_client.py"

local function argv(url, opts)
  opts = opts or {}
  local a = { "python3", M.CLIENT, url, "--timeout", tostring(opts.timeout or 10) }
  for _, p in ipairs(opts.protocols or {}) do a[#a + 1] = "--protocol"; a[#a + 1] = p end
  for _, h in ipairs(opts.headers or {}) do a[#a + 1] = "--header"; a[#a + 1] = h end
  if opts.steps then a[#a + 1] = "--steps"; a[#a + 1] = table.concat(opts.steps, ",") end
  if opts.cycles then a[#a + 1] = "--cycles"; a[#a + 1] = tostring(opts.cycles) end
  if opts.cafile then a[#a + 1] = "--cafile"; a[#a + 1] = opts.cafile end
  if opts.hold then
    a[#a + 1] = "--hold"; a[#a + 1] = tostring(opts.hold[1]); a[#a + 1] = tostring(opts.hold[2])
  end
  return a
end

local function parse(text)
  local events = {}
  for line in (text or ""):gmatch("[^\n]+") do
    local ok, ev = pcall(json.decode, line)
    events[#events + 1] = ok and ev or { event = "garbage", line = line }
  end
  return events
end

---Runs a client to its end.
---@param url string ws://...
---@param opts? {protocols?: string[], headers?: string[], steps?: string[], cycles?: integer, hold?: {[1]: integer, [2]: number},
---  timeout?: number, wait?: number, cafile?: string} hold: {N, SECONDS} N connections read for SECONDS;
---  cafile: the CA that verifies a wss:// server
---@return table[] events what the client printed
function M.run(url, opts)
  return M.spawn(url, opts):stop((opts or {}).wait or 120)
end

---The events of one kind ("text": their data, in order).
function M.texts(events)
  local out = {}
  for _, ev in ipairs(events) do if ev.event == "text" then out[#out + 1] = ev.data end end
  return out
end

---The first event of a kind, or nil.
function M.find(events, kind)
  for _, ev in ipairs(events) do if ev.event == kind then return ev end end
end

local Client = {}
Client.__index = Client

---Starts a client in the background; read its events with :events(), end it with :stop().
function M.spawn(url, opts)
  local dir = helpers.tmpdir()
  local out = dir .. "/events"
  local p = assert(proc.spawn(argv(url, opts), { stdout = out, stderr = dir .. "/stderr", die_with_parent = true }))
  return setmetatable({ proc = p, dir = dir, out = out }, Client)
end

function Client:events()
  return parse(fs.read(self.out))
end

---Waits until an event of kind shows up (default 10 s); returns it or nil.
function Client:wait_for(kind, seconds)
  return helpers.eventually(function() return M.find(self:events(), kind) end, seconds)
end

---Waits for the client to end (killing it after `seconds`), removes its files; returns its events.
function Client:stop(seconds)
  if not self.proc:wait(seconds or 10) then
    self.proc:kill("KILL")
    self.proc:wait(5)
  end
  local events = self:events()
  helpers.rmtree(self.dir)
  return events
end

return M
