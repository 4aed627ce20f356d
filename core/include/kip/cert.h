/* SPDX-License-Identifier: Apache-2.0
 * X.509 certificates: creating CA, server and client certificates (what k3s writes for its API
 * server and admin), loading PEM (one or a bundle) and reading fingerprints, validity, subject,
 * SANs and CA status, and checking that a certificate was signed by another. Implemented in
 * core/src/crypto/cert.c (reading) and cert_create.c over OpenSSL 3 X509; uses kip/key.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kip/err.h"
#include "kip/key.h"

/** An opaque certificate. Owned by whoever got it; free with kip_cert_free. */
struct kip_cert;

enum kip_cert_usage {
	KIP_CERT_SERVER, /* extended key usage serverAuth */
	KIP_CERT_CLIENT, /* clientAuth */
	KIP_CERT_BOTH,   /* serverAuth and clientAuth */
	KIP_CERT_CA,     /* no extended key usage: a CA that signs certificates */
};

/** One attribute of a distinguished name: field is a short name ("CN", "O", "OU", "C", "ST",
 * "L") or any name OpenSSL knows ("emailAddress", "DC", "serialNumber"). */
struct kip_cert_attr {
	const char *field;
	const char *value; /* UTF-8 */
};

struct kip_cert_spec {
	const struct kip_cert_attr *subject; /* in this order; fields may repeat (several O) */
	size_t subject_len;
	const char *const *sans;    /* "127.0.0.1", "::1" (IP), "localhost", "*.example.com" (DNS) */
	size_t sans_len;
	const struct kip_key *key;  /* the certificate's public key */
	const struct kip_cert *issuer;    /* NULL: self-signed with key */
	const struct kip_key *issuer_key; /* the issuer's private key; unused when self-signed */
	bool ca;                    /* basicConstraints CA:TRUE, keyUsage keyCertSign and cRLSign */
	enum kip_cert_usage usage;  /* KIP_CERT_CA requires ca */
	int64_t not_before, not_after; /* Unix seconds, not_before < not_after, years 1950 to 9999 */
};

/** A name read from a certificate, in one malloc'd block: free it with free(). */
struct kip_cert_name {
	size_t n;
	struct kip_cert_attr attr[]; /* field as OpenSSL's short name, or the dotted OID */
};

/** SANs read from a certificate, in one malloc'd block: free it with free(). */
struct kip_cert_sans {
	size_t n;
	const char *san[]; /* DNS names and URIs as written, IP addresses as inet_ntop prints them,
	                    * e-mail addresses as "email:..." */
};

/** Creates and signs a version 3 certificate with a random positive 128-bit serial,
 * basicConstraints (critical), keyUsage (critical: digitalSignature, plus keyEncipherment for
 * RSA leaf keys, keyCertSign and cRLSign for a CA), extendedKeyUsage from usage, a
 * subjectKeyIdentifier, an authorityKeyIdentifier when the issuer is another certificate, and
 * subjectAltName when there are SANs. The signing key's hash: none for Ed25519, SHA-256 for
 * P-256 and RSA, SHA-384 and SHA-512 for P-384 and P-521. *out is NULL on failure.
 * Returns 0, or KIP_EINVAL for a bad spec: a SAN that is neither an IP address nor a DNS name,
 * an unknown subject field, a signing key without its private half, an issuer key that does not
 * match the issuer certificate, an issuer that is not a CA, a validity out of range, or
 * usage KIP_CERT_CA without ca; KIP_EIO or KIP_ENOMEM when OpenSSL fails. */
int kip_cert_create(const struct kip_cert_spec *spec, struct kip_cert **out, struct kip_err *err);

/** Parses the first certificate of PEM text (DER is accepted too) into *out (NULL on failure).
 * Returns 0, or KIP_EINVAL when there is none or it is malformed. */
int kip_cert_load_pem(const char *pem, size_t len, struct kip_cert **out, struct kip_err *err);

/** Parses every certificate of a PEM bundle into *certs, a malloc'd array of *count
 * certificates (at least one); free each with kip_cert_free and the array with free(). Text
 * around the PEM blocks is ignored. Returns 0, or KIP_EINVAL when there is no certificate or a
 * block is malformed (then *certs is NULL), KIP_ENOMEM. */
int kip_cert_load_bundle(const char *pem, size_t len, struct kip_cert ***certs, size_t *count,
                         struct kip_err *err);

/** Frees cert; NULL is fine. */
void kip_cert_free(struct kip_cert *cert);

/** The certificate as PEM ("BEGIN CERTIFICATE") or DER into *out, malloc'd (the caller frees it;
 * PEM is NUL-terminated), and *len. Returns 0, KIP_ENOMEM or KIP_EIO. */
int kip_cert_pem(const struct kip_cert *cert, char **out, size_t *len, struct kip_err *err);
int kip_cert_der(const struct kip_cert *cert, unsigned char **out, size_t *len, struct kip_err *err);

/** Digest ("sha1", "sha256", "sha384", "sha512") of the DER form into out, as
 * kip_crypto_digest. Returns 0, KIP_EINVAL for another name, KIP_EIO. */
int kip_cert_fingerprint(const struct kip_cert *cert, const char *alg, unsigned char *out,
                         size_t *out_len, struct kip_err *err);

/** notBefore and notAfter as Unix seconds. Returns 0, or KIP_EINVAL when the field cannot be
 * read (a malformed time). */
int kip_cert_validity(const struct kip_cert *cert, int64_t *not_before, int64_t *not_after,
                      struct kip_err *err);

/** The subject (issuer = false) or issuer name into *out (see struct kip_cert_name).
 * Returns 0, KIP_EINVAL for a value that is not valid text, or KIP_ENOMEM. */
int kip_cert_name(const struct kip_cert *cert, bool issuer, struct kip_cert_name **out,
                  struct kip_err *err);

/** The name as one RFC 2253 line ("CN=admin,O=system:masters", most specific first) into buf,
 * truncated to cap - 1 bytes and NUL-terminated. */
void kip_cert_name_text(const struct kip_cert *cert, bool issuer, char *buf, size_t cap);

/** The subjectAltName entries into *out (n = 0 without the extension). Returns 0, KIP_EINVAL
 * for a malformed extension, or KIP_ENOMEM. */
int kip_cert_sans(const struct kip_cert *cert, struct kip_cert_sans **out, struct kip_err *err);

/** Whether basicConstraints says CA:TRUE. */
bool kip_cert_is_ca(const struct kip_cert *cert);

/** The serial number as big-endian bytes into out (cap bytes; 20 is the most RFC 5280 allows) and
 * *len. Returns 0, or KIP_EINVAL when it does not fit or is negative. */
int kip_cert_serial(const struct kip_cert *cert, unsigned char *out, size_t cap, size_t *len,
                    struct kip_err *err);

/** Whether cert's issuer name is issuer's subject and issuer's public key verifies cert's
 * signature. Leaves OpenSSL's error queue empty. */
bool kip_cert_verify(const struct kip_cert *cert, const struct kip_cert *issuer);

/** A new public-only key with the certificate's public key into *out. Returns 0, KIP_EINVAL for
 * a key type kip/key.h does not handle, KIP_ENOMEM. */
int kip_cert_public_key(const struct kip_cert *cert, struct kip_key **out, struct kip_err *err);
