/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.server"`: an HTTP(S) server whose requests are answered by a Lua function, and
 * streams for long-lived responses (watches, followed logs). civetweb's threads have small stacks
 * (Debian builds it with 100 KiB), so they hand each request to a pool of executor threads with
 * full-size stacks, which take the host lock (bind.h) and run the handler on a Lua thread of their
 * own; srv:run() is the main thread's loop (ticks, SIGINT/SIGTERM, and SIGHUP when asked) and
 * releases the lock while it waits. A WebSocket upgrade reaches the handler with req.websocket;
 * it answers {status = 101, websocket = stream, subprotocol = ...} or refuses with any other
 * response (kip/http_server.h says how the stream becomes frames). Uses kip/http_server.h and
 * pthreads. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "bind.h"
#include "kip/host.h"
#include "kip/http_server.h"

#define SERVER_MT "kip.server.Server"
#define EXECUTORS_MAX 8
#define EXECUTOR_STACK (8u << 20)
#define STREAM_MT "kip.server.Stream"

struct l_stream {
	struct kip_stream *stream; /* one reference, dropped by __gc/__close */
};

struct l_server {
	struct kip_http_server *srv;
	struct bind_gil *gil;
	lua_State *L;             /* the main state, for the registry */
	int handler_ref;          /* luaL_ref of the handler; released by close */
	int self_ref;             /* luaL_ref keeping an open server from being collected; released by close */
	int threads_ref;          /* luaL_ref of the table anchoring the worker Lua threads; released by close */
	lua_State **threads;      /* one Lua thread per executor */
	int n_threads;
	bool closing;
	bool stop_requested;
	/* requests waiting for an executor; guarded by jobs_lock, not the host lock */
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_ready;
	struct job *jobs_head, *jobs_tail;
	bool jobs_stop;
	pthread_t executors[EXECUTORS_MAX];
	int n_executors;
};

/* One request handed from a civetweb thread to an executor; lives on the civetweb thread's stack. */
struct job {
	struct job *next;
	const struct kip_http_request *req;
	struct kip_http_response *res;
	bool done;
	pthread_cond_t finished;
};

/* --- streams -------------------------------------------------------------------------------- */

static struct l_stream *check_stream(lua_State *L, int idx) /* may raise */
{
	struct l_stream *s = luaL_checkudata(L, idx, STREAM_MT);
	if (!s->stream)
		luaL_error(L, "kip.server: the stream is closed");
	return s;
}

/** server.stream([max_bytes]) -> Stream */
static int l_server_stream(lua_State *L)
{
	lua_Integer cap = luaL_optinteger(L, 1, 0);
	luaL_argcheck(L, cap >= 0, 1, "max_bytes must not be negative");
	struct l_stream *s = lua_newuserdatauv(L, sizeof *s, 0);
	s->stream = NULL;
	luaL_setmetatable(L, STREAM_MT);
	s->stream = kip_stream_new((size_t)cap);
	if (!s->stream)
		return luaL_error(L, "out of memory");
	return 1;
}

/** stream:write(data) -> true | false when the stream is closed or its reader went away */
static int l_stream_write(lua_State *L)
{
	struct l_stream *s = check_stream(L, 1);
	size_t len;
	const char *data = luaL_checklstring(L, 2, &len);
	lua_pushboolean(L, kip_stream_write(s->stream, data, len));
	return 1;
}

/** stream:is_open() -> whether writes still reach a reader */
static int l_stream_is_open(lua_State *L)
{
	struct l_stream *s = luaL_checkudata(L, 1, STREAM_MT);
	lua_pushboolean(L, s->stream && kip_stream_is_open(s->stream));
	return 1;
}

/** stream:close(): ends the response once what is queued has been sent */
static int l_stream_close(lua_State *L)
{
	struct l_stream *s = luaL_checkudata(L, 1, STREAM_MT);
	if (s->stream) {
		kip_stream_close(s->stream);
		kip_stream_unref(s->stream);
		s->stream = NULL;
	}
	return 0;
}

