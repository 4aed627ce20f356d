/* SPDX-License-Identifier: Apache-2.0
 * A thread-safe work queue of string keys for reconcilers, after client-go's workqueue: a key is
 * queued once however often it is added, a key being processed is queued again only when its
 * worker calls done, delayed adds, and per-key exponential back-off for failed keys.
 * core/src/k8s/workqueue.c; uses pthreads, CLOCK_MONOTONIC and kip/err.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"

/* kip_workqueue_get results besides errors (negative KIP_E* codes). */
enum {
	KIP_WORKQUEUE_TIMEOUT = 0,  /* the wait ended with nothing to hand out */
	KIP_WORKQUEUE_KEY = 1,      /* *key holds the next key */
	KIP_WORKQUEUE_SHUTDOWN = 2, /* the queue was shut down and nothing is left in it */
};

struct kip_workqueue_opts {
	double base_delay; /* seconds; the first back-off of kip_workqueue_add_rate_limited (0: 0.005) */
	double max_delay;  /* seconds; the longest back-off (0: 300) */
};

struct kip_workqueue;

/** A new empty queue (opts may be NULL for the defaults). Returns 0 and *out (free with
 * kip_workqueue_free), KIP_EINVAL for a negative or non-finite delay, or KIP_ENOMEM. */
int kip_workqueue_new(const struct kip_workqueue_opts *opts, struct kip_workqueue **out,
                      struct kip_err *err);

/** Frees the queue and every key in it. No thread may be using it any more (shut it down and let
 * the getters return first). NULL is fine. */
void kip_workqueue_free(struct kip_workqueue *q);

/** Queues key (copied) unless it is queued already. A key being processed (handed out by get,
 * done not called yet) is queued again when done is called. Ignored after shutdown. Returns 0 or
 * KIP_ENOMEM. */
int kip_workqueue_add(struct kip_workqueue *q, const char *key);

/** Queues key after `seconds` (<= 0: now, as kip_workqueue_add). A key already waiting keeps the
 * earlier of its two times. Ignored after shutdown. Returns 0 or KIP_ENOMEM. */
int kip_workqueue_add_after(struct kip_workqueue *q, const char *key, double seconds);

/** Queues key after base_delay * 2^failures (at most max_delay) and counts one more failure for
 * it. Returns 0 or KIP_ENOMEM; *delay (if not NULL) gets the delay chosen, in seconds. */
int kip_workqueue_add_rate_limited(struct kip_workqueue *q, const char *key, double *delay);

/** Forgets key's failures: its next rate-limited add waits base_delay again. */
void kip_workqueue_forget(struct kip_workqueue *q, const char *key);

/** How many failures are counted for key since it was last forgotten. */
unsigned kip_workqueue_failures(struct kip_workqueue *q, const char *key);

/** Waits up to timeout_ms (-1: no limit) for a key. Returns KIP_WORKQUEUE_KEY with *key (a copy,
 * the caller frees it; the key is now being processed until kip_workqueue_done),
 * KIP_WORKQUEUE_TIMEOUT, KIP_WORKQUEUE_SHUTDOWN once shut down and drained (keys queued before the
 * shutdown are still handed out; delayed ones are dropped), or KIP_ENOMEM. */
int kip_workqueue_get(struct kip_workqueue *q, int timeout_ms, char **key);

/** Marks key as processed: if it was added again meanwhile, it is queued now. */
void kip_workqueue_done(struct kip_workqueue *q, const char *key);

/** How many keys are queued and ready (not counting delayed ones and those being processed). */
size_t kip_workqueue_len(struct kip_workqueue *q);

/** Stops the queue: adds are ignored, delayed keys dropped, and getters return
 * KIP_WORKQUEUE_SHUTDOWN once the queued keys are taken. Wakes every waiting getter. Idempotent. */
void kip_workqueue_shutdown(struct kip_workqueue *q);

/** Whether kip_workqueue_shutdown was called. */
bool kip_workqueue_shutting_down(struct kip_workqueue *q);
