/* SPDX-License-Identifier: Apache-2.0
 * The work queue of kip/workqueue.h: one mutex and condition variable; per key one item (in a
 * strmap) that knows whether it is queued, being processed, dirty (to be queued again) or waiting
 * in the delay heap, and its failure count. Getters wait for the earliest delayed key themselves,
 * so the queue needs no thread of its own. Uses pthreads, CLOCK_MONOTONIC and k8s/strmap.h. */
#include "kip/workqueue.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s/strmap.h"

#define WQ_NONE SIZE_MAX

struct wq_item {
	struct wq_item *next; /* in the ready FIFO */
	bool dirty;           /* added and not handed out yet (queued, or queued again on done) */
	bool processing;      /* handed out by get, done not called yet */
	bool queued;          /* in the ready FIFO */
	size_t heap_idx;      /* position in the delay heap, or WQ_NONE */
	double ready_at;      /* while in the heap: when it becomes ready (monotonic seconds) */
	uint64_t seq;         /* insertion order among equal ready_at */
	unsigned failures;
	char key[];
};

struct kip_workqueue {
	pthread_mutex_t mu;
	pthread_cond_t cond;        /* signalled when a key is ready, the earliest delay changes, or shutdown */
	struct k8s_map items;       /* key -> struct wq_item */
	struct wq_item *head, *tail;
	size_t len;
	struct wq_item **heap;      /* min-heap on (ready_at, seq) */
	size_t nheap, heap_cap;
	uint64_t seq;
	double base, max;
	bool shutdown;
};

static double wq_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int kip_workqueue_new(const struct kip_workqueue_opts *opts, struct kip_workqueue **out,
                      struct kip_err *err)
{
	*out = NULL;
	double base = opts && opts->base_delay != 0 ? opts->base_delay : 0.005;
	double max = opts && opts->max_delay != 0 ? opts->max_delay : 300;
	if (!(base > 0) || !(max > 0) || !isfinite(base) || !isfinite(max))
		return kip_err_set(err, KIP_EINVAL, "work queue delays must be positive numbers of seconds");
	struct kip_workqueue *q = calloc(1, sizeof *q);
	if (!q)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&q->mu, NULL);
	k8s_map_init(&q->items);
	q->base = base;
	q->max = max < base ? base : max;
	*out = q;
	return 0;
}

