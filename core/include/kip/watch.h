/* SPDX-License-Identifier: Apache-2.0
 * Kubernetes informers (core/src/k8s/watch.c, cache.c, object.c): a thread lists then watches a
 * collection (bookmarks, reconnects with back-off, relist on 410 Gone), caches its objects by
 * namespace/name as reference-counted JSON texts, and queues add/update/delete events.
 * Uses kip/http.h (the one HTTP stack), kip/json.h, pthreads and kip/err.h. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"

/* A Kubernetes object as the informer holds it. Never changed once made; shared by the cache and
 * the events, hence counted references. */
struct kip_k8s_obj {
	const char *key;  /* "namespace/name", or "name" for an object without a namespace */
	const char *ns;   /* metadata.namespace, "" when there is none */
	const char *name; /* metadata.name */
	const char *rv;   /* metadata.resourceVersion, "" when there is none */
	const char *json; /* the object as compact JSON text, NUL-terminated */
	size_t json_len;
	atomic_int refs;  /* private: use kip_k8s_obj_ref and kip_k8s_obj_unref */
};

/** A new object with one reference (strings copied; ns and rv may be NULL for ""), or NULL when
 * out of memory. The key is made from ns and name. */
struct kip_k8s_obj *kip_k8s_obj_new(const char *ns, const char *name, const char *rv, const char *json,
                                    size_t json_len);

/** Takes one more reference; returns o. Thread-safe. */
struct kip_k8s_obj *kip_k8s_obj_ref(struct kip_k8s_obj *o);

/** Drops a reference; the last one frees the object. NULL is fine. Thread-safe. */
void kip_k8s_obj_unref(struct kip_k8s_obj *o);

/** Drops the references of an array of n objects (from kip_informer_list) and frees the array. */
void kip_k8s_obj_list_free(struct kip_k8s_obj **objs, size_t n);

enum kip_informer_event_type {
	KIP_INFORMER_ADD = 1,
	KIP_INFORMER_UPDATE = 2,
	KIP_INFORMER_DELETE = 3,
};

/* A change of the cache. Each non-NULL object is a reference owned by the event. */
struct kip_informer_event {
	enum kip_informer_event_type type;
	struct kip_k8s_obj *old; /* UPDATE: the state before; DELETE: the last state in the cache */
	struct kip_k8s_obj *obj; /* ADD, UPDATE: the new state; DELETE: the final state the watch
	                          * sent, or NULL when a relist found the object gone */
	struct kip_informer_event *next; /* private */
};

/** Frees an event and drops its references. NULL is fine. */
void kip_informer_event_free(struct kip_informer_event *ev);

/* Where the API server is and how to authenticate: strings are copied by kip_informer_new. */
struct kip_informer_conn {
	const char *server;      /* "https://host:port" (a trailing "/" is fine) */
	const char *ca_data;     /* PEM of the CA to verify the server with (ca_len bytes) */
	size_t ca_len;
	const char *cert_data;   /* client certificate PEM (cert_len bytes) */
	size_t cert_len;
	const char *key_data;    /* its key PEM (key_len bytes) */
	size_t key_len;
	const char *ca_file, *cert_file, *key_file; /* or files holding them */
	const char *token;       /* bearer token */
	bool insecure;           /* skip server certificate verification */
};

struct kip_informer_opts {
	struct kip_informer_conn conn;
	const char *path;            /* the collection: "/api/v1/pods", "/apis/apps/v1/namespaces/NS/deployments" */
	const char *label_selector;  /* NULL: none */
	const char *field_selector;  /* NULL: none */
	unsigned page_size;          /* list page size (limit); 0: 500 */
	unsigned watch_timeout_s;    /* each watch asks for timeoutSeconds between this and 1.2 times it; 0: 300 */
	unsigned backoff_min_ms;     /* first retry delay after a failure; 0: 500 */
	unsigned backoff_max_ms;     /* the longest one (the delay doubles, with jitter); 0: 30000 */
};

/* Counters since kip_informer_new. */
struct kip_informer_stats {
	unsigned long lists;      /* complete lists (every page) */
	unsigned long pages;      /* list pages read */
	unsigned long relists;    /* lists after the first one (410 Gone, or a restart) */
	unsigned long watches;    /* watch requests answered with 200 */
	unsigned long reconnects; /* requests made again after a watch ended or a request failed */
	unsigned long events;     /* ADDED, MODIFIED and DELETED watch events applied */
	unsigned long bookmarks;  /* BOOKMARK events */
	unsigned long errors;     /* failed requests, bad watch lines, ERROR events but 410 */
	char last_error[512];     /* the latest failure, "" when none */
};

struct kip_informer;

/** Checks and copies opts. Returns 0 and *out (free with kip_informer_free) or KIP_EINVAL (no
 * server or path, a path without a leading "/", a bad token) or KIP_ENOMEM. Nothing runs yet. */
int kip_informer_new(const struct kip_informer_opts *opts, struct kip_informer **out, struct kip_err *err);

/** Starts the informer's thread: list, then watch, until kip_informer_stop. An informer stopped
 * before may be started again: it lists anew and reconciles its cache (events for what changed
 * meanwhile). Returns 0, KIP_EINVAL when it is running already, or KIP_ENOMEM / KIP_EIO (the HTTP
 * client or the thread could not be made). */
int kip_informer_start(struct kip_informer *inf, struct kip_err *err);

/** Stops the thread (waking it out of any wait) and joins it. The cache and queued events stay.
 * Returns within the HTTP idle time-out even when the server hangs mid-answer (normally at once).
 * Idempotent; not to be called from two threads at once with kip_informer_start. */
void kip_informer_stop(struct kip_informer *inf);

/** Stops the informer and frees it with its cache and events. NULL is fine. */
void kip_informer_free(struct kip_informer *inf);

/** Takes the oldest queued event, waiting up to timeout_ms (-1: no limit) while the informer
 * runs. Returns 1 and *ev (free it with kip_informer_event_free), or 0 when none came in time, the
 * informer is not running, or kip_informer_stop was called meanwhile. Thread-safe. */
int kip_informer_next(struct kip_informer *inf, int timeout_ms, struct kip_informer_event **ev);

/** How many events are queued. */
size_t kip_informer_pending(struct kip_informer *inf);

/** The cached object under key ("ns/name" or "name"): a new reference, or NULL. Thread-safe. */
struct kip_k8s_obj *kip_informer_get(struct kip_informer *inf, const char *key);

/** The cached objects (of namespace ns only, unless ns is NULL) sorted by namespace then name:
 * *objs holds *n references (free with kip_k8s_obj_list_free). Returns 0 or KIP_ENOMEM. */
int kip_informer_list(struct kip_informer *inf, const char *ns, struct kip_k8s_obj ***objs, size_t *n);

/** Whether the first list completed (the cache holds the whole collection). */
bool kip_informer_synced(struct kip_informer *inf);

/** Whether the thread runs (started and not stopped). */
bool kip_informer_running(struct kip_informer *inf);

/** Copies the last resourceVersion seen into buf (NUL-terminated, "" before the first list). */
void kip_informer_resource_version(struct kip_informer *inf, char *buf, size_t size);

/** Copies the counters. */
void kip_informer_stats(struct kip_informer *inf, struct kip_informer_stats *out);
