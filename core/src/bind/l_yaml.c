/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.yaml"`: decode, decode_all and encode between YAML text and Lua values, with
 * scalars typed as Kubernetes YAML (go-yaml v2, YAML 1.1) types them. null is the light userdata
 * NULL, the same value as cjson.null; sequences carry yaml.array_mt so empty ones stay sequences.
 * Uses libyaml's event parser and emitter; nothing here blocks on anything but memory. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "bind.h"

#define YAML_MAX_DEPTH 512
/* Aliases share one Lua table, so decoding is cheap, but whoever serializes the result expands
 * them: refuse documents whose aliases stand for many more nodes than the text has (billion laughs). */
#define YAML_ALIAS_FLOOR 100000u
#define YAML_ALIAS_RATIO 10u


/* ---------------------------------------------------------------------------------------------
 * Scalar resolution (YAML 1.1 as go-yaml v2 does it, which is what kubectl and the API server use).
 */

enum scalar_kind { SCALAR_STRING, SCALAR_NULL, SCALAR_BOOL, SCALAR_INT, SCALAR_FLOAT };

struct scalar_value {
	enum scalar_kind kind;
	int boolean;
	long long integer;
	double number;
};

static int is_one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                         "on", "On", "ON", NULL};
static const char *const false_words[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE",
                                          "off", "Off", "OFF", NULL};

/* Integers as Go's strconv.ParseInt(s, 0, 64) reads them: optional sign, then 0x/0o/0b prefixes,
 * a leading 0 for octal, or decimal. */
static int parse_int(const char *s, long long *out)
{
	const char *p = s;
	int negative = 0;
	if (*p == '+' || *p == '-')
		negative = (*p++ == '-');
	int base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		base = 8, p += 2;
	else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
		base = 2, p += 2;
	else if (p[0] == '0' && p[1] != '\0')
		base = 8, p += 1;
	if (*p == '\0')
		return 0;
	unsigned long long magnitude = 0;
	for (; *p; p++) {
		int digit;
		if (*p >= '0' && *p <= '9')
			digit = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			digit = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			digit = *p - 'A' + 10;
		else
			return 0;
		if (digit >= base)
			return 0;
		if (magnitude > (ULLONG_MAX - (unsigned)digit) / (unsigned)base)
			return 0;
		magnitude = magnitude * (unsigned)base + (unsigned)digit;
	}
	if (negative) {
		if (magnitude > (unsigned long long)LLONG_MAX + 1)
			return 0;
		*out = magnitude == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)magnitude;
	} else {
		if (magnitude > (unsigned long long)LLONG_MAX)
			return 0;
		*out = (long long)magnitude;
	}
	return 1;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (go-yaml v2's yamlStyleFloat) */
static int looks_like_float(const char *s)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	} else {
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static int parse_special_float(const char *s, double *out)
{
	static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
	static const char *const neg_inf[] = {"-.inf", "-.Inf", "-.INF", NULL};
	static const char *const nan_words[] = {".nan", ".NaN", ".NAN", NULL};
	if (is_one_of(s, inf))
		*out = HUGE_VAL;
	else if (is_one_of(s, neg_inf))
		*out = -HUGE_VAL;
	else if (is_one_of(s, nan_words))
		*out = NAN;
	else
		return 0;
	return 1;
}

/* Resolves the text of a plain scalar. Only texts that start like a number are tried as numbers
 * (go-yaml's hint table); underscores are dropped first, so 1_000 is 1000. */
static void resolve_plain(const char *text, size_t len, struct scalar_value *v)
{
	v->kind = SCALAR_STRING;
	if (len > 64 || strlen(text) != len) /* no number or keyword is that long or holds a NUL */
		return;
	if (is_one_of(text, null_words)) {
		v->kind = SCALAR_NULL;
		return;
	}
	if (is_one_of(text, true_words) || is_one_of(text, false_words)) {
		v->kind = SCALAR_BOOL;
		v->boolean = is_one_of(text, true_words);
		return;
	}
	if (parse_special_float(text, &v->number)) {
		v->kind = SCALAR_FLOAT;
		return;
	}
	if (!strchr("+-.0123456789", text[0]))
		return;
	char plain[65];
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] != '_')
			plain[n++] = text[i];
	plain[n] = '\0';
	if (parse_int(plain, &v->integer)) {
		v->kind = SCALAR_INT;
		return;
	}
	if (looks_like_float(plain)) {
		errno = 0;
		v->number = strtod(plain, NULL);
		v->kind = SCALAR_FLOAT;
	}
}

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Resolves a scalar event: quoted and block scalars are strings, explicit core tags are honoured,
 * plain scalars are resolved by their text. Returns 0, or -1 when a tag's text does not fit it. */
