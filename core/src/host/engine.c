/* SPDX-License-Identifier: Apache-2.0
 * The Lua host (kip/host.h): state lifecycle, where the Lua library lives, host_pcall.
 * Uses Lua 5.4, registry.c for the core modules, and /proc/self/exe to find itself. */
#define _GNU_SOURCE
#include "kip/host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bind/bind.h"

/* Private registry slots, keyed by the address of these statics. */
static const char program_key;
static const char exe_key;
static const char data_key;

static char *dir_of(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return NULL;
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return dir;
}

static int find_exe(char **out, struct kip_err *err)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n < 0)
		return kip_err_sys(err, errno, "cannot find the running executable (/proc/self/exe)");
	buf[n] = '\0';
	*out = strdup(buf);
	return *out ? KIP_OK : kip_err_set(err, KIP_ENOMEM, "out of memory");
}

/* EXEDIR/../share/kip: an installed kip (PREFIX/bin/kip) and the build tree (build/bin/kip, with
 * build/share/kip linking to the sources) have the same shape. */
static int find_data_dir(const char *exe, char **out, struct kip_err *err)
{
	char *bindir = dir_of(exe);
	if (!bindir)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	char candidate[PATH_MAX], probe[PATH_MAX];
	int n = snprintf(candidate, sizeof candidate, "%s/../share/kip", bindir);
	free(bindir);
	if (n < 0 || (size_t)n >= sizeof candidate)
		return kip_err_set(err, KIP_EINVAL, "path of the executable is too long: %s", exe);
	snprintf(probe, sizeof probe, "%s/lua/kip/cli/main.lua", candidate);
	struct stat st;
	if (stat(probe, &st) != 0)
		return kip_err_set(err, KIP_ENOENT,
		                   "cannot find kip's Lua files: %s is missing (reinstall kip, or run it from the build tree)",
		                   probe);
	char resolved[PATH_MAX];
	if (!realpath(candidate, resolved))
		return kip_err_sys(err, errno, "cannot resolve %s", candidate);
	*out = strdup(resolved);
	return *out ? KIP_OK : kip_err_set(err, KIP_ENOMEM, "out of memory");
}

static void set_string(lua_State *L, const void *key, const char *value)
{
	lua_pushstring(L, value);
	lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

static const char *get_string(lua_State *L, const void *key)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, key);
	const char *s = lua_tostring(L, -1); /* anchored by the registry */
	lua_pop(L, 1);
	return s;
}

const char *kip_host_program(lua_State *L) { return get_string(L, &program_key); }
const char *kip_host_exe_path(lua_State *L) { return get_string(L, &exe_key); }
const char *kip_host_data_dir(lua_State *L) { return get_string(L, &data_key); }

void kip_host_openlibs(lua_State *L)
{
	luaL_openlibs(L);
	kip_registry_preload(L);
}

/* package.path = DATA/lua/?.lua;DATA/lua/?/init.lua;<default>. The default stays as the fallback so
 * Debian's Lua packages (busted, penlight) load under `kip lua`. */
static void set_package_path(lua_State *L, const char *data_dir)
{
	lua_getglobal(L, "package");              /* package */
	lua_getfield(L, -1, "path");              /* package, path */
	lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;%s", data_dir, data_dir, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");              /* package, path */
	lua_pop(L, 2);
}

int kip_host_open(struct kip_host *host, const char *program, struct kip_err *err)
{
	memset(host, 0, sizeof *host);
	int rc = find_exe(&host->exe_path, err);
	if (rc == KIP_OK)
		rc = find_data_dir(host->exe_path, &host->data_dir, err);
	if (rc == KIP_OK && !(host->L = luaL_newstate()))
		rc = kip_err_set(err, KIP_ENOMEM, "cannot create the Lua state: out of memory");
	if (rc != KIP_OK) {
		kip_host_close(host);
		return rc;
	}
	kip_host_openlibs(host->L);
	set_string(host->L, &program_key, program);
	set_string(host->L, &exe_key, host->exe_path);
	set_string(host->L, &data_key, host->data_dir);
	set_package_path(host->L, host->data_dir);
	return KIP_OK;
}

void kip_host_close(struct kip_host *host)
{
	if (host->L)
		lua_close(host->L);
	free(host->exe_path);
	free(host->data_dir);
	memset(host, 0, sizeof *host);
}

static int traceback_handler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int host_pcall(lua_State *L, int nargs, int nresults)
{
	int base = lua_gettop(L) - nargs;       /* index of the function */
	lua_pushcfunction(L, traceback_handler);
	lua_insert(L, base);                     /* handler, function, args */
	int status = lua_pcall(L, nargs, nresults, base);
	if (status != LUA_OK) {
		const char *program = kip_host_program(L);
		fprintf(stderr, "%s: internal error: %s\n", program ? program : "kip", lua_tostring(L, -1));
		lua_settop(L, base - 1);         /* drop handler and message */
		return status;
	}
	lua_remove(L, base);                     /* drop the handler, keep the results */
	return status;
}
