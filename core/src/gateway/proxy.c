/* SPDX-License-Identifier: Apache-2.0
 * One client connection of the gateway, from accept to close: TLS handshake, reading and checking
 * the request head (http1.h), routing by Host (host.h, the route table), taking a pooled upstream
 * or connecting one (upstream.c), the rewritten heads (hop-by-hop headers dropped, X-Forwarded-*
 * set), streaming bodies both ways through bounded buffers (chunked framing validated), 1xx,
 * 101 tunnels, keep-alive and pipelining, error pages, timeouts, counters and the access log.
 * Every event runs conn_run(), which moves whatever can move until nothing can.
 * Uses gw_internal.h, http1.h, host.h and tls.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/gw_internal.h"
#include "gateway/host.h"

#define LOG_COPY_MAX 2048

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
	/* for the log: method, path and host, copied (cut at LOG_COPY_MAX) */
	char *log; size_t method_len, path_len, host_len;
};

static void conn_run(struct gw_conn *c);

/* --- I/O ------------------------------------------------------------------------------------------ */

static ptrdiff_t io_read(int fd, SSL *ssl, void *b, size_t n)
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
	ptrdiff_t n = io_read(fd, ssl, b->p + b->off + b->len, room);
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

static int client_fill(struct gw_conn *c, struct gw_buf *b, size_t max)
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

static int client_flush(struct gw_conn *c)
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

static int up_fill(struct gw_conn *c, struct gw_buf *b, size_t max)
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

static int up_flush(struct gw_conn *c)
{
	struct gw_upstream *u = c->up;
	size_t sent;
	int r = flush(c->w, u->fd, u->ssl, &u->rd, &u->wr, &c->uw, &sent);
	if (sent)
		gw_timer_set(c->w, &u->timer, GW_T_UPSTREAM);
	return r;
}

/* --- heads ---------------------------------------------------------------------------------------- */

static bool name_is(const char *name, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len == n && strncasecmp(name, lit, n) == 0;
}

/* Whether a Connection header lists the header name. */
static bool listed_in_connection(const struct h1_header *hs, size_t n, const char *name, size_t name_len)
{
	for (size_t i = 0; i < n; i++) {
		if (!name_is(hs[i].name, hs[i].name_len, "connection"))
			continue;
		const char *p = hs[i].value, *end = p + hs[i].value_len;
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
				p++;
			const char *t = p;
			while (p < end && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			if ((size_t)(p - t) == name_len && strncasecmp(t, name, name_len) == 0)
				return true;
		}
	}
	return false;
}

/* Copies the end-to-end headers: hop-by-hop ones dropped (Upgrade kept when upgrading), and on
 * requests the client's Forwarded, X-Forwarded-* and X-Real-IP. The framing headers and Host are
 * never dropped, whatever Connection lists, so a client cannot make the gateway and the upstream
 * frame a message differently. */
static bool copy_headers(struct gw_worker *w, struct gw_buf *b, const struct h1_header *hs, size_t n,
                         bool keep_upgrade, bool request)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *nm = hs[i].name;
		size_t nl = hs[i].name_len;
		bool framing = name_is(nm, nl, "content-length") || name_is(nm, nl, "transfer-encoding") ||
		               name_is(nm, nl, "host");
		if (!framing) {
			if (name_is(nm, nl, "connection") || name_is(nm, nl, "keep-alive") ||
			    name_is(nm, nl, "proxy-connection") || name_is(nm, nl, "te") || name_is(nm, nl, "trailer"))
				continue;
			if (name_is(nm, nl, "upgrade") && !keep_upgrade)
				continue;
			if (request && (name_is(nm, nl, "forwarded") || name_is(nm, nl, "x-real-ip") ||
			                (nl >= 12 && strncasecmp(nm, "x-forwarded-", 12) == 0)))
				continue;
			if (!(keep_upgrade && name_is(nm, nl, "upgrade")) && listed_in_connection(hs, n, nm, nl))
				continue;
		}
		ok &= gw_buf_append(w, b, nm, nl);
		ok &= gw_buf_append(w, b, ": ", 2);
		ok &= gw_buf_append(w, b, hs[i].value, hs[i].value_len);
		ok &= gw_buf_append(w, b, "\r\n", 2);
	}
	return ok;
}

