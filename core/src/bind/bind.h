/* SPDX-License-Identifier: Apache-2.0
 * Shared glue for the Lua bindings (core/src/bind/l_*.c), so no two bindings repeat it: pushing
 * `nil, message, code` for operational failures, reading fields of option tables, and the
 * luaopen_kip_* functions that registry.c lists. Uses Lua 5.4 and kip/err.h. */
#pragma once

#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <stdbool.h>

#include "kip/err.h"

/** Pushes nil, err->msg, kip_err_name(err->code); returns 3 for `return bind_push_err(L, &err);`. */
int bind_push_err(lua_State *L, const struct kip_err *err);

/** Reads optional fields of the option table at idx (absent table or field: the default).
 * May raise (luaL_error) when a field has the wrong type, naming the option. */
lua_Integer bind_opt_integer(lua_State *L, int idx, const char *field, lua_Integer def); /* may raise */
lua_Number bind_opt_number(lua_State *L, int idx, const char *field, lua_Number def);    /* may raise */
bool bind_opt_boolean(lua_State *L, int idx, const char *field, bool def);               /* may raise */
/* The string stays valid while the option table is on the stack (it is anchored there). */
const char *bind_opt_string(lua_State *L, int idx, const char *field, size_t *len, const char *def); /* may raise */

/** Pushes a zeroed userdata of `size` bytes whose __gc is `gc`, for C resources (a parser, a
 * result buffer) that a raise between taking and releasing them must not leak. The metatable is
 * made once per state and kept in the registry under `key` (the address of a static of the
 * caller). The userdata is internal: it is never handed to Lua code. */
void *bind_new_guard(lua_State *L, size_t size, const void *key, lua_CFunction gc); /* may raise */

/* The host lock. Once kip.server has started a server in a Lua state, Lua code runs on several
 * threads (the main one and the server's workers), one at a time: whoever runs Lua holds this
 * lock. A binding that blocks (a network transfer, a child process, a sleep) releases it around
 * the wait so the others can run, and touches no Lua state until it has it back:
 *     struct bind_gil *gil = bind_gil_release(L);
 *     ... blocking call, no Lua API ...
 *     bind_gil_acquire(gil);
 * Both are no-ops while no server was started (bind_gil_release returns NULL). */
struct bind_gil;
struct bind_gil *bind_gil_release(lua_State *L);
void bind_gil_acquire(struct bind_gil *gil);
/** The state's lock, created (and taken by the calling thread) on first use; for kip.server. */
struct bind_gil *bind_gil_enable(lua_State *L); /* may raise */
void bind_gil_lock(struct bind_gil *gil);
void bind_gil_unlock(struct bind_gil *gil);
/** For a blocking call on a handle other threads may share (an HTTP client, an SSH session):
 * releases the host lock, then takes the handle's own mutex; bind_unblock undoes both. */
struct bind_gil *bind_block_on(lua_State *L, pthread_mutex_t *handle_lock);
void bind_unblock(pthread_mutex_t *handle_lock, struct bind_gil *gil);

/** Decodes the JSON text (len bytes, not copied: it must stay valid meanwhile) and pushes the value
 * as kip.json.decode makes it (null is the light userdata NULL, arrays carry the array metatable).
 * Returns 0 with the value pushed, or KIP_EINVAL / KIP_ENOMEM with err filled and nothing pushed.
 * May raise when Lua runs out of memory. Defined in l_json.c. */
int bind_json_push(lua_State *L, const char *text, size_t len, struct kip_err *err); /* may raise */

/** Creates the metatable `name` ("kip.<mod>.<Type>") with the metamethods in meta (__gc, __close,
 * __tostring, ...) and an __index table of methods. */
void bind_new_class(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods);

/* The sequence mark kip.yaml and kip.json share: one metatable per state, so a decoded `[]` stays a
 * sequence through either codec. */
/** Pushes the state's sequence metatable, creating it on first use. */
void bind_push_array_mt(lua_State *L);
/** Whether the value at idx is a table carrying the sequence metatable. */
bool bind_is_array(lua_State *L, int idx);
/** MODULE.array([t]) -> t (or a new table) marked as a sequence; MODULE.is_array(v) -> boolean. */
int bind_lua_array(lua_State *L);
int bind_lua_is_array(lua_State *L);

/** Raises unless the value at idx is nil, none or a table: "bad argument #idx (options table expected)". */
void bind_check_opts(lua_State *L, int idx); /* may raise */

/* Every core module; registry.c is the one list that puts them in package.preload. */
int luaopen_kip_fs(lua_State *L);
int luaopen_kip_gateway(lua_State *L);
int luaopen_kip_host(lua_State *L);
int luaopen_kip_http(lua_State *L);
int luaopen_kip_informer(lua_State *L);
int luaopen_kip_json(lua_State *L);
int luaopen_kip_log(lua_State *L);
int luaopen_kip_proc(lua_State *L);
int luaopen_kip_server(lua_State *L);
int luaopen_kip_ssh(lua_State *L);
int luaopen_kip_tls(lua_State *L);
int luaopen_kip_yaml(lua_State *L);

/** The core modules, {name, luaopen} pairs ending with {NULL, NULL}. */
extern const luaL_Reg kip_core_modules[];

/** Puts every core module in package.preload. */
void kip_registry_preload(lua_State *L);
