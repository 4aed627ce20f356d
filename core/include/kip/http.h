/* SPDX-License-Identifier: Apache-2.0
 * The HTTP client of the whole project (core/src/net/http_client.c, the only curl.h user): a client
 * holding TLS settings and default headers, buffered requests, and streamed responses read chunk by
 * chunk or line by line (a pull primitive that the callback style, kip.http and the Kubernetes
 * watch share). Uses libcurl's multi interface and kip/err.h. Blocks the calling thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"


/* Body cap of a buffered request when kip_http_client_req.max_body is 0 (64 MiB); also the
 * longest line kip_http_stream_readline accepts. */
#define KIP_HTTP_MAX_BODY ((size_t)64 << 20)

/* kip_http_stream_read / _readline results besides errors (negative KIP_E* codes). */
enum {
	KIP_HTTP_END = 0,   /* the response body ended */
	KIP_HTTP_DATA = 1,  /* *data holds a chunk (or a line) */
	KIP_HTTP_AGAIN = 2, /* wait_ms passed, or kip_http_client_wakeup was called, with no data */
};

/* A header: request headers are borrowed from the caller; response headers are owned by the
 * response or stream they belong to (names lower-cased, NUL-terminated, in arrival order,
 * repeated names kept as separate entries). */
struct kip_http_field {
	const char *name;
	const char *value; /* request: NULL removes a header curl would send (e.g. "Accept") */
};

struct kip_http_client_opts {
	const char *ca_file;            /* PEM bundle to verify servers with, instead of the system's */
	const char *ca_data;            /* or the PEM text itself (ca_len bytes) */
	size_t ca_len;
	const char *cert_file;          /* client certificate (PEM); cert_data/cert_len inline */
	const char *cert_data;
	size_t cert_len;
	const char *key_file;           /* its key (PEM); key_data/key_len inline. Without a key,
	                                 * the key is read from the certificate's PEM */
	const char *key_data;
	size_t key_len;
	bool insecure;                  /* skip certificate and host name verification */
	const struct kip_http_field *headers; /* sent with every request (a request's own header of
	                                       * the same name wins); nheaders entries */
	size_t nheaders;
	const char *token;              /* "Authorization: Bearer TOKEN" on every request; never put
	                                 * in a message, wiped from memory when the client is freed */
	unsigned connect_timeout_ms;    /* 0: libcurl's default (300 s) */
	const char *user_agent;         /* NULL: "kip/VERSION" */
	const char *local_address;      /* NULL: the system's choice; else the numeric IP address
	                                 * connections are made from (bound before connecting) */
};

struct kip_http_client_req {
	const char *method;             /* GET HEAD POST PUT PATCH DELETE OPTIONS; NULL: GET */
	const char *url;                /* http:// or https:// only */
	const struct kip_http_field *headers;
	size_t nheaders;
	const char *body;               /* copied; may be NULL */
	size_t body_len;
	unsigned timeout_ms;            /* whole transfer, connect included; 0: none */
	unsigned idle_timeout_ms;       /* fail with KIP_ETIMEOUT when no byte arrived for this long
	                                 * while waiting in a request or read (for streams); 0: none */
	size_t max_body;                /* buffered requests only; 0: KIP_HTTP_MAX_BODY */
};

struct kip_http_client_resp {
	int status;                     /* 200, 404, ...: any status is a response, not an error */
	struct kip_http_field *headers; /* owned; nheaders entries */
	size_t nheaders;
	char *body;                     /* owned, NUL-terminated (body_len excludes the NUL); NULL
	                                 * for streams */
	size_t body_len;
};

struct kip_http_client;
struct kip_http_stream;

/** Creates a client: TLS settings, default headers and token are copied. Each client has one curl
 * multi handle, whose connection cache keeps connections alive between requests (and multiplexes
 * HTTP/2 streams), a share handle for DNS and TLS sessions, and keeps the easy handle of its last
 * finished transfer for the next one. A client is not thread-safe: use it from one thread at a time
 * (kip_http_client_wakeup excepted). The first client initialises libcurl (curl_global_init, once
 * per process through pthread_once; never cleaned up, libcurl's globals live until exit).
 * Returns 0 and *out (free with kip_http_client_free), KIP_EINVAL for a bad header or token, or
 * KIP_ENOMEM / KIP_EIO when libcurl cannot be set up. */
