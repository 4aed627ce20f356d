/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.json"`: decode and encode between JSON text and Lua values, for the Kubernetes
 * client and the sandbox API. null is the light userdata NULL (cjson.null, kip.yaml.null); arrays
 * carry kip.yaml's sequence metatable, so `[]` and `{}` stay apart. Builds Lua values over the codec
 * in kip/json.h (core/src/sys/json.c); nothing here blocks on anything but memory. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "kip/json.h"

_Static_assert(sizeof(lua_Integer) == sizeof(int64_t), "kip.json needs 64-bit Lua integers");

static const char reader_key;   /* registry slot: the decode guard's metatable */
static const char encoder_key;  /* registry slot: the encode guard's metatable */


/* ---------------------------------------------------------------------------------------------
 * Decoding: the reader hands out tokens; open containers wait on the Lua stack (an object's key
 * above it while its value is read), so nothing recurses. The reader lives in a userdata whose
 * __gc frees its scratch buffer if the Lua API raises (out of memory).
 */

static int reader_gc(lua_State *L)
{
	kip_json_reader_free(lua_touserdata(L, 1));
	return 0;
}

int bind_json_push(lua_State *L, const char *text, size_t len, struct kip_err *err)
{
	int base = lua_gettop(L);
	struct kip_json_reader *r = bind_new_guard(L, sizeof *r, &reader_key, reader_gc); /* guard */
	bind_push_array_mt(L);                                                                 /* guard, mt */
	const int array_mt = base + 2;
	kip_json_reader_init(r, text, len);
	lua_Integer count[KIP_JSON_MAX_DEPTH]; /* count[d]: elements so far of the array at depth d + 1 */
	for (;;) {
		/* stack: guard, mt, then per open container: the table [, the pending key] */
		int token = kip_json_next(r, err);
		switch (token) {
		case KIP_JSON_OBJECT:
			luaL_checkstack(L, 3, "JSON nesting");
			lua_createtable(L, 0, 0);
			continue;
		case KIP_JSON_ARRAY:
			luaL_checkstack(L, 3, "JSON nesting");
			lua_createtable(L, 0, 0);
			lua_pushvalue(L, array_mt);
			lua_setmetatable(L, -2);
			count[r->depth - 1] = 0;
			continue;
		case KIP_JSON_KEY:
			lua_pushlstring(L, r->str, r->str_len);
			continue;
		case KIP_JSON_STRING: lua_pushlstring(L, r->str, r->str_len); break;
		case KIP_JSON_INTEGER: lua_pushinteger(L, (lua_Integer)r->integer); break;
		case KIP_JSON_FLOAT: lua_pushnumber(L, (lua_Number)r->number); break;
		case KIP_JSON_TRUE: lua_pushboolean(L, 1); break;
		case KIP_JSON_FALSE: lua_pushboolean(L, 0); break;
		case KIP_JSON_NULL: lua_pushlightuserdata(L, NULL); break;
		case KIP_JSON_OBJECT_END:
		case KIP_JSON_ARRAY_END:
			break; /* the finished container is on top */
		case KIP_JSON_END:
			kip_json_reader_free(r);
			lua_replace(L, base + 1); /* value, mt */
			lua_settop(L, base + 1);  /* value */
			return 0;
		default:
			kip_json_reader_free(r);
			lua_settop(L, base); /* drop the guard and the unfinished containers */
			return token;
		}
		/* a complete value on top: store it in the container below it (..., table [, key], value) */
		if (r->depth == 0)
			continue;
		if (r->open[r->depth - 1] == '[')
			lua_rawseti(L, -2, ++count[r->depth - 1]);
		else
			lua_rawset(L, -3);
	}
}

/** json.decode(text) -> value | nil, message, "invalid" */
static int l_json_decode(lua_State *L)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	lua_settop(L, 1);
	struct kip_err err;
	if (bind_json_push(L, text, len, &err) != 0)
		return bind_push_err(L, &err);
	return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Encoding: a recursive walk bounded by KIP_JSON_MAX_DEPTH, with raw access only (no metamethods).
 * The output buffer and the key scratch live in a userdata whose __gc frees them on a raise; the
 * path and the open tables (for cycles and error messages) live in struct encoder on the C stack
 * (17 KiB); each level of nesting adds a few hundred bytes of frames, about 200 KiB at the limit.
 */

