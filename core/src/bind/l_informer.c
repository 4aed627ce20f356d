/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.informer"`: informer.new (kip.informer.Informer over kip/watch.h) and
 * informer.queue (kip.informer.Queue over kip/workqueue.h); objects decoded by bind_json_push.
 * Network work runs on each informer's own thread; Lua waits only in :poll, :stop and Queue:get,
 * with the host lock released (bind_gil_*). Misuse raises; a handler's error is raised by :poll. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "kip/watch.h"
#include "kip/workqueue.h"

#define INFORMER_MT "kip.informer.Informer"
#define QUEUE_MT "kip.informer.Queue"

/* Lua-owned box of a C-owned informer. User values: 1 the handlers table, 2 the path. */
struct l_informer {
	struct kip_informer *inf; /* NULL once freed */
	bool closed;              /* :close() or __close ran: methods raise */
	int busy;                 /* calls of this Lua state inside :poll or :stop (changed with the host
	                           * lock held); the informer is freed when the last one leaves */
};

struct l_queue {
	struct kip_workqueue *q;  /* NULL once freed */
	bool closed;
	int busy;                 /* threads inside :get */
};

/* Guards (bind_new_guard) for C results that a raise must not leak. */
struct l_event_box {
	struct kip_informer_event *ev;
};
struct l_key_box {
	char *key;
};
struct l_list_box {
	struct kip_k8s_obj **objs;
	size_t n;
};
static const char event_box_key; /* registry slot of the event guard's metatable */
static const char key_box_key;   /* registry slot of the key guard's metatable */
static const char list_box_key;  /* registry slot of the list guard's metatable */

static int l_event_box_gc(lua_State *L)
{
	struct l_event_box *b = lua_touserdata(L, 1);
	kip_informer_event_free(b->ev);
	b->ev = NULL;
	return 0;
}

static int l_key_box_gc(lua_State *L)
{
	struct l_key_box *b = lua_touserdata(L, 1);
	free(b->key);
	b->key = NULL;
	return 0;
}

static int l_list_box_gc(lua_State *L)
{
	struct l_list_box *b = lua_touserdata(L, 1);
	kip_k8s_obj_list_free(b->objs, b->n);
	b->objs = NULL;
	b->n = 0;
	return 0;
}

/* Seconds (fractions allowed, math.huge: no limit) at idx as milliseconds for a wait; def when
 * absent (-1: no limit). */
static int l_informer_ms(lua_State *L, int idx, int def) /* may raise */
{
	if (lua_isnoneornil(L, idx))
		return def;
	lua_Number s = luaL_checknumber(L, idx);
	luaL_argcheck(L, s >= 0, idx, "the timeout must be a non-negative number of seconds");
	double ms = ceil(s * 1000.0);
	return ms >= INT_MAX ? -1 : (int)ms;
}

/* A key argument without NUL bytes. */
static const char *l_informer_key(lua_State *L, int idx) /* may raise */
{
	size_t len;
	const char *key = luaL_checklstring(L, idx, &len);
	luaL_argcheck(L, strlen(key) == len, idx, "the key contains a NUL byte");
	return key;
}

/* --- Informer ------------------------------------------------------------------------------------ */

static struct l_informer *check_informer(lua_State *L, int idx) /* may raise */
{
	struct l_informer *u = luaL_checkudata(L, idx, INFORMER_MT);
	if (u->closed || !u->inf)
		luaL_error(L, "kip.informer: the informer is closed");
	return u;
}

static void l_informer_leave(struct l_informer *u)
{
	if (--u->busy == 0 && u->closed && u->inf) {
		kip_informer_free(u->inf); /* stopped already: nothing to wait for */
		u->inf = NULL;
	}
}

/* A string option without NUL bytes (len: its length, for PEM texts). */
static const char *l_informer_opt(lua_State *L, int idx, const char *field, size_t *len) /* may raise */
{
	size_t n;
	const char *s = bind_opt_string(L, idx, field, &n, NULL);
	if (s && strlen(s) != n)
		luaL_error(L, "kip.informer: option '%s' contains a NUL byte", field);
	if (len)
		*len = n;
	return s;
}

