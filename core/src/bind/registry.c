/* SPDX-License-Identifier: Apache-2.0
 * The one list of core modules: each name `require` knows and the luaopen function behind it.
 * A new binding is added here, gets a LuaCATS stub in lua/kip/_meta/ and a page in docs/lua-api/
 * (spec/meta_spec.lua checks all three agree). */
#include "bind.h"

const luaL_Reg kip_core_modules[] = {
	{"kip.fs", luaopen_kip_fs},
	{"kip.gateway", luaopen_kip_gateway},
	{"kip.host", luaopen_kip_host},
	{"kip.http", luaopen_kip_http},
	{"kip.informer", luaopen_kip_informer},
	{"kip.json", luaopen_kip_json},
	{"kip.log", luaopen_kip_log},
	{"kip.proc", luaopen_kip_proc},
	{"kip.server", luaopen_kip_server},
	{"kip.ssh", luaopen_kip_ssh},
	{"kip.tls", luaopen_kip_tls},
	{"kip.yaml", luaopen_kip_yaml},
	{NULL, NULL},
};

void kip_registry_preload(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE); /* preload */
	for (const luaL_Reg *m = kip_core_modules; m->name; m++) {
		lua_pushcfunction(L, m->func);
		lua_setfield(L, -2, m->name);
	}
	lua_pop(L, 1);
}
