/* SPDX-License-Identifier: Apache-2.0
 * Upstream connections of a gateway worker: nonblocking connects (TLS with SNI "<cluster>.<zone>"
 * is started by proxy.c once connected) and the per-worker pool of idle keep-alive connections,
 * keyed by (ip, port, tls), bounded per key, idle-timed out and watched so a connection the
 * upstream closes is dropped at once. Uses gw_internal.h and tls.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "gateway/gw_internal.h"

static unsigned key_hash(uint32_t ip, uint16_t port, bool tls)
{
	uint32_t h = ip * 2654435761u ^ ((uint32_t)port << 1 | tls) * 40503u;
	return (h >> 8) % GW_POOL_BUCKETS;
}

static struct gw_pool_key *find_key(struct gw_worker *w, uint32_t ip, uint16_t port, bool tls, bool create)
{
	unsigned b = key_hash(ip, port, tls);
	for (struct gw_pool_key *k = w->pool[b]; k; k = k->next)
		if (k->ip == ip && k->port == port && k->tls == tls)
			return k;
	if (!create)
		return NULL;
	struct gw_pool_key *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->ip = ip;
	k->port = port;
	k->tls = tls;
	k->next = w->pool[b];
	w->pool[b] = k;
	return k;
}

static void pool_unlink(struct gw_upstream *u)
{
	struct gw_pool_key *k = u->key;
	if (!k)
		return;
	if (u->pool_prev)
		u->pool_prev->pool_next = u->pool_next;
	else
		k->head = u->pool_next;
	if (u->pool_next)
		u->pool_next->pool_prev = u->pool_prev;
	u->pool_prev = u->pool_next = NULL;
	u->key = NULL;
	k->count--;
}

void gw_upstream_close(struct gw_upstream *u)
{
	if (u->dead)
		return;
	struct gw_worker *w = u->w;
	pool_unlink(u);
	gw_timer_stop(w, &u->timer);
	if (u->ssl) {
		gw_tls_free(u->ssl, u->state == GW_UP_IDLE || u->state == GW_UP_READY);
		u->ssl = NULL;
	}
	if (u->fd >= 0)
		gw_ep_close(w, u->fd);
	u->fd = -1;
	u->conn = NULL;
	u->dead = true;
	u->dead_next = w->dead_ups;
	w->dead_ups = u;
}

struct gw_upstream *gw_pool_take(struct gw_worker *w, const struct gw_route *r)
{
	struct gw_pool_key *k = find_key(w, r->ip, r->port, r->tls, false);
	while (k && k->head) {
		struct gw_upstream *u = k->head;
		pool_unlink(u);
		uint64_t pooled_at = u->timer.deadline - w->timers[GW_T_POOL].duration;
		gw_timer_stop(w, &u->timer);
		if (u->tls && (u->has_pin != r->has_pin || (r->has_pin && memcmp(u->pin, r->pin, 32) != 0))) {
			gw_upstream_close(u);   /* checked against another pin: connect afresh */
			continue;
		}
		/* An upstream closes a connection after it idled for its own timeout (seconds); a close
		 * the loop has not seen yet is looked for only then, so a busy pool costs no extra recv.
		 * A request that still meets a closed one is retried once when it has no body. */
		if (!u->ssl && w->now - pooled_at >= GW_POOL_PEEK_AFTER_MS) {
			char b;
			ssize_t n = recv(u->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
			if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				gw_upstream_close(u);   /* closed, or talking out of turn */
				continue;
			}
		}
		u->state = GW_UP_READY;
		u->reused = true;
		return u;
	}
	return NULL;
}

struct gw_upstream *gw_upstream_connect(struct gw_worker *w, const struct gw_route *r)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(r->port), .sin_addr.s_addr = htonl(r->ip)};
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	struct gw_upstream *u = calloc(1, sizeof *u);
	if (!u) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	u->ev.kind = GW_EV_UPSTREAM;
	u->w = w;
	u->fd = fd;
	u->state = GW_UP_CONNECTING;
	u->ip = r->ip;
	u->port = r->port;
	u->tls = r->tls;
	u->timer.kind = -1;
	if (gw_ep_add(w, fd, &u->ev) < 0) {
		int e = errno;
		close(fd);
		free(u);
		errno = e;
		return NULL;
	}
	return u;
}

void gw_pool_put(struct gw_worker *w, struct gw_upstream *u)
{
	u->conn = NULL;
	u->reused = false;
	if (w->draining) {
		gw_upstream_close(u);
		return;
	}
	struct gw_pool_key *k = find_key(w, u->ip, u->port, u->tls, true);
	if (!k || k->count >= GW_POOL_PER_KEY) {
		gw_upstream_close(u);
		return;
	}
	u->state = GW_UP_IDLE;
	u->key = k;
	u->pool_prev = NULL;
	u->pool_next = k->head;
	if (k->head)
		k->head->pool_prev = u;
	k->head = u;
	k->count++;
	gw_timer_set(w, &u->timer, GW_T_POOL);
}

void gw_upstream_pool_event(struct gw_upstream *u)
{
	/* An idle connection has nothing to say: bytes or a close both end it. (A TLS 1.3 session
	 * ticket arriving late is the one harmless case; reading it would need the SSL, and the cost of
	 * dropping is one reconnect.) */
	if (u->ssl) {
		char b[1];
		ERR_clear_error();
		int n = SSL_peek(u->ssl, b, 1);
		if (n <= 0 && SSL_get_error(u->ssl, n) == SSL_ERROR_WANT_READ) {
			u->rd = false;
			return;   /* only TLS records without data (tickets): still usable */
		}
	}
	gw_upstream_close(u);
}

void gw_pool_close_all(struct gw_worker *w)
{
	for (int b = 0; b < GW_POOL_BUCKETS; b++) {
		while (w->pool[b]) {
			struct gw_pool_key *k = w->pool[b];
			while (k->head)
				gw_upstream_close(k->head);
			w->pool[b] = k->next;
			free(k);
		}
	}
}
