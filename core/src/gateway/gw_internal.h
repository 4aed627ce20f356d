/* SPDX-License-Identifier: Apache-2.0
 * What the gateway's own files share: the gateway and worker structs, client connections, their
 * requests and upstream connections, byte buffers, per-kind timer lists, the route table snapshot,
 * and the functions each file provides to the others (gateway.c, worker.c, proxy.c, conn_io.c,
 * heads.c, request.c, upstream.c, routes.c, access_log.c). Uses gateway.h, http1.h, host.h and
 * tls.h. */
#ifndef KIP_GATEWAY_INTERNAL_H
#define KIP_GATEWAY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/gateway.h"
#include "gateway/http1.h"
#include "gateway/tls.h"

#define GW_BUF_SIZE (16u * 1024u)       /* one direction's bound while streaming */
#define GW_RESPONSE_HEAD_MAX (64u * 1024u)
#define GW_POOL_PER_KEY 64
#define GW_POOL_PEEK_AFTER_MS 1000  /* pooled longer: check the upstream did not close it */
#define GW_BUF_CACHE 64                 /* free GW_BUF_SIZE buffers a worker keeps */

/* --- counters: written by their worker only, read relaxed by gw_get_stats ---------------------- */
#define GW_STAT_ADD(w, name, n) \
	__atomic_store_n(&(w)->stats.name, (w)->stats.name + (uint64_t)(n), __ATOMIC_RELAXED)
#define GW_STAT_INC(w, name) GW_STAT_ADD(w, name, 1)

/* --- byte buffers: allocated when bytes arrive, released when empty ----------------------------- */
struct gw_buf {
	char *p;
	uint32_t off, len, cap;
};

/* --- timers: one list per kind and worker; a kind has one duration, so appending keeps it sorted */
enum gw_timer_kind { GW_T_HEADER, GW_T_IDLE, GW_T_CONNECT, GW_T_UPSTREAM, GW_T_POOL, GW_T_KINDS };
struct gw_timer {
	struct gw_timer *prev, *next;
	uint64_t deadline;       /* ms, monotonic */
	int8_t kind;             /* -1: not armed */
};
struct gw_timer_list { struct gw_timer *head, *tail; uint64_t duration; };

/* --- what epoll events point at --------------------------------------------------------------- */
enum gw_ev_kind { GW_EV_LISTEN, GW_EV_CLIENT, GW_EV_UPSTREAM, GW_EV_WAKE };
struct gw_ev { uint8_t kind; };

/* --- routes: an immutable snapshot, refcounted ---------------------------------------------------- */
struct gw_routes {
	atomic_int refs;
	size_t mask;                 /* slots - 1 (a power of two), open addressing */
	struct gw_route *slots;      /* cluster[0] == 0: empty */
};
struct gw_routes *gw_routes_new(const struct gw_route *routes, size_t n);
void gw_routes_ref(struct gw_routes *r);
void gw_routes_unref(struct gw_routes *r);
const struct gw_route *gw_routes_find(const struct gw_routes *r, const char *cluster);

/* --- upstream connections ------------------------------------------------------------------------ */
enum gw_up_state { GW_UP_CONNECTING, GW_UP_HANDSHAKE, GW_UP_READY, GW_UP_IDLE };
struct gw_conn;
struct gw_upstream {
	struct gw_ev ev;             /* GW_EV_UPSTREAM; first */
	struct gw_worker *w;
	int fd;
	SSL *ssl;
	uint8_t state;
	bool rd, wr;                 /* readiness seen from epoll (edge-triggered), cleared on EAGAIN */
	bool hup;                    /* epoll reported RDHUP/HUP/ERR: read until EOF, never assume drained */
	bool reused;                 /* taken from the pool for the current request */
	bool eof;                    /* the upstream closed its side */
	bool dead;
	uint32_t ip; uint16_t port; bool tls;
	bool has_pin; unsigned char pin[32];   /* the key the connection was checked against */
	struct gw_conn *conn;        /* owner while a request uses it */
	struct gw_upstream *pool_prev, *pool_next;  /* in its pool key's idle list */
	struct gw_pool_key *key;
	struct gw_upstream *dead_next;
	struct gw_timer timer;       /* connect, upstream activity or pool idle */
};

