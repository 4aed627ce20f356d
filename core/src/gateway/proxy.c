/* SPDX-License-Identifier: Apache-2.0
 * One client connection of the gateway, from accept to close, as a state machine: TLS handshake,
 * reading and checking the request head (http1.h), routing by Host (host.h, the route table),
 * taking a pooled upstream or connecting one (upstream.c, then its TLS handshake and pin check),
 * streaming bodies both ways through bounded buffers (chunked framing validated), 1xx, 101
 * tunnels, keep-alive and pipelining, answering with error pages, timeouts, draining, closing and
 * lingering. Every event runs conn_run(), which moves whatever can move until nothing can. The
 * I/O is conn_io.c's, the heads and pages heads.c's, the request records and their log line
 * request.c's. Uses gw_internal.h, http1.h, host.h and tls.h. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/gw_internal.h"
#include "gateway/host.h"

/* --- closing -------------------------------------------------------------------------------------- */

static void drop_upstream(struct gw_conn *c)
{
	if (c->up) {
		gw_upstream_close(c->up);
		c->up = NULL;
	}
	gw_buf_release(c->w, &c->ur);
	gw_buf_release(c->w, &c->uw);
}

void gw_conn_close(struct gw_conn *c)
{
	if (c->dead)
		return;
	struct gw_worker *w = c->w;
	drop_upstream(c);
	gw_request_free(c->req);
	c->req = NULL;
	gw_timer_stop(w, &c->timer);
	gw_buf_release(w, &c->cr);
	gw_buf_release(w, &c->cw);
	if (c->ssl) {
		gw_tls_free(c->ssl, true);
		c->ssl = NULL;
	}
	gw_ep_close(w, c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	GW_STAT_ADD(w, connections_active, (uint64_t)-1);
	c->dead = true;
	c->dead_next = w->dead_conns;
	w->dead_conns = c;
}

/* After the last response bytes: close now, or shut the write side and discard input for a while
 * so the client reads the response before a reset could destroy it. */
static void close_or_linger(struct gw_conn *c, bool linger)
{
	if (!linger || c->eof) {
		gw_conn_close(c);
		return;
	}
	if (c->ssl) {
		gw_tls_free(c->ssl, true);   /* close_notify; the rest is discarded as raw bytes */
		c->ssl = NULL;
	}
	shutdown(c->fd, SHUT_WR);
	gw_buf_release(c->w, &c->cr);
	c->state = GW_C_LINGER;
	gw_timer_set(c->w, &c->timer, GW_T_HEADER);
}

/* Answers the request with the gateway's own page. Cuts the connection instead when response
 * bytes already went to the client. keep: the connection may serve another request after it. */
static void respond_error(struct gw_conn *c, int status, bool keep)
{
	if (!c->req) {
		c->req = gw_request_new(c, NULL);
		if (!c->req) {
			gw_conn_close(c);
			return;
		}
		c->req->req_done = true;
	}
	struct gw_request *r = c->req;
	if (r->client_started) {
		gw_conn_close(c);
		return;
	}
	drop_upstream(c);
	gw_buf_release(c->w, &c->cw);
	if (!r->req_done || c->eof || c->w->draining || !r->keep_alive)
		keep = false;
	r->status = status;
	r->error_page = true;
	r->resp_head_done = r->resp_done = true;
	r->client_started = true;
	r->close_after = !keep;
	if (!gw_append_error_page(c, status, !keep, r->head_request)) {
		gw_conn_close(c);
		return;
	}
	c->state = GW_C_PROXY;
	gw_timer_set(c->w, &c->timer, GW_T_HEADER);   /* bounds the time a slow client takes to read it */
}

/* The response went out: log it, then the next request, or close. */
static void finish_request(struct gw_conn *c)
{
	struct gw_request *r = c->req;
	struct gw_worker *w = c->w;
	gw_request_log(c, r);
	bool close = r->close_after || !r->req_done || c->eof || w->draining;
	bool linger = r->error_page || !r->req_done || c->cr.len > 0;
	gw_request_free(r);
	c->req = NULL;
	drop_upstream(c);
	if (close) {
		close_or_linger(c, linger);
		return;
	}
	if (c->cr.len) {
		c->state = GW_C_HEAD;
		gw_timer_set(w, &c->timer, GW_T_HEADER);
	} else {
		c->state = GW_C_IDLE;
		gw_buf_release(w, &c->cr);
		gw_buf_release(w, &c->cw);
		gw_timer_set(w, &c->timer, GW_T_IDLE);
	}
}

/* --- upstream -------------------------------------------------------------------------------------- */

static void attach_upstream(struct gw_conn *c, struct gw_upstream *u)
{
	c->up = u;
	u->conn = c;
	if (u->state == GW_UP_READY)
		gw_timer_set(c->w, &u->timer, GW_T_UPSTREAM);
	else
		gw_timer_set(c->w, &u->timer, GW_T_CONNECT);
}

/* Connects a fresh upstream for the routed request. false: failed, answered with 502. */
static bool connect_upstream(struct gw_conn *c)
{
	struct gw_upstream *u = gw_upstream_connect(c->w, &c->req->route);
	if (!u) {
		GW_STAT_INC(c->w, upstream_errors);
		respond_error(c, 502, true);
		return false;
	}
	GW_STAT_INC(c->w, upstream_connects);
	attach_upstream(c, u);
	return true;
}

/* The upstream failed before any byte of a response: retry once on a fresh connection when the
 * connection came from the pool and the request had no body, else 502. */
static void upstream_failed(struct gw_conn *c)
{
	struct gw_request *r = c->req;
	if (c->up && c->up->reused && r->head_copy && !r->retried && !r->resp_started) {
		drop_upstream(c);
		r->retried = true;
		bool ok = gw_buf_append(c->w, &c->uw, r->head_copy, r->head_copy_len);
		free(r->head_copy);
		r->head_copy = NULL;
		if (!ok) {
			respond_error(c, 502, false);
			return;
		}
		connect_upstream(c);
		return;
	}
	GW_STAT_INC(c->w, upstream_errors);
	if (r->resp_started || r->client_started) {
		gw_conn_close(c);
		return;
	}
	respond_error(c, 502, true);
}

/* Connect and TLS handshake steps. true: progress. */
static bool upstream_setup(struct gw_conn *c)
{
	struct gw_upstream *u = c->up;
	struct gw_request *r = c->req;
	if (u->state == GW_UP_CONNECTING) {
		if (!u->wr)
			return false;
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			GW_STAT_INC(c->w, upstream_errors);
			respond_error(c, 502, true);
			return true;
		}
		if (!u->tls) {
			u->state = GW_UP_READY;
			gw_timer_set(c->w, &u->timer, GW_T_UPSTREAM);
			return true;
		}
		char sni[320];
		snprintf(sni, sizeof sni, "%s.%s", r->route.cluster, c->w->g->zone);
		u->ssl = c->w->g->tls_client ? gw_tls_client_connect(c->w->g->tls_client, u->fd, sni) : NULL;
		if (!u->ssl) {
			GW_STAT_INC(c->w, upstream_errors);
			respond_error(c, 502, true);
			return true;
		}
		u->state = GW_UP_HANDSHAKE;
		u->rd = u->wr = true;
	}
	if (u->state == GW_UP_HANDSHAKE) {
		int hs = gw_tls_handshake(u->ssl);
		if (hs == GW_IO_WANT_READ) {
			u->rd = false;
			return false;
		}
		if (hs == GW_IO_WANT_WRITE) {
			u->wr = false;
			return false;
		}
		if (hs != 1) {
			GW_STAT_INC(c->w, upstream_errors);
			respond_error(c, 502, true);
			return true;
		}
		if (r->route.has_pin) {
			unsigned char got[32];
			if (gw_tls_peer_spki_sha256(u->ssl, got) != 0 || memcmp(got, r->route.pin, 32) != 0) {
				GW_STAT_INC(c->w, refused_pin);
				respond_error(c, 502, true);
				return true;
			}
		}
		u->has_pin = r->route.has_pin;
		memcpy(u->pin, r->route.pin, 32);
		u->state = GW_UP_READY;
		gw_timer_set(c->w, &u->timer, GW_T_UPSTREAM);
		return true;
	}
	return false;
}

