/* SPDX-License-Identifier: Apache-2.0
 * Asymmetric keys (Ed25519, ECDSA P-256/P-384/P-521, RSA): generation, PEM import and export,
 * signing and verification, with ECDSA signatures in the raw r||s form JWS uses or in DER.
 * Implemented in core/src/crypto/key.c over OpenSSL 3 EVP_PKEY; used by the kip.tls binding,
 * kip/cert.h and kipperd (JWTs). Only RSA generation is slow (tens to hundreds of ms). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"

/** An opaque key pair, or a public key alone. Owned by whoever got it; free with kip_key_free. */
struct kip_key;

enum kip_key_kind {
	KIP_KEY_ED25519 = 1,
	KIP_KEY_ECDSA,
	KIP_KEY_RSA,
};

enum kip_sig_format {
	KIP_SIG_RAW, /* JWS: ECDSA as r||s, each padded to the curve size (64 bytes for P-256) */
	KIP_SIG_DER, /* X.509 and `openssl dgst`: ECDSA as a DER SEQUENCE of two INTEGERs */
};

/** Generates a key pair of type "ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048",
 * "rsa-3072" or "rsa-4096" into *out (NULL on failure). Returns 0, KIP_EINVAL for another type,
 * KIP_EIO when OpenSSL fails. */
int kip_key_generate(const char *type, struct kip_key **out, struct kip_err *err);

/** Parses a PEM private key (PKCS#8 "PRIVATE KEY", or the traditional "EC PRIVATE KEY" and
 * "RSA PRIVATE KEY") or, failing that, a public key ("PUBLIC KEY", SubjectPublicKeyInfo) into
 * *out (NULL on failure). Never prompts: encrypted keys are refused. Returns 0, or KIP_EINVAL
 * when there is no key, it is encrypted, or its type is not one kip_key_generate makes (RSA keys
 * may have 1024 to 16384 bits). */
int kip_key_load_pem(const char *pem, size_t len, struct kip_key **out, struct kip_err *err);

/** Frees key; NULL is fine. */
void kip_key_free(struct kip_key *key);

/** The kind of key. */
enum kip_key_kind kip_key_kind(const struct kip_key *key);

/** The key's type as kip_key_generate names it ("ed25519", "ecdsa-p256", "rsa-2048", ...);
 * static storage for Ed25519 and ECDSA, a per-key string for RSA, valid while key lives. */
const char *kip_key_type(const struct kip_key *key);

/** Whether key holds the private half (generated, or loaded from a private key PEM). */
bool kip_key_is_private(const struct kip_key *key);

/** Whether a and b have the same public key. */
bool kip_key_equal_public(const struct kip_key *a, const struct kip_key *b);

/** A new public-only key with key's public half into *out. Returns 0 or KIP_EIO/KIP_ENOMEM. */
int kip_key_public(const struct kip_key *key, struct kip_key **out, struct kip_err *err);

/** PEM of the private key (unencrypted PKCS#8, "BEGIN PRIVATE KEY") or of the public key
 * (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY") into *pem, a malloc'd NUL-terminated string the
 * caller frees, and *len (without the NUL). Returns 0, KIP_EINVAL when the private half is asked
 * of a public-only key, KIP_ENOMEM or KIP_EIO. */
int kip_key_private_pem(const struct kip_key *key, char **pem, size_t *len, struct kip_err *err);
int kip_key_public_pem(const struct kip_key *key, char **pem, size_t *len, struct kip_err *err);

/** Signs data[0..n): Ed25519 as pure Ed25519 (RFC 8032), ECDSA with the hash that goes with the
 * curve (SHA-256 for P-256: JWS ES256; SHA-384, SHA-512 for P-384, P-521), RSA with PKCS#1 v1.5
 * and SHA-256 (RS256). format chooses the ECDSA encoding; Ed25519 and RSA signatures are the
 * same in both. *sig is malloc'd (the caller frees it), *sig_len its size.
 * Returns 0, KIP_EINVAL for a public-only key, KIP_EIO or KIP_ENOMEM. */
int kip_key_sign(const struct kip_key *key, const void *data, size_t n, enum kip_sig_format format,
                 unsigned char **sig, size_t *sig_len, struct kip_err *err);

/** Whether sig is key's valid signature of data[0..n) as kip_key_sign makes it. ECDSA
 * signatures may be raw r||s (tried when the length fits) or DER. A malformed signature is just
 * invalid: this returns false, and leaves OpenSSL's error queue empty. */
bool kip_key_verify(const struct kip_key *key, const void *data, size_t n, const void *sig,
                    size_t sig_len);
