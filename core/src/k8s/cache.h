/* SPDX-License-Identifier: Apache-2.0
 * The informer cache (core/src/k8s/cache.c): objects (kip/watch.h kip_k8s_obj) by key
 * "namespace/name", behind a mutex of its own, with the reconcile of a relist that reports what
 * was added, changed and removed. Uses k8s/strmap.h and pthreads. */
#pragma once

#include <stddef.h>

#include "kip/err.h"
#include "kip/watch.h"

struct k8s_cache;

/** Called by k8s_cache_replace for each difference, with the cache locked. old and obj are
 * borrowed (take a reference to keep one); old is NULL for ADD, obj is NULL for DELETE. */
typedef void (*k8s_cache_delta_fn)(void *ud, enum kip_informer_event_type type, struct kip_k8s_obj *old,
                                   struct kip_k8s_obj *obj);

/** An empty cache, or NULL when out of memory. */
struct k8s_cache *k8s_cache_new(void);

/** Frees the cache and drops its references. NULL is fine. */
void k8s_cache_free(struct k8s_cache *c);

/** Stores obj under obj->key, taking over the caller's reference. *old gets the reference of the
 * object it replaced (NULL when the key was new). Returns 0, or KIP_ENOMEM (nothing stored; the
 * reference stays the caller's). */
int k8s_cache_put(struct k8s_cache *c, struct kip_k8s_obj *obj, struct kip_k8s_obj **old);

/** Removes key; returns the removed object's reference, or NULL. */
struct kip_k8s_obj *k8s_cache_remove(struct k8s_cache *c, const char *key);

/** The object under key (a new reference) or NULL. */
struct kip_k8s_obj *k8s_cache_get(struct k8s_cache *c, const char *key);

/** How many objects it holds. */
size_t k8s_cache_len(struct k8s_cache *c);

/** The objects (only those of namespace ns, unless ns is NULL) sorted by namespace then name, as
 * *n new references in *objs (free with kip_k8s_obj_list_free). Returns 0 or KIP_ENOMEM. */
int k8s_cache_list(struct k8s_cache *c, const char *ns, struct kip_k8s_obj ***objs, size_t *n);

/** Makes the cache hold exactly objs (n references, taken over on success; of equal keys the last
 * wins). Reports to fn, in this order: DELETE for each key no longer there (by namespace and name),
 * then ADD for each new key and UPDATE for each key whose resourceVersion (or, without one, text)
 * changed, by namespace and name. Unchanged objects report nothing. Returns 0, or KIP_ENOMEM with
 * the cache unchanged, nothing reported, and the references still the caller's. */
int k8s_cache_replace(struct k8s_cache *c, struct kip_k8s_obj **objs, size_t n, k8s_cache_delta_fn fn,
                      void *ud);
