/* SPDX-License-Identifier: Apache-2.0
 * Keys (kip/key.h): Ed25519, ECDSA on the NIST curves and RSA through OpenSSL 3's EVP_PKEY
 * (EVP_PKEY_Q_keygen, PEM_read_bio_PrivateKey_ex, EVP_DigestSign/Verify), with the conversion
 * between DER ECDSA signatures and the raw r||s form of JWS (RFC 7518 section 3.4). */
#include "kip/key.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ossl.h"

struct kip_key {
	EVP_PKEY *pkey;
	enum kip_key_kind kind;
	bool is_private;
	const char *digest; /* for signing: NULL (Ed25519), "SHA256", "SHA384", "SHA512" */
	size_t field_len;   /* ECDSA: bytes of r and of s in the raw form */
	char type[16];      /* "ed25519", "ecdsa-p256", "rsa-2048", ... */
};

#define KEY_RSA_MIN_BITS 1024
#define KEY_RSA_MAX_BITS 16384

static const struct {
	int nid;
	const char *type;
	const char *digest;
	size_t field_len;
} key_curves[] = {
	{NID_X9_62_prime256v1, "ecdsa-p256", "SHA256", 32},
	{NID_secp384r1, "ecdsa-p384", "SHA384", 48},
	{NID_secp521r1, "ecdsa-p521", "SHA512", 66},
};

/* Fills key->kind and the fields that follow from it; 0 or KIP_EINVAL. */
static int key_classify(struct kip_key *key, struct kip_err *err)
{
	EVP_PKEY *pkey = key->pkey;
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		key->kind = KIP_KEY_ED25519;
		snprintf(key->type, sizeof key->type, "ed25519");
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);
		if (bits < KEY_RSA_MIN_BITS || bits > KEY_RSA_MAX_BITS)
			return kip_err_set(err, KIP_EINVAL, "unsupported RSA key size %d bits (%d to %d)",
			                   bits, KEY_RSA_MIN_BITS, KEY_RSA_MAX_BITS);
		key->kind = KIP_KEY_RSA;
		key->digest = "SHA256";
		snprintf(key->type, sizeof key->type, "rsa-%d", bits);
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64];
		size_t len = 0;
		if (!EVP_PKEY_get_group_name(pkey, group, sizeof group, &len))
			return kip_ossl_err(err, KIP_EINVAL, "unsupported EC key: no named curve");
		int nid = OBJ_txt2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		for (size_t i = 0; i < sizeof key_curves / sizeof key_curves[0]; i++) {
			if (key_curves[i].nid == nid) {
				key->kind = KIP_KEY_ECDSA;
				key->digest = key_curves[i].digest;
				key->field_len = key_curves[i].field_len;
				snprintf(key->type, sizeof key->type, "%s", key_curves[i].type);
				return 0;
			}
		}
		ERR_clear_error();
		return kip_err_set(err, KIP_EINVAL, "unsupported EC curve %s (P-256, P-384 or P-521)", group);
	}
	return kip_err_set(err, KIP_EINVAL, "unsupported key type %s (Ed25519, ECDSA or RSA)",
	                   EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");
}

int kip_key_wrap(EVP_PKEY *pkey, bool is_private, struct kip_key **out, struct kip_err *err)
{
	*out = NULL;
	struct kip_key *key = calloc(1, sizeof *key);
	if (!key) {
		EVP_PKEY_free(pkey);
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	}
	key->pkey = pkey;
	key->is_private = is_private;
	int rc = key_classify(key, err);
	if (rc) {
		kip_key_free(key);
		return rc;
	}
	*out = key;
	return 0;
}

EVP_PKEY *kip_key_pkey(const struct kip_key *key)
{
	return key->pkey;
}

const char *kip_key_digest_name(const struct kip_key *key)
{
	return key->digest;
}

