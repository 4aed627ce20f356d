/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.http"`: http.client / http.request and the kip.http.Client and kip.http.Stream
 * userdata, a thin binding over kip/http.h (buffered requests, callback streams, pull streams and
 * lines) and bind.h. Misuse raises; network failures return `nil, msg, code`. Transfers block the
 * calling thread with the host lock released (bind_gil_*): for scripts, the CLI and kip.server
 * handlers, never the gateway or k8s event loops. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "bind.h"
#include "kip/http.h"

#define L_HTTP_CLIENT "kip.http.Client"
#define L_HTTP_STREAM "kip.http.Stream"

/* Lua-owned. The C client is used only with mu held and the host lock released (bind_block_on), so
 * two kip.server threads sharing a client take turns instead of racing on its curl handles. No
 * thread holds mu while it holds the host lock, so neither waits on the other in a cycle. */
struct l_http_client {
	struct kip_http_client *c; /* NULL once closed; read and written with mu held */
	pthread_mutex_t mu;        /* never destroyed: a default Linux mutex owns no resources, and a
	                            * stream's __gc may still lock it after the client's __gc ran */
};

struct l_http_stream {
	struct kip_http_stream *s; /* NULL once closed; used with cl->mu held */
	struct l_http_client *cl;  /* kept alive by user value 1; user value 2: the response table */
};

/* Internal guards (bind_new_guard) for C results that a raise while pushing must not leak. */
struct l_http_resp_box {
	struct kip_http_client_resp resp;
};
static const char l_http_resp_key; /* registry slot of the response guard metatable */

static int l_http_resp_gc(lua_State *L)
{
	struct l_http_resp_box *box = lua_touserdata(L, 1);
	kip_http_client_resp_free(&box->resp);
	return 0;
}

/* A string option without NUL bytes, line breaks (when no_crlf) or NULL. */
static const char *l_http_opt_cstring(lua_State *L, int idx, const char *field, bool no_crlf) /* may raise */
{
	size_t len;
	const char *s = bind_opt_string(L, idx, field, &len, NULL);
	if (s && (strlen(s) != len || (no_crlf && strpbrk(s, "\r\n"))))
		luaL_error(L, "kip.http: option '%s' contains a NUL byte or a line break", field);
	return s;
}

/* Seconds (fractions allowed) as milliseconds. */
static unsigned l_http_opt_ms(lua_State *L, int idx, const char *field) /* may raise */
{
	lua_Number secs = bind_opt_number(L, idx, field, 0);
	if (!(secs >= 0))
		luaL_error(L, "kip.http: option '%s' must be a non-negative number of seconds", field);
	double ms = ceil(secs * 1000.0);
	return ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
}

static bool l_http_token_char(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f && ch != ':';
}

/* opts[field], a table of name -> string (or false: do not send that header), as a userdata
 * array of fields pushed on the stack (strings anchored in the table); NULL when absent. */
static const struct kip_http_field *l_http_fields(lua_State *L, int idx, const char *field, size_t *n) /* may raise */
{
	*n = 0;
	if (lua_type(L, idx) != LUA_TTABLE || lua_getfield(L, idx, field) == LUA_TNIL) {
		lua_pop(L, lua_type(L, idx) == LUA_TTABLE);
		return NULL;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "kip.http: option '%s' must be a table, got %s", field, luaL_typename(L, -1));
	int t = lua_gettop(L);
	size_t count = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		count++;
		lua_pop(L, 1);
	}
	struct kip_http_field *v = lua_newuserdatauv(L, (count ? count : 1) * sizeof *v, 0);
	lua_insert(L, t); /* array, table */
	lua_pushnil(L);
	while (lua_next(L, t + 1)) { /* array, table, key, value */
		size_t len;
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "kip.http: %s names must be strings, got %s", field, luaL_typename(L, -2));
		const char *name = lua_tolstring(L, -2, &len);
		for (size_t i = 0; i < len; i++)
			if (!l_http_token_char((unsigned char)name[i]))
				luaL_error(L, "kip.http: bad header name '%s'", name);
		if (len == 0)
			luaL_error(L, "kip.http: empty header name");
		const char *value = NULL;
		if (lua_type(L, -1) == LUA_TSTRING) {
			value = lua_tolstring(L, -1, &len);
			if (strlen(value) != len || strpbrk(value, "\r\n"))
				luaL_error(L, "kip.http: header '%s' contains a NUL byte or a line break", name);
		} else if (!(lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
			luaL_error(L, "kip.http: header '%s' must be a string or false, got %s", name,
			           luaL_typename(L, -1));
		}
		v[*n].name = name;
		v[*n].value = value;
		(*n)++;
		lua_pop(L, 1);
	}
	lua_pop(L, 1); /* the table (still anchored in opts); the array stays */
	return v;
}

