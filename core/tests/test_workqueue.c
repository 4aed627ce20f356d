/* SPDX-License-Identifier: Apache-2.0
 * Tests of the work queue (kip/workqueue.h): dedup, a key re-added while processed, delayed adds
 * in time order, rate-limited back-off and forget, time-outs, shutdown waking and draining
 * getters, and several producer and worker threads at once (never one key on two workers). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "kip/workqueue.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static struct kip_workqueue *new_queue(double base, double max)
{
	struct kip_workqueue_opts o = {.base_delay = base, .max_delay = max};
	struct kip_workqueue *q = NULL;
	struct kip_err err;
	CHECK(kip_workqueue_new(&o, &q, &err) == 0);
	return q;
}

/* Gets a key within timeout_ms and checks it is want; frees it. */
static void expect_key(struct kip_workqueue *q, int timeout_ms, const char *want)
{
	char *key = NULL;
	int rc = kip_workqueue_get(q, timeout_ms, &key);
	CHECK(rc == KIP_WORKQUEUE_KEY);
	CHECK_STR(key, want);
	free(key);
}

static void test_dedup(void)
{
	struct kip_workqueue *q = new_queue(0, 0);
	CHECK(kip_workqueue_add(q, "ns/a") == 0);
	CHECK(kip_workqueue_add(q, "ns/b") == 0);
	CHECK(kip_workqueue_add(q, "ns/a") == 0);
	CHECK(kip_workqueue_len(q) == 2);
	expect_key(q, 0, "ns/a");
	expect_key(q, 0, "ns/b");
	char *key = (char *)1;
	CHECK(kip_workqueue_get(q, 0, &key) == KIP_WORKQUEUE_TIMEOUT);
	CHECK(key == NULL);
	kip_workqueue_done(q, "ns/a");
	kip_workqueue_done(q, "ns/b");
	kip_workqueue_done(q, "never-added"); /* harmless */
	CHECK(kip_workqueue_len(q) == 0);
	kip_workqueue_free(q);
}

static void test_processing_and_dirty(void)
{
	struct kip_workqueue *q = new_queue(0, 0);
	kip_workqueue_add(q, "k");
	expect_key(q, 0, "k");
	/* added twice while processed: not handed to a second worker, queued once on done */
	kip_workqueue_add(q, "k");
	kip_workqueue_add(q, "k");
	CHECK(kip_workqueue_len(q) == 0);
	char *key = NULL;
	CHECK(kip_workqueue_get(q, 10, &key) == KIP_WORKQUEUE_TIMEOUT);
	kip_workqueue_done(q, "k");
	CHECK(kip_workqueue_len(q) == 1);
	expect_key(q, 0, "k");
	kip_workqueue_done(q, "k");
	CHECK(kip_workqueue_len(q) == 0);
	CHECK(kip_workqueue_get(q, 0, &key) == KIP_WORKQUEUE_TIMEOUT);
	kip_workqueue_free(q);
}

static void test_delays_in_order(void)
{
	struct kip_workqueue *q = new_queue(0, 0);
	double t0 = now_s();
	kip_workqueue_add_after(q, "c", 0.12);
	kip_workqueue_add_after(q, "b", 0.06);
	kip_workqueue_add_after(q, "a", 0);   /* now */
	kip_workqueue_add_after(q, "d", -1);  /* now too */
	CHECK(kip_workqueue_len(q) == 2);
	expect_key(q, -1, "a");
	expect_key(q, -1, "d");
	expect_key(q, -1, "b");
	CHECK(now_s() - t0 >= 0.06);
	expect_key(q, -1, "c");
	CHECK(now_s() - t0 >= 0.12);
	CHECK(now_s() - t0 < 2);
	/* a key waiting already keeps the earlier time */
	t0 = now_s();
	kip_workqueue_add_after(q, "x", 5);
	kip_workqueue_add_after(q, "x", 0.03);
	kip_workqueue_add_after(q, "x", 10);
	expect_key(q, 2000, "x");
	CHECK(now_s() - t0 < 1);
	char *key = NULL;
	CHECK(kip_workqueue_get(q, 50, &key) == KIP_WORKQUEUE_TIMEOUT); /* once only */
	/* a delayed key that is queued already is not queued twice */
	kip_workqueue_add(q, "y");
	kip_workqueue_add_after(q, "y", 0.02);
	expect_key(q, 0, "y");
	CHECK(kip_workqueue_get(q, 60, &key) == KIP_WORKQUEUE_TIMEOUT); /* y is processing: waits for done */
	kip_workqueue_done(q, "y");
	expect_key(q, 0, "y");
	kip_workqueue_done(q, "y");
	kip_workqueue_done(q, "x");
	for (const char *k = "abcd"; *k; k++) {
		char name[2] = {*k, 0};
		kip_workqueue_done(q, name);
	}
	kip_workqueue_free(q);
}

