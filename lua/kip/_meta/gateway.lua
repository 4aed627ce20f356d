---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.gateway"` (core/src/bind/l_gateway.c). Never loaded; for editors and docs.

---@class kip.gateway
local gateway = {}

return gateway