/* --- the request -------------------------------------------------------------------------------- */

static void start_request(struct gw_conn *c, const struct h1_request *req)
{
	struct gw_worker *w = c->w;
	struct gw_gateway *g = w->g;
	GW_STAT_INC(w, requests_total);
	struct gw_request *r = gw_request_new(c, req);
	if (!r) {
		gw_conn_close(c);
		return;
	}
	c->req = r;
	c->state = GW_C_PROXY;
	gw_timer_stop(w, &c->timer);
	r->head_request = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
	r->keep_alive = req->keep_alive && !w->draining;
	r->http10 = req->minor == 0;
	r->upgrade = req->upgrade;
	r->req_body = (uint8_t)req->body;
	r->req_remaining = req->content_length;
	h1_chunked_init(&r->req_chunk);
	r->req_done = req->body == H1_BODY_NONE || (req->body == H1_BODY_LENGTH && req->content_length == 0);
	size_t head_len = req->head_len;
	r->bytes_in = head_len;   /* then the body bytes as they are passed on */

	struct gw_host h;
	const char *why = NULL;
	if (!req->host || gw_host_parse(req->host, req->host_len, g->zone, &h, &why) != 0) {
		GW_STAT_INC(w, refused_host);
		gw_buf_consume(w, &c->cr, head_len);
		respond_error(c, 400, false);
		return;
	}
	const struct gw_route *route = gw_routes_find(w->routes, h.cluster);
	if (!route) {
		gw_buf_consume(w, &c->cr, head_len);
		respond_error(c, 404, true);
		return;
	}
	r->route = *route;
	r->routed = true;
	if (!g->cfg.allow_private && !gw_ipv4_is_public(route->ip)) {
		GW_STAT_INC(w, refused_private);
		gw_buf_consume(w, &c->cr, head_len);
		respond_error(c, 502, true);
		return;
	}
	if (!gw_build_request_head(c, req, r->upgrade)) {
		gw_conn_close(c);
		return;
	}
	gw_buf_consume(w, &c->cr, head_len);   /* req points into cr: last use above */
	struct gw_upstream *u = gw_pool_take(w, &r->route);
	if (u) {
		GW_STAT_INC(w, upstream_reused);
		attach_upstream(c, u);
		if (r->req_done && !r->upgrade) {
			r->head_copy = malloc(c->uw.len);
			if (r->head_copy) {
				memcpy(r->head_copy, c->uw.p + c->uw.off, c->uw.len);
				r->head_copy_len = c->uw.len;
			}
		}
		return;
	}
	connect_upstream(c);
}