static void test_rate_limit(void)
{
	struct kip_workqueue *q = new_queue(0.01, 0.05);
	const double want[] = {0.01, 0.02, 0.04, 0.05, 0.05};
	for (size_t i = 0; i < 5; i++) {
		double d = -1;
		CHECK(kip_workqueue_add_rate_limited(q, "r", &d) == 0);
		CHECK(d > want[i] - 1e-9 && d < want[i] + 1e-9);
	}
	CHECK(kip_workqueue_failures(q, "r") == 5);
	CHECK(kip_workqueue_failures(q, "other") == 0);
	double t0 = now_s();
	expect_key(q, 1000, "r"); /* the earliest of the waits */
	CHECK(now_s() - t0 >= 0.009);
	kip_workqueue_done(q, "r");
	kip_workqueue_forget(q, "r");
	CHECK(kip_workqueue_failures(q, "r") == 0);
	double d = 0;
	kip_workqueue_add_rate_limited(q, "r", &d);
	CHECK(d > 0.0099 && d < 0.0101);
	expect_key(q, 1000, "r");
	kip_workqueue_done(q, "r");
	kip_workqueue_forget(q, "r");
	/* huge failure counts stay at max_delay */
	for (int i = 0; i < 2000; i++)
		kip_workqueue_add_rate_limited(q, "many", &d);
	CHECK(d > 0.0499 && d < 0.0501);
	CHECK(kip_workqueue_failures(q, "many") == 2000);
	kip_workqueue_free(q); /* frees waiting keys too */

	struct kip_workqueue_opts bad = {.base_delay = -1};
	struct kip_workqueue *none = (struct kip_workqueue *)1;
	struct kip_err err;
	CHECK(kip_workqueue_new(&bad, &none, &err) == KIP_EINVAL);
	CHECK(none == NULL);
	CHECK(kip_workqueue_new(NULL, &none, &err) == 0);
	kip_workqueue_free(none);
}

struct getter {
	struct kip_workqueue *q;
	int rc;
	double waited;
};

static void *getter_main(void *arg)
{
	struct getter *g = arg;
	char *key = NULL;
	double t0 = now_s();
	g->rc = kip_workqueue_get(g->q, -1, &key);
	g->waited = now_s() - t0;
	free(key);
	return NULL;
}

static void test_shutdown(void)
{
	struct kip_workqueue *q = new_queue(0, 0);
	struct getter g[3];
	pthread_t t[3];
	for (int i = 0; i < 3; i++) {
		g[i] = (struct getter){.q = q, .rc = -99};
		pthread_create(&t[i], NULL, getter_main, &g[i]);
	}
	sleep_ms(50);
	CHECK(!kip_workqueue_shutting_down(q));
	kip_workqueue_shutdown(q);
	kip_workqueue_shutdown(q); /* idempotent */
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CHECK(g[i].rc == KIP_WORKQUEUE_SHUTDOWN);
		CHECK(g[i].waited >= 0.04);
	}
	CHECK(kip_workqueue_shutting_down(q));
	kip_workqueue_free(q);

	/* queued keys are still handed out; delayed ones and later adds are dropped */
	q = new_queue(0, 0);
	kip_workqueue_add(q, "queued");
	kip_workqueue_add_after(q, "delayed", 0.01);
	kip_workqueue_shutdown(q);
	kip_workqueue_add(q, "late");
	double d = -1;
	kip_workqueue_add_rate_limited(q, "late", &d);
	CHECK(d == 0);
	expect_key(q, -1, "queued");
	char *key = NULL;
	sleep_ms(20);
	CHECK(kip_workqueue_get(q, -1, &key) == KIP_WORKQUEUE_SHUTDOWN);
	CHECK(kip_workqueue_get(q, 0, &key) == KIP_WORKQUEUE_SHUTDOWN);
	kip_workqueue_done(q, "queued");
	kip_workqueue_free(q);
	kip_workqueue_free(NULL);
}