static bool build_request_head(struct gw_conn *c, const struct h1_request *req, bool upgrade)
{
	struct gw_worker *w = c->w;
	struct gw_buf *b = &c->uw;
	char ip[16], line[64];
	snprintf(ip, sizeof ip, "%u.%u.%u.%u", c->peer_ip >> 24, (c->peer_ip >> 16) & 255,
	         (c->peer_ip >> 8) & 255, c->peer_ip & 255);
	bool ok = gw_buf_append(w, b, req->method, req->method_len);
	ok &= gw_buf_append(w, b, " ", 1);
	ok &= gw_buf_append(w, b, req->target, req->target_len);
	int n = snprintf(line, sizeof line, " HTTP/1.%d\r\n", req->minor);
	ok &= gw_buf_append(w, b, line, (size_t)n);
	ok &= copy_headers(w, b, req->headers, req->n_headers, upgrade, true);
	ok &= gw_buf_append(w, b, "X-Forwarded-For: ", 17);
	ok &= gw_buf_append(w, b, ip, strlen(ip));
	ok &= gw_buf_append(w, b, c->tls ? "\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: "
	                                 : "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ",
	                    c->tls ? 46 : 45);
	ok &= gw_buf_append(w, b, req->host, req->host_len);
	ok &= gw_buf_append(w, b, "\r\nX-Real-IP: ", 13);
	ok &= gw_buf_append(w, b, ip, strlen(ip));
	if (upgrade)
		ok &= gw_buf_append(w, b, "\r\nConnection: upgrade\r\n\r\n", 25);
	else
		ok &= gw_buf_append(w, b, "\r\nConnection: keep-alive\r\n\r\n", 28);
	return ok;
}

/* The response head for the client: "HTTP/1.1" and the upstream's status and reason, the
 * end-to-end headers, and Connection as the gateway will behave. connection: NULL for 1xx. */
static bool build_response_head(struct gw_conn *c, const char *raw, const struct h1_response *res,
                                const char *connection)
{
	struct gw_worker *w = c->w;
	struct gw_buf *b = &c->cw;
	const char *eol = memchr(raw, '\r', res->head_len);
	size_t line = eol && eol - raw >= 9 ? (size_t)(eol - raw) - 9 : 0;
	bool ok = gw_buf_append(w, b, "HTTP/1.1 ", 9);
	if (line)
		ok &= gw_buf_append(w, b, raw + 9, line);
	else {
		char s[8];
		int n = snprintf(s, sizeof s, "%03d", res->status);
		ok &= gw_buf_append(w, b, s, (size_t)n);
	}
	ok &= gw_buf_append(w, b, "\r\n", 2);
	ok &= copy_headers(w, b, res->headers, res->n_headers, res->status == 101, false);
	if (connection) {
		ok &= gw_buf_append(w, b, "Connection: ", 12);
		ok &= gw_buf_append(w, b, connection, strlen(connection));
		ok &= gw_buf_append(w, b, "\r\n", 2);
	}
	ok &= gw_buf_append(w, b, "\r\n", 2);
	return ok;
}

static const char *reason(int status, const char **text)
{
	switch (status) {
	case 400: *text = "The request was refused."; return "Bad Request";
	case 404: *text = "No cluster is registered under this name."; return "Not Found";
	case 408: *text = "The request head did not arrive in time."; return "Request Timeout";
	case 414: *text = "The request line is too long."; return "URI Too Long";
	case 431: *text = "The request head is too large."; return "Request Header Fields Too Large";
	case 501: *text = "This method is not supported."; return "Not Implemented";
	case 502: *text = "The cluster could not be reached."; return "Bad Gateway";
	case 504: *text = "The cluster did not answer in time."; return "Gateway Timeout";
	case 505: *text = "Only HTTP/1.0 and HTTP/1.1 are supported."; return "HTTP Version Not Supported";
	default: *text = "The request failed."; return "Error";
	}
}

