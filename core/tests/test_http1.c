/* SPDX-License-Identifier: Apache-2.0
 * C tests of the gateway's HTTP/1.x parsers (gateway/http1.h): request heads accepted and every
 * refusal a trusted proxy makes (smuggling: CL+TE, duplicate or bad CL, TE codings, bare LF,
 * obs-fold, controls, whitespace before ':', Host rules, target forms, 414/431 even while
 * incomplete), pipelining, keep-alive, Expect and Upgrade; response framing; the chunked validator
 * fed at every split. Uses check.h. */
#include <stdlib.h>

#include "check.h"
#include "gateway/http1.h"

#define MAX_HEAD 16384

static struct h1_request req;
static struct h1_response res;

static int parse_req(const char *s) { return h1_parse_request(s, strlen(s), MAX_HEAD, &req); }

static int parse_res(const char *s, bool head) { return h1_parse_response(s, strlen(s), MAX_HEAD, head, &res); }

static bool span_is(const char *p, size_t len, const char *lit)
{
	return p && len == strlen(lit) && memcmp(p, lit, len) == 0;
}

/* ---- requests: accepted ---- */

static void test_simple_get(void)
{
	const char *s = "GET /a/b?c=d HTTP/1.1\r\nHost: Hello-203-0-113-10.kipper.run\r\n"
			"User-Agent: t\r\nAccept: */*\r\n\r\n";
	CHECK(parse_req(s) == H1_OK);
	CHECK(span_is(req.method, req.method_len, "GET"));
	CHECK(span_is(req.target, req.target_len, "/a/b?c=d"));
	CHECK(req.minor == 1);
	CHECK(req.n_headers == 3);
	CHECK(span_is(req.headers[1].name, req.headers[1].name_len, "User-Agent"));
	CHECK(span_is(req.headers[1].value, req.headers[1].value_len, "t"));
	CHECK(span_is(req.host, req.host_len, "Hello-203-0-113-10.kipper.run"));
	CHECK(req.head_len == strlen(s));
	CHECK(req.body == H1_BODY_NONE);
	CHECK(req.keep_alive);
	CHECK(!req.upgrade);
	CHECK(!req.expect_continue);
}

static void test_value_whitespace_trimmed(void)
{
	CHECK(parse_req("GET / HTTP/1.1\r\nHost:  \t x.kipper.run \t \r\nX-Empty:\r\nX-In: a  b\r\n\r\n") == H1_OK);
	CHECK(span_is(req.host, req.host_len, "x.kipper.run"));
	CHECK(req.headers[1].value_len == 0);
	CHECK(span_is(req.headers[2].value, req.headers[2].value_len, "a  b"));
	/* obs-text in values is allowed */
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: h\r\nX-U: caf\xc3\xa9\r\n\r\n") == H1_OK);
}

/* Every byte value at every position of a long value (the scan goes eight bytes at a time); CR
 * and LF included, as bare CR and bare LF. */
static void test_value_bytes_at_every_position(void)
{
	char buf[128];
	const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
	size_t sl = strlen(start), vlen = 40;
	for (int b = 0; b < 256; b++) {
		bool ok = b == '\t' || (b >= 0x20 && b != 0x7f);
		for (size_t p = 0; p < vlen; p++) {
			memcpy(buf, start, sl);
			memset(buf + sl, 'v', vlen);
			buf[sl + p] = (char)b;
			memcpy(buf + sl + vlen, "\r\n\r\n", 4);
			int r = h1_parse_request(buf, sl + vlen + 4, MAX_HEAD, &req);
			if (r != (ok ? H1_OK : H1_BAD)) {
				fprintf(stderr, "  byte 0x%02x at %zu: %d\n", b, p, r);
				CHECK(r == (ok ? H1_OK : H1_BAD));
				return;
			}
		}
	}
}

static void test_every_prefix_is_incomplete(void)
{
	const char *s = "\r\nPOST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		CHECK(h1_parse_request(s, i, MAX_HEAD, &req) == H1_INCOMPLETE);
	CHECK(h1_parse_request(s, n, MAX_HEAD, &req) == H1_OK);
	CHECK(req.body == H1_BODY_LENGTH);
	CHECK(req.content_length == 5);
}

