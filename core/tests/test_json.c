/* SPDX-License-Identifier: Apache-2.0
 * C tests of the JSON codec service (kip/json.h: reader tokens, writer escaping and numbers) and
 * of the kip.json binding through the Lua C API: values pushed, the array mark shared with kip.yaml,
 * error triples, deep input, the stack left balanced. Uses check.h. */
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>

#include "bind/bind.h"
#include "check.h"
#include "kip/json.h"

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "kip.json", luaopen_kip_json, 0); /* json */
	return L;
}

/* Calls json.FN(text) and leaves its results; returns how many. */
static int call(lua_State *L, const char *fn, const char *text, size_t len)
{
	int top = lua_gettop(L);
	lua_getfield(L, 1, fn);
	lua_pushlstring(L, text, len);
	lua_call(L, 1, LUA_MULTRET);
	return lua_gettop(L) - top;
}

/* ---- the service ---- */

static void test_reader_tokens(void)
{
	const char text[] = " {\"a\": [1, -2.5, \"x\\n\", true, false, null], \"b\": {}} ";
	static const int expected[] = {
		KIP_JSON_OBJECT, KIP_JSON_KEY, KIP_JSON_ARRAY, KIP_JSON_INTEGER, KIP_JSON_FLOAT,
		KIP_JSON_STRING, KIP_JSON_TRUE, KIP_JSON_FALSE, KIP_JSON_NULL, KIP_JSON_ARRAY_END,
		KIP_JSON_KEY, KIP_JSON_OBJECT, KIP_JSON_OBJECT_END, KIP_JSON_OBJECT_END, KIP_JSON_END,
		KIP_JSON_END,
	};
	struct kip_json_reader r;
	struct kip_err err;
	kip_json_reader_init(&r, text, sizeof text - 1);
	for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
		int t = kip_json_next(&r, &err);
		CHECK(t == expected[i]);
		if (t == KIP_JSON_INTEGER)
			CHECK(r.integer == 1);
		if (t == KIP_JSON_FLOAT)
			CHECK(r.number == -2.5);
		if (t == KIP_JSON_STRING)
			CHECK(r.str_len == 2 && memcmp(r.str, "x\n", 2) == 0);
		if (i == 1)
			CHECK(r.str_len == 1 && r.str[0] == 'a' && r.depth == 1 && r.open[0] == '{');
	}
	kip_json_reader_free(&r);
}

static void test_reader_errors_stick(void)
{
	struct kip_json_reader r;
	struct kip_err err;
	kip_json_reader_init(&r, "[1 2]", 5);
	CHECK(kip_json_next(&r, &err) == KIP_JSON_ARRAY);
	CHECK(kip_json_next(&r, &err) == KIP_JSON_INTEGER);
	CHECK(kip_json_next(&r, &err) == KIP_EINVAL);
	CHECK_STR(err.msg, "line 1, column 4: unexpected character '2' (expected ',' or ']' after an array element)");
	CHECK(kip_json_next(&r, &err) == KIP_EINVAL);
	kip_json_reader_free(&r);

	kip_json_reader_init(&r, "\"\\u00e9\xff\"", 9);
	CHECK(kip_json_next(&r, &err) == KIP_EINVAL);
	CHECK_STR(err.msg, "byte 7: invalid UTF-8");
	kip_json_reader_free(&r);
	kip_json_reader_free(&r); /* twice is harmless */
}

