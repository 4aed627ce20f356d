/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.proc"`: proc.run (run a local command, no shell unless asked, capture its output),
 * proc.spawn (start one in the background: a kip.proc.Process to poll, wait for and signal) and
 * proc.which, a thin binding over kip/proc.h and bind.h. Misuse raises; a command that could not
 * start, timed out or overflowed returns `nil, msg, code`. proc.run blocks the calling thread
 * until the command ends: for scripts and the CLI, never on the gateway or k8s loops.
 * Process:wait blocks too, with the host lock released; spawn, alive and kill do not block. */
#define _GNU_SOURCE /* environ */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bind.h"
#include "kip/proc.h"

#define L_PROC_PROCESS "kip.proc.Process"

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
static const char **l_proc_newarray(lua_State *L, const char *fn, size_t n) /* may raise */
{
	if (n > (SIZE_MAX / sizeof(char *)) - 1)
		luaL_error(L, "%s: too many strings", fn);
	const char **v = lua_newuserdatauv(L, (n + 1) * sizeof *v, 0);
	v[n] = NULL;
	return v;
}

/* The string at the top of the stack, which must not contain NUL bytes (exec cannot pass them). */
static const char *l_proc_cstring(lua_State *L, const char *fn, const char *what) /* may raise */
{
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	if (strlen(s) != len)
		luaL_error(L, "%s: %s contains a NUL byte", fn, what);
	return s;
}

/* Pushes the NULL-terminated argv for argument 1 (anchored by argument 1 or by the userdata's
 * owner below it) and returns it. */
static const char *const *l_proc_argv(lua_State *L, const char *fn, bool shell) /* may raise */
{
	if (shell) {
		if (lua_type(L, 1) != LUA_TSTRING)
			luaL_error(L, "%s: with shell = true, argv must be a single string", fn);
		const char **v = l_proc_newarray(L, fn, 3);
		v[0] = "/bin/sh";
		v[1] = "-c";
		lua_pushvalue(L, 1);
		v[2] = l_proc_cstring(L, fn, "the command");
		lua_pop(L, 1); /* anchored as argument 1 */
		return v;
	}
	if (lua_type(L, 1) != LUA_TTABLE)
		luaL_error(L, "%s: argv must be an array of strings; pass shell = true to run a string "
		           "through /bin/sh", fn);
	size_t n = lua_rawlen(L, 1);
	if (n == 0)
		luaL_error(L, "%s: argv is empty", fn);
	const char **v = l_proc_newarray(L, fn, n);
	for (size_t i = 0; i < n; i++) {
		if (lua_rawgeti(L, 1, (lua_Integer)i + 1) != LUA_TSTRING)
			luaL_error(L, "%s: argv[%d] must be a string, got %s", fn, (int)i + 1,
			           luaL_typename(L, -1));
		v[i] = l_proc_cstring(L, fn, "an argv string");
		lua_pop(L, 1); /* anchored in the argv table, which we never modify */
	}
	if (!v[0][0])
		luaL_error(L, "%s: argv[1] is an empty string", fn);
	return v;
}

/* Checks opts.env (name -> string, or false to remove) at the top of the stack. */
static void l_proc_check_env(lua_State *L, const char *fn) /* may raise */
{
	int env = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, env)) { /* env, key, value */
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "%s: env keys must be strings, got %s", fn, luaL_typename(L, -2));
		const char *name = lua_tostring(L, -2);
		if (!*name || strchr(name, '=') || strlen(name) != lua_rawlen(L, -2))
			luaL_error(L, "%s: bad environment variable name '%s'", fn, name);
		int t = lua_type(L, -1);
		if (!(t == LUA_TSTRING || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))))
			luaL_error(L, "%s: env.%s must be a string or false, got %s", fn, name,
			           luaL_typename(L, -1));
		if (t == LUA_TSTRING)
			l_proc_cstring(L, fn, "an env value");
		lua_pop(L, 1);
	}
}

/* Builds the child's environment from opts (idx) when it sets env or clear_env; pushes an anchor
 * table and the pointer array and returns the array, or returns NULL (pushing nothing) to
 * inherit environ unchanged. */
static const char *const *l_proc_envp(lua_State *L, const char *fn, int opts) /* may raise */
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
	l_proc_check_env(L, fn);
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
	const char **v = l_proc_newarray(L, fn, n); /* env, anchor, array */
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
	o.argv = l_proc_argv(L, "kip.proc.run", shell);
	o.envp = l_proc_envp(L, "kip.proc.run", 2);
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

