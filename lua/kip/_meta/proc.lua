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

---@class kip.proc.status
---@field status integer|nil the exit status, nil when a signal ended the process (or the status was lost)
---@field signal integer|nil the signal that ended it
---@field ok boolean status == 0

---A background process from proc.spawn. Never killed implicitly: __close and __gc only reap it
---if it has exited; stop it with :kill() and :wait().
---@class kip.proc.Process
local Process = {}

---@return integer pid
function Process:pid() end

---Whether it still runs; once it has exited, reaps it and remembers the status.
---@return boolean
function Process:alive() end

---Waits for it to exit (forever without timeout), releasing the host lock meanwhile.
---@param timeout? number seconds
---@return kip.proc.status|nil status the same table shape on every later call
---@return string? message "'x' (pid N) timed out: still running after 0.5 s"
---@return string? code "timeout"
function Process:wait(timeout) end

---Sends a signal to its process group (new_group) or to it alone.
---@param signal? "TERM"|"INT"|"KILL"|"HUP"|"QUIT"|"USR1"|"USR2"|integer default "TERM"; "SIGTERM" works too
---@return true|nil ok
---@return string? message "'x' (pid N) has already exited"
---@return string? code "notfound" once it has exited
function Process:kill(signal) end

---Starts a command in the background and returns at once. Same argv, env, clear_env, cwd and
---shell semantics as proc.run; stdin is /dev/null; stdout and stderr go to files (appended to,
---created 0600; default /dev/null; stderr = "stdout" shares stdout's file). By default the child
---leads its own process group (so a Ctrl-C on the terminal reaches only kip) and gets SIGTERM when
---kip (strictly: the spawning thread) exits. A program that cannot start fails this call.
---@param argv string[]|string the program (searched in PATH) and its arguments
---@param opts? {env?: table<string, string|false>, clear_env?: boolean, cwd?: string, stdout?: string, stderr?: string, die_with_parent?: boolean, new_group?: boolean, shell?: boolean}
---@return kip.proc.Process|nil process
---@return string? message "cannot run 'x': No such file or directory"
---@return string? code "notfound", "permission", ...
function proc.spawn(argv, opts) end

---@param name string
---@return string|nil path the executable PATH finds for name
function proc.which(name) end

return proc
