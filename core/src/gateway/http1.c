/* SPDX-License-Identifier: Apache-2.0
 * The gateway's HTTP/1.x parsers declared in http1.h: request and response heads (strict RFC 9112
 * syntax and the framing rules that stop request smuggling) and the streaming chunked-framing
 * validator. Pure functions over caller buffers: no allocation, no I/O, never read past len, linear
 * in the input. Uses only libc (memchr). */
#include "gateway/http1.h"

#include <string.h>

#define H1_MAX_REQUEST_LINE 8192   /* request line without its CRLF; longer -> 414 */
#define H1_MAX_CHUNK_LINE 4096     /* chunk-size line with extensions, without its CRLF */
#define H1_MAX_TRAILERS 8192       /* every trailer byte, the final CRLF excluded */
#define H1_MAX_CHUNK_DIGITS 16     /* 16 hex digits fit a uint64_t: no overflow is possible */
#define H1_MAX_CONTENT_LENGTH ((uint64_t)INT64_MAX)

/* ---- character classes ---- */

/* tchar (RFC 9110 5.6.2): the characters of a token (method, field name, coding). */
static const unsigned char tchar_table[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
	['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

static bool is_tchar(unsigned char c) { return tchar_table[c] != 0; }

/* field-vchar, SP and HTAB: what a field value may hold (obs-text included; no NUL, CR, LF,
 * other controls or DEL). */
static bool is_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static bool is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

/* How many of p[0..n) are value characters from the start: eight bytes at a time while none of
 * them is below 0x20 or DEL (the usual case: no tab, no control), then byte by byte. */
static size_t value_span(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		uint64_t x, del;
		memcpy(&x, p + i, 8);
		del = x ^ (0x7f * ones);
		/* a byte below 0x20 or equal to 0x7f sets a high bit (exact for "any") */
		if (((x - 0x20 * ones) & ~x & highs) | ((del - ones) & ~del & highs))
			break;
	}
	while (i < n && is_value_char((unsigned char)p[i]))
		i++;
	return i;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* Whether s[0..len) equals the lower-case literal lit, ignoring ASCII case. */
static bool eq_nocase(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

bool h1_name_is(const struct h1_header *h, const char *name)
{
	size_t n = strlen(name);
	if (h->name_len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)h->name[i]) != lower((unsigned char)name[i]))
			return false;
	return true;
}

const struct h1_header *h1_header_find(const struct h1_header *headers, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (h1_name_is(&headers[i], name))
			return &headers[i];
	return NULL;
}

/* Calls fn for each element of a comma-separated list (RFC 9110 5.6.1), OWS trimmed, empty
 * elements included (as len 0). Stops at the first nonzero return and gives it back. */
typedef int (*list_fn)(const char *elem, size_t len, void *ud);

static int list_each(const char *v, size_t len, list_fn fn, void *ud)
{
	size_t i = 0;
	for (;;) {
		size_t s = i;
		while (i < len && v[i] != ',')
			i++;
		size_t e = i;
		while (s < e && is_ows((unsigned char)v[s]))
			s++;
		while (e > s && is_ows((unsigned char)v[e - 1]))
			e--;
		int r = fn(v + s, e - s, ud);
		if (r)
			return r;
		if (i >= len)
			return 0;
		i++; /* past the comma */
	}
}

struct has_token { const char *token; };

static int has_token_fn(const char *elem, size_t len, void *ud)
{
	const struct has_token *t = ud;
	return eq_nocase(elem, len, t->token) ? 1 : 0;
}

bool h1_list_has_token(const char *value, size_t len, const char *token)
{
	struct has_token t = { token };
	return list_each(value, len, has_token_fn, &t) == 1;
}

/* ---- finding the head ---- */

/* Finds the end of the head that starts at buf[start]: each LF must follow a CR, the first line
 * ends at *line_end (its CR; left alone while the line is incomplete), and the head ends after the
 * first empty line. Scans at most min(len, max_head) bytes. Returns H1_OK with *head_len,
 * H1_INCOMPLETE, or an error code. */
static int find_head(const char *buf, size_t len, size_t max_head, size_t start, size_t max_line,
		     size_t *line_end, size_t *head_len)
{
	size_t lim = len < max_head ? len : max_head;
	size_t line = start;
	bool have_first = false;
	while (line < lim) {
		const char *lf = memchr(buf + line, '\n', lim - line);
		if (!lf)
			break;
		size_t i = (size_t)(lf - buf);
		if (i == line || buf[i - 1] != '\r')
			return H1_BAD; /* bare LF */
		if (!have_first) {
			if (i - 1 - start > max_line)
				return H1_URI_TOO_LONG;
			*line_end = i - 1;
			have_first = true;
		} else if (i - 1 == line) {
			*head_len = i + 1;
			return H1_OK;
		}
		line = i + 1;
	}
	/* no LF in buf[line..lim): a first line without its end is too long once it cannot fit */
	if (!have_first && lim - start > max_line + 1)
		return H1_URI_TOO_LONG;
	if (len >= max_head)
		return H1_HEAD_TOO_LARGE;
	return H1_INCOMPLETE;
}

/* ---- header fields ---- */

/* What the fields say about framing and the connection, gathered while they are split. */
struct fields {
	unsigned n_cl, n_te, n_host, n_upgrade;
	uint64_t cl;
	bool cl_bad;
	/* Transfer-Encoding, all its headers read as one list */
	unsigned te_chunked, te_other;
	bool te_last_chunked, te_bad;
	const char *host; size_t host_len;
	bool conn_close, conn_keep_alive, conn_upgrade;
	bool expect_continue;
};

static int connection_fn(const char *e, size_t len, void *ud)
{
	struct fields *f = ud;
	if (eq_nocase(e, len, "close"))
		f->conn_close = true;
	else if (eq_nocase(e, len, "keep-alive"))
		f->conn_keep_alive = true;
	else if (eq_nocase(e, len, "upgrade"))
		f->conn_upgrade = true;
	return 0;
}

/* A transfer-coding: token *( OWS ";" OWS token "=" ( token / quoted-string ) ). Only chunked
 * matters; anything else is checked loosely (token characters and parameters) and counted. */
static bool is_coding(const char *e, size_t len)
{
	if (len == 0 || !is_tchar((unsigned char)e[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)e[i];
		if (!is_tchar(c) && c != ';' && c != '=' && c != '"' && !is_ows(c))
			return false;
	}
	return true;
}

static int te_fn(const char *e, size_t len, void *ud)
{
	struct fields *f = ud;
	if (eq_nocase(e, len, "chunked")) {
		f->te_chunked++;
		f->te_last_chunked = true;
	} else if (is_coding(e, len)) {
		f->te_other++;
		f->te_last_chunked = false;
	} else {
		f->te_bad = true; /* empty element or junk */
		return 1;
	}
	return 0;
}

/* Content-Length: 1*DIGIT, at most INT64_MAX. */
static bool parse_cl(const char *v, size_t len, uint64_t *out)
{
	if (len == 0)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < '0' || c > '9')
			return false;
		if (n > (H1_MAX_CONTENT_LENGTH - (c - '0')) / 10)
			return false;
		n = n * 10 + (c - '0');
	}
	*out = n;
	return true;
}

