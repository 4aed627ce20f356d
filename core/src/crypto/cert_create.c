/* SPDX-License-Identifier: Apache-2.0
 * Creating X.509 certificates (kip_cert_create in kip/cert.h): CAs, server and client
 * certificates as k3s makes them for a Kubernetes API server, with the extensions built as
 * ASN.1 structures rather than from config strings, so no SAN or name needs quoting.
 * Uses OpenSSL 3 (X509, X509V3 types, X509_sign), kip/key.h and kip/crypto.h (serials). */
#include "kip/cert.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "kip/crypto.h"
#include "ossl.h"

#define CERT_TIME_MIN INT64_C(-631152000)   /* 1950-01-01T00:00:00Z, UTCTime's first */
#define CERT_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z, GeneralizedTime's last */
#define CERT_SERIAL_LEN 16

/* Whether s is a DNS name kip puts in a SAN: 1 to 253 characters, letters, digits, '-', '_' and
 * '.' between non-empty labels, and '*' only as a whole first label ("*.example.com"). */
static bool dns_name_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 253)
		return false;
	if (s[0] == '*') {
		if (s[1] != '.')
			return false;
		s += 2;
	}
	size_t label = 0;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		          c == '-' || c == '_';
		if (!ok || ++label > 63)
			return false;
	}
	return label > 0;
}

/* One SAN as a GENERAL_NAME (IP when it parses as an address, else DNS), pushed onto gens. */
static int add_san(GENERAL_NAMES *gens, const char *s, struct kip_err *err)
{
	unsigned char addr[16];
	int ip_len = inet_pton(AF_INET, s, addr) == 1 ? 4 : inet_pton(AF_INET6, s, addr) == 1 ? 16 : 0;
	if (!ip_len && !dns_name_ok(s))
		return kip_err_set(err, KIP_EINVAL, "SAN '%s' is neither an IP address nor a DNS name", s);
	ASN1_STRING *value = ip_len ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	if (!value || !gn ||
	    !ASN1_STRING_set(value, ip_len ? (const void *)addr : (const void *)s, ip_len ? ip_len : -1)) {
		ASN1_STRING_free(value);
		GENERAL_NAME_free(gn);
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	}
	GENERAL_NAME_set0_value(gn, ip_len ? GEN_IPADD : GEN_DNS, value);
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	}
	return 0;
}

static int add_sans(X509 *x, const struct kip_cert_spec *spec, struct kip_err *err)
{
	if (spec->sans_len == 0)
		return 0;
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	if (!gens)
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < spec->sans_len && !rc; i++)
		rc = add_san(gens, spec->sans[i], err);
	/* RFC 5280 4.2.1.6: critical when the subject is empty */
	if (!rc && !X509_add1_ext_i2d(x, NID_subject_alt_name, gens, spec->subject_len == 0, X509V3_ADD_DEFAULT))
		rc = kip_ossl_err(err, KIP_EIO, "cannot add the subjectAltName extension");
	GENERAL_NAMES_free(gens);
	return rc;
}

static int set_subject(X509 *x, const struct kip_cert_spec *spec, struct kip_err *err)
{
	X509_NAME *name = X509_get_subject_name(x);
	for (size_t i = 0; i < spec->subject_len; i++) {
		const struct kip_cert_attr *a = &spec->subject[i];
		if (OBJ_txt2nid(a->field) == NID_undef) {
			ERR_clear_error();
			return kip_err_set(err, KIP_EINVAL, "unknown subject field '%s'", a->field);
		}
		if (!X509_NAME_add_entry_by_txt(name, a->field, MBSTRING_UTF8, (const unsigned char *)a->value,
		                                -1, -1, 0))
			return kip_ossl_err(err, KIP_EINVAL, "bad subject %s '%s'", a->field, a->value);
	}
	return 0;
}

static int set_serial(X509 *x, struct kip_err *err)
{
	unsigned char b[CERT_SERIAL_LEN];
	int rc = kip_crypto_random(b, sizeof b, err);
	if (rc)
		return rc;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40); /* positive, and always CERT_SERIAL_LEN bytes */
	BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		rc = kip_ossl_err(err, KIP_ENOMEM, "cannot set the serial number");
	BN_free(bn);
	return rc;
}

static int set_validity(X509 *x, const struct kip_cert_spec *spec, struct kip_err *err)
{
	if (spec->not_before < CERT_TIME_MIN || spec->not_after > CERT_TIME_MAX ||
	    spec->not_before >= spec->not_after)
		return kip_err_set(err, KIP_EINVAL, "bad validity: not_before must be before not_after, "
		                   "both between 1950 and 9999");
	if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)spec->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)spec->not_after))
		return kip_ossl_err(err, KIP_EIO, "cannot set the validity");
	return 0;
}

/* SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1) as an OCTET STRING. */
static ASN1_OCTET_STRING *key_id(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
	if (!id || !X509_pubkey_digest(x, EVP_sha1(), md, &len) || !ASN1_OCTET_STRING_set(id, md, (int)len)) {
		ASN1_OCTET_STRING_free(id);
		return NULL;
	}
	return id;
}

