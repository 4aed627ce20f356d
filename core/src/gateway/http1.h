/* SPDX-License-Identifier: Apache-2.0
 * HTTP/1.1 message heads for the gateway: request and response head parsing with the framing
 * rules a trusted proxy enforces, and a streaming chunked-framing validator. Pure functions over
 * caller buffers; no allocation, no I/O. */
#ifndef KIP_GATEWAY_HTTP1_H
#define KIP_GATEWAY_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H1_MAX_HEADERS 100
enum h1_result { H1_OK = 0, H1_INCOMPLETE = 1, H1_BAD = 400, H1_URI_TOO_LONG = 414,
                 H1_HEAD_TOO_LARGE = 431, H1_NOT_IMPLEMENTED = 501, H1_BAD_VERSION = 505 };
struct h1_header { const char *name; size_t name_len; const char *value; size_t value_len; };
enum h1_body { H1_BODY_NONE, H1_BODY_LENGTH, H1_BODY_CHUNKED, H1_BODY_UNTIL_CLOSE /* responses only */ };
struct h1_request {
	const char *method; size_t method_len;
	const char *target; size_t target_len;
	int minor;                      /* HTTP/1.<minor>: 0 or 1 */
	struct h1_header headers[H1_MAX_HEADERS]; size_t n_headers;
	size_t head_len;                /* bytes up to and including the blank line */
	enum h1_body body; uint64_t content_length;
	const char *host; size_t host_len;   /* the one Host header (required for 1.1; absolute-form targets refused) */
	bool keep_alive;                /* 1.1 without "Connection: close", or 1.0 with keep-alive */
	bool upgrade;                   /* Connection has the "upgrade" token and an Upgrade header is present */
	bool expect_continue;
};
struct h1_response {
	int status; int minor;
	struct h1_header headers[H1_MAX_HEADERS]; size_t n_headers;
	size_t head_len; enum h1_body body; uint64_t content_length; bool keep_alive; bool upgrade /* 101 */;
};
/* Parse the head at the start of buf[0..len). max_head bounds the head (request line alone over
 * 8 KiB -> H1_URI_TOO_LONG; head over max_head -> H1_HEAD_TOO_LARGE, also when still incomplete;
 * more than H1_MAX_HEADERS fields -> H1_HEAD_TOO_LARGE). Pointers in *req point into buf.
 * Call it again on the whole buffered head when more bytes arrive (it rescans; cheap). Errors
 * come as early as they can be seen: a bare LF, or a request line that cannot become valid (a TLS
 * hello on the plain port), is refused before the head is complete.
 * Empty lines (CRLF) before the request line are skipped: method may start after buf, and
 * head_len counts them. Framing: TE chunked -> H1_BODY_CHUNKED; Content-Length N > 0 ->
 * H1_BODY_LENGTH; Content-Length: 0 or neither -> H1_BODY_NONE. HTTP/1.0 with TE is refused.
 * The target is origin-form ("/...") or "*" with OPTIONS; its bytes are VCHAR without '#'.
 * Refused (H1_BAD): CL together with TE, any second CL (even an equal one), CL not 1*DIGIT or
 * over INT64_MAX, TE whose final coding is not "chunked" (or chunked twice, or an empty
 * element); TE "<other codings>, chunked" -> H1_NOT_IMPLEMENTED; obs-fold, bare CR or LF (CRLF
 * only), NUL, CTLs or DEL in values, anything but tchars in names (so no whitespace before ':'),
 * no Host in 1.1 or two Hosts in any version, an invalid method token, absolute-form or
 * authority-form targets (CONNECT -> H1_NOT_IMPLEMENTED). Versions: HTTP/1.0 and HTTP/1.1;
 * another HTTP/D.D -> H1_BAD_VERSION. keep_alive, upgrade and expect_continue are set for 1.1
 * only (except keep_alive for 1.0 with "Connection: keep-alive"). */
int h1_parse_request(const char *buf, size_t len, size_t max_head, struct h1_request *req);
/* head_request: the request was HEAD (no body). Status 1xx/204/304 -> no body; 101 -> upgrade
 * (keep_alive false: the connection becomes a tunnel; whether the request asked for an upgrade
 * is the caller's check). Otherwise TE with chunked last ->
 * H1_BODY_CHUNKED, TE without it -> H1_BODY_UNTIL_CLOSE, CL N > 0 -> H1_BODY_LENGTH, CL 0 ->
 * H1_BODY_NONE, neither -> H1_BODY_UNTIL_CLOSE (keep_alive false). CL with TE, duplicate or
 * invalid CL, TE in 1.0 are H1_BAD whatever the status; a version other than 1.0/1.1 ->
 * H1_BAD_VERSION; too large (status line included) -> H1_HEAD_TOO_LARGE. Same field rules as
 * requests; the reason phrase may be empty (and the SP before it missing). */
int h1_parse_response(const char *buf, size_t len, size_t max_head, bool head_request, struct h1_response *res);
/* Chunked framing, streamed: validates and finds the end; the bytes are passed through verbatim.
 * Chunk sizes: 1*HEXDIG (max 16 digits, no overflow), chunk extensions allowed but bounded (the
 * whole size line <= 4 KiB), trailers bounded (<= 8 KiB total). */
struct h1_chunked { int state; uint64_t remaining; size_t line_len; size_t trailer_len; };
void h1_chunked_init(struct h1_chunked *c);
/* Consumes up to len bytes; returns the count consumed (< len only when *done: the rest belongs
 * to the next message), or -1 on bad framing (and every later call too). After done, further
 * calls consume nothing and set *done again. Whitespace after the size only before a ';';
 * trailer lines are field lines (no obs-fold, no whitespace before ':', no controls). */
ptrdiff_t h1_chunked_feed(struct h1_chunked *c, const char *buf, size_t len, bool *done);

/* Whether h's name is name, ignoring ASCII case. */
bool h1_name_is(const struct h1_header *h, const char *name);
/* The first of headers[0..n) named name (ASCII case ignored), or NULL. */
const struct h1_header *h1_header_find(const struct h1_header *headers, size_t n, const char *name);
/* Whether the comma-separated list value[0..len) has the element token (ASCII case ignored,
 * OWS around elements ignored); token must be lower case. E.g. Connection: keep-alive, Upgrade. */
bool h1_list_has_token(const char *value, size_t len, const char *token);

#endif
