/* SPDX-License-Identifier: Apache-2.0
 * The informer cache of k8s/cache.h: a strmap of object references under a mutex; listing and
 * relist reconcile sort by namespace then name. Uses k8s/strmap.h, pthreads and libc. */
#include "k8s/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/strmap.h"

struct k8s_cache {
	pthread_mutex_t mu;
	struct k8s_map map; /* key -> struct kip_k8s_obj (one reference each) */
};

static void cache_unref(void *o)
{
	kip_k8s_obj_unref(o);
}

struct k8s_cache *k8s_cache_new(void)
{
	struct k8s_cache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	k8s_map_init(&c->map);
	return c;
}

void k8s_cache_free(struct k8s_cache *c)
{
	if (!c)
		return;
	k8s_map_clear(&c->map, cache_unref);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int k8s_cache_put(struct k8s_cache *c, struct kip_k8s_obj *obj, struct kip_k8s_obj **old)
{
	void *prev = NULL;
	pthread_mutex_lock(&c->mu);
	int rc = k8s_map_put(&c->map, obj->key, obj, &prev);
	pthread_mutex_unlock(&c->mu);
	*old = prev;
	return rc;
}

struct kip_k8s_obj *k8s_cache_remove(struct k8s_cache *c, const char *key)
{
	pthread_mutex_lock(&c->mu);
	struct kip_k8s_obj *o = k8s_map_del(&c->map, key);
	pthread_mutex_unlock(&c->mu);
	return o;
}

struct kip_k8s_obj *k8s_cache_get(struct k8s_cache *c, const char *key)
{
	pthread_mutex_lock(&c->mu);
	struct kip_k8s_obj *o = k8s_map_get(&c->map, key);
	if (o)
		kip_k8s_obj_ref(o);
	pthread_mutex_unlock(&c->mu);
	return o;
}

size_t k8s_cache_len(struct k8s_cache *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->map.count;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static int cache_cmp(const void *a, const void *b)
{
	const struct kip_k8s_obj *x = *(struct kip_k8s_obj *const *)a, *y = *(struct kip_k8s_obj *const *)b;
	int c = strcmp(x->ns, y->ns);
	return c ? c : strcmp(x->name, y->name);
}

int k8s_cache_list(struct k8s_cache *c, const char *ns, struct kip_k8s_obj ***objs, size_t *n)
{
	*objs = NULL;
	*n = 0;
	pthread_mutex_lock(&c->mu);
	struct kip_k8s_obj **v = malloc((c->map.count ? c->map.count : 1) * sizeof *v);
	if (!v) {
		pthread_mutex_unlock(&c->mu);
		return KIP_ENOMEM;
	}
	size_t k = 0;
	for (struct k8s_map_iter it = {0}; k8s_map_next(&c->map, &it);) {
		struct kip_k8s_obj *o = it.ent->value;
		if (!ns || strcmp(o->ns, ns) == 0)
			v[k++] = kip_k8s_obj_ref(o);
	}
	pthread_mutex_unlock(&c->mu);
	qsort(v, k, sizeof *v, cache_cmp);
	*objs = v;
	*n = k;
	return 0;
}

static bool cache_changed(const struct kip_k8s_obj *old, const struct kip_k8s_obj *obj)
{
	if (*old->rv || *obj->rv)
		return strcmp(old->rv, obj->rv) != 0;
	return old->json_len != obj->json_len || memcmp(old->json, obj->json, obj->json_len) != 0;
}

int k8s_cache_replace(struct k8s_cache *c, struct kip_k8s_obj **objs, size_t n, k8s_cache_delta_fn fn,
                      void *ud)
{
	struct k8s_map fresh;
	k8s_map_init(&fresh);
	struct kip_k8s_obj **sorted = malloc((n ? n : 1) * sizeof *sorted), **gone = NULL;
	if (!sorted)
		return KIP_ENOMEM;
	/* key -> the last object with that key; nothing is unreferenced until success */
	for (size_t i = 0; i < n; i++) {
		if (k8s_map_put(&fresh, objs[i]->key, objs[i], NULL) != 0)
			goto nomem;
	}
	size_t k = 0;
	for (struct k8s_map_iter it = {0}; k8s_map_next(&fresh, &it);)
		sorted[k++] = it.ent->value;
	qsort(sorted, k, sizeof *sorted, cache_cmp);

	pthread_mutex_lock(&c->mu);
	gone = malloc((c->map.count ? c->map.count : 1) * sizeof *gone);
	if (!gone) {
		pthread_mutex_unlock(&c->mu);
		goto nomem;
	}
	size_t ngone = 0;
	for (struct k8s_map_iter it = {0}; k8s_map_next(&c->map, &it);)
		if (!k8s_map_get(&fresh, it.ent->key))
			gone[ngone++] = it.ent->value;
	qsort(gone, ngone, sizeof *gone, cache_cmp);
	for (size_t i = 0; i < ngone; i++)
		fn(ud, KIP_INFORMER_DELETE, gone[i], NULL);
	for (size_t i = 0; i < k; i++) {
		struct kip_k8s_obj *old = k8s_map_get(&c->map, sorted[i]->key);
		if (!old)
			fn(ud, KIP_INFORMER_ADD, NULL, sorted[i]);
		else if (cache_changed(old, sorted[i]))
			fn(ud, KIP_INFORMER_UPDATE, old, sorted[i]);
	}
	for (size_t i = 0; i < n; i++) /* duplicates that lost to a later object of the same key */
		if (k8s_map_get(&fresh, objs[i]->key) != objs[i])
			kip_k8s_obj_unref(objs[i]);
	struct k8s_map stale = c->map;
	c->map = fresh;
	pthread_mutex_unlock(&c->mu);
	k8s_map_clear(&stale, cache_unref);
	free(sorted);
	free(gone);
	return 0;
nomem:
	k8s_map_clear(&fresh, NULL);
	free(sorted);
	free(gone);
	return KIP_ENOMEM;
}
