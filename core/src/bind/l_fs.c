/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.fs"`: read, atomic write, append, mkdir -p, list, stat, realpath, exists and remove, a thin
 * binding over the C file service (kip/fs.h) and bind.h. Misuse raises; failures return
 * `nil, msg, code`. Blocking file I/O: for scripts and the CLI, never on the gateway or k8s loops. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "kip/fs.h"

#define L_FS_FILE_MODE 0644
#define L_FS_DIR_MODE 0755

/* C results are parked in this userdata while they are pushed, so a memory error raised by a push
 * cannot leak them: __gc frees whatever is still there. Internal, never returned to Lua. */
struct l_fs_box {
	char *data;
	char **names;
};

static const char l_fs_box_key; /* registry slot holding the box metatable */

static int l_fs_box_gc(lua_State *L)
{
	struct l_fs_box *box = lua_touserdata(L, 1);
	free(box->data);
	kip_fs_list_free(box->names);
	box->data = NULL;
	box->names = NULL;
	return 0;
}

/* Pushes an empty box. */
static struct l_fs_box *l_fs_newbox(lua_State *L) /* may raise */
{
	return bind_new_guard(L, sizeof(struct l_fs_box), &l_fs_box_key, l_fs_box_gc);
}

/* A path argument: a string without NUL bytes (C would silently cut it there). */
static const char *l_fs_checkpath(lua_State *L, int idx) /* may raise */
{
	size_t len;
	const char *path = luaL_checklstring(L, idx, &len);
	if (strlen(path) != len)
		luaL_argerror(L, idx, "path contains a NUL byte");
	return path;
}

/* opts.mode: permission bits as an integer (420 for 0644; Lua has no octal literals) or an octal
 * string ("0644", "644"). Values above 0777 raise, which also catches a decimal 644 meant as octal. */
static unsigned l_fs_opt_mode(lua_State *L, int idx, unsigned def) /* may raise */
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return def;
	lua_Integer mode = def;
	int t = lua_getfield(L, idx, "mode");
	if (t == LUA_TSTRING) {
		const char *s = lua_tostring(L, -1), *digits = s;
		char *end = NULL;
		if (digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O'))
			digits += 2;
		if (*digits >= '0' && *digits <= '7')
			mode = (lua_Integer)strtol(digits, &end, 8);
		if (!end || *end)
			luaL_error(L, "option 'mode' must be octal digits like \"0644\", got \"%s\"", s);
	} else if (t != LUA_TNIL) {
		int ok;
		mode = lua_tointegerx(L, -1, &ok);
		if (!ok)
			luaL_error(L, "option 'mode' must be an integer or an octal string, got %s",
			           luaL_typename(L, -1));
	}
	if (mode < 0 || mode > 0777)
		luaL_error(L, "option 'mode' must be between 0 and 0777 (511), got %I "
		           "(Lua has no octal literals: use 420 or \"0644\" for 0644)", mode);
	lua_pop(L, 1);
	return (unsigned)mode;
}