static void test_reader_numbers(void)
{
	static const struct {
		const char *text;
		int token;
		int64_t integer;
		double number;
	} cases[] = {
		{"0", KIP_JSON_INTEGER, 0, 0},
		{"-0", KIP_JSON_FLOAT, 0, -0.0},
		{"9223372036854775807", KIP_JSON_INTEGER, INT64_MAX, 0},
		{"-9223372036854775808", KIP_JSON_INTEGER, INT64_MIN, 0},
		{"9223372036854775808", KIP_JSON_FLOAT, 0, 9223372036854775808.0},
		{"1.5e3", KIP_JSON_FLOAT, 0, 1500.0},
		{"0.1", KIP_JSON_FLOAT, 0, 0.1},
		{"1e-400", KIP_JSON_FLOAT, 0, 0.0},
		{"1.7976931348623157e308", KIP_JSON_FLOAT, 0, 1.7976931348623157e308},
		{"0.000000000000000000000000000001", KIP_JSON_FLOAT, 0, 1e-30},
		{"1e400", KIP_EINVAL, 0, 0},
		{"-1e400", KIP_EINVAL, 0, 0},
		{"012", KIP_EINVAL, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct kip_json_reader r;
		struct kip_err err;
		kip_json_reader_init(&r, cases[i].text, strlen(cases[i].text));
		int t = kip_json_next(&r, &err);
		if (t != cases[i].token)
			fprintf(stderr, "  case %s: token %d\n", cases[i].text, t);
		CHECK(t == cases[i].token);
		if (t == KIP_JSON_INTEGER)
			CHECK(r.integer == cases[i].integer);
		if (t == KIP_JSON_FLOAT)
			CHECK(r.number == cases[i].number && signbit(r.number) == signbit(cases[i].number));
		kip_json_reader_free(&r);
	}
}

static void test_writer(void)
{
	struct kip_json_writer w = {0};
	CHECK(kip_json_write_string(&w, "a\"\\/\n\x01\x7f\xc3\xa9", 9) == 0);
	CHECK(kip_json_write_char(&w, ' ') == 0);
	CHECK(kip_json_write_integer(&w, INT64_MIN) == 0);
	CHECK(kip_json_write_char(&w, ' ') == 0);
	CHECK(kip_json_write_number(&w, 0.1) == 0);
	CHECK(kip_json_write_number(&w, NAN) == KIP_EINVAL);
	CHECK(kip_json_write_number(&w, -INFINITY) == KIP_EINVAL);
	size_t before = w.len;
	CHECK(kip_json_write_string(&w, "ok\xe2\x82", 5) == KIP_EINVAL);
	CHECK(w.len == before); /* nothing appended */
	CHECK(kip_json_write_char(&w, '\0') == 0);
	CHECK_STR(w.buf, "\"a\\\"\\\\/\\n\\u0001\x7f\xc3\xa9\" -9223372036854775808 0.1");
	kip_json_writer_free(&w);
	CHECK(w.buf == NULL && w.len == 0);
}

static void test_format_number(void)
{
	static const struct {
		double x;
		const char *text;
	} cases[] = {
		{3.0, "3"}, {-0.0, "-0"}, {0.0, "0"}, {9007199254740992.0, "9007199254740992"},
		{-9007199254740992.0, "-9007199254740992"}, {0.5, "0.5"}, {1e300, "1e+300"},
		{1.0 / 3, "0.3333333333333333"}, {0.1 + 0.2, "0.30000000000000004"}, {5e-324, "5e-324"}, {2.5e-320, "2.5e-320"},
		{1e22, "1e+22"}, {123.456, "123.456"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[KIP_JSON_NUMBER_MAX];
		size_t n = kip_json_format_number(buf, cases[i].x);
		CHECK(n == strlen(cases[i].text));
		CHECK_STR(buf, cases[i].text);
		CHECK(strtod(buf, NULL) == cases[i].x);
	}
	char buf[KIP_JSON_NUMBER_MAX];
	CHECK(kip_json_format_number(buf, NAN) == 0);
	CHECK(kip_json_format_number(buf, INFINITY) == 0);
}

/* ---- the binding ---- */

static void test_decode_values(void)
{
	lua_State *L = new_state();
	const char doc[] = "{\"n\": 42, \"f\": 1.5, \"b\": true, \"z\": null, \"s\": \"42\", \"a\": []}";
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

static void test_array_mark_is_yamls(void)
{
	lua_State *L = new_state();
	CHECK(call(L, "decode", "[]", 2) == 1);                /* json, arr */
	luaL_requiref(L, "kip.yaml", luaopen_kip_yaml, 0);     /* json, arr, yaml */
	CHECK(lua_getmetatable(L, 2));                          /* json, arr, yaml, mt */
	lua_getfield(L, 3, "array_mt");                         /* json, arr, yaml, mt, yaml.array_mt */
	CHECK(lua_rawequal(L, -1, -2));
	lua_getfield(L, 3, "encode");
	lua_pushvalue(L, 2);
	lua_call(L, 1, 1);
	CHECK_STR(lua_tostring(L, -1), "[]\n");
	lua_settop(L, 1);
	lua_close(L);
}

static void test_decode_error_triple(void)
{
	lua_State *L = new_state();
	const char bad[] = "{\"a\": [1, 2}";
	CHECK(call(L, "decode", bad, sizeof bad - 1) == 3);
	CHECK(lua_isnil(L, -3));
	CHECK_STR(lua_tostring(L, -2), "line 1, column 12: unexpected character '}' (expected ',' or ']' after an array element)");
	CHECK_STR(lua_tostring(L, -1), "invalid");
	lua_settop(L, 1);
	lua_close(L);
}

static void test_decode_nul(void)
{
	lua_State *L = new_state();
	const char raw[] = "\"a\0b\"";
	CHECK(call(L, "decode", raw, sizeof raw - 1) == 3); /* a raw NUL is a control character */
	lua_settop(L, 1);
	const char escaped[] = "\"a\\u0000b\"";
	CHECK(call(L, "decode", escaped, sizeof escaped - 1) == 1);
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	CHECK(len == 3 && memcmp(s, "a\0b", 3) == 0);
	lua_settop(L, 1);
	lua_close(L);
}

static void test_deep_input_does_not_recurse(void)
{
	lua_State *L = new_state();
	size_t n = 1000000;
	char *deep = malloc(n);
	memset(deep, '[', n);
	CHECK(call(L, "decode", deep, n) == 3);
	CHECK(strstr(lua_tostring(L, -2), "nesting deeper than 512 levels") != NULL);
	lua_settop(L, 1);
	free(deep);
	lua_close(L);
}

static void test_encode_errors_name_the_path(void)
{
	lua_State *L = new_state();
	lua_getfield(L, 1, "encode");
	lua_createtable(L, 0, 1);      /* {spec = {containers = {{env = print}}}} */
	lua_createtable(L, 0, 1);
	lua_createtable(L, 1, 0);
	lua_createtable(L, 0, 1);
	lua_getglobal(L, "print");
	lua_setfield(L, -2, "env");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "containers");
	lua_setfield(L, -2, "spec");
	lua_call(L, 1, 3);
	CHECK(lua_isnil(L, -3));
	CHECK_STR(lua_tostring(L, -2), "spec.containers[0].env: cannot encode a function value in JSON");
	CHECK_STR(lua_tostring(L, -1), "invalid");
	lua_settop(L, 1);
	lua_close(L);
}

static void test_stack_balanced_over_many_calls(void)
{
	lua_State *L = new_state();
	const char doc[] = "{\"a\": {\"b\": [1, 2, {\"c\": \"d\\n\"}]}, \"e\": [[], {}]}";
	for (int i = 0; i < 1000; i++) {
		int n = call(L, "decode", doc, sizeof doc - 1);
		CHECK(n == 1);
		lua_getfield(L, 1, "encode");
		lua_insert(L, -2);
		lua_call(L, 1, LUA_MULTRET);
		CHECK_STR(lua_tostring(L, -1), "{\"a\":{\"b\":[1,2,{\"c\":\"d\\n\"}]},\"e\":[[],{}]}");
		lua_settop(L, 1);
		n = call(L, "decode", "[\"x\\n", 5);
		lua_pop(L, n);
	}
	CHECK(lua_gettop(L) == 1);
	lua_close(L);
}

int main(void)
{
	RUN(test_reader_tokens);
	RUN(test_reader_errors_stick);
	RUN(test_reader_numbers);
	RUN(test_writer);
	RUN(test_format_number);
	RUN(test_decode_values);
	RUN(test_array_mark_is_yamls);
	RUN(test_decode_error_triple);
	RUN(test_decode_nul);
	RUN(test_deep_input_does_not_recurse);
	RUN(test_encode_errors_name_the_path);
	RUN(test_stack_balanced_over_many_calls);
	return check_summary();
}