static int l_stream_tostring(lua_State *L)
{
	struct l_stream *s = luaL_checkudata(L, 1, STREAM_MT);
	lua_pushfstring(L, "kip.server.Stream (%s)", s->stream && kip_stream_is_open(s->stream) ? "open" : "closed");
	return 1;
}

/* --- the request handler ---------------------------------------------------------------------- */

static char *dup_lua_string(lua_State *L, int idx, size_t *len)
{
	size_t n;
	const char *s = lua_tolstring(L, idx, &n);
	char *copy = malloc(n + 1);
	if (copy) {
		memcpy(copy, s, n);
		copy[n] = '\0';
	}
	if (len)
		*len = n;
	return copy;
}

static void set_error(struct kip_http_response *res, int status, const char *message)
{
	kip_http_response_clear(res);
	res->status = status;
	res->body = strdup(message);
	res->body_len = res->body ? strlen(res->body) : 0;
	res->headers = calloc(1, sizeof *res->headers);
	if (res->headers) {
		res->headers[0].name = strdup("Content-Type");
		res->headers[0].value = strdup("text/plain; charset=utf-8");
		res->n_headers = 1;
	}
}

static void push_request(lua_State *T, const struct kip_http_request *req)
{
	lua_createtable(T, 0, 10);
	lua_pushstring(T, req->method);
	lua_setfield(T, -2, "method");
	lua_pushstring(T, req->path);
	lua_setfield(T, -2, "path");
	lua_pushstring(T, req->query);
	lua_setfield(T, -2, "query");
	lua_pushlstring(T, req->body ? req->body : "", req->body_len);
	lua_setfield(T, -2, "body");
	lua_pushstring(T, req->remote_addr);
	lua_setfield(T, -2, "remote_addr");
	lua_pushinteger(T, req->remote_port);
	lua_setfield(T, -2, "remote_port");
	if (req->client_subject) {
		lua_pushstring(T, req->client_subject);
		lua_setfield(T, -2, "client_subject");
	}
	if (req->websocket) {
		lua_pushboolean(T, 1);
		lua_setfield(T, -2, "websocket");
	}
	lua_createtable(T, 0, (int)req->n_headers);
	for (size_t i = 0; i < req->n_headers; i++) {
		/* lower-case names; repeated headers joined with ", " as HTTP allows */
		luaL_Buffer b;
		luaL_buffinit(T, &b);
		for (const char *c = req->headers[i].name; *c; c++)
			luaL_addchar(&b, (char)tolower((unsigned char)*c));
		luaL_pushresult(&b);                   /* headers, name */
		lua_pushvalue(T, -1);
		if (lua_rawget(T, -3) == LUA_TSTRING) { /* headers, name, previous */
			lua_pushfstring(T, "%s, %s", lua_tostring(T, -1), req->headers[i].value);
			lua_remove(T, -2);
		} else {
			lua_pop(T, 1);
			lua_pushstring(T, req->headers[i].value);
		}
		lua_rawset(T, -3);
	}
	lua_setfield(T, -2, "headers");
}

/* With response.websocket: the stream that feeds the accepted WebSocket and the subprotocol. */
static void take_websocket(lua_State *T, int r, const struct kip_http_request *req, struct kip_http_response *res)
{
	if (lua_getfield(T, r, "websocket") == LUA_TNIL) {
		lua_pop(T, 1);
		if (res->status == 101)
			set_error(res, 500, "kip.server: status 101 needs response.websocket (a stream) on a WebSocket upgrade\n");
		return;
	}
	struct l_stream *s = luaL_testudata(T, -1, STREAM_MT);
	lua_pop(T, 1);
	if (!req->websocket || res->status != 101 || !s || !s->stream) {
		set_error(res, 500, "kip.server: response.websocket needs status 101, an open stream and a WebSocket upgrade\n");
		return;
	}
	if (res->stream)
		kip_stream_unref(res->stream);
	kip_stream_ref(s->stream);
	res->stream = s->stream;
	if (lua_getfield(T, r, "subprotocol") == LUA_TSTRING)
		res->subprotocol = dup_lua_string(T, -1, NULL);
	lua_pop(T, 1);
}

