/* SPDX-License-Identifier: Apache-2.0
 * Host header to cluster for the gateway (APP-A-B-C-D.ZONE / A-B-C-D.ZONE) and the public-IPv4
 * test shared by the proxy and the registration API. Pure functions. */
#ifndef KIP_GATEWAY_HOST_H
#define KIP_GATEWAY_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_host {
	char cluster[16];          /* "203-0-113-10", NUL-terminated */
	uint32_t ipv4;             /* host byte order: 203<<24 | 0<<16 | 113<<8 | 10 */
	char app[64]; size_t app_len;   /* "" for the cluster name itself, lower-cased */
};
/* host: the Host header value (case-insensitive, optional ":port" (1-5 digits) and one trailing dot
 * allowed); zone: "kipper.run". Accepts exactly one label before ".zone": A-B-C-D or APP-A-B-C-D
 * (the last four dash-separated fields are the IPv4 octets: decimal 0-255, no leading zeros; APP is
 * the rest, a DNS label: [a-z0-9-], starts and ends alphanumeric, whole label <= 63 chars).
 * Returns 0, or -1 with *why (when why is not NULL) set to a static reason ("other zone", "extra
 * labels", "bad character", "not a cluster name", "IP literal", "empty"); *out is written only on
 * success. Checked in this order: empty, "[" (IP literal), the port, characters outside
 * [A-Za-z0-9.-] (bad character), digits and dots only (IP literal), the zone (a trailing dot on
 * zone is ignored; the zone itself is not a cluster name), one label, the label's shape. */
int gw_host_parse(const char *host, size_t len, const char *zone, struct gw_host *out, const char **why);
/* Whether addr (host byte order) is a public unicast address: false for 0/8, 10/8, 100.64/10
 * (CGNAT), 127/8, 169.254/16 (link-local, cloud metadata), 172.16/12, 192.0.0/24,
 * 192.168/16, 198.18/15, 224/4, 240/4. Documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24) ARE treated as
 * public so the examples work in tests. */
bool gw_ipv4_is_public(uint32_t addr);

#endif