/* Splits the header lines in buf[pos..end) (end: the CR of the empty line) into headers[] and
 * gathers the framing fields. Returns H1_OK, H1_BAD or H1_HEAD_TOO_LARGE (too many headers). */
static int parse_fields(const char *buf, size_t pos, size_t end, struct h1_header *headers,
			size_t *n_headers, struct fields *f)
{
	size_t n = 0;
	memset(f, 0, sizeof *f);
	while (pos < end) {
		/* the line is buf[pos..cr), and buf[cr..cr+2) is CRLF (find_head saw it) */
		const char *lf = memchr(buf + pos, '\n', end + 1 - pos);
		size_t cr = (size_t)(lf - buf) - 1;
		size_t i = pos;
		/* field-name: 1*tchar, then ':' at once (no whitespace, no obs-fold line start) */
		while (i < cr && is_tchar((unsigned char)buf[i]))
			i++;
		if (i == pos || i == cr || buf[i] != ':')
			return H1_BAD;
		size_t name_end = i++;
		while (i < cr && is_ows((unsigned char)buf[i]))
			i++;
		size_t vs = i;
		i += value_span(buf + i, cr - i);
		if (i != cr)
			return H1_BAD; /* NUL, bare CR, controls, DEL */
		size_t ve = cr;
		while (ve > vs && is_ows((unsigned char)buf[ve - 1]))
			ve--;
		if (n == H1_MAX_HEADERS)
			return H1_HEAD_TOO_LARGE;
		struct h1_header *h = &headers[n++];
		h->name = buf + pos;
		h->name_len = name_end - pos;
		h->value = buf + vs;
		h->value_len = ve - vs;

		const char *v = h->value;
		size_t vl = h->value_len;
		switch (lower((unsigned char)h->name[0])) {
		case 'c':
			if (h1_name_is(h, "content-length")) {
				uint64_t cl;
				if (!parse_cl(v, vl, &cl))
					f->cl_bad = true;
				else
					f->cl = cl;
				f->n_cl++;
			} else if (h1_name_is(h, "connection")) {
				list_each(v, vl, connection_fn, f);
			}
			break;
		case 'e':
			if (h1_name_is(h, "expect") && eq_nocase(v, vl, "100-continue"))
				f->expect_continue = true;
			break;
		case 'h':
			if (h1_name_is(h, "host")) {
				f->n_host++;
				f->host = v;
				f->host_len = vl;
			}
			break;
		case 't':
			if (h1_name_is(h, "transfer-encoding")) {
				f->n_te++;
				if (!f->te_bad)
					list_each(v, vl, te_fn, f);
			}
			break;
		case 'u':
			if (h1_name_is(h, "upgrade") && vl > 0)
				f->n_upgrade++;
			break;
		default:
			break;
		}
		pos = cr + 2;
	}
	*n_headers = n;
	return H1_OK;
}

