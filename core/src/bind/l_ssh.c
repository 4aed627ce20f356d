/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.ssh"`: ssh.connect, ssh.fingerprint, ssh.load_key_info and the kip.ssh.Session
 * and kip.ssh.Channel userdata, a thin binding over kip/ssh.h and bind.h. Misuse raises; network,
 * host key and authentication failures return `nil, msg, code[, details]`. Every call blocks the
 * calling thread with the host lock released (bind_gil_*): for the CLI, scripts and kip.server
 * handlers, never the gateway or k8s event loops. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "kip/ssh.h"

#define L_SSH_SESSION "kip.ssh.Session"
#define L_SSH_CHANNEL "kip.ssh.Channel"

/* Lua-owned. The C session (and its channels) is used only with mu held and the host lock
 * released, so kip.server threads sharing a session take turns. No thread holds mu while it holds
 * the host lock. */
struct l_ssh_session {
	struct kip_ssh_session *s; /* NULL once closed; read and written with mu held */
	pthread_mutex_t mu;        /* never destroyed: a default Linux mutex owns no resources, and a
	                            * channel's __gc may still lock it after the session's __gc ran */
	char desc[512];            /* for __tostring: "user@host:port (type fingerprint)" */
};

struct l_ssh_channel {
	struct kip_ssh_channel *c; /* NULL once closed; used with sess->mu held */
	struct l_ssh_session *sess; /* kept alive by user value 1 */
	bool exit_reported;        /* read returned "exit": later reads return nil */
	char what[96];             /* the command, shortened, for __tostring */
};

/* Internal guard (bind_new_guard) for an exec result that a raise while pushing must not leak. */
struct l_ssh_result_box {
	struct kip_ssh_result res;
};
static const char l_ssh_result_key; /* registry slot of the result guard metatable */

static int l_ssh_result_gc(lua_State *L)
{
	struct l_ssh_result_box *box = lua_touserdata(L, 1);
	kip_ssh_result_free(&box->res);
	return 0;
}

/* The same for a malloc'd buffer (a downloaded file, a chunk copied out of a channel). */
struct l_ssh_data_box {
	char *data;
};
static const char l_ssh_data_key; /* registry slot of the buffer guard metatable */

static int l_ssh_data_gc(lua_State *L)
{
	struct l_ssh_data_box *box = lua_touserdata(L, 1);
	free(box->data);
	box->data = NULL;
	return 0;
}

/* opts[field] as a string without NUL bytes, left on the stack so it stays alive while the host
 * lock is released (another thread could change the table meanwhile); NULL (and nothing pushed
 * but a nil) when absent. */
static const char *l_ssh_opt_cstring(lua_State *L, int idx, const char *field) /* may raise */
{
	if (lua_type(L, idx) != LUA_TTABLE) {
		lua_pushnil(L);
		return NULL;
	}
	int t = lua_getfield(L, idx, field);
	if (t == LUA_TNIL)
		return NULL;
	if (t != LUA_TSTRING)
		luaL_error(L, "kip.ssh: option '%s' must be a string, got %s", field, luaL_typename(L, -1));
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	if (strlen(s) != len)
		luaL_error(L, "kip.ssh: option '%s' contains a NUL byte", field);
	return s;
}

/* Seconds (fractions allowed) as milliseconds; def when absent. */
static unsigned l_ssh_opt_ms(lua_State *L, int idx, const char *field, double def) /* may raise */
{
	lua_Number secs = bind_opt_number(L, idx, field, def);
	if (!(secs >= 0))
		luaL_error(L, "kip.ssh: option '%s' must be a non-negative number of seconds", field);
	double ms = ceil(secs * 1000.0);
	return ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
}

static size_t l_ssh_opt_size(lua_State *L, int idx, const char *field) /* may raise */
{
	lua_Integer n = bind_opt_integer(L, idx, field, 0);
	if (n < 0)
		luaL_error(L, "kip.ssh: option '%s' must be a non-negative number of bytes", field);
	return (size_t)n;
}

/* opts.mode: permission bits as an integer (420 for 0644; Lua has no octal literals) or an octal
 * string ("0644"). */
