/* SPDX-License-Identifier: Apache-2.0
 * Decoding what the Kubernetes API sends an informer (core/src/k8s/object.c): list pages, watch
 * event lines and Status bodies, each object copied into a compact JSON text of its own with its
 * namespace, name and resourceVersion read on the way. Uses kip/json.h and kip/watch.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kip/err.h"
#include "kip/watch.h"

/* One page of a list answer. */
struct k8s_list_page {
	struct kip_k8s_obj **items; /* n references */
	size_t n, cap;
	char *rv;                   /* metadata.resourceVersion, or NULL */
	char *cont;                 /* metadata.continue, or NULL when this was the last page */
};

/** Parses a list answer ({"kind": "XList", "metadata": {...}, "items": [...]}). Items lacking kind
 * or apiVersion (kube-apiserver leaves them out) get the list's. Appends the items to page (which
 * starts zeroed) and replaces its rv and cont. Returns 0, KIP_EINVAL (not JSON, not a list, an item
 * without metadata.name) or KIP_ENOMEM. */
int k8s_parse_list(const char *text, size_t len, struct k8s_list_page *page, struct kip_err *err);

/** Frees the page's items and strings and zeroes it. */
void k8s_list_page_free(struct k8s_list_page *page);

enum k8s_event_kind {
	K8S_EV_ADDED = 1,
	K8S_EV_MODIFIED,
	K8S_EV_DELETED,
	K8S_EV_BOOKMARK,
	K8S_EV_ERROR,
};

struct k8s_watch_event {
	enum k8s_event_kind kind;
	struct kip_k8s_obj *obj; /* ADDED, MODIFIED, DELETED: a reference */
	char *rv;                /* the object's resourceVersion (every kind but ERROR) */
	int64_t code;            /* ERROR: the Status code (410 for Expired), 0 when absent */
	char *message;           /* ERROR: the Status message, or NULL */
};

/** Parses one watch line ({"type": ..., "object": {...}}) into *ev (zeroed first; free with
 * k8s_watch_event_free). Returns 0, KIP_EINVAL (bad JSON, an unknown type, an object without
 * metadata.name) or KIP_ENOMEM. */
int k8s_parse_event(const char *line, size_t len, struct k8s_watch_event *ev, struct kip_err *err);

/** Frees what ev holds and zeroes it. */
void k8s_watch_event_free(struct k8s_watch_event *ev);

/** Reads code and message of a Status body (an HTTP error answer). Returns 0 with *message
 * (malloc'd, or NULL when absent) and *code, or an error when text is not a JSON object. */
int k8s_parse_status(const char *text, size_t len, int64_t *code, char **message, struct kip_err *err);