/* "HTTP/1.D" at buf[0..8): H1_OK with *minor, H1_BAD_VERSION for another HTTP/D.D, else H1_BAD. */
static int parse_version(const char *p, size_t len, int *minor)
{
	if (len != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' ||
	    p[7] < '0' || p[7] > '9')
		return H1_BAD;
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return H1_BAD_VERSION;
	*minor = p[7] - '0';
	return H1_OK;
}

/* ---- requests ---- */

/* request-target characters: visible ASCII without '#' (no fragment in a request). */
static bool is_target_char(unsigned char c) { return c > 0x20 && c < 0x7f && c != '#'; }

/* Parses the request line buf[start..end) (end: its CR) into req. */
static int parse_request_line(const char *buf, size_t start, size_t end, struct h1_request *req)
{
	/* request-line = method SP request-target SP HTTP-version, single spaces */
	size_t i = start;
	while (i < end && is_tchar((unsigned char)buf[i]))
		i++;
	if (i == start || i == end || buf[i] != ' ')
		return H1_BAD;
	req->method = buf + start;
	req->method_len = i - start;
	size_t ts = ++i;
	while (i < end && is_target_char((unsigned char)buf[i]))
		i++;
	if (i == ts || i == end || buf[i] != ' ')
		return H1_BAD;
	req->target = buf + ts;
	req->target_len = i - ts;
	int r = parse_version(buf + i + 1, end - i - 1, &req->minor);
	if (r != H1_OK)
		return r;
	if (req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0)
		return H1_NOT_IMPLEMENTED;
	if (req->target[0] == '*') {
		if (req->target_len != 1 || req->method_len != 7 || memcmp(req->method, "OPTIONS", 7) != 0)
			return H1_BAD;
	} else if (req->target[0] != '/') {
		return H1_BAD; /* absolute-form and authority-form */
	}

	return H1_OK;
}

/* Whether the first n bytes of an unfinished request line can still start a valid one: a method
 * token, SP, target characters, SP, a prefix of HTTP/D.D. H1_OK or H1_BAD. */
static int request_line_prefix(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == n)
		return H1_OK;
	if (i == 0 || p[i] != ' ')
		return H1_BAD;
	size_t ts = ++i;
	while (i < n && is_target_char((unsigned char)p[i]))
		i++;
	if (i == n)
		return H1_OK;
	if (i == ts || p[i] != ' ')
		return H1_BAD;
	static const char version[] = "HTTP/D.D\r";
	for (size_t k = 0; ++i < n; k++) {
		unsigned char c = (unsigned char)p[i];
		if (k >= sizeof version - 1)
			return H1_BAD; /* longer than a version and its CR */
		if (version[k] == 'D' ? (c < '0' || c > '9') : c != (unsigned char)version[k])
			return H1_BAD;
	}
	return H1_OK;
}