struct key_ref {
	const char *s;  /* the key's text, anchored at `slot` */
	size_t len;
	int slot;       /* where the key's text is (a stack index, or an index in the spill table); its value is at slot + 1 */
};

struct encode_guard {
	struct kip_json_writer w;
	struct key_ref *keys; /* a stack: each object being written holds a range */
	size_t nkeys, cap;
};

struct path_step {
	const char *key; /* NULL: an array element */
	size_t len;
	lua_Integer index;
};

struct encoder {
	struct encode_guard *g;
	int indent;                                  /* spaces per level; -1: compact */
	bool sort;
	int array_mt;                                /* stack index of the array metatable */
	int depth;                                   /* tables open */
	const void *open[KIP_JSON_MAX_DEPTH];        /* the open tables, outermost first */
	struct path_step path[KIP_JSON_MAX_DEPTH];   /* path[d]: the child of open[d] being written */
	struct kip_err err;
};

static int encoder_gc(lua_State *L)
{
	struct encode_guard *g = lua_touserdata(L, 1);
	kip_json_writer_free(&g->w);
	free(g->keys);
	g->keys = NULL;
	return 0;
}

static int encoder_fail(struct encoder *e, int code, int steps, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Fills e->err with "path: what", the path being the first `steps` steps; returns code. */
static int encoder_fail(struct encoder *e, int code, int steps, const char *fmt, ...)
{
	char what[256], where[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	size_t n = 0;
	where[0] = '\0';
	for (int i = 0; i < steps && n < sizeof where; i++) {
		const struct path_step *s = &e->path[i];
		int k = s->key ? snprintf(where + n, sizeof where - n, "%s%.*s", i ? "." : "",
		                          (int)(s->len > 64 ? 64 : s->len), s->key)
		               : snprintf(where + n, sizeof where - n, "[%lld]", (long long)s->index);
		n += k > 0 ? (size_t)k : 0;
	}
	kip_err_set(&e->err, code, "%s%s%s", where, where[0] ? ": " : "", what);
	return code;
}

static int nomem(struct encoder *e)
{
	return encoder_fail(e, KIP_ENOMEM, e->depth, "out of memory");
}

/* A newline and the indentation of `level` (nothing when compact). */
static int newline(struct encoder *e, int level)
{
	if (e->indent < 0)
		return 0;
	struct kip_json_writer *w = &e->g->w;
	size_t n = 1 + (size_t)e->indent * (size_t)level;
	if (w->cap - w->len < n && kip_json_writer_grow(w, n) != 0)
		return nomem(e);
	w->buf[w->len] = '\n';
	memset(w->buf + w->len + 1, ' ', n - 1);
	w->len += n;
	return 0;
}

static int encode_value(lua_State *L, struct encoder *e, int idx);

/* Whether the table at idx is written as an array, and how many elements: marked tables have
 * rawlen elements; unmarked ones are arrays when not empty and their keys are exactly 1..n. */
static bool is_array(lua_State *L, const struct encoder *e, int idx, lua_Integer *n)
{
	if (lua_getmetatable(L, idx)) {
		bool marked = lua_rawequal(L, -1, e->array_mt);
		lua_pop(L, 1);
		if (marked) {
			*n = (lua_Integer)lua_rawlen(L, idx);
			return true;
		}
	}
	lua_Integer count = 0, max = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
			lua_pop(L, 1);
			return false;
		}
		lua_Integer k = lua_tointeger(L, -1);
		max = k > max ? k : max;
		count++;
	}
	*n = count;
	return count > 0 && max == count;
}

static int encode_array(lua_State *L, struct encoder *e, int idx, lua_Integer n)
{
	struct kip_json_writer *w = &e->g->w;
	if (n == 0)
		return kip_json_write(w, "[]", 2) ? nomem(e) : 0;
	if (kip_json_write_char(w, '['))
		return nomem(e);
	struct path_step *step = &e->path[e->depth - 1];
	step->key = NULL;
	for (lua_Integer i = 1; i <= n; i++) {
		if (i > 1 && kip_json_write_char(w, ','))
			return nomem(e);
		if (newline(e, e->depth))
			return KIP_ENOMEM;
		step->index = i - 1;
		lua_rawgeti(L, idx, i);
		int rc = encode_value(L, e, lua_gettop(L));
		lua_pop(L, 1);
		if (rc)
			return rc;
	}
	if (newline(e, e->depth - 1))
		return KIP_ENOMEM;
	return kip_json_write_char(w, ']') ? nomem(e) : 0;
}

