/* SPDX-License-Identifier: Apache-2.0
 * Host header to cluster (gw_host_parse: APP-A-B-C-D.ZONE or A-B-C-D.ZONE, one label only) and
 * the public-IPv4 test (gw_ipv4_is_public) declared in host.h. Pure functions over caller
 * buffers; uses only libc. */
#include "gateway/host.h"

#include <string.h>

#define DNS_LABEL_MAX 63

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_alnum_lc(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); }

static int refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

/* A decimal octet: 1-3 digits, no leading zero, at most 255. */
static bool parse_octet(const char *s, size_t len, uint32_t *out)
{
	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return false;
	uint32_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > 255)
		return false;
	*out = v;
	return true;
}

int gw_host_parse(const char *host, size_t len, const char *zone, struct gw_host *out, const char **why)
{
	if (!host || len == 0)
		return refuse(why, "empty");
	if (host[0] == '[')
		return refuse(why, "IP literal");
	/* ":port", 1-5 digits */
	const char *colon = memchr(host, ':', len);
	if (colon) {
		size_t plen = len - (size_t)(colon - host) - 1;
		if (plen == 0 || plen > 5)
			return refuse(why, "bad character");
		for (size_t i = 1; i <= plen; i++)
			if (!is_digit((unsigned char)colon[i]))
				return refuse(why, "bad character");
		len = (size_t)(colon - host);
	}
	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0)
		return refuse(why, "empty");
	bool all_numeric = true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = lower((unsigned char)host[i]);
		if (!is_alnum_lc(c) && c != '-' && c != '.')
			return refuse(why, "bad character");
		if (!is_digit(c) && c != '.')
			all_numeric = false;
	}
	if (all_numeric)
		return refuse(why, "IP literal");

	/* the zone, case-insensitive, after a dot */
	size_t zlen = zone ? strlen(zone) : 0;
	if (zlen > 0 && zone[zlen - 1] == '.')
		zlen--; /* a zone written fully qualified */
	if (zlen == 0 || len < zlen)
		return refuse(why, "other zone");
	for (size_t i = 0; i < zlen; i++)
		if (lower((unsigned char)host[len - zlen + i]) != lower((unsigned char)zone[i]))
			return refuse(why, "other zone");
	if (len == zlen)
		return refuse(why, "not a cluster name"); /* the zone itself */
	if (host[len - zlen - 1] != '.')
		return refuse(why, "other zone"); /* e.g. evilkipper.run */
	size_t llen = len - zlen - 1;
	if (llen == 0)
		return refuse(why, "not a cluster name");
	if (memchr(host, '.', llen))
		return refuse(why, "extra labels");
	if (llen > DNS_LABEL_MAX)
		return refuse(why, "not a cluster name");

	/* the last four dash-separated fields are the octets */
	size_t end = llen;
	uint32_t ip = 0;
	for (int k = 0; k < 4; k++) {
		size_t s = end;
		while (s > 0 && host[s - 1] != '-')
			s--;
		uint32_t octet;
		if (!parse_octet(host + s, end - s, &octet))
			return refuse(why, "not a cluster name");
		ip |= octet << (8 * k);
		if (k < 3) {
			if (s == 0)
				return refuse(why, "not a cluster name");
			end = s - 1; /* before the dash */
		} else {
			end = s; /* where the cluster starts */
		}
	}
	size_t cstart = end;
	size_t app_len = 0;
	if (cstart > 0) {
		/* APP '-' cluster: APP is a DNS label, alphanumeric at both ends */
		app_len = cstart - 1;
		if (app_len == 0)
			return refuse(why, "not a cluster name");
		if (!is_alnum_lc(lower((unsigned char)host[0])) ||
		    !is_alnum_lc(lower((unsigned char)host[app_len - 1])))
			return refuse(why, "not a cluster name");
	}
	size_t clen = llen - cstart;
	if (clen >= sizeof out->cluster)
		return refuse(why, "not a cluster name"); /* cannot happen: 4 octets are <= 15 chars */
	memcpy(out->cluster, host + cstart, clen);
	out->cluster[clen] = '\0';
	out->ipv4 = ip;
	for (size_t i = 0; i < app_len; i++)
		out->app[i] = (char)lower((unsigned char)host[i]);
	out->app[app_len] = '\0';
	out->app_len = app_len;
	return 0;
}

bool gw_ipv4_is_public(uint32_t a)
{
	static const struct { uint32_t net, mask; } private_ranges[] = {
		{ 0x00000000u, 0xff000000u }, /* 0/8: this network */
		{ 0x0a000000u, 0xff000000u }, /* 10/8 */
		{ 0x64400000u, 0xffc00000u }, /* 100.64/10: CGNAT */
		{ 0x7f000000u, 0xff000000u }, /* 127/8: loopback */
		{ 0xa9fe0000u, 0xffff0000u }, /* 169.254/16: link-local, cloud metadata */
		{ 0xac100000u, 0xfff00000u }, /* 172.16/12 */
		{ 0xc0000000u, 0xffffff00u }, /* 192.0.0/24: IETF protocol assignments */
		{ 0xc0a80000u, 0xffff0000u }, /* 192.168/16 */
		{ 0xc6120000u, 0xfffe0000u }, /* 198.18/15: benchmarking */
		{ 0xe0000000u, 0xf0000000u }, /* 224/4: multicast */
		{ 0xf0000000u, 0xf0000000u }, /* 240/4: reserved, broadcast */
	};
	for (size_t i = 0; i < sizeof private_ranges / sizeof private_ranges[0]; i++)
		if ((a & private_ranges[i].mask) == private_ranges[i].net)
			return false;
	return true;
}
