/* SPDX-License-Identifier: Apache-2.0
 * The JSON codec service (RFC 8259, strict): a pull reader that turns text into tokens without
 * recursion, and a writer with the escaping, UTF-8 checks and number formats kip's JSON uses. The
 * kip.json binding builds Lua values on top of it; C code (watch streams, the gateway) can use it
 * directly. Uses libc only and reports through kip/err.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kip/err.h"

/* The deepest nesting of arrays and objects either side accepts. */
#define KIP_JSON_MAX_DEPTH 512

/* What kip_json_next read. Errors are negative KIP_E* codes instead. */
enum kip_json_token {
	KIP_JSON_END = 0,      /* the text is complete (one value, then only whitespace) */
	KIP_JSON_NULL,
	KIP_JSON_FALSE,
	KIP_JSON_TRUE,
	KIP_JSON_INTEGER,      /* an integer that fits in int64_t: r->integer */
	KIP_JSON_FLOAT,        /* a fraction, an exponent, -0, or an integer beyond int64_t: r->number */
	KIP_JSON_STRING,       /* a string value: r->str, r->str_len */
	KIP_JSON_KEY,          /* an object member's name (its ':' is consumed): r->str, r->str_len */
	KIP_JSON_OBJECT,       /* '{' */
	KIP_JSON_OBJECT_END,   /* '}' */
	KIP_JSON_ARRAY,        /* '[' */
	KIP_JSON_ARRAY_END,    /* ']' */
};

struct kip_json_reader {
	/* The current token's value, valid until the next call. str is UTF-8 (checked), unescaped,
	 * not NUL-terminated, and points into the text or into the reader's scratch buffer. */
	const char *str;
	size_t str_len;
	int64_t integer;
	double number;
	int depth;                          /* containers open after the current token */
	char open[KIP_JSON_MAX_DEPTH];      /* '{' or '[': open[depth - 1] is the innermost one */
	/* private */
	const unsigned char *start, *p, *end;
	int state;
	char *scratch;
	size_t scratch_cap;
};

/** Starts reading text[0..len) (not copied: it must outlive the reader). Cannot fail. Sets every
 * field, so free a reader that was used before initialising it again. */
void kip_json_reader_init(struct kip_json_reader *r, const char *text, size_t len);

/** Reads the next token. Returns a kip_json_token (>= 0), or KIP_EINVAL with err->msg
 * "line L, column C: what" (columns count characters) or "byte N: invalid UTF-8" (N counts from
 * 0), or KIP_ENOMEM. After an error every further call fails the same way; after KIP_JSON_END every
 * further call returns KIP_JSON_END. Numbers that overflow a double are errors, not infinities. */
int kip_json_next(struct kip_json_reader *r, struct kip_err *err);

/** Frees the scratch buffer (escaped strings, long numbers). Safe on a zeroed reader. */
void kip_json_reader_free(struct kip_json_reader *r);

/* The writer: a growing buffer (buf is malloc'd and owned by the writer; it is not NUL-terminated). */
struct kip_json_writer {
	char *buf;
	size_t len, cap;
};

/** Makes room for `more` bytes. Returns 0 or KIP_ENOMEM (the buffer is unchanged then). */
int kip_json_writer_grow(struct kip_json_writer *w, size_t more);

/** Appends n raw bytes. Returns 0 or KIP_ENOMEM. */
static inline int kip_json_write(struct kip_json_writer *w, const char *s, size_t n)
{
	if (w->cap - w->len < n && kip_json_writer_grow(w, n) != 0)
		return KIP_ENOMEM;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	return 0;
}

/** Appends one byte. Returns 0 or KIP_ENOMEM. */
static inline int kip_json_write_char(struct kip_json_writer *w, char c)
{
	if (w->cap == w->len && kip_json_writer_grow(w, 1) != 0)
		return KIP_ENOMEM;
	w->buf[w->len++] = c;
	return 0;
}

/** Appends s as a quoted JSON string: '"', '\\' and control characters escaped (\n, \t, ...,
 * \u00XX), '/' and all other UTF-8 passed through. Returns 0, KIP_EINVAL when s is not valid UTF-8
 * (nothing is appended then), or KIP_ENOMEM. */
int kip_json_write_string(struct kip_json_writer *w, const char *s, size_t len);

/** Appends an integer. Returns 0 or KIP_ENOMEM. */
int kip_json_write_integer(struct kip_json_writer *w, int64_t v);

/** Formats a finite double into buf (at least KIP_JSON_NUMBER_MAX bytes, NUL-terminated) and
 * returns its length, or 0 for NaN and infinities. Whole numbers within +-2^53 have no fraction
 * ("3", "-0"); others get the fewest significant digits that read back exactly ("0.1", "1e+300",
 * "5e-324"), as printf's %g writes them. Independent of the C locale. */
#define KIP_JSON_NUMBER_MAX 32
size_t kip_json_format_number(char *buf, double x);

/** Appends a double as kip_json_format_number writes it. Returns 0, KIP_EINVAL for NaN and
 * infinities (nothing is appended), or KIP_ENOMEM. */
int kip_json_write_number(struct kip_json_writer *w, double x);

/** Frees the buffer; the writer is empty again. */
void kip_json_writer_free(struct kip_json_writer *w);