/* Turns the key at slot (a copy: not the one lua_next iterates with) into its text, in place.
 * Failures name the object (depth - 1 steps). */
static int key_to_string(lua_State *L, struct encoder *e, int slot)
{
	int t = lua_type(L, slot);
	if (t == LUA_TSTRING)
		return 0;
	if (t != LUA_TNUMBER)
		return encoder_fail(e, KIP_EINVAL, e->depth - 1, "cannot encode a table key of type %s",
		                    lua_typename(L, t));
	if (lua_isinteger(L, slot)) {
		lua_tolstring(L, slot, NULL); /* converts the slot */
		return 0;
	}
	char buf[KIP_JSON_NUMBER_MAX];
	size_t n = kip_json_format_number(buf, lua_tonumber(L, slot));
	if (!n)
		return encoder_fail(e, KIP_EINVAL, e->depth - 1, "cannot encode an infinite table key");
	lua_pushlstring(L, buf, n);
	lua_replace(L, slot);
	return 0;
}

/* "key": (or "key": with a space when indenting), after the separator and the newline. */
static int write_key(struct encoder *e, bool first, const char *s, size_t len)
{
	struct kip_json_writer *w = &e->g->w;
	if (!first && kip_json_write_char(w, ','))
		return nomem(e);
	if (newline(e, e->depth))
		return KIP_ENOMEM;
	int rc = kip_json_write_string(w, s, len);
	if (rc == KIP_EINVAL)
		return encoder_fail(e, KIP_EINVAL, e->depth - 1, "a key is not valid UTF-8");
	if (rc || (e->indent < 0 ? kip_json_write_char(w, ':') : kip_json_write(w, ": ", 2)))
		return nomem(e);
	struct path_step *step = &e->path[e->depth - 1];
	step->key = s;
	step->len = len;
	return 0;
}