static void l_http_check_client_opts(lua_State *L, int idx, struct kip_http_client_opts *o) /* may raise */
{
	bind_check_opts(L, idx);
	memset(o, 0, sizeof *o);
	o->ca_file = l_http_opt_cstring(L, idx, "ca_file", false);
	o->ca_data = bind_opt_string(L, idx, "ca_data", &o->ca_len, NULL);
	o->cert_file = l_http_opt_cstring(L, idx, "cert_file", false);
	o->cert_data = bind_opt_string(L, idx, "cert_data", &o->cert_len, NULL);
	o->key_file = l_http_opt_cstring(L, idx, "key_file", false);
	o->key_data = bind_opt_string(L, idx, "key_data", &o->key_len, NULL);
	if ((o->ca_file && o->ca_data) || (o->cert_file && o->cert_data) || (o->key_file && o->key_data))
		luaL_error(L, "kip.http: give either X_file or X_data for ca, cert and key, not both");
	if ((o->key_file || o->key_data) && !(o->cert_file || o->cert_data))
		luaL_error(L, "kip.http: a client key needs a client certificate (cert_file or cert_data)");
	o->insecure = bind_opt_boolean(L, idx, "insecure", false);
	o->token = l_http_opt_cstring(L, idx, "token", true);
	if (o->token && !*o->token)
		luaL_error(L, "kip.http: option 'token' is empty");
	o->user_agent = l_http_opt_cstring(L, idx, "user_agent", true);
	o->connect_timeout_ms = l_http_opt_ms(L, idx, "connect_timeout");
	o->local_address = l_http_opt_cstring(L, idx, "local_address", true);
	o->headers = l_http_fields(L, idx, "headers", &o->nheaders);
}

static const char *l_http_method(lua_State *L, int idx) /* may raise */
{
	static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
	const char *m = bind_opt_string(L, idx, "method", NULL, "GET");
	for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
		if (strcasecmp(m, methods[i]) == 0)
			return methods[i];
	luaL_error(L, "kip.http: unknown method '%s' (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)", m);
	return NULL;
}

static void l_http_check_req(lua_State *L, int idx, struct kip_http_client_req *req) /* may raise */
{
	luaL_checktype(L, idx, LUA_TTABLE);
	memset(req, 0, sizeof *req);
	req->method = l_http_method(L, idx);
	req->url = l_http_opt_cstring(L, idx, "url", true);
	if (!req->url)
		luaL_error(L, "kip.http: the request has no url");
	req->body = bind_opt_string(L, idx, "body", &req->body_len, NULL);
	req->timeout_ms = l_http_opt_ms(L, idx, "timeout");
	req->idle_timeout_ms = l_http_opt_ms(L, idx, "idle_timeout");
	lua_Integer max_body = bind_opt_integer(L, idx, "max_body", 0);
	if (max_body < 0)
		luaL_error(L, "kip.http: option 'max_body' must be a non-negative number of bytes");
	req->max_body = (size_t)max_body;
	req->headers = l_http_fields(L, idx, "headers", &req->nheaders);
}

