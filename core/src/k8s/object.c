/* SPDX-License-Identifier: Apache-2.0
 * Informer objects (kip/watch.h: kip_k8s_obj) and the decoding of what the API server sends
 * (object.h): one pass of the kip/json.h pull reader over a list page or watch line copies each
 * object into a compact text of its own (kip_json_writer) and notes its namespace, name and
 * resourceVersion on the way, so nothing is parsed twice. Uses kip/json.h and libc. */
#include "k8s/object.h"

#include <stdlib.h>
#include <string.h>

#include "kip/json.h"

/* --- objects ------------------------------------------------------------------------------------ */

struct kip_k8s_obj *kip_k8s_obj_new(const char *ns, const char *name, const char *rv, const char *json,
                                    size_t json_len)
{
	ns = ns ? ns : "";
	rv = rv ? rv : "";
	size_t nsl = strlen(ns), nl = strlen(name), rvl = strlen(rv);
	size_t keyl = nsl ? nsl + 1 + nl : nl;
	struct kip_k8s_obj *o = malloc(sizeof *o + keyl + 1 + nsl + 1 + nl + 1 + rvl + 1 + json_len + 1);
	if (!o)
		return NULL;
	char *p = (char *)(o + 1);
	o->key = p;
	if (nsl) {
		memcpy(p, ns, nsl);
		p[nsl] = '/';
		memcpy(p + nsl + 1, name, nl + 1);
	} else {
		memcpy(p, name, nl + 1);
	}
	p += keyl + 1;
	o->ns = memcpy(p, ns, nsl + 1);
	p += nsl + 1;
	o->name = memcpy(p, name, nl + 1);
	p += nl + 1;
	o->rv = memcpy(p, rv, rvl + 1);
	p += rvl + 1;
	memcpy(p, json, json_len);
	p[json_len] = '\0';
	o->json = p;
	o->json_len = json_len;
	atomic_init(&o->refs, 1);
	return o;
}

struct kip_k8s_obj *kip_k8s_obj_ref(struct kip_k8s_obj *o)
{
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
	return o;
}

