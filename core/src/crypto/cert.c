/* SPDX-License-Identifier: Apache-2.0
 * X.509 certificates, the reading side of kip/cert.h: loading PEM and DER, PEM/DER output,
 * fingerprints, validity, names, SANs, CA status, serial and issuer signature checks. Creation is
 * in cert_create.c. Uses OpenSSL 3 (X509, PEM, GENERAL_NAMES) and kip/crypto.h. */
#define _DEFAULT_SOURCE /* timegm */
#include "kip/cert.h"

#include <arpa/inet.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kip/crypto.h"
#include "ossl.h"

struct kip_cert {
	X509 *x;
};

int kip_cert_wrap(X509 *x, struct kip_cert **out, struct kip_err *err)
{
	*out = calloc(1, sizeof **out);
	if (!*out) {
		X509_free(x);
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	}
	(*out)->x = x;
	return 0;
}

X509 *kip_cert_x509(const struct kip_cert *cert)
{
	return cert->x;
}

void kip_cert_free(struct kip_cert *cert)
{
	if (!cert)
		return;
	X509_free(cert->x);
	free(cert);
}

/* Certificates carry no password, but a PEM header could ask for one: never prompt. */
static int cert_no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Whether the most recent OpenSSL error says the PEM input has no more blocks. */
static bool pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();
	return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

static int no_certificate(struct kip_err *err)
{
	ERR_clear_error(); /* "no start line" says no more */
	return kip_err_set(err, KIP_EINVAL, "no certificate found in the PEM data");
}

int kip_cert_load_pem(const char *pem, size_t len, struct kip_cert **out, struct kip_err *err)
{
	*out = NULL;
	if (len > INT_MAX)
		return kip_err_set(err, KIP_EINVAL, "certificate data too large");
	X509 *x = NULL;
	if (len > 0 && (unsigned char)pem[0] == 0x30) { /* a DER SEQUENCE */
		const unsigned char *p = (const unsigned char *)pem;
		x = d2i_X509(NULL, &p, (long)len);
		if (!x)
			return kip_ossl_err(err, KIP_EINVAL, "cannot parse the DER certificate");
	} else {
		BIO *bio = BIO_new_mem_buf(pem, (int)len);
		if (!bio)
			return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
		x = PEM_read_bio_X509(bio, NULL, cert_no_password, NULL);
		BIO_free(bio);
		if (!x) {
			if (pem_at_end())
				return no_certificate(err);
			return kip_ossl_err(err, KIP_EINVAL, "cannot parse the PEM certificate");
		}
	}
	ERR_clear_error();
	return kip_cert_wrap(x, out, err);
}

int kip_cert_load_bundle(const char *pem, size_t len, struct kip_cert ***certs, size_t *count,
                         struct kip_err *err)
{
	*certs = NULL;
	*count = 0;
	if (len > INT_MAX)
		return kip_err_set(err, KIP_EINVAL, "certificate data too large");
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	struct kip_cert **v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (;;) {
		X509 *x = PEM_read_bio_X509(bio, NULL, cert_no_password, NULL);
		if (!x) {
			if (!pem_at_end())
				rc = kip_ossl_err(err, KIP_EINVAL, "cannot parse certificate %zu of the PEM bundle", n + 1);
			else if (n == 0)
				rc = no_certificate(err);
			else
				ERR_clear_error();
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 4;
			struct kip_cert **nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				X509_free(x);
				rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = ncap;
		}
		rc = kip_cert_wrap(x, &v[n], err);
		if (rc)
			break;
		n++;
	}
	BIO_free(bio);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			kip_cert_free(v[i]);
		free(v);
		return rc;
	}
	*certs = v;
	*count = n;
	return 0;
}

int kip_cert_pem(const struct kip_cert *cert, char **out, size_t *len, struct kip_err *err)
{
	*out = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	int rc = PEM_write_bio_X509(bio, cert->x) ? kip_ossl_bio_copy(bio, out, len, err)
	                                          : kip_ossl_err(err, KIP_EIO, "cannot write the certificate");
	BIO_free(bio);
	return rc;
}

