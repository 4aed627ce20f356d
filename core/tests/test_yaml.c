/* SPDX-License-Identifier: Apache-2.0
 * C tests of the kip.yaml binding through the Lua C API, as C callers (kipperd, the gateway) and
 * the fuzz target use it: values pushed, error triples, the stack left balanced. Uses check.h. */
#include <lauxlib.h>
#include <lualib.h>

#include "bind/bind.h"
#include "check.h"

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "kip.yaml", luaopen_kip_yaml, 0); /* module */
	return L;
}

/* Calls yaml.FN(text) and leaves its results; returns how many. */
static int call(lua_State *L, const char *fn, const char *text, size_t len)
{
	int top = lua_gettop(L);
	lua_getfield(L, 1, fn);
	lua_pushlstring(L, text, len);
	lua_call(L, 1, LUA_MULTRET);
	return lua_gettop(L) - top;
}

static void test_decode_types(void)
{
	lua_State *L = new_state();
	const char doc[] = "n: 42\nf: 1.5\nb: yes\nz: ~\ns: '42'\n";
	CHECK(call(L, "decode", doc, sizeof doc - 1) == 1);
	CHECK(lua_istable(L, -1));
	lua_getfield(L, -1, "n");
	CHECK(lua_isinteger(L, -1) && lua_tointeger(L, -1) == 42);
	lua_getfield(L, -2, "f");
	CHECK(!lua_isinteger(L, -1) && lua_tonumber(L, -1) == 1.5);
	lua_getfield(L, -3, "b");
	CHECK(lua_isboolean(L, -1) && lua_toboolean(L, -1));
	lua_getfield(L, -4, "z");
	CHECK(lua_islightuserdata(L, -1) && lua_touserdata(L, -1) == NULL);
	lua_getfield(L, -5, "s");
	CHECK(lua_type(L, -1) == LUA_TSTRING);
	CHECK_STR(lua_tostring(L, -1), "42");
	lua_settop(L, 1);
	lua_close(L);
}

static void test_decode_error_triple(void)
{
	lua_State *L = new_state();
	const char bad[] = "a: [1, 2\n";
	CHECK(call(L, "decode", bad, sizeof bad - 1) == 3);
	CHECK(lua_isnil(L, -3));
	CHECK(strncmp(lua_tostring(L, -2), "line 2, column 1: ", 18) == 0);
	CHECK_STR(lua_tostring(L, -1), "invalid");
	lua_settop(L, 1);
	lua_close(L);
}

static void test_decode_embedded_nul_is_refused(void)
{
	lua_State *L = new_state();
	const char bad[] = "a: b\0c\n";
	CHECK(call(L, "decode", bad, sizeof bad - 1) == 3);
	CHECK(lua_isnil(L, -3));
	lua_settop(L, 1);
	lua_close(L);
}

static void test_encode_quotes_ambiguous_strings(void)
{
	lua_State *L = new_state();
	lua_getfield(L, 1, "encode");
	lua_createtable(L, 0, 3);
	lua_pushliteral(L, "42");
	lua_setfield(L, -2, "a");
	lua_pushliteral(L, "yes");
	lua_setfield(L, -2, "b");
	lua_pushliteral(L, "plain text");
	lua_setfield(L, -2, "c");
	lua_call(L, 1, 1);
	CHECK_STR(lua_tostring(L, -1), "a: \"42\"\nb: \"yes\"\nc: plain text\n");
	lua_settop(L, 1);
	lua_close(L);
}

static void test_stack_balanced_over_many_calls(void)
{
	lua_State *L = new_state();
	const char doc[] = "a: &x {b: [1, 2, {c: d}]}\ne: *x\n";
	for (int i = 0; i < 1000; i++) {
		int n = call(L, "decode", doc, sizeof doc - 1);
		lua_pop(L, n);
		n = call(L, "decode", "[", 1);
		lua_pop(L, n);
	}
	CHECK(lua_gettop(L) == 1);
	lua_close(L);
}

int main(void)
{
	RUN(test_decode_types);
	RUN(test_decode_error_triple);
	RUN(test_decode_embedded_nul_is_refused);
	RUN(test_encode_quotes_ambiguous_strings);
	RUN(test_stack_balanced_over_many_calls);
	return check_summary();
}
