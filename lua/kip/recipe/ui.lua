-- SPDX-License-Identifier: Apache-2.0
-- Progress for recipe runs: "[3/12] Install k3s" lines with the elapsed time when a step ends;
-- on a terminal, a spinner and the running time on the same line while it works. Uses kip.host.
local host = require "kip.host"

local M = {}

local UI = {}
UI.__index = UI

local SPINNER = { "|", "/", "-", "\\" }

---@param opts? {out?: file*, tty?: boolean, clock?: fun(): number}
function M.new(opts)
  opts = opts or {}
  local tty = opts.tty
  if tty == nil then tty = host.isatty("stdout") end
  return setmetatable({ out = opts.out or io.stdout, tty = tty, clock = opts.clock or os.time, frame = 0 }, UI)
end

local function elapsed(seconds)
  if seconds < 60 then return string.format("%ds", seconds) end
  return string.format("%dm%02ds", seconds // 60, seconds % 60)
end

function UI:start(index, total, title)
  self.prefix = string.format("[%d/%d] %s", index, total, title)
  self.started = self.clock()
  if self.tty then
    self.out:write(self.prefix, " ...")
  else
    self.out:write(self.prefix, "\n")
  end
  self.out:flush()
end

---Called while a step waits; redraws the spinner on a terminal.
function UI:tick()
  if not self.tty or not self.prefix then return end
  self.frame = self.frame % #SPINNER + 1
  self.out:write("\r\27[K", self.prefix, " ", SPINNER[self.frame], " ", elapsed(self.clock() - self.started))
  self.out:flush()
end

local function finish(self, word)
  local line = string.format("%s ... %s (%s)", self.prefix, word, elapsed(self.clock() - self.started))
  if self.tty then self.out:write("\r\27[K") end
  self.out:write(line, "\n")
  self.out:flush()
  self.prefix = nil
end

function UI:done() finish(self, "done") end
---@param reason? string why it is skipped, when not because it is done already
function UI:skip(reason) finish(self, reason and ("skipped: " .. reason) or "already done, skipped") end
function UI:failed() finish(self, "failed") end
function UI:planned() finish(self, "would run") end

---@param text string a line of its own (plans, notes)
function UI:say(text)
  self.out:write(text, "\n")
  self.out:flush()
end

return M
