/* SPDX-License-Identifier: Apache-2.0
 * Digests, HMAC, random bytes and constant-time comparison for the kip.tls binding, kipperd's
 * tokens and JWTs, and SSH key fingerprints. Implemented in core/src/crypto/digest.c over
 * OpenSSL 3 (EVP_Digest, EVP_Q_mac, RAND_bytes, CRYPTO_memcmp). Nothing here blocks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"

#define KIP_SHA256_LEN 32
#define KIP_DIGEST_MAX_LEN 64 /* the largest digest kip_crypto_digest makes (SHA-512) */

/** SHA-256 of data[0..n) into out. Returns 0, or KIP_EIO when OpenSSL fails (it does not for
 * the default provider). */
int kip_crypto_sha256(const void *data, size_t n, unsigned char out[KIP_SHA256_LEN],
                      struct kip_err *err);

/** Digest named alg ("sha1", "sha256", "sha384" or "sha512") of data[0..n) into out, which holds
 * KIP_DIGEST_MAX_LEN bytes; *out_len gets the digest size. Returns 0, KIP_EINVAL for another
 * name, or KIP_EIO. */
int kip_crypto_digest(const char *alg, const void *data, size_t n,
                      unsigned char out[KIP_DIGEST_MAX_LEN], size_t *out_len, struct kip_err *err);

/** HMAC-SHA256 (RFC 2104) of data[0..n) under key[0..key_len) into out; any key length works,
 * including 0. Returns 0 or KIP_EIO. */
int kip_crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                           unsigned char out[KIP_SHA256_LEN], struct kip_err *err);

/** Fills out[0..n) from OpenSSL's CSPRNG (RAND_bytes). Returns 0, or KIP_EIO when the generator
 * cannot be seeded. */
int kip_crypto_random(void *out, size_t n, struct kip_err *err);

/** Whether a[0..a_len) equals b[0..b_len), in time that depends only on the lengths (for MACs and
 * tokens). Different lengths are unequal. */
bool kip_crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len);
