/* SPDX-License-Identifier: Apache-2.0
 * The string-keyed hash map of strmap.h: a power-of-two bucket array of singly linked entries,
 * doubled when the load passes 3/4. Uses libc and kip/err.h. */
#include "k8s/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "kip/err.h"

static uint64_t map_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void k8s_map_init(struct k8s_map *m)
{
	memset(m, 0, sizeof *m);
}

static struct k8s_map_ent **map_find(const struct k8s_map *m, const char *key, uint64_t h)
{
	if (!m->nbuckets)
		return NULL;
	struct k8s_map_ent **pp = &m->buckets[h & (m->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			return pp;
	return pp; /* the link to fill: *pp == NULL */
}

void *k8s_map_get(const struct k8s_map *m, const char *key)
{
	struct k8s_map_ent **pp = map_find(m, key, map_hash(key));
	return pp && *pp ? (*pp)->value : NULL;
}

static int map_grow(struct k8s_map *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
	struct k8s_map_ent **b = calloc(n, sizeof *b);
	if (!b)
		return KIP_ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct k8s_map_ent *e = m->buckets[i], *next; e; e = next) {
			next = e->next;
			struct k8s_map_ent **slot = &b[e->hash & (n - 1)];
			e->next = *slot;
			*slot = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int k8s_map_put(struct k8s_map *m, const char *key, void *value, void **old)
{
	uint64_t h = map_hash(key);
	struct k8s_map_ent **pp = map_find(m, key, h);
	if (pp && *pp) {
		if (old)
			*old = (*pp)->value;
		(*pp)->key = key;
		(*pp)->value = value;
		return 0;
	}
	if (old)
		*old = NULL;
	if ((m->count + 1) * 4 > m->nbuckets * 3) {
		if (map_grow(m) != 0)
			return KIP_ENOMEM;
		pp = map_find(m, key, h);
	}
	struct k8s_map_ent *e = malloc(sizeof *e);
	if (!e)
		return KIP_ENOMEM;
	e->next = NULL;
	e->hash = h;
	e->key = key;
	e->value = value;
	*pp = e;
	m->count++;
	return 0;
}

void *k8s_map_del(struct k8s_map *m, const char *key)
{
	struct k8s_map_ent **pp = map_find(m, key, map_hash(key));
	if (!pp || !*pp)
		return NULL;
	struct k8s_map_ent *e = *pp;
	void *v = e->value;
	*pp = e->next;
	free(e);
	m->count--;
	return v;
}

int k8s_map_next(const struct k8s_map *m, struct k8s_map_iter *it)
{
	if (it->ent) { /* it->next was taken before the caller could delete it->ent */
		it->ent = it->next;
		if (it->ent) {
			it->next = it->ent->next;
			return 1;
		}
		it->bucket++;
	}
	for (; it->bucket < m->nbuckets; it->bucket++) {
		if (m->buckets[it->bucket]) {
			it->ent = m->buckets[it->bucket];
			it->next = it->ent->next;
			return 1;
		}
	}
	it->ent = NULL;
	return 0;
}

void k8s_map_clear(struct k8s_map *m, void (*free_value)(void *))
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct k8s_map_ent *e = m->buckets[i], *next; e; e = next) {
			next = e->next;
			if (free_value)
				free_value(e->value);
			free(e);
		}
	}
	free(m->buckets);
	k8s_map_init(m);
}