/* Moves request body bytes from cr to uw, checking the framing. false: bad framing (answered). */
static bool move_request_body(struct gw_conn *c, bool *progress)
{
	struct gw_request *r = c->req;
	while (!r->req_done && c->cr.len > 0 && c->uw.len < GW_BUF_SIZE) {
		size_t n = c->cr.len;
		if (n > GW_BUF_SIZE - c->uw.len)
			n = GW_BUF_SIZE - c->uw.len;
		const char *p = c->cr.p + c->cr.off;
		if (r->req_body == H1_BODY_LENGTH) {
			if (n > r->req_remaining)
				n = (size_t)r->req_remaining;
			r->req_remaining -= n;
			if (r->req_remaining == 0)
				r->req_done = true;
		} else {
			bool done = false;
			ptrdiff_t k = h1_chunked_feed(&r->req_chunk, p, n, &done);
			if (k < 0) {
				GW_STAT_INC(c->w, refused_framing);
				r->req_done = true;   /* nothing more is read; the connection closes */
				r->keep_alive = false;
				respond_error(c, 400, false);
				return false;
			}
			n = (size_t)k;
			if (done)
				r->req_done = true;
		}
		r->bytes_in += n;
		if (r->up_write_failed) {
			gw_buf_consume(c->w, &c->cr, n);
		} else {
			if (!gw_buf_append(c->w, &c->uw, p, n)) {
				gw_conn_close(c);
				return false;
			}
			gw_buf_consume(c->w, &c->cr, n);
		}
		*progress = true;
	}
	return true;
}

