/* SPDX-License-Identifier: Apache-2.0
 * Tests of the informer's data side: objects (kip/watch.h), the cache (k8s/cache.h: put, get,
 * remove, sorted lists, the relist reconcile and its deltas) and the decoding of list pages,
 * watch lines and Status bodies (k8s/object.h), objects copied out as compact JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "k8s/cache.h"
#include "k8s/object.h"
#include "k8s/strmap.h"

static struct kip_k8s_obj *obj(const char *ns, const char *name, const char *rv)
{
	char json[256];
	snprintf(json, sizeof json, "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"resourceVersion\":\"%s\"}}",
	         name, ns ? ns : "", rv);
	return kip_k8s_obj_new(ns, name, rv, json, strlen(json));
}

static void test_objects(void)
{
	struct kip_k8s_obj *a = obj("default", "web", "7");
	CHECK_STR(a->key, "default/web");
	CHECK_STR(a->ns, "default");
	CHECK_STR(a->name, "web");
	CHECK_STR(a->rv, "7");
	CHECK(a->json[a->json_len] == '\0');
	struct kip_k8s_obj *n = kip_k8s_obj_new(NULL, "node-1", NULL, "{}", 2);
	CHECK_STR(n->key, "node-1");
	CHECK_STR(n->ns, "");
	CHECK_STR(n->rv, "");
	CHECK(kip_k8s_obj_ref(a) == a);
	kip_k8s_obj_unref(a);
	kip_k8s_obj_unref(a);
	kip_k8s_obj_unref(n);
	kip_k8s_obj_unref(NULL);
}

static void test_map(void)
{
	struct k8s_map m;
	k8s_map_init(&m);
	CHECK(k8s_map_get(&m, "x") == NULL);
	CHECK(k8s_map_del(&m, "x") == NULL);
	static char keys[1000][8];
	for (int i = 0; i < 1000; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		CHECK(k8s_map_put(&m, keys[i], keys[i], NULL) == 0);
	}
	CHECK(m.count == 1000);
	void *old = NULL;
	CHECK(k8s_map_put(&m, keys[5], keys[6], &old) == 0);
	CHECK(old == keys[5]);
	CHECK(k8s_map_get(&m, "k5") == keys[6]);
	size_t seen = 0;
	for (struct k8s_map_iter it = {0}; k8s_map_next(&m, &it);) {
		seen++;
		if (seen % 2) /* deleting the current entry while iterating is allowed */
			k8s_map_del(&m, it.ent->key);
	}
	CHECK(seen == 1000);
	CHECK(m.count == 500);
	k8s_map_clear(&m, NULL);
	CHECK(m.count == 0);
	CHECK(k8s_map_get(&m, "k1") == NULL);
}

static void test_cache_basics(void)
{
	struct k8s_cache *c = k8s_cache_new();
	struct kip_k8s_obj *old = (struct kip_k8s_obj *)1;
	CHECK(k8s_cache_put(c, obj("b", "x", "1"), &old) == 0);
	CHECK(old == NULL);
	CHECK(k8s_cache_put(c, obj("a", "y", "2"), &old) == 0);
	CHECK(k8s_cache_put(c, obj("a-b", "z", "3"), &old) == 0);
	CHECK(k8s_cache_put(c, obj(NULL, "cluster", "4"), &old) == 0);
	CHECK(k8s_cache_put(c, obj("b", "x", "5"), &old) == 0);
	CHECK(old && strcmp(old->rv, "1") == 0);
	kip_k8s_obj_unref(old);
	CHECK(k8s_cache_len(c) == 4);
	struct kip_k8s_obj *got = k8s_cache_get(c, "b/x");
	CHECK(got && strcmp(got->rv, "5") == 0);
	kip_k8s_obj_unref(got);
	CHECK(k8s_cache_get(c, "b/nope") == NULL);
	got = k8s_cache_get(c, "cluster");
	CHECK(got != NULL);
	kip_k8s_obj_unref(got);

	struct kip_k8s_obj **all;
	size_t n;
	CHECK(k8s_cache_list(c, NULL, &all, &n) == 0);
	CHECK(n == 4);
	if (n == 4) { /* by namespace then name: "" < "a" < "a-b" < "b" (not by key: "a-b/z" < "a/y") */
		CHECK_STR(all[0]->key, "cluster");
		CHECK_STR(all[1]->key, "a/y");
		CHECK_STR(all[2]->key, "a-b/z");
		CHECK_STR(all[3]->key, "b/x");
	}
	kip_k8s_obj_list_free(all, n);
	CHECK(k8s_cache_list(c, "a", &all, &n) == 0);
	CHECK(n == 1 && strcmp(all[0]->key, "a/y") == 0);
	kip_k8s_obj_list_free(all, n);
	CHECK(k8s_cache_list(c, "none", &all, &n) == 0);
	CHECK(n == 0);
	kip_k8s_obj_list_free(all, n);

	struct kip_k8s_obj *gone = k8s_cache_remove(c, "a/y");
	CHECK(gone && strcmp(gone->name, "y") == 0);
	kip_k8s_obj_unref(gone);
	CHECK(k8s_cache_remove(c, "a/y") == NULL);
	CHECK(k8s_cache_len(c) == 3);
	k8s_cache_free(c);
	k8s_cache_free(NULL);
}