/* Copies the response table at the top of T into res. */
static void take_response(lua_State *T, const struct kip_http_request *req, struct kip_http_response *res)
{
	int r = lua_gettop(T);
	if (!lua_istable(T, r)) {
		set_error(res, 500, "kip.server: the handler did not return a response table\n");
		return;
	}
	lua_getfield(T, r, "status");
	res->status = lua_isinteger(T, -1) ? (int)lua_tointeger(T, -1) : 200;
	lua_pop(T, 1);
	if (lua_getfield(T, r, "headers") == LUA_TTABLE) {
		size_t n = 0;
		lua_pushnil(T);
		while (lua_next(T, -2)) {
			n++;
			lua_pop(T, 1);
		}
		res->headers = calloc(n ? n : 1, sizeof *res->headers);
		lua_pushnil(T);
		while (res->headers && lua_next(T, -2)) {
			if (lua_type(T, -2) == LUA_TSTRING && (lua_type(T, -1) == LUA_TSTRING || lua_type(T, -1) == LUA_TNUMBER)) {
				res->headers[res->n_headers].name = dup_lua_string(T, -2, NULL);
				res->headers[res->n_headers].value = dup_lua_string(T, -1, NULL);
				res->n_headers++;
			}
			lua_pop(T, 1);
		}
	}
	lua_pop(T, 1);
	if (lua_getfield(T, r, "stream") != LUA_TNIL) {
		struct l_stream *s = luaL_testudata(T, -1, STREAM_MT);
		if (s && s->stream) {
			kip_stream_ref(s->stream);
			res->stream = s->stream;
		} else {
			lua_pop(T, 1);
			set_error(res, 500, "kip.server: response.stream is not an open stream\n");
			return;
		}
	}
	lua_pop(T, 1);
	lua_getfield(T, r, "stream_timeout");
	res->stream_timeout_ms = (int)(lua_tonumber(T, -1) * 1000);
	lua_pop(T, 1);
	if (lua_getfield(T, r, "body") == LUA_TSTRING)
		res->body = dup_lua_string(T, -1, &res->body_len);
	lua_pop(T, 1);
	take_websocket(T, r, req, res);
}

static int call_handler(lua_State *T)
{
	/* handler, request: run it; errors are caught by the caller's pcall */
	lua_call(T, 1, 1);
	return 1;
}

static int traceback(lua_State *T)
{
	luaL_traceback(T, T, lua_tostring(T, 1), 1);
	return 1;
}

/* Runs the handler for one request on executor thread `index`. */
static void run_handler(struct l_server *s, int index, const struct kip_http_request *req, struct kip_http_response *res)
{
	bind_gil_lock(s->gil);
	if (s->closing) {
		bind_gil_unlock(s->gil);
		set_error(res, 503, "the server is shutting down\n");
		return;
	}
	lua_State *T = s->threads[index];
	lua_settop(T, 0);
	lua_pushcfunction(T, traceback);
	lua_pushcfunction(T, call_handler);
	lua_rawgeti(T, LUA_REGISTRYINDEX, s->handler_ref);
	push_request(T, req);
	if (lua_pcall(T, 2, 1, 1) != LUA_OK) {
		const char *program = kip_host_program(T);
		fprintf(stderr, "%s: error: request handler failed: %s\n", program ? program : "kip", lua_tostring(T, -1));
		set_error(res, 500, "internal error in the request handler\n");
	} else {
		take_response(T, req, res);
	}
	lua_settop(T, 0);
	bind_gil_unlock(s->gil);
}

struct executor_arg {
	struct l_server *s;
	int index;
};