static int compare_keys(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void sort_keys(struct key_ref *k, size_t n)
{
	if (n > 16) {
		qsort(k, n, sizeof *k, compare_keys);
		return;
	}
	for (size_t i = 1; i < n; i++) { /* insertion sort: objects are mostly small */
		struct key_ref x = k[i];
		size_t j = i;
		for (; j > 0 && compare_keys(&k[j - 1], &x) > 0; j--)
			k[j] = k[j - 1];
		k[j] = x;
	}
}

/* Keys in lua_next order, each written as soon as it is read. */
static int encode_object_unsorted(lua_State *L, struct encoder *e, int idx)
{
	struct kip_json_writer *w = &e->g->w;
	int base = lua_gettop(L);
	if (kip_json_write_char(w, '{'))
		return nomem(e);
	bool first = true;
	int rc = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {          /* key, value */
		lua_pushvalue(L, -2);       /* key, value, key copy */
		size_t len;
		if ((rc = key_to_string(L, e, base + 3)) != 0)
			break;
		const char *s = lua_tolstring(L, base + 3, &len);
		if ((rc = write_key(e, first, s, len)) != 0 || (rc = encode_value(L, e, base + 2)) != 0)
			break;
		first = false;
		lua_settop(L, base + 1);    /* key */
	}
	lua_settop(L, base);
	if (rc)
		return rc;
	if (first)
		return kip_json_write_char(w, '}') ? nomem(e) : 0;
	if (newline(e, e->depth - 1))
		return KIP_ENOMEM;
	return kip_json_write_char(w, '}') ? nomem(e) : 0;
}

/* Objects with more keys than this keep their pairs in a Lua table rather than on the Lua stack, so
 * 512 open objects never need more than about 512 * 1024 stack slots (the limit is 1,000,000). */
#define SORT_ON_STACK_MAX 512

static int add_key(struct encoder *e, const char *s, size_t len, int slot)
{
	struct encode_guard *g = e->g;
	if (g->nkeys == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		struct key_ref *grown = realloc(g->keys, cap * sizeof *grown);
		if (!grown)
			return nomem(e);
		g->keys = grown;
		g->cap = cap;
	}
	g->keys[g->nkeys++] = (struct key_ref){s, len, slot};
	return 0;
}

/* Collects the pairs of the table at idx on the stack above base: key texts at base + 1, 3, ...,
 * values after them. Returns 0, 1 when there are more than SORT_ON_STACK_MAX (nothing is kept
 * then), or a failure. */
static int collect_on_stack(lua_State *L, struct encoder *e, int idx, int base)
{
	size_t first = e->g->nkeys;
	int rc;
	lua_pushnil(L);
	while (lua_next(L, idx)) {                 /* ..., key, value */
		int slot = lua_gettop(L) - 1;
		if (e->g->nkeys - first == SORT_ON_STACK_MAX) {
			lua_settop(L, base);
			e->g->nkeys = first;
			return 1;
		}
		if (!lua_checkstack(L, 4))
			return nomem(e);
		lua_pushvalue(L, slot);            /* ..., key, value, key (for lua_next) */
		if ((rc = key_to_string(L, e, slot)) != 0)
			return rc;
		size_t len;
		const char *s = lua_tolstring(L, slot, &len); /* anchored at slot */
		if ((rc = add_key(e, s, len, slot)) != 0)
			return rc;
	}
	return 0;
}

/* Collects the pairs of the table at idx into the table at spill: key texts at 1, 3, ..., values
 * after them; key_ref slots are indexes into spill. */
static int collect_in_table(lua_State *L, struct encoder *e, int idx, int spill)
{
	int rc;
	lua_Integer n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {                 /* spill, key, value */
		lua_pushvalue(L, -2);              /* spill, key, value, key text */
		if ((rc = key_to_string(L, e, spill + 3)) != 0)
			return rc;
		size_t len;
		const char *s = lua_tolstring(L, spill + 3, &len); /* anchored in spill next */
		lua_rawseti(L, spill, ++n);        /* spill, key, value */
		lua_rawseti(L, spill, ++n);        /* spill, key */
		if ((rc = add_key(e, s, len, (int)(n - 1))) != 0)
			return rc;
		if (n >= INT_MAX - 2)
			return nomem(e);
	}
	return 0;
}

/* Keys sorted bytewise: the pairs wait on the Lua stack (or in a spill table), their texts in g->keys. */
static int encode_object_sorted(lua_State *L, struct encoder *e, int idx)
{
	struct encode_guard *g = e->g;
	struct kip_json_writer *w = &g->w;
	int base = lua_gettop(L), spill = 0;
	size_t first = g->nkeys;
	int rc = collect_on_stack(L, e, idx, base);
	if (rc == 1) {
		lua_newtable(L);
		spill = base + 1;
		rc = collect_in_table(L, e, idx, spill);
	}
	if (rc)
		goto done;
	size_t n = g->nkeys - first;
	if (n == 0) {
		rc = kip_json_write(w, "{}", 2) ? nomem(e) : 0;
		goto done;
	}
	sort_keys(g->keys + first, n);
	if (kip_json_write_char(w, '{')) {
		rc = nomem(e);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		struct key_ref k = g->keys[first + i]; /* a copy: nested objects may move g->keys */
		if (i > 0 && compare_keys(&g->keys[first + i - 1], &k) == 0) {
			rc = encoder_fail(e, KIP_EINVAL, e->depth - 1, "a table has both a number and a string "
			                  "key that read \"%.*s\"", (int)(k.len > 64 ? 64 : k.len), k.s);
			goto done;
		}
		if ((rc = write_key(e, i == 0, k.s, k.len)) != 0)
			goto done;
		if (spill) {
			lua_rawgeti(L, spill, k.slot + 1);
			rc = encode_value(L, e, lua_gettop(L));
			lua_pop(L, 1);
		} else {
			rc = encode_value(L, e, k.slot + 1);
		}
		if (rc)
			goto done;
	}
	if ((rc = newline(e, e->depth - 1)) == 0 && kip_json_write_char(w, '}'))
		rc = nomem(e);
done:
	lua_settop(L, base);
	g->nkeys = first;
	return rc;
}

static int encode_table(lua_State *L, struct encoder *e, int idx)
{
	if (e->depth >= KIP_JSON_MAX_DEPTH)
		return encoder_fail(e, KIP_EINVAL, e->depth, "nesting deeper than %d levels", KIP_JSON_MAX_DEPTH);
	const void *t = lua_topointer(L, idx);
	for (int i = 0; i < e->depth; i++)
		if (e->open[i] == t)
			return encoder_fail(e, KIP_EINVAL, e->depth, "a table contains itself, which JSON cannot hold");
	if (!lua_checkstack(L, 8))
		return nomem(e);
	e->open[e->depth++] = t;
	lua_Integer n;
	int rc = is_array(L, e, idx, &n) ? encode_array(L, e, idx, n)
	         : e->sort ? encode_object_sorted(L, e, idx) : encode_object_unsorted(L, e, idx);
	e->depth--;
	return rc;
}

static int encode_value(lua_State *L, struct encoder *e, int idx)
{
	struct kip_json_writer *w = &e->g->w;
	int rc;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		rc = kip_json_write(w, "null", 4);
		break;
	case LUA_TBOOLEAN:
		rc = lua_toboolean(L, idx) ? kip_json_write(w, "true", 4) : kip_json_write(w, "false", 5);
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			rc = kip_json_write_integer(w, (int64_t)lua_tointeger(L, idx));
		} else {
			double x = (double)lua_tonumber(L, idx);
			rc = kip_json_write_number(w, x);
			if (rc == KIP_EINVAL)
				return encoder_fail(e, KIP_EINVAL, e->depth, "cannot encode %s in JSON",
				                    x != x ? "NaN" : x > 0 ? "infinity" : "-infinity");
		}
		break;
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		rc = kip_json_write_string(w, s, len);
		if (rc == KIP_EINVAL)
			return encoder_fail(e, KIP_EINVAL, e->depth, "string is not valid UTF-8");
		break;
	}
	case LUA_TTABLE:
		return encode_table(L, e, idx);
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == NULL) {
			rc = kip_json_write(w, "null", 4);
			break;
		}
		/* fallthrough */
	default:
		return encoder_fail(e, KIP_EINVAL, e->depth, "cannot encode a %s value in JSON", luaL_typename(L, idx));
	}
	return rc ? nomem(e) : 0;
}

