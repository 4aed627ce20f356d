---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.fs"` (core/src/bind/l_fs.c). Never loaded; for editors and docs.

---@class kip.fs
local fs = {}

---A permission mode: an integer (420, tonumber("644", 8)) or an octal string ("0644", "0o644").
---@alias kip.fs.mode integer|string

---@param path string
---@return string|nil content
---@return string? message naming the path
---@return string? code "notfound", "permission", "io", ...
function fs.read(path) end

---Writes atomically: a temporary file in the same folder, fsync, rename, fsync of the folder.
---On failure the old file is untouched and no temporary file is left.
---@param path string
---@param data string
---@param opts? {mode?: kip.fs.mode} mode: default 0644, applied exactly (not subject to umask)
---@return true|nil ok
---@return string? message
---@return string? code
function fs.write(path, data, opts) end

---Appends to a file, creating it with `mode` (subject to umask) if it does not exist.
---@param path string
---@param data string
---@param opts? {mode?: kip.fs.mode}
---@return true|nil ok
---@return string? message
---@return string? code
function fs.append(path, data, opts) end

---Creates a folder and its parents (mkdir -p); an existing folder is fine.
---@param path string
---@param opts? {mode?: kip.fs.mode} default 0755
---@return true|nil ok
---@return string? message
---@return string? code "notdir" when a part of the path is a file
function fs.mkdir(path, opts) end

---@param path string
---@return string[]|nil names the entries, sorted, without . and ..
---@return string? message
---@return string? code
function fs.list(path) end

---@param path string
---@param opts? {follow?: boolean} follow: default true; false describes a link itself
---@return {type: "file"|"directory"|"link"|"other", size: integer, mode: integer, mtime: integer}|nil info
---@return string? message
---@return string? code
function fs.stat(path, opts) end

---The absolute path with every symbolic link, "." and ".." resolved (realpath(3)).
---@param path string
---@return string|nil resolved
---@return string? message
---@return string? code "notfound" when a part of the path is missing
function fs.realpath(path) end

---@param path string
---@return boolean
function fs.exists(path) end

---Removes a file, a link or an empty folder.
---@param path string
---@return true|nil ok
---@return string? message
---@return string? code
function fs.remove(path) end

return fs
