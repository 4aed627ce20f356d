/* SPDX-License-Identifier: Apache-2.0
 * Password hashing with scrypt (RFC 7914) for tls.scrypt and kipperd's local users. Implemented in
 * core/src/crypto/kdf.c over OpenSSL 3's EVP_PBE_scrypt. Blocks the calling thread for as long as
 * the parameters ask (N = 32768, r = 8: ~50-100 ms, 32 MiB): callers holding a lock release it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kip/err.h"

#define KIP_SCRYPT_N_MAX (1u << 20)        /* the cost N: a power of two from 2 to 2^20 */
#define KIP_SCRYPT_R_MAX 32                /* the block size r: 1 to 32 */
#define KIP_SCRYPT_P_MAX 16                /* the parallelism p: 1 to 16 */
#define KIP_SCRYPT_LEN_MAX 1024            /* the derived key: 1 to 1024 bytes */
#define KIP_SCRYPT_MAXMEM (256ull << 20)   /* at most 256 MiB of working memory (128 * r * (N + p + 2)) */

struct kip_scrypt_params {
	uint64_t n; /* CPU/memory cost */
	uint64_t r; /* block size */
	uint64_t p; /* parallelism */
};

/** Checks params against the bounds above and the memory cap. Returns 0, or KIP_EINVAL with a
 * message naming the parameter at fault. Never blocks. */
int kip_crypto_scrypt_check(const struct kip_scrypt_params *params, struct kip_err *err);

/** scrypt(password, salt, N, r, p) into out[0..len), len from 1 to KIP_SCRYPT_LEN_MAX; the password
 * and salt may be empty. Returns 0, KIP_EINVAL for parameters kip_crypto_scrypt_check refuses (or
 * a bad len), KIP_ENOMEM when OpenSSL cannot get the working memory, KIP_EIO otherwise. Blocks:
 * see above. */
int kip_crypto_scrypt(const void *password, size_t password_len, const void *salt, size_t salt_len,
                      const struct kip_scrypt_params *params, unsigned char *out, size_t len,
                      struct kip_err *err);
