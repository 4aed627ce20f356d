-- SPDX-License-Identifier: Apache-2.0
-- Progress while a command waits on the cluster: on a terminal, one line redrawn with a spinner,
-- the latest state and the time waited; otherwise a line each time the state changes (with the
-- time waited), so logs of scripts and CI stay readable. Uses kip.host.
local host = require "kip.host"

local M = {}

local Progress = {}
Progress.__index = Progress

local SPINNER = { "|", "/", "-", "\\" }

---@param opts {title: string, out?: file*, tty?: boolean, clock?: fun(): number}
---  title: what is waited for ("Deploying web"); out: default io.stdout
function M.new(opts)
  local out = opts.out or io.stdout
  local tty = opts.tty
  if tty == nil then tty = host.isatty(out == io.stderr and "stderr" or "stdout") end
  local clock = opts.clock or os.time
  return setmetatable({ out = out, tty = tty, clock = clock, started = clock(), title = opts.title, frame = 0 }, Progress)
end

local function elapsed(seconds)
  if seconds < 60 then return string.format("%ds", seconds) end
  return string.format("%dm%02ds", seconds // 60, seconds % 60)
end

---Shows the current state; called on every poll (redraws the spinner on a terminal, prints a
---line only when the state changed otherwise).
---@param state string e.g. "1/2 replicas ready"
function Progress:update(state)
  local since = elapsed(self.clock() - self.started)
  if self.tty then
    self.frame = self.frame % #SPINNER + 1
    self.out:write("\r\27[K", SPINNER[self.frame], " ", self.title, ": ", state, " (", since, ")")
    self.drawn = true
  elseif state ~= self.last then
    self.out:write(self.title, ": ", state, " (", since, ")\n")
  end
  self.last = state
  self.out:flush()
end

---Ends the progress with a final line.
---@param text string e.g. "ready" or "failed"
function Progress:finish(text)
  if self.tty and self.drawn then self.out:write("\r\27[K") end
  self.out:write(self.title, ": ", text, " (", elapsed(self.clock() - self.started), ")\n")
  self.out:flush()
  self.drawn = false
end

return M