static int resolve_scalar(const yaml_event_t *ev, struct scalar_value *v)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	if (tag && strncmp(tag, TAG_PREFIX, sizeof TAG_PREFIX - 1) == 0) {
		const char *name = tag + sizeof TAG_PREFIX - 1;
		if (strcmp(name, "str") == 0 || strcmp(name, "binary") == 0 || strcmp(name, "timestamp") == 0) {
			v->kind = SCALAR_STRING;
			return 0;
		}
		resolve_plain(text, len, v);
		if (strcmp(name, "null") == 0)
			return v->kind == SCALAR_NULL ? 0 : -1;
		if (strcmp(name, "bool") == 0)
			return v->kind == SCALAR_BOOL ? 0 : -1;
		if (strcmp(name, "int") == 0)
			return v->kind == SCALAR_INT ? 0 : -1;
		if (strcmp(name, "float") == 0) {
			if (v->kind == SCALAR_INT) {
				v->kind = SCALAR_FLOAT;
				v->number = (double)v->integer;
			}
			return v->kind == SCALAR_FLOAT ? 0 : -1;
		}
		return 0; /* other core tags (merge, value, ...): resolve by the text */
	}
	if (tag && strcmp(tag, "!") == 0) {
		v->kind = SCALAR_STRING; /* the non-specific tag of a quoted scalar */
		return 0;
	}
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		v->kind = SCALAR_STRING;
		return 0;
	}
	resolve_plain(text, len, v);
	return 0;
}

static void push_scalar(lua_State *L, const yaml_event_t *ev, const struct scalar_value *v)
{
	switch (v->kind) {
	case SCALAR_NULL: lua_pushlightuserdata(L, NULL); break;
	case SCALAR_BOOL: lua_pushboolean(L, v->boolean); break;
	case SCALAR_INT: lua_pushinteger(L, (lua_Integer)v->integer); break;
	case SCALAR_FLOAT: lua_pushnumber(L, (lua_Number)v->number); break;
	default:
		lua_pushlstring(L, (const char *)ev->data.scalar.value, ev->data.scalar.length);
	}
}

/* ---------------------------------------------------------------------------------------------
 * Decoding. The parser and the event being read live in a userdata with __gc, so an out-of-memory
 * raise from the Lua API never leaks them. Anchors and their node counts live in Lua tables.
 */

static const char decoder_key; /* registry slot: the decoder guard's metatable */

struct decoder {
	yaml_parser_t parser;
	yaml_event_t event;
	int parser_live, event_live;
	int anchors;        /* stack index: anchor name -> value */
	int anchor_sizes;   /* stack index: anchor name -> node count */
	int depth;
	uint64_t nodes;     /* nodes read from the text */
	uint64_t expanded;  /* nodes aliases stand for */
	char err[512];
};

static void decoder_free(struct decoder *d)
{
	if (d->event_live)
		yaml_event_delete(&d->event);
	if (d->parser_live)
		yaml_parser_delete(&d->parser);
	d->event_live = d->parser_live = 0;
}

static int decoder_gc(lua_State *L)
{
	decoder_free(lua_touserdata(L, 1));
	return 0;
}

