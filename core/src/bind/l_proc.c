/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.proc"`: proc.run (run a local command, no shell unless asked, capture its output)
 * and proc.which, a thin binding over kip/proc.h and bind.h. Misuse raises; a command that could
 * not start, timed out or overflowed returns `nil, msg, code`. proc.run blocks the calling thread
 * until the command ends: for scripts and the CLI, never on the gateway or k8s loops. */
#define _GNU_SOURCE /* environ */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bind.h"
#include "kip/proc.h"

#define L_PROC_ARGV_ERROR \
	"kip.proc.run: argv must be an array of strings; pass shell = true to run a string through /bin/sh"

/* C results are parked in this userdata while they are pushed, so a memory error raised by a push
 * cannot leak them: __gc frees whatever is still there. Internal, never returned to Lua. */
struct l_proc_box {
	struct kip_proc_result res;
	char *path;
};

static const char l_proc_box_key; /* registry slot holding the box metatable */

static int l_proc_box_gc(lua_State *L)
{
	struct l_proc_box *box = lua_touserdata(L, 1);
	kip_proc_result_free(&box->res);
	free(box->path);
	box->path = NULL;
	return 0;
}

/* Pushes an empty box. */
static struct l_proc_box *l_proc_newbox(lua_State *L) /* may raise */
{
	return bind_new_guard(L, sizeof(struct l_proc_box), &l_proc_box_key, l_proc_box_gc);
}

/* Pushes a userdata array of n + 1 string pointers (the last NULL) and returns it. The strings
 * must stay anchored elsewhere on the stack. */
static const char **l_proc_newarray(lua_State *L, size_t n) /* may raise */
{
	if (n > (SIZE_MAX / sizeof(char *)) - 1)
		luaL_error(L, "kip.proc.run: too many strings");
	const char **v = lua_newuserdatauv(L, (n + 1) * sizeof *v, 0);
	v[n] = NULL;
	return v;
}

/* The string at the top of the stack, which must not contain NUL bytes (exec cannot pass them). */
static const char *l_proc_cstring(lua_State *L, const char *what) /* may raise */
{
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	if (strlen(s) != len)
		luaL_error(L, "kip.proc.run: %s contains a NUL byte", what);
	return s;
}

/* Pushes the NULL-terminated argv for argument 1 (anchored by argument 1 or by the userdata's
 * owner below it) and returns it. */
static const char *const *l_proc_argv(lua_State *L, bool shell) /* may raise */
{
	if (shell) {
		if (lua_type(L, 1) != LUA_TSTRING)
			luaL_error(L, "kip.proc.run: with shell = true, argv must be a single string");
		const char **v = l_proc_newarray(L, 3);
		v[0] = "/bin/sh";
		v[1] = "-c";
		lua_pushvalue(L, 1);
		v[2] = l_proc_cstring(L, "the command");
		lua_pop(L, 1); /* anchored as argument 1 */
		return v;
	}
	if (lua_type(L, 1) != LUA_TTABLE)
		luaL_error(L, L_PROC_ARGV_ERROR);
	size_t n = lua_rawlen(L, 1);
	if (n == 0)
		luaL_error(L, "kip.proc.run: argv is empty");
	const char **v = l_proc_newarray(L, n);
	for (size_t i = 0; i < n; i++) {
		if (lua_rawgeti(L, 1, (lua_Integer)i + 1) != LUA_TSTRING)
			luaL_error(L, "kip.proc.run: argv[%d] must be a string, got %s", (int)i + 1,
			           luaL_typename(L, -1));
		v[i] = l_proc_cstring(L, "an argv string");
		lua_pop(L, 1); /* anchored in the argv table, which we never modify */
	}
	if (!v[0][0])
		luaL_error(L, "kip.proc.run: argv[1] is an empty string");
	return v;
}

/* Checks opts.env (name -> string, or false to remove) at the top of the stack. */
static void l_proc_check_env(lua_State *L) /* may raise */
{
	int env = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, env)) { /* env, key, value */
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "kip.proc.run: env keys must be strings, got %s", luaL_typename(L, -2));
		const char *name = lua_tostring(L, -2);
		if (!*name || strchr(name, '=') || strlen(name) != lua_rawlen(L, -2))
			luaL_error(L, "kip.proc.run: bad environment variable name '%s'", name);
		int t = lua_type(L, -1);
		if (!(t == LUA_TSTRING || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))))
			luaL_error(L, "kip.proc.run: env.%s must be a string or false, got %s", name,
			           luaL_typename(L, -1));
		if (t == LUA_TSTRING)
			l_proc_cstring(L, "an env value");
		lua_pop(L, 1);
	}
}

/* Builds the child's environment from opts (idx) when it sets env or clear_env; pushes an anchor
 * table and the pointer array and returns the array, or returns NULL (pushing nothing) to
 * inherit environ unchanged. */