/* A kip.proc.Process: the C state lives inside the userdata. There is no closed state: __close
 * only reaps, so every method keeps working afterwards. */
struct l_proc_process {
	struct kip_child c;
};

static struct kip_child *check_process(lua_State *L, int idx) /* may raise */
{
	return &((struct l_proc_process *)luaL_checkudata(L, idx, L_PROC_PROCESS))->c;
}

/* Rejects the proc.run options that mean nothing for a background process. */
static void l_proc_spawn_reject(lua_State *L, int opts, const char *field, const char *why) /* may raise */
{
	if (lua_type(L, opts) != LUA_TTABLE)
		return;
	int t = lua_getfield(L, opts, field);
	lua_pop(L, 1);
	if (t != LUA_TNIL)
		luaL_error(L, "kip.proc.spawn: option '%s' is not supported (%s)", field, why);
}

/* The path option field of opts, or NULL. */
static const char *l_proc_path_opt(lua_State *L, int opts, const char *field) /* may raise */
{
	size_t len;
	const char *s = bind_opt_string(L, opts, field, &len, NULL);
	if (s && (len == 0 || strlen(s) != len))
		luaL_error(L, "kip.proc.spawn: option '%s' must be a non-empty path without NUL bytes", field);
	return s;
}

/* proc.spawn(argv [, opts]) -> Process | nil, msg, code */
static int l_proc_spawn(lua_State *L)
{
	bind_check_opts(L, 2);
	lua_settop(L, 2);
	struct kip_spawn_opts o = {0};
	l_proc_spawn_reject(L, 2, "stdin", "stdin is /dev/null");
	l_proc_spawn_reject(L, 2, "timeout", "use Process:wait(timeout) and Process:kill()");
	l_proc_spawn_reject(L, 2, "max_output", "output goes to files");
	bool shell = bind_opt_boolean(L, 2, "shell", false);
	o.argv = l_proc_argv(L, "kip.proc.spawn", shell);
	o.envp = l_proc_envp(L, "kip.proc.spawn", 2);
	size_t cwd_len;
	o.cwd = bind_opt_string(L, 2, "cwd", &cwd_len, NULL);
	if (o.cwd && strlen(o.cwd) != cwd_len)
		luaL_error(L, "kip.proc.spawn: option 'cwd' contains a NUL byte");
	o.stdout_path = l_proc_path_opt(L, 2, "stdout");
	o.stderr_path = l_proc_path_opt(L, 2, "stderr");
	if (o.stderr_path && strcmp(o.stderr_path, "stdout") == 0) {
		o.stderr_to_stdout = true;
		o.stderr_path = NULL;
	}
	o.die_with_parent = bind_opt_boolean(L, 2, "die_with_parent", true);
	o.new_group = bind_opt_boolean(L, 2, "new_group", true);

	/* The userdata exists before the child does, so nothing after the spawn can raise. */
	struct l_proc_process *u = lua_newuserdatauv(L, sizeof *u, 0);
	memset(u, 0, sizeof *u);
	u->c.pid = -1;
	u->c.pidfd = -1;
	luaL_setmetatable(L, L_PROC_PROCESS);
	struct kip_err err = {0};
	if (kip_spawn(&o, &u->c, &err) != 0)
		return bind_push_err(L, &err);
	return 1;
}

/** p:pid() -> integer */
static int l_process_pid(lua_State *L)
{
	lua_pushinteger(L, check_process(L, 1)->pid);
	return 1;
}

/** p:alive() -> boolean; reaps the process once it has exited */
static int l_process_alive(lua_State *L)
{
	lua_pushboolean(L, kip_spawn_alive(check_process(L, 1)));
	return 1;
}

/* Pushes {status | signal, ok} for a reaped process (neither status nor signal when it was lost). */
static int l_process_push_status(lua_State *L, const struct kip_child *c) /* may raise */
{
	lua_createtable(L, 0, 2);
	if (c->term_signal) {
		lua_pushinteger(L, c->term_signal);
		lua_setfield(L, -2, "signal");
	} else if (!c->lost) {
		lua_pushinteger(L, c->exit_status);
		lua_setfield(L, -2, "status");
	}
	lua_pushboolean(L, !c->lost && c->term_signal == 0 && c->exit_status == 0);
	lua_setfield(L, -2, "ok");
	return 1;
}

