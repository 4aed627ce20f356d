/* SPDX-License-Identifier: Apache-2.0
 * The JSON codec declared in kip/json.h: a pull reader (an explicit state machine, one token per
 * call, no recursion) and the writer primitives (string escaping with UTF-8 checks, integers,
 * shortest round-tripping doubles). Uses libc (strtod, snprintf, localeconv) and kip/err.h. */
#include "kip/json.h"

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum reader_state {
	ST_VALUE,        /* a value must come next */
	ST_FIRST_ELEM,   /* after '[': a value or ']' */
	ST_FIRST_KEY,    /* after '{': a key or '}' */
	ST_KEY,          /* after ',' in an object: a key */
	ST_AFTER,        /* after a value: ',', the closing bracket, or the end of the text */
	ST_DONE,
	ST_FAILED,
};

/* Bytes a string may hold as they are: printable ASCII but '"' and '\\'. */
static const unsigned char plain_byte[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1,
};

static const unsigned char space_byte[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};

/* The length of the valid UTF-8 sequence of two or more bytes at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 when there is none. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
	size_t avail = (size_t)(end - p);
	unsigned c = p[0];
	if (c >= 0xC2 && c <= 0xDF)
		return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
			return 0;
		return 4;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Reader
 */

void kip_json_reader_init(struct kip_json_reader *r, const char *text, size_t len)
{
	memset(r, 0, sizeof *r);
	r->start = r->p = (const unsigned char *)text;
	r->end = r->start + len;
	r->state = ST_VALUE;
}

void kip_json_reader_free(struct kip_json_reader *r)
{
	free(r->scratch);
	r->scratch = NULL;
	r->scratch_cap = 0;
}

/* Fails at `at` with "line L, column C: what". */
static int fail_at(struct kip_json_reader *r, const unsigned char *at, struct kip_err *err, const char *what)
{
	size_t line = 1, column = 1;
	for (const unsigned char *q = r->start; q < at; q++) {
		if (*q == '\n')
			line++, column = 1;
		else if ((*q & 0xC0) != 0x80)
			column++;
	}
	r->state = ST_FAILED;
	return kip_err_set(err, KIP_EINVAL, "line %zu, column %zu: %s", line, column, what);
}

static int fail_utf8(struct kip_json_reader *r, const unsigned char *at, struct kip_err *err)
{
	r->state = ST_FAILED;
	return kip_err_set(err, KIP_EINVAL, "byte %zu: invalid UTF-8", (size_t)(at - r->start));
}

static int fail_nomem(struct kip_json_reader *r, struct kip_err *err)
{
	r->state = ST_FAILED;
	return kip_err_set(err, KIP_ENOMEM, "out of memory");
}

/* "unexpected character 'x' (context)": the byte at `at`, or the end of the text. */
static int fail_unexpected(struct kip_json_reader *r, const unsigned char *at, struct kip_err *err,
                           const char *context)
{
	char what[128];
	if (at >= r->end)
		snprintf(what, sizeof what, "unexpected end of text (%s)", context);
	else if (*at >= 0x21 && *at < 0x7f)
		snprintf(what, sizeof what, "unexpected character '%c' (%s)", *at, context);
	else
		snprintf(what, sizeof what, "unexpected byte 0x%02X (%s)", *at, context);
	return fail_at(r, at, err, what);
}

/* Makes the scratch buffer hold at least `need` bytes. */
static int scratch_reserve(struct kip_json_reader *r, size_t need)
{
	if (need <= r->scratch_cap)
		return 0;
	size_t cap = r->scratch_cap ? r->scratch_cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return KIP_ENOMEM;
		cap *= 2;
	}
	char *grown = realloc(r->scratch, cap);
	if (!grown)
		return KIP_ENOMEM;
	r->scratch = grown;
	r->scratch_cap = cap;
	return 0;
}

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the escape at p (p[0] == '\\') into r->scratch at *used; returns its length in the text,
 * or 0 after failing. The text after the escape is not looked at. */
