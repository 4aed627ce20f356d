/* SPDX-License-Identifier: Apache-2.0
 * A thread-safe chunk queue between a producer (Lua code, under the host lock) and one consumer
 * (a server thread writing a long-lived HTTP response: watches, followed logs). Reference counted:
 * the Lua userdata and the connection each hold a reference. Uses pthreads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kip_stream;

/** A new open stream with one reference, or NULL when out of memory. `max_bytes` caps what may
 * wait in the queue (0: 64 MiB); a producer that exceeds it gets false from kip_stream_write and
 * the stream is closed, so a stuck reader cannot make the process grow without bound. */
struct kip_stream *kip_stream_new(size_t max_bytes);

void kip_stream_ref(struct kip_stream *s);
/** Drops a reference; the last one frees the stream and anything still queued. */
void kip_stream_unref(struct kip_stream *s);

/** Queues a copy of data. Returns false, queuing nothing, when the stream is closed (by either
 * side) or the cap was reached (which closes it). */
bool kip_stream_write(struct kip_stream *s, const void *data, size_t len);

/** Closes the stream: the consumer gets what is queued, then the end. Idempotent. */
void kip_stream_close(struct kip_stream *s);

/** Marks the stream closed by the consumer (its client went away): writes fail from now on. */
void kip_stream_abandon(struct kip_stream *s);

/** True while neither side closed it. */
bool kip_stream_is_open(struct kip_stream *s);

/** Waits up to timeout_ms (-1: forever) for a chunk. Returns 1 with *data (caller frees) and
 * *len, 0 at the end of the stream (closed and drained), or -1 when the time ran out. */
int kip_stream_read(struct kip_stream *s, int timeout_ms, char **data, size_t *len);
