/* SPDX-License-Identifier: Apache-2.0
 * kip's entry point: opens the Lua host and hands the command line to kip.cli.main, whose return
 * value is the exit status. Everything a command does is Lua; see lua/kip/cli/main.lua. */
#include <lauxlib.h>
#include <stdio.h>

#include "kip/host.h"

int main(int argc, char **argv)
{
	struct kip_host host;
	struct kip_err err = {0};
	if (kip_host_open(&host, "kip", &err) != KIP_OK) {
		fprintf(stderr, "kip: error: %s\n", err.msg);
		return 1;
	}
	lua_State *L = host.L;
	int status = 1;
	lua_getglobal(L, "require");
	lua_pushliteral(L, "kip.cli.main");
	if (host_pcall(L, 1, 1) == LUA_OK) {
		lua_getfield(L, -1, "main");     /* module, main */
		lua_createtable(L, argc, 1);     /* module, main, argv */
		for (int i = 0; i < argc; i++) {
			lua_pushstring(L, argv[i]);
			lua_rawseti(L, -2, i);   /* argv[0] is the program as invoked */
		}
		if (host_pcall(L, 1, 1) == LUA_OK)
			status = (int)luaL_optinteger(L, -1, 0);
	}
	fflush(stdout);
	kip_host_close(&host);
	return status;
}
