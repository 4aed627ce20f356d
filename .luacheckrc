-- SPDX-License-Identifier: Apache-2.0
-- luacheck settings (run by ctest as lint.luacheck): Lua 5.4, no globals but the ones kip's
-- host sets, busted's in specs, lines up to 160 columns.
std = "lua54"
self = false -- methods need not use self
max_line_length = 160
files["spec/"] = { std = "+busted" }
-- LuaCATS stubs declare functions without bodies
files["lua/kip/_meta/"] = { unused_args = false, unused = false, max_line_length = false }
-- `kip lua` sets the global `arg` for the script it runs, as the lua interpreter does
files["lua/kip/cmd/lua.lua"] = { globals = { "arg" } }
-- the sandbox API repeats kube-apiserver's messages word for word, and its resource table is data
files["lua/kip/sandbox/"] = { max_line_length = 200 }
