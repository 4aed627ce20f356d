/* SPDX-License-Identifier: Apache-2.0
 * Nonblocking I/O for a client connection and its upstream, over a plain socket or TLS: reads
 * into and writes out of the connection's bounded buffers, keeping the edge-triggered readiness
 * flags, the eof flags, the byte counters and the upstream activity timer up to date.
 * Uses gw_internal.h and tls.h (gw_tls_read, gw_tls_write). */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

#include "gateway/gw_internal.h"

ptrdiff_t gw_io_read(int fd, SSL *ssl, void *b, size_t n)
{
	if (ssl)
		return gw_tls_read(ssl, b, n);
	for (;;) {
		ssize_t r = recv(fd, b, n, 0);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? GW_IO_WANT_READ : GW_IO_ERROR;
	}
}

static ptrdiff_t io_write(int fd, SSL *ssl, const void *b, size_t n)
{
	if (ssl)
		return gw_tls_write(ssl, b, n);
	for (;;) {
		ssize_t r = send(fd, b, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? GW_IO_WANT_WRITE : GW_IO_ERROR;
	}
}

/* Reads from (fd, ssl) into b, keeping b->len <= max. 1: bytes came, 0: nothing now (would
 * block, or no room), -1: end of stream or error. *rd / *wr are the side's readiness flags. */
static int fill(struct gw_worker *w, int fd, SSL *ssl, bool *rd, bool *wr, bool hup, struct gw_buf *b, size_t max,
                size_t *got)
{
	*got = 0;
	if (!*rd || b->len >= max)
		return 0;
	if (!gw_buf_reserve(w, b, 1, max))
		return 0;
	size_t room = b->cap - b->off - b->len;
	if (room > max - b->len)
		room = max - b->len;
	ptrdiff_t n = gw_io_read(fd, ssl, b->p + b->off + b->len, room);
	if (n > 0) {
		b->len += (uint32_t)n;
		*got = (size_t)n;
		/* A short read drained the socket: the next bytes raise a new edge, so skip the read
		 * that would say EAGAIN. Not once the peer closed: its EOF raises no further edge. */
		if (!ssl && !hup && (size_t)n < room)
			*rd = false;
		return 1;
	}
	if (b->len == 0)
		gw_buf_release(w, b);
	if (n == GW_IO_WANT_READ) {
		*rd = false;
		return 0;
	}
	if (n == GW_IO_WANT_WRITE) {
		*wr = false;
		return 0;
	}
	return -1;
}

/* Writes what b holds. 1: some bytes went, 0: nothing (empty or would block), -1: error. */
static int flush(struct gw_worker *w, int fd, SSL *ssl, bool *rd, bool *wr, struct gw_buf *b, size_t *sent)
{
	int progress = 0;
	*sent = 0;
	while (b->len && *wr) {
		ptrdiff_t n = io_write(fd, ssl, b->p + b->off, b->len);
		if (n > 0) {
			*sent += (size_t)n;
			gw_buf_consume(w, b, (size_t)n);
			progress = 1;
			continue;
		}
		if (n == GW_IO_WANT_WRITE)
			*wr = false;
		else if (n == GW_IO_WANT_READ)
			*rd = false;
		else
			return -1;
	}
	return progress;
}

int gw_client_fill(struct gw_conn *c, struct gw_buf *b, size_t max)
{
	size_t got;
	if (c->eof)
		return -1;
	int r = fill(c->w, c->fd, c->ssl, &c->rd, &c->wr, c->hup, b, max, &got);
	if (got)
		GW_STAT_ADD(c->w, bytes_in, got);
	if (r < 0)
		c->eof = true;
	return r;
}

int gw_client_flush(struct gw_conn *c)
{
	size_t sent;
	int r = flush(c->w, c->fd, c->ssl, &c->rd, &c->wr, &c->cw, &sent);
	if (sent) {
		GW_STAT_ADD(c->w, bytes_out, sent);
		if (c->req)
			c->req->bytes_out += sent;
	}
	return r;
}

int gw_up_fill(struct gw_conn *c, struct gw_buf *b, size_t max)
{
	struct gw_upstream *u = c->up;
	size_t got;
	if (u->eof)
		return -1;
	int r = fill(c->w, u->fd, u->ssl, &u->rd, &u->wr, u->hup, b, max, &got);
	if (got)
		gw_timer_set(c->w, &u->timer, GW_T_UPSTREAM);
	if (r < 0)
		u->eof = true;
	return r;
}

int gw_up_flush(struct gw_conn *c)
{
	struct gw_upstream *u = c->up;
	size_t sent;
	int r = flush(c->w, u->fd, u->ssl, &u->rd, &u->wr, &c->uw, &sent);
	if (sent)
		gw_timer_set(c->w, &u->timer, GW_T_UPSTREAM);
	return r;
}