/* Parses response heads in ur and moves response body bytes to cw. false: the connection was
 * answered or closed (stop). */
static bool process_response(struct gw_conn *c, bool *progress)
{
	struct gw_request *r = c->req;
	struct gw_worker *w = c->w;
	while (!r->resp_head_done && c->ur.len > 0) {
		struct h1_response res;
		const char *raw = c->ur.p + c->ur.off;
		int st = h1_parse_response(raw, c->ur.len, GW_RESPONSE_HEAD_MAX, r->head_request, &res);
		if (st == H1_INCOMPLETE)
			return true;
		if (st != H1_OK) {
			GW_STAT_INC(w, upstream_errors);
			respond_error(c, 502, false);
			return false;
		}
		free(r->head_copy);
		r->head_copy = NULL;
		*progress = true;
		if (res.status == 101) {
			if (!r->upgrade) {
				GW_STAT_INC(w, upstream_errors);
				respond_error(c, 502, false);
				return false;
			}
			if (!gw_build_response_head(c, raw, &res, "upgrade")) {
				gw_conn_close(c);
				return false;
			}
			gw_buf_consume(w, &c->ur, res.head_len);
			r->status = 101;
			r->resp_head_done = true;
			r->client_started = true;
			c->state = GW_C_TUNNEL;
			GW_STAT_INC(w, websocket_tunnels);
			gw_timer_set(w, &c->up->timer, GW_T_UPSTREAM);
			return false;
		}
		if (res.status < 200) {
			/* interim (100 Continue, 103): passed on to HTTP/1.1 clients */
			if (!r->http10) {
				if (!gw_build_response_head(c, raw, &res, NULL)) {
					gw_conn_close(c);
					return false;
				}
				r->client_started = true;
			}
			gw_buf_consume(w, &c->ur, res.head_len);
			continue;
		}
		r->status = res.status;
		r->resp_body = (uint8_t)res.body;
		r->resp_remaining = res.content_length;
		h1_chunked_init(&r->resp_chunk);
		r->up_keep = res.keep_alive;
		if (!r->keep_alive || res.body == H1_BODY_UNTIL_CLOSE || !r->req_done || w->draining)
			r->close_after = true;
		if (!gw_build_response_head(c, raw, &res, r->close_after ? "close" : "keep-alive")) {
			gw_conn_close(c);
			return false;
		}
		gw_buf_consume(w, &c->ur, res.head_len);
		r->client_started = true;
		r->resp_head_done = true;
		if (res.body == H1_BODY_NONE || (res.body == H1_BODY_LENGTH && res.content_length == 0))
			r->resp_done = true;
	}
	while (r->resp_head_done && !r->resp_done && c->ur.len > 0 && c->cw.len < GW_BUF_SIZE) {
		size_t n = c->ur.len;
		if (n > GW_BUF_SIZE - c->cw.len)
			n = GW_BUF_SIZE - c->cw.len;
		const char *p = c->ur.p + c->ur.off;
		if (r->resp_body == H1_BODY_LENGTH) {
			if (n > r->resp_remaining)
				n = (size_t)r->resp_remaining;
			r->resp_remaining -= n;
			if (r->resp_remaining == 0)
				r->resp_done = true;
		} else if (r->resp_body == H1_BODY_CHUNKED) {
			bool done = false;
			ptrdiff_t k = h1_chunked_feed(&r->resp_chunk, p, n, &done);
			if (k < 0) {
				GW_STAT_INC(w, upstream_errors);
				gw_conn_close(c);
				return false;
			}
			n = (size_t)k;
			if (done)
				r->resp_done = true;
		}
		if (!gw_buf_append(w, &c->cw, p, n)) {
			gw_conn_close(c);
			return false;
		}
		gw_buf_consume(w, &c->ur, n);
		*progress = true;
	}
	return true;
}

