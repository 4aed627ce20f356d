/* SPDX-License-Identifier: Apache-2.0
 * A small string-keyed hash map (separate chaining, FNV-1a) shared by the informer cache and the
 * work queue in core/src/k8s. Keys are borrowed: each value owns the string its key points at.
 * Not thread-safe (its users lock around it). Uses libc only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct k8s_map_ent {
	struct k8s_map_ent *next;
	uint64_t hash;
	const char *key; /* borrowed from the value */
	void *value;
};

struct k8s_map {
	struct k8s_map_ent **buckets;
	size_t nbuckets;
	size_t count;
};

/* Iteration: `for (struct k8s_map_iter it = {0}; k8s_map_next(m, &it);) use(it.ent)`. The map
 * must not change while iterating, except that the current entry may be deleted. */
struct k8s_map_iter {
	size_t bucket;
	struct k8s_map_ent *ent, *next;
};

/** An empty map (no allocation until the first put). */
void k8s_map_init(struct k8s_map *m);

/** The value stored under key, or NULL. */
void *k8s_map_get(const struct k8s_map *m, const char *key);

/** Stores value under key (borrowed: it must live as long as the entry), replacing what was
 * there. Returns the previous value (NULL when there was none) in *old when old is not NULL.
 * Returns 0, or KIP_ENOMEM with the map unchanged. */
int k8s_map_put(struct k8s_map *m, const char *key, void *value, void **old);

/** Removes key; returns its value, or NULL when it was not there. */
void *k8s_map_del(struct k8s_map *m, const char *key);

/** Advances the iterator; returns 0 at the end. */
int k8s_map_next(const struct k8s_map *m, struct k8s_map_iter *it);

/** Frees the map's own memory, calling free_value (if not NULL) on each value first. The map is
 * empty and usable again afterwards. */
void k8s_map_clear(struct k8s_map *m, void (*free_value)(void *));