struct deltas {
	char log[1024];
};

static void record(void *ud, enum kip_informer_event_type type, struct kip_k8s_obj *old, struct kip_k8s_obj *o)
{
	struct deltas *d = ud;
	size_t n = strlen(d->log);
	if (type == KIP_INFORMER_ADD)
		snprintf(d->log + n, sizeof d->log - n, "add %s@%s;", o->key, o->rv);
	else if (type == KIP_INFORMER_UPDATE)
		snprintf(d->log + n, sizeof d->log - n, "update %s@%s->%s;", o->key, old->rv, o->rv);
	else
		snprintf(d->log + n, sizeof d->log - n, "delete %s@%s%s;", old->key, old->rv, o ? "+obj" : "");
}

static void test_replace(void)
{
	struct k8s_cache *c = k8s_cache_new();
	struct deltas d = {{0}};
	struct kip_k8s_obj *first[] = {obj("ns", "b", "1"), obj("ns", "a", "1"), obj("ns", "c", "1")};
	CHECK(k8s_cache_replace(c, first, 3, record, &d) == 0);
	CHECK_STR(d.log, "add ns/a@1;add ns/b@1;add ns/c@1;");

	/* b changed, c is gone, d is new, a is the same; the duplicate e: the last one wins */
	d.log[0] = '\0';
	struct kip_k8s_obj *second[] = {obj("ns", "e", "8"), obj("ns", "d", "5"), obj("ns", "b", "4"),
	                                obj("ns", "a", "1"), obj("ns", "e", "9"), obj("other", "c", "1")};
	CHECK(k8s_cache_replace(c, second, 6, record, &d) == 0);
	CHECK_STR(d.log, "delete ns/c@1;update ns/b@1->4;add ns/d@5;add ns/e@9;add other/c@1;");
	CHECK(k8s_cache_len(c) == 5);
	struct kip_k8s_obj *e = k8s_cache_get(c, "ns/e");
	CHECK(e && strcmp(e->rv, "9") == 0);
	kip_k8s_obj_unref(e);

	/* objects without a resourceVersion compare by text */
	d.log[0] = '\0';
	struct kip_k8s_obj *t1 = kip_k8s_obj_new("ns", "t", NULL, "{\"a\":1}", 7);
	struct kip_k8s_obj *third[] = {t1};
	CHECK(k8s_cache_replace(c, third, 1, record, &d) == 0);
	CHECK_STR(d.log, "delete ns/a@1;delete ns/b@4;delete ns/d@5;delete ns/e@9;delete other/c@1;add ns/t@;");
	d.log[0] = '\0';
	struct kip_k8s_obj *fourth[] = {kip_k8s_obj_new("ns", "t", NULL, "{\"a\":1}", 7)};
	CHECK(k8s_cache_replace(c, fourth, 1, record, &d) == 0);
	CHECK_STR(d.log, "");
	struct kip_k8s_obj *fifth[] = {kip_k8s_obj_new("ns", "t", NULL, "{\"a\":2}", 7)};
	CHECK(k8s_cache_replace(c, fifth, 1, record, &d) == 0);
	CHECK_STR(d.log, "update ns/t@->;");

	/* an empty list empties the cache */
	d.log[0] = '\0';
	CHECK(k8s_cache_replace(c, NULL, 0, record, &d) == 0);
	CHECK_STR(d.log, "delete ns/t@;");
	CHECK(k8s_cache_len(c) == 0);
	k8s_cache_free(c);
}

