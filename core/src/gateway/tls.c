/* SPDX-License-Identifier: Apache-2.0
 * The gateway's TLS (declared in tls.h): certificate sets picked by SNI with ALPN http/1.1 and
 * session resumption, the upstream client context, nonblocking handshake/read/write for the event
 * loop, the SPKI pin of a peer and a blocking fetch of a peer's chain for the registration API.
 * Uses OpenSSL 3, the crypto services (kip/cert.h, kip/key.h, kip/crypto.h, crypto/ossl.h) and
 * kip_fs_read_file. Nothing here blocks except gw_tls_fetch_peer_chain. */
#define _GNU_SOURCE
#include "gateway/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/ossl.h"
#include "kip/cert.h"
#include "kip/crypto.h"
#include "kip/fs.h"
#include "kip/key.h"

/* TLS 1.2 suites: forward secret AEADs only (Mozilla's "intermediate" list without DHE). TLS 1.3
 * keeps OpenSSL's default suites. */
#define GW_TLS12_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define GW_SESSION_TIMEOUT 7200 /* seconds a session (ticket or cache entry) may be resumed */
#define GW_SNI_MAX 253
static const unsigned char gw_alpn_http11[] = "\x08http/1.1";
static const unsigned char gw_sid_ctx[] = "kipper-gateway";

struct gw_sni_name {
	char *name;      /* lower-case; for a wildcard the part after "*." */
	size_t ctx;      /* index into ctxs */
	bool wildcard;
};

struct gw_tls_server {
	atomic_int refs;           /* owners (gw_tls_server_new, _ref) plus every live SSL of the set */
	SSL_CTX **ctxs;            /* one per pair, the first is the default */
	size_t n_ctxs;
	struct gw_sni_name *names; /* the SNI index */
	size_t n_names;
};

struct gw_tls_client {
	SSL_CTX *ctx;
};

/* ---- process-wide, made once (gw_tls_init): the SSL -> set link and the socket BIO ----
 * Each server SSL holds a reference on its set (released in SSL_free, through the ex_data free
 * callback) so the servername callback can read the SNI index after the set's owners let go of it.
 * The socket BIO is OpenSSL's with send(MSG_NOSIGNAL) for writes: a peer that resets the
 * connection gives GW_IO_ERROR, never a SIGPIPE that would end the process. */

static int gw_ssl_set_idx = -1;
static BIO_METHOD *gw_bio_method;
static pthread_once_t gw_init_once = PTHREAD_ONCE_INIT;

static void gw_ssl_set_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (ptr)
		gw_tls_server_unref(ptr);
}

static int gw_bio_write(BIO *b, const char *in, int len)
{
	int fd = (int)BIO_get_fd(b, NULL);
	errno = 0;
	ssize_t n = send(fd, in, (size_t)len, MSG_NOSIGNAL);
	BIO_clear_retry_flags(b);
	if (n <= 0 && BIO_sock_should_retry((int)n))
		BIO_set_retry_write(b);
	return (int)n;
}

static int gw_bio_puts(BIO *b, const char *str)
{
	return gw_bio_write(b, str, (int)strlen(str));
}

static void gw_init(void)
{
	gw_ssl_set_idx = SSL_get_ex_new_index(0, "gw_tls_server", NULL, NULL, gw_ssl_set_free);
	const BIO_METHOD *sock = BIO_s_socket();
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
	                             "gateway socket");
	if (m && BIO_meth_set_write(m, gw_bio_write) && BIO_meth_set_puts(m, gw_bio_puts) &&
	    BIO_meth_set_read(m, BIO_meth_get_read(sock)) && BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) &&
	    BIO_meth_set_create(m, BIO_meth_get_create(sock)) && BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock))) {
		gw_bio_method = m;
	} else {
		BIO_meth_free(m);
	}
	ERR_clear_error();
}

static int gw_tls_init(struct kip_err *err)
{
	pthread_once(&gw_init_once, gw_init);
	if (gw_ssl_set_idx < 0 || !gw_bio_method)
		return kip_err_set(err, KIP_ENOMEM, "cannot set up OpenSSL for the gateway");
	return 0;
}