static size_t read_escape(struct kip_json_reader *r, const unsigned char *p, size_t *used, struct kip_err *err)
{
	const unsigned char *end = r->end;
	if (end - p < 2) {
		fail_unexpected(r, end, err, "in an escape");
		return 0;
	}
	char c;
	switch (p[1]) {
	case '"': c = '"'; break;
	case '\\': c = '\\'; break;
	case '/': c = '/'; break;
	case 'b': c = '\b'; break;
	case 'f': c = '\f'; break;
	case 'n': c = '\n'; break;
	case 'r': c = '\r'; break;
	case 't': c = '\t'; break;
	case 'u': {
		unsigned cp, low;
		if (end - p < 6 || hex4(p + 2, &cp) != 0) {
			fail_at(r, p, err, "invalid \\u escape (four hex digits must follow)");
			return 0;
		}
		size_t len = 6;
		if (cp >= 0xDC00 && cp <= 0xDFFF) {
			fail_at(r, p, err, "invalid \\u escape: a low surrogate without a high one before it");
			return 0;
		}
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &low) != 0 ||
			    low < 0xDC00 || low > 0xDFFF) {
				fail_at(r, p, err, "invalid \\u escape: a high surrogate without a low one after it");
				return 0;
			}
			cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
			len = 12;
		}
		*used += put_utf8(r->scratch + *used, cp);
		return len;
	}
	default:
		fail_at(r, p, err, "invalid escape (use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)");
		return 0;
	}
	r->scratch[(*used)++] = c;
	return 2;
}

/* Reads the string whose opening quote is at r->p into r->str/r->str_len and moves past it.
 * Strings without escapes point into the text; others are unescaped into the scratch buffer. */
static int read_string(struct kip_json_reader *r, struct kip_err *err)
{
	const unsigned char *p = r->p + 1, *end = r->end;
	const unsigned char *s = p;
	for (;;) {
		while (p < end && plain_byte[*p])
			p++;
		if (p >= end)
			return fail_unexpected(r, p, err, "in a string");
		if (*p == '"') {
			r->str = (const char *)s;
			r->str_len = (size_t)(p - s);
			r->p = p + 1;
			return 0;
		}
		if (*p == '\\')
			break;
		if (*p < 0x20)
			return fail_at(r, p, err, "control character in a string (write it as an escape)");
		size_t n = utf8_sequence(p, end);
		if (!n)
			return fail_utf8(r, p, err);
		p += n;
	}
	/* Escapes: the text so far and each run after an escape are copied into the scratch buffer,
	 * which always keeps room for the next escape (at most 4 bytes of UTF-8). */
	size_t used = (size_t)(p - s);
	if (scratch_reserve(r, used + 64) != 0)
		return fail_nomem(r, err);
	memcpy(r->scratch, s, used);
	for (;;) {
		if (*p == '\\') {
			size_t n = read_escape(r, p, &used, err);
			if (!n)
				return KIP_EINVAL;
			p += n;
		}
		const unsigned char *run = p;
		for (;;) {
			while (p < end && plain_byte[*p])
				p++;
			if (p >= end || *p < 0x80)
				break;
			size_t n = utf8_sequence(p, end);
			if (!n)
				return fail_utf8(r, p, err);
			p += n;
		}
		size_t n = (size_t)(p - run);
		if (scratch_reserve(r, used + n + 8) != 0)
			return fail_nomem(r, err);
		memcpy(r->scratch + used, run, n);
		used += n;
		if (p >= end)
			return fail_unexpected(r, p, err, "in a string");
		if (*p == '"')
			break;
		if (*p < 0x20)
			return fail_at(r, p, err, "control character in a string (write it as an escape)");
	}
	r->str = r->scratch;
	r->str_len = used;
	r->p = p + 1;
	return 0;
}