static void *executor_main(void *arg)
{
	struct executor_arg a = *(struct executor_arg *)arg;
	free(arg);
	struct l_server *s = a.s;
	pthread_mutex_lock(&s->jobs_lock);
	for (;;) {
		while (!s->jobs_head && !s->jobs_stop)
			pthread_cond_wait(&s->jobs_ready, &s->jobs_lock);
		if (!s->jobs_head)
			break; /* stopping, and nothing left to answer */
		struct job *j = s->jobs_head;
		s->jobs_head = j->next;
		if (!s->jobs_head)
			s->jobs_tail = NULL;
		pthread_mutex_unlock(&s->jobs_lock);
		run_handler(s, a.index, j->req, j->res);
		pthread_mutex_lock(&s->jobs_lock);
		j->done = true;
		pthread_cond_signal(&j->finished);
	}
	pthread_mutex_unlock(&s->jobs_lock);
	return NULL;
}

/* Called on a civetweb thread: queue the request for an executor and wait for its answer. */
static void on_request(void *ud, const struct kip_http_request *req, struct kip_http_response *res)
{
	struct l_server *s = ud;
	struct job j = {.req = req, .res = res};
	pthread_cond_init(&j.finished, NULL);
	pthread_mutex_lock(&s->jobs_lock);
	if (s->jobs_stop) {
		pthread_mutex_unlock(&s->jobs_lock);
		pthread_cond_destroy(&j.finished);
		set_error(res, 503, "the server is shutting down\n");
		return;
	}
	if (s->jobs_tail)
		s->jobs_tail->next = &j;
	else
		s->jobs_head = &j;
	s->jobs_tail = &j;
	pthread_cond_signal(&s->jobs_ready);
	while (!j.done)
		pthread_cond_wait(&j.finished, &s->jobs_lock);
	pthread_mutex_unlock(&s->jobs_lock);
	pthread_cond_destroy(&j.finished);
}

static void stop_executors(struct l_server *s)
{
	pthread_mutex_lock(&s->jobs_lock);
	s->jobs_stop = true;
	pthread_cond_broadcast(&s->jobs_ready);
	pthread_mutex_unlock(&s->jobs_lock);
	for (int i = 0; i < s->n_executors; i++)
		pthread_join(s->executors[i], NULL);
	s->n_executors = 0;
	pthread_cond_destroy(&s->jobs_ready);
	pthread_mutex_destroy(&s->jobs_lock);
}

static int start_executors(struct l_server *s, int n)
{
	pthread_mutex_init(&s->jobs_lock, NULL);
	pthread_cond_init(&s->jobs_ready, NULL);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, EXECUTOR_STACK);
	for (int i = 0; i < n; i++) {
		struct executor_arg *a = malloc(sizeof *a);
		if (!a)
			break;
		a->s = s;
		a->index = i;
		if (pthread_create(&s->executors[i], &attr, executor_main, a) != 0) {
			free(a);
			break;
		}
		s->n_executors++;
	}
	pthread_attr_destroy(&attr);
	return s->n_executors == n ? 0 : -1;
}

/* --- the server ------------------------------------------------------------------------------- */

static struct l_server *check_server(lua_State *L, int idx) /* may raise */
{
	struct l_server *s = luaL_checkudata(L, idx, SERVER_MT);
	if (!s->srv)
		luaL_error(L, "kip.server: the server is closed");
	return s;
}

static void server_close(lua_State *L, struct l_server *s)
{
	if (!s->srv)
		return;
	s->closing = true;                 /* executors that get the lock from now on do not run Lua */
	bind_gil_unlock(s->gil);           /* let running handlers finish */
	kip_http_server_stop(s->srv);      /* civetweb threads wait for their executors, which still run */
	stop_executors(s);
	bind_gil_lock(s->gil);
	s->srv = NULL;
	luaL_unref(L, LUA_REGISTRYINDEX, s->handler_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, s->threads_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, s->self_ref);
	s->handler_ref = s->threads_ref = s->self_ref = LUA_NOREF;
	free(s->threads);
	s->threads = NULL;
}

/** server.listen{listen=, handler=, cert_file=, ca_file=, require_client_cert=, threads=, max_body=}
 * -> Server | nil, message, code */
