/* SPDX-License-Identifier: Apache-2.0
 * The kipper-gateway proxy as a service for the kip.gateway binding: start the worker threads with
 * their listeners, swap the routes and the certificates while they run, read the counters, drain
 * and stop. Everything else in core/src/gateway/ is internal to it (gw_internal.h). */
#ifndef KIP_GATEWAY_GATEWAY_H
#define KIP_GATEWAY_GATEWAY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kip/err.h"
#include "gateway/tls.h"

#define GW_WORKERS_MAX 64

struct gw_config {
	bool has_listen, has_tls_listen;
	struct sockaddr_in listen, tls_listen;   /* port 0: the kernel picks one, shared by the workers */
	const struct gw_cert_pair *certs; size_t n_certs;   /* needed with tls_listen */
	const char *zone;                        /* "kipper.run" */
	int workers;                             /* 1..GW_WORKERS_MAX */
	bool allow_private;                      /* private/loopback upstreams allowed */
	const char *access_log;                  /* NULL: none, "-": standard output, else a file (appended) */
	int header_ms, idle_ms, connect_ms, upstream_ms;
	size_t max_head;                         /* request head bound (431 above) */
};

/* One cluster's upstream, copied into the gateway by gw_set_routes. */
struct gw_route {
	char cluster[16];        /* "203-0-113-10" */
	uint32_t ip;             /* host byte order */
	uint16_t port;
	bool tls;                /* https upstream (SNI "<cluster>.<zone>") */
	bool has_pin;
	unsigned char pin[32];   /* SHA-256 of the upstream leaf's SPKI DER */
};

/* The counters gw:stats() reports, all summed over the workers. X(name) for each. */
#define GW_STATS(X) \
	X(connections_active) X(connections_total) X(requests_total) \
	X(responses_2xx) X(responses_3xx) X(responses_4xx) X(responses_5xx) \
	X(bytes_in) X(bytes_out) X(upstream_connects) X(upstream_reused) X(upstream_errors) \
	X(upstream_timeouts) X(refused_host) X(refused_private) X(refused_pin) X(refused_framing) \
	X(tls_handshakes) X(tls_resumed) X(websocket_tunnels)

struct gw_stats {
#define GW_STATS_FIELD(name) uint64_t name;
	GW_STATS(GW_STATS_FIELD)
#undef GW_STATS_FIELD
};

struct gw_gateway;

/** Binds the listeners and starts cfg->workers threads; the routes start empty (every host 404).
 * Returns NULL with err filled (bind failure, bad certificates, no listener). cfg is copied. */
struct gw_gateway *gw_start(const struct gw_config *cfg, struct kip_err *err);
/** The bound ports (0 for a listener not configured). */
void gw_ports(const struct gw_gateway *g, int *listen, int *tls_listen);
/** Replaces the whole route table (copied); requests already routed keep their upstream.
 * 0, or KIP_ENOMEM. */
int gw_set_routes(struct gw_gateway *g, const struct gw_route *routes, size_t n, struct kip_err *err);
/** Replaces the certificate set for new handshakes. 0, or a KIP_E* code with err filled. */
int gw_set_certs(struct gw_gateway *g, const struct gw_cert_pair *pairs, size_t n, struct kip_err *err);
/** Sums the workers' counters. */
void gw_get_stats(struct gw_gateway *g, struct gw_stats *out);
/** Stops accepting, closes idle connections and lets requests in flight finish (answered with
 * Connection: close) for up to timeout_ms, then stops the workers, cutting what is left.
 * Blocks; returns whether every connection finished in time. The gateway stays allocated (free it
 * with gw_close). */
bool gw_drain(struct gw_gateway *g, int timeout_ms);
/** Stops the workers at once (if still running), closes everything and frees g. */
void gw_close(struct gw_gateway *g);

#endif