/* Pushes {status, headers = {name = "v1, v2"}, header_list = {{name, value}, ...}[, body]}. */
static void l_http_push_resp(lua_State *L, const struct kip_http_client_resp *r, bool body) /* may raise */
{
	lua_createtable(L, 0, 4);
	lua_pushinteger(L, r->status);
	lua_setfield(L, -2, "status");
	lua_createtable(L, 0, (int)r->nheaders); /* resp, headers */
	lua_createtable(L, (int)r->nheaders, 0); /* resp, headers, list */
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct kip_http_field *f = &r->headers[i];
		lua_createtable(L, 2, 0);
		lua_pushstring(L, f->name);
		lua_rawseti(L, -2, 1);
		lua_pushstring(L, f->value);
		lua_rawseti(L, -2, 2);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		if (lua_getfield(L, -2, f->name) == LUA_TSTRING) /* resp, headers, list, previous */
			lua_pushfstring(L, "%s, %s", lua_tostring(L, -1), f->value);
		else
			lua_pushstring(L, f->value);
		lua_setfield(L, -4, f->name);
		lua_pop(L, 1);
	}
	lua_setfield(L, -3, "header_list");
	lua_setfield(L, -2, "headers");
	if (body) {
		lua_pushlstring(L, r->body ? r->body : "", r->body_len);
		lua_setfield(L, -2, "body");
	}
}

static struct l_http_client *l_http_check_client(lua_State *L)
{
	return luaL_checkudata(L, 1, L_HTTP_CLIENT);
}

/* Raises about a closed client after giving back the locks. */
static int l_http_closed(lua_State *L, struct l_http_client *cl, struct bind_gil *gil)
{
	bind_unblock(&cl->mu, gil);
	return luaL_error(L, "kip.http: the client is closed");
}

/* http.client([opts]) -> client | nil, msg, code */
static int l_http_client(lua_State *L)
{
	struct kip_http_client_opts o;
	l_http_check_client_opts(L, 1, &o);
	struct l_http_client *cl = lua_newuserdatauv(L, sizeof *cl, 0);
	cl->c = NULL;
	pthread_mutex_init(&cl->mu, NULL);
	luaL_setmetatable(L, L_HTTP_CLIENT);
	struct kip_err err = {0};
	if (kip_http_client_new(&o, &cl->c, &err) != 0) /* nothing else can see cl yet: no lock */
		return bind_push_err(L, &err);
	return 1;
}

/* client:request(req) -> {status, headers, header_list, body} | nil, msg, code */
static int l_http_client_request(lua_State *L)
{
	struct l_http_client *cl = l_http_check_client(L);
	struct kip_http_client_req req;
	l_http_check_req(L, 2, &req);
	struct l_http_resp_box *box = bind_new_guard(L, sizeof *box, &l_http_resp_key, l_http_resp_gc);
	struct kip_err err = {0};
	struct bind_gil *gil = bind_block_on(L, &cl->mu);
	if (!cl->c)
		return l_http_closed(L, cl, gil);
	int rc = kip_http_client_request(cl->c, &req, &box->resp, &err);
	bind_unblock(&cl->mu, gil);
	if (rc != 0) {
		kip_http_client_resp_free(&box->resp);
		return bind_push_err(L, &err);
	}
	l_http_push_resp(L, &box->resp, true);
	kip_http_client_resp_free(&box->resp);
	return 1;
}

/* Closes the C stream of st, if still open. */
static void l_http_stream_release(lua_State *L, struct l_http_stream *st)
{
	if (!st->s)
		return;
	struct bind_gil *gil = bind_block_on(L, &st->cl->mu);
	kip_http_stream_close(st->s);
	st->s = NULL;
	bind_unblock(&st->cl->mu, gil);
}

/* Pushes a new stream userdata for req (argument 2) of the client at 1, or nil, msg, code.
 * Returns the number of values pushed. */
