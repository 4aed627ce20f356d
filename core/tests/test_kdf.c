/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for scrypt (kip/kdf.h): the RFC 7914 section 12 vectors 1 to 3 (vector 4 needs 1 GiB,
 * over the cap, and is refused), the default parameters kipperd uses, output lengths, and every
 * parameter check. Uses check.h and kip/kdf.h. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kip/encoding.h"
#include "kip/kdf.h"

/* scrypt of password and salt under (n, r, p) into len bytes, as lowercase hex; "" on failure. */
static const char *scrypt_hex(const char *password, const char *salt, uint64_t n, uint64_t r, uint64_t p,
                              size_t len)
{
	static char hex[2 * KIP_SCRYPT_LEN_MAX + 1];
	unsigned char out[KIP_SCRYPT_LEN_MAX];
	struct kip_scrypt_params params = {n, r, p};
	struct kip_err err = {0};
	if (kip_crypto_scrypt(password, strlen(password), salt, strlen(salt), &params, out, len, &err) != 0) {
		fprintf(stderr, "scrypt: %s\n", err.msg);
		return "";
	}
	kip_hex_encode(hex, out, len, 0);
	return hex;
}

static void test_rfc7914_vectors(void)
{
	CHECK_STR(scrypt_hex("", "", 16, 1, 1, 64),
	          "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
	          "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
	CHECK_STR(scrypt_hex("password", "NaCl", 1024, 8, 16, 64),
	          "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
	          "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
	CHECK_STR(scrypt_hex("pleaseletmein", "SodiumChloride", 16384, 8, 1, 64),
	          "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
	          "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
}

static void test_default_params(void)
{
	/* N = 32768, r = 8 needs 32 MiB and a bit, just over OpenSSL's default cap: it must work here */
	CHECK_STR(scrypt_hex("correct horse battery", "0123456789abcdef", 32768, 8, 1, 32),
	          "c7169682a4d2293761ed6adf58ba6cfc331b3e8a2f66ca30acb5516c09099230");
	/* a shorter output is a prefix of the longer one (PBKDF2 underneath) */
	char first[2 * 64 + 1];
	strcpy(first, scrypt_hex("pleaseletmein", "SodiumChloride", 16384, 8, 1, 64));
	CHECK(strncmp(scrypt_hex("pleaseletmein", "SodiumChloride", 16384, 8, 1, 1), first, 2) == 0);
	CHECK(strlen(scrypt_hex("x", "y", 16, 1, 1, KIP_SCRYPT_LEN_MAX)) == 2 * KIP_SCRYPT_LEN_MAX);
}

static void test_bad_params(void)
{
	struct kip_err err = {0};
	unsigned char out[32];
	const struct {
		struct kip_scrypt_params params;
		const char *word; /* in the message */
	} bad[] = {
		{{0, 8, 1}, "N must"},
		{{1, 8, 1}, "N must"},
		{{3, 8, 1}, "N must"},
		{{32767, 8, 1}, "N must"},
		{{2u << 20, 8, 1}, "N must"},
		{{16, 0, 1}, "r must"},
		{{16, 33, 1}, "r must"},
		{{1u << 16, 1, 1}, "below 2^16"},
		{{16, 8, 0}, "p must"},
		{{16, 8, 17}, "p must"},
		{{1u << 20, 8, 1}, "MiB"},  /* RFC 7914 vector 4: 1 GiB */
		{{1u << 18, 16, 1}, "MiB"}, /* 512 MiB */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err = (struct kip_err){0};
		CHECK(kip_crypto_scrypt_check(&bad[i].params, &err) == KIP_EINVAL);
		CHECK(strstr(err.msg, bad[i].word) != NULL);
		err = (struct kip_err){0};
		CHECK(kip_crypto_scrypt("a", 1, "b", 1, &bad[i].params, out, sizeof out, &err) == KIP_EINVAL);
		CHECK(strstr(err.msg, bad[i].word) != NULL);
	}
	struct kip_scrypt_params ok = {16, 1, 1};
	CHECK(kip_crypto_scrypt_check(&ok, NULL) == 0);
	struct kip_scrypt_params big = {1u << 18, 8, 1}; /* 256 MiB and a bit: just over */
	CHECK(kip_crypto_scrypt_check(&big, NULL) == KIP_EINVAL);
	struct kip_scrypt_params edge = {1u << 17, 8, 1}; /* 128 MiB: allowed */
	CHECK(kip_crypto_scrypt_check(&edge, NULL) == 0);
	err = (struct kip_err){0};
	CHECK(kip_crypto_scrypt("a", 1, "b", 1, &ok, out, 0, &err) == KIP_EINVAL);
	CHECK(strstr(err.msg, "length") != NULL);
	unsigned char *huge = malloc(KIP_SCRYPT_LEN_MAX + 1);
	CHECK(huge && kip_crypto_scrypt("a", 1, "b", 1, &ok, huge, KIP_SCRYPT_LEN_MAX + 1, NULL) == KIP_EINVAL);
	free(huge);
}

int main(void)
{
	RUN(test_rfc7914_vectors);
	RUN(test_default_params);
	RUN(test_bad_params);
	return check_summary();
}
