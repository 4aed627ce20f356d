---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.log"` (core/src/bind/l_log.c). Never loaded; for editors and docs.

---@class kip.log
local log = {}

---@alias kip.log.level "debug"|"info"|"warn"|"error"|"off"

---Writes "PROGRAM: debug: msg key=value ..." to stderr when the level allows.
---@param msg string
---@param fields? table<string, any> written sorted by name
function log.debug(msg, fields) end

---Writes "PROGRAM: msg key=value ..." to stderr.
---@param msg string
---@param fields? table<string, any>
function log.info(msg, fields) end

---Writes "PROGRAM: warning: msg ..." to stderr.
---@param msg string
---@param fields? table<string, any>
function log.warn(msg, fields) end

---Writes "PROGRAM: error: msg ..." to stderr.
---@param msg string
---@param fields? table<string, any>
function log.error(msg, fields) end

---Sets the lowest level written. The initial level is $KIP_LOG_LEVEL, else info.
---@param level kip.log.level
function log.set_level(level) end

---@return kip.log.level
function log.level() end

---@param level kip.log.level
---@return boolean
function log.enabled(level) end

---"text" (default) or "json": one JSON object per line with time, level, program, msg and fields.
---@param format "text"|"json"
function log.set_format(format) end

return log