static unsigned l_ssh_opt_mode(lua_State *L, int idx, unsigned def) /* may raise */
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return def;
	lua_Integer mode = def;
	int t = lua_getfield(L, idx, "mode");
	if (t == LUA_TSTRING) {
		const char *s = lua_tostring(L, -1);
		char *end;
		mode = *s ? (lua_Integer)strtol(s, &end, 8) : -1;
		if (!*s || *end)
			luaL_error(L, "kip.ssh: option 'mode' must be octal digits like \"0644\", got \"%s\"", s);
	} else if (t != LUA_TNIL) {
		int ok;
		mode = lua_tointegerx(L, -1, &ok);
		if (!ok)
			luaL_error(L, "kip.ssh: option 'mode' must be an integer or an octal string, got %s",
			           luaL_typename(L, -1));
	}
	lua_pop(L, 1);
	if (mode < 0 || mode > 07777)
		luaL_error(L, "kip.ssh: option 'mode' must be between 0 and 07777 (4095), got %I "
		           "(Lua has no octal literals: use 420 or \"0644\" for 0644)", mode);
	return (unsigned)mode;
}

/* A string argument without NUL bytes. */
static const char *l_ssh_check_cstring(lua_State *L, int idx, const char *what) /* may raise */
{
	size_t len;
	const char *s = luaL_checklstring(L, idx, &len);
	if (strlen(s) != len)
		luaL_argerror(L, idx, lua_pushfstring(L, "%s contains a NUL byte", what));
	if (len == 0)
		luaL_argerror(L, idx, lua_pushfstring(L, "%s is empty", what));
	return s;
}

/* Pushes the details table of a connect failure, or nothing; returns the number pushed. */
static int l_ssh_push_details(lua_State *L, int code, const struct kip_ssh_details *d)
{
	if (code == KIP_EHOSTKEY_UNKNOWN || code == KIP_EHOSTKEY_CHANGED) {
		lua_createtable(L, 0, 4);
		lua_pushstring(L, d->fingerprint);
		lua_setfield(L, -2, "fingerprint");
		lua_pushstring(L, d->key_type);
		lua_setfield(L, -2, "key_type");
		if (code == KIP_EHOSTKEY_CHANGED) {
			lua_pushstring(L, d->known_hosts);
			lua_setfield(L, -2, "known_hosts");
			if (d->known_hosts_line > 0) {
				lua_pushinteger(L, d->known_hosts_line);
				lua_setfield(L, -2, "line");
			}
		}
		return 1;
	}
	if (code == KIP_EAUTH) {
		lua_createtable(L, 0, 1);
		lua_newtable(L);
		lua_Integer n = 0;
		for (const char *p = d->allowed; *p;) {
			size_t l = strcspn(p, ",");
			if (!(l == 4 && memcmp(p, "none", 4) == 0)) {
				lua_pushlstring(L, p, l);
				lua_rawseti(L, -2, ++n);
			}
			p += l + (p[l] == ',');
		}
		lua_setfield(L, -2, "allowed");
		return 1;
	}
	return 0;
}

