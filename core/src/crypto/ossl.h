/* SPDX-License-Identifier: Apache-2.0
 * Internal to core/src/crypto (and the SSL_CTX factory in core/src/net/tls.c): OpenSSL errors as
 * struct kip_err, memory BIOs copied out to malloc'd buffers, and the OpenSSL objects behind
 * struct kip_key and struct kip_cert. Implemented in ossl.c, key.c and cert.c; uses OpenSSL 3. */
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "kip/cert.h"
#include "kip/err.h"
#include "kip/key.h"

/** Like kip_err_set, appends ": " and the reason of the most recent OpenSSL error, if any, and
 * empties OpenSSL's error queue either way. Returns code. */
int kip_ossl_err(struct kip_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Copies what bio holds into *out (malloc'd, NUL-terminated; the caller frees it) and *len.
 * bio stays the caller's. Returns 0 or KIP_ENOMEM. */
int kip_ossl_bio_copy(BIO *bio, char **out, size_t *len, struct kip_err *err);

/** The EVP_PKEY behind key, borrowed: valid while key lives. */
EVP_PKEY *kip_key_pkey(const struct kip_key *key);

/** Wraps pkey into a new key (*out), taking ownership of pkey even on failure. Returns 0, or
 * KIP_EINVAL for a key type or size kip/key.h does not handle, KIP_ENOMEM. */
int kip_key_wrap(EVP_PKEY *pkey, bool is_private, struct kip_key **out, struct kip_err *err);

/** The name of the digest that goes with signing by key ("SHA256", ...), NULL for Ed25519. */
const char *kip_key_digest_name(const struct kip_key *key);

/** The X509 behind cert, borrowed: valid while cert lives. */
X509 *kip_cert_x509(const struct kip_cert *cert);

/** Wraps x into a new certificate (*out), taking ownership of x even on failure.
 * Returns 0 or KIP_ENOMEM. */
int kip_cert_wrap(X509 *x, struct kip_cert **out, struct kip_err *err);