static bool append_page(struct gw_conn *c, int status, bool close, bool head_request)
{
	const char *text, *why = reason(status, &text);
	char body[512], head[256];
	int bn = snprintf(body, sizeof body,
	                  "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
	                  "<body><h1>%d %s</h1><p>%s</p><hr><p>kipper-gateway</p></body></html>\n",
	                  status, why, status, why, text);
	int hn = snprintf(head, sizeof head,
	                  "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n"
	                  "Cache-Control: no-store\r\nConnection: %s\r\n\r\n",
	                  status, why, bn, close ? "close" : "keep-alive");
	bool ok = gw_buf_append(c->w, &c->cw, head, (size_t)hn);
	if (!head_request)
		ok &= gw_buf_append(c->w, &c->cw, body, (size_t)bn);
	return ok;
}

/* --- requests ------------------------------------------------------------------------------------- */

static struct gw_request *request_new(struct gw_conn *c, const struct h1_request *req)
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

static void request_free(struct gw_request *r)
{
	if (!r)
		return;
	free(r->head_copy);
	free(r->log);
	free(r);
}

static void request_log(struct gw_conn *c, struct gw_request *r)
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
	request_free(c->req);
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
		c->req = request_new(c, NULL);
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
	if (!append_page(c, status, !keep, r->head_request)) {
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
	request_log(c, r);
	bool close = r->close_after || !r->req_done || c->eof || w->draining;
	bool linger = r->error_page || !r->req_done || c->cr.len > 0;
	request_free(r);
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
	struct gw_request *r = request_new(c, req);
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
	if (!build_request_head(c, req, r->upgrade)) {
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
			if (!build_response_head(c, raw, &res, "upgrade")) {
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
				if (!build_response_head(c, raw, &res, NULL)) {
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
		if (!build_response_head(c, raw, &res, r->close_after ? "close" : "keep-alive")) {
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
			int rr = client_fill(c, &c->cr, GW_BUF_SIZE);
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
			int wr = up_flush(c);
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
			int rr = up_fill(c, &c->ur, r->resp_head_done ? GW_BUF_SIZE : GW_RESPONSE_HEAD_MAX + 1);
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
		int wr = client_flush(c);
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
	if (!c->eof && c->cr.len == 0 && client_fill(c, &c->uw, GW_BUF_SIZE) > 0)
		p = true;
	if (c->uw.len) {
		int r = up_flush(c);
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
		int r = up_fill(c, &c->cw, GW_BUF_SIZE);
		if (r > 0)
			p = true;
		else if (r < 0)
			up_eof = true;
	}
	if (c->cw.len) {
		int r = client_flush(c);
		if (r < 0) {
			gw_conn_close(c);
			return true;
		}
		p |= r > 0;
	}
	if (p)
		gw_timer_set(c->w, &u->timer, GW_T_UPSTREAM);
	if ((c->eof && c->cr.len == 0 && c->uw.len == 0) || (up_eof && c->cw.len == 0)) {
		request_log(c, c->req);
		gw_conn_close(c);
		return true;
	}
	if (up_eof) {
		/* flush what is left to the client, then close */
		drop_upstream(c);
		request_log(c, c->req);
		request_free(c->req);
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
	int rr = client_fill(c, &c->cr, w->g->cfg.max_head + 1);
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
	int r = client_flush(c);
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
		ptrdiff_t n = io_read(c->fd, c->ssl, scratch, sizeof scratch);
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
		request_log(c, r);
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