/* 10^0 .. 10^22, every one exact as a double */
static const double exact_powers[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* strtod on the text of a number, whatever the C locale's decimal point is. */
static int slow_number(struct kip_json_reader *r, const unsigned char *s, size_t len, double *out)
{
	const char *point = localeconv()->decimal_point;
	size_t plen = strlen(point);
	char local[128];
	char *buf = local;
	if (len + plen + 1 > sizeof local) {
		if (scratch_reserve(r, len + plen + 1) != 0)
			return KIP_ENOMEM;
		buf = r->scratch;
	}
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			memcpy(buf + n, point, plen);
			n += plen;
		} else {
			buf[n++] = (char)s[i];
		}
	}
	buf[n] = '\0';
	*out = strtod(buf, NULL);
	return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? at r->p. Integers within int64_t are exact;
 * everything else is the nearest double (Clinger's fast path when it is exact, else strtod). */
static int read_number(struct kip_json_reader *r, struct kip_err *err)
{
	const unsigned char *start = r->p, *p = start, *end = r->end;
	bool negative = p < end && *p == '-';
	if (negative)
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return fail_at(r, start, err, "invalid number (a digit must follow '-')");
	uint64_t mantissa = 0;
	int digits = 0;          /* significant digits in mantissa */
	bool dropped = false;    /* significant digits that did not fit */
	int64_t exp10 = 0;      /* value = mantissa * 10^exp10 (when nothing was dropped) */
	bool integer = true;
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return fail_at(r, start, err, "invalid number (no leading zeros)");
	} else {
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (digits < 19)
				mantissa = mantissa * 10 + (uint64_t)(*p - '0'), digits++;
			else
				dropped = true, exp10++;
		}
	}
	if (p < end && *p == '.') {
		integer = false;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail_at(r, start, err, "invalid number (a digit must follow '.')");
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (digits < 19) {
				mantissa = mantissa * 10 + (uint64_t)(*p - '0');
				exp10--;
				if (mantissa)
					digits++;
			} else if (*p != '0') {
				dropped = true;
			}
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		integer = false;
		p++;
		bool negative_exp = p < end && *p == '-';
		if (p < end && (*p == '-' || *p == '+'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return fail_at(r, start, err, "invalid number (a digit must follow the exponent)");
		int64_t e = 0;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (e < 1000000)
				e = e * 10 + (*p - '0');
		exp10 += negative_exp ? -e : e;
	}
	r->p = p;
	if (integer && !dropped && !(negative && mantissa == 0)) {
		if (!negative && mantissa <= (uint64_t)INT64_MAX) {
			r->integer = (int64_t)mantissa;
			return KIP_JSON_INTEGER;
		}
		if (negative && mantissa <= (uint64_t)INT64_MAX + 1) {
			r->integer = mantissa == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mantissa;
			return KIP_JSON_INTEGER;
		}
	}
	double x;
	if (mantissa == 0 && !dropped) {
		x = 0.0;
	} else if (!dropped && mantissa <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
		x = (double)mantissa;
		x = exp10 < 0 ? x / exact_powers[-exp10] : x * exact_powers[exp10];
	} else {
		if (slow_number(r, negative ? start + 1 : start, (size_t)(p - start) - negative, &x) != 0)
			return fail_nomem(r, err);
		if (isinf(x))
			return fail_at(r, start, err, "number out of range (it would be infinite)");
	}
	r->number = negative ? -x : x;
	return KIP_JSON_FLOAT;
}

static const unsigned char *skip_space(const unsigned char *p, const unsigned char *end)
{
	while (p < end && space_byte[*p])
		p++;
	return p;
}

static int read_literal(struct kip_json_reader *r, const char *word, size_t len, int token, struct kip_err *err)
{
	if ((size_t)(r->end - r->p) < len || memcmp(r->p, word, len) != 0)
		return fail_at(r, r->p, err, "invalid literal (expected true, false or null)");
	r->p += len;
	r->state = ST_AFTER;
	return token;
}

int kip_json_next(struct kip_json_reader *r, struct kip_err *err)
{
	const unsigned char *p, *end = r->end;
	int rc;
	switch (r->state) {
	case ST_AFTER:
		p = skip_space(r->p, end);
		if (r->depth == 0) {
			if (p != end)
				return fail_at(r, p, err, "unexpected text after the JSON value");
			r->p = p;
			r->state = ST_DONE;
			return KIP_JSON_END;
		}
		if (r->open[r->depth - 1] == '{') {
			if (p < end && *p == ',') {
				r->p = p + 1;
				goto key;
			}
			if (p < end && *p == '}')
				goto close_object;
			return fail_unexpected(r, p, err, "expected ',' or '}' after an object member");
		}
		if (p < end && *p == ',') {
			r->p = p + 1;
			goto value;
		}
		if (p < end && *p == ']')
			goto close_array;
		return fail_unexpected(r, p, err, "expected ',' or ']' after an array element");

	case ST_FIRST_KEY:
		p = skip_space(r->p, end);
		if (p < end && *p == '}')
			goto close_object;
		/* fallthrough */
	case ST_KEY:
	key:
		p = skip_space(r->p, end);
		if (p >= end || *p != '"')
			return fail_unexpected(r, p, err, r->state == ST_FIRST_KEY ? "expected a string key or '}'"
			                                                            : "expected a string key");
		r->p = p;
		if ((rc = read_string(r, err)) != 0)
			return rc;
		p = skip_space(r->p, end);
		if (p >= end || *p != ':')
			return fail_unexpected(r, p, err, "expected ':' after an object key");
		r->p = p + 1;
		r->state = ST_VALUE;
		return KIP_JSON_KEY;

	case ST_FIRST_ELEM:
		p = skip_space(r->p, end);
		if (p < end && *p == ']')
			goto close_array;
		/* fallthrough */
	case ST_VALUE:
	value:
		p = r->p = skip_space(r->p, end);
		if (p >= end)
			return fail_unexpected(r, p, err, "expected a value");
		switch (*p) {
		case '{':
		case '[':
			if (r->depth >= KIP_JSON_MAX_DEPTH)
				return fail_at(r, p, err, "nesting deeper than 512 levels");
			r->open[r->depth++] = (char)*p;
			r->p = p + 1;
			r->state = *p == '{' ? ST_FIRST_KEY : ST_FIRST_ELEM;
			return *p == '{' ? KIP_JSON_OBJECT : KIP_JSON_ARRAY;
		case '"':
			if ((rc = read_string(r, err)) != 0)
				return rc;
			r->state = ST_AFTER;
			return KIP_JSON_STRING;
		case 't': return read_literal(r, "true", 4, KIP_JSON_TRUE, err);
		case 'f': return read_literal(r, "false", 5, KIP_JSON_FALSE, err);
		case 'n': return read_literal(r, "null", 4, KIP_JSON_NULL, err);
		default:
			if (*p == '-' || (*p >= '0' && *p <= '9')) {
				rc = read_number(r, err);
				if (rc >= 0)
					r->state = ST_AFTER;
				return rc;
			}
			return fail_unexpected(r, p, err, "expected a value");
		}

	case ST_DONE:
		return KIP_JSON_END;
	default:
		return kip_err_set(err, KIP_EINVAL, "the JSON text was already found invalid");
	}

close_object:
	r->depth--;
	r->p = p + 1;
	r->state = ST_AFTER;
	return KIP_JSON_OBJECT_END;
close_array:
	r->depth--;
	r->p = p + 1;
	r->state = ST_AFTER;
	return KIP_JSON_ARRAY_END;
}

/* ---------------------------------------------------------------------------------------------
 * Writer
 */

int kip_json_writer_grow(struct kip_json_writer *w, size_t more)
{
	if (more > SIZE_MAX - w->len)
		return KIP_ENOMEM;
	size_t need = w->len + more;
	if (need <= w->cap)
		return 0;
	size_t cap = w->cap ? w->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return KIP_ENOMEM;
		cap *= 2;
	}
	char *grown = realloc(w->buf, cap);
	if (!grown)
		return KIP_ENOMEM;
	w->buf = grown;
	w->cap = cap;
	return 0;
}