/* SSL_set_fd with the gateway's socket BIO (fd stays the caller's to close). */
static int set_fd(SSL *ssl, int fd)
{
	BIO *bio = BIO_new(gw_bio_method);
	if (!bio)
		return 0;
	BIO_set_fd(bio, fd, BIO_NOCLOSE);
	SSL_set_bio(ssl, bio, bio);
	return 1;
}

static void put_err(char *err, size_t errlen, const struct kip_err *e)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", e->msg);
}

/* ---- the SNI index ---- */

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int index_add(struct gw_tls_server *s, const char *san, size_t ctx)
{
	/* only DNS names go in: skip URIs, e-mail addresses and IPv6 literals (they hold ':' or '@') */
	if (!*san || strchr(san, ':') || strchr(san, '@') || strlen(san) > GW_SNI_MAX)
		return 0;
	bool wildcard = san[0] == '*';
	if (wildcard && (san[1] != '.' || !san[2]))
		return 0; /* "*" alone or "*foo.example.com": never matched */
	char *name = strdup(wildcard ? san + 2 : san);
	if (!name)
		return -1;
	lower(name);
	size_t len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		name[len - 1] = '\0';
	struct gw_sni_name *grown = realloc(s->names, (s->n_names + 1) * sizeof *grown);
	if (!grown) {
		free(name);
		return -1;
	}
	s->names = grown;
	s->names[s->n_names++] = (struct gw_sni_name){.name = name, .ctx = ctx, .wildcard = wildcard};
	return 0;
}

/* Indexes the DNS SANs of the leaf, or its subject CNs when it has no SAN at all. */
static int index_cert(struct gw_tls_server *s, const struct kip_cert *leaf, size_t ctx, struct kip_err *err)
{
	struct kip_cert_sans *sans = NULL;
	int rc = kip_cert_sans(leaf, &sans, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < sans->n && !rc; i++)
		if (index_add(s, sans->san[i], ctx) != 0)
			rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
	size_t n_sans = sans->n;
	free(sans);
	if (rc || n_sans)
		return rc;
	struct kip_cert_name *subject = NULL;
	if (kip_cert_name(leaf, false, &subject, err) != 0)
		return 0; /* an odd subject only costs the CN fallback */
	for (size_t i = 0; i < subject->n && !rc; i++)
		if (strcmp(subject->attr[i].field, "CN") == 0 && index_add(s, subject->attr[i].value, ctx) != 0)
			rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
	free(subject);
	return rc;
}

/* The context for servername: an exact name, then a wildcard matching its first label alone,
 * then the first pair. */
static SSL_CTX *index_find(const struct gw_tls_server *s, const char *servername)
{
	char name[GW_SNI_MAX + 2];
	size_t len = servername ? strlen(servername) : 0;
	if (len == 0 || len > GW_SNI_MAX + 1)
		return s->ctxs[0];
	memcpy(name, servername, len + 1);
	lower(name);
	if (name[len - 1] == '.')
		name[--len] = '\0';
	for (size_t i = 0; i < s->n_names; i++)
		if (!s->names[i].wildcard && strcmp(s->names[i].name, name) == 0)
			return s->ctxs[s->names[i].ctx];
	const char *dot = strchr(name, '.');
	if (dot && dot > name) {
		for (size_t i = 0; i < s->n_names; i++)
			if (s->names[i].wildcard && strcmp(s->names[i].name, dot + 1) == 0)
				return s->ctxs[s->names[i].ctx];
	}
	return s->ctxs[0];
}

/* ---- server contexts ---- */

