/* SPDX-License-Identifier: Apache-2.0
 * C tests of the gateway's Host parser and public-IPv4 test (gateway/host.h): cluster and app
 * names accepted with ports, trailing dots and any case; every refusal with its reason; the
 * private, special and documentation ranges at their edges. (test_host.c tests the Lua host.)
 * Uses check.h. */
#include "check.h"
#include "gateway/host.h"

#define ZONE "kipper.run"

static struct gw_host h;
static const char *why;

static int parse(const char *s)
{
	why = NULL;
	memset(&h, 0x5a, sizeof h);
	return gw_host_parse(s, strlen(s), ZONE, &h, &why);
}

static uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24 | b << 16 | c << 8 | d; }

static void test_cluster_name(void)
{
	CHECK(parse("203-0-113-10.kipper.run") == 0);
	CHECK_STR(h.cluster, "203-0-113-10");
	CHECK(h.ipv4 == ip(203, 0, 113, 10));
	CHECK_STR(h.app, "");
	CHECK(h.app_len == 0);
	CHECK(why == NULL);
	CHECK(parse("255-255-255-255.kipper.run") == 0);
	CHECK(h.ipv4 == 0xffffffffu);
	CHECK(parse("0-0-0-0.kipper.run") == 0);
	CHECK(h.ipv4 == 0);
	CHECK_STR(h.cluster, "0-0-0-0");
}

static void test_app_name(void)
{
	CHECK(parse("hello-203-0-113-10.kipper.run") == 0);
	CHECK_STR(h.cluster, "203-0-113-10");
	CHECK_STR(h.app, "hello");
	CHECK(h.app_len == 5);
	CHECK(parse("My-App-2-1-2-3-4.Kipper.RUN") == 0);
	CHECK_STR(h.app, "my-app-2");
	CHECK_STR(h.cluster, "1-2-3-4");
	CHECK(h.ipv4 == ip(1, 2, 3, 4));
	CHECK(parse("xn--caf-dma-198-51-100-7.kipper.run") == 0);
	CHECK_STR(h.app, "xn--caf-dma");
	CHECK(parse("9-1-2-3-4.kipper.run") == 0);
	CHECK_STR(h.app, "9");
	/* the whole label may be 63 characters */
	char name[128];
	memset(name, 'a', 63);
	memcpy(name + 63 - strlen("-203-0-113-10"), "-203-0-113-10.kipper.run", strlen("-203-0-113-10.kipper.run") + 1);
	CHECK(parse(name) == 0);
	CHECK(h.app_len == 63 - strlen("-203-0-113-10"));
	memset(name, 'a', 64);
	memcpy(name + 64 - strlen("-203-0-113-10"), "-203-0-113-10.kipper.run", strlen("-203-0-113-10.kipper.run") + 1);
	CHECK(parse(name) == -1);
	CHECK_STR(why, "not a cluster name");
}

static void test_port_and_trailing_dot(void)
{
	CHECK(parse("203-0-113-10.kipper.run:443") == 0);
	CHECK_STR(h.cluster, "203-0-113-10");
	CHECK(parse("a-203-0-113-10.kipper.run.") == 0);
	CHECK_STR(h.app, "a");
	CHECK(parse("a-203-0-113-10.kipper.run.:8") == 0);
	CHECK(parse("a-203-0-113-10.kipper.run:65535") == 0);
	CHECK(parse("a-203-0-113-10.kipper.run:123456") == -1);
	CHECK_STR(why, "bad character");
	CHECK(parse("a-203-0-113-10.kipper.run:") == -1);
	CHECK_STR(why, "bad character");
	CHECK(parse("a-203-0-113-10.kipper.run:8x") == -1);
	CHECK(parse("a-203-0-113-10.kipper.run:80:80") == -1);
	CHECK(parse("a-203-0-113-10.kipper.run..") == -1);
	CHECK_STR(why, "other zone");
	/* the length is what counts, not a NUL */
	CHECK(gw_host_parse("1-2-3-4.kipper.runXYZ", strlen("1-2-3-4.kipper.run"), ZONE, &h, &why) == 0);
	CHECK_STR(h.cluster, "1-2-3-4");
}

struct refusal { const char *host; const char *why; };

