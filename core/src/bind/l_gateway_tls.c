/* SPDX-License-Identifier: Apache-2.0
 * gateway.peer_certificate for `require "kip.gateway"` (listed by l_gateway.c): the certificate
 * chain a TLS server presents, fetched with gw_tls_fetch_chain (core/src/gateway/tls.h) for the
 * registration API's proof check. Blocks the calling thread with the host lock released (bind.h):
 * for the API's handlers and scripts, never the proxy's loop. Misuse raises; a server that cannot
 * be reached, is too slow or fails the handshake returns `nil, msg, code`. */
#include <math.h>
#include <stdlib.h>

#include "bind.h"
#include "gateway/tls.h"
#include "l_gateway.h"

#define L_GATEWAY_TIMEOUT_MAX 300 /* seconds */

/* Holds the fetched PEM while it is pushed, so a memory error cannot leak it. */
struct l_gateway_pem_box {
	char *pem;
};

static const char l_gateway_pem_key; /* registry slot holding the box metatable */

static int l_gateway_pem_gc(lua_State *L)
{
	struct l_gateway_pem_box *box = lua_touserdata(L, 1);
	free(box->pem);
	box->pem = NULL;
	return 0;
}

/** gateway.peer_certificate(ip, port [, {sni = "203-0-113-10.kipper.run", timeout = 5}])
 * -> PEM chain (leaf first) | nil, msg, code ("invalid", "connect", "timeout", "tls", "nomem") */
int l_gateway_peer_certificate(lua_State *L)
{
	const char *ip = luaL_checkstring(L, 1);
	lua_Integer port = luaL_checkinteger(L, 2);
	luaL_argcheck(L, port >= 1 && port <= 65535, 2, "port must be between 1 and 65535");
	bind_check_opts(L, 3);
	const char *sni = bind_opt_string(L, 3, "sni", NULL, NULL);
	lua_Number timeout = bind_opt_number(L, 3, "timeout", 5);
	if (!(timeout > 0 && timeout <= L_GATEWAY_TIMEOUT_MAX))
		luaL_error(L, "bad option 'timeout' (between 0 and %d seconds expected)", L_GATEWAY_TIMEOUT_MAX);
	int timeout_ms = (int)ceil(timeout * 1000.0);
	/* stack: ip, port, opts?, box; ip and sni stay anchored by the arguments while unlocked */
	struct l_gateway_pem_box *box = bind_new_guard(L, sizeof *box, &l_gateway_pem_key, l_gateway_pem_gc);
	struct kip_err err = {0};
	struct bind_gil *gil = bind_gil_release(L);
	int rc = gw_tls_fetch_chain(ip, (int)port, sni, timeout_ms, &box->pem, &err);
	bind_gil_acquire(gil);
	if (rc)
		return bind_push_err(L, &err);
	lua_pushstring(L, box->pem); /* may raise: the box's __gc frees the PEM */
	free(box->pem);
	box->pem = NULL;
	return 1;
}
