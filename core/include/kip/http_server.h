/* SPDX-License-Identifier: Apache-2.0
 * An HTTP/1.1 server on civetweb (the only civetweb.h user): TLS with optional client
 * certificates, buffered responses and long-lived chunked responses fed from a kip_stream. The
 * request handler is a C function called on one of the server's threads; kipperd's API and the
 * sandbox Kubernetes API put Lua behind it (core/src/bind/l_server.c). WebSocket upgrades reach the
 * same handler (req->websocket), which refuses them with an ordinary response or accepts them
 * with status 101 and a kip_stream whose chunks become text frames. Uses kip/stream.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"
#include "kip/stream.h"

struct kip_http_server;

struct kip_http_server_opts {
	const char *listen;      /* "127.0.0.1:8443"; port 0 picks a free port */
	const char *cert_file;   /* PEM holding the certificate chain and its key: serve TLS */
	const char *ca_file;     /* with cert_file: client certificates are verified against it */
	bool require_client_cert;/* refuse clients without a certificate that verifies */
	int threads;             /* worker threads (each long-lived response holds one); 0: 64 */
	size_t max_body;         /* request bodies larger than this get 413; 0: 16 MiB */
};

struct kip_http_header {
	char *name;
	char *value;
};

struct kip_http_header_ref {
	const char *name;
	const char *value;
};

struct kip_http_request {
	const char *method;
	const char *path;          /* percent-decoded by civetweb */
	const char *query;         /* raw, without '?'; "" when absent */
	const struct kip_http_header_ref *headers; /* names as the client sent them */
	size_t n_headers;
	const char *body;
	size_t body_len;
	const char *remote_addr;
	int remote_port;
	const char *client_subject; /* subject of a verified client certificate, or NULL */
	bool websocket;            /* a WebSocket upgrade (GET with Upgrade: websocket); no body */
};

/** What a handler fills in. Everything it allocates (headers, body) is malloc'd and freed by the
 * server after sending. With `stream` set, the response is chunked and its body is what the
 * stream yields until it closes, `stream_timeout_ms` passes (0: never) or the client leaves; the
 * handler hands the server one reference to the stream.
 * For a WebSocket upgrade, status 101 with `stream` accepts it: each chunk the stream yields is
 * sent as one text frame; when the stream closes, a close frame (1000; 1001 when the server
 * stops) ends the connection; when the client closes or goes away the stream is abandoned
 * (kip_stream_is_open turns false). `subprotocol` (malloc'd) is the Sec-WebSocket-Protocol
 * answered, NULL for none. Any other status refuses the upgrade with that ordinary response. */
struct kip_http_response {
	int status;
	struct kip_http_header *headers;
	size_t n_headers;
	char *body;
	size_t body_len;
	struct kip_stream *stream;
	int stream_timeout_ms;
	char *subprotocol;
};

typedef void (*kip_http_handler_fn)(void *ud, const struct kip_http_request *req,
                                    struct kip_http_response *res);

/** Starts listening; the handler may be called on any server thread as soon as this returns.
 * Returns 0 with *out set, or a KIP_E* code with err naming the address or file at fault. */
int kip_http_server_start(const struct kip_http_server_opts *opts, kip_http_handler_fn handler, void *ud,
                          struct kip_http_server **out, struct kip_err *err);

/** The port actually listened on. */
int kip_http_server_port(const struct kip_http_server *srv);

/** Ends every long-lived response, waits for the server threads and frees the server. The caller
 * must not hold anything a handler may wait for. */
void kip_http_server_stop(struct kip_http_server *srv);

/** Frees what a handler allocated into res (used by the server and by handlers that fail midway). */
void kip_http_response_clear(struct kip_http_response *res);