int kip_cert_der(const struct kip_cert *cert, unsigned char **out, size_t *len, struct kip_err *err)
{
	*out = NULL;
	unsigned char *der = NULL;
	int n = i2d_X509(cert->x, &der);
	if (n <= 0)
		return kip_ossl_err(err, KIP_EIO, "cannot encode the certificate");
	*out = malloc((size_t)n);
	if (*out) {
		memcpy(*out, der, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(der);
	return *out ? 0 : kip_err_set(err, KIP_ENOMEM, "out of memory");
}

int kip_cert_fingerprint(const struct kip_cert *cert, const char *alg, unsigned char *out,
                         size_t *out_len, struct kip_err *err)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert->x, &der);
	if (n <= 0)
		return kip_ossl_err(err, KIP_EIO, "cannot encode the certificate");
	int rc = kip_crypto_digest(alg, der, (size_t)n, out, out_len, err);
	OPENSSL_free(der);
	return rc;
}

/* An ASN1_TIME as Unix seconds. */
static int time_of(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int kip_cert_validity(const struct kip_cert *cert, int64_t *not_before, int64_t *not_after,
                      struct kip_err *err)
{
	if (time_of(X509_get0_notBefore(cert->x), not_before) ||
	    time_of(X509_get0_notAfter(cert->x), not_after))
		return kip_ossl_err(err, KIP_EINVAL, "malformed certificate validity");
	return 0;
}

/* Appends s[0..len) and a NUL at *pool and returns where it went. */
static const char *pool_add(char **pool, const void *s, size_t len)
{
	char *at = *pool;
	memcpy(at, s, len);
	at[len] = '\0';
	*pool += len + 1;
	return at;
}

int kip_cert_name(const struct kip_cert *cert, bool issuer, struct kip_cert_name **out,
                  struct kip_err *err)
{
	*out = NULL;
	const X509_NAME *name = issuer ? X509_get_issuer_name(cert->x) : X509_get_subject_name(cert->x);
	int n = X509_NAME_entry_count(name);
	size_t count = n > 0 ? (size_t)n : 0;
	/* values as UTF-8 (OPENSSL_malloc'd), fields as short names or dotted OIDs */
	unsigned char **vals = calloc(count ? count : 1, sizeof *vals);
	int *val_lens = calloc(count ? count : 1, sizeof *val_lens);
	char (*fields)[80] = calloc(count ? count : 1, sizeof *fields);
	int rc = 0;
	size_t bytes = sizeof(struct kip_cert_name) + count * sizeof(struct kip_cert_attr);
	if (!vals || !val_lens || !fields) {
		rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, (int)i);
		const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
		int nid = OBJ_obj2nid(obj);
		if (nid != NID_undef && OBJ_nid2sn(nid))
			snprintf(fields[i], sizeof fields[i], "%s", OBJ_nid2sn(nid));
		else
			OBJ_obj2txt(fields[i], sizeof fields[i], obj, 1);
		val_lens[i] = ASN1_STRING_to_UTF8(&vals[i], X509_NAME_ENTRY_get_data(e));
		if (val_lens[i] < 0) {
			vals[i] = NULL;
			rc = kip_ossl_err(err, KIP_EINVAL, "cannot read the %s of the certificate's %s name",
			                  fields[i], issuer ? "issuer" : "subject");
			goto out;
		}
		if (memchr(vals[i], '\0', (size_t)val_lens[i])) {
			rc = kip_err_set(err, KIP_EINVAL, "the %s of the certificate's %s name contains a NUL byte",
			                 fields[i], issuer ? "issuer" : "subject");
			goto out;
		}
		bytes += strlen(fields[i]) + 1 + (size_t)val_lens[i] + 1;
	}
	struct kip_cert_name *res = malloc(bytes);
	if (!res) {
		rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
		goto out;
	}
	res->n = count;
	char *pool = (char *)&res->attr[count];
	for (size_t i = 0; i < count; i++) {
		res->attr[i].field = pool_add(&pool, fields[i], strlen(fields[i]));
		res->attr[i].value = pool_add(&pool, vals[i], (size_t)val_lens[i]);
	}
	*out = res;
out:
	for (size_t i = 0; vals && i < count; i++)
		OPENSSL_free(vals[i]);
	free(vals);
	free(val_lens);
	free(fields);
	return rc;
}

void kip_cert_name_text(const struct kip_cert *cert, bool issuer, char *buf, size_t cap)
{
	const X509_NAME *name = issuer ? X509_get_issuer_name(cert->x) : X509_get_subject_name(cert->x);
	if (cap == 0)
		return;
	buf[0] = '\0';
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio) {
		ERR_clear_error();
		return;
	}
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		char *data = NULL;
		long n = BIO_get_mem_data(bio, &data);
		size_t len = n > 0 ? (size_t)n : 0;
		if (len > cap - 1)
			len = cap - 1;
		if (len)
			memcpy(buf, data, len);
		buf[len] = '\0';
	}
	BIO_free(bio);
	ERR_clear_error();
}