int kip_key_generate(const char *type, struct kip_key **out, struct kip_err *err)
{
	*out = NULL;
	EVP_PKEY *pkey = NULL;
	if (strcmp(type, "ed25519") == 0) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else if (strcmp(type, "ecdsa-p256") == 0) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	} else if (strcmp(type, "ecdsa-p384") == 0) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	} else if (strcmp(type, "ecdsa-p521") == 0) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	} else if (strcmp(type, "rsa-2048") == 0 || strcmp(type, "rsa-3072") == 0 ||
	           strcmp(type, "rsa-4096") == 0) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(type + 4));
	} else {
		return kip_err_set(err, KIP_EINVAL,
		                   "unknown key type '%s' (ed25519, ecdsa-p256, ecdsa-p384, ecdsa-p521, "
		                   "rsa-2048, rsa-3072 or rsa-4096)", type);
	}
	if (!pkey)
		return kip_ossl_err(err, KIP_EIO, "cannot generate a %s key", type);
	return kip_key_wrap(pkey, true, out, err);
}

/* Password callback that refuses to give one (OpenSSL would otherwise prompt on the terminal)
 * and notes that it was asked. */
static int key_no_password(char *buf, int size, int rwflag, void *u)
{
	*(bool *)u = true;
	return -1;
}

/* Whether text[0..len) holds needle. */
static bool has_text(const char *text, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (text[i] == needle[0] && memcmp(text + i, needle, n) == 0)
			return true;
	return false;
}

int kip_key_load_pem(const char *pem, size_t len, struct kip_key **out, struct kip_err *err)
{
	*out = NULL;
	if (len > INT_MAX)
		return kip_err_set(err, KIP_EINVAL, "PEM data too large");
	bool private = has_text(pem, len, "PRIVATE KEY-----");
	bool asked = false;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	EVP_PKEY *pkey = private ? PEM_read_bio_PrivateKey_ex(bio, NULL, key_no_password, &asked, NULL, NULL)
	                         : PEM_read_bio_PUBKEY_ex(bio, NULL, key_no_password, &asked, NULL, NULL);
	BIO_free(bio);
	if (!pkey) {
		if (asked)
			return kip_ossl_err(err, KIP_EINVAL, "encrypted private keys are not supported");
		if (has_text(pem, len, "OPENSSH PRIVATE KEY-----"))
			return kip_ossl_err(err, KIP_EINVAL, "OpenSSH private keys are not supported "
			                    "(ssh-keygen -p -m PKCS8 converts RSA and ECDSA ones)");
		if (!private && !has_text(pem, len, "PUBLIC KEY-----")) {
			ERR_clear_error(); /* OpenSSL's reason would only say "unsupported" */
			return kip_err_set(err, KIP_EINVAL, "no private or public key found in the PEM data");
		}
		return kip_ossl_err(err, KIP_EINVAL, "cannot parse the PEM %s key", private ? "private" : "public");
	}
	ERR_clear_error();
	return kip_key_wrap(pkey, private, out, err);
}

void kip_key_free(struct kip_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

enum kip_key_kind kip_key_kind(const struct kip_key *key)
{
	return key->kind;
}

const char *kip_key_type(const struct kip_key *key)
{
	return key->type;
}

bool kip_key_is_private(const struct kip_key *key)
{
	return key->is_private;
}

bool kip_key_equal_public(const struct kip_key *a, const struct kip_key *b)
{
	bool eq = EVP_PKEY_eq(a->pkey, b->pkey) == 1;
	ERR_clear_error();
	return eq;
}

int kip_key_public(const struct kip_key *key, struct kip_key **out, struct kip_err *err)
{
	*out = NULL;
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key->pkey, &der);
	if (n <= 0)
		return kip_ossl_err(err, KIP_EIO, "cannot encode the public key");
	const unsigned char *p = der;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	if (!pub)
		return kip_ossl_err(err, KIP_EIO, "cannot decode the public key");
	return kip_key_wrap(pub, false, out, err);
}

int kip_key_private_pem(const struct kip_key *key, char **pem, size_t *len, struct kip_err *err)
{
	*pem = NULL;
	if (!key->is_private)
		return kip_err_set(err, KIP_EINVAL, "the key has no private part");
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	int rc = PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL)
	             ? kip_ossl_bio_copy(bio, pem, len, err)
	             : kip_ossl_err(err, KIP_EIO, "cannot write the private key");
	BIO_free(bio);
	return rc;
}