static int decoder_fail(struct decoder *d, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int decoder_fail(struct decoder *d, const yaml_mark_t *mark, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(d->err, sizeof d->err, "line %zu, column %zu: %s", mark->line + 1, mark->column + 1, what);
	return -1;
}

static int decoder_parser_error(struct decoder *d)
{
	const yaml_parser_t *p = &d->parser;
	const char *problem = p->problem ? p->problem : "cannot parse YAML";
	if (p->error == YAML_MEMORY_ERROR)
		problem = "out of memory";
	if (p->error == YAML_READER_ERROR) {
		snprintf(d->err, sizeof d->err, "byte %zu: %s", p->problem_offset, problem);
	} else if (p->context) {
		snprintf(d->err, sizeof d->err, "line %zu, column %zu: %s (%s at line %zu, column %zu)",
		         p->problem_mark.line + 1, p->problem_mark.column + 1, problem, p->context,
		         p->context_mark.line + 1, p->context_mark.column + 1);
	} else {
		snprintf(d->err, sizeof d->err, "line %zu, column %zu: %s", p->problem_mark.line + 1,
		         p->problem_mark.column + 1, problem);
	}
	return -1;
}

/* Reads the next event into d->event, deleting the previous one. */
static int decoder_next(struct decoder *d)
{
	if (d->event_live) {
		yaml_event_delete(&d->event);
		d->event_live = 0;
	}
	if (!yaml_parser_parse(&d->parser, &d->event))
		return decoder_parser_error(d);
	d->event_live = 1;
	return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int decode_node(lua_State *L, struct decoder *d, uint64_t *size);

/* Records the value on top of the stack under the anchor of the event that started it. */
static void remember_anchor(lua_State *L, struct decoder *d, const char *anchor, uint64_t size)
{
	if (!anchor)
		return;
	lua_pushvalue(L, -1);
	lua_setfield(L, d->anchors, anchor);
	lua_pushinteger(L, (lua_Integer)(size > LUA_MAXINTEGER ? LUA_MAXINTEGER : size));
	lua_setfield(L, d->anchor_sizes, anchor);
}

static int decode_alias(lua_State *L, struct decoder *d, uint64_t *size)
{
	const char *name = (const char *)d->event.data.alias.anchor;
	if (lua_getfield(L, d->anchors, name) == LUA_TNIL) {
		lua_pop(L, 1);
		return decoder_fail(d, &d->event.start_mark,
		                    "alias *%s refers to no complete anchor before it (undefined or recursive)", name);
	}
	lua_getfield(L, d->anchor_sizes, name);
	*size = (uint64_t)lua_tointeger(L, -1);
	lua_pop(L, 1);
	d->expanded = add_sat(d->expanded, *size);
	if (d->expanded > YAML_ALIAS_FLOOR && d->expanded / YAML_ALIAS_RATIO > d->nodes) {
		lua_pop(L, 1);
		return decoder_fail(d, &d->event.start_mark,
		                    "aliases expand to over ten times the nodes of the document; refusing a possible alias bomb");
	}
	return 0;
}

static int decode_sequence(lua_State *L, struct decoder *d, uint64_t *size)
{
	lua_newtable(L);
	bind_push_array_mt(L);
	lua_setmetatable(L, -2);
	for (lua_Integer i = 1;; i++) {
		if (decoder_next(d) != 0)
			return -1;
		if (d->event.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		uint64_t child = 0;
		if (decode_node(L, d, &child) != 0)
			return -1;
		*size = add_sat(*size, child);
		lua_rawseti(L, -2, i);
	}
}


/* Copies the keys of the mapping at `source` that the mapping at `map` does not have. */
static void merge_mapping(lua_State *L, int map, int source)
{
	lua_pushnil(L);
	while (lua_next(L, source)) {         /* key, value */
		lua_pushvalue(L, -2);
		if (lua_rawget(L, map) == LUA_TNIL) {
			lua_pop(L, 1);
			lua_pushvalue(L, -2);
			lua_insert(L, -2);     /* key, key, value */
			lua_rawset(L, map);    /* key */
		} else {
			lua_pop(L, 2);         /* key */
		}
	}
}

/* `<<: *base` or `<<: [*a, *b]`: keys of the merged mappings that the mapping does not set itself.
 * Merges are applied after the mapping's own keys, earlier merged mappings first. */
static int apply_merge(lua_State *L, struct decoder *d, int map, int source, const yaml_mark_t *mark)
{
	static const char wrong[] = "a merge key (<<) takes a mapping or a list of mappings";
	if (lua_type(L, source) != LUA_TTABLE)
		return decoder_fail(d, mark, "%s", wrong);
	if (!bind_is_array(L, source)) {
		merge_mapping(L, map, source);
		return 0;
	}
	lua_Integer n = (lua_Integer)lua_rawlen(L, source);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, source, i);
		if (lua_type(L, -1) != LUA_TTABLE || bind_is_array(L, -1)) {
			lua_pop(L, 1);
			return decoder_fail(d, mark, "%s", wrong);
		}
		merge_mapping(L, map, lua_gettop(L));
		lua_pop(L, 1);
	}
	return 0;
}

static int decode_mapping(lua_State *L, struct decoder *d, uint64_t *size)
{
	lua_newtable(L);
	int map = lua_gettop(L);
	lua_newtable(L); /* merge sources, applied at the end */
	int merges = map + 1;
	lua_Integer nmerges = 0;
	for (;;) {
		if (decoder_next(d) != 0)
			return -1;
		if (d->event.type == YAML_MAPPING_END_EVENT)
			break;
		yaml_mark_t key_mark = d->event.start_mark;
		int is_merge = 0;
		if (d->event.type == YAML_SCALAR_EVENT) {
			const yaml_event_t *ev = &d->event;
			is_merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.length == 2 &&
			           memcmp(ev->data.scalar.value, "<<", 2) == 0;
			lua_pushlstring(L, (const char *)ev->data.scalar.value, ev->data.scalar.length);
			remember_anchor(L, d, (const char *)ev->data.scalar.anchor, 1);
			d->nodes++;
		} else if (d->event.type == YAML_ALIAS_EVENT) {
			uint64_t ignored;
			if (decode_alias(L, d, &ignored) != 0)
				return -1;
			if (lua_type(L, -1) == LUA_TTABLE || lua_type(L, -1) == LUA_TLIGHTUSERDATA) {
				lua_pop(L, 1);
				return decoder_fail(d, &key_mark, "mapping keys must be scalars");
			}
			luaL_tolstring(L, -1, NULL);
			lua_remove(L, -2);
		} else {
			return decoder_fail(d, &key_mark, "mapping keys must be scalars, not collections");
		}
		if (!is_merge) {
			lua_pushvalue(L, -1);
			if (lua_rawget(L, map) != LUA_TNIL) {
				lua_pop(L, 1);
				return decoder_fail(d, &key_mark, "duplicate key \"%s\"", lua_tostring(L, -1));
			}
			lua_pop(L, 1);
		}
		if (decoder_next(d) != 0)
			return -1;
		uint64_t child = 0;
		if (decode_node(L, d, &child) != 0)
			return -1;
		*size = add_sat(*size, child);
		if (is_merge) {
			lua_rawseti(L, merges, ++nmerges);
			lua_pop(L, 1); /* the "<<" key */
		} else {
			lua_rawset(L, map);
		}
	}
	for (lua_Integer i = 1; i <= nmerges; i++) {
		lua_rawgeti(L, merges, i);
		if (apply_merge(L, d, map, lua_gettop(L), &d->event.start_mark) != 0)
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1); /* merges */
	return 0;
}

/* Pushes the value of the node whose first event is in d->event; *size gets its node count,
 * aliases counted as what they stand for. */
static int decode_node(lua_State *L, struct decoder *d, uint64_t *size)
{
	luaL_checkstack(L, 8, "YAML nesting");
	*size = 1;
	d->nodes++;
	yaml_event_t *ev = &d->event;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		d->nodes--;
		return decode_alias(L, d, size);
	case YAML_SCALAR_EVENT: {
		struct scalar_value v;
		if (resolve_scalar(ev, &v) != 0)
			return decoder_fail(d, &ev->start_mark, "value does not match its tag %s",
			                    (const char *)ev->data.scalar.tag);
		push_scalar(L, ev, &v);
		remember_anchor(L, d, (const char *)ev->data.scalar.anchor, 1);
		return 0;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		if (++d->depth > YAML_MAX_DEPTH)
			return decoder_fail(d, &ev->start_mark, "nesting deeper than %d levels", YAML_MAX_DEPTH);
		int is_seq = ev->type == YAML_SEQUENCE_START_EVENT;
		/* the anchor is freed with the start event, so keep a copy until the node is complete */
		const yaml_char_t *a = is_seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
		char *anchor = a ? strdup((const char *)a) : NULL;
		if (a && !anchor)
			return decoder_fail(d, &ev->start_mark, "out of memory");
		int rc = is_seq ? decode_sequence(L, d, size) : decode_mapping(L, d, size);
		if (rc == 0)
			remember_anchor(L, d, anchor, *size);
		free(anchor);
		d->depth--;
		return rc;
	}
	default:
		return decoder_fail(d, &ev->start_mark, "unexpected YAML event");
	}
}