/* The response is complete: the upstream goes back to the pool when it can serve another. */
static void release_upstream(struct gw_conn *c)
{
	struct gw_request *r = c->req;
	struct gw_upstream *u = c->up;
	if (!u)
		return;
	c->up = NULL;
	bool reusable = r->up_keep && r->req_done && !r->up_write_failed && !u->eof && c->uw.len == 0 &&
	                c->ur.len == 0 && r->resp_body != H1_BODY_UNTIL_CLOSE && u->state == GW_UP_READY;
	gw_buf_release(c->w, &c->ur);
	gw_buf_release(c->w, &c->uw);
	gw_timer_stop(c->w, &u->timer);
	if (reusable)
		gw_pool_put(c->w, u);
	else
		gw_upstream_close(u);
}

static bool proxy_step(struct gw_conn *c)
{
	struct gw_request *r = c->req;
	bool p = false;
	/* request body: client -> uw */
	if (!r->req_done && !r->resp_done) {
		if (c->cr.len < GW_BUF_SIZE) {
			int rr = gw_client_fill(c, &c->cr, GW_BUF_SIZE);
			if (rr > 0)
				p = true;
			else if (rr < 0 && c->cr.len == 0) {
				gw_conn_close(c);   /* the client went away in the middle of its request */
				return true;
			}
		}
		if (!move_request_body(c, &p))
			return true;
	}
	struct gw_upstream *u = c->up;
	if (u && u->state != GW_UP_READY) {
		p |= upstream_setup(c);
		if (c->dead || c->req != r || r->error_page)
			return true;
		u = c->up;
	}
	if (u && u->state == GW_UP_READY) {
		if (c->uw.len && !r->up_write_failed) {
			int wr = gw_up_flush(c);
			if (wr > 0)
				p = true;
			else if (wr < 0) {
				r->up_write_failed = true;   /* read what the upstream may still have said */
				r->close_after = true;
				gw_buf_release(c->w, &c->uw);
				p = true;
			}
		}
		if (!r->resp_done && !u->eof && c->ur.len < GW_BUF_SIZE) {
			int rr = gw_up_fill(c, &c->ur, r->resp_head_done ? GW_BUF_SIZE : GW_RESPONSE_HEAD_MAX + 1);
			if (rr > 0) {
				p = true;
				r->resp_started = true;
			} else if (rr < 0) {
				p = true;
			}
		}
		if (!process_response(c, &p))
			return true;
		if (u->eof && !r->resp_done && (c->ur.len == 0 || !r->resp_head_done)) {
			if (r->resp_head_done && r->resp_body == H1_BODY_UNTIL_CLOSE) {
				r->resp_done = true;
			} else {
				upstream_failed(c);
				return true;
			}
		}
		if (r->resp_done && c->up)
			release_upstream(c);
	}
	if (c->cw.len) {
		int wr = gw_client_flush(c);
		if (wr > 0)
			p = true;
		else if (wr < 0) {
			gw_conn_close(c);
			return true;
		}
	}
	if (r->resp_done && c->cw.len == 0) {
		if (c->up)
			release_upstream(c);
		finish_request(c);
		return true;
	}
	return p;
}

