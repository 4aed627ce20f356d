/* SPDX-License-Identifier: Apache-2.0
 * A gateway worker thread: its epoll loop (edge-triggered for connections, level-triggered for its
 * listeners), accepting until EAGAIN, per-kind timer lists checked every turn (epoll_wait sleeps
 * until the next deadline), the worker's buffer cache, picking up new routes and certificates, and
 * draining. Connections themselves are proxy.c's and upstream.c's. Uses gw_internal.h and epoll. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gw_internal.h"

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

uint64_t gw_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- timers ------------------------------------------------------------------------------------- */

void gw_timer_stop(struct gw_worker *w, struct gw_timer *t)
{
	if (t->kind < 0)
		return;
	struct gw_timer_list *l = &w->timers[t->kind];
	if (t->prev)
		t->prev->next = t->next;
	else
		l->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		l->tail = t->prev;
	t->prev = t->next = NULL;
	t->kind = -1;
}

void gw_timer_set(struct gw_worker *w, struct gw_timer *t, int kind)
{
	gw_timer_stop(w, t);
	struct gw_timer_list *l = &w->timers[kind];
	t->kind = (int8_t)kind;
	t->deadline = w->now + l->duration;
	t->next = NULL;
	t->prev = l->tail;
	if (l->tail)
		l->tail->next = t;
	else
		l->head = t;
	l->tail = t;
}

static int next_timeout(struct gw_worker *w)
{
	uint64_t best = UINT64_MAX;
	for (int k = 0; k < GW_T_KINDS; k++)
		if (w->timers[k].head && w->timers[k].head->deadline < best)
			best = w->timers[k].head->deadline;
	if (w->accept_resume && w->accept_resume < best)
		best = w->accept_resume;
	if (best == UINT64_MAX)
		return -1;
	if (best <= w->now)
		return 0;
	uint64_t d = best - w->now;
	return d > 60000 ? 60000 : (int)d;
}

static void run_timers(struct gw_worker *w)
{
	for (int k = 0; k < GW_T_KINDS; k++) {
		struct gw_timer *t;
		while ((t = w->timers[k].head) && t->deadline <= w->now) {
			gw_timer_stop(w, t);
			if (k == GW_T_HEADER || k == GW_T_IDLE) {
				struct gw_conn *c = container_of(t, struct gw_conn, timer);
				if (!c->dead)
					gw_conn_timeout(c);
			} else {
				struct gw_upstream *u = container_of(t, struct gw_upstream, timer);
				if (u->dead)
					continue;
				if (u->conn)
					gw_conn_upstream_timeout(u->conn, k);
				else
					gw_upstream_close(u);
			}
		}
	}
}

/* --- buffers ------------------------------------------------------------------------------------- */

char *gw_buf_take(struct gw_worker *w)
{
	if (w->n_buf_cache > 0)
		return w->buf_cache[--w->n_buf_cache];
	return malloc(GW_BUF_SIZE);
}

void gw_buf_release(struct gw_worker *w, struct gw_buf *b)
{
	if (!b->p)
		return;
	if (b->cap == GW_BUF_SIZE && w->n_buf_cache < GW_BUF_CACHE)
		w->buf_cache[w->n_buf_cache++] = b->p;
	else
		free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}

bool gw_buf_reserve(struct gw_worker *w, struct gw_buf *b, size_t need, size_t max)
{
	if (!b->p) {
		if (need > max)
			return false;
		if (need <= GW_BUF_SIZE) {
			b->p = gw_buf_take(w);
			b->cap = GW_BUF_SIZE;
		} else {
			b->p = malloc(need);
			b->cap = (uint32_t)need;
		}
		b->off = b->len = 0;
		return b->p != NULL || (b->cap = 0, false);
	}
	if ((size_t)b->off + b->len + need <= b->cap)
		return true;
	if ((size_t)b->len + need <= b->cap) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
		return true;
	}
	if ((size_t)b->len + need > max)
		return false;
	size_t cap = (size_t)b->cap * 2;
	if (cap < b->len + need)
		cap = b->len + need;
	if (cap > max)
		cap = max;
	char *p = malloc(cap);
	if (!p)
		return false;
	memcpy(p, b->p + b->off, b->len);
	uint32_t len = b->len;
	gw_buf_release(w, b);
	b->p = p;
	b->cap = (uint32_t)cap;
	b->off = 0;
	b->len = len;
	return true;
}

bool gw_buf_append(struct gw_worker *w, struct gw_buf *b, const void *data, size_t len)
{
	if (len == 0)
		return true;
	if (!gw_buf_reserve(w, b, len, (size_t)1 << 30))
		return false;
	memcpy(b->p + b->off + b->len, data, len);
	b->len += (uint32_t)len;
	return true;
}

void gw_buf_consume(struct gw_worker *w, struct gw_buf *b, size_t n)
{
	b->off += (uint32_t)n;
	b->len -= (uint32_t)n;
	if (b->len == 0)
		gw_buf_release(w, b);
}

/* --- the loop ------------------------------------------------------------------------------------ */

int gw_ep_add(struct gw_worker *w, int fd, struct gw_ev *ev)
{
	struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = ev};
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e);
}

/* close(2) alone does not take an fd out of epoll while another process holds the same file (a
 * child between fork and exec): its events would then name a freed connection. */
void gw_ep_close(struct gw_worker *w, int fd)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