int h1_parse_request(const char *buf, size_t len, size_t max_head, struct h1_request *req)
{
	req->method = req->target = req->host = NULL;
	req->method_len = req->target_len = req->host_len = 0;
	req->minor = 1;
	req->n_headers = req->head_len = 0;
	req->body = H1_BODY_NONE;
	req->content_length = 0;
	req->keep_alive = req->upgrade = req->expect_continue = false;

	/* RFC 9112 2.2: empty lines before the request line are ignored */
	size_t lim = len < max_head ? len : max_head, start = 0;
	while (start + 1 < lim && buf[start] == '\r' && buf[start + 1] == '\n')
		start += 2;
	size_t line_end = SIZE_MAX, head_len = 0;
	int r = find_head(buf, len, max_head, start, H1_MAX_REQUEST_LINE, &line_end, &head_len);
	if (r == H1_INCOMPLETE) {
		/* refuse junk (a TLS hello on the plain port, a garbled line) without waiting for
		 * the rest of the head */
		if (line_end != SIZE_MAX)
			r = parse_request_line(buf, start, line_end, req);
		else if (!(lim - start == 1 && buf[start] == '\r')) /* half an empty line */
			r = request_line_prefix(buf + start, lim - start);
		return r == H1_OK ? H1_INCOMPLETE : r;
	}
	if (r != H1_OK)
		return r;

	r = parse_request_line(buf, start, line_end, req);
	if (r != H1_OK)
		return r;

	struct fields f;
	r = parse_fields(buf, line_end + 2, head_len - 2, req->headers, &req->n_headers, &f);
	if (r != H1_OK)
		return r;

	if (f.n_host > 1 || (f.n_host == 0 && req->minor == 1))
		return H1_BAD;
	req->host = f.host;
	req->host_len = f.host_len;

	if (f.n_cl > 0 && (f.cl_bad || f.n_cl > 1))
		return H1_BAD;
	if (f.n_te > 0) {
		if (f.n_cl > 0 || req->minor == 0 || f.te_bad)
			return H1_BAD;
		if (f.te_chunked > 1 || (f.te_chunked == 1 && !f.te_last_chunked))
			return H1_BAD;
		if (f.te_chunked == 0)
			return H1_BAD; /* chunked not final: the length cannot be known (RFC 9112 6.3) */
		if (f.te_other > 0)
			return H1_NOT_IMPLEMENTED;
		req->body = H1_BODY_CHUNKED;
	} else if (f.n_cl == 1 && f.cl > 0) {
		req->body = H1_BODY_LENGTH;
		req->content_length = f.cl;
	}

	req->keep_alive = req->minor == 1 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
	req->upgrade = req->minor == 1 && f.conn_upgrade && f.n_upgrade > 0;
	req->expect_continue = req->minor == 1 && f.expect_continue;
	req->head_len = head_len;
	return H1_OK;
}

/* ---- responses ---- */