static int l_http_push_open(lua_State *L) /* may raise */
{
	struct l_http_client *cl = l_http_check_client(L);
	struct kip_http_client_req req;
	l_http_check_req(L, 2, &req);
	struct l_http_stream *st = lua_newuserdatauv(L, sizeof *st, 2);
	st->s = NULL;
	st->cl = cl;
	luaL_setmetatable(L, L_HTTP_STREAM); /* its __gc closes st->s from now on */
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	int top = lua_gettop(L);
	struct kip_err err = {0};
	struct bind_gil *gil = bind_block_on(L, &cl->mu);
	if (!cl->c)
		return l_http_closed(L, cl, gil);
	int rc = kip_http_client_open(cl->c, &req, &st->s, &err);
	bind_unblock(&cl->mu, gil);
	if (rc != 0)
		return bind_push_err(L, &err);
	l_http_push_resp(L, kip_http_stream_response(st->s), false);
	lua_setiuservalue(L, top, 2);
	lua_settop(L, top);
	return 1;
}

/* client:open(req) -> stream | nil, msg, code */
static int l_http_client_open(lua_State *L)
{
	return l_http_push_open(L);
}

static struct l_http_stream *l_http_check_stream(lua_State *L, int idx)
{
	struct l_http_stream *st = luaL_checkudata(L, idx, L_HTTP_STREAM);
	if (!st->s)
		luaL_error(L, "kip.http: the stream is closed");
	return st;
}

/* One step of a stream: KIP_HTTP_DATA (the chunk or line pushed), KIP_HTTP_END (nothing pushed),
 * KIP_HTTP_AGAIN (wait_ms >= 0 passed with nothing; nothing pushed) or an error code (err
 * filled). wait_ms -1 waits for data or the end. Raises when the client was closed. */
static int l_http_step(lua_State *L, int idx, bool line, int wait_ms, struct kip_err *err) /* may raise */
{
	struct l_http_stream *st = l_http_check_stream(L, idx);
	const char *data;
	size_t len;
	int rc;
	struct bind_gil *gil = bind_block_on(L, &st->cl->mu);
	if (!st->cl->c)
		return l_http_closed(L, st->cl, gil);
	do
		rc = line ? kip_http_stream_readline(st->s, wait_ms, &data, &len, err)
		          : kip_http_stream_read(st->s, wait_ms, &data, &len, err);
	while (rc == KIP_HTTP_AGAIN && wait_ms < 0); /* a wakeup: nothing for Lua to do */
	bind_unblock(&st->cl->mu, gil);
	if (rc == KIP_HTTP_DATA)
		lua_pushlstring(L, data, len); /* data stays valid until the next read on st */
	return rc;
}

/* The optional wait of stream:read/readline at idx, in milliseconds; -1 (no limit) when it is not a
 * number (the generic for passes the previous chunk there). */
static int l_http_opt_wait(lua_State *L, int idx) /* may raise */
{
	if (lua_type(L, idx) != LUA_TNUMBER)
		return -1;
	lua_Number s = lua_tonumber(L, idx);
	luaL_argcheck(L, s >= 0 && s <= INT_MAX / 1000, idx, "the wait must be 0 or more seconds");
	return (int)ceil(s * 1000);
}

/* stream:read([wait]) / stream:readline([wait]) -> chunk | nil (end) | false (wait passed) |
 * nil, msg, code */
static int l_http_stream_next(lua_State *L, bool line)
{
	struct kip_err err = {0};
	int rc = l_http_step(L, 1, line, l_http_opt_wait(L, 2), &err);
	if (rc == KIP_HTTP_DATA)
		return 1;
	if (rc == KIP_HTTP_END) {
		lua_pushnil(L);
		return 1;
	}
	if (rc == KIP_HTTP_AGAIN) {
		lua_pushboolean(L, 0);
		return 1;
	}
	return bind_push_err(L, &err);
}

static int l_http_stream_read(lua_State *L)
{
	return l_http_stream_next(L, false);
}

static int l_http_stream_readline(lua_State *L)
{
	return l_http_stream_next(L, true);
}

