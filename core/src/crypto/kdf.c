/* SPDX-License-Identifier: Apache-2.0
 * scrypt (kip/kdf.h): parameter checks and the derivation itself, over OpenSSL 3's EVP_PBE_scrypt
 * with an explicit memory cap (OpenSSL's default of 32 MiB would refuse N = 32768, r = 8). */
#include "kip/kdf.h"

#include <openssl/evp.h>

#include "ossl.h"

int kip_crypto_scrypt_check(const struct kip_scrypt_params *params, struct kip_err *err)
{
	uint64_t n = params->n, r = params->r, p = params->p;
	if (n < 2 || n > KIP_SCRYPT_N_MAX || (n & (n - 1)) != 0)
		return kip_err_set(err, KIP_EINVAL, "scrypt N must be a power of two from 2 to %u", KIP_SCRYPT_N_MAX);
	if (r < 1 || r > KIP_SCRYPT_R_MAX)
		return kip_err_set(err, KIP_EINVAL, "scrypt r must be from 1 to %d", KIP_SCRYPT_R_MAX);
	if (r < 4 && n >= (1ull << (16 * r))) /* RFC 7914: N < 2^(128 r / 8) */
		return kip_err_set(err, KIP_EINVAL, "scrypt N must be below 2^%llu when r is %llu",
		                   (unsigned long long)(16 * r), (unsigned long long)r);
	if (p < 1 || p > KIP_SCRYPT_P_MAX)
		return kip_err_set(err, KIP_EINVAL, "scrypt p must be from 1 to %d", KIP_SCRYPT_P_MAX);
	/* what OpenSSL allocates: B (128 r p) and V plus X, T (128 r (N + 2)); no overflow within the bounds */
	uint64_t mem = 128 * r * (n + p + 2);
	if (mem > KIP_SCRYPT_MAXMEM)
		return kip_err_set(err, KIP_EINVAL, "scrypt N=%llu, r=%llu, p=%llu needs %llu MiB, over the %llu MiB cap",
		                   (unsigned long long)n, (unsigned long long)r, (unsigned long long)p,
		                   (unsigned long long)((mem + (1u << 20) - 1) >> 20),
		                   (unsigned long long)(KIP_SCRYPT_MAXMEM >> 20));
	return 0;
}

int kip_crypto_scrypt(const void *password, size_t password_len, const void *salt, size_t salt_len,
                      const struct kip_scrypt_params *params, unsigned char *out, size_t len,
                      struct kip_err *err)
{
	int rc = kip_crypto_scrypt_check(params, err);
	if (rc != 0)
		return rc;
	if (len < 1 || len > KIP_SCRYPT_LEN_MAX)
		return kip_err_set(err, KIP_EINVAL, "scrypt length must be from 1 to %d", KIP_SCRYPT_LEN_MAX);
	static const unsigned char empty[1];
	const char *pass = password_len ? password : (const char *)empty;
	const unsigned char *salt_bytes = salt_len ? salt : empty;
	if (!EVP_PBE_scrypt(pass, password_len, salt_bytes, salt_len, params->n, params->r, params->p,
	                    KIP_SCRYPT_MAXMEM, out, len))
		return kip_ossl_err(err, KIP_ENOMEM, "scrypt failed");
	return 0;
}