/* fs.read(path) -> string | nil, msg, code */
static int l_fs_read(lua_State *L)
{
	const char *path = l_fs_checkpath(L, 1);
	struct l_fs_box *box = l_fs_newbox(L);
	struct kip_err err = {0};
	size_t len;
	if (kip_fs_read_file(path, &box->data, &len, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushlstring(L, box->data, len);
	free(box->data);
	box->data = NULL;
	return 1;
}

/* fs.write and fs.append: (path, data [, {mode = 420}]) -> true | nil, msg, code */
static int l_fs_put(lua_State *L,
                    int (*put)(const char *, const void *, size_t, unsigned, struct kip_err *))
{
	const char *path = l_fs_checkpath(L, 1);
	size_t len;
	const char *data = luaL_checklstring(L, 2, &len);
	bind_check_opts(L, 3);
	unsigned mode = l_fs_opt_mode(L, 3, L_FS_FILE_MODE);
	struct kip_err err = {0};
	if (put(path, data, len, mode, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/* fs.write: atomic replace (temp file, fsync, rename, fsync of the folder) */
static int l_fs_write(lua_State *L)
{
	return l_fs_put(L, kip_fs_write_atomic);
}

/* fs.append: creates the file if needed */
static int l_fs_append(lua_State *L)
{
	return l_fs_put(L, kip_fs_append);
}

/* fs.mkdir(path [, {mode = 493}]) -> true | nil, msg, code (mkdir -p) */
static int l_fs_mkdir(lua_State *L)
{
	const char *path = l_fs_checkpath(L, 1);
	bind_check_opts(L, 2);
	unsigned mode = l_fs_opt_mode(L, 2, L_FS_DIR_MODE);
	struct kip_err err = {0};
	if (kip_fs_mkdir_p(path, mode, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

/* fs.list(path) -> sorted array of names | nil, msg, code */
static int l_fs_list(lua_State *L)
{
	const char *path = l_fs_checkpath(L, 1);
	struct l_fs_box *box = l_fs_newbox(L);
	struct kip_err err = {0};
	size_t n;
	if (kip_fs_list(path, &box->names, &n, &err) != 0)
		return bind_push_err(L, &err);
	lua_createtable(L, n > INT_MAX ? 0 : (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, box->names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	kip_fs_list_free(box->names);
	box->names = NULL;
	return 1;
}

/* fs.stat(path [, {follow = true}]) -> {type, size, mode, mtime} | nil, msg, code */
static int l_fs_stat(lua_State *L)
{
	static const char *const type_names[] = {
		[KIP_FS_FILE] = "file", [KIP_FS_DIRECTORY] = "directory",
		[KIP_FS_LINK] = "link", [KIP_FS_OTHER] = "other",
	};
	const char *path = l_fs_checkpath(L, 1);
	bind_check_opts(L, 2);
	bool follow = bind_opt_boolean(L, 2, "follow", true);
	struct kip_fs_stat st;
	struct kip_err err = {0};
	if (kip_fs_stat(path, follow, &st, &err) != 0)
		return bind_push_err(L, &err);
	lua_createtable(L, 0, 4);
	lua_pushstring(L, type_names[st.type]);
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, (lua_Integer)st.size);
	lua_setfield(L, -2, "size");
	lua_pushinteger(L, (lua_Integer)st.mode);
	lua_setfield(L, -2, "mode");
	lua_pushinteger(L, (lua_Integer)st.mtime);
	lua_setfield(L, -2, "mtime");
	return 1;
}

/* fs.realpath(path) -> absolute path without links, "." or ".." | nil, msg, code */
static int l_fs_realpath(lua_State *L)
{
	const char *path = l_fs_checkpath(L, 1);
	struct l_fs_box *box = l_fs_newbox(L);
	struct kip_err err = {0};
	if (kip_fs_realpath(path, &box->data, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushstring(L, box->data);
	free(box->data);
	box->data = NULL;
	return 1;
}

/* fs.exists(path) -> boolean */
static int l_fs_exists(lua_State *L)
{
	lua_pushboolean(L, kip_fs_exists(l_fs_checkpath(L, 1)));
	return 1;
}

/* fs.remove(path) -> true | nil, msg, code (a file, a symlink or an empty directory) */
static int l_fs_remove(lua_State *L)
{
	const char *path = l_fs_checkpath(L, 1);
	struct kip_err err = {0};
	if (kip_fs_remove(path, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushboolean(L, 1);
	return 1;
}

static const luaL_Reg l_fs_funcs[] = {
	{"read", l_fs_read},
	{"write", l_fs_write},
	{"append", l_fs_append},
	{"mkdir", l_fs_mkdir},
	{"list", l_fs_list},
	{"stat", l_fs_stat},
	{"realpath", l_fs_realpath},
	{"exists", l_fs_exists},
	{"remove", l_fs_remove},
	{NULL, NULL},
};

int luaopen_kip_fs(lua_State *L)
{
	luaL_newlib(L, l_fs_funcs);
	return 1;
}
