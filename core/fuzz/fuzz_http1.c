/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for the gateway's HTTP/1.x parsers (gateway/http1.h). The first input byte picks
 * a max_head and the seed of the split points; the rest is parsed as a request head, a response
 * head and a chunked body. Checks: nothing reads past the buffer (every parse gets an exact-size
 * copy), results point inside the head, a head parsed OK parses the same from any longer buffer and
 * is never OK from a shorter one, and chunked framing fed in random pieces agrees with one feed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http1.h"

static struct h1_request req, req2;
static struct h1_response res, res2;

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

static uint32_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/* An exact-size heap copy of data[0..n), so ASan sees a read past n. */
static char *copy(const uint8_t *data, size_t n)
{
	char *p = malloc(n ? n : 1);
	if (!p)
		abort();
	if (n)
		memcpy(p, data, n);
	return p;
}

static bool within(const char *p, size_t len, const char *buf, size_t buflen)
{
	return p >= buf && len <= buflen && (size_t)(p - buf) <= buflen - len;
}

static void check_headers(const struct h1_header *h, size_t n, const char *buf, size_t head_len)
{
	if (n > H1_MAX_HEADERS)
		FAIL("n_headers %zu", n);
	for (size_t i = 0; i < n; i++) {
		if (!within(h[i].name, h[i].name_len, buf, head_len) || !within(h[i].value, h[i].value_len, buf, head_len))
			FAIL("header %zu outside the head", i);
		if (h[i].name_len == 0)
			FAIL("empty header name");
		for (size_t k = 0; k < h[i].value_len; k++) {
			unsigned char c = (unsigned char)h[i].value[k];
			if (c == '\r' || c == '\n' || c == 0)
				FAIL("CR, LF or NUL in a header value");
		}
	}
}

static void fuzz_request(const uint8_t *data, size_t len, size_t max_head)
{
	char *buf = copy(data, len);
	int r = h1_parse_request(buf, len, max_head, &req);
	if (r != H1_OK) {
		free(buf);
		return;
	}
	size_t hl = req.head_len;
	if (hl > len || hl > max_head || hl < 4 || memcmp(buf + hl - 4, "\r\n\r\n", 4) != 0)
		FAIL("request head_len %zu of %zu", hl, len);
	if (!within(req.method, req.method_len, buf, hl) || !within(req.target, req.target_len, buf, hl) ||
	    req.method_len == 0 || req.target_len == 0)
		FAIL("request line outside the head");
	if (req.minor != 0 && req.minor != 1)
		FAIL("minor %d", req.minor);
	check_headers(req.headers, req.n_headers, buf, hl);
	if (req.minor == 1 && !req.host)
		FAIL("1.1 without Host accepted");
	if (req.host && !within(req.host, req.host_len, buf, hl))
		FAIL("host outside the head");
	if (req.body == H1_BODY_UNTIL_CLOSE)
		FAIL("request body until close");
	if (req.body == H1_BODY_LENGTH && req.content_length == 0)
		FAIL("length body of 0");
	/* no CL with TE, at most one CL */
	size_t n_cl = 0, n_te = 0;
	for (size_t i = 0; i < req.n_headers; i++) {
		n_cl += h1_name_is(&req.headers[i], "content-length");
		n_te += h1_name_is(&req.headers[i], "transfer-encoding");
	}
	if (n_cl > 1 || (n_cl && n_te))
		FAIL("CL %zu TE %zu accepted", n_cl, n_te);
	if (n_te && req.body != H1_BODY_CHUNKED)
		FAIL("TE without chunked framing");
	/* the head alone parses the same */
	char *head = copy(data, hl);
	if (h1_parse_request(head, hl, max_head, &req2) != H1_OK || req2.head_len != hl || req2.body != req.body ||
	    req2.content_length != req.content_length || req2.n_headers != req.n_headers ||
	    req2.keep_alive != req.keep_alive || req2.upgrade != req.upgrade)
		FAIL("the head alone parses differently");
	/* the head rebuilt from what was parsed (as the proxy sends it on) parses the same */
	size_t cap = hl + req.n_headers + 64; /* ": " may add a byte per field */
	char *re = malloc(cap), *w = re;
	if (!re)
		abort();
	w += snprintf(w, cap, "%.*s %.*s HTTP/1.%d\r\n", (int)req.method_len, req.method, (int)req.target_len,
		      req.target, req.minor);
	for (size_t i = 0; i < req.n_headers; i++)
		w += snprintf(w, cap - (size_t)(w - re), "%.*s: %.*s\r\n", (int)req.headers[i].name_len,
			      req.headers[i].name, (int)req.headers[i].value_len, req.headers[i].value);
	w += snprintf(w, cap - (size_t)(w - re), "\r\n");
	int rr = h1_parse_request(re, (size_t)(w - re), cap, &req2);
	if (rr != H1_OK || req2.body != req.body || req2.content_length != req.content_length ||
	    req2.n_headers != req.n_headers || req2.keep_alive != req.keep_alive || req2.upgrade != req.upgrade ||
	    req2.expect_continue != req.expect_continue || req2.host_len != req.host_len ||
	    (req.host && memcmp(req2.host, req.host, req.host_len) != 0))
		FAIL("the rebuilt head parses differently (%d)", rr);
	free(re);
	/* a shorter prefix is incomplete: neither a head nor refused */
	size_t cut = rng() % hl;
	char *pre = copy(data, cut);
	int pr = h1_parse_request(pre, cut, max_head, &req2);
	if (pr != H1_INCOMPLETE)
		FAIL("prefix %zu of a %zu-byte head: %d", cut, hl, pr);
	free(pre);
	free(head);
	free(buf);
}