static int l_server_listen(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	struct kip_http_server_opts opts = {0};
	opts.listen = bind_opt_string(L, 1, "listen", NULL, NULL);
	luaL_argcheck(L, opts.listen != NULL, 1, "listen (\"ADDRESS:PORT\") is required");
	opts.cert_file = bind_opt_string(L, 1, "cert_file", NULL, NULL);
	opts.ca_file = bind_opt_string(L, 1, "ca_file", NULL, NULL);
	opts.require_client_cert = bind_opt_boolean(L, 1, "require_client_cert", false);
	lua_Integer threads = bind_opt_integer(L, 1, "threads", 32);
	luaL_argcheck(L, threads >= 1 && threads <= 1024, 1, "threads must be between 1 and 1024");
	opts.threads = (int)threads;
	lua_Integer max_body = bind_opt_integer(L, 1, "max_body", 0);
	luaL_argcheck(L, max_body >= 0, 1, "max_body must not be negative");
	opts.max_body = (size_t)max_body;
	if (lua_getfield(L, 1, "handler") != LUA_TFUNCTION)
		return luaL_argerror(L, 1, "handler (a function) is required");

	/* the lock first: finalizers run in reverse order of creation, so it outlives the server */
	struct bind_gil *gil = bind_gil_enable(L);
	struct l_server *s = lua_newuserdatauv(L, sizeof *s, 0);
	memset(s, 0, sizeof *s);
	s->handler_ref = s->threads_ref = s->self_ref = LUA_NOREF;
	luaL_setmetatable(L, SERVER_MT);
	s->L = L;
	s->gil = gil;
	lua_pushvalue(L, -2);
	s->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* released in server_close */
	int executors = threads < EXECUTORS_MAX ? (int)threads : EXECUTORS_MAX;
	s->threads = calloc((size_t)executors, sizeof *s->threads);
	if (!s->threads)
		return luaL_error(L, "out of memory");
	lua_createtable(L, executors, 0);
	for (int i = 0; i < executors; i++) {
		s->threads[i] = lua_newthread(L);
		lua_rawseti(L, -2, i + 1);
	}
	s->threads_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* released in server_close */
	s->n_threads = executors;

	/* SIGINT, SIGTERM and SIGHUP go to srv:run's signalfd: block them before civetweb's threads
	 * exist, so they inherit the mask (a SIGHUP is acted on by srv:run: returned with hup = true,
	 * else it ends the process as it would have). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct kip_err err = {0};
	if (start_executors(s, executors) != 0) {
		kip_err_set(&err, KIP_ENOMEM, "cannot start the server's executor threads");
		stop_executors(s);
	} else if (kip_http_server_start(&opts, on_request, s, &s->srv, &err) != KIP_OK) {
		stop_executors(s);
	}
	if (!s->srv) {
		luaL_unref(L, LUA_REGISTRYINDEX, s->handler_ref);
		luaL_unref(L, LUA_REGISTRYINDEX, s->threads_ref);
		free(s->threads);
		s->threads = NULL;
		return bind_push_err(L, &err);
	}
	/* an open server is collected only after close (a worker must never run its __gc) */
	lua_pushvalue(L, -1);
	s->self_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* released in server_close */
	return 1;
}

/** srv:port() -> the port listened on */
static int l_server_port(lua_State *L)
{
	lua_pushinteger(L, kip_http_server_port(check_server(L, 1)->srv));
	return 1;
}

