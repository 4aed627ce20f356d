/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.host"`: what the Lua side needs to know about the process it runs in: program name,
 * executable and data directory (set by kip_host_open), kip's version and the linked libraries'
 * versions, whether a standard stream is a terminal, questions asked on the terminal, and a
 * monotonic clock for measuring durations. Uses kip/host.h, kip/tty.h and kip/version.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bind.h"
#include "kip/host.h"
#include "kip/tty.h"
#include "kip/version.h"

static void push_or_nil(lua_State *L, const char *s)
{
	if (s)
		lua_pushstring(L, s);
	else
		lua_pushnil(L);
}

/** host.program() -> "kip" | "kipperd" | ... (nil in a bare state) */
static int l_host_program(lua_State *L)
{
	push_or_nil(L, kip_host_program(L));
	return 1;
}

/** host.exe() -> absolute path of the running executable (nil in a bare state) */
static int l_host_exe(lua_State *L)
{
	push_or_nil(L, kip_host_exe_path(L));
	return 1;
}

/** host.data_dir() -> PREFIX/share/kip: lua/, providers/, gitproviders/, plugins/ (nil in a bare state) */
static int l_host_data_dir(lua_State *L)
{
	push_or_nil(L, kip_host_data_dir(L));
	return 1;
}

/** host.version() -> version, git_describe */
static int l_host_version(lua_State *L)
{
	lua_pushstring(L, kip_version());
	lua_pushstring(L, kip_git_describe());
	return 2;
}

/** host.libraries() -> array of {name=, version=} in a fixed order */
static int l_host_libraries(lua_State *L)
{
	struct kip_library_version libs[16];
	size_t n = kip_library_versions(libs, sizeof libs / sizeof libs[0]);
	if (n > sizeof libs / sizeof libs[0])
		n = sizeof libs / sizeof libs[0];
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 2);
		lua_pushstring(L, libs[i].name);
		lua_setfield(L, -2, "name");
		push_or_nil(L, libs[i].version);
		lua_setfield(L, -2, "version");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/** host.isatty("stdin"|"stdout"|"stderr") -> boolean */
static int l_host_isatty(lua_State *L)
{
	static const char *const streams[] = {"stdin", "stdout", "stderr", NULL};
	int fd = luaL_checkoption(L, 1, NULL, streams);
	lua_pushboolean(L, isatty(fd));
	return 1;
}

/** host.ask(prompt[, {secret=bool}]) -> line | nil, message, code ("notfound": no terminal,
 * "cancelled": input ended). Reads from /dev/tty, so it works while stdin is a pipe. The GIL is kept:
 * nothing else should run while the person types. */
static int l_host_ask(lua_State *L)
{
	const char *prompt = luaL_checkstring(L, 1);
	int secret = 0;
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "secret");
		secret = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	char line[4096];
	struct kip_err err = {0};
	if (kip_tty_read_line(prompt, !secret, line, sizeof line, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushstring(L, line);
	explicit_bzero(line, sizeof line);
	return 1;
}

/** host.monotonic() -> seconds (with fractions) since an arbitrary point; never goes back */
static int l_host_monotonic(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
	return 1;
}

static const luaL_Reg host_functions[] = {
	{"program", l_host_program},
	{"exe", l_host_exe},
	{"data_dir", l_host_data_dir},
	{"version", l_host_version},
	{"libraries", l_host_libraries},
	{"isatty", l_host_isatty},
	{"ask", l_host_ask},
	{"monotonic", l_host_monotonic},
	{NULL, NULL},
};

int luaopen_kip_host(lua_State *L)
{
	luaL_newlib(L, host_functions);
	return 1;
}