/** p:wait([timeout]) -> {status, signal, ok} | nil, msg, "timeout" */
static int l_process_wait(lua_State *L)
{
	struct kip_child *c = check_process(L, 1);
	int timeout_ms = -1;
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TNUMBER); /* not "1": proc.run's timeout is strict too */
		lua_Number t = lua_tonumber(L, 2);
		if (!(t >= 0))
			luaL_argerror(L, 2, "timeout must be a non-negative number of seconds");
		double ms = ceil(t * 1000.0);
		timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
	}
	if (!kip_spawn_alive(c))
		return l_process_push_status(L, c);
	/* Block on a copy, with the host lock released: another thread may use c meanwhile. The copy
	 * stays valid: the pid is not reaped and the pidfd not closed except under the lock, by
	 * alive/wait/kill (reaping only) and __gc (which cannot run while we hold p). */
	struct kip_child snap = *c;
	struct kip_err err = {0};
	struct bind_gil *gil = bind_gil_release(L);
	int rc = kip_spawn_block(&snap, timeout_ms, &err);
	bind_gil_acquire(gil);
	if (!kip_spawn_alive(c))
		return l_process_push_status(L, c);
	if (rc == 0) /* not expected: block only returns 0 once the process is reapable */
		kip_err_set(&err, KIP_ETIMEOUT, "'%s' (pid %d) timed out", c->name, (int)c->pid);
	return bind_push_err(L, &err);
}

static const struct {
	const char *name;
	int sig;
} l_proc_signals[] = {
	{"TERM", SIGTERM}, {"INT", SIGINT}, {"KILL", SIGKILL}, {"HUP", SIGHUP},
	{"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
};

/** p:kill([signal]) -> true | nil, msg, "notfound" once it has exited */
static int l_process_kill(lua_State *L)
{
	struct kip_child *c = check_process(L, 1);
	int sig = SIGTERM;
	if (lua_type(L, 2) == LUA_TNUMBER) {
		lua_Integer n = luaL_checkinteger(L, 2);
		if (n < 1 || n >= NSIG)
			luaL_argerror(L, 2, "not a signal number");
		sig = (int)n;
	} else if (!lua_isnoneornil(L, 2)) {
		const char *name = luaL_checkstring(L, 2);
		if (strncmp(name, "SIG", 3) == 0)
			name += 3;
		size_t i = 0, n = sizeof l_proc_signals / sizeof l_proc_signals[0];
		while (i < n && strcmp(name, l_proc_signals[i].name) != 0)
			i++;
		if (i == n)
			luaL_argerror(L, 2, lua_pushfstring(L, "unknown signal '%s' (TERM, INT, KILL, HUP, QUIT, "
			                                       "USR1, USR2 or a number)", name));
		sig = l_proc_signals[i].sig;
	}
	struct kip_err err = {0};
	if (kip_spawn_kill(c, sig, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/* __close reaps an exited process; __gc also closes its pidfd. Neither ever signals it. */
static int l_process_close(lua_State *L)
{
	kip_spawn_alive(check_process(L, 1));
	return 0;
}

static int l_process_gc(lua_State *L)
{
	kip_spawn_release(check_process(L, 1));
	return 0;
}

static int l_process_tostring(lua_State *L)
{
	const struct kip_child *c = check_process(L, 1);
	if (!c->reaped)
		lua_pushfstring(L, L_PROC_PROCESS ": '%s' (pid %d)", c->name, (int)c->pid);
	else if (c->term_signal)
		lua_pushfstring(L, L_PROC_PROCESS ": '%s' (pid %d, killed by signal %d)", c->name,
		                (int)c->pid, c->term_signal);
	else if (c->lost)
		lua_pushfstring(L, L_PROC_PROCESS ": '%s' (pid %d, exited)", c->name, (int)c->pid);
	else
		lua_pushfstring(L, L_PROC_PROCESS ": '%s' (pid %d, exited with status %d)", c->name,
		                (int)c->pid, c->exit_status);
	return 1;
}

static const luaL_Reg l_process_meta[] = {
	{"__gc", l_process_gc},
	{"__close", l_process_close},
	{"__tostring", l_process_tostring},
	{NULL, NULL},
};

static const luaL_Reg l_process_methods[] = {
	{"pid", l_process_pid},
	{"alive", l_process_alive},
	{"wait", l_process_wait},
	{"kill", l_process_kill},
	{NULL, NULL},
};

static const luaL_Reg l_proc_funcs[] = {
	{"run", l_proc_run},
	{"spawn", l_proc_spawn},
	{"which", l_proc_which},
	{NULL, NULL},
};

int luaopen_kip_proc(lua_State *L)
{
	bind_new_class(L, L_PROC_PROCESS, l_process_meta, l_process_methods);
	luaL_newlib(L, l_proc_funcs);
	return 1;
}
