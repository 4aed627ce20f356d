-- SPDX-License-Identifier: Apache-2.0
-- Runs install recipes on a target (a server over SSH, or this machine in tests): variables with
-- `--set` overrides, each step's check (skip what is done) and run, progress, a transcript of every
-- command and its output, and on failure the step, the command, its exit status and the last lines
-- of output. A re-run resumes: steps whose check passes are skipped. Uses kip.recipe.ui and kip.fs.
local fs = require "kip.fs"
local suggest = require "kip.util.suggest"
local time = require "kip.util.time"
local ui_mod = require "kip.recipe.ui"

local M = {}

-- seconds a command may run when its step sets no timeout: a hung command fails the step
M.COMMAND_TIMEOUT = 300

local StepFailure = {}
StepFailure.__index = StepFailure
StepFailure.__tostring = function(f) return f.message end

---@return boolean whether err is a recipe step failure
function M.is_failure(err) return getmetatable(err) == StepFailure end

local function tail(text, n)
  local lines = {}
  for l in (text or ""):gmatch("[^\n]+") do lines[#lines + 1] = l end
  local out = {}
  for i = math.max(1, #lines - n + 1), #lines do out[#out + 1] = lines[i] end
  return out
end

-- Converts a --set value to the type of the variable's default.
local function typed(default, text)
  if type(default) == "number" then
    local n = tonumber(text)
    if not n then return nil, "a number" end
    return n
  elseif type(default) == "boolean" then
    if text == "true" then return true elseif text == "false" then return false end
    return nil, "true or false"
  end
  return text
end

---The recipe's variables with overrides applied.
---@param sets string[]|nil "key=value" strings from --set
---@return table|nil vars
---@return string|nil message
function M.variables(recipe, sets)
  local vars = {}
  for k, v in pairs(recipe.vars or {}) do vars[k] = v end
  local names = {}
  for k in pairs(vars) do names[#names + 1] = k end
  table.sort(names)
  for _, set in ipairs(sets or {}) do
    local key, value = set:match("^([^=]+)=(.*)$")
    if not key then return nil, string.format("--set takes KEY=VALUE, not %q", set) end
    if vars[key] == nil then
      local guess = suggest.closest(key, names)
      return nil, string.format("recipe %s has no variable %q%s; it has: %s", recipe.name, key,
        guess and string.format(" (did you mean %q?)", guess) or "", table.concat(names, ", "))
    end
    local v, want = typed(recipe.vars[key], value)
    if v == nil then return nil, string.format("--set %s takes %s, not %q", key, want, value) end
    vars[key] = v
  end
  return vars
end

local Context = {}
Context.__index = Context
M.Context = Context

---Runs a command on the target; a non-zero exit fails the step unless opts.allow_fail.
---@param opts? {stdin?: string, timeout?: number, allow_fail?: boolean, secret_stdin?: boolean, hint?: string}
---@return table result {status, stdout, stderr}
function Context:sh(command, opts)
  opts = opts or {}
  self:_log("$ " .. command .. "\n")
  local r, err, code = self.target:exec(command, { stdin = opts.stdin, timeout = opts.timeout or M.COMMAND_TIMEOUT,
    on_wait = function() self.ui:tick() end })
  if not r then
    self:_log("[" .. tostring(code) .. ": " .. tostring(err) .. "]\n")
    self:fail(string.format("could not run the command on %s: %s", self.target.description, err), opts.hint, command)
  end
  if r.stdout ~= "" then self:_log(r.stdout:sub(-1) == "\n" and r.stdout or (r.stdout .. "\n")) end
  if r.stderr ~= "" then self:_log(r.stderr:sub(-1) == "\n" and r.stderr or (r.stderr .. "\n")) end
  self:_log(string.format("[exit %s]\n", tostring(r.status)))
  if r.status ~= 0 and not opts.allow_fail then
    error(setmetatable({ message = string.format("the command exited with status %s", tostring(r.status or r.signal)),
      step = self.step and self.step.name, command = command, status = r.status, output = tail(r.stdout .. "\n" .. r.stderr, 15),
      hint = opts.hint or (self.step and self.step.hint) }, StepFailure), 0)
  end
  return r
end

---True when the command exits 0 (for checks).
function Context:test(command, opts)
  opts = opts or {}
  opts.allow_fail = true
  return self:sh(command, opts).status == 0
end

---Writes a file on the target (atomically, with mode).
function Context:upload(path, data, mode)
  self:_log(string.format("[upload %s, %d bytes, mode %s]\n", path, #data, mode or "0644"))
  local ok, err = self.target:upload(path, data, { mode = mode or "0644" })
  if not ok then self:fail(string.format("could not write %s on %s: %s", path, self.target.description, err)) end
end

---Reads a file from the target, or nil when it is missing.
function Context:download(path)
  local data, err, code = self.target:download(path)
  if not data and code ~= "notfound" then self:fail(string.format("could not read %s on %s: %s", path, self.target.description, err)) end
  return data
end

---Fails the current step with a message and what to try.
function Context:fail(message, hint, command)
  error(setmetatable({ message = message, hint = hint or (self.step and self.step.hint),
    step = self.step and self.step.name, command = command }, StepFailure), 0)
end

function Context:say(text) self.ui:say("      " .. text) end

function Context:_log(text)
  if self.transcript then fs.append(self.transcript, text, { mode = "0600" }) end
end

---Runs a recipe.
---@param recipe table from kip.recipe.load.resolve
---@param opts {target: table, vars: table, plan?: boolean, ui?: table, transcript?: string, state?: table}
---@return table|nil summary {ran = n, skipped = n, seconds = n}
---@return table|nil failure {message, step, command, status, output, hint} when a step failed
function M.run(recipe, opts)
  local ui = opts.ui or ui_mod.new()
  local ctx = setmetatable({ vars = opts.vars, target = opts.target, ui = ui, transcript = opts.transcript,
    state = opts.state or {}, plan = opts.plan }, Context)
  if ctx.transcript then
    ctx:_log(string.format("# kip install: recipe %s on %s, %s\n", recipe.name, opts.target.description,
      time.format_rfc3339()))
  end
  local total, ran, skipped = #recipe.steps, 0, 0
  local started = os.time()
  for i, step in ipairs(recipe.steps) do
    ctx.step = step
    ui:start(i, total, step.title or step.name)
    ctx:_log(string.format("## step %d/%d %s\n", i, total, step.name))
    local reason
    local ok, result = pcall(function()
      local done = step.check and step.check(ctx) or false
      if done then
        reason = type(done) == "string" and done or nil
        return "skip"
      end
      if opts.plan then return "plan" end
      step.run(ctx)
      return "ran"
    end)
    if not ok then
      ui:failed()
      local failure = M.is_failure(result) and result or { message = tostring(result), step = step.name, hint = step.hint }
      ctx:_log("## failed: " .. failure.message .. "\n")
      return nil, failure
    end
    if result == "skip" then
      skipped = skipped + 1
      ui:skip(reason)
    elseif result == "plan" then
      ui:planned()
    else
      ran = ran + 1
      ui:done()
    end
  end
  return { ran = ran, skipped = skipped, seconds = os.time() - started }
end

return M
