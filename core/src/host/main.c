/* SPDX-License-Identifier: Apache-2.0
 * The entry point of kip and kipperd: opens the Lua host for KIP_PROGRAM and hands the command line
 * to KIP_MAIN_MODULE's main(argv), whose return value is the exit status. Everything the program
 * does is Lua (lua/kip/cli/main.lua for kip, lua/kipperd/main.lua for kipperd). Both are compile
 * definitions (core/CMakeLists.txt), so each program is this file built once more. */
#include <lauxlib.h>
#include <stdio.h>

#include "kip/host.h"

#ifndef KIP_PROGRAM
#define KIP_PROGRAM "kip"
#endif
#ifndef KIP_MAIN_MODULE
#define KIP_MAIN_MODULE "kip.cli.main"
#endif

int main(int argc, char **argv)
{
	struct kip_host host;
	struct kip_err err = {0};
	if (kip_host_open(&host, KIP_PROGRAM, &err) != KIP_OK) {
		fprintf(stderr, KIP_PROGRAM ": error: %s\n", err.msg);
		return 1;
	}
	lua_State *L = host.L;
	int status = 1;
	lua_getglobal(L, "require");
	lua_pushliteral(L, KIP_MAIN_MODULE);
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
