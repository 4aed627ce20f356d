/* SPDX-License-Identifier: Apache-2.0
 * The heads the gateway writes: the request head for the upstream (hop-by-hop headers and the
 * client's X-Forwarded-* dropped, X-Forwarded-For/-Proto/-Host and X-Real-IP set), the response
 * head for the client (hop-by-hop headers dropped, Connection as the gateway behaves), and the
 * gateway's own error pages. Each appends to the connection's buffers.
 * Uses gw_internal.h and http1.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gateway/gw_internal.h"

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

bool gw_build_request_head(struct gw_conn *c, const struct h1_request *req, bool upgrade)
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
bool gw_build_response_head(struct gw_conn *c, const char *raw, const struct h1_response *res,
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

bool gw_append_error_page(struct gw_conn *c, int status, bool close, bool head_request)
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