int kip_http_client_new(const struct kip_http_client_opts *opts, struct kip_http_client **out,
                        struct kip_err *err);

/** Frees the client and closes its connections. Streams still open are aborted: their reads then
 * fail with KIP_EINVAL, and each must still be given to kip_http_stream_close. NULL is fine. */
void kip_http_client_free(struct kip_http_client *client);

/** Wakes the thread blocked in a read or request on this client (curl_multi_wakeup): a read
 * returns KIP_HTTP_AGAIN, a callback stream calls on_chunk with no data. The one call that is safe
 * from another thread. */
void kip_http_client_wakeup(struct kip_http_client *client);

/** Sends req and waits for the whole response. *resp is reset first; free it with
 * kip_http_client_resp_free whatever this returns. Returns 0 for any HTTP status, or
 * KIP_ECONNECT, KIP_ETLS, KIP_ETIMEOUT, KIP_EIO (the connection failed midway),
 * KIP_ENOMEM (the body exceeded max_body), KIP_EINVAL (bad method, URL or header) with err saying
 * "GET https://host/path: what happened" (never the token). */
int kip_http_client_request(struct kip_http_client *client, const struct kip_http_client_req *req,
                            struct kip_http_client_resp *resp, struct kip_err *err);

/** Frees the headers and body of resp and zeroes it. Safe to call twice. */
void kip_http_client_resp_free(struct kip_http_client_resp *resp);

/** Called by kip_http_client_stream for each chunk as it arrives (data, len), or with NULL, 0
 * after kip_http_client_wakeup. Returning non-zero stops the transfer cleanly. */
typedef int (*kip_http_chunk_fn)(void *ud, const char *data, size_t len);

/** Streams the response body to on_chunk. resp->status and resp->headers are filled before the
 * first call (resp->body stays NULL); free resp with kip_http_client_resp_free whatever this
 * returns. Returns 0 when the body ended or on_chunk stopped it, else an error as for
 * kip_http_client_request. Built on kip_http_client_open and kip_http_stream_read. */
int kip_http_client_stream(struct kip_http_client *client, const struct kip_http_client_req *req,
                           kip_http_chunk_fn on_chunk, void *ud, struct kip_http_client_resp *resp,
                           struct kip_err *err);

/** Starts req and waits until the response headers arrived (or the transfer failed). Returns 0
 * and *out, to be read with kip_http_stream_read/_readline and freed with kip_http_stream_close
 * (before or after the client), or an error as for kip_http_client_request (then *out is NULL).
 * Several streams of one client may be open at once: reading one moves the others along, each
 * buffering up to 1 MiB before its transfer is paused. A kip_http_client_wakeup (from another
 * thread) while waiting for the headers gives up: KIP_ECANCELED. */
int kip_http_client_open(struct kip_http_client *client, const struct kip_http_client_req *req,
                         struct kip_http_stream **out, struct kip_err *err);

/** The status and headers (body NULL) of an open stream; owned by the stream. */
const struct kip_http_client_resp *kip_http_stream_response(const struct kip_http_stream *s);

/** Waits up to wait_ms (-1: no limit) for the next chunk of the body. Returns KIP_HTTP_DATA with
 * *data and *len (owned by the stream, valid until its next read or close), KIP_HTTP_END at the end
 * (again on every later call), KIP_HTTP_AGAIN, or a negative code as for kip_http_client_request
 * (KIP_EINVAL once the client was freed). */
int kip_http_stream_read(struct kip_http_stream *s, int wait_ms, const char **data, size_t *len,
                         struct kip_err *err);

/** Like kip_http_stream_read, but returns one line at a time, whatever the chunk boundaries:
 * *line (NUL-terminated, without its "\n"; a last line without "\n" is returned too). Lines longer
 * than KIP_HTTP_MAX_BODY fail with KIP_ENOMEM. Reads and readlines may be mixed. */
int kip_http_stream_readline(struct kip_http_stream *s, int wait_ms, const char **line, size_t *len,
                             struct kip_err *err);

/** Aborts the transfer if it is still running (its connection is then closed, not reused) and
 * frees the stream. NULL is fine. */
void kip_http_stream_close(struct kip_http_stream *s);