static void accept_all(struct gw_worker *w, struct gw_listener *l)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t len = sizeof sa;
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: the listener would fire at once again; rest 100 ms */
				struct epoll_event e = {.events = 0, .data.ptr = &l->ev};
				epoll_ctl(w->epfd, EPOLL_CTL_MOD, l->fd, &e);
				w->accept_resume = w->now + 100;
			}
			return;
		}
		uint32_t ip = sa.sin_family == AF_INET ? ntohl(sa.sin_addr.s_addr) : 0;
		gw_conn_accepted(w, fd, l->tls, ip);
	}
}

static void close_listeners(struct gw_worker *w)
{
	for (int i = 0; i < w->n_listeners; i++) {
		if (w->listeners[i].fd >= 0) {
			gw_ep_close(w, w->listeners[i].fd);
			w->listeners[i].fd = -1;
		}
	}
}

static void refresh_shared(struct gw_worker *w)
{
	struct gw_gateway *g = w->g;
	unsigned rg = atomic_load_explicit(&g->routes_gen, memory_order_acquire);
	unsigned cg = atomic_load_explicit(&g->certs_gen, memory_order_acquire);
	if (rg == w->routes_gen && cg == w->certs_gen)
		return;
	pthread_mutex_lock(&g->lock);
	if (w->routes != g->routes) {
		gw_routes_unref(w->routes);
		w->routes = g->routes;
		if (w->routes)
			gw_routes_ref(w->routes);
	}
	if (w->certs != g->certs) {
		if (w->certs)
			gw_tls_server_unref(w->certs);
		w->certs = g->certs;
		if (w->certs)
			gw_tls_server_ref(w->certs);
	}
	w->routes_gen = atomic_load(&g->routes_gen);
	w->certs_gen = atomic_load(&g->certs_gen);
	pthread_mutex_unlock(&g->lock);
}

static void free_dead(struct gw_worker *w)
{
	while (w->dead_conns) {
		struct gw_conn *c = w->dead_conns;
		w->dead_conns = c->dead_next;
		free(c);
	}
	while (w->dead_ups) {
		struct gw_upstream *u = w->dead_ups;
		w->dead_ups = u->dead_next;
		free(u);
	}
}

static void start_drain(struct gw_worker *w)
{
	w->draining = true;
	close_listeners(w);
	gw_pool_close_all(w);
	struct gw_conn *c = w->conns, *next;
	for (; c; c = next) {
		next = c->next;
		gw_conn_drain(c);
	}
}

void *gw_worker_main(void *arg)
{
	struct gw_worker *w = arg;
	struct gw_gateway *g = w->g;
	struct epoll_event evs[128];
	for (;;) {
		w->now = gw_now_ms();
		refresh_shared(w);
		int drain = atomic_load(&g->drain);
		if (drain == 2)
			break;
		if (drain == 1 && !w->draining)
			start_drain(w);
		free_dead(w);
		if (w->draining && w->n_conns == 0)
			break;
		int n = epoll_wait(w->epfd, evs, (int)(sizeof evs / sizeof evs[0]), next_timeout(w));
		if (n < 0 && errno != EINTR)
			break;
		w->now = gw_now_ms();
		refresh_shared(w);   /* routes set before this event's request arrived are used for it */
		for (int i = 0; i < n; i++) {
			struct gw_ev *ev = evs[i].data.ptr;
			uint32_t e = evs[i].events;
			switch (ev->kind) {
			case GW_EV_LISTEN:
				if (!w->draining)
					accept_all(w, (struct gw_listener *)ev);
				break;
			case GW_EV_CLIENT: {
				struct gw_conn *c = (struct gw_conn *)ev;
				if (c->dead)
					break;
				if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
					c->rd = true;
				if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
					c->wr = true;
				if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					c->hup = true;
				if (c->ssl)
					c->rd = c->wr = true;
				gw_conn_event(c, e);
				break;
			}
			case GW_EV_UPSTREAM: {
				struct gw_upstream *u = (struct gw_upstream *)ev;
				if (u->dead)
					break;
				if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
					u->rd = true;
				if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
					u->wr = true;
				if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					u->hup = true;
				if (u->ssl)
					u->rd = u->wr = true;
				if (u->conn)
					gw_conn_upstream_event(u->conn);
				else if (u->state == GW_UP_IDLE && (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
					gw_upstream_pool_event(u);
				break;
			}
			case GW_EV_WAKE: {
				uint64_t v;
				ssize_t r = read(w->wake_fd, &v, sizeof v);
				(void)r;
				break;
			}
			}
		}
		run_timers(w);
		if (w->accept_resume && w->accept_resume <= w->now) {
			w->accept_resume = 0;
			for (int i = 0; i < w->n_listeners; i++) {
				if (w->listeners[i].fd < 0)
					continue;
				struct epoll_event e = {.events = EPOLLIN, .data.ptr = &w->listeners[i].ev};
				epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->listeners[i].fd, &e);
			}
		}
	}
	/* stopping: cut whatever is left */
	close_listeners(w);
	while (w->conns)
		gw_conn_close(w->conns);
	gw_pool_close_all(w);
	free_dead(w);
	pthread_mutex_lock(&g->lock);
	atomic_fetch_sub(&g->running, 1);
	pthread_cond_broadcast(&g->done_cond);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}