void kip_json_writer_free(struct kip_json_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* 0: as it is; 1: escaped; 2: the start of a multi-byte UTF-8 sequence (or an invalid byte) */
static const unsigned char escape_class[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 2,
};

int kip_json_write_string(struct kip_json_writer *w, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t mark = w->len;
	/* the common case, a short string with nothing to escape, fits in one reservation */
	if (w->cap - w->len < len + 2 && kip_json_writer_grow(w, len + 2) != 0)
		return KIP_ENOMEM;
	w->buf[w->len++] = '"';
	while (p < end) {
		const unsigned char *run = p;
		for (;;) {
			while (p < end && !escape_class[*p])
				p++;
			if (p >= end || escape_class[*p] != 2)
				break;
			size_t n = utf8_sequence(p, end);
			if (!n) {
				w->len = mark;
				return KIP_EINVAL;
			}
			p += n;
		}
		if (kip_json_write(w, (const char *)run, (size_t)(p - run)) != 0)
			goto nomem;
		if (p >= end)
			break;
		char esc[8] = {'\\', 0};
		size_t n = 2;
		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default: {
			static const char hex[] = "0123456789abcdef";
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xF];
			n = 6;
		}
		}
		if (kip_json_write(w, esc, n) != 0)
			goto nomem;
		p++;
	}
	if (kip_json_write_char(w, '"') == 0)
		return 0;