/** srv:stop(): makes srv:run() return after the current tick */
static int l_server_stop(lua_State *L)
{
	check_server(L, 1)->stop_requested = true;
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A SIGHUP that srv:run was not asked to return: the default action (the process ends), as it
 * was before the server blocked the signal. */
static void hangup_default(void)
{
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	signal(SIGHUP, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &hup, NULL);
	raise(SIGHUP);
}

/** srv:run{tick = seconds, on_tick = function(now), hup = false} -> "stopped" | "SIGINT" | "SIGTERM" | "SIGHUP"
 * Serves until srv:stop() or a signal, calling on_tick every `tick` seconds. With hup = true a
 * SIGHUP returns "SIGHUP" (call run again to go on serving); without, it ends the process. */
static int l_server_run(lua_State *L)
{
	struct l_server *s = check_server(L, 1);
	bind_check_opts(L, 2);
	double tick = bind_opt_number(L, 2, "tick", 0.1);
	luaL_argcheck(L, tick > 0, 2, "tick must be positive");
	bool hup = bind_opt_boolean(L, 2, "hup", false);
	int has_tick = lua_istable(L, 2) && lua_getfield(L, 2, "on_tick") == LUA_TFUNCTION;
	int on_tick = lua_gettop(L);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		return luaL_error(L, "kip.server: signalfd: %s", strerror(errno));
	const char *why = "stopped";
	s->stop_requested = false;
	double next = now_seconds() + tick;
	while (!s->stop_requested) {
		int wait_ms = (int)((next - now_seconds()) * 1000);
		if (wait_ms < 0)
			wait_ms = 0;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		bind_gil_unlock(s->gil);
		int ready = poll(&pfd, 1, wait_ms);
		bind_gil_lock(s->gil);
		if (ready > 0) {
			struct signalfd_siginfo si;
			if (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGHUP && !hup)
					hangup_default();
				why = si.ssi_signo == SIGINT ? "SIGINT" : si.ssi_signo == SIGHUP ? "SIGHUP" : "SIGTERM";
				break;
			}
		}
		if (now_seconds() >= next) {
			next += tick;
			if (next < now_seconds())
				next = now_seconds() + tick;
			if (has_tick) {
				lua_pushvalue(L, on_tick);
				lua_pushnumber(L, now_seconds());
				if (host_pcall(L, 1, 0) != LUA_OK) {
					close(fd);
					return luaL_error(L, "kip.server: on_tick failed (see above)");
				}
			}
		}
	}
	close(fd);
	lua_pushstring(L, why);
	return 1;
}

/** srv:close(): stops listening, ends open streams, waits for the server threads */
static int l_server_close(lua_State *L)
{
	server_close(L, luaL_checkudata(L, 1, SERVER_MT));
	return 0;
}

static int l_server_tostring(lua_State *L)
{
	struct l_server *s = luaL_checkudata(L, 1, SERVER_MT);
	if (s->srv)
		lua_pushfstring(L, "kip.server.Server (port %d)", kip_http_server_port(s->srv));
	else
		lua_pushliteral(L, "kip.server.Server (closed)");
	return 1;
}

/** server.sleep(seconds): sleeps without holding the host lock (for scripts and specs) */
static int l_server_sleep(lua_State *L)
{
	double seconds = luaL_checknumber(L, 1);
	luaL_argcheck(L, seconds >= 0, 1, "must not be negative");
	struct timespec ts = {.tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
	struct bind_gil *gil = bind_gil_release(L);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	bind_gil_acquire(gil);
	return 0;
}

static const luaL_Reg server_methods[] = {
	{"port", l_server_port},
	{"run", l_server_run},
	{"stop", l_server_stop},
	{"close", l_server_close},
	{NULL, NULL},
};

static const luaL_Reg stream_methods[] = {
	{"write", l_stream_write},
	{"is_open", l_stream_is_open},
	{"close", l_stream_close},
	{NULL, NULL},
};

static const luaL_Reg server_functions[] = {
	{"listen", l_server_listen},
	{"stream", l_server_stream},
	{"sleep", l_server_sleep},
	{NULL, NULL},
};

static const luaL_Reg server_meta[] = {
	{"__gc", l_server_close},
	{"__close", l_server_close},
	{"__tostring", l_server_tostring},
	{NULL, NULL},
};

static const luaL_Reg stream_meta[] = {
	{"__gc", l_stream_close},
	{"__close", l_stream_close},
	{"__tostring", l_stream_tostring},
	{NULL, NULL},
};

int luaopen_kip_server(lua_State *L)
{
	bind_new_class(L, SERVER_MT, server_meta, server_methods);
	bind_new_class(L, STREAM_MT, stream_meta, stream_methods);
	luaL_newlib(L, server_functions);
	return 1;
}
