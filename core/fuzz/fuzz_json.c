/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for kip.json: decode must never crash on any input, and whatever decodes must
 * encode, decode again and encode to the same text; the indented and unsorted forms must read back
 * as the same value too. Uses a bare Lua state with kip.json (and the kip.yaml it takes the array
 * mark from) compiled in. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind/bind.h"

static lua_State *L;

static int setup(void)
{
	L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "kip.json", luaopen_kip_json, 0);
	lua_setglobal(L, "json");
	/* the round trip, written in Lua because that is how kip uses the module */
	const char *check =
		"local text = ...\n"
		"local v = json.decode(text)\n"
		"if v == nil then return end\n"
		"local first, err = json.encode(v)\n"
		"if not first then error('encode of decoded value failed: ' .. err) end\n"
		"local again, derr = json.decode(first)\n"
		"if again == nil then error('re-decode failed: ' .. derr .. '\\n' .. first) end\n"
		"local second = assert(json.encode(again))\n"
		"if first ~= second then error('round trip differs:\\n' .. first .. '\\n---- vs ----\\n' .. second) end\n"
		"for _, opts in ipairs({ { indent = 2 }, { sort = false }, { indent = 0, sort = false } }) do\n"
		"  local other = assert(json.encode(v, opts))\n"
		"  local w, werr = json.decode(other)\n"
		"  if w == nil then error('decode of encoded value failed: ' .. werr .. '\\n' .. other) end\n"
		"  local back = assert(json.encode(w))\n"
		"  if back ~= first then error('encode with options differs:\\n' .. first .. '\\n---- vs ----\\n' .. back) end\n"
		"end\n";
	if (luaL_loadstring(L, check) != LUA_OK) {
		fprintf(stderr, "%s\n", lua_tostring(L, -1));
		abort();
	}
	lua_setglobal(L, "check");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!L)
		setup();
	lua_getglobal(L, "check");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		fprintf(stderr, "kip.json round trip failed: %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