/* The iterators: the next chunk or line, nil at the end; raise on failures (as io.lines does). */
static int l_http_iter(lua_State *L, int idx, bool line)
{
	struct kip_err err = {0};
	int rc = l_http_step(L, idx, line, -1, &err);
	if (rc == KIP_HTTP_DATA)
		return 1;
	if (rc == KIP_HTTP_END) {
		lua_pushnil(L);
		return 1;
	}
	return luaL_error(L, "%s", err.msg);
}

static int l_http_chunks_iter(lua_State *L)
{
	return l_http_iter(L, 1, false);
}

static int l_http_lines_iter(lua_State *L)
{
	return l_http_iter(L, lua_upvalueindex(1), true);
}

/* stream:lines() -> iterator over complete lines (without "\n") */
static int l_http_stream_lines(lua_State *L)
{
	l_http_check_stream(L, 1);
	lua_settop(L, 1);
	lua_pushcclosure(L, l_http_lines_iter, 1);
	return 1;
}

/* client:chunks(req) -> iterator, stream, nil, stream (closed when the loop ends); raises on
 * failures */
static int l_http_client_chunks(lua_State *L)
{
	lua_settop(L, 2);
	if (l_http_push_open(L) != 1)
		return luaL_error(L, "%s", lua_tostring(L, -2));
	lua_pushcfunction(L, l_http_chunks_iter); /* stream, iter */
	lua_insert(L, -2);                        /* iter, stream */
	lua_pushnil(L);
	lua_pushvalue(L, -2); /* iter, stream, nil, stream (to-be-closed by the for loop) */
	return 4;
}

/* client:stream(req, on_chunk) -> {status, headers, header_list} | nil, msg, code */
static int l_http_client_stream(lua_State *L)
{
	luaL_checktype(L, 3, LUA_TFUNCTION);
	lua_settop(L, 3);
	int n = l_http_push_open(L); /* reads arguments 1 and 2 */
	if (n != 1)
		return n;
	int s_idx = lua_gettop(L); /* client, req, on_chunk, (header arrays), stream */
	struct l_http_stream *st = lua_touserdata(L, s_idx);
	for (;;) {
		struct kip_err err = {0};
		lua_pushvalue(L, 3);
		int rc = l_http_step(L, s_idx, false, -1, &err); /* ..., on_chunk, chunk */
		if (rc != KIP_HTTP_DATA) {
			lua_pop(L, 1);
			l_http_stream_release(L, st);
			if (rc != KIP_HTTP_END)
				return bind_push_err(L, &err);
			break;
		}
		/* Not host_pcall: an error in on_chunk belongs to our caller (as a table.sort comparator's
		 * does), so it is caught only to abort the transfer first, then raised again as it was. */
		if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
			l_http_stream_release(L, st);
			return lua_error(L);
		}
		bool stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (stop) {
			l_http_stream_release(L, st);
			break;
		}
	}
	lua_getiuservalue(L, s_idx, 2);
	return 1;
}

/* __gc: the client is unreachable, so no other thread uses it; the host lock is kept (a
 * finalizer must not let other threads into the state). */
static int l_http_client_gc(lua_State *L)
{
	struct l_http_client *cl = lua_touserdata(L, 1);
	pthread_mutex_lock(&cl->mu);
	kip_http_client_free(cl->c);
	cl->c = NULL;
	pthread_mutex_unlock(&cl->mu);
	return 0;
}

/* __gc: keeps the host lock; may wait for another thread's read on the same client to return. */
static int l_http_stream_gc(lua_State *L)
{
	struct l_http_stream *st = lua_touserdata(L, 1);
	if (st->s) {
		pthread_mutex_lock(&st->cl->mu);
		kip_http_stream_close(st->s);
		st->s = NULL;
		pthread_mutex_unlock(&st->cl->mu);
	}
	return 0;
}

/* client:close(): closes the connections and aborts open streams; idempotent */
static int l_http_client_close(lua_State *L)
{
	struct l_http_client *cl = l_http_check_client(L);
	struct bind_gil *gil = bind_block_on(L, &cl->mu);
	kip_http_client_free(cl->c);
	cl->c = NULL;
	bind_unblock(&cl->mu, gil);
	return 0;
}