static int add_extensions(X509 *x, X509 *issuer, const struct kip_cert_spec *spec, struct kip_err *err)
{
	int ok = 1;
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ok = bc != NULL;
	if (ok) {
		bc->ca = spec->ca ? 0xff : 0;
		ok = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT);
	}
	BASIC_CONSTRAINTS_free(bc);

	ASN1_BIT_STRING *ku = ok ? ASN1_BIT_STRING_new() : NULL;
	ok = ok && ku && ASN1_BIT_STRING_set_bit(ku, 0, 1); /* digitalSignature */
	if (ok && !spec->ca && kip_key_kind(spec->key) == KIP_KEY_RSA)
		ok = ASN1_BIT_STRING_set_bit(ku, 2, 1);           /* keyEncipherment */
	if (ok && spec->ca)
		ok = ASN1_BIT_STRING_set_bit(ku, 5, 1) && ASN1_BIT_STRING_set_bit(ku, 6, 1); /* keyCertSign, cRLSign */
	ok = ok && X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT);
	ASN1_BIT_STRING_free(ku);

	if (ok && spec->usage != KIP_CERT_CA) {
		EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
		ok = eku != NULL;
		if (ok && (spec->usage == KIP_CERT_SERVER || spec->usage == KIP_CERT_BOTH))
			ok = sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) > 0;
		if (ok && (spec->usage == KIP_CERT_CLIENT || spec->usage == KIP_CERT_BOTH))
			ok = sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) > 0;
		ok = ok && X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT);
		sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free); /* the objects are static: free is a no-op */
	}

	ASN1_OCTET_STRING *ski = ok ? key_id(x) : NULL;
	ok = ok && ski && X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT);
	ASN1_OCTET_STRING_free(ski);

	if (ok && issuer) {
		AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
		const ASN1_OCTET_STRING *issuer_ski = X509_get0_subject_key_id(issuer);
		ok = akid != NULL;
		if (ok)
			akid->keyid = issuer_ski ? ASN1_OCTET_STRING_dup(issuer_ski) : key_id(issuer);
		ok = ok && akid->keyid && X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT);
		AUTHORITY_KEYID_free(akid);
	}
	return ok ? 0 : kip_ossl_err(err, KIP_EIO, "cannot add the certificate extensions");
}

/* Checks what kip_cert_create refuses as KIP_EINVAL before anything is built. */
static int check_spec(const struct kip_cert_spec *spec, const struct kip_key *signer,
                      struct kip_err *err)
{
	if (spec->usage == KIP_CERT_CA && !spec->ca)
		return kip_err_set(err, KIP_EINVAL, "usage 'ca' needs a CA certificate");
	if (!kip_key_is_private(signer))
		return kip_err_set(err, KIP_EINVAL, "the %s key has no private part to sign with",
		                   spec->issuer ? "issuer" : "certificate's");
	if (!spec->issuer)
		return 0;
	X509 *ix = kip_cert_x509(spec->issuer);
	if (!kip_cert_is_ca(spec->issuer))
		return kip_err_set(err, KIP_EINVAL, "the issuer certificate is not a CA");
	EVP_PKEY *ipub = X509_get0_pubkey(ix);
	bool match = ipub && EVP_PKEY_eq(ipub, kip_key_pkey(signer)) == 1;
	ERR_clear_error();
	if (!match)
		return kip_err_set(err, KIP_EINVAL, "the issuer key does not match the issuer certificate");
	return 0;
}

int kip_cert_create(const struct kip_cert_spec *spec, struct kip_cert **out, struct kip_err *err)
{
	*out = NULL;
	const struct kip_key *signer = spec->issuer ? spec->issuer_key : spec->key;
	if (!signer)
		return kip_err_set(err, KIP_EINVAL, "no issuer key");
	int rc = check_spec(spec, signer, err);
	if (rc)
		return rc;
	X509 *issuer = spec->issuer ? kip_cert_x509(spec->issuer) : NULL;
	X509 *x = X509_new();
	if (!x)
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	if (!X509_set_version(x, X509_VERSION_3) || !X509_set_pubkey(x, kip_key_pkey(spec->key))) {
		rc = kip_ossl_err(err, KIP_EIO, "cannot set up the certificate");
		goto fail;
	}
	if ((rc = set_subject(x, spec, err)) || (rc = set_serial(x, err)) || (rc = set_validity(x, spec, err)))
		goto fail;
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x))) {
		rc = kip_ossl_err(err, KIP_EIO, "cannot set the issuer name");
		goto fail;
	}
	if ((rc = add_extensions(x, issuer, spec, err)) || (rc = add_sans(x, spec, err)))
		goto fail;
	const char *md_name = kip_key_digest_name(signer);
	const EVP_MD *md = md_name ? EVP_get_digestbyname(md_name) : NULL;
	if ((md_name && !md) || X509_sign(x, kip_key_pkey(signer), md) <= 0) {
		rc = kip_ossl_err(err, KIP_EIO, "cannot sign the certificate");
		goto fail;
	}
	ERR_clear_error();
	return kip_cert_wrap(x, out, err);
fail:
	X509_free(x);
	return rc;
}
