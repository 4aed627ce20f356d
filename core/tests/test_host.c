/* SPDX-License-Identifier: Apache-2.0
 * C tests of the Lua host: every core module is preloaded, host_pcall returns results on success
 * and on error restores the stack and reports the message with a traceback, and kip_err helpers
 * name their codes. Uses check.h and kip/host.h. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <unistd.h>

#include "bind/bind.h"
#include "check.h"
#include "kip/host.h"

static void test_every_core_module_is_preloaded(void)
{
	lua_State *L = luaL_newstate();
	kip_host_openlibs(L);
	for (const luaL_Reg *m = kip_core_modules; m->name; m++) {
		lua_getglobal(L, "require");
		lua_pushstring(L, m->name);
		CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK);
		CHECK(lua_istable(L, -1));
		lua_pop(L, 1);
	}
	lua_close(L);
}

static int returns_two(lua_State *L)
{
	lua_pushinteger(L, lua_tointeger(L, 1) + 1);
	lua_pushliteral(L, "x");
	return 2;
}

static void test_host_pcall_success_keeps_results(void)
{
	lua_State *L = luaL_newstate();
	kip_host_openlibs(L);
	lua_pushliteral(L, "below");
	lua_pushcfunction(L, returns_two);
	lua_pushinteger(L, 41);
	CHECK(host_pcall(L, 1, 2) == LUA_OK);
	CHECK(lua_gettop(L) == 3);
	CHECK(lua_tointeger(L, 2) == 42);
	CHECK_STR(lua_tostring(L, 3), "x");
	CHECK_STR(lua_tostring(L, 1), "below");
	lua_close(L);
}

static void test_host_pcall_error_restores_stack_and_reports(void)
{
	lua_State *L = luaL_newstate();
	kip_host_openlibs(L);
	/* capture stderr into a pipe to read what host_pcall reports */
	int fds[2];
	CHECK(pipe(fds) == 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fds[1], 2);
	lua_pushliteral(L, "below");
	CHECK(luaL_loadstring(L, "local function inner() error('boom') end inner()") == LUA_OK);
	lua_pushinteger(L, 1);
	int status = host_pcall(L, 1, 1);
	fflush(stderr);
	dup2(saved, 2);
	close(fds[1]);
	char buf[4096] = {0};
	ssize_t n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	CHECK(status == LUA_ERRRUN);
	CHECK(lua_gettop(L) == 1);
	CHECK_STR(lua_tostring(L, 1), "below");
	CHECK(n > 0);
	CHECK(strstr(buf, "internal error: [string") != NULL);
	CHECK(strstr(buf, "boom") != NULL);
	CHECK(strstr(buf, "stack traceback:") != NULL);
	CHECK(strstr(buf, "inner") != NULL);
	lua_close(L);
}

static void test_err_names(void)
{
	struct kip_err err = {0};
	CHECK(kip_err_set(&err, KIP_EINVAL, "bad %s", "thing") == KIP_EINVAL);
	CHECK_STR(err.msg, "bad thing");
	CHECK_STR(kip_err_name(err.code), "invalid");
	CHECK(kip_err_sys(&err, 2 /* ENOENT */, "cannot open %s", "/x") == KIP_ENOENT);
	CHECK_STR(err.msg, "cannot open /x: No such file or directory");
	CHECK_STR(kip_err_name(KIP_ETIMEOUT), "timeout");
	CHECK(kip_err_set(NULL, KIP_EIO, "ignored") == KIP_EIO);
}

int main(void)
{
	RUN(test_every_core_module_is_preloaded);
	RUN(test_host_pcall_success_keeps_results);
	RUN(test_host_pcall_error_restores_stack_and_reports);
	RUN(test_err_names);
	return check_summary();
}