/* The text of one SAN into buf (cap bytes) as kip_cert_sans shows it; its length, or 0 to skip
 * the entry (a kind kip does not show), or -1 when it is malformed. */
static int san_text(const GENERAL_NAME *gn, char *buf, size_t cap)
{
	int type;
	const void *value = GENERAL_NAME_get0_value(gn, &type);
	const ASN1_STRING *s = value;
	const char *prefix = "";
	switch (type) {
	case GEN_IPADD: {
		int len = ASN1_STRING_length(s);
		int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
		if (!af || !inet_ntop(af, ASN1_STRING_get0_data(s), buf, (socklen_t)cap))
			return -1;
		return (int)strlen(buf);
	}
	case GEN_EMAIL:
		prefix = "email:";
		/* fall through */
	case GEN_DNS:
	case GEN_URI: {
		size_t len = (size_t)ASN1_STRING_length(s), plen = strlen(prefix);
		if (plen + len + 1 > cap || memchr(ASN1_STRING_get0_data(s), '\0', len))
			return -1;
		memcpy(buf, prefix, plen);
		memcpy(buf + plen, ASN1_STRING_get0_data(s), len);
		buf[plen + len] = '\0';
		return (int)(plen + len);
	}
	default:
		return 0;
	}
}

#define SAN_MAX 1024 /* longest SAN text kip shows */

int kip_cert_sans(const struct kip_cert *cert, struct kip_cert_sans **out, struct kip_err *err)
{
	*out = NULL;
	int crit = 0;
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert->x, NID_subject_alt_name, &crit, NULL);
	if (!gens && crit != -1)
		return kip_ossl_err(err, KIP_EINVAL, "malformed subjectAltName extension");
	int n = gens ? sk_GENERAL_NAME_num(gens) : 0;
	size_t count = 0, bytes = sizeof(struct kip_cert_sans);
	char buf[SAN_MAX];
	int rc = 0;
	for (int i = 0; i < n; i++) {
		int len = san_text(sk_GENERAL_NAME_value(gens, i), buf, sizeof buf);
		if (len < 0) {
			rc = kip_err_set(err, KIP_EINVAL, "malformed subjectAltName entry %d", i + 1);
			goto out;
		}
		if (len > 0) {
			count++;
			bytes += sizeof(const char *) + (size_t)len + 1;
		}
	}
	struct kip_cert_sans *res = malloc(bytes);
	if (!res) {
		rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
		goto out;
	}
	res->n = 0;
	char *pool = (char *)&res->san[count];
	for (int i = 0; i < n; i++) {
		int len = san_text(sk_GENERAL_NAME_value(gens, i), buf, sizeof buf);
		if (len > 0)
			res->san[res->n++] = pool_add(&pool, buf, (size_t)len);
	}
	*out = res;
out:
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return rc;
}

bool kip_cert_is_ca(const struct kip_cert *cert)
{
	bool ca = (X509_get_extension_flags(cert->x) & EXFLAG_CA) != 0;
	ERR_clear_error();
	return ca;
}

int kip_cert_serial(const struct kip_cert *cert, unsigned char *out, size_t cap, size_t *len,
                    struct kip_err *err)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->x), NULL);
	if (!bn)
		return kip_ossl_err(err, KIP_EINVAL, "malformed serial number");
	int rc = 0;
	if (BN_is_negative(bn) || (size_t)BN_num_bytes(bn) > cap)
		rc = kip_err_set(err, KIP_EINVAL, "the serial number is negative or longer than %zu bytes", cap);
	else
		*len = (size_t)BN_bn2bin(bn, out);
	BN_free(bn);
	return rc;
}

bool kip_cert_verify(const struct kip_cert *cert, const struct kip_cert *issuer)
{
	EVP_PKEY *pub = X509_get0_pubkey(issuer->x);
	bool ok = pub && X509_NAME_cmp(X509_get_subject_name(issuer->x), X509_get_issuer_name(cert->x)) == 0 &&
	          X509_verify(cert->x, pub) == 1;
	ERR_clear_error();
	return ok;
}

int kip_cert_public_key(const struct kip_cert *cert, struct kip_key **out, struct kip_err *err)
{
	*out = NULL;
	EVP_PKEY *pub = X509_get_pubkey(cert->x);
	if (!pub)
		return kip_ossl_err(err, KIP_EINVAL, "cannot read the certificate's public key");
	return kip_key_wrap(pub, false, out, err);
}
