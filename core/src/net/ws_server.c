/* SPDX-License-Identifier: Apache-2.0
 * WebSocket upgrades for the server in http_server.c. civetweb does the handshake, the framing,
 * answering pings and pinging idle clients; a connection's civetweb thread stays in civetweb's
 * read loop for the connection's life. Here: the connect callback puts the upgrade request to the
 * same handler as any request and either sends its ordinary response (the upgrade is refused) or
 * accepts with the subprotocol it chose; then a writer thread per connection turns the handler's
 * kip_stream into text frames and sends a close frame (1000, or 1001 when the server stops) once
 * the stream ends. A client's close frame or departure abandons the stream and joins the writer.
 * Uses civetweb, pthreads, kip/stream.h and http_server_int.h. */
#include "http_server_int.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WS_WRITER_STACK (256u << 10)
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_INTERNAL 1011

struct ws_conn {
	struct kip_http_server *srv;
	struct mg_connection *conn;   /* set by the ready callback, before the writer starts */
	struct kip_stream *stream;    /* one reference, dropped when the connection ends */
	char *subprotocol;            /* what the handshake answered (civetweb points at it) */
	struct open_stream node;      /* in srv->streams while the connection lives */
	pthread_t writer;
	bool writer_started;
	bool writer_done;             /* guarded by srv->streams_lock */
	atomic_bool client_closed;    /* the client sent a close frame or went away */
};

static void ws_send_close(struct mg_connection *conn, int code)
{
	char payload[2] = {(char)((code >> 8) & 0xff), (char)(code & 0xff)};
	mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, payload, sizeof payload);
}

/* The writer thread: the stream's chunks as text frames, then the close frame. */
static void *ws_writer(void *arg)
{
	struct ws_conn *ws = arg;
	for (;;) {
		char *data;
		size_t len;
		int rc = kip_stream_read(ws->stream, -1, &data, &len);
		if (rc <= 0)
			break; /* the end: closed by the handler, abandoned, or the server is stopping */
		int sent = atomic_load(&ws->client_closed) ? -1
		                                            : mg_websocket_write(ws->conn, MG_WEBSOCKET_OPCODE_TEXT, data, len);
		free(data);
		if (sent <= 0) {
			kip_stream_abandon(ws->stream);
			break;
		}
	}
	pthread_mutex_lock(&ws->srv->streams_lock);
	bool stopping = ws->srv->stopping;
	pthread_mutex_unlock(&ws->srv->streams_lock);
	if (!atomic_load(&ws->client_closed))
		ws_send_close(ws->conn, stopping ? WS_CLOSE_GOING_AWAY : WS_CLOSE_NORMAL);
	pthread_mutex_lock(&ws->srv->streams_lock);
	ws->writer_done = true;
	pthread_cond_broadcast(&ws->srv->streams_changed);
	pthread_mutex_unlock(&ws->srv->streams_lock);
	return NULL;
}

/* Refuses the upgrade with the handler's response (no handshake follows). civetweb's response
 * header functions refuse to write during the upgrade, so the head is written as is. */
static void ws_refuse(struct mg_connection *conn, struct kip_http_response *res)
{
	const char *reason = mg_get_response_code_text(conn, res->status);
	mg_printf(conn, "HTTP/1.1 %d %s\r\n", res->status, reason ? reason : "");
	bool has_type = false;
	for (size_t i = 0; i < res->n_headers; i++) {
		if (strcasecmp(res->headers[i].name, "content-type") == 0)
			has_type = true;
		if (strcasecmp(res->headers[i].name, "content-length") != 0 && strcasecmp(res->headers[i].name, "connection") != 0)
			mg_printf(conn, "%s: %s\r\n", res->headers[i].name, res->headers[i].value);
	}
	mg_printf(conn, "%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
	          has_type ? "" : "Content-Type: application/json\r\n", res->body_len);
	if (res->body_len)
		mg_write(conn, res->body, res->body_len);
}

static void ws_set_error(struct kip_http_response *res, int status, const char *message)
{
	kip_http_response_clear(res);
	res->status = status;
	res->body = strdup(message);
	res->body_len = res->body ? strlen(res->body) : 0;
}