/* Decodes every document of the text argument into a table at index 2 (null documents kept so
 * the caller decides). Returns 0, or -1 with the message at index 2. */
static int decode_stream(lua_State *L, lua_Integer *count)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	lua_settop(L, 1);
	lua_newtable(L);
	int out = 2;
	struct decoder *d = bind_new_guard(L, sizeof *d, &decoder_key, decoder_gc);
	int ud = lua_gettop(L);
	if (!yaml_parser_initialize(&d->parser))
		return luaL_error(L, "out of memory");
	d->parser_live = 1;
	yaml_parser_set_input_string(&d->parser, (const unsigned char *)text, len);
	*count = 0;
	for (;;) {
		if (decoder_next(d) != 0)
			goto fail;
		yaml_event_type_t type = d->event.type;
		if (type == YAML_STREAM_END_EVENT)
			break;
		if (type == YAML_STREAM_START_EVENT || type == YAML_DOCUMENT_END_EVENT)
			continue;
		if (type != YAML_DOCUMENT_START_EVENT) {
			decoder_fail(d, &d->event.start_mark, "unexpected YAML event");
			goto fail;
		}
		lua_newtable(L); /* anchors are per document */
		d->anchors = lua_gettop(L);
		lua_newtable(L);
		d->anchor_sizes = lua_gettop(L);
		uint64_t size;
		if (decoder_next(d) != 0 || decode_node(L, d, &size) != 0)
			goto fail;
		lua_rawseti(L, out, ++*count);
		lua_settop(L, ud);
	}
	decoder_free(d);
	lua_settop(L, ud - 1);
	return 0;
