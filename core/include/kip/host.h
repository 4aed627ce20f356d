/* SPDX-License-Identifier: Apache-2.0
 * The Lua host every program embeds: a lua_State with the standard libraries, the core modules in
 * package.preload (registry.c), package.path pointing at the Lua library that ships with kip, and
 * host_pcall(), the only way C calls into Lua. Uses Lua 5.4 and kip/err.h. */
#pragma once

#include <lua.h>

#include "kip/err.h"

struct kip_host {
	lua_State *L;
	char *exe_path;  /* absolute path of the running executable (owned) */
	char *data_dir;  /* PREFIX/share/kip next to the executable (owned) */
};

/** Opens a host for `program` ("kip", "kipperd", ...): finds the data directory relative to the
 * executable (EXEDIR/../share/kip, which is also the layout of the build tree), creates the Lua
 * state and prepares package.path. Returns 0 or a KIP_E* code with err filled. On failure nothing
 * needs closing. */
int kip_host_open(struct kip_host *host, const char *program, struct kip_err *err);

/** Closes the Lua state and frees what kip_host_open allocated. Safe on a zeroed host. */
void kip_host_close(struct kip_host *host);

/** Opens the standard libraries and puts every core module in package.preload. Used by
 * kip_host_open and by the C tests and fuzz targets that need a bare state. */
void kip_host_openlibs(lua_State *L);

/** Calls the function below nargs arguments with a traceback handler. On success leaves nresults
 * values; on error writes "PROGRAM: internal error: MESSAGE" and the traceback to stderr, restores
 * the stack to what it was without the function and its arguments, and returns the Lua status. */
int host_pcall(lua_State *L, int nargs, int nresults);

/** The values kip_host_open stored for kip.host: program name, exe path, data dir. NULL before. */
const char *kip_host_program(lua_State *L);
const char *kip_host_exe_path(lua_State *L);
const char *kip_host_data_dir(lua_State *L);