/* ssh.connect(opts) -> session | nil, msg, code[, details] */
static int l_ssh_connect(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	luaL_checkstack(L, 16, NULL); /* the anchored option strings, the result and its details */
	struct kip_ssh_opts o = {0};
	o.host = l_ssh_opt_cstring(L, 1, "host");
	if (!o.host || !*o.host)
		return luaL_error(L, "kip.ssh: connect needs a host");
	o.known_hosts = l_ssh_opt_cstring(L, 1, "known_hosts");
	if (!o.known_hosts || !*o.known_hosts)
		return luaL_error(L, "kip.ssh: connect needs known_hosts (the path of an OpenSSH "
		                  "known_hosts file; it need not exist)");
	lua_Integer port = bind_opt_integer(L, 1, "port", 22);
	if (port < 1 || port > 65535)
		return luaL_error(L, "kip.ssh: option 'port' must be between 1 and 65535, got %I", port);
	o.port = (unsigned)port;
	o.user = l_ssh_opt_cstring(L, 1, "user");
	o.key_file = l_ssh_opt_cstring(L, 1, "key_file");
	o.key_passphrase = l_ssh_opt_cstring(L, 1, "key_passphrase");
	o.agent = bind_opt_boolean(L, 1, "agent", true);
	o.agent_socket = l_ssh_opt_cstring(L, 1, "agent_socket");
	if (!o.agent_socket && o.agent && getenv("SSH_AUTH_SOCK")) {
		/* read here, under the host lock, and anchored: the environment may change meanwhile */
		o.agent_socket = lua_pushstring(L, getenv("SSH_AUTH_SOCK"));
	}
	o.accept_unknown_host_key = bind_opt_boolean(L, 1, "accept_unknown_host_key", false);
	o.accept_fingerprint = l_ssh_opt_cstring(L, 1, "accept_fingerprint");
	o.connect_timeout_ms = l_ssh_opt_ms(L, 1, "connect_timeout", 10);
	o.io_timeout_ms = l_ssh_opt_ms(L, 1, "io_timeout", 60);
	o.keepalive_ms = l_ssh_opt_ms(L, 1, "keepalive", 30);
	if (o.connect_timeout_ms == 0 || o.io_timeout_ms == 0)
		return luaL_error(L, "kip.ssh: connect_timeout and io_timeout must be more than 0");

	struct l_ssh_session *ss = lua_newuserdatauv(L, sizeof *ss, 0);
	ss->s = NULL;
	ss->desc[0] = '\0';
	pthread_mutex_init(&ss->mu, NULL);
	luaL_setmetatable(L, L_SSH_SESSION);
	struct kip_err err = {0};
	struct kip_ssh_details d;
	struct kip_ssh_session *s = NULL;
	struct bind_gil *gil = bind_gil_release(L); /* nothing else can see ss yet: no lock */
	int rc = kip_ssh_connect(&o, &s, &d, &err);
	bind_gil_acquire(gil);
	if (rc != 0) {
		bind_push_err(L, &err);
		return 3 + l_ssh_push_details(L, rc, &d);
	}
	ss->s = s;
	snprintf(ss->desc, sizeof ss->desc, "%s (%s %s)", kip_ssh_session_desc(s),
	         kip_ssh_session_key_type(s), kip_ssh_session_fingerprint(s));
	return 1;
}

/* The open session at 1, locked (host lock released); raises when closed. */
static struct l_ssh_session *l_ssh_check_session(lua_State *L)
{
	return luaL_checkudata(L, 1, L_SSH_SESSION);
}

static int l_ssh_closed(lua_State *L, struct l_ssh_session *ss, struct bind_gil *gil)
{
	bind_unblock(&ss->mu, gil);
	return luaL_error(L, "kip.ssh: the session is closed");
}

/* Pushes {status, signal, ok, stdout, stderr}. */
static void l_ssh_push_result(lua_State *L, const struct kip_ssh_result *r) /* may raise */
{
	lua_createtable(L, 0, 5);
	if (r->signal[0]) {
		lua_pushstring(L, r->signal);
		lua_setfield(L, -2, "signal");
	} else if (r->status >= 0) {
		lua_pushinteger(L, r->status);
		lua_setfield(L, -2, "status");
	}
	lua_pushboolean(L, !r->signal[0] && r->status == 0);
	lua_setfield(L, -2, "ok");
	lua_pushlstring(L, r->out ? r->out : "", r->out_len);
	lua_setfield(L, -2, "stdout");
	lua_pushlstring(L, r->err ? r->err : "", r->err_len);
	lua_setfield(L, -2, "stderr");
}