static bool tunnel_step(struct gw_conn *c)
{
	struct gw_upstream *u = c->up;
	bool p = false;
	/* client -> upstream: whatever the client sent after the request head first */
	if (c->cr.len && c->uw.len < GW_BUF_SIZE) {
		size_t n = c->cr.len < GW_BUF_SIZE - c->uw.len ? c->cr.len : GW_BUF_SIZE - c->uw.len;
		if (!gw_buf_append(c->w, &c->uw, c->cr.p + c->cr.off, n)) {
			gw_conn_close(c);
			return true;
		}
		gw_buf_consume(c->w, &c->cr, n);
		p = true;
	}
	if (!c->eof && c->cr.len == 0 && gw_client_fill(c, &c->uw, GW_BUF_SIZE) > 0)
		p = true;
	if (c->uw.len) {
		int r = gw_up_flush(c);
		if (r < 0) {
			gw_conn_close(c);
			return true;
		}
		p |= r > 0;
	}
	/* upstream -> client */
	if (c->ur.len && c->cw.len < GW_BUF_SIZE) {
		size_t n = c->ur.len < GW_BUF_SIZE - c->cw.len ? c->ur.len : GW_BUF_SIZE - c->cw.len;
		if (!gw_buf_append(c->w, &c->cw, c->ur.p + c->ur.off, n)) {
			gw_conn_close(c);
			return true;
		}
		gw_buf_consume(c->w, &c->ur, n);
		p = true;
	}
	bool up_eof = false;
	if (c->ur.len == 0) {
		int r = gw_up_fill(c, &c->cw, GW_BUF_SIZE);
		if (r > 0)
			p = true;
		else if (r < 0)
			up_eof = true;
	}
	if (c->cw.len) {
		int r = gw_client_flush(c);
		if (r < 0) {
			gw_conn_close(c);
			return true;
		}
		p |= r > 0;
	}
	if (p)
		gw_timer_set(c->w, &u->timer, GW_T_UPSTREAM);
	if ((c->eof && c->cr.len == 0 && c->uw.len == 0) || (up_eof && c->cw.len == 0)) {
		gw_request_log(c, c->req);
		gw_conn_close(c);
		return true;
	}
	if (up_eof) {
		/* flush what is left to the client, then close */
		drop_upstream(c);
		gw_request_log(c, c->req);
		gw_request_free(c->req);
		c->req = NULL;
		c->state = GW_C_CLOSING;
		gw_timer_set(c->w, &c->timer, GW_T_HEADER);
		return true;
	}
	return p;
}

static bool head_step(struct gw_conn *c)
{
	struct gw_worker *w = c->w;
	int rr = gw_client_fill(c, &c->cr, w->g->cfg.max_head + 1);
	if (c->cr.len == 0) {
		if (rr < 0) {
			gw_conn_close(c);
			return true;
		}
		return false;
	}
	if (c->state == GW_C_IDLE) {
		c->state = GW_C_HEAD;
		gw_timer_set(w, &c->timer, GW_T_HEADER);
	}
	struct h1_request req;
	int st = h1_parse_request(c->cr.p + c->cr.off, c->cr.len, w->g->cfg.max_head, &req);
	if (st == H1_INCOMPLETE) {
		if (rr < 0) {
			gw_conn_close(c);   /* the client gave up in the middle of a head */
			return true;
		}
		if (c->cr.len > w->g->cfg.max_head) {
			respond_error(c, 431, false);
			return true;
		}
		return rr > 0;
	}
	if (st != H1_OK) {
		if (st == H1_BAD)
			GW_STAT_INC(w, refused_framing);
		GW_STAT_INC(w, requests_total);
		respond_error(c, st >= 400 && st < 600 ? st : 400, false);
		return true;
	}
	start_request(c, &req);
	return true;
}

static bool closing_step(struct gw_conn *c)
{
	int r = gw_client_flush(c);
	if (r < 0) {
		gw_conn_close(c);
		return true;
	}
	if (c->cw.len == 0) {
		close_or_linger(c, false);
		return true;
	}
	return r > 0;
}

static bool linger_step(struct gw_conn *c)
{
	char scratch[4096];
	for (;;) {
		if (!c->rd)
			return false;
		ptrdiff_t n = gw_io_read(c->fd, c->ssl, scratch, sizeof scratch);
		if (n > 0)
			continue;
		if (n == GW_IO_WANT_READ) {
			c->rd = false;
			return false;
		}
		if (n == GW_IO_WANT_WRITE) {
			c->wr = false;
			return false;
		}
		gw_conn_close(c);
		return true;
	}
}