/* Seconds as whole milliseconds in [1, max_ms]. */
static unsigned l_informer_opt_ms(lua_State *L, int idx, const char *field, double max_ms) /* may raise */
{
	lua_Number s = bind_opt_number(L, idx, field, 0);
	if (s == 0)
		return 0; /* the default */
	if (!(s > 0) || s * 1000.0 > max_ms)
		luaL_error(L, "kip.informer: option '%s' must be a positive number of seconds, at most %f", field,
		           max_ms / 1000.0);
	double ms = ceil(s * 1000.0);
	return ms < 1 ? 1 : (unsigned)ms;
}

/** informer.new{conn = {server, ca_data, cert_data, key_data, ca_file, cert_file, key_file, token,
 * insecure}, path, label_selector, field_selector, page_size, watch_timeout, backoff_min,
 * backoff_max} -> Informer (not started) */
static int l_informer_new(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	if (lua_getfield(L, 1, "conn") != LUA_TTABLE) /* opts, conn */
		return luaL_error(L, "kip.informer: option 'conn' must be a table, got %s", luaL_typename(L, 2));
	struct kip_informer_opts o = {0};
	struct kip_informer_conn *c = &o.conn;
	c->server = l_informer_opt(L, 2, "server", NULL);
	c->ca_data = l_informer_opt(L, 2, "ca_data", &c->ca_len);
	c->cert_data = l_informer_opt(L, 2, "cert_data", &c->cert_len);
	c->key_data = l_informer_opt(L, 2, "key_data", &c->key_len);
	c->ca_file = l_informer_opt(L, 2, "ca_file", NULL);
	c->cert_file = l_informer_opt(L, 2, "cert_file", NULL);
	c->key_file = l_informer_opt(L, 2, "key_file", NULL);
	c->token = l_informer_opt(L, 2, "token", NULL);
	c->insecure = bind_opt_boolean(L, 2, "insecure", false);
	if (!c->server)
		return luaL_error(L, "kip.informer: conn.server is required");
	if ((c->ca_data && c->ca_file) || (c->cert_data && c->cert_file) || (c->key_data && c->key_file))
		return luaL_error(L, "kip.informer: conn.X_data and conn.X_file exclude each other");
	o.path = l_informer_opt(L, 1, "path", NULL);
	if (!o.path)
		return luaL_error(L, "kip.informer: option 'path' is required");
	o.label_selector = l_informer_opt(L, 1, "label_selector", NULL);
	o.field_selector = l_informer_opt(L, 1, "field_selector", NULL);
	lua_Integer page = bind_opt_integer(L, 1, "page_size", 500);
	if (page < 1 || page > 100000)
		return luaL_error(L, "kip.informer: option 'page_size' must be from 1 to 100000");
	o.page_size = (unsigned)page;
	o.watch_timeout_s = (l_informer_opt_ms(L, 1, "watch_timeout", 86400e3) + 999) / 1000;
	o.backoff_min_ms = l_informer_opt_ms(L, 1, "backoff_min", 3600e3);
	o.backoff_max_ms = l_informer_opt_ms(L, 1, "backoff_max", 3600e3);

	struct l_informer *u = lua_newuserdatauv(L, sizeof *u, 2); /* opts, conn, u */
	memset(u, 0, sizeof *u);
	luaL_setmetatable(L, INFORMER_MT);
	lua_pushstring(L, o.path);
	lua_setiuservalue(L, 3, 2);
	struct kip_err err;
	if (kip_informer_new(&o, &u->inf, &err) != 0)
		return luaL_error(L, "kip.informer: %s", err.msg);
	return 1;
}