static int l_http_client_tostring(lua_State *L)
{
	struct l_http_client *cl = l_http_check_client(L);
	bool closed = false;
	if (pthread_mutex_trylock(&cl->mu) == 0) { /* busy: in use, so not closed */
		closed = cl->c == NULL;
		pthread_mutex_unlock(&cl->mu);
	}
	lua_pushfstring(L, "%s: %p%s", L_HTTP_CLIENT, (void *)cl, closed ? " (closed)" : "");
	return 1;
}

/* stream:close(); idempotent */
static int l_http_stream_close(lua_State *L)
{
	l_http_stream_release(L, luaL_checkudata(L, 1, L_HTTP_STREAM));
	return 0;
}

/* stream:status() -> integer */
static int l_http_stream_status(lua_State *L)
{
	luaL_checkudata(L, 1, L_HTTP_STREAM);
	lua_getiuservalue(L, 1, 2);
	lua_getfield(L, -1, "status");
	return 1;
}

/* stream:headers() -> {name = "v1, v2"}, {{name, value}, ...} */
static int l_http_stream_headers(lua_State *L)
{
	luaL_checkudata(L, 1, L_HTTP_STREAM);
	lua_getiuservalue(L, 1, 2);
	lua_getfield(L, -1, "headers");
	lua_getfield(L, -2, "header_list");
	return 2;
}

static int l_http_stream_tostring(lua_State *L)
{
	struct l_http_stream *st = luaL_checkudata(L, 1, L_HTTP_STREAM);
	lua_getiuservalue(L, 1, 2);
	lua_getfield(L, -1, "status");
	lua_pushfstring(L, "%s: %p (%s%s)", L_HTTP_STREAM, (void *)st,
	                lua_isnil(L, -1) ? "not open" : lua_tostring(L, -1), st->s ? "" : ", closed");
	return 1;
}

/* http.request(req) with the client options in req: a one-shot client:request. */
static int l_http_request(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	int n = l_http_client(L); /* req, (header array), client | nil, msg, code */
	if (n != 1)
		return n;
	lua_insert(L, 1); /* client, req, ... */
	n = l_http_client_request(L);
	l_http_client_close(L); /* explicit: the connection need not wait for the GC; pushes nothing */
	return n;
}

static const luaL_Reg l_http_client_methods[] = {
	{"request", l_http_client_request},
	{"stream", l_http_client_stream},
	{"open", l_http_client_open},
	{"chunks", l_http_client_chunks},
	{"close", l_http_client_close},
	{NULL, NULL},
};

static const luaL_Reg l_http_client_meta[] = {
	{"__gc", l_http_client_gc},
	{"__close", l_http_client_close},
	{"__tostring", l_http_client_tostring},
	{NULL, NULL},
};

static const luaL_Reg l_http_stream_methods[] = {
	{"read", l_http_stream_read},
	{"readline", l_http_stream_readline},
	{"lines", l_http_stream_lines},
	{"status", l_http_stream_status},
	{"headers", l_http_stream_headers},
	{"close", l_http_stream_close},
	{NULL, NULL},
};

static const luaL_Reg l_http_stream_meta[] = {
	{"__gc", l_http_stream_gc},
	{"__close", l_http_stream_close},
	{"__tostring", l_http_stream_tostring},
	{NULL, NULL},
};

static const luaL_Reg l_http_funcs[] = {
	{"client", l_http_client},
	{"request", l_http_request},
	{NULL, NULL},
};

int luaopen_kip_http(lua_State *L)
{
	bind_new_class(L, L_HTTP_CLIENT, l_http_client_meta, l_http_client_methods);
	bind_new_class(L, L_HTTP_STREAM, l_http_stream_meta, l_http_stream_methods);
	luaL_newlib(L, l_http_funcs);
	return 1;
}