fail:
	decoder_free(d);
	lua_settop(L, ud);
	lua_pushstring(L, d->err);
	lua_replace(L, out); /* the message takes the documents' slot */
	lua_settop(L, out);
	return -1;
}

static int push_decode_error(lua_State *L)
{
	/* message on top */
	lua_pushnil(L);
	lua_insert(L, -2);
	lua_pushliteral(L, "invalid");
	return 3;
}

/** yaml.decode(text) -> value | nil (empty text) | nil, message, "invalid" */
static int l_yaml_decode(lua_State *L)
{
	lua_Integer count;
	if (decode_stream(L, &count) != 0)
		return push_decode_error(L);
	if (count > 1) {
		lua_pushnil(L);
		lua_pushliteral(L, "the text holds several YAML documents; use decode_all");
		lua_pushliteral(L, "invalid");
		return 3;
	}
	if (count == 0)
		return 0;
	lua_rawgeti(L, 2, 1);
	return 1;
}

/** yaml.decode_all(text) -> array of documents (null documents skipped) | nil, message, "invalid" */
static int l_yaml_decode_all(lua_State *L)
{
	lua_Integer count;
	if (decode_stream(L, &count) != 0)
		return push_decode_error(L);
	lua_newtable(L);
	bind_push_array_mt(L);
	lua_setmetatable(L, -2);
	lua_Integer kept = 0;
	for (lua_Integer i = 1; i <= count; i++) {
		if (lua_rawgeti(L, 2, i) == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == NULL) {
			lua_pop(L, 1);
			continue;
		}
		lua_rawseti(L, 3, ++kept);
	}
	return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Encoding. The emitter and the output buffer live in a userdata with __gc.
 */

static const char encoder_key; /* registry slot: the encoder guard's metatable */

struct encoder {
	yaml_emitter_t emitter;
	int emitter_live;
	char *out;
	size_t len, cap;
	int out_failed;
	int visiting;   /* stack index: table -> true while it is being encoded (cycle check) */
	int path;       /* stack index: array of keys leading to the value being encoded */
	int depth;
	char err[512];
};

struct map_key {
	const char *s;
	size_t len;
	lua_Integer slot; /* index of the original key in the keys table */
};

static void encoder_free(struct encoder *e)
{
	if (e->emitter_live)
		yaml_emitter_delete(&e->emitter);
	e->emitter_live = 0;
	free(e->out);
	e->out = NULL;
}

static int encoder_gc(lua_State *L)
{
	encoder_free(lua_touserdata(L, 1));
	return 0;
}

static int encoder_write(void *data, unsigned char *buffer, size_t size)
{
	struct encoder *e = data;
	if (e->len + size + 1 > e->cap) {
		size_t cap = e->cap ? e->cap : 1024;
		while (cap < e->len + size + 1)
			cap *= 2;
		char *grown = realloc(e->out, cap);
		if (!grown) {
			e->out_failed = 1;
			return 0;
		}
		e->out = grown;
		e->cap = cap;
	}
	memcpy(e->out + e->len, buffer, size);
	e->len += size;
	return 1;
}

/* Writes "what" and the path of the value being encoded into e->err; returns -1. */
static int encoder_fail(lua_State *L, struct encoder *e, const char *what)
{
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	lua_Integer n = (lua_Integer)lua_rawlen(L, e->path);
	for (lua_Integer i = 1; i <= n; i++) {
		int t = lua_rawgeti(L, e->path, i);
		if (t == LUA_TNUMBER) {
			lua_pushfstring(L, "[%s]", luaL_tolstring(L, -1, NULL));
			lua_remove(L, -2);
		} else if (i > 1) {
			lua_pushfstring(L, ".%s", lua_tostring(L, -1));
		} else {
			lua_pushvalue(L, -1);
		}
		lua_remove(L, -2);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	const char *where = lua_tostring(L, -1);
	snprintf(e->err, sizeof e->err, "%s%s%s", where[0] ? where : "", where[0] ? ": " : "", what);
	lua_pop(L, 1);
	return -1;
}

static int encoder_emit(lua_State *L, struct encoder *e, yaml_event_t *ev)
{
	if (yaml_emitter_emit(&e->emitter, ev))
		return 0;
	return encoder_fail(L, e, e->out_failed ? "out of memory"
	                   : e->emitter.problem ? e->emitter.problem : "cannot emit YAML");
}

static int emit_scalar(lua_State *L, struct encoder *e, const char *text, size_t len, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)text, (int)len, 1, 1, style))
		return encoder_fail(L, e, len > INT_MAX ? "string too long" : "string is not valid UTF-8");
	return encoder_emit(L, e, &ev);
}