static void test_parse_list(void)
{
	const char *text =
		"{\"apiVersion\":\"v1\",\"items\":["
		"{\"metadata\":{\"name\":\"b\",\"namespace\":\"ns\",\"resourceVersion\":\"12\",\"labels\":{\"name\":\"not-me\"}},"
		"\"data\":{\"k\":\"v \\\"q\\\" \\u00e9\\n\",\"list\":[1,-2.5,1e300,true,false,null,[],{}]}},"
		"{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"resourceVersion\":\"11\"}}"
		"],\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"2\",\"remainingItemCount\":1}}";
	struct k8s_list_page page = {0};
	struct kip_err err = {0};
	CHECK(k8s_parse_list(text, strlen(text), &page, &err) == 0);
	CHECK(page.n == 2);
	CHECK_STR(page.rv, "42");
	CHECK_STR(page.cont, "2");
	if (page.n == 2) {
		CHECK_STR(page.items[0]->key, "ns/b");
		CHECK_STR(page.items[0]->rv, "12");
		CHECK_STR(page.items[0]->json,
		          "{\"metadata\":{\"name\":\"b\",\"namespace\":\"ns\",\"resourceVersion\":\"12\",\"labels\":{\"name\":\"not-me\"}},"
		          "\"data\":{\"k\":\"v \\\"q\\\" \xc3\xa9\\n\",\"list\":[1,-2.5,1e+300,true,false,null,[],{}]},"
		          "\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}");
		CHECK_STR(page.items[1]->json,
		          "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\",\"resourceVersion\":\"11\"}}");
	}
	/* the next page appends; no continue: the last page */
	const char *last = "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"43\",\"continue\":\"\"},"
	                   "\"items\":[{\"metadata\":{\"name\":\"c\"}}]}";
	CHECK(k8s_parse_list(last, strlen(last), &page, &err) == 0);
	CHECK(page.n == 3);
	CHECK_STR(page.rv, "43");
	CHECK(page.cont == NULL);
	if (page.n == 3) {
		CHECK_STR(page.items[2]->key, "c");
		CHECK_STR(page.items[2]->json, "{\"metadata\":{\"name\":\"c\"},\"kind\":\"ConfigMap\"}");
	}
	k8s_list_page_free(&page);

	const char *empty = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":null}";
	CHECK(k8s_parse_list(empty, strlen(empty), &page, &err) == 0);
	CHECK(page.n == 0);
	CHECK_STR(page.rv, "5");
	k8s_list_page_free(&page);

	const char *bad[] = {
		"", "[]", "{\"items\":{}}", "{\"items\":[1]}", "{\"items\":[{\"metadata\":{}}]}",
		"{\"items\":[{\"metadata\":{\"name\":\"x\"}}", "{\"items\":[]} x", "{\"metadata\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct k8s_list_page p = {0};
		int rc = k8s_parse_list(bad[i], strlen(bad[i]), &p, &err);
		CHECK(rc == KIP_EINVAL);
		if (rc != KIP_EINVAL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		k8s_list_page_free(&p);
	}
}

static void test_parse_events(void)
{
	struct k8s_watch_event ev;
	struct kip_err err = {0};
	const char *added = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"d\","
	                    "\"resourceVersion\":\"9\"},\"spec\":{\"x\":[{\"metadata\":{\"name\":\"inner\"}}]}}}";
	CHECK(k8s_parse_event(added, strlen(added), &ev, &err) == 0);
	CHECK(ev.kind == K8S_EV_ADDED);
	CHECK_STR(ev.rv, "9");
	CHECK(ev.obj && strcmp(ev.obj->key, "d/p") == 0);
	if (ev.obj)
		CHECK_STR(ev.obj->json, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"resourceVersion\":\"9\"},"
		                        "\"spec\":{\"x\":[{\"metadata\":{\"name\":\"inner\"}}]}}");
	k8s_watch_event_free(&ev);

	const char *deleted = " { \"object\" : { \"metadata\" : { \"name\" : \"n1\" , \"resourceVersion\" : \"10\" } } , \"type\" : \"DELETED\" } ";
	CHECK(k8s_parse_event(deleted, strlen(deleted), &ev, &err) == 0);
	CHECK(ev.kind == K8S_EV_DELETED);
	CHECK(ev.obj && strcmp(ev.obj->key, "n1") == 0);
	if (ev.obj)
		CHECK_STR(ev.obj->json, "{\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"10\"}}");
	k8s_watch_event_free(&ev);

	const char *bookmark = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"77\"}}}";
	CHECK(k8s_parse_event(bookmark, strlen(bookmark), &ev, &err) == 0);
	CHECK(ev.kind == K8S_EV_BOOKMARK);
	CHECK(ev.obj == NULL);
	CHECK_STR(ev.rv, "77");
	k8s_watch_event_free(&ev);

	const char *gone = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"too old resource version: 5 (90)\","
	                   "\"reason\":\"Expired\",\"code\":410}}";
	CHECK(k8s_parse_event(gone, strlen(gone), &ev, &err) == 0);
	CHECK(ev.kind == K8S_EV_ERROR);
	CHECK(ev.code == 410);
	CHECK_STR(ev.message, "too old resource version: 5 (90)");
	k8s_watch_event_free(&ev);

	const char *bad[] = {
		"", "{", "[]", "{\"type\":\"ADDED\"}", "{\"type\":\"NOPE\",\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}", "{\"type\":1,\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}} {}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = k8s_parse_event(bad[i], strlen(bad[i]), &ev, &err);
		CHECK(rc == KIP_EINVAL);
		if (rc != KIP_EINVAL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK(ev.obj == NULL && ev.rv == NULL);
	}
}

static void test_parse_status(void)
{
	int64_t code = 0;
	char *message = NULL;
	struct kip_err err = {0};
	const char *text = "{\"kind\":\"Status\",\"details\":{\"code\":1,\"message\":\"inner\"},\"message\":\"forbidden: no\",\"code\":403}";
	CHECK(k8s_parse_status(text, strlen(text), &code, &message, &err) == 0);
	CHECK(code == 403);
	CHECK_STR(message, "forbidden: no");
	free(message);
	CHECK(k8s_parse_status("nope", 4, &code, &message, &err) == KIP_EINVAL);
	CHECK(message == NULL);
}

int main(void)
{
	RUN(test_objects);
	RUN(test_map);
	RUN(test_cache_basics);
	RUN(test_replace);
	RUN(test_parse_list);
	RUN(test_parse_events);
	RUN(test_parse_status);
	return check_summary();
}
