/* SPDX-License-Identifier: Apache-2.0
 * Functions of `require "kip.gateway"` defined outside l_gateway.c, which puts them in the
 * module's table: gateway.peer_certificate (l_gateway_tls.c). Uses Lua 5.4. */
#pragma once

#include <lua.h>

/** gateway.peer_certificate(ip, port [, {sni =, timeout = 5}]) -> pem_chain | nil, msg, code.
 * Blocks the calling thread (with the host lock released) for at most timeout seconds. */
int l_gateway_peer_certificate(lua_State *L);
