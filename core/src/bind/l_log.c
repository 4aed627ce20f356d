/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.log"`: levelled log lines on stderr, as text ("kip: warning: msg key=value") or as
 * JSON lines for daemons. The level and format are per Lua state (a userdata in the registry), not
 * C globals. Uses Lua 5.4 and stdio; writes one line with one fwrite, never blocks on anything else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bind.h"
#include "kip/host.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
static const char *const level_names[] = {"debug", "info", "warn", "error", "off", NULL};
static const char *const format_names[] = {"text", "json", NULL};

struct log_state {
	int level;
	int json;
};

static const char state_key; /* registry slot holding the struct log_state userdata */

static struct log_state *log_state(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key) != LUA_TUSERDATA) {
		lua_pop(L, 1);
		struct log_state *st = lua_newuserdatauv(L, sizeof *st, 0);
		st->level = LOG_INFO;
		st->json = 0;
		const char *env = getenv("KIP_LOG_LEVEL");
		for (int i = 0; env && level_names[i]; i++)
			if (strcmp(env, level_names[i]) == 0)
				st->level = i;
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
	}
	struct log_state *st = lua_touserdata(L, -1);
	lua_pop(L, 1); /* still anchored by the registry */
	return st;
}

/* Appends s to b as a JSON string literal. */
static void add_json_string(luaL_Buffer *b, const char *s, size_t len)
{
	luaL_addchar(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			luaL_addchar(b, '\\');
			luaL_addchar(b, (char)c);
		} else if (c < 0x20) {
			char esc[8];
			snprintf(esc, sizeof esc, "\\u%04x", c);
			luaL_addstring(b, esc);
		} else {
			luaL_addchar(b, (char)c);
		}
	}
	luaL_addchar(b, '"');
}

/* Sorted field names of the table at idx, as a new array on the stack. */
static void push_sorted_keys(lua_State *L, int idx) /* may raise */
{
	lua_newtable(L);
	lua_Integer n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING) {
			lua_pushvalue(L, -1);
			lua_rawseti(L, -3, ++n);
		}
	}
	lua_getglobal(L, "table");
	lua_getfield(L, -1, "sort");
	lua_remove(L, -2);
	lua_pushvalue(L, -2);
	lua_call(L, 1, 0); /* table.sort on strings cannot fail */
}

static void emit(lua_State *L, int level) /* may raise */
{
	struct log_state *st = log_state(L);
	if (level < st->level)
		return;
	size_t msg_len;
	const char *msg = luaL_checklstring(L, 1, &msg_len);
	int has_fields = !lua_isnoneornil(L, 2);
	if (has_fields)
		luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	const char *program = kip_host_program(L);
	if (!program)
		program = "kip";
	if (has_fields)
		push_sorted_keys(L, 2); /* at 3 */

	luaL_Buffer b;
	luaL_buffinit(L, &b);
	if (st->json) {
		char ts[40];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);
		luaL_addstring(&b, "{\"time\":\"");
		luaL_addstring(&b, ts);
		luaL_addstring(&b, "\",\"level\":\"");
		luaL_addstring(&b, level_names[level]);
		luaL_addstring(&b, "\",\"program\":");
		add_json_string(&b, program, strlen(program));
		luaL_addstring(&b, ",\"msg\":");
		add_json_string(&b, msg, msg_len);
	} else {
		luaL_addstring(&b, program);
		luaL_addstring(&b, ": ");
		if (level != LOG_INFO) {
			luaL_addstring(&b, level == LOG_WARN ? "warning" : level_names[level]);
			luaL_addstring(&b, ": ");
		}
		luaL_addlstring(&b, msg, msg_len);
	}
	lua_Integer nkeys = has_fields ? (lua_Integer)lua_rawlen(L, 3) : 0;
	for (lua_Integer i = 1; i <= nkeys; i++) {
		lua_rawgeti(L, 3, i);
		size_t klen;
		const char *key = lua_tolstring(L, -1, &klen);
		lua_pushvalue(L, -1);
		lua_gettable(L, 2);
		size_t vlen;
		const char *value = luaL_tolstring(L, -1, &vlen); /* key, value, text */
		/* The buffer may sit on the stack below these three values: copy them out first. */
		char *k = strndup(key, klen), *v = value ? strndup(value, vlen) : NULL;
		lua_pop(L, 3);
		if (!k || !v) {
			free(k);
			free(v);
			luaL_error(L, "out of memory");
		}
		if (st->json) {
			luaL_addchar(&b, ',');
			add_json_string(&b, k, klen);
			luaL_addchar(&b, ':');
			add_json_string(&b, v, vlen);
		} else {
			luaL_addchar(&b, ' ');
			luaL_addlstring(&b, k, klen);
			luaL_addchar(&b, '=');
			luaL_addlstring(&b, v, vlen);
		}
		free(k);
		free(v);
	}
	luaL_addstring(&b, st->json ? "}\n" : "\n");
	luaL_pushresult(&b);
	size_t len;
	const char *line = lua_tolstring(L, -1, &len);
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

static int l_log_debug(lua_State *L) { emit(L, LOG_DEBUG); return 0; }
static int l_log_info(lua_State *L) { emit(L, LOG_INFO); return 0; }
static int l_log_warn(lua_State *L) { emit(L, LOG_WARN); return 0; }
static int l_log_error(lua_State *L) { emit(L, LOG_ERROR); return 0; }

/** log.set_level("debug"|"info"|"warn"|"error"|"off") */
static int l_log_set_level(lua_State *L)
{
	log_state(L)->level = luaL_checkoption(L, 1, NULL, level_names);
	return 0;
}

/** log.level() -> the current level's name */
static int l_log_level(lua_State *L)
{
	lua_pushstring(L, level_names[log_state(L)->level]);
	return 1;
}

/** log.enabled(level) -> whether a line at that level would be written */
static int l_log_enabled(lua_State *L)
{
	lua_pushboolean(L, luaL_checkoption(L, 1, NULL, level_names) >= log_state(L)->level);
	return 1;
}

/** log.set_format("text"|"json") */
static int l_log_set_format(lua_State *L)
{
	log_state(L)->json = luaL_checkoption(L, 1, NULL, format_names) == 1;
	return 0;
}

static const luaL_Reg log_functions[] = {
	{"debug", l_log_debug},
	{"info", l_log_info},
	{"warn", l_log_warn},
	{"error", l_log_error},
	{"set_level", l_log_set_level},
	{"level", l_log_level},
	{"enabled", l_log_enabled},
	{"set_format", l_log_set_format},
	{NULL, NULL},
};

int luaopen_kip_log(lua_State *L)
{
	luaL_newlib(L, log_functions);
	return 1;
}