/* session:exec(command[, {stdin, timeout, max_output}]) -> result | nil, msg, code[, partial] */
static int l_ssh_exec(lua_State *L)
{
	struct l_ssh_session *ss = l_ssh_check_session(L);
	const char *command = l_ssh_check_cstring(L, 2, "command");
	bind_check_opts(L, 3);
	lua_settop(L, 3);
	struct kip_ssh_exec_opts o = {0};
	if (lua_istable(L, 3)) {
		int t = lua_getfield(L, 3, "stdin"); /* stays on the stack: anchored */
		if (t == LUA_TSTRING)
			o.stdin_data = lua_tolstring(L, -1, &o.stdin_len);
		else if (t != LUA_TNIL)
			return luaL_error(L, "kip.ssh: option 'stdin' must be a string, got %s", luaL_typename(L, -1));
	}
	o.timeout_ms = l_ssh_opt_ms(L, 3, "timeout", 0);
	o.max_output = l_ssh_opt_size(L, 3, "max_output");
	struct l_ssh_result_box *box = bind_new_guard(L, sizeof *box, &l_ssh_result_key, l_ssh_result_gc);
	struct kip_err err = {0};
	struct bind_gil *gil = bind_block_on(L, &ss->mu);
	if (!ss->s)
		return l_ssh_closed(L, ss, gil);
	int rc = kip_ssh_exec(ss->s, command, &o, &box->res, &err);
	bind_unblock(&ss->mu, gil);
	if (rc == 0) {
		l_ssh_push_result(L, &box->res);
		kip_ssh_result_free(&box->res);
		return 1;
	}
	bind_push_err(L, &err);
	if (rc != KIP_ETIMEOUT && rc != KIP_ENOMEM) {
		kip_ssh_result_free(&box->res);
		return 3;
	}
	l_ssh_push_result(L, &box->res); /* the output so far */
	kip_ssh_result_free(&box->res);
	return 4;
}