static void fuzz_response(const uint8_t *data, size_t len, size_t max_head, bool head_request)
{
	char *buf = copy(data, len);
	int r = h1_parse_response(buf, len, max_head, head_request, &res);
	if (r != H1_OK) {
		free(buf);
		return;
	}
	size_t hl = res.head_len;
	if (hl > len || hl > max_head || hl < 4 || memcmp(buf + hl - 4, "\r\n\r\n", 4) != 0)
		FAIL("response head_len %zu of %zu", hl, len);
	if (res.status < 100 || res.status > 599)
		FAIL("status %d", res.status);
	check_headers(res.headers, res.n_headers, buf, hl);
	if ((head_request || res.status < 200 || res.status == 204 || res.status == 304) && res.body != H1_BODY_NONE)
		FAIL("a body for status %d", res.status);
	if (res.body == H1_BODY_UNTIL_CLOSE && res.keep_alive)
		FAIL("keep-alive with a body until close");
	if (res.upgrade != (res.status == 101))
		FAIL("upgrade for %d", res.status);
	char *head = copy(data, hl);
	if (h1_parse_response(head, hl, max_head, head_request, &res2) != H1_OK || res2.head_len != hl ||
	    res2.body != res.body || res2.content_length != res.content_length || res2.status != res.status)
		FAIL("the response head alone parses differently");
	size_t cut = rng() % hl;
	char *pre = copy(data, cut);
	int pr = h1_parse_response(pre, cut, max_head, head_request, &res2);
	if (pr != H1_INCOMPLETE)
		FAIL("prefix %zu of a %zu-byte response head: %d", cut, hl, pr);
	free(pre);
	free(head);
	free(buf);
}

static void fuzz_chunked(const uint8_t *data, size_t len)
{
	char *buf = copy(data, len);
	struct h1_chunked c;
	bool done1 = false, done2 = false;
	h1_chunked_init(&c);
	ptrdiff_t whole = h1_chunked_feed(&c, buf, len, &done1);
	if (whole < -1 || whole > (ptrdiff_t)len || (whole >= 0 && whole < (ptrdiff_t)len && !done1))
		FAIL("chunked: %td of %zu, done %d", whole, len, done1);
	/* the same in random pieces, each an exact-size copy */
	h1_chunked_init(&c);
	size_t off = 0;
	ptrdiff_t pieces = 0;
	while (off < len) {
		size_t n = 1 + rng() % (len - off < 64 ? len - off : 64);
		if (rng() % 8 == 0)
			n = len - off;
		char *piece = copy(data + off, n);
		ptrdiff_t got = h1_chunked_feed(&c, piece, n, &done2);
		free(piece);
		if (got < 0) {
			pieces = -1;
			break;
		}
		if ((size_t)got > n || ((size_t)got < n && !done2))
			FAIL("chunked piece: %td of %zu, done %d", got, n, done2);
		off += (size_t)got;
		if (done2)
			break;
	}
	if (pieces == 0)
		pieces = (ptrdiff_t)off;
	if (pieces != whole || (whole >= 0 && done1 != done2))
		FAIL("chunked: whole %td (done %d) vs pieces %td (done %d)", whole, done1, pieces, done2);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const size_t heads[] = { 16384, 64, 256, 1024, 4096, 16384, 65536, 20 };
	size_t max_head = heads[data[0] & 7];
	bool head_request = (data[0] & 8) != 0;
	rng_state = data[0] * 2654435761u ^ (uint32_t)size;
	data++;
	size--;
	fuzz_request(data, size, max_head);
	fuzz_response(data, size, max_head, head_request);
	fuzz_chunked(data, size);
	/* a chunked body right after a head, as the proxy sees it */
	if (h1_parse_request((const char *)data, size, max_head, &req) == H1_OK && req.head_len < size)
		fuzz_chunked(data + req.head_len, size - req.head_len);
	return 0;
}
