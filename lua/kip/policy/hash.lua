-- SPDX-License-Identifier: Apache-2.0
-- Content hashes of plain data: SHA-256 of its canonical JSON (kip.json sorts object keys, so
-- equal data gives equal text), in full or shortened for object names. Uses kip.json and kip.tls.
local json = require "kip.json"
local tls = require "kip.tls"

local M = {}

---@param value any plain data (tables, strings, numbers, booleans)
---@return string hex 64 lowercase hex digits
function M.of(value)
  return tls.sha256_hex(assert(json.encode(value, { sort = true })))
end

---The first n hex digits of M.of(value) (default 10), for names like app-web-env-0123456789.
---@return string
function M.short(value, n)
  return M.of(value):sub(1, n or 10)
end

return M