/** inf:start() -> true | nil, message, code */
static int l_informer_start(lua_State *L)
{
	struct l_informer *u = check_informer(L, 1);
	if (kip_informer_running(u->inf))
		return luaL_error(L, "kip.informer: the informer is running already");
	struct kip_err err;
	if (kip_informer_start(u->inf, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/** inf:stop(): wakes the informer's thread and waits for it; the cache stays */
static int l_informer_stop(lua_State *L)
{
	struct l_informer *u = check_informer(L, 1);
	u->busy++;
	struct bind_gil *gil = bind_gil_release(L);
	kip_informer_stop(u->inf);
	bind_gil_acquire(gil);
	l_informer_leave(u);
	return 0;
}

/** inf:close() and __close: stops it for good; methods raise afterwards */
static int l_informer_close(lua_State *L)
{
	struct l_informer *u = luaL_checkudata(L, 1, INFORMER_MT);
	if (u->closed || !u->inf)
		return 0;
	u->closed = true;
	u->busy++;
	struct bind_gil *gil = bind_gil_release(L);
	kip_informer_stop(u->inf); /* wakes the pollers of other threads too */
	bind_gil_acquire(gil);
	l_informer_leave(u);
	return 0;
}

/* __gc runs inside the collector, which must not let go of the host lock: the thread is stopped
 * with it held (at once, unless the server hangs mid-answer; :close() first avoids that). */
static int l_informer_gc(lua_State *L)
{
	struct l_informer *u = luaL_checkudata(L, 1, INFORMER_MT);
	kip_informer_free(u->inf);
	u->inf = NULL;
	u->closed = true;
	return 0;
}

static int l_informer_tostring(lua_State *L)
{
	struct l_informer *u = luaL_checkudata(L, 1, INFORMER_MT);
	lua_getiuservalue(L, 1, 2);
	const char *state = !u->inf || u->closed ? "closed" : kip_informer_running(u->inf) ? "running" : "stopped";
	lua_pushfstring(L, "kip.informer.Informer (%s, %s)", lua_tostring(L, -1), state);
	return 1;
}

/* Pushes the decoded object. */
static void l_informer_push_obj(lua_State *L, const struct kip_k8s_obj *o) /* may raise */
{
	struct kip_err err;
	if (bind_json_push(L, o->json, o->json_len, &err) != 0)
		luaL_error(L, "kip.informer: cannot decode %s: %s", o->key, err.msg);
}

/* Calls the handler for box->ev, if there is one. Stack: self, guard. Returns the status of
 * lua_pcall with the error object on top on failure. */
static int l_informer_deliver(lua_State *L, struct l_event_box *box) /* may raise */
{
	static const char *const names[] = {NULL, "on_add", "on_update", "on_delete"};
	const struct kip_informer_event *ev = box->ev;
	lua_getiuservalue(L, 1, 1); /* self, guard, handlers */
	if (lua_type(L, -1) != LUA_TTABLE || lua_getfield(L, -1, names[ev->type]) != LUA_TFUNCTION) {
		lua_settop(L, 2);
		return LUA_OK;
	}
	int nargs = 1;                  /* self, guard, handlers, fn */
	switch (ev->type) {
	case KIP_INFORMER_ADD:
		l_informer_push_obj(L, ev->obj);
		break;
	case KIP_INFORMER_UPDATE:
		l_informer_push_obj(L, ev->old);
		l_informer_push_obj(L, ev->obj);
		nargs = 2;
		break;
	case KIP_INFORMER_DELETE:
		l_informer_push_obj(L, ev->obj ? ev->obj : ev->old);
		break;
	}
	int status = lua_pcall(L, nargs, 0, 0); /* self, guard, handlers [, error] */
	if (status != LUA_OK)
		lua_replace(L, 3);              /* self, guard, error */
	else
		lua_settop(L, 2);
	return status;
}

/** inf:poll([timeout_s]) -> events delivered: waits up to timeout_s (default 0) for events with
 * the host lock released, then calls the handlers set with :on for the events queued */
static int l_informer_poll(lua_State *L)
{
	struct l_informer *u = check_informer(L, 1);
	int ms = l_informer_ms(L, 2, 0);
	lua_settop(L, 1);
	struct l_event_box *box = bind_new_guard(L, sizeof *box, &event_box_key, l_event_box_gc); /* self, guard */
	u->busy++;
	if (ms != 0) {
		struct bind_gil *gil = bind_gil_release(L);
		kip_informer_next(u->inf, ms, &box->ev);
		bind_gil_acquire(gil);
	} else {
		kip_informer_next(u->inf, 0, &box->ev);
	}
	/* the events queued now; those arriving meanwhile wait for the next poll */
	size_t left = box->ev && !u->closed ? kip_informer_pending(u->inf) : 0;
	lua_Integer delivered = 0;
	while (box->ev && !u->closed) {
		int status = l_informer_deliver(L, box);
		kip_informer_event_free(box->ev);
		box->ev = NULL;
		delivered++;
		if (status != LUA_OK) { /* self, guard, error: the later events stay queued */
			l_informer_leave(u);
			return lua_error(L);
		}
		if (left-- == 0 || u->closed)
			break;
		kip_informer_next(u->inf, 0, &box->ev);
	}
	kip_informer_event_free(box->ev); /* taken just before a handler closed the informer */
	box->ev = NULL;
	l_informer_leave(u);
	lua_pushinteger(L, delivered);
	return 1;
}

/** inf:on{on_add = fn(obj), on_update = fn(old, new), on_delete = fn(obj)} -> inf */
static int l_informer_on(lua_State *L)
{
	check_informer(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	static const char *const names[] = {"on_add", "on_update", "on_delete"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		int t = lua_getfield(L, 2, names[i]);
		if (t != LUA_TNIL && t != LUA_TFUNCTION)
			return luaL_error(L, "kip.informer: handler '%s' must be a function, got %s", names[i],
			                  luaL_typename(L, -1));
		lua_pop(L, 1);
	}
	lua_pushvalue(L, 2);
	lua_setiuservalue(L, 1, 1);
	lua_settop(L, 1);
	return 1;
}

/** inf:get(ns, name) / inf:get(name) -> the cached object (decoded) or nil */
static int l_informer_get(lua_State *L)
{
	struct l_informer *u = check_informer(L, 1);
	const char *key = l_informer_key(L, 2);
	if (!lua_isnoneornil(L, 3)) {
		const char *name = l_informer_key(L, 3);
		key = *key ? lua_pushfstring(L, "%s/%s", key, name) : name;
	}
	struct kip_k8s_obj *o = kip_informer_get(u->inf, key);
	if (!o) {
		lua_pushnil(L);
		return 1;
	}
	struct l_list_box *box = bind_new_guard(L, sizeof *box, &list_box_key, l_list_box_gc);
	box->objs = malloc(sizeof *box->objs);
	if (!box->objs) {
		kip_k8s_obj_unref(o);
		return luaL_error(L, "out of memory");
	}
	box->objs[0] = o;
	box->n = 1;
	l_informer_push_obj(L, o);
	return 1;
}

/** inf:list([ns]) -> the cached objects (decoded), sorted by namespace then name */
static int l_informer_list(lua_State *L)
{
	struct l_informer *u = check_informer(L, 1);
	const char *ns = lua_isnoneornil(L, 2) ? NULL : l_informer_key(L, 2);
	struct l_list_box *box = bind_new_guard(L, sizeof *box, &list_box_key, l_list_box_gc); /* guard */
	if (kip_informer_list(u->inf, ns, &box->objs, &box->n) != 0)
		return luaL_error(L, "out of memory");
	struct kip_err err;
	if (bind_json_push(L, "[]", 2, &err) != 0) /* guard, list: marked as an array, so [] when empty */
		return luaL_error(L, "kip.informer: %s", err.msg);
	for (size_t i = 0; i < box->n; i++) {
		l_informer_push_obj(L, box->objs[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/** inf:synced() -> whether the first list completed */
static int l_informer_synced(lua_State *L)
{
	lua_pushboolean(L, kip_informer_synced(check_informer(L, 1)->inf));
	return 1;
}

/** inf:resource_version() -> the last resourceVersion seen, or nil before the first list */
static int l_informer_resource_version(lua_State *L)
{
	char rv[128];
	kip_informer_resource_version(check_informer(L, 1)->inf, rv, sizeof rv);
	if (*rv)
		lua_pushstring(L, rv);
	else
		lua_pushnil(L);
	return 1;
}

/** inf:stats() -> {lists, pages, relists, watches, reconnects, events, bookmarks, errors, last_error,
 * pending, running} */
static int l_informer_stats(lua_State *L)
{
	struct l_informer *u = check_informer(L, 1);
	struct kip_informer_stats st;
	kip_informer_stats(u->inf, &st);
	lua_createtable(L, 0, 10);
	static const char *const names[] = {"lists", "pages", "relists", "watches", "reconnects", "events", "bookmarks",
	                                    "errors"};
	const unsigned long values[] = {st.lists, st.pages, st.relists, st.watches, st.reconnects, st.events,
	                                st.bookmarks, st.errors};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		lua_pushinteger(L, (lua_Integer)values[i]);
		lua_setfield(L, -2, names[i]);
	}
	if (st.last_error[0]) {
		lua_pushstring(L, st.last_error);
		lua_setfield(L, -2, "last_error");
	}
	lua_pushinteger(L, (lua_Integer)kip_informer_pending(u->inf));
	lua_setfield(L, -2, "pending");
	lua_pushboolean(L, kip_informer_running(u->inf));
	lua_setfield(L, -2, "running");
	return 1;
}

static const luaL_Reg informer_methods[] = {
	{"start", l_informer_start},
	{"stop", l_informer_stop},
	{"close", l_informer_close},
	{"poll", l_informer_poll},
	{"on", l_informer_on},
	{"get", l_informer_get},
	{"list", l_informer_list},
	{"synced", l_informer_synced},
	{"resource_version", l_informer_resource_version},
	{"stats", l_informer_stats},
	{NULL, NULL},
};

static const luaL_Reg informer_meta[] = {
	{"__gc", l_informer_gc},
	{"__close", l_informer_close},
	{"__tostring", l_informer_tostring},
	{NULL, NULL},
};

/* --- Queue --------------------------------------------------------------------------------------- */

static struct l_queue *check_queue(lua_State *L, int idx) /* may raise */
{
	struct l_queue *u = luaL_checkudata(L, idx, QUEUE_MT);
	if (u->closed || !u->q)
		luaL_error(L, "kip.informer: the queue is closed");
	return u;
}

/** informer.queue{base_delay = 0.005, max_delay = 300} -> Queue */
static int l_informer_queue(lua_State *L)
{
	bind_check_opts(L, 1);
	struct kip_workqueue_opts o = {
		.base_delay = bind_opt_number(L, 1, "base_delay", 0.005),
		.max_delay = bind_opt_number(L, 1, "max_delay", 300),
	};
	luaL_argcheck(L, o.base_delay > 0 && o.max_delay > 0, 1, "delays must be positive numbers of seconds");
	struct l_queue *u = lua_newuserdatauv(L, sizeof *u, 0);
	memset(u, 0, sizeof *u);
	luaL_setmetatable(L, QUEUE_MT);
	struct kip_err err;
	if (kip_workqueue_new(&o, &u->q, &err) != 0)
		return luaL_error(L, "kip.informer: %s", err.msg);
	return 1;
}

static void l_queue_nomem(lua_State *L, int rc) /* may raise */
{
	if (rc)
		luaL_error(L, "out of memory");
}

/** q:add(key): queued once however often it is added */
static int l_queue_add(lua_State *L)
{
	struct l_queue *u = check_queue(L, 1);
	l_queue_nomem(L, kip_workqueue_add(u->q, l_informer_key(L, 2)));
	return 0;
}

/** q:add_after(key, seconds) */
static int l_queue_add_after(lua_State *L)
{
	struct l_queue *u = check_queue(L, 1);
	const char *key = l_informer_key(L, 2);
	lua_Number s = luaL_checknumber(L, 3);
	luaL_argcheck(L, s == s, 3, "not a number");
	l_queue_nomem(L, kip_workqueue_add_after(u->q, key, s));
	return 0;
}

/** q:add_rate_limited(key) -> the delay chosen, in seconds */
static int l_queue_add_rate_limited(lua_State *L)
{
	struct l_queue *u = check_queue(L, 1);
	double delay;
	l_queue_nomem(L, kip_workqueue_add_rate_limited(u->q, l_informer_key(L, 2), &delay));
	lua_pushnumber(L, delay);
	return 1;
}

/** q:forget(key): its back-off starts over */
static int l_queue_forget(lua_State *L)
{
	struct l_queue *u = check_queue(L, 1);
	kip_workqueue_forget(u->q, l_informer_key(L, 2));
	return 0;
}

/** q:failures(key) -> the failures counted since it was last forgotten */
static int l_queue_failures(lua_State *L)
{
	struct l_queue *u = check_queue(L, 1);
	lua_pushinteger(L, (lua_Integer)kip_workqueue_failures(u->q, l_informer_key(L, 2)));
	return 1;
}

/** q:get([timeout_s]) -> key | nil (timed out) | nil, "shutdown" */
static int l_queue_get(lua_State *L)
{
	struct l_queue *u = check_queue(L, 1);
	int ms = l_informer_ms(L, 2, -1);
	struct l_key_box *box = bind_new_guard(L, sizeof *box, &key_box_key, l_key_box_gc);
	u->busy++;
	struct bind_gil *gil = bind_gil_release(L);
	int rc = kip_workqueue_get(u->q, ms, &box->key);
	bind_gil_acquire(gil);
	if (--u->busy == 0 && u->closed && u->q) {
		kip_workqueue_free(u->q);
		u->q = NULL;
	}
	switch (rc) {
	case KIP_WORKQUEUE_KEY:
		lua_pushstring(L, box->key);
		return 1;
	case KIP_WORKQUEUE_TIMEOUT:
		lua_pushnil(L);
		return 1;
	case KIP_WORKQUEUE_SHUTDOWN:
		lua_pushnil(L);
		lua_pushliteral(L, "shutdown");
		return 2;
	default:
		return luaL_error(L, "out of memory");
	}
}

/** q:done(key): processed; queued again if it was added meanwhile */
static int l_queue_done(lua_State *L)
{
	struct l_queue *u = check_queue(L, 1);
	kip_workqueue_done(u->q, l_informer_key(L, 2));
	return 0;
}

/** q:len() -> keys ready to be taken */
static int l_queue_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)kip_workqueue_len(check_queue(L, 1)->q));
	return 1;
}

/** q:shutdown(): adds are ignored; getters get what is queued, then nil, "shutdown" */
static int l_queue_shutdown(lua_State *L)
{
	kip_workqueue_shutdown(check_queue(L, 1)->q);
	return 0;
}

/** q:shutting_down() -> whether shutdown was called */
static int l_queue_shutting_down(lua_State *L)
{
	lua_pushboolean(L, kip_workqueue_shutting_down(check_queue(L, 1)->q));
	return 1;
}

/** q:close() and __close: shuts it down; methods raise afterwards */
static int l_queue_close(lua_State *L)
{
	struct l_queue *u = luaL_checkudata(L, 1, QUEUE_MT);
	if (u->closed || !u->q)
		return 0;
	u->closed = true;
	kip_workqueue_shutdown(u->q); /* wakes getters on other threads; the last one frees it */
	if (u->busy == 0) {
		kip_workqueue_free(u->q);
		u->q = NULL;
	}
	return 0;
}

static int l_queue_gc(lua_State *L)
{
	struct l_queue *u = luaL_checkudata(L, 1, QUEUE_MT);
	kip_workqueue_free(u->q);
	u->q = NULL;
	u->closed = true;
	return 0;
}

static int l_queue_tostring(lua_State *L)
{
	struct l_queue *u = luaL_checkudata(L, 1, QUEUE_MT);
	if (!u->q || u->closed)
		lua_pushliteral(L, "kip.informer.Queue (closed)");
	else
		lua_pushfstring(L, "kip.informer.Queue (%d ready)", (int)kip_workqueue_len(u->q));
	return 1;
}

static const luaL_Reg queue_methods[] = {
	{"add", l_queue_add},
	{"add_after", l_queue_add_after},
	{"add_rate_limited", l_queue_add_rate_limited},
	{"forget", l_queue_forget},
	{"failures", l_queue_failures},
	{"get", l_queue_get},
	{"done", l_queue_done},
	{"len", l_queue_len},
	{"shutdown", l_queue_shutdown},
	{"shutting_down", l_queue_shutting_down},
	{"close", l_queue_close},
	{NULL, NULL},
};

static const luaL_Reg queue_meta[] = {
	{"__gc", l_queue_gc},
	{"__close", l_queue_close},
	{"__tostring", l_queue_tostring},
	{NULL, NULL},
};

static const luaL_Reg informer_functions[] = {
	{"new", l_informer_new},
	{"queue", l_informer_queue},
	{NULL, NULL},
};

int luaopen_kip_informer(lua_State *L)
{
	bind_new_class(L, INFORMER_MT, informer_meta, informer_methods);
	bind_new_class(L, QUEUE_MT, queue_meta, queue_methods);
	luaL_newlib(L, informer_functions);
	return 1;
}