/* Strings are plain unless the plain text would read back as another type (or a merge key), in
 * which case they are double-quoted; multi-line strings use the literal block style. libyaml
 * itself falls back to quoting where plain or literal cannot represent the text. */
static int emit_string(lua_State *L, struct encoder *e, const char *s, size_t len)
{
	struct scalar_value v;
	resolve_plain(s, len, &v);
	yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;
	if (v.kind != SCALAR_STRING || (len == 2 && memcmp(s, "<<", 2) == 0))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (memchr(s, '\n', len))
		style = YAML_LITERAL_SCALAR_STYLE;
	return emit_scalar(L, e, s, len, style);
}

static int emit_number(lua_State *L, struct encoder *e, int idx)
{
	char buf[64];
	if (lua_isinteger(L, idx)) {
		snprintf(buf, sizeof buf, LUA_INTEGER_FMT, lua_tointeger(L, idx));
	} else {
		double x = lua_tonumber(L, idx);
		if (isnan(x))
			strcpy(buf, ".nan");
		else if (isinf(x))
			strcpy(buf, x > 0 ? ".inf" : "-.inf");
		else {
			for (int precision = 15; precision <= 17; precision++) {
				snprintf(buf, sizeof buf, "%.*g", precision, x);
				if (strtod(buf, NULL) == x)
					break;
			}
			if (!strpbrk(buf, ".eEn"))
				strcat(buf, ".0"); /* keep it a float when read back */
		}
	}
	return emit_scalar(L, e, buf, strlen(buf), YAML_PLAIN_SCALAR_STYLE);
}

static int encode_value(lua_State *L, struct encoder *e, int idx);

/* A table is a sequence when it carries array_mt, or when it is not empty and its keys are
 * exactly 1..n. */
static int is_sequence(lua_State *L, int idx)
{
	if (bind_is_array(L, idx))
		return 1;
	lua_Integer count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
			lua_pop(L, 1);
			return 0;
		}
		count++;
	}
	return count > 0 && (lua_Integer)lua_rawlen(L, idx) == count;
}