/* --- requests: the one in flight on a client connection (request.c makes, logs and frees it) ----- */
struct gw_request {
	uint64_t start_ms;
	uint64_t bytes_in, bytes_out;
	struct gw_route route;
	bool routed;
	int status;
	bool head_request, keep_alive, upgrade, http10;
	uint8_t req_body; uint64_t req_remaining; struct h1_chunked req_chunk; bool req_done;
	bool resp_head_done, resp_done, resp_started, close_after, up_keep, up_write_failed, retried;
	bool client_started;          /* response bytes were queued for the client */
	bool error_page;
	uint8_t resp_body; uint64_t resp_remaining; struct h1_chunked resp_chunk;
	char *head_copy; size_t head_copy_len;    /* the upstream head, for one retry on a fresh connection */
	/* for the log: method, path and host, copied by gw_request_new (each cut at 2 KiB) */
	char *log; size_t method_len, path_len, host_len;
};

/* --- client connections --------------------------------------------------------------------------- */
enum gw_conn_state {
	GW_C_HANDSHAKE,   /* TLS handshake */
	GW_C_IDLE,        /* keep-alive, waiting for the next request */
	GW_C_HEAD,        /* reading a request head */
	GW_C_PROXY,       /* a request in flight */
	GW_C_TUNNEL,      /* after 101: bytes both ways */
	GW_C_CLOSING,     /* flushing cw, then closing */
	GW_C_LINGER,      /* write side shut, discarding input until EOF or the timer */
};
struct gw_conn {
	struct gw_ev ev;             /* GW_EV_CLIENT; first */
	struct gw_worker *w;
	int fd;
	SSL *ssl;
	uint8_t state;
	bool rd, wr;
	bool hup;                    /* as in gw_upstream */
	bool dead;
	bool eof;                    /* the client closed its side */
	bool tls;                    /* came in on the TLS listener */
	uint32_t peer_ip;
	struct gw_buf cr, cw;        /* from the client (unprocessed), to the client */
	struct gw_buf ur, uw;        /* from the upstream (unprocessed), to the upstream */
	struct gw_upstream *up;
	struct gw_request *req;      /* the request in flight (GW_C_PROXY, GW_C_TUNNEL) */
	struct gw_conn *prev, *next; /* the worker's connections */
	struct gw_conn *dead_next;
	struct gw_timer timer;       /* header, idle or linger */
};

/* --- workers ----------------------------------------------------------------------------------------- */
struct gw_pool_key {
	struct gw_pool_key *next;
	uint32_t ip; uint16_t port; bool tls;
	unsigned count;
	struct gw_upstream *head;    /* idle connections, most recently used first */
};
#define GW_POOL_BUCKETS 256

struct gw_listener { struct gw_ev ev; int fd; bool tls; };

struct gw_gateway;
struct gw_worker {
	struct gw_gateway *g;
	int index;
	pthread_t thread;
	bool started;
	int epfd;
	struct gw_ev wake_ev;        /* GW_EV_WAKE */
	int wake_fd;                 /* eventfd */
	struct gw_listener listeners[2];
	int n_listeners;
	struct gw_stats stats;
	uint64_t now;                /* ms, monotonic, refreshed each loop turn */
	struct gw_timer_list timers[GW_T_KINDS];
	struct gw_conn *conns;       /* every client connection */
	size_t n_conns;
	struct gw_conn *dead_conns;  /* freed after the current batch of events */
	struct gw_upstream *dead_ups;
	struct gw_pool_key *pool[GW_POOL_BUCKETS];
	char *buf_cache[GW_BUF_CACHE];
	int n_buf_cache;
	struct gw_routes *routes;    /* this worker's reference */
	unsigned routes_gen;
	struct gw_tls_server *certs; /* this worker's reference (NULL without TLS) */
	unsigned certs_gen;
	bool draining;               /* listeners closed, finishing what is in flight */
	uint64_t accept_resume;      /* listeners paused (out of descriptors) until then; 0: not */
};

struct gw_gateway {
	struct gw_config cfg;
	char *zone;
	int ports[2];
	int log_fd;                  /* -1: no access log */
	struct gw_tls_client *tls_client;
	pthread_mutex_t lock;        /* guards routes, certs and their generations */
	struct gw_routes *routes;
	struct gw_tls_server *certs;
	atomic_uint routes_gen, certs_gen;
	atomic_int drain;            /* 1: drain, 2: stop now */
	atomic_int running;          /* workers still running */
	pthread_cond_t done_cond;    /* signalled (under lock) when a worker exits */
	int n_workers;
	struct gw_worker workers[];
};