static const struct refusal refusals[] = {
	{ "", "empty" },
	{ ".", "empty" },
	{ ":443", "empty" },
	{ "203-0-113-10.example.com", "other zone" },
	{ "203-0-113-10.evilkipper.run", "other zone" },
	{ "203-0-113-10kipper.run", "other zone" },
	{ "kipper.run.evil.com", "other zone" },
	{ "localhost", "other zone" },
	{ "run", "other zone" },
	{ "kipper.run", "not a cluster name" },
	{ ".kipper.run", "not a cluster name" },
	{ "a.203-0-113-10.kipper.run", "extra labels" },
	{ "203-0-113-10.a.kipper.run", "extra labels" },
	{ "a..kipper.run", "extra labels" },
	{ "a_b-203-0-113-10.kipper.run", "bad character" },
	{ "a b-203-0-113-10.kipper.run", "bad character" },
	{ "caf\xc3\xa9-203-0-113-10.kipper.run", "bad character" },
	{ "203-0-113-10.kipper.run/", "bad character" },
	{ "user@203-0-113-10.kipper.run", "bad character" },
	{ "[::1]", "IP literal" },
	{ "[::1]:443", "IP literal" },
	{ "203.0.113.10", "IP literal" },
	{ "203.0.113.10:80", "IP literal" },
	{ "2130706433", "IP literal" },
	{ "www.kipper.run", "not a cluster name" },
	{ "hello.kipper.run", "not a cluster name" },
	{ "0-113-10.kipper.run", "not a cluster name" },
	{ "203-0-113-256.kipper.run", "not a cluster name" },
	{ "203-0-113-010.kipper.run", "not a cluster name" },
	{ "203-00-113-10.kipper.run", "not a cluster name" },
	{ "203-0-113-1000.kipper.run", "not a cluster name" },
	{ "203-0-113-.kipper.run", "not a cluster name" },
	{ "203-0--113-10.kipper.run", "not a cluster name" },
	{ "-203-0-113-10.kipper.run", "not a cluster name" },
	{ "--203-0-113-10.kipper.run", "not a cluster name" },
	{ "a--203-0-113-10.kipper.run", "not a cluster name" },
	{ "-a-203-0-113-10.kipper.run", "not a cluster name" },
	{ "203-0-113-10-.kipper.run", "not a cluster name" },
	{ "203-0-113-1a.kipper.run", "not a cluster name" },
};

static void test_refusals(void)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const struct refusal *r = &refusals[i];
		why = NULL;
		int rc = gw_host_parse(r->host, strlen(r->host), ZONE, &h, &why);
		if (rc != -1 || !why || strcmp(why, r->why) != 0) {
			fprintf(stderr, "  %s: rc %d, why %s, expected %s\n", r->host, rc, why ? why : "(null)", r->why);
			CHECK(rc == -1);
			CHECK_STR(why, r->why);
		}
	}
	CHECK(gw_host_parse(NULL, 0, ZONE, &h, &why) == -1);
	CHECK_STR(why, "empty");
	CHECK(gw_host_parse("1-2-3-4.kipper.run", 18, "", &h, &why) == -1);
	CHECK_STR(why, "other zone");
	CHECK(gw_host_parse("1-2-3-4.kipper.run", 18, ZONE, &h, NULL) == 0);
	CHECK(gw_host_parse("x", 1, ZONE, &h, NULL) == -1);
}

static void test_other_zone_configured(void)
{
	CHECK(gw_host_parse("a-10-0-0-1.gw.example.org", 25, "gw.example.org", &h, &why) == 0);
	CHECK_STR(h.cluster, "10-0-0-1");
	CHECK(gw_host_parse("a-10-0-0-1.GW.example.org", 25, "gw.EXAMPLE.org", &h, &why) == 0);
	CHECK(gw_host_parse("a-10-0-0-1.gw.example.org", 25, "gw.example.org.", &h, &why) == 0);
	CHECK(gw_host_parse("a-10-0-0-1.gw.example.org.", 26, "gw.example.org.", &h, &why) == 0);
	CHECK(gw_host_parse("a-10-0-0-1.gw.example.org", 25, ".", &h, &why) == -1);
}

static void test_ipv4_is_public(void)
{
	static const struct { uint32_t addr; bool pub; } cases[] = {
		{ 0x00000000u, false }, { 0x00ffffffu, false }, { 0x01000000u, true },
		{ 0x09ffffffu, true }, { 0x0a000000u, false }, { 0x0affffffu, false }, { 0x0b000000u, true },
		{ 0x643fffffu, true }, { 0x64400000u, false }, { 0x647fffffu, false }, { 0x64800000u, true },
		{ 0x7effffffu, true }, { 0x7f000001u, false }, { 0x7fffffffu, false }, { 0x80000000u, true },
		{ 0xa9fdffffu, true }, { 0xa9fea9feu, false }, { 0xa9ff0000u, true },
		{ 0xac0fffffu, true }, { 0xac100000u, false }, { 0xac1fffffu, false }, { 0xac200000u, true },
		{ 0xc0000000u, false }, { 0xc00000ffu, false }, { 0xc0000100u, true },
		{ 0xc0000200u, true },  /* 192.0.2/24: documentation, public on purpose */
		{ 0xc633640au, true },  /* 198.51.100.10 */
		{ 0xcb00710au, true },  /* 203.0.113.10 */
		{ 0xc0a7ffffu, true }, { 0xc0a80000u, false }, { 0xc0a8ffffu, false }, { 0xc0a90000u, true },
		{ 0xc611ffffu, true }, { 0xc6120000u, false }, { 0xc613ffffu, false }, { 0xc6140000u, true },
		{ 0xdfffffffu, true }, { 0xe0000000u, false }, { 0xefffffffu, false },
		{ 0xf0000000u, false }, { 0xffffffffu, false },
		{ 0x08080808u, true }, { 0x01010101u, true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (gw_ipv4_is_public(cases[i].addr) != cases[i].pub) {
			fprintf(stderr, "  %08x: expected %s\n", (unsigned)cases[i].addr, cases[i].pub ? "public" : "private");
			CHECK(gw_ipv4_is_public(cases[i].addr) == cases[i].pub);
		}
}

int main(void)
{
	RUN(test_cluster_name);
	RUN(test_app_name);
	RUN(test_port_and_trailing_dot);
	RUN(test_refusals);
	RUN(test_other_zone_configured);
	RUN(test_ipv4_is_public);
	return check_summary();
}