static int compare_keys(const void *a, const void *b)
{
	const struct map_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int encode_sequence(lua_State *L, struct encoder *e, int idx)
{
	yaml_event_t ev;
	yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_SEQUENCE_STYLE);
	if (encoder_emit(L, e, &ev) != 0)
		return -1;
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	lua_Integer depth_slot = (lua_Integer)lua_rawlen(L, e->path) + 1;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_pushinteger(L, i - 1);
		lua_rawseti(L, e->path, depth_slot);
		lua_rawgeti(L, idx, i);
		int rc = encode_value(L, e, lua_gettop(L));
		lua_pop(L, 1);
		if (rc != 0)
			return -1;
	}
	lua_pushnil(L);
	lua_rawseti(L, e->path, depth_slot);
	yaml_sequence_end_event_initialize(&ev);
	return encoder_emit(L, e, &ev);
}

static int encode_mapping(lua_State *L, struct encoder *e, int idx)
{
	/* Collect the keys: originals in `keys` (anchoring converted number keys beside them), then
	 * sort their string forms so the output does not depend on table order. */
	lua_newtable(L);
	int keys = lua_gettop(L);
	lua_Integer n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		int t = lua_type(L, -1);
		if (t != LUA_TSTRING && t != LUA_TNUMBER) {
			lua_pop(L, 1);
			lua_settop(L, keys - 1);
			return encoder_fail(L, e, "mapping keys must be strings or numbers");
		}
		lua_pushvalue(L, -1);
		lua_rawseti(L, keys, 2 * ++n - 1);
		lua_pushvalue(L, -1);
		lua_tolstring(L, -1, NULL); /* converts the copy */
		lua_rawseti(L, keys, 2 * n);
	}
	struct map_key *sorted = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *sorted, 0);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, keys, 2 * i);
		sorted[i - 1].s = lua_tolstring(L, -1, &sorted[i - 1].len); /* anchored in keys */
		sorted[i - 1].slot = 2 * i - 1;
		lua_pop(L, 1);
	}
	qsort(sorted, (size_t)n, sizeof *sorted, compare_keys);

	yaml_event_t ev;
	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_MAPPING_STYLE);
	if (encoder_emit(L, e, &ev) != 0)
		goto fail;
	lua_Integer depth_slot = (lua_Integer)lua_rawlen(L, e->path) + 1;
	for (lua_Integer i = 0; i < n; i++) {
		if (i > 0 && compare_keys(&sorted[i - 1], &sorted[i]) == 0) {
			encoder_fail(L, e, "a table has both a number and a string key that read the same");
			goto fail;
		}
		lua_rawgeti(L, keys, sorted[i].slot); /* original key */
		lua_pushlstring(L, sorted[i].s, sorted[i].len);
		lua_rawseti(L, e->path, depth_slot);
		if (emit_string(L, e, sorted[i].s, sorted[i].len) != 0)
			goto fail;
		lua_rawget(L, idx);
		int rc = encode_value(L, e, lua_gettop(L));
		lua_pop(L, 1);
		if (rc != 0)
			goto fail;
	}
	lua_pushnil(L);
	lua_rawseti(L, e->path, depth_slot);
	lua_settop(L, keys - 1);
	yaml_mapping_end_event_initialize(&ev);
	return encoder_emit(L, e, &ev);
fail:
	lua_settop(L, keys - 1);
	return -1;
}

static int encode_table(lua_State *L, struct encoder *e, int idx)
{
	if (e->depth >= YAML_MAX_DEPTH)
		return encoder_fail(L, e, "nesting deeper than 512 levels");
	lua_pushvalue(L, idx);
	if (lua_rawget(L, e->visiting) != LUA_TNIL) {
		lua_pop(L, 1);
		return encoder_fail(L, e, "a table contains itself, which YAML text cannot hold");
	}
	lua_pop(L, 1);
	lua_pushvalue(L, idx);
	lua_pushboolean(L, 1);
	lua_rawset(L, e->visiting);
	e->depth++;
	int rc = is_sequence(L, idx) ? encode_sequence(L, e, idx) : encode_mapping(L, e, idx);
	e->depth--;
	lua_pushvalue(L, idx);
	lua_pushnil(L);
	lua_rawset(L, e->visiting);
	return rc;
}

