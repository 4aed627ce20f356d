/* SPDX-License-Identifier: Apache-2.0
 * Shared binding glue declared in bind.h. Uses Lua 5.4. */
#include "bind.h"

#include <pthread.h>
#include <string.h>

struct bind_gil {
	pthread_mutex_t mutex;
};

static const char gil_key; /* registry slot: the state's struct bind_gil userdata */

static int gil_gc(lua_State *L)
{
	struct bind_gil *gil = lua_touserdata(L, 1);
	pthread_mutex_unlock(&gil->mutex); /* held by the thread closing the state (error-checking) */
	pthread_mutex_destroy(&gil->mutex);
	return 0;
}

struct bind_gil *bind_gil_enable(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &gil_key);
	struct bind_gil *gil = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (gil)
		return gil;
	static const char gil_mt_key;
	gil = bind_new_guard(L, sizeof *gil, &gil_mt_key, gil_gc);
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&gil->mutex, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_lock(&gil->mutex); /* the thread that enables it is running Lua */
	lua_rawsetp(L, LUA_REGISTRYINDEX, &gil_key);
	return gil;
}

struct bind_gil *bind_gil_release(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &gil_key);
	struct bind_gil *gil = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (gil)
		pthread_mutex_unlock(&gil->mutex);
	return gil;
}

void bind_gil_acquire(struct bind_gil *gil)
{
	if (gil)
		pthread_mutex_lock(&gil->mutex);
}

void bind_gil_lock(struct bind_gil *gil)
{
	pthread_mutex_lock(&gil->mutex);
}

void bind_gil_unlock(struct bind_gil *gil)
{
	pthread_mutex_unlock(&gil->mutex);
}

struct bind_gil *bind_block_on(lua_State *L, pthread_mutex_t *handle_lock)
{
	struct bind_gil *gil = bind_gil_release(L);
	pthread_mutex_lock(handle_lock);
	return gil;
}

void bind_unblock(pthread_mutex_t *handle_lock, struct bind_gil *gil)
{
	pthread_mutex_unlock(handle_lock);
	bind_gil_acquire(gil);
}

int bind_push_err(lua_State *L, const struct kip_err *err)
{
	lua_pushnil(L);
	lua_pushstring(L, err->msg);
	lua_pushstring(L, kip_err_name(err->code));
	return 3;
}

void *bind_new_guard(lua_State *L, size_t size, const void *key, lua_CFunction gc)
{
	void *guard = lua_newuserdatauv(L, size, 0);
	memset(guard, 0, size);
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_createtable(L, 0, 1);
		lua_pushcfunction(L, gc);
		lua_setfield(L, -2, "__gc");
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, key);
	}
	lua_setmetatable(L, -2);
	return guard;
}

void bind_new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods)
{
	luaL_newmetatable(L, name);          /* mt */
	luaL_setfuncs(L, meta, 0);
	lua_newtable(L);                     /* mt, methods */
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");      /* mt */
	lua_pop(L, 1);
}

static const char array_mt_key; /* registry slot: the sequence metatable */

void bind_push_array_mt(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key) != LUA_TNIL)
		return;
	lua_pop(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "kip.array");
	lua_setfield(L, -2, "__name");
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &array_mt_key);
}

bool bind_is_array(lua_State *L, int idx)
{
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return false;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &array_mt_key);
	bool marked = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	return marked;
}

int bind_lua_array(lua_State *L)
{
	if (lua_isnoneornil(L, 1))
		lua_newtable(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	bind_push_array_mt(L);
	lua_setmetatable(L, 1);
	return 1;
}

int bind_lua_is_array(lua_State *L)
{
	lua_pushboolean(L, bind_is_array(L, 1));
	return 1;
}

void bind_check_opts(lua_State *L, int idx)
{
	if (!lua_isnoneornil(L, idx))
		luaL_checktype(L, idx, LUA_TTABLE);
}

/* Pushes opts[field] (nil when opts is absent) and returns its type. */
static int push_field(lua_State *L, int idx, const char *field)
{
	if (lua_type(L, idx) != LUA_TTABLE) {
		lua_pushnil(L);
		return LUA_TNIL;
	}
	return lua_getfield(L, idx, field);
}

static void field_error(lua_State *L, const char *field, const char *expected)
{
	luaL_error(L, "option '%s' must be %s, got %s", field, expected, luaL_typename(L, -1));
}

lua_Integer bind_opt_integer(lua_State *L, int idx, const char *field, lua_Integer def)
{
	lua_Integer v = def;
	if (push_field(L, idx, field) != LUA_TNIL) {
		int ok;
		v = lua_tointegerx(L, -1, &ok);
		if (!ok)
			field_error(L, field, "an integer");
	}
	lua_pop(L, 1);
	return v;
}

lua_Number bind_opt_number(lua_State *L, int idx, const char *field, lua_Number def)
{
	lua_Number v = def;
	if (push_field(L, idx, field) != LUA_TNIL) {
		if (lua_type(L, -1) != LUA_TNUMBER)
			field_error(L, field, "a number");
		v = lua_tonumber(L, -1);
	}
	lua_pop(L, 1);
	return v;
}

bool bind_opt_boolean(lua_State *L, int idx, const char *field, bool def)
{
	bool v = def;
	int t = push_field(L, idx, field);
	if (t != LUA_TNIL) {
		if (t != LUA_TBOOLEAN)
			field_error(L, field, "a boolean");
		v = lua_toboolean(L, -1);
	}
	lua_pop(L, 1);
	return v;
}

const char *bind_opt_string(lua_State *L, int idx, const char *field, size_t *len, const char *def)
{
	const char *v = def;
	if (len)
		*len = def ? strlen(def) : 0;
	if (push_field(L, idx, field) != LUA_TNIL) {
		if (lua_type(L, -1) != LUA_TSTRING)
			field_error(L, field, "a string");
		v = lua_tolstring(L, -1, len); /* anchored in the option table */
	}
	lua_pop(L, 1);
	return v;
}
