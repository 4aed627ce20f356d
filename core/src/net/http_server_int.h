/* SPDX-License-Identifier: Apache-2.0
 * What http_server.c shares with ws_server.c (the WebSocket side of the same server): the server
 * struct, the list of open long-lived responses, reading a request's head and writing a response's
 * head. Private to core/src/net. Uses civetweb and pthreads. */
#pragma once

#include <civetweb.h>
#include <pthread.h>
#include <stdbool.h>

#include "kip/http_server.h"
#include "kip/tls_front.h"

struct ws_conn;

/* One long-lived response being written: a chunked stream or a WebSocket (ws set). */
struct open_stream {
	struct open_stream *next;
	struct kip_stream *stream;
	struct ws_conn *ws;
};

struct kip_http_server {
	struct mg_context *ctx;
	struct kip_tls_front *front; /* NULL when serving plain HTTP */
	kip_http_handler_fn handler;
	void *ud;
	size_t max_body;
	int port;
	pthread_mutex_t streams_lock;
	pthread_cond_t streams_changed; /* a WebSocket's writer finished (stop waits for them) */
	struct open_stream *streams;     /* long-lived responses being written */
	bool stopping;
};

/* Room for a request's headers (what http_server_read_head points into). */
struct http_head {
	struct kip_http_header_ref headers[MG_MAX_HEADERS];
	struct kip_tls_front_client client;
};

/** Fills req (all but the body) from the connection; false when a TLS front is in use and the
 * connection did not come through it (the caller answers 403). req points into head and ri. */
bool http_server_read_head(struct kip_http_server *srv, const struct mg_request_info *ri, struct http_head *head,
                           struct kip_http_request *req);

/** Sends the status line and headers of res (Content-Type defaults to JSON); chunked or with
 * Content-Length: res->body_len. With close, adds Connection: close. */
void http_server_send_headers(struct mg_connection *conn, const struct kip_http_response *res, bool chunked,
                              bool close);

void http_server_track(struct kip_http_server *srv, struct open_stream *node);
void http_server_untrack(struct kip_http_server *srv, struct open_stream *node);

/** Registers the WebSocket callbacks for every path (ws_server.c). */
void ws_server_register(struct kip_http_server *srv);

/** Asks every open WebSocket to send its close frame (1001, going away) and waits up to
 * timeout_ms for their writers to finish. Called by stop before civetweb stops. */
void ws_server_stop(struct kip_http_server *srv, int timeout_ms);