static const char *const *l_proc_envp(lua_State *L, int opts) /* may raise */
{
	bool clear = bind_opt_boolean(L, opts, "clear_env", false);
	int t = lua_type(L, opts) == LUA_TTABLE ? lua_getfield(L, opts, "env") : LUA_TNIL;
	if (t != LUA_TNIL && t != LUA_TTABLE)
		luaL_error(L, "option 'env' must be a table, got %s", luaL_typename(L, -1));
	if (t == LUA_TNIL) {
		lua_pop(L, lua_type(L, opts) == LUA_TTABLE); /* the nil lua_getfield pushed, if it ran */
		if (!clear)
			return NULL;
		lua_newtable(L); /* an empty env table keeps the code below simple */
	}
	l_proc_check_env(L);
	int env = lua_gettop(L);
	lua_newtable(L); /* anchor for the "NAME=value" strings */
	int anchor = env + 1;
	size_t n = 0;
	char **inherited = clear ? NULL : environ;
	for (char **e = inherited; e && *e; e++)
		n++;
	lua_pushnil(L);
	while (lua_next(L, env)) {
		n++;
		lua_pop(L, 1);
	}
	const char **v = l_proc_newarray(L, n); /* env, anchor, array */
	size_t i = 0;
	for (char **e = inherited; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		lua_pushlstring(L, *e, eq ? (size_t)(eq - *e) : strlen(*e));
		int over = lua_rawget(L, env);
		lua_pop(L, 1);
		if (over != LUA_TNIL)
			continue; /* overridden or removed */
		lua_pushstring(L, *e); /* a copy: environ may change once we return */
		v[i++] = lua_tostring(L, -1);
		lua_rawseti(L, anchor, (lua_Integer)i);
	}
	lua_pushnil(L);
	while (lua_next(L, env)) { /* env, anchor, array, key, value */
		if (lua_type(L, -1) == LUA_TSTRING) {
			const char *kv = lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
			v[i++] = kv;
			lua_rawseti(L, anchor, (lua_Integer)i);
		}
		lua_pop(L, 1);
	}
	v[i] = NULL;
	return v;
}

/* Pushes {status, signal, ok, stdout, stderr} for a command that ran. */
static void l_proc_push_result(lua_State *L, const struct kip_proc_result *res) /* may raise */
{
	lua_createtable(L, 0, 5);
	if (res->term_signal) {
		lua_pushinteger(L, res->term_signal);
		lua_setfield(L, -2, "signal");
	} else {
		lua_pushinteger(L, res->exit_status);
		lua_setfield(L, -2, "status");
	}
	lua_pushboolean(L, res->term_signal == 0 && res->exit_status == 0);
	lua_setfield(L, -2, "ok");
	lua_pushlstring(L, res->out, res->out_len);
	lua_setfield(L, -2, "stdout");
	lua_pushlstring(L, res->errout, res->err_len);
	lua_setfield(L, -2, "stderr");
}

/* proc.run(argv [, opts]) -> result | nil, msg, code [, partial result] */
static int l_proc_run(lua_State *L)
{
	bind_check_opts(L, 2);
	lua_settop(L, 2);
	struct kip_proc_opts o = {0};
	bool shell = bind_opt_boolean(L, 2, "shell", false);
	o.argv = l_proc_argv(L, shell);
	o.envp = l_proc_envp(L, 2);
	size_t cwd_len;
	o.cwd = bind_opt_string(L, 2, "cwd", &cwd_len, NULL);
	if (o.cwd && strlen(o.cwd) != cwd_len)
		luaL_error(L, "kip.proc.run: option 'cwd' contains a NUL byte");
	o.stdin_data = bind_opt_string(L, 2, "stdin", &o.stdin_len, NULL);
	lua_Number timeout = bind_opt_number(L, 2, "timeout", 0);
	if (!(timeout >= 0))
		luaL_error(L, "option 'timeout' must be a non-negative number of seconds");
	double ms = ceil(timeout * 1000.0);
	o.timeout_ms = ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
	lua_Integer max_output = bind_opt_integer(L, 2, "max_output", 0);
	if (max_output < 0)
		luaL_error(L, "option 'max_output' must be a non-negative number of bytes");
	o.max_output = (size_t)max_output;

	struct l_proc_box *box = l_proc_newbox(L);
	struct kip_err err = {0};
	int rc = kip_proc_run(&o, &box->res, &err);
	if (!box->res.out) { /* it never ran */
		kip_proc_result_free(&box->res);
		return bind_push_err(L, &err);
	}
	l_proc_push_result(L, &box->res);
	kip_proc_result_free(&box->res);
	if (rc == 0)
		return 1;
	bind_push_err(L, &err);  /* result, nil, msg, code */
	lua_rotate(L, -4, -1);   /* nil, msg, code, result */
	return 4;
}

/* proc.which(name) -> absolute path | nil */
static int l_proc_which(lua_State *L)
{
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);
	if (strlen(name) != len) {
		lua_pushnil(L);
		return 1;
	}
	struct l_proc_box *box = l_proc_newbox(L);
	if (kip_proc_which(name, &box->path) != 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushstring(L, box->path);
	free(box->path);
	box->path = NULL;
	return 1;
}

static const luaL_Reg l_proc_funcs[] = {
	{"run", l_proc_run},
	{"which", l_proc_which},
	{NULL, NULL},
};

int luaopen_kip_proc(lua_State *L)
{
	luaL_newlib(L, l_proc_funcs);
	return 1;
}
