/* SPDX-License-Identifier: Apache-2.0
 * The gateway's control side, called from the kip.gateway binding: binding the listeners (one
 * socket per worker and listener, SO_REUSEPORT; with port 0 the first bind picks the port and the
 * others take the same), starting and stopping the worker threads, swapping the route table and
 * the certificate set (workers pick the new one up on their next loop turn; connections keep what
 * they have), summing the counters, and draining. Uses gw_internal.h, tls.h, epoll and eventfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gw_internal.h"

static int make_listener(const struct sockaddr_in *addr, int *port, struct kip_err *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kip_err_sys(err, errno, "socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	struct sockaddr_in sa = *addr;
	if (*port)
		sa.sin_port = htons((uint16_t)*port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0) {
		int e = errno;
		close(fd);
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
		kip_err_sys(err, e, "cannot listen on %s:%u", ip, ntohs(sa.sin_port));
		if (err)
			err->code = KIP_ECONNECT;
		return KIP_ECONNECT;
	}
	if (!*port) {
		socklen_t len = sizeof sa;
		getsockname(fd, (struct sockaddr *)&sa, &len);
		*port = ntohs(sa.sin_port);
	}
	return fd;
}

static void wake(struct gw_worker *w)
{
	uint64_t one = 1;
	if (w->wake_fd >= 0) {
		ssize_t r = write(w->wake_fd, &one, sizeof one);
		(void)r;
	}
}

static void free_gateway(struct gw_gateway *g)
{
	for (int i = 0; i < g->n_workers; i++) {
		struct gw_worker *w = &g->workers[i];
		for (int l = 0; l < w->n_listeners; l++)
			if (w->listeners[l].fd >= 0)
				close(w->listeners[l].fd);
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		gw_routes_unref(w->routes);
		gw_tls_server_unref(w->certs);
		while (w->n_buf_cache > 0)
			free(w->buf_cache[--w->n_buf_cache]);
	}
	gw_routes_unref(g->routes);
	gw_tls_server_unref(g->certs);
	gw_tls_client_free(g->tls_client);
	if (g->log_fd >= 0)
		close(g->log_fd);
	free(g->zone);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->done_cond);
	free(g);
}

static int setup_worker(struct gw_gateway *g, struct gw_worker *w, struct kip_err *err)
{
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->wake_fd < 0)
		return kip_err_sys(err, errno, "epoll");
	w->wake_ev.kind = GW_EV_WAKE;
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &w->wake_ev};
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &e) < 0)
		return kip_err_sys(err, errno, "epoll_ctl");
	const struct sockaddr_in *addrs[2] = {g->cfg.has_listen ? &g->cfg.listen : NULL,
	                                      g->cfg.has_tls_listen ? &g->cfg.tls_listen : NULL};
	for (int i = 0; i < 2; i++) {
		if (!addrs[i])
			continue;
		int fd = make_listener(addrs[i], &g->ports[i], err);
		if (fd < 0)
			return fd;
		struct gw_listener *l = &w->listeners[w->n_listeners++];
		l->ev.kind = GW_EV_LISTEN;
		l->fd = fd;
		l->tls = i == 1;
		struct epoll_event le = {.events = EPOLLIN, .data.ptr = &l->ev};
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &le) < 0)
			return kip_err_sys(err, errno, "epoll_ctl");
	}
	w->timers[GW_T_HEADER].duration = (uint64_t)g->cfg.header_ms;
	w->timers[GW_T_IDLE].duration = (uint64_t)g->cfg.idle_ms;
	w->timers[GW_T_CONNECT].duration = (uint64_t)g->cfg.connect_ms;
	w->timers[GW_T_UPSTREAM].duration = (uint64_t)g->cfg.upstream_ms;
	w->timers[GW_T_POOL].duration = (uint64_t)(g->cfg.idle_ms < 60000 ? g->cfg.idle_ms : 60000);
	return 0;
}

struct gw_gateway *gw_start(const struct gw_config *cfg, struct kip_err *err)
{
	if (cfg->workers < 1 || cfg->workers > GW_WORKERS_MAX) {
		kip_err_set(err, KIP_EINVAL, "workers must be 1..%d", GW_WORKERS_MAX);
		return NULL;
	}
	if (!cfg->has_listen && !cfg->has_tls_listen) {
		kip_err_set(err, KIP_EINVAL, "no listen or tls_listen address");
		return NULL;
	}
	if (cfg->has_tls_listen && cfg->n_certs == 0) {
		kip_err_set(err, KIP_EINVAL, "tls_listen needs certs");
		return NULL;
	}
	struct gw_gateway *g = calloc(1, sizeof *g + (size_t)cfg->workers * sizeof g->workers[0]);
	if (!g) {
		kip_err_set(err, KIP_ENOMEM, "out of memory");
		return NULL;
	}
	g->cfg = *cfg;
	g->cfg.certs = NULL;
	g->cfg.n_certs = 0;
	g->cfg.access_log = NULL;
	g->log_fd = -1;
	g->n_workers = cfg->workers;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->done_cond, NULL);
	atomic_init(&g->routes_gen, 1);
	atomic_init(&g->certs_gen, 1);
	for (int i = 0; i < g->n_workers; i++) {
		g->workers[i].epfd = g->workers[i].wake_fd = -1;
		g->workers[i].g = g;
		g->workers[i].index = i;
	}
	g->zone = strdup(cfg->zone ? cfg->zone : "");
	g->cfg.zone = g->zone;
	g->routes = gw_routes_new(NULL, 0);
	if (!g->zone || !g->routes) {
		kip_err_set(err, KIP_ENOMEM, "out of memory");
		goto fail;
	}
	char msg[512];
	if (cfg->n_certs) {
		g->certs = gw_tls_server_new(cfg->certs, cfg->n_certs, msg, sizeof msg);
		if (!g->certs) {
			kip_err_set(err, KIP_ETLS, "%s", msg);
			goto fail;
		}
	}
	g->tls_client = gw_tls_client_new(msg, sizeof msg);
	if (!g->tls_client) {
		kip_err_set(err, KIP_ETLS, "%s", msg);
		goto fail;
	}
	if (cfg->access_log) {
		if (strcmp(cfg->access_log, "-") == 0)
			g->log_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
		else
			g->log_fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (g->log_fd < 0) {
			kip_err_sys(err, errno, "cannot open the access log %s", cfg->access_log);
			goto fail;
		}
	}
	for (int i = 0; i < g->n_workers; i++)
		if (setup_worker(g, &g->workers[i], err) < 0)
			goto fail;
	/* the workers take no signals: they stay with the threads that handle them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < g->n_workers; i++) {
		if (pthread_create(&g->workers[i].thread, NULL, gw_worker_main, &g->workers[i]) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			kip_err_set(err, KIP_ENOMEM, "cannot start a worker thread");
			gw_close(g);
			return NULL;
		}
		g->workers[i].started = true;
		atomic_fetch_add(&g->running, 1);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return g;
fail:
	free_gateway(g);
	return NULL;
}

void gw_ports(const struct gw_gateway *g, int *listen, int *tls_listen)
{
	*listen = g->cfg.has_listen ? g->ports[0] : 0;
	*tls_listen = g->cfg.has_tls_listen ? g->ports[1] : 0;
}

int gw_set_routes(struct gw_gateway *g, const struct gw_route *routes, size_t n, struct kip_err *err)
{
	struct gw_routes *r = gw_routes_new(routes, n);
	if (!r)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	pthread_mutex_lock(&g->lock);
	struct gw_routes *old = g->routes;
	g->routes = r;
	atomic_fetch_add_explicit(&g->routes_gen, 1, memory_order_release);
	pthread_mutex_unlock(&g->lock);
	gw_routes_unref(old);
	return 0;
}

int gw_set_certs(struct gw_gateway *g, const struct gw_cert_pair *pairs, size_t n, struct kip_err *err)
{
	if (n == 0)
		return kip_err_set(err, KIP_EINVAL, "no certificates");
	char msg[512];
	struct gw_tls_server *s = gw_tls_server_new(pairs, n, msg, sizeof msg);
	if (!s)
		return kip_err_set(err, KIP_ETLS, "%s", msg);
	pthread_mutex_lock(&g->lock);
	struct gw_tls_server *old = g->certs;
	g->certs = s;
	atomic_fetch_add_explicit(&g->certs_gen, 1, memory_order_release);
	pthread_mutex_unlock(&g->lock);
	gw_tls_server_unref(old);
	return 0;
}

void gw_get_stats(struct gw_gateway *g, struct gw_stats *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < g->n_workers; i++) {
		struct gw_stats *s = &g->workers[i].stats;
#define GW_STATS_SUM(name) out->name += __atomic_load_n(&s->name, __ATOMIC_RELAXED);
		GW_STATS(GW_STATS_SUM)
#undef GW_STATS_SUM
	}
}

static void join_all(struct gw_gateway *g)
{
	for (int i = 0; i < g->n_workers; i++) {
		if (g->workers[i].started) {
			pthread_join(g->workers[i].thread, NULL);
			g->workers[i].started = false;
		}
	}
}

bool gw_drain(struct gw_gateway *g, int timeout_ms)
{
	int expected = 0;
	atomic_compare_exchange_strong(&g->drain, &expected, 1);
	for (int i = 0; i < g->n_workers; i++)
		wake(&g->workers[i]);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	bool finished = true;
	pthread_mutex_lock(&g->lock);
	while (atomic_load(&g->running) > 0) {
		if (pthread_cond_timedwait(&g->done_cond, &g->lock, &deadline) == ETIMEDOUT) {
			finished = atomic_load(&g->running) == 0;
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
	if (!finished) {
		atomic_store(&g->drain, 2);
		for (int i = 0; i < g->n_workers; i++)
			wake(&g->workers[i]);
	}
	join_all(g);
	return finished;
}

void gw_close(struct gw_gateway *g)
{
	if (!g)
		return;
	atomic_store(&g->drain, 2);
	for (int i = 0; i < g->n_workers; i++)
		wake(&g->workers[i]);
	join_all(g);
	free_gateway(g);
}
