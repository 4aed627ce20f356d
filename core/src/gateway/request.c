/* SPDX-License-Identifier: Apache-2.0
 * Request records: the one in flight on a client connection is made when its head is read (the
 * method, target and host copied for the access log) or to answer an error before one; when it
 * ends it is counted by status class, written to the access log (access_log.c) and freed.
 * Uses gw_internal.h. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_internal.h"

#define LOG_COPY_MAX 2048

struct gw_request *gw_request_new(struct gw_conn *c, const struct h1_request *req)
{
	struct gw_request *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->start_ms = c->w->now;
	if (req && c->w->g->log_fd >= 0) {
		size_t ml = req->method_len < LOG_COPY_MAX ? req->method_len : LOG_COPY_MAX;
		size_t pl = req->target_len < LOG_COPY_MAX ? req->target_len : LOG_COPY_MAX;
		size_t hl = req->host_len < LOG_COPY_MAX ? req->host_len : LOG_COPY_MAX;
		r->log = malloc(ml + pl + hl + 1);
		if (r->log) {
			memcpy(r->log, req->method, ml);
			memcpy(r->log + ml, req->target, pl);
			if (hl)
				memcpy(r->log + ml + pl, req->host, hl);
			r->method_len = ml;
			r->path_len = pl;
			r->host_len = hl;
		}
	}
	return r;
}

void gw_request_free(struct gw_request *r)
{
	if (!r)
		return;
	free(r->head_copy);
	free(r->log);
	free(r);
}

void gw_request_log(struct gw_conn *c, struct gw_request *r)
{
	struct gw_worker *w = c->w;
	int s = r->status;
	if (s >= 200 && s < 300)
		GW_STAT_INC(w, responses_2xx);
	else if (s >= 300 && s < 400)
		GW_STAT_INC(w, responses_3xx);
	else if (s >= 400 && s < 500)
		GW_STAT_INC(w, responses_4xx);
	else if (s >= 500)
		GW_STAT_INC(w, responses_5xx);
	if (w->g->log_fd < 0)
		return;
	struct gw_log_entry e = {
		.client_ip = c->peer_ip, .status = s, .bytes_in = r->bytes_in, .bytes_out = r->bytes_out,
		.duration_ms = w->now - r->start_ms, .cluster = r->routed ? r->route.cluster : "",
	};
	if (r->log) {
		e.method = r->log;
		e.method_len = r->method_len;
		e.path = r->log + r->method_len;
		e.path_len = r->path_len;
		e.host = r->log + r->method_len + r->path_len;
		e.host_len = r->host_len;
	}
	if (r->routed) {
		e.upstream_ip = r->route.ip;
		e.upstream_port = r->route.port;
	}
	gw_log_write(w->g->log_fd, &e);
}