nomem:
	w->len = mark;
	return KIP_ENOMEM;
}

/* Writes v's digits to the end of buf[24]; returns where they start. */
static char *format_integer(char *buf, int64_t v)
{
	char *q = buf + 24;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--q = '-';
	return q;
}

int kip_json_write_integer(struct kip_json_writer *w, int64_t v)
{
	char buf[24];
	char *q = format_integer(buf, v);
	return kip_json_write(w, q, (size_t)(buf + sizeof buf - q));
}

/* snprintf's "%.*g" with '.' whatever the C locale's decimal point is. */
static size_t format_g(char *buf, int precision, double x)
{
	int n = snprintf(buf, KIP_JSON_NUMBER_MAX, "%.*g", precision, x);
	const char *point = localeconv()->decimal_point;
	if (point[0] == '.' && point[1] == '\0')
		return (size_t)n;
	size_t plen = strlen(point);
	char *at = strstr(buf, point);
	if (at) {
		*at = '.';
		memmove(at + 1, at + plen, strlen(at + plen) + 1);
		n -= (int)plen - 1;
	}
	return (size_t)n;
}

/* strtod of a number format_g wrote, whatever the C locale's decimal point is. */
static double read_back(const char *buf, size_t len)
{
	const char *point = localeconv()->decimal_point;
	if (point[0] == '.' && point[1] == '\0')
		return strtod(buf, NULL);
	char local[KIP_JSON_NUMBER_MAX + 8];
	size_t plen = strlen(point), n = 0;
	for (size_t i = 0; i < len && n + plen < sizeof local; i++) {
		if (buf[i] == '.') {
			memcpy(local + n, point, plen);
			n += plen;
		} else {
			local[n++] = buf[i];
		}
	}
	local[n] = '\0';
	return strtod(local, NULL);
}

size_t kip_json_format_number(char *buf, double x)
{
	if (!isfinite(x))
		return 0;
	if (x == floor(x) && fabs(x) <= 9007199254740992.0) {
		int64_t i = (int64_t)x;
		if (i == 0 && signbit(x)) {
			memcpy(buf, "-0", 3);
			return 2;
		}
		char digits[24];
		char *q = format_integer(digits, i);
		size_t n = (size_t)(digits + sizeof digits - q); /* at most 17 */
		memcpy(buf, q, n);
		buf[n] = '\0';
		return n;
	}
	/* 15 digits always read back the same for normal doubles, so %.15g is the shortest form when
	 * one of 15 digits or fewer exists; subnormals have fewer digits of precision: try from 1. */
	size_t n = 0;
	for (int precision = isnormal(x) ? 15 : 1; precision <= 17; precision++) {
		n = format_g(buf, precision, x);
		if (read_back(buf, n) == x)
			break;
	}
	return n;
}

int kip_json_write_number(struct kip_json_writer *w, double x)
{
	char buf[KIP_JSON_NUMBER_MAX];
	size_t n = kip_json_format_number(buf, x);
	if (!n)
		return KIP_EINVAL;
	return kip_json_write(w, buf, n);
}