static int encode_value(lua_State *L, struct encoder *e, int idx)
{
	luaL_checkstack(L, 10, "YAML nesting");
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return emit_scalar(L, e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == NULL)
			return emit_scalar(L, e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
		break;
	case LUA_TBOOLEAN:
		return lua_toboolean(L, idx) ? emit_scalar(L, e, "true", 4, YAML_PLAIN_SCALAR_STYLE)
		                             : emit_scalar(L, e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	case LUA_TNUMBER:
		return emit_number(L, e, idx);
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		return emit_string(L, e, s, len);
	}
	case LUA_TTABLE:
		return encode_table(L, e, idx);
	default:
		break;
	}
	char what[96];
	snprintf(what, sizeof what, "cannot encode a %s value as YAML", luaL_typename(L, idx));
	return encoder_fail(L, e, what);
}

/* Encodes documents[1..n] (at index docs) into one stream; `explicit_start` puts "---" before
 * each document. Returns the number of values pushed (text, or nil, message, code). */
static int encode_documents(lua_State *L, int docs, lua_Integer n, int explicit_start)
{
	struct encoder *e = bind_new_guard(L, sizeof *e, &encoder_key, encoder_gc);
	if (!yaml_emitter_initialize(&e->emitter))
		return luaL_error(L, "out of memory");
	e->emitter_live = 1;
	yaml_emitter_set_output(&e->emitter, encoder_write, e);
	yaml_emitter_set_unicode(&e->emitter, 1);
	yaml_emitter_set_width(&e->emitter, -1);
	yaml_emitter_set_indent(&e->emitter, 2);
	lua_newtable(L);
	e->visiting = lua_gettop(L);
	lua_newtable(L);
	e->path = lua_gettop(L);

	yaml_event_t ev;
	int rc = 0;
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	rc = encoder_emit(L, e, &ev);
	for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, !explicit_start);
		rc = encoder_emit(L, e, &ev);
		if (rc == 0) {
			lua_rawgeti(L, docs, i);
			rc = encode_value(L, e, lua_gettop(L));
			lua_pop(L, 1);
		}
		if (rc == 0) {
			yaml_document_end_event_initialize(&ev, 1);
			rc = encoder_emit(L, e, &ev);
		}
	}
	if (rc == 0) {
		yaml_stream_end_event_initialize(&ev);
		rc = encoder_emit(L, e, &ev);
	}
	if (rc == 0 && !yaml_emitter_flush(&e->emitter))
		rc = encoder_fail(L, e, "out of memory");
	if (rc != 0) {
		lua_pushnil(L);
		lua_pushstring(L, e->err);
		lua_pushliteral(L, "invalid");
	} else {
		lua_pushlstring(L, e->out ? e->out : "", e->len);
	}
	encoder_free(e);
	return rc != 0 ? 3 : 1;
}

/** yaml.encode(value) -> text | nil, message, "invalid" */
static int l_yaml_encode(lua_State *L)
{
	luaL_checkany(L, 1);
	lua_settop(L, 1);
	lua_createtable(L, 1, 0);
	lua_pushvalue(L, 1);
	lua_rawseti(L, 2, 1);
	return encode_documents(L, 2, 1, 0);
}

/** yaml.encode_all(documents) -> text with "---" before each document | nil, message, "invalid" */
static int l_yaml_encode_all(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	return encode_documents(L, 1, (lua_Integer)lua_rawlen(L, 1), 1);
}

static const luaL_Reg yaml_functions[] = {
	{"decode", l_yaml_decode},
	{"decode_all", l_yaml_decode_all},
	{"encode", l_yaml_encode},
	{"encode_all", l_yaml_encode_all},
	{"array", bind_lua_array},       /* yaml.array(t) -> t, marked as a sequence */
	{"is_array", bind_lua_is_array}, /* yaml.is_array(v) -> whether v carries the mark */
	{NULL, NULL},
};

int luaopen_kip_yaml(lua_State *L)
{
	luaL_newlib(L, yaml_functions);
	bind_push_array_mt(L);
	lua_setfield(L, -2, "array_mt");
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	lua_pushfstring(L, "libyaml %s", yaml_get_version_string());
	lua_setfield(L, -2, "_LIBRARY");
	return 1;
}