int h1_parse_response(const char *buf, size_t len, size_t max_head, bool head_request, struct h1_response *res)
{
	res->status = 0;
	res->minor = 1;
	res->n_headers = res->head_len = 0;
	res->body = H1_BODY_NONE;
	res->content_length = 0;
	res->keep_alive = res->upgrade = false;

	size_t line_end = 0, head_len = 0;
	int r = find_head(buf, len, max_head, 0, max_head, &line_end, &head_len);
	if (r == H1_URI_TOO_LONG)
		r = H1_HEAD_TOO_LARGE;
	if (r != H1_OK)
		return r;

	/* status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ]; the SP after the code may be
	 * missing when the reason is empty */
	if (line_end < 12 || buf[8] != ' ')
		return H1_BAD;
	r = parse_version(buf, 8, &res->minor);
	if (r != H1_OK)
		return r;
	for (size_t i = 9; i < 12; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return H1_BAD;
	res->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (res->status < 100 || res->status > 599)
		return H1_BAD;
	if (line_end > 12) {
		if (buf[12] != ' ')
			return H1_BAD;
		for (size_t i = 13; i < line_end; i++)
			if (!is_value_char((unsigned char)buf[i]))
				return H1_BAD;
	}

	struct fields f;
	r = parse_fields(buf, line_end + 2, head_len - 2, res->headers, &res->n_headers, &f);
	if (r != H1_OK)
		return r;
	/* smuggling defences hold whatever the status: no CL with TE, one valid CL, sane TE */
	if (f.n_cl > 0 && (f.cl_bad || f.n_cl > 1))
		return H1_BAD;
	if (f.n_te > 0 && (f.n_cl > 0 || res->minor == 0 || f.te_bad || f.te_chunked > 1))
		return H1_BAD;

	res->keep_alive = res->minor == 1 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
	if (res->status == 101) {
		res->upgrade = true;
		res->keep_alive = false; /* the connection becomes a tunnel */
	} else if (head_request || res->status < 200 || res->status == 204 || res->status == 304) {
		/* no body */
	} else if (f.n_te > 0) {
		if (f.te_last_chunked) {
			res->body = H1_BODY_CHUNKED;
		} else {
			res->body = H1_BODY_UNTIL_CLOSE;
			res->keep_alive = false;
		}
	} else if (f.n_cl == 1) {
		if (f.cl > 0) {
			res->body = H1_BODY_LENGTH;
			res->content_length = f.cl;
		}
	} else {
		res->body = H1_BODY_UNTIL_CLOSE;
		res->keep_alive = false;
	}
	res->head_len = head_len;
	return H1_OK;
}

/* ---- chunked framing ---- */

enum {
	CH_SIZE,        /* chunk-size hex digits */
	CH_EXT_BWS,     /* whitespace after the digits, before a ';' */
	CH_EXT,         /* chunk extensions after a ';', up to CR */
	CH_SIZE_LF,     /* the LF of the size line */
	CH_DATA,        /* remaining bytes of chunk data */
	CH_DATA_CR,     /* CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER,     /* start of a trailer line, or the final CRLF */
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF,
	CH_END_LF,      /* the LF of the final CRLF */
	CH_DONE,
	CH_FAILED,
};

void h1_chunked_init(struct h1_chunked *c)
{
	c->state = CH_SIZE;
	c->remaining = 0;
	c->line_len = 0;
	c->trailer_len = 0;
}

ptrdiff_t h1_chunked_feed(struct h1_chunked *c, const char *buf, size_t len, bool *done)
{
	size_t i = 0;
	*done = false;
	if (c->state == CH_FAILED)
		return -1;
	while (i < len) {
		unsigned char ch = (unsigned char)buf[i];
		switch (c->state) {
		case CH_SIZE: {
			int d = hex_value(ch);
			if (d >= 0) {
				if (c->line_len == H1_MAX_CHUNK_DIGITS)
					goto bad;
				c->remaining = c->remaining << 4 | (uint64_t)d;
				c->line_len++;
				i++;
				break;
			}
			if (c->line_len == 0)
				goto bad; /* no digits */
			/* chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ) */
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == ';')
				c->state = CH_EXT;
			else if (is_ows(ch))
				c->state = CH_EXT_BWS;
			else
				goto bad;
			goto size_line_byte;
		}
		case CH_EXT_BWS:
			/* whitespace after the size must lead to an extension */
			if (ch == ';')
				c->state = CH_EXT;
			else if (!is_ows(ch))
				goto bad;
			goto size_line_byte;
		case CH_EXT:
			/* the extensions' own syntax does not matter for framing: any non-control byte
			 * (quoted strings cannot hold CR or LF), up to CR */
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (!is_value_char(ch))
				goto bad;
			goto size_line_byte;
		case CH_SIZE_LF:
			if (ch != '\n')
				goto bad;
			i++;
			c->line_len = 0;
			c->state = c->remaining ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t n = len - i;
			if ((uint64_t)n > c->remaining)
				n = (size_t)c->remaining;
			c->remaining -= n;
			i += n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (ch != '\r')
				goto bad;
			i++;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				goto bad;
			i++;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
			if (ch == '\r') {
				c->state = CH_END_LF;
				i++;
				break;
			}
			c->state = CH_TRAILER_NAME;
			break; /* the same byte again as the first of a name */
		case CH_TRAILER_NAME:
			if (ch == ':' && c->line_len > 0)
				c->state = CH_TRAILER_VALUE;
			else if (!is_tchar(ch))
				goto bad; /* obs-fold, whitespace before ':', controls */
			c->line_len++;
			goto trailer_byte;
		case CH_TRAILER_VALUE:
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (!is_value_char(ch))
				goto bad;
			goto trailer_byte;
		case CH_TRAILER_LF:
			if (ch != '\n')
				goto bad;
			c->line_len = 0;
			c->state = CH_TRAILER;
			goto trailer_byte;
		case CH_END_LF:
			if (ch != '\n')
				goto bad;
			i++;
			c->state = CH_DONE;
			*done = true;
			return (ptrdiff_t)i;
		case CH_DONE:
			*done = true;
			return (ptrdiff_t)i;
		default:
			return -1;
		}
		continue;
	size_line_byte: /* the CR is counted too */
		if (++c->line_len > H1_MAX_CHUNK_LINE + 1)
			goto bad;
		i++;
		continue;
	trailer_byte:
		if (++c->trailer_len > H1_MAX_TRAILERS)
			goto bad;
		i++;
	}
	if (c->state == CH_DONE)
		*done = true;
	return (ptrdiff_t)i;
bad:
	c->state = CH_FAILED;
	return -1;
}