void kip_workqueue_free(struct kip_workqueue *q)
{
	if (!q)
		return;
	k8s_map_clear(&q->items, free);
	free(q->heap);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

/* --- items ------------------------------------------------------------------------------------ */

static struct wq_item *wq_item(struct kip_workqueue *q, const char *key)
{
	struct wq_item *it = k8s_map_get(&q->items, key);
	if (it)
		return it;
	size_t n = strlen(key);
	it = calloc(1, sizeof *it + n + 1);
	if (!it)
		return NULL;
	memcpy(it->key, key, n + 1);
	it->heap_idx = WQ_NONE;
	if (k8s_map_put(&q->items, it->key, it, NULL) != 0) {
		free(it);
		return NULL;
	}
	return it;
}

/* Frees the item once nothing refers to it any more. */
static void wq_release(struct kip_workqueue *q, struct wq_item *it)
{
	if (it->dirty || it->processing || it->queued || it->heap_idx != WQ_NONE || it->failures)
		return;
	k8s_map_del(&q->items, it->key);
	free(it);
}

/* --- the delay heap ----------------------------------------------------------------------------- */

static bool wq_before(const struct wq_item *a, const struct wq_item *b)
{
	return a->ready_at < b->ready_at || (a->ready_at == b->ready_at && a->seq < b->seq);
}

static void wq_heap_set(struct kip_workqueue *q, size_t i, struct wq_item *it)
{
	q->heap[i] = it;
	it->heap_idx = i;
}

static void wq_sift_up(struct kip_workqueue *q, size_t i)
{
	struct wq_item *it = q->heap[i];
	while (i > 0 && wq_before(it, q->heap[(i - 1) / 2])) {
		wq_heap_set(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	wq_heap_set(q, i, it);
}

static void wq_sift_down(struct kip_workqueue *q, size_t i)
{
	struct wq_item *it = q->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->nheap)
			break;
		if (c + 1 < q->nheap && wq_before(q->heap[c + 1], q->heap[c]))
			c++;
		if (!wq_before(q->heap[c], it))
			break;
		wq_heap_set(q, i, q->heap[c]);
		i = c;
	}
	wq_heap_set(q, i, it);
}

static struct wq_item *wq_heap_pop(struct kip_workqueue *q)
{
	struct wq_item *top = q->heap[0];
	top->heap_idx = WQ_NONE;
	if (--q->nheap > 0) {
		q->heap[0] = q->heap[q->nheap];
		wq_sift_down(q, 0);
	}
	return top;
}

/* --- queueing ------------------------------------------------------------------------------------ */

static void wq_push(struct kip_workqueue *q, struct wq_item *it)
{
	it->queued = true;
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->len++;
	pthread_cond_signal(&q->cond);
}

/* client-go's Add: dedup while dirty; a key being processed waits for done. */
static void wq_add_item(struct kip_workqueue *q, struct wq_item *it)
{
	if (it->dirty)
		return;
	it->dirty = true;
	if (!it->processing)
		wq_push(q, it);
}

/* Moves the delayed keys whose time came to the ready FIFO. */
static void wq_promote(struct kip_workqueue *q, double now)
{
	while (q->nheap && q->heap[0]->ready_at <= now)
		wq_add_item(q, wq_heap_pop(q));
}

int kip_workqueue_add(struct kip_workqueue *q, const char *key)
{
	return kip_workqueue_add_after(q, key, 0);
}

static int wq_add_after_locked(struct kip_workqueue *q, const char *key, double seconds)
{
	if (q->shutdown)
		return 0;
	struct wq_item *it = wq_item(q, key);
	if (!it)
		return KIP_ENOMEM;
	if (!(seconds > 0)) {
		wq_add_item(q, it);
		return 0;
	}
	double at = wq_now() + seconds;
	if (it->heap_idx != WQ_NONE) { /* waiting already: keep the earlier time */
		if (at < it->ready_at) {
			it->ready_at = at;
			wq_sift_up(q, it->heap_idx);
			pthread_cond_broadcast(&q->cond);
		}
		return 0;
	}
	if (q->nheap == q->heap_cap) {
		size_t cap = q->heap_cap ? q->heap_cap * 2 : 16;
		struct wq_item **h = realloc(q->heap, cap * sizeof *h);
		if (!h) {
			wq_release(q, it);
			return KIP_ENOMEM;
		}
		q->heap = h;
		q->heap_cap = cap;
	}
	it->ready_at = at;
	it->seq = q->seq++;
	q->heap[q->nheap] = it;
	wq_sift_up(q, q->nheap++);
	if (q->heap[0] == it) /* getters waiting for a later key wake up earlier */
		pthread_cond_broadcast(&q->cond);
	return 0;
}

int kip_workqueue_add_after(struct kip_workqueue *q, const char *key, double seconds)
{
	pthread_mutex_lock(&q->mu);
	int rc = wq_add_after_locked(q, key, seconds);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

int kip_workqueue_add_rate_limited(struct kip_workqueue *q, const char *key, double *delay)
{
	pthread_mutex_lock(&q->mu);
	int rc = 0;
	double d = 0;
	if (!q->shutdown) {
		struct wq_item *it = wq_item(q, key);
		if (!it) {
			rc = KIP_ENOMEM;
		} else {
			d = it->failures >= 1024 ? q->max : ldexp(q->base, (int)it->failures);
			if (d > q->max)
				d = q->max;
			if (it->failures < UINT32_MAX)
				it->failures++;
			rc = wq_add_after_locked(q, key, d);
		}
	}
	pthread_mutex_unlock(&q->mu);
	if (delay)
		*delay = d;
	return rc;
}

void kip_workqueue_forget(struct kip_workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct wq_item *it = k8s_map_get(&q->items, key);
	if (it) {
		it->failures = 0;
		wq_release(q, it);
	}
	pthread_mutex_unlock(&q->mu);
}

unsigned kip_workqueue_failures(struct kip_workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct wq_item *it = k8s_map_get(&q->items, key);
	unsigned n = it ? it->failures : 0;
	pthread_mutex_unlock(&q->mu);
	return n;
}

static struct timespec wq_abstime(double t)
{
	struct timespec ts;
	double secs = floor(t);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((t - secs) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	return ts;
}

int kip_workqueue_get(struct kip_workqueue *q, int timeout_ms, char **key)
{
	*key = NULL;
	double deadline = timeout_ms >= 0 ? wq_now() + timeout_ms / 1000.0 : 0;
	int rc;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		double now = wq_now();
		wq_promote(q, now);
		if (q->head) {
			struct wq_item *it = q->head;
			*key = strdup(it->key);
			if (!*key) {
				rc = KIP_ENOMEM;
				break;
			}
			q->head = it->next;
			if (!q->head)
				q->tail = NULL;
			q->len--;
			it->next = NULL;
			it->queued = false;
			it->dirty = false;
			it->processing = true;
			rc = KIP_WORKQUEUE_KEY;
			break;
		}
		if (q->shutdown) {
			rc = KIP_WORKQUEUE_SHUTDOWN;
			break;
		}
		if (timeout_ms >= 0 && now >= deadline) {
			rc = KIP_WORKQUEUE_TIMEOUT;
			break;
		}
		double until = timeout_ms >= 0 ? deadline : INFINITY;
		if (q->nheap && q->heap[0]->ready_at < until)
			until = q->heap[0]->ready_at;
		if (isinf(until)) {
			pthread_cond_wait(&q->cond, &q->mu);
		} else {
			struct timespec ts = wq_abstime(until);
			pthread_cond_timedwait(&q->cond, &q->mu, &ts);
		}
	}
	if (q->head) /* more ready keys: let another getter have the next one */
		pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void kip_workqueue_done(struct kip_workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct wq_item *it = k8s_map_get(&q->items, key);
	if (it && it->processing) {
		it->processing = false;
		if (it->dirty)
			wq_push(q, it);
		wq_release(q, it);
	}
	pthread_mutex_unlock(&q->mu);
}

size_t kip_workqueue_len(struct kip_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	wq_promote(q, wq_now());
	size_t n = q->len;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void kip_workqueue_shutdown(struct kip_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	if (!q->shutdown) {
		q->shutdown = true;
		while (q->nheap) /* delayed keys are dropped */
			wq_release(q, wq_heap_pop(q));
		pthread_cond_broadcast(&q->cond);
	}
	pthread_mutex_unlock(&q->mu);
}

bool kip_workqueue_shutting_down(struct kip_workqueue *q)
{
	pthread_mutex_lock(&q->mu);
	bool down = q->shutdown;
	pthread_mutex_unlock(&q->mu);
	return down;
}