static bool handshake_step(struct gw_conn *c)
{
	int hs = gw_tls_handshake(c->ssl);
	if (hs == 1) {
		GW_STAT_INC(c->w, tls_handshakes);
		if (SSL_session_reused(c->ssl))
			GW_STAT_INC(c->w, tls_resumed);
		c->state = GW_C_HEAD;
		gw_timer_set(c->w, &c->timer, GW_T_HEADER);
		return true;
	}
	if (hs == GW_IO_WANT_READ)
		c->rd = false;
	else if (hs == GW_IO_WANT_WRITE)
		c->wr = false;
	else
		gw_conn_close(c);
	return false;
}

static void conn_run(struct gw_conn *c)
{
	while (!c->dead) {
		bool p;
		switch (c->state) {
		case GW_C_HANDSHAKE: p = handshake_step(c); break;
		case GW_C_IDLE:
		case GW_C_HEAD: p = head_step(c); break;
		case GW_C_PROXY: p = proxy_step(c); break;
		case GW_C_TUNNEL: p = tunnel_step(c); break;
		case GW_C_CLOSING: p = closing_step(c); break;
		case GW_C_LINGER: p = linger_step(c); break;
		default: p = false; break;
		}
		if (!p)
			break;
	}
}

/* --- entry points from the loop ---------------------------------------------------------------------- */

void gw_conn_accepted(struct gw_worker *w, int fd, bool tls, uint32_t peer_ip)
{
	if ((tls && !w->certs) || w->draining) {
		close(fd);
		return;
	}
	struct gw_conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	c->ev.kind = GW_EV_CLIENT;
	c->w = w;
	c->fd = fd;
	c->tls = tls;
	c->peer_ip = peer_ip;
	c->timer.kind = -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (tls) {
		c->ssl = gw_tls_server_accept(w->certs, fd);
		if (!c->ssl) {
			close(fd);
			free(c);
			return;
		}
	}
	if (gw_ep_add(w, fd, &c->ev) < 0) {
		gw_tls_free(c->ssl, false);
		close(fd);
		free(c);
		return;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	GW_STAT_INC(w, connections_total);
	GW_STAT_INC(w, connections_active);
	c->state = tls ? GW_C_HANDSHAKE : GW_C_HEAD;
	gw_timer_set(w, &c->timer, GW_T_HEADER);
	c->rd = c->wr = true;
	conn_run(c);
}

void gw_conn_event(struct gw_conn *c, uint32_t events)
{
	(void)events;
	conn_run(c);
}

void gw_conn_upstream_event(struct gw_conn *c)
{
	conn_run(c);
}

void gw_conn_timeout(struct gw_conn *c)
{
	switch (c->state) {
	case GW_C_HEAD:
		GW_STAT_INC(c->w, requests_total);
		respond_error(c, 408, false);
		conn_run(c);
		return;
	default:
		gw_conn_close(c);   /* idle keep-alive, TLS handshake, linger, a client not reading its page */
		return;
	}
}

void gw_conn_upstream_timeout(struct gw_conn *c, int kind)
{
	struct gw_request *r = c->req;
	(void)kind;
	if (c->state == GW_C_TUNNEL) {
		gw_request_log(c, r);
		gw_conn_close(c);   /* a tunnel quiet in both directions for the upstream timeout */
		return;
	}
	GW_STAT_INC(c->w, upstream_timeouts);
	if (!r || r->client_started) {
		gw_conn_close(c);
		return;
	}
	respond_error(c, 504, true);
	conn_run(c);
}

void gw_conn_drain(struct gw_conn *c)
{
	switch (c->state) {
	case GW_C_IDLE:
	case GW_C_HANDSHAKE:
		gw_conn_close(c);
		return;
	case GW_C_HEAD:
		if (c->cr.len == 0)
			gw_conn_close(c);
		return;
	case GW_C_PROXY:
		if (c->req)
			c->req->close_after = true;
		return;
	default:
		return;
	}
}
