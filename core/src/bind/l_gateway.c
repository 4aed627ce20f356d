/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.gateway"`: the kipper-gateway proxy (core/src/gateway/) driven from Lua: start it
 * (its worker threads run C only and never touch Lua), swap routes and certificates, read the
 * counters, drain and close; plus the Host parser and the public-address test it routes with, and
 * peer_certificate (l_gateway_tls.c). drain and close block with the host lock released.
 * Uses gateway/gateway.h, gateway/host.h and bind.h. See docs/lua-api/gateway.md. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "l_gateway.h"
#include "gateway/gateway.h"
#include "gateway/host.h"

#define GATEWAY_MT "kip.gateway.Gateway"

struct l_gw {
	struct gw_gateway *g;   /* NULL once closed */
};

static struct l_gw *check_gw(lua_State *L, int idx) /* may raise */
{
	struct l_gw *h = luaL_checkudata(L, idx, GATEWAY_MT);
	if (!h->g)
		luaL_error(L, "kip.gateway: the gateway is closed");
	return h;
}

/* "a.b.c.d:port", "*:port" or ":port" (every address). 0, or -1 when malformed. */
static int parse_listen(const char *s, struct sockaddr_in *out)
{
	const char *colon = strrchr(s, ':');
	if (!colon || !colon[1] || strlen(colon + 1) > 5)
		return -1;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || !isdigit((unsigned char)colon[1]))
		return -1;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	size_t hl = (size_t)(colon - s);
	if (hl == 0 || (hl == 1 && s[0] == '*')) {
		out->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	char host[INET_ADDRSTRLEN];
	if (hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

/* Reads the array of {cert =, key =} at idx into pairs (lua_newuserdatauv-backed, so a raise
 * leaks nothing); the strings stay anchored in the table. Returns the count. */
static size_t read_certs(lua_State *L, int idx, struct gw_cert_pair **pairs) /* may raise */
{
	idx = lua_absindex(L, idx);
	luaL_checktype(L, idx, LUA_TTABLE);
	size_t n = (size_t)luaL_len(L, idx);
	*pairs = lua_newuserdatauv(L, (n ? n : 1) * sizeof **pairs, 0);   /* left on the stack */
	for (size_t i = 0; i < n; i++) {
		lua_geti(L, idx, (lua_Integer)i + 1);
		if (!lua_istable(L, -1))
			luaL_error(L, "certs[%d] must be a table {cert =, key =}", (int)i + 1);
		lua_getfield(L, -1, "cert");
		lua_getfield(L, -2, "key");
		if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "certs[%d] needs cert and key (file names)", (int)i + 1);
		(*pairs)[i].cert_file = lua_tostring(L, -2);
		(*pairs)[i].key_file = lua_tostring(L, -1);
		lua_pop(L, 3);   /* the strings stay referenced by the certs table */
	}
	return n;
}

static int timeout_ms(lua_State *L, int idx, const char *field, double def) /* may raise */
{
	lua_Number v = bind_opt_number(L, idx, field, def);
	if (!(v > 0) || v > 86400 * 7)
		luaL_error(L, "timeouts.%s must be a number of seconds above 0", field);
	return (int)(v * 1000 + 0.5);
}

/** gateway.start(opts) -> Gateway | nil, msg, code */
static int l_gateway_start(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	struct gw_config cfg = {0};
	const char *listen = bind_opt_string(L, 1, "listen", NULL, NULL);
	const char *tls_listen = bind_opt_string(L, 1, "tls_listen", NULL, NULL);
	if (listen && parse_listen(listen, &cfg.listen) != 0)
		return luaL_error(L, "listen: expected \"a.b.c.d:port\", got %s", listen);
	if (tls_listen && parse_listen(tls_listen, &cfg.tls_listen) != 0)
		return luaL_error(L, "tls_listen: expected \"a.b.c.d:port\", got %s", tls_listen);
	cfg.has_listen = listen != NULL;
	cfg.has_tls_listen = tls_listen != NULL;
	size_t zone_len;
	cfg.zone = bind_opt_string(L, 1, "zone", &zone_len, "kipper.run");
	if (zone_len == 0 || zone_len > 253)
		return luaL_error(L, "zone must be a domain name");
	cfg.workers = (int)bind_opt_integer(L, 1, "workers", 1);
	if (cfg.workers < 1 || cfg.workers > GW_WORKERS_MAX)
		return luaL_error(L, "workers must be 1..%d", GW_WORKERS_MAX);
	cfg.allow_private = bind_opt_boolean(L, 1, "allow_private", false);
	cfg.access_log = bind_opt_string(L, 1, "access_log", NULL, NULL);
	lua_Integer max_head = bind_opt_integer(L, 1, "max_head", 16384);
	if (max_head < 1024 || max_head > 1024 * 1024)
		return luaL_error(L, "max_head must be 1024..1048576");
	cfg.max_head = (size_t)max_head;
	lua_getfield(L, 1, "timeouts");   /* opts, timeouts */
	if (!lua_isnil(L, -1))
		luaL_checktype(L, -1, LUA_TTABLE);
	int t = lua_gettop(L);
	cfg.header_ms = timeout_ms(L, t, "header", 10);
	cfg.idle_ms = timeout_ms(L, t, "idle", 60);
	cfg.connect_ms = timeout_ms(L, t, "connect", 5);
	cfg.upstream_ms = timeout_ms(L, t, "upstream", 60);
	lua_getfield(L, 1, "certs");      /* opts, timeouts, certs */
	struct gw_cert_pair *pairs = NULL;
	if (!lua_isnil(L, -1))
		cfg.n_certs = read_certs(L, -1, &pairs);
	cfg.certs = pairs;
	if (cfg.has_tls_listen && cfg.n_certs == 0)
		return luaL_error(L, "tls_listen needs certs");

	struct l_gw *h = lua_newuserdatauv(L, sizeof *h, 0);
	h->g = NULL;
	luaL_setmetatable(L, GATEWAY_MT);
	struct kip_err err = {0};
	h->g = gw_start(&cfg, &err);
	if (!h->g)
		return bind_push_err(L, &err);
	return 1;
}

/** gw:ports() -> {listen =, tls_listen =} */
static int l_gw_ports(lua_State *L)
{
	struct l_gw *h = check_gw(L, 1);
	int p, tp;
	gw_ports(h->g, &p, &tp);
	lua_createtable(L, 0, 2);
	if (p) {
		lua_pushinteger(L, p);
		lua_setfield(L, -2, "listen");
	}
	if (tp) {
		lua_pushinteger(L, tp);
		lua_setfield(L, -2, "tls_listen");
	}
	return 1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/** gw:set_routes{[cluster] = {ip =, port =, scheme =, pin =}} -> true */
static int l_gw_set_routes(lua_State *L)
{
	struct l_gw *h = check_gw(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	size_t n = 0;
	for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1))
		n++;
	struct gw_route *routes = lua_newuserdatauv(L, (n ? n : 1) * sizeof *routes, 0);
	memset(routes, 0, (n ? n : 1) * sizeof *routes);
	size_t i = 0;
	for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {   /* ..., key, value */
		size_t kl;
		if (lua_type(L, -2) != LUA_TSTRING)
			return luaL_error(L, "set_routes: keys must be cluster names");
		const char *key = lua_tolstring(L, -2, &kl);
		if (kl == 0 || kl >= sizeof routes[i].cluster)
			return luaL_error(L, "set_routes: %s is not a cluster name", key);
		if (!lua_istable(L, -1))
			return luaL_error(L, "set_routes: %s must be a table {ip =, port =, scheme =, pin =}", key);
		struct gw_route *r = &routes[i++];
		memcpy(r->cluster, key, kl);
		int top = lua_gettop(L);
		const char *ip = bind_opt_string(L, top, "ip", NULL, NULL);
		struct in_addr a;
		if (!ip || inet_pton(AF_INET, ip, &a) != 1)
			return luaL_error(L, "set_routes: %s: ip must be an IPv4 address", key);
		r->ip = ntohl(a.s_addr);
		const char *scheme = bind_opt_string(L, top, "scheme", NULL, "https");
		if (strcmp(scheme, "https") == 0)
			r->tls = true;
		else if (strcmp(scheme, "http") != 0)
			return luaL_error(L, "set_routes: %s: scheme must be http or https", key);
		lua_Integer port = bind_opt_integer(L, top, "port", r->tls ? 443 : 80);
		if (port < 1 || port > 65535)
			return luaL_error(L, "set_routes: %s: port must be 1..65535", key);
		r->port = (uint16_t)port;
		lua_getfield(L, top, "pin");
		if (lua_type(L, -1) == LUA_TSTRING) {
			size_t pl;
			const char *pin = lua_tolstring(L, -1, &pl);
			if (pl != 0) {
				if (pl != 64)
					return luaL_error(L, "set_routes: %s: pin must be 64 hex digits", key);
				for (int b = 0; b < 32; b++) {
					int hi = hexval(pin[2 * b]), lo = hexval(pin[2 * b + 1]);
					if (hi < 0 || lo < 0)
						return luaL_error(L, "set_routes: %s: pin must be 64 hex digits", key);
					r->pin[b] = (unsigned char)(hi << 4 | lo);
				}
				r->has_pin = true;
			}
		} else if (!lua_isnil(L, -1) && !(lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
			return luaL_error(L, "set_routes: %s: pin must be a string", key);
		}
		lua_settop(L, top);
	}
	struct kip_err err = {0};
	if (gw_set_routes(h->g, routes, i, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/** gw:set_certs{{cert =, key =}, ...} -> true | nil, msg, code */
static int l_gw_set_certs(lua_State *L)
{
	struct l_gw *h = check_gw(L, 1);
	struct gw_cert_pair *pairs;
	size_t n = read_certs(L, 2, &pairs);
	if (n == 0)
		return luaL_argerror(L, 2, "at least one {cert =, key =} pair expected");
	struct kip_err err = {0};
	if (gw_set_certs(h->g, pairs, n, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/** gw:stats() -> {connections_active =, ...} */
static int l_gw_stats(lua_State *L)
{
	struct l_gw *h = check_gw(L, 1);
	struct gw_stats s;
	gw_get_stats(h->g, &s);
	lua_createtable(L, 0, 20);
#define PUSH_STAT(name) \
	lua_pushinteger(L, (lua_Integer)s.name); \
	lua_setfield(L, -2, #name);
	GW_STATS(PUSH_STAT)
#undef PUSH_STAT
	return 1;
}

/** gw:drain([seconds = 30]) -> whether every connection finished in time */
static int l_gw_drain(lua_State *L)
{
	struct l_gw *h = check_gw(L, 1);
	lua_Number secs = luaL_optnumber(L, 2, 30);
	luaL_argcheck(L, secs >= 0 && secs <= 86400, 2, "seconds must be 0..86400");
	struct gw_gateway *g = h->g;
	struct bind_gil *gil = bind_gil_release(L);
	bool ok = gw_drain(g, (int)(secs * 1000));
	bind_gil_acquire(gil);
	lua_pushboolean(L, ok);
	return 1;
}

/** gw:close(): stops at once (idempotent) */
static int l_gw_close(lua_State *L)
{
	struct l_gw *h = luaL_checkudata(L, 1, GATEWAY_MT);
	struct gw_gateway *g = h->g;
	h->g = NULL;
	if (g) {
		struct bind_gil *gil = bind_gil_release(L);
		gw_close(g);
		bind_gil_acquire(gil);
	}
	return 0;
}

static int l_gw_tostring(lua_State *L)
{
	struct l_gw *h = luaL_checkudata(L, 1, GATEWAY_MT);
	if (!h->g) {
		lua_pushliteral(L, "kip.gateway.Gateway (closed)");
		return 1;
	}
	int p, tp;
	gw_ports(h->g, &p, &tp);
	lua_pushfstring(L, "kip.gateway.Gateway (listen %d, tls_listen %d)", p, tp);
	return 1;
}

/** gateway.parse_host(host, zone) -> {cluster =, ip =, app =} | nil, why */
static int l_gateway_parse_host(lua_State *L)
{
	size_t len;
	const char *host = luaL_checklstring(L, 1, &len);
	const char *zone = luaL_checkstring(L, 2);
	struct gw_host h;
	const char *why = NULL;
	if (gw_host_parse(host, len, zone, &h, &why) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, why ? why : "not a cluster name");
		return 2;
	}
	lua_createtable(L, 0, 3);
	lua_pushstring(L, h.cluster);
	lua_setfield(L, -2, "cluster");
	lua_pushfstring(L, "%d.%d.%d.%d", (int)(h.ipv4 >> 24), (int)((h.ipv4 >> 16) & 255),
	                (int)((h.ipv4 >> 8) & 255), (int)(h.ipv4 & 255));
	lua_setfield(L, -2, "ip");
	lua_pushlstring(L, h.app, h.app_len);
	lua_setfield(L, -2, "app");
	return 1;
}

/** gateway.is_public_ip("a.b.c.d") -> boolean | nil, "not an IPv4 address" */
static int l_gateway_is_public_ip(lua_State *L)
{
	const char *s = luaL_checkstring(L, 1);
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1) {
		lua_pushnil(L);
		lua_pushliteral(L, "not an IPv4 address");
		return 2;
	}
	lua_pushboolean(L, gw_ipv4_is_public(ntohl(a.s_addr)));
	return 1;
}

int luaopen_kip_gateway(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{"__gc", l_gw_close},
		{"__close", l_gw_close},
		{"__tostring", l_gw_tostring},
		{NULL, NULL},
	};
	static const luaL_Reg methods[] = {
		{"ports", l_gw_ports},
		{"set_routes", l_gw_set_routes},
		{"set_certs", l_gw_set_certs},
		{"stats", l_gw_stats},
		{"drain", l_gw_drain},
		{"close", l_gw_close},
		{NULL, NULL},
	};
	static const luaL_Reg funcs[] = {
		{"start", l_gateway_start},
		{"parse_host", l_gateway_parse_host},
		{"is_public_ip", l_gateway_is_public_ip},
		{"peer_certificate", l_gateway_peer_certificate},
		{NULL, NULL},
	};
	bind_new_class(L, GATEWAY_MT, meta, methods);
	luaL_newlib(L, funcs);
	return 1;
}
