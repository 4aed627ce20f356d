/* SPDX-License-Identifier: Apache-2.0
 * The gateway's access log: one JSON object per request, written with a single write(2) to a file
 * opened O_APPEND (so lines from several workers never interleave). Everything the client chose is
 * escaped: control bytes, quotes, backslashes and non-ASCII bytes become \u00XX. Uses gw_internal.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gw_internal.h"

#define LOG_FIELD_MAX 2048   /* longer client strings are cut */

struct line { char *p; size_t len, cap; bool failed; };

static void put(struct line *l, const char *s, size_t n)
{
	if (l->failed)
		return;
	if (l->len + n > l->cap) {
		size_t cap = l->cap * 2 > l->len + n ? l->cap * 2 : l->len + n + 256;
		char *p = realloc(l->p, cap);
		if (!p) {
			l->failed = true;
			return;
		}
		l->p = p;
		l->cap = cap;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s) { put(l, s, strlen(s)); }

static void put_json_string(struct line *l, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (n > LOG_FIELD_MAX)
		n = LOG_FIELD_MAX;
	put(l, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			continue;
		put(l, s + run, i - run);
		run = i + 1;
		if (ch == '"' || ch == '\\') {
			char esc[2] = {'\\', (char)ch};
			put(l, esc, 2);
		} else {
			char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
			put(l, esc, 6);
		}
	}
	put(l, s + run, n - run);
	put(l, "\"", 1);
}

static void put_ip(struct line *l, uint32_t ip)
{
	char b[16];
	int n = snprintf(b, sizeof b, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	put(l, b, (size_t)n);
}

void gw_log_write(int fd, const struct gw_log_entry *e)
{
	if (fd < 0)
		return;
	struct line l = {0};
	char b[96];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(b, sizeof b, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"client\":\"",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                 ts.tv_nsec / 1000000);
	put(&l, b, (size_t)n);
	put_ip(&l, e->client_ip);
	puts_(&l, "\",\"host\":");
	put_json_string(&l, e->host ? e->host : "", e->host ? e->host_len : 0);
	puts_(&l, ",\"method\":");
	put_json_string(&l, e->method ? e->method : "", e->method ? e->method_len : 0);
	puts_(&l, ",\"path\":");
	put_json_string(&l, e->path ? e->path : "", e->path ? e->path_len : 0);
	n = snprintf(b, sizeof b, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%llu,\"cluster\":",
	             e->status, (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out,
	             (unsigned long long)e->duration_ms);
	put(&l, b, (size_t)n);
	put_json_string(&l, e->cluster ? e->cluster : "", e->cluster ? strlen(e->cluster) : 0);
	puts_(&l, ",\"upstream\":");
	if (e->upstream_ip) {
		put(&l, "\"", 1);
		put_ip(&l, e->upstream_ip);
		n = snprintf(b, sizeof b, ":%u\"}\n", e->upstream_port);
		put(&l, b, (size_t)n);
	} else {
		puts_(&l, "null}\n");
	}
	if (!l.failed) {
		ssize_t w;
		do
			w = write(fd, l.p, l.len);
		while (w < 0 && errno == EINTR);
	}
	free(l.p);
}