void kip_k8s_obj_unref(struct kip_k8s_obj *o)
{
	if (o && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
		free(o);
}

void kip_k8s_obj_list_free(struct kip_k8s_obj **objs, size_t n)
{
	for (size_t i = 0; objs && i < n; i++)
		kip_k8s_obj_unref(objs[i]);
	free(objs);
}

/* --- copying values ------------------------------------------------------------------------------- */

enum { TOP_OTHER, TOP_METADATA, TOP_KIND, TOP_APIVERSION, TOP_CODE, TOP_MESSAGE };
enum { META_OTHER, META_NAME, META_NAMESPACE, META_RV };

/* What obj_copy notes about the object it copies (strings malloc'd). */
struct obj_fields {
	char *name, *ns, *rv, *kind, *api_version, *message;
	int64_t code;
};

static void fields_free(struct obj_fields *f)
{
	free(f->name);
	free(f->ns);
	free(f->rv);
	free(f->kind);
	free(f->api_version);
	free(f->message);
	memset(f, 0, sizeof *f);
}

static bool same(const struct kip_json_reader *r, const char *s)
{
	size_t n = strlen(s);
	return r->str_len == n && memcmp(r->str, s, n) == 0;
}

static int set_str(char **slot, const struct kip_json_reader *r, struct kip_err *err)
{
	char *s = malloc(r->str_len + 1);
	if (!s)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	memcpy(s, r->str, r->str_len);
	s[r->str_len] = '\0';
	free(*slot);
	*slot = s;
	return 0;
}

static int top_field(const struct kip_json_reader *r)
{
	return same(r, "metadata") ? TOP_METADATA : same(r, "kind") ? TOP_KIND
	       : same(r, "apiVersion") ? TOP_APIVERSION : same(r, "code") ? TOP_CODE
	       : same(r, "message") ? TOP_MESSAGE : TOP_OTHER;
}

static int meta_field(const struct kip_json_reader *r)
{
	return same(r, "name") ? META_NAME : same(r, "namespace") ? META_NAMESPACE
	       : same(r, "resourceVersion") ? META_RV : META_OTHER;
}

/* Records a string or integer at level rel (1: a member of the copied object, 2: of its
 * metadata). */
static int note_field(const struct kip_json_reader *r, int tok, int rel, int top, int meta,
                      struct obj_fields *f, struct kip_err *err)
{
	if (tok == KIP_JSON_INTEGER && rel == 1 && top == TOP_CODE)
		f->code = r->integer;
	if (tok != KIP_JSON_STRING)
		return 0;
	if (rel == 1) {
		switch (top) {
		case TOP_KIND: return set_str(&f->kind, r, err);
		case TOP_APIVERSION: return set_str(&f->api_version, r, err);
		case TOP_MESSAGE: return set_str(&f->message, r, err);
		default: return 0;
		}
	}
	if (rel == 2 && top == TOP_METADATA) {
		switch (meta) {
		case META_NAME: return set_str(&f->name, r, err);
		case META_NAMESPACE: return set_str(&f->ns, r, err);
		case META_RV: return set_str(&f->rv, r, err);
		default: return 0;
		}
	}
	return 0;
}

static int write_token(struct kip_json_writer *w, const struct kip_json_reader *r, int tok)
{
	switch (tok) {
	case KIP_JSON_NULL: return kip_json_write(w, "null", 4);
	case KIP_JSON_FALSE: return kip_json_write(w, "false", 5);
	case KIP_JSON_TRUE: return kip_json_write(w, "true", 4);
	case KIP_JSON_INTEGER: return kip_json_write_integer(w, r->integer);
	case KIP_JSON_FLOAT: return kip_json_write_number(w, r->number);
	case KIP_JSON_STRING: return kip_json_write_string(w, r->str, r->str_len);
	case KIP_JSON_OBJECT: return kip_json_write_char(w, '{');
	case KIP_JSON_OBJECT_END: return kip_json_write_char(w, '}');
	case KIP_JSON_ARRAY: return kip_json_write_char(w, '[');
	case KIP_JSON_ARRAY_END: return kip_json_write_char(w, ']');
	default: return KIP_EINVAL;
	}
}

/* Copies into w (or skips, when w is NULL) the value whose first token tok was just read, noting
 * fields of it in f (when not NULL). Levels are counted from the value: its members are at 1. */
static int obj_copy(struct kip_json_reader *r, int tok, struct kip_json_writer *w, struct obj_fields *f,
                    struct kip_err *err)
{
	bool container = tok == KIP_JSON_OBJECT || tok == KIP_JSON_ARRAY;
	int base = r->depth - (container ? 1 : 0);
	bool comma[KIP_JSON_MAX_DEPTH + 1]; /* comma[l]: the container at level l has an element already */
	bool after_key = true;              /* the next value follows a key (or is the copied value) */
	int top = TOP_OTHER, meta = META_OTHER;
	comma[0] = false;
	for (;;) {
		int rc = 0;
		if (tok == KIP_JSON_KEY) {
			int level = r->depth - base;
			if (level == 1)
				top = top_field(r), meta = META_OTHER;
			else if (level == 2 && top == TOP_METADATA)
				meta = meta_field(r);
			if (w && ((comma[level] && kip_json_write_char(w, ',')) ||
			          kip_json_write_string(w, r->str, r->str_len) || kip_json_write_char(w, ':')))
				rc = KIP_ENOMEM;
			comma[level] = true;
			after_key = true;
		} else if (tok == KIP_JSON_OBJECT_END || tok == KIP_JSON_ARRAY_END) {
			if (w && write_token(w, r, tok))
				rc = KIP_ENOMEM;
			after_key = false;
		} else {
			bool open = tok == KIP_JSON_OBJECT || tok == KIP_JSON_ARRAY;
			int level = r->depth - base - (open ? 1 : 0); /* where the value sits */
			if (w && !after_key && comma[level] && kip_json_write_char(w, ','))
				rc = KIP_ENOMEM;
			comma[level] = true;
			after_key = false;
			if (open)
				comma[level + 1] = false;
			else if (f && !rc)
				rc = note_field(r, tok, level, top, meta, f, err);
			if (!rc && w && write_token(w, r, tok))
				rc = KIP_ENOMEM;
		}
		if (rc)
			return kip_err_set(err, KIP_ENOMEM, "out of memory");
		if (r->depth == base)
			return 0;
		tok = kip_json_next(r, err);
		if (tok < 0)
			return tok;
		if (tok == KIP_JSON_END)
			return kip_err_set(err, KIP_EINVAL, "unexpected end of JSON");
	}
}

/* Makes the object copied into w, with the fields noted. */
static int make_obj(const struct obj_fields *f, const char *json, size_t len, struct kip_k8s_obj **out,
                    struct kip_err *err)
{
	*out = NULL;
	if (!f->name || !*f->name)
		return kip_err_set(err, KIP_EINVAL, "an object without metadata.name");
	*out = kip_k8s_obj_new(f->ns, f->name, f->rv, json, len);
	return *out ? 0 : kip_err_set(err, KIP_ENOMEM, "out of memory");
}

/* --- list pages ----------------------------------------------------------------------------------- */

struct pending_item {
	struct kip_json_writer w;
	struct obj_fields f;
};

struct list_parse {
	struct pending_item *items;
	size_t n, cap;
	char *kind, *api_version, *rv, *cont;
};

static void list_parse_free(struct list_parse *lp)
{
	for (size_t i = 0; i < lp->n; i++) {
		kip_json_writer_free(&lp->items[i].w);
		fields_free(&lp->items[i].f);
	}
	free(lp->items);
	free(lp->kind);
	free(lp->api_version);
	free(lp->rv);
	free(lp->cont);
}

static int expect_string(struct kip_json_reader *r, char **slot, const char *what, struct kip_err *err)
{
	int tok = kip_json_next(r, err);
	if (tok == KIP_JSON_STRING)
		return set_str(slot, r, err);
	if (tok < 0)
		return tok;
	if (tok == KIP_JSON_NULL)
		return 0;
	return kip_err_set(err, KIP_EINVAL, "%s is not a string", what);
}

static int parse_list_metadata(struct kip_json_reader *r, struct list_parse *lp, struct kip_err *err)
{
	int tok = kip_json_next(r, err);
	if (tok != KIP_JSON_OBJECT)
		return tok < 0 ? tok : kip_err_set(err, KIP_EINVAL, "the list's metadata is not an object");
	while ((tok = kip_json_next(r, err)) == KIP_JSON_KEY) {
		int rc;
		if (same(r, "resourceVersion"))
			rc = expect_string(r, &lp->rv, "metadata.resourceVersion", err);
		else if (same(r, "continue"))
			rc = expect_string(r, &lp->cont, "metadata.continue", err);
		else
			rc = (tok = kip_json_next(r, err)) < 0 ? tok : obj_copy(r, tok, NULL, NULL, err);
		if (rc)
			return rc;
	}
	return tok == KIP_JSON_OBJECT_END ? 0 : tok < 0 ? tok : kip_err_set(err, KIP_EINVAL, "bad list metadata");
}

static int parse_list_items(struct kip_json_reader *r, struct list_parse *lp, struct kip_err *err)
{
	int tok = kip_json_next(r, err);
	if (tok == KIP_JSON_NULL)
		return 0;
	if (tok != KIP_JSON_ARRAY)
		return tok < 0 ? tok : kip_err_set(err, KIP_EINVAL, "the list's items are not an array");
	while ((tok = kip_json_next(r, err)) != KIP_JSON_ARRAY_END) {
		if (tok < 0)
			return tok;
		if (tok != KIP_JSON_OBJECT)
			return kip_err_set(err, KIP_EINVAL, "a list item is not an object");
		if (lp->n == lp->cap) {
			size_t cap = lp->cap ? lp->cap * 2 : 64;
			struct pending_item *p = realloc(lp->items, cap * sizeof *p);
			if (!p)
				return kip_err_set(err, KIP_ENOMEM, "out of memory");
			lp->items = p;
			lp->cap = cap;
		}
		struct pending_item *it = &lp->items[lp->n++];
		memset(it, 0, sizeof *it);
		int rc = obj_copy(r, tok, &it->w, &it->f, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The item's text, with "apiVersion" and "kind" added when it lacks them (into w2). */
static int item_text(struct pending_item *it, const struct list_parse *lp, const char *kind,
                     struct kip_json_writer *w2, const char **text, size_t *len)
{
	*text = it->w.buf;
	*len = it->w.len;
	bool add_api = !it->f.api_version && lp->api_version, add_kind = !it->f.kind && kind;
	if (!add_api && !add_kind)
		return 0;
	bool empty = it->w.len <= 2;
	if (kip_json_write(w2, it->w.buf, it->w.len - 1))
		return KIP_ENOMEM;
	if (add_api && ((!empty && kip_json_write_char(w2, ',')) || kip_json_write(w2, "\"apiVersion\":", 13) ||
	                kip_json_write_string(w2, lp->api_version, strlen(lp->api_version))))
		return KIP_ENOMEM;
	if (add_kind && (((!empty || add_api) && kip_json_write_char(w2, ',')) || kip_json_write(w2, "\"kind\":", 7) ||
	                 kip_json_write_string(w2, kind, strlen(kind))))
		return KIP_ENOMEM;
	if (kip_json_write_char(w2, '}'))
		return KIP_ENOMEM;
	*text = w2->buf;
	*len = w2->len;
	return 0;
}

static int list_finish(struct list_parse *lp, struct k8s_list_page *page, struct kip_err *err)
{
	char *kind = NULL; /* "ConfigMapList" -> "ConfigMap" */
	if (lp->kind) {
		size_t n = strlen(lp->kind);
		if (n > 4 && strcmp(lp->kind + n - 4, "List") == 0) {
			kind = lp->kind;
			kind[n - 4] = '\0';
		}
	}
	if (page->cap - page->n < lp->n) {
		size_t cap = page->n + lp->n + 1;
		struct kip_k8s_obj **items = realloc(page->items, cap * sizeof *items);
		if (!items)
			return kip_err_set(err, KIP_ENOMEM, "out of memory");
		page->items = items;
		page->cap = cap;
	}
	for (size_t i = 0; i < lp->n; i++) {
		struct kip_json_writer w2 = {0};
		const char *text;
		size_t len;
		if (item_text(&lp->items[i], lp, kind, &w2, &text, &len)) {
			kip_json_writer_free(&w2);
			return kip_err_set(err, KIP_ENOMEM, "out of memory");
		}
		int rc = make_obj(&lp->items[i].f, text, len, &page->items[page->n], err);
		kip_json_writer_free(&w2);
		if (rc)
			return rc;
		page->n++;
	}
	free(page->rv);
	free(page->cont);
	page->rv = lp->rv;
	page->cont = lp->cont && *lp->cont ? lp->cont : NULL;
	if (lp->cont && !page->cont)
		free(lp->cont);
	lp->rv = lp->cont = NULL;
	return 0;
}

int k8s_parse_list(const char *text, size_t len, struct k8s_list_page *page, struct kip_err *err)
{
	struct kip_json_reader r;
	struct list_parse lp = {0};
	kip_json_reader_init(&r, text, len);
	int tok = kip_json_next(&r, err), rc = 0;
	if (tok != KIP_JSON_OBJECT) {
		rc = tok < 0 ? tok : kip_err_set(err, KIP_EINVAL, "the list answer is not a JSON object");
		goto done;
	}
	while (rc == 0 && (tok = kip_json_next(&r, err)) == KIP_JSON_KEY) {
		if (same(&r, "items"))
			rc = parse_list_items(&r, &lp, err);
		else if (same(&r, "metadata"))
			rc = parse_list_metadata(&r, &lp, err);
		else if (same(&r, "kind"))
			rc = expect_string(&r, &lp.kind, "kind", err);
		else if (same(&r, "apiVersion"))
			rc = expect_string(&r, &lp.api_version, "apiVersion", err);
		else
			rc = (tok = kip_json_next(&r, err)) < 0 ? tok : obj_copy(&r, tok, NULL, NULL, err);
	}
	if (rc == 0 && tok < 0)
		rc = tok;
	if (rc == 0 && (tok = kip_json_next(&r, err)) != KIP_JSON_END)
		rc = tok < 0 ? tok : kip_err_set(err, KIP_EINVAL, "text after the list");
	if (rc == 0)
		rc = list_finish(&lp, page, err);
done:
	list_parse_free(&lp);
	kip_json_reader_free(&r);
	return rc;
}

void k8s_list_page_free(struct k8s_list_page *page)
{
	kip_k8s_obj_list_free(page->items, page->n);
	free(page->rv);
	free(page->cont);
	memset(page, 0, sizeof *page);
}

/* --- watch events and Status ---------------------------------------------------------------------- */

int k8s_parse_event(const char *line, size_t len, struct k8s_watch_event *ev, struct kip_err *err)
{
	memset(ev, 0, sizeof *ev);
	struct kip_json_reader r;
	struct kip_json_writer w = {0};
	struct obj_fields f = {0};
	char *type = NULL;
	bool have_obj = false;
	kip_json_reader_init(&r, line, len);
	int tok = kip_json_next(&r, err), rc = 0;
	if (tok != KIP_JSON_OBJECT) {
		rc = tok < 0 ? tok : kip_err_set(err, KIP_EINVAL, "a watch event is not a JSON object");
		goto done;
	}
	while (rc == 0 && (tok = kip_json_next(&r, err)) == KIP_JSON_KEY) {
		if (same(&r, "type")) {
			rc = expect_string(&r, &type, "the event type", err);
		} else if (same(&r, "object")) {
			w.len = 0;
			fields_free(&f);
			rc = (tok = kip_json_next(&r, err)) < 0 ? tok : obj_copy(&r, tok, &w, &f, err);
			have_obj = tok == KIP_JSON_OBJECT;
		} else {
			rc = (tok = kip_json_next(&r, err)) < 0 ? tok : obj_copy(&r, tok, NULL, NULL, err);
		}
	}
	if (rc == 0 && tok < 0)
		rc = tok;
	if (rc == 0 && (tok = kip_json_next(&r, err)) != KIP_JSON_END)
		rc = tok < 0 ? tok : kip_err_set(err, KIP_EINVAL, "text after the watch event");
	if (rc)
		goto done;
	if (!type || !have_obj) {
		rc = kip_err_set(err, KIP_EINVAL, "a watch event without a type or an object");
		goto done;
	}
	static const struct { const char *name; enum k8s_event_kind kind; } kinds[] = {
		{"ADDED", K8S_EV_ADDED}, {"MODIFIED", K8S_EV_MODIFIED}, {"DELETED", K8S_EV_DELETED},
		{"BOOKMARK", K8S_EV_BOOKMARK}, {"ERROR", K8S_EV_ERROR},
	};
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (strcmp(type, kinds[i].name) == 0)
			ev->kind = kinds[i].kind;
	if (!ev->kind) {
		rc = kip_err_set(err, KIP_EINVAL, "unknown watch event type '%.64s'", type);
		goto done;
	}
	if (ev->kind == K8S_EV_ERROR) {
		ev->code = f.code;
		ev->message = f.message;
		f.message = NULL;
		goto done;
	}
	ev->rv = f.rv;
	f.rv = NULL;
	if (ev->kind != K8S_EV_BOOKMARK)
		rc = make_obj(&f, w.buf, w.len, &ev->obj, err);
done:
	if (rc)
		k8s_watch_event_free(ev);
	free(type);
	fields_free(&f);
	kip_json_writer_free(&w);
	kip_json_reader_free(&r);
	return rc;
}

void k8s_watch_event_free(struct k8s_watch_event *ev)
{
	kip_k8s_obj_unref(ev->obj);
	free(ev->rv);
	free(ev->message);
	memset(ev, 0, sizeof *ev);
}

int k8s_parse_status(const char *text, size_t len, int64_t *code, char **message, struct kip_err *err)
{
	*code = 0;
	*message = NULL;
	struct kip_json_reader r;
	struct obj_fields f = {0};
	kip_json_reader_init(&r, text, len);
	int tok = kip_json_next(&r, err), rc;
	if (tok != KIP_JSON_OBJECT)
		rc = tok < 0 ? tok : kip_err_set(err, KIP_EINVAL, "not a JSON object");
	else
		rc = obj_copy(&r, tok, NULL, &f, err);
	if (rc == 0) {
		*code = f.code;
		*message = f.message;
		f.message = NULL;
	}
	fields_free(&f);
	kip_json_reader_free(&r);
	return rc;
}