static int ws_on_connect(const struct mg_connection *cconn, void *cbdata)
{
	struct kip_http_server *srv = cbdata;
	/* civetweb hands the callback its own connection as const; the request info it points at is
	 * not const, and acceptedWebSocketSubprotocol is how a callback picks the subprotocol. */
	struct mg_connection *conn = (struct mg_connection *)(uintptr_t)cconn;
	struct mg_request_info *ri = (struct mg_request_info *)(uintptr_t)mg_get_request_info(conn);
	struct http_head head;
	struct kip_http_request req;
	struct kip_http_response res = {.status = 500};
	if (!http_server_read_head(srv, ri, &head, &req)) {
		ws_set_error(&res, 403, "{\"error\": \"connect through TLS\"}\n");
		ws_refuse(conn, &res);
		kip_http_response_clear(&res);
		return 1;
	}
	req.websocket = true;
	srv->handler(srv->ud, &req, &res);
	struct ws_conn *ws = NULL;
	if (res.status == 101 && res.stream)
		ws = calloc(1, sizeof *ws);
	if (!ws) {
		if (res.status == 101)
			ws_set_error(&res, 500, "{\"error\": \"the handler accepted the upgrade without a stream\"}\n");
		ws_refuse(conn, &res);
		kip_http_response_clear(&res);
		return 1;
	}
	ws->srv = srv;
	ws->stream = res.stream;
	ws->subprotocol = res.subprotocol;
	res.stream = NULL;
	res.subprotocol = NULL;
	kip_http_response_clear(&res);
	atomic_init(&ws->client_closed, false);
	ws->node.stream = ws->stream;
	ws->node.ws = ws;
	/* The handshake names the subprotocol the handler chose, never one civetweb picked from the
	 * client's list (which may carry a credential). */
	ri->acceptedWebSocketSubprotocol = ws->subprotocol;
	mg_set_user_connection_data(conn, ws);
	http_server_track(srv, &ws->node);
	return 0;
}

static void ws_on_ready(struct mg_connection *conn, void *cbdata)
{
	(void)cbdata;
	struct ws_conn *ws = mg_get_user_connection_data(conn);
	if (!ws)
		return;
	ws->conn = conn;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WS_WRITER_STACK);
	pthread_mutex_lock(&ws->srv->streams_lock); /* ws_server_stop reads writer_started under it */
	ws->writer_started = pthread_create(&ws->writer, &attr, ws_writer, ws) == 0;
	bool started = ws->writer_started;
	pthread_mutex_unlock(&ws->srv->streams_lock);
	pthread_attr_destroy(&attr);
	if (!started) {
		kip_stream_abandon(ws->stream);
		ws_send_close(conn, WS_CLOSE_INTERNAL);
	}
}

static int ws_on_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
	(void)cbdata;
	struct ws_conn *ws = mg_get_user_connection_data(conn);
	if ((bits & 0xf) == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) {
		if (ws) {
			atomic_store(&ws->client_closed, true); /* the writer sends nothing more */
			kip_stream_abandon(ws->stream);
		}
		/* answer the close with the client's code (RFC 6455 5.5.1); civetweb ends its read loop */
		int code = len >= 2 ? ((unsigned char)data[0] << 8) | (unsigned char)data[1] : WS_CLOSE_NORMAL;
		ws_send_close(conn, code);
		return 0;
	}
	return 1; /* data frames from the client are not read (yet) */
}

static void ws_on_close(const struct mg_connection *conn, void *cbdata)
{
	(void)cbdata;
	struct ws_conn *ws = mg_get_user_connection_data(conn);
	if (!ws)
		return;
	mg_set_user_connection_data(conn, NULL);
	atomic_store(&ws->client_closed, true);
	kip_stream_abandon(ws->stream);
	if (ws->writer_started)
		pthread_join(ws->writer, NULL);
	http_server_untrack(ws->srv, &ws->node);
	kip_stream_unref(ws->stream);
	free(ws->subprotocol);
	free(ws);
}

void ws_server_register(struct kip_http_server *srv)
{
	mg_set_websocket_handler(srv->ctx, "/", ws_on_connect, ws_on_ready, ws_on_data, ws_on_close, srv);
}

void ws_server_stop(struct kip_http_server *srv, int timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv->streams_lock);
	srv->stopping = true;
	for (;;) {
		bool waiting = false;
		for (struct open_stream *s = srv->streams; s; s = s->next) {
			if (!s->ws)
				continue;
			kip_stream_abandon(s->stream);
			if (s->ws->writer_started && !s->ws->writer_done)
				waiting = true;
		}
		if (!waiting || pthread_cond_timedwait(&srv->streams_changed, &srv->streams_lock, &deadline) != 0)
			break;
	}
	pthread_mutex_unlock(&srv->streams_lock);
}