static void test_pipelined(void)
{
	const char *s = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
			"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
			"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n"
			"DELETE /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	size_t len = strlen(s), off = 0;
	CHECK(h1_parse_request(s, len, MAX_HEAD, &req) == H1_OK);
	CHECK(span_is(req.target, req.target_len, "/a"));
	CHECK(req.body == H1_BODY_LENGTH && req.content_length == 3);
	off += req.head_len + 3;
	CHECK(h1_parse_request(s + off, len - off, MAX_HEAD, &req) == H1_OK);
	CHECK(span_is(req.target, req.target_len, "/b"));
	CHECK(req.body == H1_BODY_NONE);
	off += req.head_len;
	CHECK(h1_parse_request(s + off, len - off, MAX_HEAD, &req) == H1_OK);
	CHECK(span_is(req.target, req.target_len, "/c"));
	CHECK(req.body == H1_BODY_CHUNKED);
	off += req.head_len;
	struct h1_chunked c;
	h1_chunked_init(&c);
	bool done = false;
	ptrdiff_t n = h1_chunked_feed(&c, s + off, len - off, &done);
	CHECK(done);
	CHECK(n == (ptrdiff_t)strlen("3\r\nxyz\r\n0\r\n\r\n"));
	off += (size_t)n;
	CHECK(h1_parse_request(s + off, len - off, MAX_HEAD, &req) == H1_OK);
	CHECK(span_is(req.method, req.method_len, "DELETE"));
	CHECK(!req.keep_alive);
	CHECK(off + req.head_len == len);
}

static void test_leading_empty_lines_skipped(void)
{
	const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	CHECK(parse_req(s) == H1_OK);
	CHECK(req.method == s + 4);
	CHECK(req.head_len == strlen(s));
	CHECK(parse_req("\r\n") == H1_INCOMPLETE);
	CHECK(parse_req("\r\n\n") == H1_BAD);
}

static void test_keep_alive(void)
{
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: h\r\n\r\n") == H1_OK && req.keep_alive);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n") == H1_OK && !req.keep_alive);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, CLOSE\r\n\r\n") == H1_OK && !req.keep_alive);
	CHECK(parse_req("GET / HTTP/1.0\r\n\r\n") == H1_OK);
	CHECK(req.minor == 0 && !req.keep_alive && req.host == NULL);
	CHECK(parse_req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: h\r\n\r\n") == H1_OK);
	CHECK(req.minor == 0 && req.keep_alive && span_is(req.host, req.host_len, "h"));
	CHECK(parse_req("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n") == H1_OK && !req.keep_alive);
}

static void test_expect_continue(void)
{
	CHECK(parse_req("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-Continue\r\n\r\n") == H1_OK);
	CHECK(req.expect_continue && req.body == H1_BODY_LENGTH);
	CHECK(parse_req("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n") == H1_OK && !req.expect_continue);
	/* an HTTP/1.0 client cannot wait for 100 (RFC 9110 10.1.1) */
	CHECK(parse_req("PUT /x HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n") == H1_OK && !req.expect_continue);
}