static void test_timeout(void)
{
	struct kip_workqueue *q = new_queue(0, 0);
	char *key = NULL;
	double t0 = now_s();
	CHECK(kip_workqueue_get(q, 40, &key) == KIP_WORKQUEUE_TIMEOUT);
	CHECK(now_s() - t0 >= 0.039);
	/* a delayed key later than the timeout does not end the wait early */
	kip_workqueue_add_after(q, "late", 1);
	t0 = now_s();
	CHECK(kip_workqueue_get(q, 30, &key) == KIP_WORKQUEUE_TIMEOUT);
	CHECK(now_s() - t0 < 0.5);
	kip_workqueue_free(q);
}

#define NKEYS 50
#define NPRODUCERS 4
#define NWORKERS 4
#define ROUNDS 200

struct shared {
	struct kip_workqueue *q;
	atomic_int busy[NKEYS];     /* workers holding each key right now */
	atomic_int processed[NKEYS];
	atomic_int overlaps;
	atomic_int producers_left;
};

static void *producer_main(void *arg)
{
	struct shared *s = arg;
	char key[16];
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < NKEYS; k++) {
			snprintf(key, sizeof key, "k%d", k);
			if (r % 3 == 0)
				kip_workqueue_add_after(s->q, key, 0.001);
			else
				kip_workqueue_add(s->q, key);
		}
	}
	atomic_fetch_sub(&s->producers_left, 1);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct shared *s = arg;
	for (;;) {
		char *key = NULL;
		int rc = kip_workqueue_get(s->q, -1, &key);
		if (rc != KIP_WORKQUEUE_KEY)
			break;
		int k = atoi(key + 1);
		if (atomic_fetch_add(&s->busy[k], 1) != 0)
			atomic_fetch_add(&s->overlaps, 1);
		int times = atomic_fetch_add(&s->processed[k], 1);
		if (k % 7 == 0 && times < 5)
			kip_workqueue_add_rate_limited(s->q, key, NULL); /* retried, and re-added while processing */
		atomic_fetch_sub(&s->busy[k], 1);
		kip_workqueue_done(s->q, key);
		if (k % 7 == 0)
			kip_workqueue_forget(s->q, key);
		free(key);
	}
	return NULL;
}

static void test_threads(void)
{
	static struct shared s;
	memset(&s, 0, sizeof s);
	s.q = new_queue(0.0005, 0.002);
	atomic_store(&s.producers_left, NPRODUCERS);
	pthread_t p[NPRODUCERS], w[NWORKERS];
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&w[i], NULL, worker_main, &s);
	for (int i = 0; i < NPRODUCERS; i++)
		pthread_create(&p[i], NULL, producer_main, &s);
	for (int i = 0; i < NPRODUCERS; i++)
		pthread_join(p[i], NULL);
	/* let the workers drain what is queued and delayed, then stop them */
	double deadline = now_s() + 10;
	for (int idle = 0; idle < 5 && now_s() < deadline; sleep_ms(10))
		idle = kip_workqueue_len(s.q) == 0 ? idle + 1 : 0;
	kip_workqueue_shutdown(s.q);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(w[i], NULL);
	CHECK(atomic_load(&s.overlaps) == 0);
	int missing = 0;
	for (int k = 0; k < NKEYS; k++)
		missing += atomic_load(&s.processed[k]) == 0;
	CHECK(missing == 0);
	kip_workqueue_free(s.q);
}

int main(void)
{
	RUN(test_dedup);
	RUN(test_processing_and_dirty);
	RUN(test_delays_in_order);
	RUN(test_rate_limit);
	RUN(test_shutdown);
	RUN(test_timeout);
	RUN(test_threads);
	return check_summary();
}