static int on_servername(SSL *ssl, int *alert, void *arg)
{
	(void)alert, (void)arg;
	const struct gw_tls_server *s = SSL_get_ex_data(ssl, gw_ssl_set_idx);
	if (!s)
		return SSL_TLSEXT_ERR_OK;
	SSL_CTX *ctx = index_find(s, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	if (ctx != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, ctx)) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* Selects http/1.1 when offered; otherwise no ALPN at all (the handshake goes on). */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg)
{
	(void)ssl, (void)arg;
	unsigned char *sel = NULL;
	unsigned char sel_len = 0;
	if (SSL_select_next_proto(&sel, &sel_len, gw_alpn_http11, sizeof gw_alpn_http11 - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	*outlen = sel_len;
	return SSL_TLSEXT_ERR_OK;
}

/* The settings both sides share: TLS 1.2+, modern suites, no renegotiation, partial writes. */
static int ctx_common(SSL_CTX *ctx)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                      SSL_MODE_RELEASE_BUFFERS);
	return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	       SSL_CTX_set_cipher_list(ctx, GW_TLS12_CIPHERS) == 1 ? 0 : -1;
}

/* One server context for a pair, or NULL with err naming the file and the trouble. */
static SSL_CTX *server_ctx(const struct gw_cert_pair *p, unsigned char *ticket_keys, size_t keys_len,
                           struct kip_cert **leaf_out, struct kip_err *err)
{
	char *cert_pem = NULL, *key_pem = NULL;
	size_t cert_len = 0, key_len = 0;
	struct kip_cert **certs = NULL;
	size_t n_certs = 0;
	struct kip_key *key = NULL, *cert_pub = NULL;
	SSL_CTX *ctx = NULL;
	struct kip_err e = {0};

