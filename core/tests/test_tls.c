/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the crypto services behind kip.tls: SHA-256 and HMAC-SHA256 vectors (FIPS 180,
 * RFC 4231), base64/base64url (RFC 4648) and hex, random bytes, key generation, PEM round trips,
 * signatures in both ECDSA forms, a CA -> server/client chain checked with X509_verify_cert, and
 * the error paths. Uses check.h, kip/tls.h and OpenSSL's X509_STORE as the independent verifier. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "crypto/ossl.h"
#include "kip/tls.h"

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	kip_hex_encode(out, b, n, 0);
}

static void test_sha256_vectors(void)
{
	unsigned char md[KIP_SHA256_LEN];
	char hex[2 * KIP_SHA256_LEN + 1];
	struct kip_err err = {0};
	CHECK(kip_crypto_sha256("abc", 3, md, &err) == 0);
	hex_of(md, sizeof md, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(kip_crypto_sha256("", 0, md, &err) == 0);
	hex_of(md, sizeof md, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	CHECK(kip_crypto_sha256(two, strlen(two), md, &err) == 0);
	hex_of(md, sizeof md, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	unsigned char out[KIP_DIGEST_MAX_LEN];
	size_t len = 0;
	CHECK(kip_crypto_digest("sha1", "abc", 3, out, &len, &err) == 0 && len == 20);
	char h1[41];
	hex_of(out, len, h1);
	CHECK_STR(h1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	CHECK(kip_crypto_digest("SHA512", "abc", 3, out, &len, &err) == 0 && len == 64);
	CHECK(kip_crypto_digest("md5", "abc", 3, out, &len, &err) == KIP_EINVAL);
	CHECK(strstr(err.msg, "md5") != NULL);
}

static void test_hmac_vectors(void)
{
	unsigned char mac[KIP_SHA256_LEN];
	char hex[2 * KIP_SHA256_LEN + 1];
	struct kip_err err = {0};
	/* RFC 4231 test case 2 */
	const char *data = "what do ya want for nothing?";
	CHECK(kip_crypto_hmac_sha256("Jefe", 4, data, strlen(data), mac, &err) == 0);
	hex_of(mac, sizeof mac, hex);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 4231 test case 1 */
	unsigned char key[20];
	memset(key, 0x0b, sizeof key);
	CHECK(kip_crypto_hmac_sha256(key, sizeof key, "Hi There", 8, mac, &err) == 0);
	hex_of(mac, sizeof mac, hex);
	CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* RFC 4231 test case 6: a key longer than the block size */
	unsigned char long_key[131];
	memset(long_key, 0xaa, sizeof long_key);
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	CHECK(kip_crypto_hmac_sha256(long_key, sizeof long_key, msg, strlen(msg), mac, &err) == 0);
	hex_of(mac, sizeof mac, hex);
	CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* an empty key is allowed */
	CHECK(kip_crypto_hmac_sha256("", 0, "", 0, mac, &err) == 0);
	hex_of(mac, sizeof mac, hex);
	CHECK_STR(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_random_and_equal(void)
{
	unsigned char a[64], b[64];
	struct kip_err err = {0};
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	CHECK(kip_crypto_random(a, sizeof a, &err) == 0);
	CHECK(kip_crypto_random(b, sizeof b, &err) == 0);
	CHECK(memcmp(a, b, sizeof a) != 0);
	CHECK(kip_crypto_random(a, 0, &err) == 0);
	CHECK(kip_crypto_equal("abc", 3, "abc", 3));
	CHECK(!kip_crypto_equal("abc", 3, "abd", 3));
	CHECK(!kip_crypto_equal("abc", 3, "abcd", 4));
	CHECK(kip_crypto_equal("", 0, "", 0));
}

/* Encodes then compares; decodes back and compares. */
static void b64_case(const char *in, const char *std, const char *url)
{
	char enc[64];
	unsigned char dec[64];
	size_t n = strlen(in), len = 0;
	struct kip_err err = {0};
	CHECK(kip_base64_encoded_len(n, KIP_BASE64_STD) == strlen(std));
	CHECK(kip_base64_encode(enc, in, n, KIP_BASE64_STD) == strlen(std));
	CHECK_STR(enc, std);
	CHECK(kip_base64_encoded_len(n, KIP_BASE64_URL) == strlen(url));
	CHECK(kip_base64_encode(enc, in, n, KIP_BASE64_URL) == strlen(url));
	CHECK_STR(enc, url);
	CHECK(kip_base64_decode(dec, &len, std, strlen(std), KIP_BASE64_STD, &err) == 0);
	CHECK(len == n && memcmp(dec, in, n) == 0);
	CHECK(kip_base64_decode(dec, &len, url, strlen(url), KIP_BASE64_URL, &err) == 0);
	CHECK(len == n && memcmp(dec, in, n) == 0);
	CHECK(kip_base64_decode(dec, &len, url, strlen(url), KIP_BASE64_STD, &err) == 0); /* no padding */
	CHECK(len == n && memcmp(dec, in, n) == 0);
	CHECK(kip_base64_decode(dec, &len, std, strlen(std), KIP_BASE64_URL, &err) == 0); /* padding */
	CHECK(len == n && memcmp(dec, in, n) == 0);
}

static void test_base64(void)
{
	/* RFC 4648 section 10 */
	b64_case("", "", "");
	b64_case("f", "Zg==", "Zg");
	b64_case("fo", "Zm8=", "Zm8");
	b64_case("foo", "Zm9v", "Zm9v");
	b64_case("foob", "Zm9vYg==", "Zm9vYg");
	b64_case("fooba", "Zm9vYmE=", "Zm9vYmE");
	b64_case("foobar", "Zm9vYmFy", "Zm9vYmFy");

	unsigned char bin[] = {0xfb, 0xff, 0xbf};
	char enc[8];
	kip_base64_encode(enc, bin, 3, KIP_BASE64_STD);
	CHECK_STR(enc, "+/+/");
	kip_base64_encode(enc, bin, 3, KIP_BASE64_URL);
	CHECK_STR(enc, "-_-_");

	unsigned char dec[64];
	size_t len;
	struct kip_err err = {0};
	CHECK(kip_base64_decode(dec, &len, "Zm9v\r\nYmFy\n", 11, KIP_BASE64_STD, &err) == 0 && len == 6);
	const char *bad_std[] = {"Zm9v!", "-_-_", "Z", "Zm9vY", "Zg=", "Zg===", "Zm8==", "Zh==", "Zm9=",
	                         "Zg==Zg==", "=Zg", "Zm 9v"};
	for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++) {
		memset(&err, 0, sizeof err);
		CHECK(kip_base64_decode(dec, &len, bad_std[i], strlen(bad_std[i]), KIP_BASE64_STD, &err) == KIP_EINVAL);
		CHECK(strstr(err.msg, "invalid base64") != NULL);
	}
	CHECK(kip_base64_decode(dec, &len, "+/+/", 4, KIP_BASE64_URL, &err) == KIP_EINVAL);
	CHECK(strstr(err.msg, "base64url") && strstr(err.msg, "offset 0"));

	char hex[16];
	CHECK(kip_hex_encode(hex, "\x01\xab\xff", 3, 0) == 6);
	CHECK_STR(hex, "01abff");
	CHECK(kip_hex_encode(hex, "\x01\xab\xff", 3, ':') == 8);
	CHECK_STR(hex, "01:AB:FF");
	CHECK(kip_hex_encode(hex, "", 0, ':') == 0 && hex[0] == '\0');
}

static const char *const key_types[] = {"ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048"};

static void test_keys_sign_verify(void)
{
	const char *msg = "header.payload";
	for (size_t i = 0; i < sizeof key_types / sizeof key_types[0]; i++) {
		struct kip_key *key = NULL, *loaded = NULL, *pub = NULL, *pub2 = NULL;
		struct kip_err err = {0};
		CHECK(kip_key_generate(key_types[i], &key, &err) == 0 && key);
		if (!key)
			continue;
		CHECK_STR(kip_key_type(key), key_types[i]);
		CHECK(kip_key_is_private(key));

		char *pem = NULL, *pub_pem = NULL;
		size_t len = 0, pub_len = 0;
		CHECK(kip_key_private_pem(key, &pem, &len, &err) == 0);
		CHECK(pem && strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0 && strlen(pem) == len);
		CHECK(kip_key_public_pem(key, &pub_pem, &pub_len, &err) == 0);
		CHECK(pub_pem && strncmp(pub_pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
		CHECK(kip_key_load_pem(pem, len, &loaded, &err) == 0 && loaded && kip_key_is_private(loaded));
		CHECK(kip_key_load_pem(pub_pem, pub_len, &pub, &err) == 0 && pub && !kip_key_is_private(pub));
		CHECK(kip_key_public(key, &pub2, &err) == 0 && pub2 && !kip_key_is_private(pub2));
		if (loaded && pub && pub2) {
			CHECK(kip_key_equal_public(key, loaded) && kip_key_equal_public(key, pub));
			CHECK(kip_key_equal_public(pub2, pub));
			CHECK_STR(kip_key_type(pub), key_types[i]);

			unsigned char *sig = NULL, *der = NULL;
			size_t sig_len = 0, der_len = 0;
			CHECK(kip_key_sign(loaded, msg, strlen(msg), KIP_SIG_RAW, &sig, &sig_len, &err) == 0);
			CHECK(kip_key_sign(key, msg, strlen(msg), KIP_SIG_DER, &der, &der_len, &err) == 0);
			if (kip_key_kind(key) == KIP_KEY_ED25519)
				CHECK(sig_len == 64 && der_len == 64);
			if (strcmp(key_types[i], "ecdsa-p256") == 0)
				CHECK(sig_len == 64 && der && der[0] == 0x30);
			if (strcmp(key_types[i], "ecdsa-p521") == 0)
				CHECK(sig_len == 132);
			if (kip_key_kind(key) == KIP_KEY_RSA)
				CHECK(sig_len == 256 && der_len == 256);
			CHECK(kip_key_verify(pub, msg, strlen(msg), sig, sig_len));
			CHECK(kip_key_verify(pub, msg, strlen(msg), der, der_len));
			CHECK(!kip_key_verify(pub, "other", 5, sig, sig_len));
			CHECK(!kip_key_verify(pub, msg, strlen(msg), sig, sig_len - 1));
			CHECK(!kip_key_verify(pub, msg, strlen(msg), "", 0));
			sig[sig_len / 2] ^= 1;
			CHECK(!kip_key_verify(pub, msg, strlen(msg), sig, sig_len));
			CHECK(ERR_peek_error() == 0);
			free(sig);
			free(der);

			/* a public key cannot sign or give a private PEM */
			char *none = NULL;
			CHECK(kip_key_sign(pub, msg, 3, KIP_SIG_RAW, &sig, &sig_len, &err) == KIP_EINVAL && !sig);
			CHECK(kip_key_private_pem(pub, &none, &len, &err) == KIP_EINVAL && !none);
		}
		free(pem);
		free(pub_pem);
		kip_key_free(key);
		kip_key_free(loaded);
		kip_key_free(pub);
		kip_key_free(pub2);
	}
}

/* Ed25519 vector from RFC 8032 section 7.1, test 1, with the key in PKCS#8 form. */
static void test_ed25519_vector(void)
{
	/* 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60 wrapped in PKCS#8 */
	const char *pem = "-----BEGIN PRIVATE KEY-----\n"
	                  "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	                  "-----END PRIVATE KEY-----\n";
	struct kip_key *key = NULL;
	struct kip_err err = {0};
	CHECK(kip_key_load_pem(pem, strlen(pem), &key, &err) == 0 && key);
	if (!key)
		return;
	unsigned char *sig = NULL;
	size_t len = 0;
	CHECK(kip_key_sign(key, "", 0, KIP_SIG_RAW, &sig, &len, &err) == 0 && len == 64);
	char hex[129];
	if (sig)
		hex_of(sig, len, hex);
	CHECK_STR(hex, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	               "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	free(sig);
	kip_key_free(key);
}

static void test_key_errors(void)
{
	struct kip_key *key = (struct kip_key *)1;
	struct kip_err err = {0};
	CHECK(kip_key_generate("dsa", &key, &err) == KIP_EINVAL && key == NULL);
	CHECK(strstr(err.msg, "unknown key type 'dsa'") != NULL);
	CHECK(kip_key_load_pem("hello", 5, &key, &err) == KIP_EINVAL && key == NULL);
	CHECK(strstr(err.msg, "no private or public key") != NULL);
	const char *broken = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1h\n-----END PRIVATE KEY-----\n";
	CHECK(kip_key_load_pem(broken, strlen(broken), &key, &err) == KIP_EINVAL && key == NULL);
	CHECK(strstr(err.msg, "cannot parse the PEM private key") != NULL);
	/* an encrypted key is refused without prompting */
	struct kip_key *k = NULL;
	CHECK(kip_key_generate("ecdsa-p256", &k, &err) == 0);
	BIO *bio = BIO_new(BIO_s_mem());
	CHECK(PEM_write_bio_PKCS8PrivateKey(bio, kip_key_pkey(k), EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret"));
	char *enc = NULL;
	size_t len = 0;
	CHECK(kip_ossl_bio_copy(bio, &enc, &len, &err) == 0);
	CHECK(strstr(enc, "ENCRYPTED PRIVATE KEY") != NULL);
	CHECK(kip_key_load_pem(enc, len, &key, &err) == KIP_EINVAL && key == NULL);
	CHECK(strstr(err.msg, "encrypted") != NULL);
	free(enc);
	BIO_free(bio);
	/* X25519 is a key OpenSSL knows but kip does not sign with */
	EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	CHECK(kip_key_wrap(x, true, &key, &err) == KIP_EINVAL && key == NULL);
	CHECK(strstr(err.msg, "unsupported key type") != NULL);
	kip_key_free(k);
	CHECK(ERR_peek_error() == 0);
}

struct chain {
	struct kip_key *ca_key, *server_key, *client_key;
	struct kip_cert *ca, *server, *client;
};

static void chain_free(struct chain *c)
{
	kip_key_free(c->ca_key);
	kip_key_free(c->server_key);
	kip_key_free(c->client_key);
	kip_cert_free(c->ca);
	kip_cert_free(c->server);
	kip_cert_free(c->client);
}

/* Builds what k3s writes: a P-256 CA, a server certificate for localhost and 127.0.0.1, and a
 * system:admin client certificate. */
static int chain_make(struct chain *c, const char *leaf_type)
{
	struct kip_err err = {0};
	memset(c, 0, sizeof *c);
	int64_t now = (int64_t)time(NULL);
	if (kip_key_generate("ecdsa-p256", &c->ca_key, &err) || kip_key_generate(leaf_type, &c->server_key, &err) ||
	    kip_key_generate(leaf_type, &c->client_key, &err))
		return -1;
	const struct kip_cert_attr ca_subject[] = {{"CN", "kip-server-ca@1700000000"}};
	struct kip_cert_spec spec = {
		.subject = ca_subject, .subject_len = 1, .key = c->ca_key, .ca = true,
		.usage = KIP_CERT_CA, .not_before = now, .not_after = now + 3650 * 86400,
	};
	if (kip_cert_create(&spec, &c->ca, &err))
		return -1;
	const struct kip_cert_attr server_subject[] = {{"CN", "kube-apiserver"}};
	const char *const sans[] = {"localhost", "127.0.0.1", "::1", "*.example.com"};
	struct kip_cert_spec server = {
		.subject = server_subject, .subject_len = 1, .sans = sans, .sans_len = 4,
		.key = c->server_key, .issuer = c->ca, .issuer_key = c->ca_key, .usage = KIP_CERT_SERVER,
		.not_before = now, .not_after = now + 365 * 86400,
	};
	if (kip_cert_create(&server, &c->server, &err))
		return -1;
	const struct kip_cert_attr client_subject[] = {{"O", "system:masters"}, {"CN", "system:admin"}};
	struct kip_cert_spec client = {
		.subject = client_subject, .subject_len = 2, .key = c->client_key, .issuer = c->ca,
		.issuer_key = c->ca_key, .usage = KIP_CERT_CLIENT, .not_before = now, .not_after = now + 365 * 86400,
	};
	return kip_cert_create(&client, &c->client, &err) ? -1 : 0;
}

/* X509_verify_cert of leaf against ca as the only trust anchor, for purpose (X509_PURPOSE_*) and
 * host (or NULL); returns X509_V_OK or the verification error. */
static int openssl_verify(const struct kip_cert *ca, const struct kip_cert *leaf, int purpose, const char *host)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -1;
	if (store && ctx && X509_STORE_add_cert(store, kip_cert_x509(ca)) &&
	    X509_STORE_CTX_init(ctx, store, kip_cert_x509(leaf), NULL) &&
	    X509_STORE_CTX_set_purpose(ctx, purpose) &&
	    (!host || X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0)))
		rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return rc;
}

static void test_chain(void)
{
	const char *types[] = {"ecdsa-p256", "ed25519", "rsa-2048"};
	for (size_t t = 0; t < 3; t++) {
		struct chain c;
		CHECK(chain_make(&c, types[t]) == 0);
		if (!c.client) {
			chain_free(&c);
			continue;
		}
		CHECK(kip_cert_is_ca(c.ca) && !kip_cert_is_ca(c.server) && !kip_cert_is_ca(c.client));
		CHECK(kip_cert_verify(c.server, c.ca) && kip_cert_verify(c.client, c.ca) && kip_cert_verify(c.ca, c.ca));
		CHECK(!kip_cert_verify(c.ca, c.server) && !kip_cert_verify(c.server, c.client));
		CHECK(openssl_verify(c.ca, c.server, X509_PURPOSE_SSL_SERVER, "localhost") == X509_V_OK);
		CHECK(openssl_verify(c.ca, c.server, X509_PURPOSE_SSL_SERVER, "foo.example.com") == X509_V_OK);
		CHECK(openssl_verify(c.ca, c.server, X509_PURPOSE_SSL_SERVER, "example.org") == X509_V_ERR_HOSTNAME_MISMATCH);
		CHECK(openssl_verify(c.ca, c.server, X509_PURPOSE_SSL_CLIENT, NULL) == X509_V_ERR_INVALID_PURPOSE);
		CHECK(openssl_verify(c.ca, c.client, X509_PURPOSE_SSL_CLIENT, NULL) == X509_V_OK);
		CHECK(openssl_verify(c.ca, c.client, X509_PURPOSE_SSL_SERVER, NULL) == X509_V_ERR_INVALID_PURPOSE);
		CHECK(openssl_verify(c.ca, c.ca, X509_PURPOSE_ANY, NULL) == X509_V_OK);
		/* a certificate signed by another CA does not verify */
		struct chain other;
		CHECK(chain_make(&other, "ed25519") == 0);
		if (other.ca)
			CHECK(openssl_verify(other.ca, c.server, X509_PURPOSE_SSL_SERVER, NULL) ==
			      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
		CHECK(!kip_cert_verify(c.server, other.ca));
		chain_free(&other);

		struct kip_err err = {0};
		struct kip_cert_sans *sans = NULL;
		CHECK(kip_cert_sans(c.server, &sans, &err) == 0 && sans && sans->n == 4);
		if (sans && sans->n == 4) {
			CHECK_STR(sans->san[0], "localhost");
			CHECK_STR(sans->san[1], "127.0.0.1");
			CHECK_STR(sans->san[2], "::1");
			CHECK_STR(sans->san[3], "*.example.com");
		}
		free(sans);
		CHECK(kip_cert_sans(c.client, &sans, &err) == 0 && sans && sans->n == 0);
		free(sans);

		struct kip_cert_name *name = NULL;
		CHECK(kip_cert_name(c.client, false, &name, &err) == 0 && name && name->n == 2);
		if (name && name->n == 2) {
			CHECK_STR(name->attr[0].field, "O");
			CHECK_STR(name->attr[0].value, "system:masters");
			CHECK_STR(name->attr[1].field, "CN");
			CHECK_STR(name->attr[1].value, "system:admin");
		}
		free(name);
		CHECK(kip_cert_name(c.client, true, &name, &err) == 0 && name && name->n == 1);
		if (name && name->n == 1)
			CHECK_STR(name->attr[0].value, "kip-server-ca@1700000000");
		free(name);
		char text[256];
		kip_cert_name_text(c.client, false, text, sizeof text);
		CHECK_STR(text, "CN=system:admin,O=system:masters");
		kip_cert_name_text(c.client, false, text, 6);
		CHECK_STR(text, "CN=sy");

		int64_t nb = 0, na = 0;
		CHECK(kip_cert_validity(c.server, &nb, &na, &err) == 0);
		CHECK(na - nb == 365 * 86400 && nb <= (int64_t)time(NULL) && nb > (int64_t)time(NULL) - 60);

		unsigned char serial[20];
		size_t serial_len = 0;
		CHECK(kip_cert_serial(c.server, serial, sizeof serial, &serial_len, &err) == 0);
		CHECK(serial_len == 16 && (serial[0] & 0xc0) == 0x40);

		/* the public key in the certificate is the server key */
		struct kip_key *pub = NULL;
		CHECK(kip_cert_public_key(c.server, &pub, &err) == 0 && pub);
		CHECK(pub && kip_key_equal_public(pub, c.server_key) && !kip_key_is_private(pub));
		kip_key_free(pub);
		CHECK(ERR_peek_error() == 0);
		chain_free(&c);
	}
}

static void test_cert_pem_der(void)
{
	struct chain c;
	struct kip_err err = {0};
	CHECK(chain_make(&c, "ecdsa-p256") == 0);
	char *pem = NULL, *pem2 = NULL;
	unsigned char *der = NULL;
	size_t pem_len = 0, pem2_len = 0, der_len = 0;
	CHECK(kip_cert_pem(c.server, &pem, &pem_len, &err) == 0);
	CHECK(pem && strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	CHECK(kip_cert_der(c.server, &der, &der_len, &err) == 0 && der && der[0] == 0x30);

	struct kip_cert *again = NULL, *from_der = NULL;
	CHECK(kip_cert_load_pem(pem, pem_len, &again, &err) == 0 && again);
	CHECK(kip_cert_load_pem((const char *)der, der_len, &from_der, &err) == 0 && from_der);
	CHECK(kip_cert_pem(again, &pem2, &pem2_len, &err) == 0 && pem2_len == pem_len && strcmp(pem, pem2) == 0);
	unsigned char fp1[KIP_DIGEST_MAX_LEN], fp2[KIP_DIGEST_MAX_LEN], fp3[KIP_SHA256_LEN];
	size_t l1 = 0, l2 = 0;
	CHECK(kip_cert_fingerprint(c.server, "sha256", fp1, &l1, &err) == 0 && l1 == 32);
	CHECK(kip_cert_fingerprint(from_der, "sha256", fp2, &l2, &err) == 0 && l2 == 32);
	CHECK(kip_crypto_sha256(der, der_len, fp3, &err) == 0);
	CHECK(memcmp(fp1, fp2, 32) == 0 && memcmp(fp1, fp3, 32) == 0);
	CHECK(kip_cert_fingerprint(c.server, "sha1", fp1, &l1, &err) == 0 && l1 == 20);
	CHECK(kip_cert_fingerprint(c.server, "crc32", fp1, &l1, &err) == KIP_EINVAL);
	CHECK(again && kip_cert_verify(again, c.ca));

	/* a bundle: text around the blocks is skipped, a key block too */
	char *ca_pem = NULL, *key_pem = NULL;
	size_t ca_len = 0, key_len = 0;
	CHECK(kip_cert_pem(c.ca, &ca_pem, &ca_len, &err) == 0);
	CHECK(kip_key_private_pem(c.server_key, &key_pem, &key_len, &err) == 0);
	size_t blen = pem_len + ca_len + key_len + 64;
	char *bundle = malloc(blen);
	snprintf(bundle, blen, "server:\n%s%s\nca:\n%s", pem, key_pem, ca_pem);
	struct kip_cert **certs = NULL;
	size_t count = 0;
	CHECK(kip_cert_load_bundle(bundle, strlen(bundle), &certs, &count, &err) == 0 && count == 2);
	if (count == 2) {
		CHECK(kip_cert_verify(certs[0], certs[1]) && kip_cert_is_ca(certs[1]));
		/* the same text holds the key for kip_key_load_pem */
		struct kip_key *k = NULL;
		CHECK(kip_key_load_pem(bundle, strlen(bundle), &k, &err) == 0 && k && kip_key_equal_public(k, c.server_key));
		kip_key_free(k);
	}
	for (size_t i = 0; i < count; i++)
		kip_cert_free(certs[i]);
	free(certs);

	/* a broken block in the middle fails the whole bundle */
	char *mid = strstr(bundle, "ca:\n-----BEGIN CERTIFICATE-----\n");
	CHECK(mid != NULL);
	if (mid)
		mid[40] = mid[40] == 'A' ? 'B' : 'A';
	CHECK(kip_cert_load_bundle(bundle, strlen(bundle), &certs, &count, &err) == KIP_EINVAL && !certs);
	CHECK(strstr(err.msg, "certificate 2") != NULL);
	free(bundle);

	CHECK(kip_cert_load_bundle("nothing", 7, &certs, &count, &err) == KIP_EINVAL && !certs && count == 0);
	CHECK(strstr(err.msg, "no certificate found") != NULL);
	struct kip_cert *none = NULL;
	CHECK(kip_cert_load_pem("nothing", 7, &none, &err) == KIP_EINVAL && !none);
	CHECK(kip_cert_load_pem(key_pem, key_len, &none, &err) == KIP_EINVAL && !none);
	CHECK(kip_cert_load_pem("\x30\x03\x02\x01\x01", 5, &none, &err) == KIP_EINVAL && !none);
	CHECK(strstr(err.msg, "DER") != NULL);
	const char *garbled = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	CHECK(kip_cert_load_pem(garbled, strlen(garbled), &none, &err) == KIP_EINVAL && !none);
	CHECK(strstr(err.msg, "cannot parse") != NULL);
	CHECK(ERR_peek_error() == 0);

	free(pem);
	free(pem2);
	free(der);
	free(ca_pem);
	free(key_pem);
	kip_cert_free(again);
	kip_cert_free(from_der);
	chain_free(&c);
}

static void test_cert_errors(void)
{
	struct kip_key *ca_key = NULL, *leaf_key = NULL, *other = NULL, *pub = NULL;
	struct kip_cert *ca = NULL, *leaf = NULL, *out = (struct kip_cert *)1;
	struct kip_err err = {0};
	CHECK(kip_key_generate("ecdsa-p256", &ca_key, &err) == 0);
	CHECK(kip_key_generate("ed25519", &leaf_key, &err) == 0);
	CHECK(kip_key_generate("ecdsa-p256", &other, &err) == 0);
	CHECK(kip_key_public(leaf_key, &pub, &err) == 0);
	int64_t now = (int64_t)time(NULL);
	const struct kip_cert_attr cn[] = {{"CN", "x"}};
	struct kip_cert_spec s = {.subject = cn, .subject_len = 1, .key = ca_key, .ca = true,
	                          .usage = KIP_CERT_CA, .not_before = now, .not_after = now + 86400};
	CHECK(kip_cert_create(&s, &ca, &err) == 0);
	struct kip_cert_spec l = {.subject = cn, .subject_len = 1, .key = leaf_key, .usage = KIP_CERT_SERVER,
	                          .not_before = now, .not_after = now + 86400};
	CHECK(kip_cert_create(&l, &leaf, &err) == 0); /* self-signed leaf */

	struct kip_cert_spec bad = l;
	const char *bad_sans[] = {"localhost", "bad host"};
	bad.sans = bad_sans;
	bad.sans_len = 2;
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && out == NULL);
	CHECK(strstr(err.msg, "'bad host'") != NULL);
	const char *bad_names[] = {"", "a..b", "*", "a.*.b", "*a.b", ".a", "a.", "a/b", "1.2.3.4:80"};
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		bad.sans = &bad_names[i];
		bad.sans_len = 1;
		CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && out == NULL);
	}
	bad = l;
	const struct kip_cert_attr unknown[] = {{"XYZ", "x"}};
	bad.subject = unknown;
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && strstr(err.msg, "unknown subject field 'XYZ'"));
	const struct kip_cert_attr too_long[] = {{"C", "too long"}};
	bad.subject = too_long;
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && strstr(err.msg, "bad subject C"));
	bad = l;
	bad.not_after = bad.not_before;
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && strstr(err.msg, "validity"));
	bad.not_after = INT64_C(253402300800);
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL);
	bad = l;
	bad.not_after = INT64_C(253402300799); /* 9999-12-31: GeneralizedTime */
	CHECK(kip_cert_create(&bad, &out, &err) == 0);
	int64_t nb = 0, na = 0;
	CHECK(out && kip_cert_validity(out, &nb, &na, &err) == 0 && na == INT64_C(253402300799));
	kip_cert_free(out);
	out = NULL;
	bad = l;
	bad.usage = KIP_CERT_CA;
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && strstr(err.msg, "usage 'ca'"));
	bad = l;
	bad.key = pub; /* self-signed needs the private half */
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && strstr(err.msg, "no private part"));
	bad = l;
	bad.issuer = ca;
	bad.issuer_key = other; /* not the CA's key */
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && strstr(err.msg, "does not match"));
	bad.issuer = leaf; /* not a CA */
	bad.issuer_key = leaf_key;
	CHECK(kip_cert_create(&bad, &out, &err) == KIP_EINVAL && strstr(err.msg, "not a CA"));
	bad.issuer = ca;
	bad.issuer_key = ca_key;
	bad.key = pub; /* issuing for a public key is the normal case */
	CHECK(kip_cert_create(&bad, &out, &err) == 0 && out && kip_cert_verify(out, ca));
	kip_cert_free(out);
	CHECK(ERR_peek_error() == 0);

	kip_cert_free(ca);
	kip_cert_free(leaf);
	kip_key_free(ca_key);
	kip_key_free(leaf_key);
	kip_key_free(other);
	kip_key_free(pub);
}

int main(void)
{
	RUN(test_sha256_vectors);
	RUN(test_hmac_vectors);
	RUN(test_random_and_equal);
	RUN(test_base64);
	RUN(test_keys_sign_verify);
	RUN(test_ed25519_vector);
	RUN(test_key_errors);
	RUN(test_chain);
	RUN(test_cert_pem_der);
	RUN(test_cert_errors);
	return check_summary();
}