int kip_key_public_pem(const struct kip_key *key, char **pem, size_t *len, struct kip_err *err)
{
	*pem = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	int rc = PEM_write_bio_PUBKEY(bio, key->pkey) ? kip_ossl_bio_copy(bio, pem, len, err)
	                                              : kip_ossl_err(err, KIP_EIO, "cannot write the public key");
	BIO_free(bio);
	return rc;
}

/* Converts a DER ECDSA signature into r||s, field_len bytes each, in a new malloc'd buffer. */
static int ecdsa_der_to_raw(const unsigned char *der, size_t der_len, size_t field_len,
                            unsigned char **raw, struct kip_err *err)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!sig)
		return kip_ossl_err(err, KIP_EIO, "cannot decode the ECDSA signature");
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(sig, &r, &s);
	int rc = 0;
	*raw = malloc(2 * field_len);
	if (!*raw)
		rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
	else if (BN_bn2binpad(r, *raw, (int)field_len) < 0 ||
	         BN_bn2binpad(s, *raw + field_len, (int)field_len) < 0) {
		free(*raw);
		*raw = NULL;
		rc = kip_ossl_err(err, KIP_EIO, "ECDSA signature too large");
	}
	ECDSA_SIG_free(sig);
	return rc;
}

/* Converts raw r||s (2 * field_len bytes) into DER in a new OPENSSL_malloc'd buffer; returns its
 * length, 0 on failure. */
static size_t ecdsa_raw_to_der(const unsigned char *raw, size_t field_len, unsigned char **der)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)field_len, NULL);
	BIGNUM *s = BN_bin2bn(raw + field_len, (int)field_len, NULL);
	int n = 0;
	*der = NULL;
	if (sig && r && s && ECDSA_SIG_set0(sig, r, s)) {
		r = s = NULL; /* now owned by sig */
		n = i2d_ECDSA_SIG(sig, der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return n > 0 ? (size_t)n : 0;
}

int kip_key_sign(const struct kip_key *key, const void *data, size_t n, enum kip_sig_format format,
                 unsigned char **sig, size_t *sig_len, struct kip_err *err)
{
	*sig = NULL;
	*sig_len = 0;
	if (!key->is_private)
		return kip_err_set(err, KIP_EINVAL, "cannot sign with a public key");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = 0;
	if (!ctx) {
		rc = kip_ossl_err(err, KIP_ENOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestSignInit_ex(ctx, NULL, key->digest, NULL, NULL, key->pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, data, n) != 1) {
		rc = kip_ossl_err(err, KIP_EIO, "cannot sign with the %s key", key->type);
		goto out;
	}
	buf = malloc(len ? len : 1);
	if (!buf) {
		rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, buf, &len, data, n) != 1) {
		rc = kip_ossl_err(err, KIP_EIO, "cannot sign with the %s key", key->type);
		goto out;
	}
	if (key->kind == KIP_KEY_ECDSA && format == KIP_SIG_RAW) {
		unsigned char *raw;
		rc = ecdsa_der_to_raw(buf, len, key->field_len, &raw, err);
		if (rc)
			goto out;
		free(buf);
		buf = raw;
		len = 2 * key->field_len;
	}
	*sig = buf;
	*sig_len = len;
	buf = NULL;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* EVP_DigestVerify of sig as given; 1 when valid. */
static bool verify_as_is(const struct kip_key *key, const void *data, size_t n,
                         const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx &&
	          EVP_DigestVerifyInit_ex(ctx, NULL, key->digest, NULL, NULL, key->pkey, NULL) == 1 &&
	          EVP_DigestVerify(ctx, sig, sig_len, data, n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

bool kip_key_verify(const struct kip_key *key, const void *data, size_t n, const void *sig,
                    size_t sig_len)
{
	bool ok = false;
	if (key->kind == KIP_KEY_ECDSA && sig_len == 2 * key->field_len) {
		unsigned char *der;
		size_t der_len = ecdsa_raw_to_der(sig, key->field_len, &der);
		ok = der_len && verify_as_is(key, data, n, der, der_len);
		OPENSSL_free(der);
	}
	if (!ok)
		ok = verify_as_is(key, data, n, sig, sig_len);
	ERR_clear_error();
	return ok;
}
