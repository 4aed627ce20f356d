/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for the gateway's Host parser (gateway/host.h). Every input is parsed as a Host
 * value in the zone kipper.run (from an exact-size copy, so ASan sees a read past its length).
 * Checks: a refusal names a reason; an accepted name has a cluster equal to its IPv4 written
 * dashed, a lower-case app that is a DNS label, and the canonical name built from them parses back
 * to the same result. gw_ipv4_is_public runs on the address too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/host.h"

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	if (size)
		memcpy(buf, data, size);
	struct gw_host h;
	const char *why = NULL;
	int r = gw_host_parse(buf, size, "kipper.run", &h, &why);
	free(buf);
	if (r != 0) {
		if (r != -1 || !why)
			FAIL("refusal %d without a reason", r);
		return 0;
	}
	char dashed[16];
	snprintf(dashed, sizeof dashed, "%u-%u-%u-%u", (unsigned)(h.ipv4 >> 24), (unsigned)(h.ipv4 >> 16 & 255),
		 (unsigned)(h.ipv4 >> 8 & 255), (unsigned)(h.ipv4 & 255));
	if (strcmp(dashed, h.cluster) != 0)
		FAIL("cluster %s for %s", h.cluster, dashed);
	if (h.app_len != strlen(h.app) || h.app_len > 63)
		FAIL("app_len %zu", h.app_len);
	for (size_t i = 0; i < h.app_len; i++) {
		char c = h.app[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			FAIL("app character %d", c);
	}
	if (h.app_len && (h.app[0] == '-' || h.app[h.app_len - 1] == '-'))
		FAIL("app %s", h.app);
	char canon[128];
	int n = snprintf(canon, sizeof canon, "%s%s%s.kipper.run", h.app, h.app_len ? "-" : "", h.cluster);
	struct gw_host again;
	if (n < 0 || gw_host_parse(canon, (size_t)n, "kipper.run", &again, &why) != 0 ||
	    strcmp(again.cluster, h.cluster) != 0 || strcmp(again.app, h.app) != 0 || again.ipv4 != h.ipv4)
		FAIL("canonical %s does not parse back", canon);
	(void)gw_ipv4_is_public(h.ipv4);
	return 0;
}