/** json.encode(value [, {indent = N, sort = true}]) -> text | nil, message, "invalid" */
static int l_json_encode(lua_State *L)
{
	bind_check_opts(L, 2);
	lua_Integer indent = bind_opt_integer(L, 2, "indent", -1);
	if (indent < -1 || indent > 16)
		return luaL_argerror(L, 2, "indent must be from 0 to 16");
	bool sort = bind_opt_boolean(L, 2, "sort", true);
	lua_settop(L, 2);
	struct encoder e;
	e.g = bind_new_guard(L, sizeof *e.g, &encoder_key, encoder_gc); /* value, opts, guard */
	bind_push_array_mt(L);                                           /* value, opts, guard, mt */
	e.array_mt = lua_gettop(L);
	e.indent = (int)indent;
	e.sort = sort;
	e.depth = 0;
	int rc = encode_value(L, &e, 1);
	if (rc == 0)
		lua_pushlstring(L, e.g->w.buf ? e.g->w.buf : "", e.g->w.len);
	kip_json_writer_free(&e.g->w);
	free(e.g->keys);
	e.g->keys = NULL;
	return rc ? bind_push_err(L, &e.err) : 1;
}

static const luaL_Reg json_functions[] = {
	{"decode", l_json_decode},
	{"encode", l_json_encode},
	{"array", bind_lua_array},       /* json.array(t) -> t, marked as an array (encodes [] when empty) */
	{"is_array", bind_lua_is_array}, /* json.is_array(v) -> whether v carries the mark */
	{NULL, NULL},
};

int luaopen_kip_json(lua_State *L)
{
	luaL_newlib(L, json_functions);
	bind_push_array_mt(L);
	lua_setfield(L, -2, "array_mt");
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	return 1;
}