	if (!p->cert_file || !p->key_file) {
		kip_err_set(err, KIP_EINVAL, "a certificate pair needs both a certificate and a key file");
		return NULL;
	}
	if (kip_fs_read_file(p->cert_file, &cert_pem, &cert_len, &e) != 0) {
		kip_err_set(err, e.code, "certificate: %s", e.msg); /* "cannot read FILE: why" */
		goto done;
	}
	if (kip_cert_load_bundle(cert_pem, cert_len, &certs, &n_certs, &e) != 0) {
		kip_err_set(err, e.code, "certificate %s: %s", p->cert_file, e.msg);
		goto done;
	}
	if (kip_fs_read_file(p->key_file, &key_pem, &key_len, &e) != 0) {
		kip_err_set(err, e.code, "key: %s", e.msg);
		goto done;
	}
	if (kip_key_load_pem(key_pem, key_len, &key, &e) != 0) {
		kip_err_set(err, e.code, "key %s: %s", p->key_file, e.msg);
		goto done;
	}
	if (!kip_key_is_private(key)) {
		kip_err_set(err, KIP_EINVAL, "key %s: holds a public key, not a private key", p->key_file);
		goto done;
	}
	if (kip_cert_public_key(certs[0], &cert_pub, &e) != 0) {
		kip_err_set(err, e.code, "certificate %s: %s", p->cert_file, e.msg);
		goto done;
	}
	if (!kip_key_equal_public(key, cert_pub)) {
		kip_err_set(err, KIP_EINVAL, "key %s does not match the certificate %s (the first in the file)",
		            p->key_file, p->cert_file);
		goto done;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || ctx_common(ctx) != 0) {
		kip_ossl_err(err, KIP_ENOMEM, "cannot create a TLS context");
		goto fail;
	}
	if (SSL_CTX_use_certificate(ctx, kip_cert_x509(certs[0])) != 1) {
		kip_ossl_err(err, KIP_EINVAL, "certificate %s: cannot use it", p->cert_file);
		goto fail;
	}
	for (size_t i = 1; i < n_certs; i++) {
		if (SSL_CTX_add1_chain_cert(ctx, kip_cert_x509(certs[i])) != 1) {
			kip_ossl_err(err, KIP_EINVAL, "certificate %s: cannot use chain certificate %zu", p->cert_file, i + 1);
			goto fail;
		}
	}
	if (SSL_CTX_use_PrivateKey(ctx, kip_key_pkey(key)) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		kip_ossl_err(err, KIP_EINVAL, "key %s: cannot use it with the certificate %s", p->key_file, p->cert_file);
		goto fail;
	}
	SSL_CTX_set_session_id_context(ctx, gw_sid_ctx, sizeof gw_sid_ctx - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_timeout(ctx, GW_SESSION_TIMEOUT);
	if (SSL_CTX_set_tlsext_ticket_keys(ctx, ticket_keys, (long)keys_len) != 1) {
		kip_ossl_err(err, KIP_EIO, "cannot set the session ticket keys");
		goto fail;
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
	*leaf_out = certs[0];
	certs[0] = NULL;
	goto done;
fail:
	SSL_CTX_free(ctx);
	ctx = NULL;
done:
	for (size_t i = 0; i < n_certs; i++)
		kip_cert_free(certs[i]);
	free(certs);
	kip_key_free(key);
	kip_key_free(cert_pub);
	free(cert_pem);
	if (key_pem) {
		OPENSSL_cleanse(key_pem, key_len);
		free(key_pem);
	}
	ERR_clear_error();
	return ctx;
}

static void server_free(struct gw_tls_server *s)
{
	for (size_t i = 0; i < s->n_ctxs; i++)
		SSL_CTX_free(s->ctxs[i]);
	for (size_t i = 0; i < s->n_names; i++)
		free(s->names[i].name);
	free(s->names);
	free(s->ctxs);
	free(s);
}

struct gw_tls_server *gw_tls_server_new(const struct gw_cert_pair *pairs, size_t n, char *err, size_t errlen)
{
	struct kip_err e = {0};
	if (gw_tls_init(&e) != 0) {
		put_err(err, errlen, &e);
		return NULL;
	}
	if (n == 0) {
		kip_err_set(&e, KIP_EINVAL, "no certificate given");
		put_err(err, errlen, &e);
		return NULL;
	}
	struct gw_tls_server *s = calloc(1, sizeof *s);
	if (s)
		s->ctxs = calloc(n, sizeof *s->ctxs);
	if (!s || !s->ctxs) {
		free(s);
		kip_err_set(&e, KIP_ENOMEM, "out of memory");
		put_err(err, errlen, &e);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	/* one ticket key set (name, HMAC and AES keys) for every context of the set, so a ticket
	 * stays good whichever certificate SNI picks */
	unsigned char keys[80];
	if (kip_crypto_random(keys, sizeof keys, &e) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct kip_cert *leaf = NULL;
		s->ctxs[i] = server_ctx(&pairs[i], keys, sizeof keys, &leaf, &e);
		if (!s->ctxs[i])
			goto fail;
		s->n_ctxs = i + 1;
		int rc = index_cert(s, leaf, i, &e);
		kip_cert_free(leaf);
		if (rc) {
			char msg[sizeof e.msg];
			snprintf(msg, sizeof msg, "%s", e.msg);
			kip_err_set(&e, rc, "certificate %s: %s", pairs[i].cert_file, msg);
			goto fail;
		}
	}
	OPENSSL_cleanse(keys, sizeof keys);
	return s;
fail:
	OPENSSL_cleanse(keys, sizeof keys);
	put_err(err, errlen, &e);
	server_free(s);
	return NULL;
}

void gw_tls_server_ref(struct gw_tls_server *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void gw_tls_server_unref(struct gw_tls_server *s)
{
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		server_free(s);
}

SSL *gw_tls_server_accept(struct gw_tls_server *s, int fd)
{
	SSL *ssl = SSL_new(s->ctxs[0]);
	if (!ssl || !set_fd(ssl, fd)) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	gw_tls_server_ref(s);
	if (!SSL_set_ex_data(ssl, gw_ssl_set_idx, s)) {
		gw_tls_server_unref(s);
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

/* ---- the upstream side ---- */

static SSL_CTX *client_ctx(struct kip_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || ctx_common(ctx) != 0 || SSL_CTX_set_alpn_protos(ctx, gw_alpn_http11, sizeof gw_alpn_http11 - 1) != 0) {
		kip_ossl_err(err, KIP_ENOMEM, "cannot create a TLS client context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the caller checks the pin */
	return ctx;
}

struct gw_tls_client *gw_tls_client_new(char *err, size_t errlen)
{
	struct kip_err e = {0};
	struct gw_tls_client *c = gw_tls_init(&e) == 0 ? calloc(1, sizeof *c) : NULL;
	if (!c) {
		if (!e.code)
			kip_err_set(&e, KIP_ENOMEM, "out of memory");
		put_err(err, errlen, &e);
		return NULL;
	}
	c->ctx = client_ctx(&e);
	if (!c->ctx) {
		put_err(err, errlen, &e);
		free(c);
		return NULL;
	}
	return c;
}

void gw_tls_client_free(struct gw_tls_client *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ctx);
	free(c);
}

/* Whether name is an IP literal, which RFC 6066 keeps out of SNI. */
static bool is_ip_literal(const char *name)
{
	unsigned char addr[16];
	return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}/* SSL_set_tlsext_host_name without its macro's cast of a const name to void *. */
static int set_sni(SSL *ssl, const char *name)
{
	return (int)SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)(uintptr_t)name);
}



/* A client SSL on fd for ctx, with SNI when sni is a host name. */
static SSL *client_ssl(SSL_CTX *ctx, int fd, const char *sni)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl || !set_fd(ssl, fd) ||
	    (sni && *sni && !is_ip_literal(sni) && set_sni(ssl, sni) != 1)) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

SSL *gw_tls_client_connect(struct gw_tls_client *c, int fd, const char *sni)
{
	return client_ssl(c->ctx, fd, sni);
}

/* ---- nonblocking I/O ---- */

static int io_result(SSL *ssl, int rc)
{
	int e = SSL_get_error(ssl, rc);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return GW_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return GW_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return GW_IO_EOF;
	default:
		ERR_clear_error();
		return GW_IO_ERROR;
	}
}

int gw_tls_handshake(SSL *ssl)
{
	ERR_clear_error();
	int rc = SSL_do_handshake(ssl);
	return rc == 1 ? 1 : io_result(ssl, rc);
}

ptrdiff_t gw_tls_read(SSL *ssl, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	ERR_clear_error();
	size_t n = 0;
	int rc = SSL_read_ex(ssl, buf, len, &n);
	if (rc == 1)
		return (ptrdiff_t)n;
	return io_result(ssl, rc);
}

ptrdiff_t gw_tls_write(SSL *ssl, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (len > (size_t)PTRDIFF_MAX)
		len = (size_t)PTRDIFF_MAX;
	ERR_clear_error();
	size_t n = 0;
	int rc = SSL_write_ex(ssl, buf, len, &n);
	if (rc == 1)
		return (ptrdiff_t)n;
	return io_result(ssl, rc);
}

void gw_tls_free(SSL *ssl, bool clean)
{
	if (!ssl)
		return;
	ERR_clear_error();
	if (clean && SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(ssl);
	ERR_clear_error();
}

int gw_tls_peer_spki_sha256(SSL *ssl, unsigned char out[32])
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	X509_PUBKEY *spki = peer ? X509_get_X509_PUBKEY(peer) : NULL;
	unsigned char *der = NULL;
	int len = spki ? i2d_X509_PUBKEY(spki, &der) : -1;
	int rc = len > 0 && kip_crypto_sha256(der, (size_t)len, out, NULL) == 0 ? 0 : -1;
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

/* ---- the blocking chain fetch ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes: 1 ready, 0 timed out, -1 error. */
static int wait_until(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int connect_deadline(const char *ip, int port, int64_t deadline, int *fd_out, struct kip_err *err)
{
	struct sockaddr_storage ss = {0};
	socklen_t ss_len;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		ss_len = sizeof *v4;
	} else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		ss_len = sizeof *v6;
	} else {
		return kip_err_set(err, KIP_EINVAL, "'%s' is not an IP address", ip);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kip_err_sys(err, errno, "cannot connect to %s port %d", ip, port);
	if (connect(fd, (struct sockaddr *)&ss, ss_len) != 0) {
		if (errno != EINPROGRESS) {
			int e = errno;
			close(fd);
			kip_err_sys(err, e, "cannot connect to %s port %d", ip, port);
			return err ? (err->code = KIP_ECONNECT) : KIP_ECONNECT;
		}
		int w = wait_until(fd, POLLOUT, deadline);
		int so = 0;
		socklen_t so_len = sizeof so;
		if (w == 0) {
			close(fd);
			return kip_err_set(err, KIP_ETIMEOUT, "timed out connecting to %s port %d", ip, port);
		}
		if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &so_len) != 0 || so != 0) {
			int e = w < 0 || so == 0 ? errno : so;
			close(fd);
			kip_err_sys(err, e, "cannot connect to %s port %d", ip, port);
			return err ? (err->code = KIP_ECONNECT) : KIP_ECONNECT;
		}
	}
	*fd_out = fd;
	return 0;
}

/* The peer's chain as PEM, leaf first. */
static int chain_pem(SSL *ssl, char **pem, struct kip_err *err)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl); /* a client's includes the leaf */
	if (!chain || sk_X509_num(chain) == 0)
		return kip_err_set(err, KIP_ETLS, "the server sent no certificate");
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return kip_ossl_err(err, KIP_ENOMEM, "out of memory");
	int rc = 0;
	for (int i = 0; i < sk_X509_num(chain) && !rc; i++)
		if (!PEM_write_bio_X509(bio, sk_X509_value(chain, i)))
			rc = kip_ossl_err(err, KIP_ENOMEM, "cannot write the certificate chain");
	size_t len = 0;
	if (!rc)
		rc = kip_ossl_bio_copy(bio, pem, &len, err);
	BIO_free(bio);
	return rc;
}

