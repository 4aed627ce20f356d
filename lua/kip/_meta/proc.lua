---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.proc"` (core/src/bind/l_proc.c). Never loaded; for editors and docs.

---@class kip.proc
local proc = {}

---@class kip.proc.result
---@field status integer|nil the exit status, nil when a signal ended the command
---@field signal integer|nil the signal that ended it
---@field ok boolean status == 0
---@field stdout string
---@field stderr string

---Runs a local command and waits for it, capturing its output. No shell is involved unless
---opts.shell is true, in which case argv is one string run by /bin/sh -c. A non-zero exit is a
---result, not an error. Blocks the calling thread: for scripts and the CLI, not event loops.
---@param argv string[]|string the program (searched in PATH) and its arguments
---@param opts? {stdin?: string, env?: table<string, string|false>, clear_env?: boolean, cwd?: string, timeout?: number, max_output?: integer, shell?: boolean}
---@return kip.proc.result|nil result
---@return string? message "cannot run 'x': No such file or directory", "... timed out after 5s"
---@return string? code "notfound", "permission", "timeout", "nomem", ...
---@return kip.proc.result? partial what was captured before a timeout or overflow
function proc.run(argv, opts) end

---@param name string
---@return string|nil path the executable PATH finds for name
function proc.which(name) end

return proc
