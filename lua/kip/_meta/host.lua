---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.host"` (core/src/bind/l_host.c). Never loaded; for editors and docs.

---@class kip.host
local host = {}

---@return string|nil program "kip", "kipperd", ... (nil in a bare Lua state)
function host.program() end

---@return string|nil path absolute path of the running executable
function host.exe() end

---@return string|nil path PREFIX/share/kip, holding lua/, providers/, gitproviders/, plugins/
function host.data_dir() end

---@return string version kip's version, e.g. "0.1.0"
---@return string commit `git describe` at build time, "" when unknown
function host.version() end

---@return {name: string, version: string}[] Lua, libssh, libcurl, OpenSSL, civetweb, libyaml
function host.libraries() end

---@param stream "stdin"|"stdout"|"stderr"
---@return boolean
function host.isatty(stream) end

---Asks the person at the terminal (/dev/tty, so stdin may be a pipe) and reads one line back.
---@param prompt string written as is (end it with ": " or "? ")
---@param opts? {secret?: boolean} secret: do not show what is typed (passphrases, passwords)
---@return string|nil line without the newline
---@return string? message
---@return string? code "notfound" (no terminal), "cancelled" (input ended), "nomem" (over 4095 bytes), "io"
function host.ask(prompt, opts) end

---Seconds (with fractions) on a monotonic clock: for durations, not dates; never goes back.
---@return number
function host.monotonic() end

return host