int gw_tls_fetch_chain(const char *ip, int port, const char *sni, int timeout_ms, char **pem, struct kip_err *err)
{
	*pem = NULL;
	if (port < 1 || port > 65535)
		return kip_err_set(err, KIP_EINVAL, "bad port %d", port);
	if (timeout_ms <= 0)
		return kip_err_set(err, KIP_EINVAL, "the timeout must be positive");
	int rc = gw_tls_init(err);
	if (rc)
		return rc;
	int64_t deadline = now_ms() + timeout_ms;
	int fd = -1;
	rc = connect_deadline(ip, port, deadline, &fd, err);
	if (rc)
		return rc;
	SSL_CTX *ctx = client_ctx(err);
	SSL *ssl = ctx ? client_ssl(ctx, fd, sni) : NULL;
	if (!ssl) {
		rc = ctx ? kip_ossl_err(err, KIP_ENOMEM, "cannot create a TLS connection") : err ? err->code : KIP_ENOMEM;
		goto done;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_connect(ssl);
		if (r == 1)
			break;
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			int w = wait_until(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (w == 0) {
				rc = kip_err_set(err, KIP_ETIMEOUT, "TLS handshake with %s port %d timed out", ip, port);
				goto done;
			}
			if (w > 0)
				continue;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			if (errno)
				kip_err_sys(err, errno, "TLS handshake with %s port %d failed", ip, port);
			else
				kip_err_set(err, KIP_ETLS, "TLS handshake with %s port %d failed: the server closed the "
				            "connection", ip, port);
			rc = err ? (err->code = KIP_ETLS) : KIP_ETLS;
		} else {
			rc = kip_ossl_err(err, KIP_ETLS, "TLS handshake with %s port %d failed", ip, port);
		}
		goto done;
	}
	rc = chain_pem(ssl, pem, err);
	if (!rc)
		SSL_shutdown(ssl); /* one try: close_notify if the socket takes it */
done:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
	return rc;
}

int gw_tls_fetch_peer_chain(const char *ip, int port, const char *sni, int timeout_ms, char **pem, char *err,
                            size_t errlen)
{
	struct kip_err e = {0};
	int rc = gw_tls_fetch_chain(ip, port, sni, timeout_ms, pem, &e);
	if (rc)
		put_err(err, errlen, &e);
	return rc ? -1 : 0;
}
