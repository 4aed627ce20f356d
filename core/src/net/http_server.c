/* SPDX-License-Identifier: Apache-2.0
 * The HTTP server declared in kip/http_server.h, on civetweb: option strings, reading the request
 * (headers, a capped body), writing buffered or chunked responses, and tracking open streams so
 * stopping ends them. TLS goes through kip/tls_front.h: civetweb then listens in the clear on
 * loopback and serves only connections the front relays. WebSocket upgrades are ws_server.c's.
 * Uses civetweb, pthreads, kip/stream.h and http_server_int.h. */
#include "http_server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SERVER_DEFAULT_THREADS 64
#define SERVER_DEFAULT_MAX_BODY ((size_t)16 << 20)
#define STREAM_POLL_MS 1000
#define WS_PING_MS "10000"
#define WS_STOP_WAIT_MS 2000

void kip_http_response_clear(struct kip_http_response *res)
{
	for (size_t i = 0; i < res->n_headers; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	free(res->headers);
	free(res->body);
	free(res->subprotocol);
	if (res->stream)
		kip_stream_unref(res->stream);
	memset(res, 0, sizeof *res);
}

void http_server_track(struct kip_http_server *srv, struct open_stream *node)
{
	pthread_mutex_lock(&srv->streams_lock);
	node->next = srv->streams;
	srv->streams = node;
	if (srv->stopping)
		kip_stream_abandon(node->stream);
	pthread_mutex_unlock(&srv->streams_lock);
}

void http_server_untrack(struct kip_http_server *srv, struct open_stream *node)
{
	pthread_mutex_lock(&srv->streams_lock);
	for (struct open_stream **p = &srv->streams; *p; p = &(*p)->next) {
		if (*p == node) {
			*p = node->next;
			break;
		}
	}
	pthread_mutex_unlock(&srv->streams_lock);
}

/* Reads the whole body (NUL-terminated for convenience); -1 when it is over the cap. */
static int read_body(struct mg_connection *conn, size_t cap, char **out, size_t *len)
{
	size_t size = 0, alloc = 0;
	char *buf = NULL;
	for (;;) {
		if (alloc - size < 4096) {
			size_t want = alloc ? alloc * 2 : 8192;
			char *grown = realloc(buf, want);
			if (!grown) {
				free(buf);
				return -1;
			}
			buf = grown;
			alloc = want;
		}
		int n = mg_read(conn, buf + size, alloc - size - 1);
		if (n <= 0)
			break;
		size += (size_t)n;
		if (size > cap) {
			free(buf);
			return -1;
		}
	}
	buf[size] = '\0';
	*out = buf;
	*len = size;
	return 0;
}

/* 204 and 304 responses have no content, so no Content-Length either (RFC 9110 8.6: a 304's would
 * have to be the length of the 200 it stands for). */
static bool http_server_no_content(int status)
{
	return status == 204 || status == 304;
}

void http_server_send_headers(struct mg_connection *conn, const struct kip_http_response *res, bool chunked,
                              bool close)
{
	mg_response_header_start(conn, res->status);
	bool has_type = false;
	for (size_t i = 0; i < res->n_headers; i++) {
		if (strcasecmp(res->headers[i].name, "content-type") == 0)
			has_type = true;
		mg_response_header_add(conn, res->headers[i].name, res->headers[i].value, -1);
	}
	if (!has_type && !http_server_no_content(res->status))
		mg_response_header_add(conn, "Content-Type", "application/json", -1);
	if (chunked) {
		mg_response_header_add(conn, "Transfer-Encoding", "chunked", -1);
	} else if (!http_server_no_content(res->status)) {
		char len[32];
		snprintf(len, sizeof len, "%zu", res->body_len);
		mg_response_header_add(conn, "Content-Length", len, -1);
	}
	if (close)
		mg_response_header_add(conn, "Connection", "close", -1);
	mg_response_header_send(conn);
}

/* Writes the stream as chunks until it ends, times out or the client leaves. */
static void send_stream(struct kip_http_server *srv, struct mg_connection *conn, struct kip_http_response *res)
{
	struct open_stream node = {.stream = res->stream};
	http_server_track(srv, &node);
	http_server_send_headers(conn, res, true, false);
	long waited_ms = 0;
	for (;;) {
		char *data;
		size_t len;
		int rc = kip_stream_read(res->stream, STREAM_POLL_MS, &data, &len);
		if (rc == 0)
			break;
		if (rc < 0) {
			waited_ms += STREAM_POLL_MS;
			if (res->stream_timeout_ms > 0 && waited_ms >= res->stream_timeout_ms)
				break;
			continue;
		}
		int sent = len ? mg_send_chunk(conn, data, (unsigned)len) : 1;
		free(data);
		if (sent <= 0) {
			kip_stream_abandon(res->stream); /* the client went away */
			break;
		}
	}
	mg_send_chunk(conn, "", 0); /* the last chunk */
	kip_stream_abandon(res->stream);
	http_server_untrack(srv, &node);
}

bool http_server_read_head(struct kip_http_server *srv, const struct mg_request_info *ri, struct http_head *head,
                           struct kip_http_request *req)
{
	memset(&head->client, 0, sizeof head->client);
	if (srv->front && !kip_tls_front_peer(srv->front, ri->remote_port, &head->client))
		return false;
	size_t n = 0;
	for (int i = 0; i < ri->num_headers && n < MG_MAX_HEADERS; i++, n++) {
		head->headers[n].name = ri->http_headers[i].name;
		head->headers[n].value = ri->http_headers[i].value;
	}
	const struct kip_tls_front_client *client = &head->client;
	*req = (struct kip_http_request){
		.method = ri->request_method,
		.path = ri->local_uri ? ri->local_uri : "/",
		.query = ri->query_string ? ri->query_string : "",
		.headers = head->headers,
		.n_headers = n,
		.body = "",
		/* Through the TLS front, the client is the front's client, not the front. */
		.remote_addr = srv->front && client->addr[0] ? client->addr : ri->remote_addr,
		.remote_port = srv->front && client->addr[0] ? client->port : ri->remote_port,
		.client_subject = client->subject[0] ? client->subject : NULL,
	};
	return true;
}

static int on_request(struct mg_connection *conn, void *cbdata)
{
	struct kip_http_server *srv = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct http_head head;
	struct kip_http_request req;
	if (!http_server_read_head(srv, ri, &head, &req)) {
		mg_send_http_error(conn, 403, "%s", "connect through TLS\n");
		return 403;
	}
	char *body = NULL;
	size_t body_len = 0;
	if (read_body(conn, srv->max_body, &body, &body_len) != 0) {
		mg_send_http_error(conn, 413, "request body over %zu bytes", srv->max_body);
		return 413;
	}
	req.body = body;
	req.body_len = body_len;
	struct kip_http_response res = {.status = 500};
	srv->handler(srv->ud, &req, &res);
	free(body);
	int status = res.status;
	if (res.stream) {
		send_stream(srv, conn, &res);
	} else {
		http_server_send_headers(conn, &res, false, false);
		if (res.body_len && strcmp(ri->request_method, "HEAD") != 0 && !http_server_no_content(res.status))
			mg_write(conn, res.body, res.body_len);
	}
	kip_http_response_clear(&res);
	return status;
}

static int on_log(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	(void)message;
	return 1; /* quiet: the handler logs what matters */
}

int kip_http_server_start(const struct kip_http_server_opts *opts, kip_http_handler_fn handler, void *ud,
                          struct kip_http_server **out, struct kip_err *err)
{
	struct kip_http_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	srv->handler = handler;
	srv->ud = ud;
	srv->max_body = opts->max_body ? opts->max_body : SERVER_DEFAULT_MAX_BODY;
	pthread_mutex_init(&srv->streams_lock, NULL);
	pthread_cond_init(&srv->streams_changed, NULL);

	char ports[300], threads[16];
	snprintf(ports, sizeof ports, "%s", opts->cert_file ? "127.0.0.1:0" : opts->listen);
	snprintf(threads, sizeof threads, "%d", opts->threads > 0 ? opts->threads : SERVER_DEFAULT_THREADS);
	const char *options[32];
	int o = 0;
	options[o++] = "listening_ports";
	options[o++] = ports;
	options[o++] = "num_threads";
	options[o++] = threads;
	options[o++] = "enable_keep_alive";
	options[o++] = "yes";
	options[o++] = "request_timeout_ms";
	options[o++] = "30000";
	options[o++] = "tcp_nodelay";
	options[o++] = "1";
	options[o++] = "websocket_timeout_ms"; /* an idle WebSocket is pinged this often */
	options[o++] = WS_PING_MS;
	options[o++] = "enable_websocket_ping_pong";
	options[o++] = "yes";
	options[o] = NULL;

	struct mg_callbacks callbacks;
	memset(&callbacks, 0, sizeof callbacks);
	callbacks.log_message = on_log;
	struct mg_init_data init = {.callbacks = &callbacks, .user_data = srv, .configuration_options = options};
	char why[256] = "";
	unsigned code = 0;
	struct mg_error_data error = {.code = &code, .text = why, .text_buffer_size = sizeof why};
	mg_init_library(0);
	srv->ctx = mg_start2(&init, &error);
	if (!srv->ctx) {
		pthread_cond_destroy(&srv->streams_changed);
		pthread_mutex_destroy(&srv->streams_lock);
		free(srv);
		mg_exit_library();
		return kip_err_set(err, KIP_EIO, "cannot serve on %s: %s", opts->listen, why[0] ? why : "civetweb failed to start");
	}
	mg_set_request_handler(srv->ctx, "/", on_request, srv);
	ws_server_register(srv);
	struct mg_server_port sp[4];
	int nports = mg_get_server_ports(srv->ctx, 4, sp);
	srv->port = nports > 0 ? sp[0].port : 0;
	if (opts->cert_file) {
		struct kip_tls_front_opts fo = {.listen = opts->listen, .cert_file = opts->cert_file, .ca_file = opts->ca_file,
		                                .require_client_cert = opts->require_client_cert, .backend_port = srv->port};
		int rc = kip_tls_front_start(&fo, &srv->front, err);
		if (rc != KIP_OK) {
			mg_stop(srv->ctx);
			mg_exit_library();
			pthread_cond_destroy(&srv->streams_changed);
			pthread_mutex_destroy(&srv->streams_lock);
			free(srv);
			return rc;
		}
		srv->port = kip_tls_front_port(srv->front);
	}
	*out = srv;
	return KIP_OK;
}

int kip_http_server_port(const struct kip_http_server *srv)
{
	return srv->port;
}

void kip_http_server_stop(struct kip_http_server *srv)
{
	pthread_mutex_lock(&srv->streams_lock);
	srv->stopping = true;
	for (struct open_stream *s = srv->streams; s; s = s->next)
		kip_stream_abandon(s->stream);
	pthread_mutex_unlock(&srv->streams_lock);
	ws_server_stop(srv, WS_STOP_WAIT_MS); /* close frames go out before civetweb stops writing */
	if (srv->front)
		kip_tls_front_stop(srv->front);
	mg_stop(srv->ctx);
	mg_exit_library();
	pthread_cond_destroy(&srv->streams_changed);
	pthread_mutex_destroy(&srv->streams_lock);
	free(srv);
}
