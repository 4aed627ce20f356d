/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for kip.yaml: decode_all must never crash on any input, and whatever decodes
 * must encode, decode again and encode to the same text (the encoder's quoting keeps every string
 * a string). Uses a bare Lua state with the kip.yaml binding compiled in. */
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
	luaL_requiref(L, "kip.yaml", luaopen_kip_yaml, 0);
	lua_setglobal(L, "yaml");
	/* the round trip, written in Lua because that is how kip uses the module */
	const char *check =
		"local text = ...\n"
		"local docs = yaml.decode_all(text)\n"
		"if not docs then return end\n"
		"local first, err = yaml.encode_all(docs)\n"
		"if not first then error('encode of decoded value failed: ' .. err) end\n"
		"local again, derr = yaml.decode_all(first)\n"
		"if not again then error('re-decode failed: ' .. derr .. '\\n' .. first) end\n"
		"local second = assert(yaml.encode_all(again))\n"
		"if first ~= second then error('round trip differs:\\n' .. first .. '\\n---- vs ----\\n' .. second) end\n";
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
		fprintf(stderr, "kip.yaml round trip failed: %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
