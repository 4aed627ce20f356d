/* SPDX-License-Identifier: Apache-2.0
 * The chunk queue declared in kip/stream.h: a mutex, a condition variable and a singly linked
 * list of chunks. Uses pthreads and CLOCK_MONOTONIC waits. */
#include "kip/stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_DEFAULT_CAP ((size_t)64 << 20)

struct chunk {
	struct chunk *next;
	size_t len;
	char data[];
};

struct kip_stream {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct chunk *head, *tail;
	size_t queued, cap;
	int refs;
	bool closed;     /* by the producer: drain, then end */
	bool abandoned;  /* by the consumer: nobody reads any more */
};

struct kip_stream *kip_stream_new(size_t max_bytes)
{
	struct kip_stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->ready, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&s->lock, NULL);
	s->cap = max_bytes ? max_bytes : STREAM_DEFAULT_CAP;
	s->refs = 1;
	return s;
}

void kip_stream_ref(struct kip_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->refs++;
	pthread_mutex_unlock(&s->lock);
}

void kip_stream_unref(struct kip_stream *s)
{
	pthread_mutex_lock(&s->lock);
	int left = --s->refs;
	pthread_mutex_unlock(&s->lock);
	if (left > 0)
		return;
	for (struct chunk *c = s->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	pthread_cond_destroy(&s->ready);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

bool kip_stream_write(struct kip_stream *s, const void *data, size_t len)
{
	struct chunk *c = malloc(sizeof *c + len);
	if (!c)
		return false;
	c->next = NULL;
	c->len = len;
	memcpy(c->data, data, len);
	pthread_mutex_lock(&s->lock);
	bool ok = !s->closed && !s->abandoned;
	if (ok && s->queued + len > s->cap) {
		s->closed = true; /* the reader fell too far behind: end the stream */
		ok = false;
	}
	if (ok) {
		if (s->tail)
			s->tail->next = c;
		else
			s->head = c;
		s->tail = c;
		s->queued += len;
	}
	pthread_cond_broadcast(&s->ready);
	pthread_mutex_unlock(&s->lock);
	if (!ok)
		free(c);
	return ok;
}

void kip_stream_close(struct kip_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->closed = true;
	pthread_cond_broadcast(&s->ready);
	pthread_mutex_unlock(&s->lock);
}

void kip_stream_abandon(struct kip_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->abandoned = true;
	pthread_cond_broadcast(&s->ready);
	pthread_mutex_unlock(&s->lock);
}

bool kip_stream_is_open(struct kip_stream *s)
{
	pthread_mutex_lock(&s->lock);
	bool open = !s->closed && !s->abandoned;
	pthread_mutex_unlock(&s->lock);
	return open;
}

int kip_stream_read(struct kip_stream *s, int timeout_ms, char **data, size_t *len)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&s->lock);
	int rc;
	for (;;) {
		if (s->head) {
			struct chunk *c = s->head;
			s->head = c->next;
			if (!s->head)
				s->tail = NULL;
			s->queued -= c->len;
			pthread_mutex_unlock(&s->lock);
			/* hand the payload out as its own allocation */
			char *out = malloc(c->len ? c->len : 1);
			if (out)
				memcpy(out, c->data, c->len);
			*len = c->len;
			*data = out;
			free(c);
			return out ? 1 : 0;
		}
		if (s->closed || s->abandoned) {
			rc = 0;
			break;
		}
		if (timeout_ms == 0) {
			rc = -1;
			break;
		}
		int w = timeout_ms < 0 ? pthread_cond_wait(&s->ready, &s->lock)
		                       : pthread_cond_timedwait(&s->ready, &s->lock, &deadline);
		if (w == ETIMEDOUT) {
			rc = -1;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
