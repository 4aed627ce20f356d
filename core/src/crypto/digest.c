/* SPDX-License-Identifier: Apache-2.0
 * Digests, HMAC-SHA256, random bytes and constant-time comparison (kip/crypto.h). Uses OpenSSL 3:
 * EVP_Digest, EVP_Q_mac, RAND_bytes and CRYPTO_memcmp, with the default library context. */
#include "kip/crypto.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <strings.h>

#include "ossl.h"

int kip_crypto_sha256(const void *data, size_t n, unsigned char out[KIP_SHA256_LEN],
                      struct kip_err *err)
{
	if (!EVP_Digest(data, n, out, NULL, EVP_sha256(), NULL))
		return kip_ossl_err(err, KIP_EIO, "sha256 failed");
	return 0;
}

/* The EVP_MD for a digest name kip accepts, NULL for others. */
static const EVP_MD *digest_by_name(const char *alg)
{
	static const struct {
		const char *name;
		const EVP_MD *(*md)(void);
	} table[] = {
		{"sha1", EVP_sha1},
		{"sha256", EVP_sha256},
		{"sha384", EVP_sha384},
		{"sha512", EVP_sha512},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcasecmp(alg, table[i].name) == 0)
			return table[i].md();
	return NULL;
}

int kip_crypto_digest(const char *alg, const void *data, size_t n,
                      unsigned char out[KIP_DIGEST_MAX_LEN], size_t *out_len, struct kip_err *err)
{
	const EVP_MD *md = digest_by_name(alg);
	if (!md)
		return kip_err_set(err, KIP_EINVAL, "unknown digest '%s' (sha1, sha256, sha384 or sha512)", alg);
	unsigned len = 0;
	if (!EVP_Digest(data, n, out, &len, md, NULL))
		return kip_ossl_err(err, KIP_EIO, "%s failed", alg);
	*out_len = len;
	return 0;
}

int kip_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                           unsigned char out[KIP_SHA256_LEN], struct kip_err *err)
{
	static const unsigned char empty_key[1];
	size_t len = 0;
	/* EVP_Q_mac refuses a NULL key, and an empty one is a valid (if weak) HMAC key */
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key_len ? key : empty_key, key_len, data, n,
	               out, KIP_SHA256_LEN, &len) || len != KIP_SHA256_LEN)
		return kip_ossl_err(err, KIP_EIO, "hmac-sha256 failed");
	return 0;
}

int kip_crypto_random(void *out, size_t n, struct kip_err *err)
{
	unsigned char *p = out;
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;
		if (RAND_bytes(p, chunk) != 1)
			return kip_ossl_err(err, KIP_EIO, "cannot get random bytes");
		p += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

bool kip_crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
	if (a_len != b_len)
		return false;
	return a_len == 0 || CRYPTO_memcmp(a, b, a_len) == 0;
}