static void test_upgrade(void)
{
	CHECK(parse_req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n") == H1_OK);
	CHECK(req.upgrade);
	CHECK(parse_req("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n") == H1_OK && !req.upgrade);
	CHECK(parse_req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n") == H1_OK && !req.upgrade);
	CHECK(parse_req("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n") == H1_OK && !req.upgrade);
}

static void test_framing_accepted(void)
{
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n") == H1_OK);
	CHECK(req.body == H1_BODY_CHUNKED);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n") == H1_OK);
	CHECK(req.body == H1_BODY_NONE && req.content_length == 0);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n") == H1_OK);
	CHECK(req.body == H1_BODY_LENGTH && req.content_length == 9223372036854775807ull);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: h\r\ncontent-length:007\r\n\r\n") == H1_OK);
	CHECK(req.content_length == 7);
}

static void test_target_forms(void)
{
	CHECK(parse_req("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n") == H1_OK);
	CHECK(span_is(req.target, req.target_len, "*"));
	CHECK(parse_req("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == H1_BAD);
	CHECK(parse_req("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n") == H1_BAD);
	CHECK(parse_req("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n") == H1_BAD);
	CHECK(parse_req("GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n") == H1_BAD);
	CHECK(parse_req("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n") == H1_NOT_IMPLEMENTED);
	CHECK(parse_req("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n") == H1_BAD);
	CHECK(parse_req("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n") == H1_BAD);
	CHECK(parse_req("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n") == H1_BAD);
	CHECK(parse_req("PROPFIND /dav HTTP/1.1\r\nHost: h\r\n\r\n") == H1_OK);
}

/* ---- requests: refused ---- */

struct refusal { const char *name; const char *text; size_t len; int code; };
#define R(name, text, code) { name, text, sizeof(text) - 1, code }

static const struct refusal refusals[] = {
	/* request line */
	R("empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", H1_BAD),
	R("method with a slash", "G/ET / HTTP/1.1\r\nHost: h\r\n\r\n", H1_BAD),
	R("two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", H1_BAD),
	R("tab separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", H1_BAD),
	R("trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", H1_BAD),
	R("no version", "GET /\r\nHost: h\r\n\r\n", H1_BAD),
	R("lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", H1_BAD),
	R("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", H1_BAD_VERSION),
	R("HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", H1_BAD_VERSION),
	R("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", H1_BAD_VERSION),
	R("HTTP/1.10", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", H1_BAD),
	R("NUL in target", "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", H1_BAD),
	R("space only", " \r\n\r\n", H1_BAD),
	/* line ends */
	R("bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", H1_BAD),
	R("bare LF after a field", "GET / HTTP/1.1\r\nHost: h\n\r\n", H1_BAD),
	R("bare LF blank line", "GET / HTTP/1.1\r\nHost: h\r\n\n", H1_BAD),
	R("bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", H1_BAD),
	R("bare CR ending a field", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\r\n\r\n", H1_BAD),
	R("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", H1_BAD),
	/* fields */
	R("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", H1_BAD),
	R("obs-fold tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", H1_BAD),
	R("space before first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", H1_BAD),
	R("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", H1_BAD),
	R("tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", H1_BAD),
	R("space in name", "GET / HTTP/1.1\r\nHost: h\r\nX Y: a\r\n\r\n", H1_BAD),
	R("no colon", "GET / HTTP/1.1\r\nHost: h\r\nXY\r\n\r\n", H1_BAD),
	R("empty name", "GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n", H1_BAD),
	R("NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", H1_BAD),
	R("NUL in name", "GET / HTTP/1.1\r\nHost: h\r\nX\0: a\r\n\r\n", H1_BAD),
	R("control in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", H1_BAD),
	R("vertical tab in value", "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \x0b" "chunked\r\n\r\n", H1_BAD),
	R("DEL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", H1_BAD),
	R("obs-text in name", "GET / HTTP/1.1\r\nHost: h\r\nX\xc3\xa9: a\r\n\r\n", H1_BAD),
	/* Host */
	R("no Host in 1.1", "GET / HTTP/1.1\r\nX: a\r\n\r\n", H1_BAD),
	R("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", H1_BAD),
	R("two Hosts in 1.0", "GET / HTTP/1.0\r\nhost: a\r\nHOST: b\r\n\r\n", H1_BAD),
	/* Content-Length */
	R("CL not a number", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", H1_BAD),
	R("CL empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", H1_BAD),
	R("CL signed", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", H1_BAD),
	R("CL negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", H1_BAD),
	R("CL hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", H1_BAD),
	R("CL list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", H1_BAD),
	R("CL inner space", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 0\r\n\r\n", H1_BAD),
	R("CL overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551617\r\n\r\n", H1_BAD),
	R("CL over INT64_MAX", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n", H1_BAD),
	R("CL duplicate same", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", H1_BAD),
	R("CL duplicate differing", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n", H1_BAD),
	/* Transfer-Encoding */
	R("CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", H1_BAD),
	R("TE and CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", H1_BAD),
	R("TE and CL 0", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", H1_BAD),
	R("TE chunked twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", H1_BAD),
	R("TE chunked in two fields", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", H1_BAD),
	R("TE chunked not last", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", H1_BAD),
	R("TE without chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", H1_BAD),
	R("TE identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", H1_BAD),
	R("TE empty", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", H1_BAD),
	R("TE empty element", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n", H1_BAD),
	R("TE leading comma", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked\r\n\r\n", H1_BAD),
	R("TE misspelt", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunkedx\r\n\r\n", H1_BAD),
	R("TE junk", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", H1_BAD),
	R("TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", H1_BAD),
	R("TE gzip then chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", H1_NOT_IMPLEMENTED),
	R("TE in two fields", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", H1_NOT_IMPLEMENTED),
	/* methods */
	R("CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", H1_NOT_IMPLEMENTED),
};

static void test_refusals(void)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const struct refusal *r = &refusals[i];
		int got = h1_parse_request(r->text, r->len, MAX_HEAD, &req);
		if (got != r->code) {
			fprintf(stderr, "  %s: got %d, expected %d\n", r->name, got, r->code);
			CHECK(got == r->code);
		}
	}
}

/* Bare LF is refused before the head is complete, so a client cannot hold a connection with it. */
static void test_bare_lf_refused_early(void)
{
	CHECK(parse_req("GET / HTTP/1.1\nHost") == H1_BAD);
	CHECK(parse_req("\n") == H1_BAD);
}

/* Junk is refused from the first bytes: a TLS hello on the plain port need not wait for 408. */
static void test_bad_request_line_refused_early(void)
{
	CHECK(h1_parse_request("\x16\x03\x01\x02\x00\x01", 6, MAX_HEAD, &req) == H1_BAD);
	CHECK(parse_req("GET") == H1_INCOMPLETE);
	CHECK(parse_req("GET /a") == H1_INCOMPLETE);
	CHECK(parse_req("GET /a HTTP/1.") == H1_INCOMPLETE);
	CHECK(parse_req("GET /a HTTP/1.1\r") == H1_INCOMPLETE);
	CHECK(parse_req("GET /a HTTP/1.1X") == H1_BAD);
	CHECK(parse_req("GET /a HTTP/1.x") == H1_BAD);
	CHECK(parse_req("GET /a XTTP") == H1_BAD);
	CHECK(parse_req("GET  /") == H1_BAD);
	CHECK(parse_req("GET /a\tb") == H1_BAD);
	CHECK(parse_req("GET /a HTTP/1.1\r\nHo") == H1_INCOMPLETE);
	CHECK(parse_req("GET http://x/ HTTP/1.1\r\nHo") == H1_BAD);
	CHECK(parse_req("GET / HTTP/3.0\r\nHo") == H1_BAD_VERSION);
	CHECK(parse_req("CONNECT x:443 HTTP/1.1\r\n") == H1_NOT_IMPLEMENTED);
	/* endless empty lines end in 431, not 414 */
	char buf[64];
	for (size_t i = 0; i < sizeof buf; i += 2)
		memcpy(buf + i, "\r\n", 2);
	CHECK(h1_parse_request(buf, sizeof buf, 32, &req) == H1_HEAD_TOO_LARGE);
	CHECK(h1_parse_request(buf, 30, 32, &req) == H1_INCOMPLETE);
}

static void test_too_large(void)
{
	size_t n = 20000;
	char *buf = malloc(n + 64);
	/* request line of 8 KiB exactly is fine; one byte more is 414, complete or not */
	memcpy(buf, "GET /", 5);
	size_t tlen = 8192 - strlen("GET / HTTP/1.1");
	memset(buf + 5, 'a', tlen);
	size_t p = 5 + tlen;
	memcpy(buf + p, " HTTP/1.1\r\nHost: h\r\n\r\n", 22);
	CHECK(h1_parse_request(buf, p + 22, MAX_HEAD, &req) == H1_OK);
	CHECK(req.target_len == tlen + 1);
	buf[5 + tlen] = 'a';
	memcpy(buf + p + 1, " HTTP/1.1\r\nHost: h\r\n\r\n", 22);
	CHECK(h1_parse_request(buf, p + 23, MAX_HEAD, &req) == H1_URI_TOO_LONG);
	/* still incomplete: 414 as soon as no CRLF can end the line in time */
	memset(buf, 'a', n);
	memcpy(buf, "GET /", 5);
	CHECK(h1_parse_request(buf, 8193, MAX_HEAD, &req) == H1_INCOMPLETE);
	CHECK(h1_parse_request(buf, 8194, MAX_HEAD, &req) == H1_URI_TOO_LONG);
	CHECK(h1_parse_request(buf, n, MAX_HEAD, &req) == H1_URI_TOO_LONG);

	/* a head of exactly max_head bytes passes, one more is 431 */
	const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
	size_t sl = strlen(start);
	memcpy(buf, start, sl);
	memset(buf + sl, 'v', MAX_HEAD - sl - 4);
	memcpy(buf + MAX_HEAD - 4, "\r\n\r\n", 4);
	CHECK(h1_parse_request(buf, MAX_HEAD, MAX_HEAD, &req) == H1_OK);
	CHECK(req.head_len == MAX_HEAD);
	CHECK(h1_parse_request(buf, MAX_HEAD, MAX_HEAD - 1, &req) == H1_HEAD_TOO_LARGE);
	/* incomplete and over max_head: 431 at once (a slow client cannot grow the buffer) */
	memset(buf + sl, 'v', n - sl);
	CHECK(h1_parse_request(buf, MAX_HEAD - 1, MAX_HEAD, &req) == H1_INCOMPLETE);
	CHECK(h1_parse_request(buf, MAX_HEAD, MAX_HEAD, &req) == H1_HEAD_TOO_LARGE);
	CHECK(h1_parse_request(buf, n, MAX_HEAD, &req) == H1_HEAD_TOO_LARGE);
	free(buf);
}

static void test_too_many_headers(void)
{
	char buf[4096];
	size_t p = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 1; i < H1_MAX_HEADERS; i++)
		p += (size_t)snprintf(buf + p, sizeof buf - p, "X%d: v\r\n", i);
	memcpy(buf + p, "\r\n", 3);
	CHECK(h1_parse_request(buf, p + 2, MAX_HEAD, &req) == H1_OK);
	CHECK(req.n_headers == H1_MAX_HEADERS);
	memcpy(buf + p, "Y: v\r\n\r\n", 9);
	CHECK(h1_parse_request(buf, p + 8, MAX_HEAD, &req) == H1_HEAD_TOO_LARGE);
	/* responses too: H1_MAX_HEADERS fields pass, one more is too large */
	p = (size_t)snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < H1_MAX_HEADERS; i++)
		p += (size_t)snprintf(buf + p, sizeof buf - p, "X%d: v\r\n", i);
	memcpy(buf + p, "\r\n", 3);
	CHECK(h1_parse_response(buf, p + 2, MAX_HEAD, false, &res) == H1_OK);
	CHECK(res.n_headers == H1_MAX_HEADERS);
	memcpy(buf + p, "Y: v\r\n\r\n", 9);
	CHECK(h1_parse_response(buf, p + 8, MAX_HEAD, false, &res) == H1_HEAD_TOO_LARGE);
}

static void test_helpers(void)
{
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive , X-Foo\r\n\r\n") == H1_OK);
	const struct h1_header *h = h1_header_find(req.headers, req.n_headers, "CONNECTION");
	CHECK(h != NULL);
	CHECK(h && h1_list_has_token(h->value, h->value_len, "x-foo"));
	CHECK(h && h1_list_has_token(h->value, h->value_len, "keep-alive"));
	CHECK(h && !h1_list_has_token(h->value, h->value_len, "close"));
	CHECK(h1_header_find(req.headers, req.n_headers, "Upgrade") == NULL);
	CHECK(h1_name_is(&req.headers[0], "host"));
}

/* ---- responses ---- */

static void test_response_framing(void)
{
	CHECK(parse_res("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false) == H1_OK);
	CHECK(res.status == 200 && res.body == H1_BODY_LENGTH && res.content_length == 12 && res.keep_alive);
	CHECK(res.head_len == strlen("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"));
	CHECK(res.n_headers == 1);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true) == H1_OK);
	CHECK(res.body == H1_BODY_NONE && res.keep_alive);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false) == H1_OK);
	CHECK(res.body == H1_BODY_CHUNKED && res.keep_alive);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false) == H1_OK);
	CHECK(res.body == H1_BODY_CHUNKED);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false) == H1_OK);
	CHECK(res.body == H1_BODY_UNTIL_CLOSE && !res.keep_alive);
	CHECK(parse_res("HTTP/1.1 200 OK\r\n\r\n", false) == H1_OK);
	CHECK(res.body == H1_BODY_UNTIL_CLOSE && !res.keep_alive);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false) == H1_OK);
	CHECK(res.body == H1_BODY_NONE && res.keep_alive);
	CHECK(parse_res("HTTP/1.1 204 No Content\r\n\r\n", false) == H1_OK);
	CHECK(res.body == H1_BODY_NONE && res.keep_alive);
	CHECK(parse_res("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", false) == H1_OK);
	CHECK(res.body == H1_BODY_NONE && res.keep_alive);
	CHECK(parse_res("HTTP/1.1 100 Continue\r\n\r\n", false) == H1_OK);
	CHECK(res.status == 100 && res.body == H1_BODY_NONE && !res.upgrade);
	CHECK(parse_res("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", false) == H1_OK);
	CHECK(res.body == H1_BODY_NONE);
	CHECK(parse_res("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false) == H1_OK);
	CHECK(res.upgrade && res.body == H1_BODY_NONE && !res.keep_alive);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", false) == H1_OK);
	CHECK(!res.keep_alive && res.body == H1_BODY_LENGTH);
	CHECK(parse_res("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false) == H1_OK);
	CHECK(res.minor == 0 && !res.keep_alive);
	CHECK(parse_res("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", false) == H1_OK);
	CHECK(res.keep_alive);
	/* the reason phrase may be empty, with or without its SP */
	CHECK(parse_res("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false) == H1_OK && res.status == 404);
	CHECK(parse_res("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false) == H1_OK && res.status == 404);
	CHECK(parse_res("HTTP/1.1 500 Internal \xe2\x9c\x97 Error\r\nContent-Length: 0\r\n\r\n", false) == H1_OK);
}

static void test_response_refusals(void)
{
	CHECK(parse_res("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 204 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 O\x01K\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 20 OK\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 2000 OK\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 099 OK\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 600 OK\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1  200 OK\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/2 200 OK\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/2.0 200 OK\r\n\r\n", false) == H1_BAD_VERSION);
	CHECK(parse_res("ICY 200 OK\r\n\r\n", false) == H1_BAD);
	CHECK(parse_res("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", false) == H1_INCOMPLETE);
	CHECK(parse_res("", false) == H1_INCOMPLETE);
	char big[300];
	memset(big, 'x', sizeof big);
	memcpy(big, "HTTP/1.1 200 ", 13);
	CHECK(h1_parse_response(big, sizeof big, 256, false, &res) == H1_HEAD_TOO_LARGE);
	CHECK(h1_parse_response(big, 200, 256, false, &res) == H1_INCOMPLETE);
}

/* ---- chunked ---- */

/* Feeds text in pieces cut at the given points; returns the total consumed or -1; *done set. */
static ptrdiff_t feed_split(const char *text, size_t len, const size_t *cuts, size_t n_cuts, bool *done)
{
	struct h1_chunked c;
	h1_chunked_init(&c);
	size_t off = 0;
	*done = false;
	for (size_t k = 0; k <= n_cuts; k++) {
		size_t end = k < n_cuts ? cuts[k] : len;
		if (end < off)
			continue;
		ptrdiff_t n = h1_chunked_feed(&c, text + off, end - off, done);
		if (n < 0)
			return -1;
		off += (size_t)n;
		if (*done)
			return (ptrdiff_t)off;
		if (off != end)
			return -2; /* consumed less without being done */
	}
	return (ptrdiff_t)off;
}

static ptrdiff_t feed_all(const char *text, bool *done)
{
	return feed_split(text, strlen(text), NULL, 0, done);
}

static void test_chunked_every_split(void)
{
	const char *body = "5\r\nhello\r\n1a;name=\"va;l\"; x\r\nabcdefghijklmnopqrstuvwxyz\r\n"
			   "A \t;ext\r\n0123456789\r\n0\r\nTrailer-One: v\r\nX-Sum: abc  \r\n\r\n";
	const char *next = "GET /next HTTP/1.1\r\n";
	char text[512];
	snprintf(text, sizeof text, "%s%s", body, next);
	size_t blen = strlen(body), tlen = strlen(text);
	bool done;
	/* one cut at every position, then two cuts at every pair */
	for (size_t i = 0; i <= tlen; i++) {
		ptrdiff_t n = feed_split(text, tlen, &i, 1, &done);
		if (n != (ptrdiff_t)blen || !done) {
			fprintf(stderr, "  split at %zu: %td\n", i, n);
			CHECK(n == (ptrdiff_t)blen && done);
		}
	}
	for (size_t i = 0; i <= blen; i++)
		for (size_t j = i; j <= blen; j++) {
			size_t cuts[2] = { i, j };
			ptrdiff_t n = feed_split(text, tlen, cuts, 2, &done);
			if (n != (ptrdiff_t)blen || !done) {
				CHECK(n == (ptrdiff_t)blen && done);
				return;
			}
		}
	/* a byte at a time */
	size_t cuts[512];
	for (size_t i = 0; i < tlen; i++)
		cuts[i] = i + 1;
	CHECK(feed_split(text, tlen, cuts, tlen, &done) == (ptrdiff_t)blen && done);
	/* every strict prefix is not done and consumes all it is given */
	for (size_t i = 0; i < blen; i++) {
		ptrdiff_t n = feed_split(text, i, NULL, 0, &done);
		CHECK(n == (ptrdiff_t)i && !done);
	}
}

static void test_chunked_after_done(void)
{
	struct h1_chunked c;
	h1_chunked_init(&c);
	bool done;
	CHECK(h1_chunked_feed(&c, "0\r\n\r\nXYZ", 8, &done) == 5 && done);
	CHECK(h1_chunked_feed(&c, "XYZ", 3, &done) == 0 && done);
	CHECK(h1_chunked_feed(&c, "", 0, &done) == 0 && done);
	h1_chunked_init(&c);
	CHECK(h1_chunked_feed(&c, "", 0, &done) == 0 && !done);
	/* failed stays failed */
	CHECK(h1_chunked_feed(&c, "z", 1, &done) == -1);
	CHECK(h1_chunked_feed(&c, "0\r\n\r\n", 5, &done) == -1);
	CHECK(h1_chunked_feed(&c, "", 0, &done) == -1);
}

static void test_chunked_accepted(void)
{
	bool done;
	CHECK(feed_all("0\r\n\r\n", &done) == 5 && done);
	CHECK(feed_all("000\r\n\r\n", &done) == 7 && done);
	CHECK(feed_all("ffffffffffffffff\r\n", &done) == 18 && !done); /* 16 digits, max uint64 */
	CHECK(feed_all("0000000000000001\r\nx\r\n0\r\n\r\n", &done) == 26 && done);
	CHECK(feed_all("0;a=b\r\n\r\n", &done) == 9 && done);
	CHECK(feed_all("0 ;a\r\n\r\n", &done) == 8 && done);
}

static void test_chunked_refusals(void)
{
#define B(s) { s, sizeof(s) - 1 }
	static const struct { const char *text; size_t len; } bad[] = {
		B("\r\n"),                        /* no size */
		B("x\r\n"),                       /* not hex */
		B("-1\r\n"),
		B("+1\r\n"),
		B("0x5\r\nhello\r\n0\r\n\r\n"),   /* 0x prefix */
		B("5 \r\nhello\r\n0\r\n\r\n"),    /* whitespace not before ';' */
		B(" 5\r\nhello\r\n0\r\n\r\n"),    /* leading whitespace */
		B("5\nhello\r\n0\r\n\r\n"),       /* bare LF after size */
		B("5\rhello\r\n0\r\n\r\n"),       /* bare CR after size */
		B("5;a\nb\r\nhello\r\n0\r\n\r\n"),  /* LF inside an extension */
		B("5;a\0\r\nhello\r\n0\r\n\r\n"),   /* NUL inside an extension */
		B("5\r\nhelloX\r\n0\r\n\r\n"),      /* data longer than its size */
		B("5\r\nhello\n0\r\n\r\n"),         /* bare LF after data */
		B("5\r\nhello\r0\r\n\r\n"),
		B("10000000000000000\r\n"),         /* 17 digits */
		B("00000000000000000\r\n"),         /* 17 digits, even zeros */
		B("0\r\n\n"),                       /* bare LF ending trailers */
		B("0\r\n\r\r"),
		B("0\r\nX: a\n\r\n"),               /* bare LF ending a trailer */
		B("0\r\nX : a\r\n\r\n"),            /* whitespace before ':' */
		B("0\r\n X: a\r\n\r\n"),            /* obs-fold / leading whitespace */
		B("0\r\nX: a\r\n b\r\n\r\n"),
		B("0\r\n: a\r\n\r\n"),              /* empty trailer name */
		B("0\r\nX a\r\n\r\n"),              /* no colon */
		B("0\r\nX: a\x01\r\n\r\n"),         /* control in a trailer */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bool done;
		ptrdiff_t n = feed_split(bad[i].text, bad[i].len, NULL, 0, &done);
		if (n != -1) {
			fprintf(stderr, "  chunked refusal %zu accepted: %td\n", i, n);
			CHECK(n == -1);
		}
	}
}

static void test_chunked_limits(void)
{
	bool done;
	char *buf = malloc(20000);
	/* a size line of 4 KiB passes, one byte more fails */
	buf[0] = '1';
	buf[1] = ';';
	memset(buf + 2, 'e', 4094);
	memcpy(buf + 4096, "\r\nx\r\n0\r\n\r\n", 11);
	CHECK(feed_split(buf, strlen(buf), NULL, 0, &done) == 4096 + 10 && done);
	memset(buf + 2, 'e', 4095);
	memcpy(buf + 4097, "\r\nx\r\n0\r\n\r\n", 11);
	CHECK(feed_split(buf, strlen(buf), NULL, 0, &done) == -1);
	/* and an endless extension fails before its end is seen */
	memset(buf + 2, 'e', 10000);
	CHECK(feed_split(buf, 10002, NULL, 0, &done) == -1);
	/* trailers: 8 KiB in all pass, more fail */
	memcpy(buf, "0\r\nX: ", 6);
	memset(buf + 6, 'v', 8192 - 5);
	memcpy(buf + 3 + 8192 - 2, "\r\n\r\n", 5);
	CHECK(feed_split(buf, strlen(buf), NULL, 0, &done) == 3 + 8192 + 2 && done);
	memcpy(buf, "0\r\nX: ", 6);
	memset(buf + 6, 'v', 8192 - 4);
	memcpy(buf + 3 + 8192 - 1, "\r\n\r\n", 5);
	CHECK(feed_split(buf, strlen(buf), NULL, 0, &done) == -1);
	free(buf);
	/* a huge chunk is skipped in O(1) per call */
	struct h1_chunked c;
	h1_chunked_init(&c);
	CHECK(h1_chunked_feed(&c, "7fffffffffffffff\r\n", 18, &done) == 18 && !done);
	CHECK(c.remaining == 0x7fffffffffffffffull);
	char data[1024];
	memset(data, 'd', sizeof data);
	CHECK(h1_chunked_feed(&c, data, sizeof data, &done) == (ptrdiff_t)sizeof data && !done);
	CHECK(c.remaining == 0x7fffffffffffffffull - sizeof data);
}

int main(void)
{
	RUN(test_simple_get);
	RUN(test_value_whitespace_trimmed);
	RUN(test_value_bytes_at_every_position);
	RUN(test_every_prefix_is_incomplete);
	RUN(test_pipelined);
	RUN(test_leading_empty_lines_skipped);
	RUN(test_keep_alive);
	RUN(test_expect_continue);
	RUN(test_upgrade);
	RUN(test_framing_accepted);
	RUN(test_target_forms);
	RUN(test_refusals);
	RUN(test_bare_lf_refused_early);
	RUN(test_bad_request_line_refused_early);
	RUN(test_too_large);
	RUN(test_too_many_headers);
	RUN(test_helpers);
	RUN(test_response_framing);
	RUN(test_response_refusals);
	RUN(test_chunked_every_split);
	RUN(test_chunked_after_done);
	RUN(test_chunked_accepted);
	RUN(test_chunked_refusals);
	RUN(test_chunked_limits);
	return check_summary();
}
