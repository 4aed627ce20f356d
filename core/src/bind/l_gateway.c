/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.gateway"`: the kipper-gateway proxy (core/src/gateway/) driven from Lua. Being built
 * for issue 6; see docs/lua-api/gateway.md. */
#include "bind.h"

int luaopen_kip_gateway(lua_State *L)
{
	lua_newtable(L);
	return 1;
}
