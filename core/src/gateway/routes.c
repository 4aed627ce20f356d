/* SPDX-License-Identifier: Apache-2.0
 * The gateway's route table: cluster name -> upstream, an immutable open-addressing hash table
 * built by gw_set_routes and shared by the workers through reference counts. Uses gw_internal.h. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_internal.h"

static size_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct gw_routes *gw_routes_new(const struct gw_route *routes, size_t n)
{
	struct gw_routes *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	size_t slots = 16;
	while (slots < n * 2)
		slots *= 2;
	r->slots = calloc(slots, sizeof *r->slots);
	if (!r->slots) {
		free(r);
		return NULL;
	}
	r->mask = slots - 1;
	atomic_init(&r->refs, 1);
	for (size_t i = 0; i < n; i++) {
		if (!routes[i].cluster[0])
			continue;
		size_t at = hash_name(routes[i].cluster) & r->mask;
		while (r->slots[at].cluster[0] && strcmp(r->slots[at].cluster, routes[i].cluster) != 0)
			at = (at + 1) & r->mask;
		r->slots[at] = routes[i];
	}
	return r;
}

void gw_routes_ref(struct gw_routes *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

void gw_routes_unref(struct gw_routes *r)
{
	if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
		free(r->slots);
		free(r);
	}
}

const struct gw_route *gw_routes_find(const struct gw_routes *r, const char *cluster)
{
	if (!r)
		return NULL;
	size_t at = hash_name(cluster) & r->mask;
	while (r->slots[at].cluster[0]) {
		if (strcmp(r->slots[at].cluster, cluster) == 0)
			return &r->slots[at];
		at = (at + 1) & r->mask;
	}
	return NULL;
}