/* session:open(command[, {timeout}]) -> channel | nil, msg, code */
static int l_ssh_open(lua_State *L)
{
	struct l_ssh_session *ss = l_ssh_check_session(L);
	const char *command = l_ssh_check_cstring(L, 2, "command");
	bind_check_opts(L, 3);
	unsigned timeout_ms = l_ssh_opt_ms(L, 3, "timeout", 0);
	lua_settop(L, 2);
	struct l_ssh_channel *ch = lua_newuserdatauv(L, sizeof *ch, 1);
	ch->c = NULL;
	ch->sess = ss;
	ch->exit_reported = false;
	size_t n = strlen(command);
	snprintf(ch->what, sizeof ch->what, "`%.*s%s`", 80, command, n > 80 ? "..." : "");
	for (char *p = ch->what; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	luaL_setmetatable(L, L_SSH_CHANNEL); /* its __gc closes ch->c from now on */
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	struct kip_err err = {0};
	struct bind_gil *gil = bind_block_on(L, &ss->mu);
	if (!ss->s)
		return l_ssh_closed(L, ss, gil);
	int rc = kip_ssh_open(ss->s, command, timeout_ms, &ch->c, &err);
	bind_unblock(&ss->mu, gil);
	if (rc != 0)
		return bind_push_err(L, &err);
	return 1;
}

/* session:upload(path, data[, {mode = "0644", parents = false}]) -> true | nil, msg, code */
static int l_ssh_upload(lua_State *L)
{
	struct l_ssh_session *ss = l_ssh_check_session(L);
	const char *path = l_ssh_check_cstring(L, 2, "path");
	size_t len;
	const char *data = luaL_checklstring(L, 3, &len);
	bind_check_opts(L, 4);
	unsigned mode = l_ssh_opt_mode(L, 4, 0644);
	bool parents = bind_opt_boolean(L, 4, "parents", false);
	struct kip_err err = {0};
	struct bind_gil *gil = bind_block_on(L, &ss->mu);
	if (!ss->s)
		return l_ssh_closed(L, ss, gil);
	int rc = kip_ssh_upload(ss->s, path, data, len, mode, parents, &err);
	bind_unblock(&ss->mu, gil);
	if (rc != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/* session:download(path[, {max_size}]) -> data | nil, msg, code */
static int l_ssh_download(lua_State *L)
{
	struct l_ssh_session *ss = l_ssh_check_session(L);
	const char *path = l_ssh_check_cstring(L, 2, "path");
	bind_check_opts(L, 3);
	size_t max = l_ssh_opt_size(L, 3, "max_size");
	struct l_ssh_data_box *box = bind_new_guard(L, sizeof *box, &l_ssh_data_key, l_ssh_data_gc);
	struct kip_err err = {0};
	size_t len = 0;
	struct bind_gil *gil = bind_block_on(L, &ss->mu);
	if (!ss->s)
		return l_ssh_closed(L, ss, gil);
	int rc = kip_ssh_download(ss->s, path, max, &box->data, &len, &err);
	bind_unblock(&ss->mu, gil);
	if (rc != 0)
		return bind_push_err(L, &err);
	lua_pushlstring(L, box->data, len);
	free(box->data);
	box->data = NULL;
	return 1;
}

/* session:fingerprint() -> "SHA256:...", key type */
static int l_ssh_session_fingerprint(lua_State *L)
{
	struct l_ssh_session *ss = l_ssh_check_session(L);
	struct bind_gil *gil = bind_block_on(L, &ss->mu);
	if (!ss->s)
		return l_ssh_closed(L, ss, gil);
	char fp[96], type[48];
	snprintf(fp, sizeof fp, "%s", kip_ssh_session_fingerprint(ss->s));
	snprintf(type, sizeof type, "%s", kip_ssh_session_key_type(ss->s));
	bind_unblock(&ss->mu, gil);
	lua_pushstring(L, fp);
	lua_pushstring(L, type);
	return 2;
}

/* session:close(): disconnects and aborts open channels; idempotent */
static int l_ssh_session_close(lua_State *L)
{
	struct l_ssh_session *ss = l_ssh_check_session(L);
	struct bind_gil *gil = bind_block_on(L, &ss->mu);
	kip_ssh_session_free(ss->s);
	ss->s = NULL;
	bind_unblock(&ss->mu, gil);
	return 0;
}

/* __gc: the session is unreachable, so no other thread uses it; the host lock is kept. */
static int l_ssh_session_gc(lua_State *L)
{
	struct l_ssh_session *ss = lua_touserdata(L, 1);
	pthread_mutex_lock(&ss->mu);
	kip_ssh_session_free(ss->s);
	ss->s = NULL;
	pthread_mutex_unlock(&ss->mu);
	return 0;
}

static int l_ssh_session_tostring(lua_State *L)
{
	struct l_ssh_session *ss = l_ssh_check_session(L);
	bool closed = false;
	if (pthread_mutex_trylock(&ss->mu) == 0) { /* busy: in use, so not closed */
		closed = ss->s == NULL;
		pthread_mutex_unlock(&ss->mu);
	}
	lua_pushfstring(L, "%s: %s%s", L_SSH_SESSION, ss->desc[0] ? ss->desc : "not connected",
	                closed && ss->desc[0] ? " (closed)" : "");
	return 1;
}

static struct l_ssh_channel *l_ssh_check_channel(lua_State *L, int idx)
{
	struct l_ssh_channel *ch = luaL_checkudata(L, idx, L_SSH_CHANNEL);
	if (!ch->c)
		luaL_error(L, "kip.ssh: the channel is closed");
	return ch;
}

/* Locks the channel's session; raises (after unlocking) when the session was closed. */
static struct bind_gil *l_ssh_channel_lock(lua_State *L, struct l_ssh_channel *ch)
{
	struct bind_gil *gil = bind_block_on(L, &ch->sess->mu);
	if (!ch->sess->s)
		l_ssh_closed(L, ch->sess, gil);
	return gil;
}

/* channel:write(data) -> true | nil, msg, code */
static int l_ssh_channel_write(lua_State *L)
{
	struct l_ssh_channel *ch = l_ssh_check_channel(L, 1);
	size_t len;
	const char *data = luaL_checklstring(L, 2, &len);
	struct kip_err err = {0};
	struct bind_gil *gil = l_ssh_channel_lock(L, ch);
	int rc = kip_ssh_channel_write(ch->c, data, len, &err);
	bind_unblock(&ch->sess->mu, gil);
	if (rc != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/* channel:close_stdin() -> true | nil, msg, code */
static int l_ssh_channel_close_stdin(lua_State *L)
{
	struct l_ssh_channel *ch = l_ssh_check_channel(L, 1);
	struct kip_err err = {0};
	struct bind_gil *gil = l_ssh_channel_lock(L, ch);
	int rc = kip_ssh_channel_close_stdin(ch->c, &err);
	bind_unblock(&ch->sess->mu, gil);
	if (rc != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/* One step of a channel: pushes "stdout"|"stderr", data / "idle" / "exit", status, signal / nil
 * (after exit) and returns the count, or returns -1 with err filled. */
static int l_ssh_step(lua_State *L, int idx, int wait_idx, bool line, struct kip_err *err) /* may raise */
{
	struct l_ssh_channel *ch = l_ssh_check_channel(L, idx);
	int wait_ms = -1;
	if (!lua_isnoneornil(L, wait_idx)) {
		lua_Number secs = luaL_checknumber(L, wait_idx);
		if (!(secs >= 0))
			luaL_argerror(L, wait_idx, "wait must be a non-negative number of seconds");
		double ms = ceil(secs * 1000.0);
		wait_ms = ms > INT_MAX ? INT_MAX : (int)ms;
	}
	if (ch->exit_reported) {
		lua_pushnil(L);
		return 1;
	}
	/* The chunk is copied while the session is locked: once it is unlocked, another thread may
	 * read the same channel before this one has the host lock back. */
	struct l_ssh_data_box *box = bind_new_guard(L, sizeof *box, &l_ssh_data_key, l_ssh_data_gc);
	const char *data;
	size_t len = 0;
	int status = -1;
	const char *signal = NULL;
	char sig[32] = "";
	struct bind_gil *gil = l_ssh_channel_lock(L, ch);
	int rc = kip_ssh_channel_read(ch->c, wait_ms, line, &data, &len, err);
	if (rc == KIP_SSH_EXIT && kip_ssh_channel_exit(ch->c, &status, &signal))
		snprintf(sig, sizeof sig, "%s", signal ? signal : "");
	if ((rc == KIP_SSH_STDOUT || rc == KIP_SSH_STDERR) && !(box->data = malloc(len + 1)))
		rc = kip_err_set(err, KIP_ENOMEM, "kip.ssh: out of memory");
	if (box->data)
		memcpy(box->data, data, len);
	bind_unblock(&ch->sess->mu, gil);
	switch (rc) {
	case KIP_SSH_STDOUT:
	case KIP_SSH_STDERR:
		lua_pushstring(L, rc == KIP_SSH_STDOUT ? "stdout" : "stderr");
		lua_pushlstring(L, box->data, len);
		free(box->data);
		box->data = NULL;
		return 2;
	case KIP_SSH_IDLE:
		lua_pushstring(L, "idle");
		return 1;
	case KIP_SSH_EXIT:
		ch->exit_reported = true;
		lua_pushstring(L, "exit");
		if (sig[0]) {
			lua_pushnil(L);
			lua_pushstring(L, sig);
		} else {
			lua_pushinteger(L, status);
			lua_pushnil(L);
		}
		return 3;
	default:
		return -1;
	}
}

/* channel:read([wait]) -> kind, ... | nil (after "exit") | nil, msg, code */
static int l_ssh_channel_read(lua_State *L)
{
	struct kip_err err = {0};
	int n = l_ssh_step(L, 1, 2, false, &err);
	return n >= 0 ? n : bind_push_err(L, &err);
}

static int l_ssh_lines_iter(lua_State *L)
{
	struct kip_err err = {0};
	int n = l_ssh_step(L, lua_upvalueindex(1), lua_upvalueindex(2), true, &err);
	if (n < 0)
		return luaL_error(L, "%s", err.msg);
	return n;
}

/* channel:lines([wait]) -> iterator of kind, line | "idle" | "exit", status, signal */
static int l_ssh_channel_lines(lua_State *L)
{
	l_ssh_check_channel(L, 1);
	if (!lua_isnoneornil(L, 2))
		luaL_checknumber(L, 2);
	lua_settop(L, 2);
	lua_pushcclosure(L, l_ssh_lines_iter, 2);
	return 1;
}

/* channel:close(): kills the command if still running; idempotent */
static int l_ssh_channel_close(lua_State *L)
{
	struct l_ssh_channel *ch = luaL_checkudata(L, 1, L_SSH_CHANNEL);
	if (!ch->c)
		return 0;
	struct bind_gil *gil = bind_block_on(L, &ch->sess->mu);
	kip_ssh_channel_free(ch->c);
	ch->c = NULL;
	bind_unblock(&ch->sess->mu, gil);
	return 0;
}

/* __gc: keeps the host lock; may wait for another thread's call on the same session. */
static int l_ssh_channel_gc(lua_State *L)
{
	struct l_ssh_channel *ch = lua_touserdata(L, 1);
	if (ch->c) {
		pthread_mutex_lock(&ch->sess->mu);
		kip_ssh_channel_free(ch->c);
		ch->c = NULL;
		pthread_mutex_unlock(&ch->sess->mu);
	}
	return 0;
}

static int l_ssh_channel_tostring(lua_State *L)
{
	struct l_ssh_channel *ch = luaL_checkudata(L, 1, L_SSH_CHANNEL);
	lua_pushfstring(L, "%s: %s (%s)", L_SSH_CHANNEL, ch->what,
	                !ch->c ? "closed" : ch->exit_reported ? "ended" : "open");
	return 1;
}

/* ssh.fingerprint(public_key_line) -> "SHA256:...", type | nil, msg, code */
static int l_ssh_fingerprint(lua_State *L)
{
	const char *line = luaL_checkstring(L, 1);
	struct kip_ssh_key_info info;
	struct kip_err err = {0};
	if (kip_ssh_fingerprint(line, &info, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushstring(L, info.fingerprint);
	lua_pushstring(L, info.type);
	return 2;
}

/* ssh.load_key_info(path[, {passphrase}]) -> {type, fingerprint, encrypted, private} | nil, msg, code */
static int l_ssh_load_key_info(lua_State *L)
{
	const char *path = l_ssh_check_cstring(L, 1, "path");
	bind_check_opts(L, 2);
	lua_settop(L, 2);
	const char *passphrase = l_ssh_opt_cstring(L, 2, "passphrase"); /* anchored on the stack */
	struct kip_ssh_key_info info;
	struct kip_err err = {0};
	struct bind_gil *gil = bind_gil_release(L); /* decrypting a key takes a while (bcrypt KDF) */
	int rc = kip_ssh_key_info(path, passphrase, &info, &err);
	bind_gil_acquire(gil);
	if (rc != 0)
		return bind_push_err(L, &err);
	lua_createtable(L, 0, 4);
	lua_pushstring(L, info.type);
	lua_setfield(L, -2, "type");
	if (info.fingerprint[0]) {
		lua_pushstring(L, info.fingerprint);
		lua_setfield(L, -2, "fingerprint");
	}
	lua_pushboolean(L, info.encrypted);
	lua_setfield(L, -2, "encrypted");
	lua_pushboolean(L, info.is_private);
	lua_setfield(L, -2, "private");
	return 1;
}

static const luaL_Reg l_ssh_session_methods[] = {
	{"exec", l_ssh_exec},
	{"open", l_ssh_open},
	{"upload", l_ssh_upload},
	{"download", l_ssh_download},
	{"fingerprint", l_ssh_session_fingerprint},
	{"close", l_ssh_session_close},
	{NULL, NULL},
};

static const luaL_Reg l_ssh_session_meta[] = {
	{"__gc", l_ssh_session_gc},
	{"__close", l_ssh_session_close},
	{"__tostring", l_ssh_session_tostring},
	{NULL, NULL},
};

static const luaL_Reg l_ssh_channel_methods[] = {
	{"write", l_ssh_channel_write},
	{"close_stdin", l_ssh_channel_close_stdin},
	{"read", l_ssh_channel_read},
	{"lines", l_ssh_channel_lines},
	{"close", l_ssh_channel_close},
	{NULL, NULL},
};

static const luaL_Reg l_ssh_channel_meta[] = {
	{"__gc", l_ssh_channel_gc},
	{"__close", l_ssh_channel_close},
	{"__tostring", l_ssh_channel_tostring},
	{NULL, NULL},
};

static const luaL_Reg l_ssh_funcs[] = {
	{"connect", l_ssh_connect},
	{"fingerprint", l_ssh_fingerprint},
	{"load_key_info", l_ssh_load_key_info},
	{NULL, NULL},
};

int luaopen_kip_ssh(lua_State *L)
{
	bind_new_class(L, L_SSH_SESSION, l_ssh_session_meta, l_ssh_session_methods);
	bind_new_class(L, L_SSH_CHANNEL, l_ssh_channel_meta, l_ssh_channel_methods);
	luaL_newlib(L, l_ssh_funcs);
	return 1;
}