/* worker.c */
void *gw_worker_main(void *arg);
uint64_t gw_now_ms(void);
void gw_timer_set(struct gw_worker *w, struct gw_timer *t, int kind);
void gw_timer_stop(struct gw_worker *w, struct gw_timer *t);
int gw_ep_add(struct gw_worker *w, int fd, struct gw_ev *ev);
void gw_ep_close(struct gw_worker *w, int fd);   /* EPOLL_CTL_DEL, then close */
char *gw_buf_take(struct gw_worker *w);
void gw_buf_release(struct gw_worker *w, struct gw_buf *b);
/* Makes room for at least `need` more bytes (compacting, growing to at most max). false: no room. */
bool gw_buf_reserve(struct gw_worker *w, struct gw_buf *b, size_t need, size_t max);
bool gw_buf_append(struct gw_worker *w, struct gw_buf *b, const void *data, size_t len);
void gw_buf_consume(struct gw_worker *w, struct gw_buf *b, size_t n);

/* proxy.c */
void gw_conn_accepted(struct gw_worker *w, int fd, bool tls, uint32_t peer_ip);
void gw_conn_event(struct gw_conn *c, uint32_t events);
void gw_conn_upstream_event(struct gw_conn *c);
void gw_conn_timeout(struct gw_conn *c);
void gw_conn_upstream_timeout(struct gw_conn *c, int kind);
void gw_conn_close(struct gw_conn *c);
void gw_conn_drain(struct gw_conn *c);   /* the worker started draining */

/* conn_io.c: nonblocking reads and writes over the socket or its TLS */
/* One read: > 0 bytes, or GW_IO_* (as gw_tls_read; a plain socket's EOF is GW_IO_EOF). */
ptrdiff_t gw_io_read(int fd, SSL *ssl, void *b, size_t n);
/* Reads from the client / the upstream into b, keeping b->len <= max. 1: bytes came, 0: nothing
 * now (would block, or no room), -1: end of stream or error (c->eof / up->eof set). */
int gw_client_fill(struct gw_conn *c, struct gw_buf *b, size_t max);
int gw_up_fill(struct gw_conn *c, struct gw_buf *b, size_t max);
/* Writes what c->cw / c->uw holds. 1: some bytes went, 0: nothing (empty or would block), -1: error. */
int gw_client_flush(struct gw_conn *c);
int gw_up_flush(struct gw_conn *c);

/* heads.c: each appends to the connection's buffer; false: out of memory */
/* The request head for the upstream, into c->uw. */
bool gw_build_request_head(struct gw_conn *c, const struct h1_request *req, bool upgrade);
/* The response head for the client, into c->cw; connection: NULL for 1xx. */
bool gw_build_response_head(struct gw_conn *c, const char *raw, const struct h1_response *res,
                            const char *connection);
/* The gateway's own page for status, into c->cw (the head only for a HEAD request). */
bool gw_append_error_page(struct gw_conn *c, int status, bool close, bool head_request);

/* request.c */
/* A request starting now; req: its head (method, target and host copied when there is an access
 * log), or NULL for an error answered before a head was read. NULL: out of memory. */
struct gw_request *gw_request_new(struct gw_conn *c, const struct h1_request *req);
void gw_request_free(struct gw_request *r);   /* NULL is fine */
/* Counts the response by status class and writes the access-log line (when there is a log). */
void gw_request_log(struct gw_conn *c, struct gw_request *r);

/* upstream.c */
/* A pooled connection for the route (checked against its pin), or NULL. */
struct gw_upstream *gw_pool_take(struct gw_worker *w, const struct gw_route *r);
/* A new nonblocking connection, or NULL with errno. */
struct gw_upstream *gw_upstream_connect(struct gw_worker *w, const struct gw_route *r);
/* Returns a healthy idle connection to the pool (or closes it when the key is full). */
void gw_pool_put(struct gw_worker *w, struct gw_upstream *u);
void gw_upstream_close(struct gw_upstream *u);
void gw_upstream_pool_event(struct gw_upstream *u);   /* an event on an idle pooled connection */
void gw_pool_close_all(struct gw_worker *w);

/* access_log.c */
struct gw_log_entry {
	uint32_t client_ip;
	const char *host; size_t host_len;
	const char *method; size_t method_len;
	const char *path; size_t path_len;
	int status;
	uint64_t bytes_in, bytes_out, duration_ms;
	const char *cluster;                 /* "" when not routed */
	uint32_t upstream_ip; uint16_t upstream_port;   /* 0: none */
};
void gw_log_write(int fd, const struct gw_log_entry *e);

#endif
