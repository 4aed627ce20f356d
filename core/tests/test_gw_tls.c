/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the gateway's TLS (core/src/gateway/tls.c): certificates made at test time with
 * kip/cert.h, handshakes pumped over nonblocking socketpairs through gw_tls_handshake (SNI picks
 * exact / wildcard / default, ALPN, TLS 1.1 refused, resumption by ticket and by session cache,
 * reads and writes, EOF), the SPKI pin, load errors, the blocking chain fetch against a loopback
 * server thread (and its timeout), and `openssl s_client` as an independent client.
 * Uses check.h, OpenSSL 3 and pthreads. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "bind/l_gateway.h"
#include "check.h"
#include "crypto/ossl.h"
#include "gateway/tls.h"
#include "kip/fs.h"
#include "kip/tls.h"

static char dir[64];

struct ident {
	struct kip_key *key;
	struct kip_cert *cert;
	unsigned char spki[32]; /* sha256 of the key's SPKI DER, computed from the key, not the cert */
	char cert_file[128], key_file[128];
};

static struct ident ca, id_a, id_wild, id_exact;
static struct gw_tls_server *set; /* a.example.com (default), *.wild.example.com, exact.wild.example.com */

static void write_file(const char *path, const char *data, size_t len)
{
	struct kip_err err = {0};
	if (kip_fs_write_atomic(path, data, len, 0600, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(2);
	}
}

/* Makes a key and a certificate (signed by issuer when given); writes NAME.pem (leaf, then the
 * issuer when chain) and NAME.key in dir. */
static void make_ident(struct ident *id, const char *name, const char *type, const char *cn, const char *const *sans,
                       size_t n_sans, const struct ident *issuer, bool is_ca)
{
	struct kip_err err = {0};
	if (kip_key_generate(type, &id->key, &err) != 0)
		goto fail;
	struct kip_cert_attr subject[] = {{"CN", cn}};
	int64_t now = (int64_t)time(NULL);
	struct kip_cert_spec spec = {
		.subject = subject, .subject_len = 1, .sans = sans, .sans_len = n_sans, .key = id->key,
		.issuer = issuer ? issuer->cert : NULL, .issuer_key = issuer ? issuer->key : NULL,
		.ca = is_ca, .usage = is_ca ? KIP_CERT_CA : KIP_CERT_SERVER,
		.not_before = now - 3600, .not_after = now + 86400,
	};
	if (kip_cert_create(&spec, &id->cert, &err) != 0)
		goto fail;
	char *pem = NULL, *ipem = NULL, *kpem = NULL;
	size_t len = 0, ilen = 0, klen = 0;
	if (kip_cert_pem(id->cert, &pem, &len, &err) != 0 || (issuer && kip_cert_pem(issuer->cert, &ipem, &ilen, &err) != 0) ||
	    kip_key_private_pem(id->key, &kpem, &klen, &err) != 0)
		goto fail;
	char *both = malloc(len + ilen + 1);
	memcpy(both, pem, len);
	if (ipem)
		memcpy(both + len, ipem, ilen);
	snprintf(id->cert_file, sizeof id->cert_file, "%s/%s.pem", dir, name);
	snprintf(id->key_file, sizeof id->key_file, "%s/%s.key", dir, name);
	write_file(id->cert_file, both, len + ilen);
	write_file(id->key_file, kpem, klen);
	free(both);
	free(pem);
	free(ipem);
	free(kpem);
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(kip_key_pkey(id->key), &der);
	if (n <= 0 || kip_crypto_sha256(der, (size_t)n, id->spki, &err) != 0)
		goto fail;
	OPENSSL_free(der);
	return;
fail:
	fprintf(stderr, "cannot make %s: %s\n", name, err.msg);
	exit(2);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_gw_tls-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	make_ident(&ca, "ca", "ecdsa-p256", "Test CA", NULL, 0, NULL, true);
	const char *a_sans[] = {"a.example.com"};
	make_ident(&id_a, "a", "ecdsa-p256", "a", a_sans, 1, NULL, false);
	const char *w_sans[] = {"*.wild.example.com"};
	make_ident(&id_wild, "wild", "rsa-2048", "wild", w_sans, 1, NULL, false);
	const char *e_sans[] = {"exact.wild.example.com", "127.0.0.1"};
	make_ident(&id_exact, "exact", "ecdsa-p256", "exact", e_sans, 2, &ca, false);
	struct gw_cert_pair pairs[] = {
		{id_a.cert_file, id_a.key_file}, {id_wild.cert_file, id_wild.key_file}, {id_exact.cert_file, id_exact.key_file},
	};
	char err[256] = "";
	set = gw_tls_server_new(pairs, 3, err, sizeof err);
	if (!set) {
		fprintf(stderr, "gw_tls_server_new: %s\n", err);
		exit(2);
	}
}

static void teardown(void)
{
	gw_tls_server_unref(set);
	struct ident *ids[] = {&ca, &id_a, &id_wild, &id_exact};
	for (size_t i = 0; i < 4; i++) {
		unlink(ids[i]->cert_file);
		unlink(ids[i]->key_file);
		kip_cert_free(ids[i]->cert);
		kip_key_free(ids[i]->key);
	}
	char path[128];
	snprintf(path, sizeof path, "%s/bad.pem", dir);
	unlink(path);
	rmdir(dir);
}

/* ---- a connection over a socketpair, both ends pumped by this thread ---- */

struct conn {
	int fd[2];   /* [0] client, [1] server */
	SSL *c, *s;
	int rc_c, rc_s;
	bool raw_client;      /* drive the client with SSL_do_handshake and keep its error reason */
	int client_reason;    /* ERR_GET_REASON of the client's failure */
};

static void conn_start(struct conn *k, struct gw_tls_server *srv)
{
	memset(k, 0, sizeof *k);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, k->fd) != 0) {
		perror("socketpair");
		exit(2);
	}
	k->s = gw_tls_server_accept(srv, k->fd[1]);
}

/* A raw client on ctx for special offers (no ALPN, h2, old versions, no tickets). */
static SSL *raw_client(SSL_CTX *ctx, int fd, const char *sni)
{
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (sni)
		SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)(uintptr_t)sni);
	SSL_set_connect_state(ssl);
	return ssl;
}

static bool pending(int rc)
{
	return rc == GW_IO_WANT_READ || rc == GW_IO_WANT_WRITE;
}

static int client_step(struct conn *k)
{
	if (!k->raw_client)
		return gw_tls_handshake(k->c);
	ERR_clear_error();
	int r = SSL_do_handshake(k->c);
	if (r == 1)
		return 1;
	int e = SSL_get_error(k->c, r);
	if (e == SSL_ERROR_WANT_READ)
		return GW_IO_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return GW_IO_WANT_WRITE;
	k->client_reason = ERR_GET_REASON(ERR_peek_last_error());
	ERR_clear_error();
	return GW_IO_ERROR;
}

/* Runs both handshakes until each is done or failed (or nothing moves for 10 s). True when both
 * completed. */
static bool conn_pump(struct conn *k)
{
	k->rc_c = k->rc_s = GW_IO_WANT_READ;
	for (int i = 0; i < 10000; i++) {
		if (pending(k->rc_c))
			k->rc_c = client_step(k);
		if (pending(k->rc_s))
			k->rc_s = gw_tls_handshake(k->s);
		if (!pending(k->rc_c) && !pending(k->rc_s))
			break;
		/* a failed side sends its alert and stops: the other must not wait on it forever */
		if ((!pending(k->rc_c) && k->rc_c != 1) || (!pending(k->rc_s) && k->rc_s != 1)) {
			if (pending(k->rc_c))
				k->rc_c = client_step(k);
			if (pending(k->rc_s))
				k->rc_s = gw_tls_handshake(k->s);
			break;
		}
		struct pollfd p[2];
		nfds_t n = 0;
		if (pending(k->rc_c))
			p[n++] = (struct pollfd){.fd = k->fd[0], .events = k->rc_c == GW_IO_WANT_READ ? POLLIN : POLLOUT};
		if (pending(k->rc_s))
			p[n++] = (struct pollfd){.fd = k->fd[1], .events = k->rc_s == GW_IO_WANT_READ ? POLLIN : POLLOUT};
		if (poll(p, n, 10000) <= 0)
			break;
	}
	return k->rc_c == 1 && k->rc_s == 1;
}

static void conn_close(struct conn *k)
{
	gw_tls_free(k->c, true);
	gw_tls_free(k->s, false); /* the server side keeps its sessions without close_notify too */
	close(k->fd[0]);
	close(k->fd[1]);
}

/* Moves exactly len bytes through ssl: reads into in, or writes out (one of them NULL), polling
 * its fd while it wants to; false on error or 10 s without progress. */
static bool transfer(SSL *ssl, int fd, char *in, const char *out, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ptrdiff_t n = out ? gw_tls_write(ssl, out + done, len - done) : gw_tls_read(ssl, in + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (!pending((int)n))
			return false;
		struct pollfd p = {.fd = fd, .events = n == GW_IO_WANT_READ ? POLLIN : POLLOUT};
		if (poll(&p, 1, 10000) <= 0)
			return false;
	}
	return true;
}

static bool read_exact(SSL *ssl, int fd, char *buf, size_t len)
{
	return transfer(ssl, fd, buf, NULL, len);
}

static bool write_all(SSL *ssl, int fd, const char *buf, size_t len)
{
	return transfer(ssl, fd, NULL, buf, len);
}

/* Which certificate the server showed, as the client pins it. */
static const struct ident *served(SSL *client)
{
	unsigned char pin[32];
	if (gw_tls_peer_spki_sha256(client, pin) != 0)
		return NULL;
	const struct ident *ids[] = {&id_a, &id_wild, &id_exact};
	for (size_t i = 0; i < 3; i++)
		if (memcmp(pin, ids[i]->spki, 32) == 0)
			return ids[i];
	return NULL;
}

static const struct ident *handshake_with_sni(struct gw_tls_client *gc, const char *sni)
{
	struct conn k;
	conn_start(&k, set);
	k.c = gw_tls_client_connect(gc, k.fd[0], sni);
	const struct ident *id = k.c && k.s && conn_pump(&k) ? served(k.c) : NULL;
	conn_close(&k);
	return id;
}

static void test_sni(void)
{
	char err[256];
	struct gw_tls_client *gc = gw_tls_client_new(err, sizeof err);
	CHECK(gc != NULL);
	CHECK(handshake_with_sni(gc, "a.example.com") == &id_a);
	CHECK(handshake_with_sni(gc, "exact.wild.example.com") == &id_exact); /* exact beats the earlier wildcard */
	CHECK(handshake_with_sni(gc, "EXACT.Wild.Example.COM") == &id_exact);
	CHECK(handshake_with_sni(gc, "x.wild.example.com") == &id_wild);
	CHECK(handshake_with_sni(gc, "X.WILD.example.com") == &id_wild);
	CHECK(handshake_with_sni(gc, "a.b.wild.example.com") == &id_a); /* a wildcard covers one label */
	CHECK(handshake_with_sni(gc, "wild.example.com") == &id_a);
	CHECK(handshake_with_sni(gc, "other.test") == &id_a);
	CHECK(handshake_with_sni(gc, NULL) == &id_a);
	CHECK(handshake_with_sni(gc, "127.0.0.1") == &id_a); /* an IP is not sent as SNI */
	gw_tls_client_free(gc);
}

static void check_alpn(SSL *ssl, const char *want)
{
	const unsigned char *p = NULL;
	unsigned len = 0;
	SSL_get0_alpn_selected(ssl, &p, &len);
	if (!want)
		CHECK(len == 0);
	else
		CHECK(len == strlen(want) && memcmp(p, want, len) == 0);
}

static void test_alpn(void)
{
	char err[256];
	struct gw_tls_client *gc = gw_tls_client_new(err, sizeof err);
	struct conn k;
	conn_start(&k, set);
	k.c = gw_tls_client_connect(gc, k.fd[0], "a.example.com");
	CHECK(conn_pump(&k));
	check_alpn(k.c, "http/1.1");
	check_alpn(k.s, "http/1.1");
	conn_close(&k);
	gw_tls_client_free(gc);

	struct { const char *offer; size_t len; const char *want; } cases[] = {
		{NULL, 0, NULL},                               /* no ALPN offered: fine, none selected */
		{"\x02h2", 3, NULL},                           /* h2 alone: no overlap, the handshake goes on */
		{"\x02h2\x08http/1.1", 12, "http/1.1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
		if (cases[i].offer)
			SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)cases[i].offer, (unsigned)cases[i].len);
		conn_start(&k, set);
		k.c = raw_client(ctx, k.fd[0], "a.example.com");
		CHECK(conn_pump(&k));
		check_alpn(k.c, cases[i].want);
		check_alpn(k.s, cases[i].want);
		conn_close(&k);
		SSL_CTX_free(ctx);
	}
}

static void test_old_versions_refused(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_security_level(ctx, 0); /* OpenSSL 3 would not even offer TLS 1.1 otherwise */
	SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
	struct conn k;
	conn_start(&k, set);
	k.raw_client = true;
	k.c = raw_client(ctx, k.fd[0], "a.example.com");
	CHECK(!conn_pump(&k));
	CHECK(k.rc_s == GW_IO_ERROR);
	CHECK(k.rc_c == GW_IO_ERROR);
	CHECK(k.client_reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION); /* the server's alert */
	CHECK(ERR_peek_error() == 0);                                 /* gw_tls_handshake cleared it */
	conn_close(&k);
	/* the same client allowed TLS 1.2 gets through: the version was the reason */
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	conn_start(&k, set);
	k.c = raw_client(ctx, k.fd[0], "a.example.com");
	CHECK(conn_pump(&k));
	CHECK(SSL_version(k.s) == TLS1_2_VERSION);
	conn_close(&k);
	SSL_CTX_free(ctx);
}

/* Handshakes ctx's client with sni, resuming sess when given; returns the new session (after a
 * read, so TLS 1.3 tickets have arrived) and whether both sides report reuse. */
static SSL_SESSION *resume_round(SSL_CTX *ctx, const char *sni, SSL_SESSION *sess, bool *reused)
{
	struct conn k;
	conn_start(&k, set);
	k.c = raw_client(ctx, k.fd[0], sni);
	if (sess)
		SSL_set_session(k.c, sess);
	SSL_SESSION *out = NULL;
	*reused = false;
	char buf[5];
	if (conn_pump(&k) && write_all(k.s, k.fd[1], "hello", 5) && read_exact(k.c, k.fd[0], buf, 5) &&
	    memcmp(buf, "hello", 5) == 0) {
		*reused = SSL_session_reused(k.c) && SSL_session_reused(k.s);
		out = SSL_get1_session(k.c);
	}
	conn_close(&k);
	return out;
}

static void check_resumption(int version, bool tickets, const char *sni)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, version);
	SSL_CTX_set_max_proto_version(ctx, version);
	if (!tickets)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	bool reused = true;
	SSL_SESSION *s1 = resume_round(ctx, sni, NULL, &reused);
	CHECK(s1 != NULL && !reused);
	CHECK(s1 && SSL_SESSION_is_resumable(s1));
	SSL_SESSION *s2 = s1 ? resume_round(ctx, sni, s1, &reused) : NULL;
	CHECK(s2 != NULL && reused);
	SSL_SESSION_free(s1);
	SSL_SESSION_free(s2);
	SSL_CTX_free(ctx);
}

/* Why gw_tls_free exists: a bare SSL_free of a server SSL that sent no close_notify drops the
 * session from the server cache, so a TLS 1.2 client without tickets cannot resume. */
static void test_bare_free_loses_session(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	struct conn k;
	conn_start(&k, set);
	k.c = raw_client(ctx, k.fd[0], "a.example.com");
	CHECK(conn_pump(&k));
	SSL_SESSION *sess = SSL_get1_session(k.c);
	SSL_free(k.s);
	k.s = NULL;
	conn_close(&k);
	conn_start(&k, set);
	k.c = raw_client(ctx, k.fd[0], "a.example.com");
	SSL_set_session(k.c, sess);
	CHECK(conn_pump(&k));
	CHECK(!SSL_session_reused(k.s));
	conn_close(&k);
	SSL_SESSION_free(sess);
	SSL_CTX_free(ctx);
}

static void test_resumption(void)
{
	check_resumption(TLS1_3_VERSION, true, "a.example.com");
	check_resumption(TLS1_3_VERSION, true, "exact.wild.example.com"); /* a context SNI switched to */
	check_resumption(TLS1_2_VERSION, true, "x.wild.example.com");     /* TLS 1.2 ticket */
	check_resumption(TLS1_2_VERSION, false, "exact.wild.example.com"); /* the server session cache */
	check_resumption(TLS1_2_VERSION, false, NULL);
}

static void test_pin_and_io(void)
{
	char err[256];
	struct gw_tls_client *gc = gw_tls_client_new(err, sizeof err);
	struct conn k;
	conn_start(&k, set);
	k.c = gw_tls_client_connect(gc, k.fd[0], "x.wild.example.com");
	CHECK(conn_pump(&k));
	unsigned char pin[32];
	CHECK(gw_tls_peer_spki_sha256(k.c, pin) == 0 && memcmp(pin, id_wild.spki, 32) == 0);
	CHECK(gw_tls_peer_spki_sha256(k.s, pin) == -1); /* the client sent no certificate */

	char buf[64];
	CHECK(gw_tls_read(k.s, buf, sizeof buf) == GW_IO_WANT_READ);
	CHECK(gw_tls_read(k.s, buf, 0) == 0);
	CHECK(gw_tls_write(k.c, "", 0) == 0);
	CHECK(write_all(k.c, k.fd[0], "GET / HTTP/1.1\r\n", 16));
	CHECK(read_exact(k.s, k.fd[1], buf, 16) && memcmp(buf, "GET / HTTP/1.1\r\n", 16) == 0);
	/* a large write goes through in pieces while the other side reads */
	size_t big = 1 << 20;
	char *data = malloc(big), *back = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7);
	size_t put = 0, got = 0;
	while (got < big) {
		if (put < big) {
			ptrdiff_t n = gw_tls_write(k.s, data + put, big - put);
			if (n > 0)
				put += (size_t)n;
			else if (!pending((int)n))
				break;
		}
		ptrdiff_t n = gw_tls_read(k.c, back + got, big - got);
		if (n > 0)
			got += (size_t)n;
		else if (!pending((int)n))
			break;
	}
	CHECK(got == big && memcmp(data, back, big) == 0);
	free(data);
	free(back);
	/* close_notify is EOF */
	SSL_shutdown(k.c);
	ptrdiff_t n;
	do {
		struct pollfd p = {.fd = k.fd[1], .events = POLLIN};
		poll(&p, 1, 10000);
		n = gw_tls_read(k.s, buf, sizeof buf);
	} while (n == GW_IO_WANT_READ);
	CHECK(n == GW_IO_EOF);
	CHECK(ERR_peek_error() == 0);
	conn_close(&k);

	/* a TCP close without close_notify is an error */
	conn_start(&k, set);
	k.c = gw_tls_client_connect(gc, k.fd[0], "a.example.com");
	CHECK(conn_pump(&k));
	close(k.fd[0]);
	k.fd[0] = -1;
	CHECK(gw_tls_read(k.s, buf, sizeof buf) == GW_IO_ERROR);
	CHECK(ERR_peek_error() == 0);
	conn_close(&k);
	gw_tls_client_free(gc);
}

/* Writing to a peer that has gone is GW_IO_ERROR, not a SIGPIPE (checked in a child with the
 * default SIGPIPE action, which would kill it). */
static void test_no_sigpipe(void)
{
	char err[256];
	struct gw_tls_client *gc = gw_tls_client_new(err, sizeof err);
	struct conn k;
	conn_start(&k, set);
	k.c = gw_tls_client_connect(gc, k.fd[0], "a.example.com");
	CHECK(conn_pump(&k));
	CHECK(SSL_get_fd(k.s) == k.fd[1] && SSL_get_fd(k.c) == k.fd[0]);
	SSL_free(k.c); /* the client goes without a word */
	k.c = NULL;
	close(k.fd[0]);
	k.fd[0] = -1;
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		char buf[4096] = {0};
		ptrdiff_t n = 0;
		for (int i = 0; i < 100 && n != GW_IO_ERROR; i++)
			n = gw_tls_write(k.s, buf, sizeof buf);
		_exit(n == GW_IO_ERROR ? 0 : 1);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(!WIFSIGNALED(status));
	conn_close(&k);
	gw_tls_client_free(gc);
}

/* The set can go while a handshake runs: the SSL keeps it. */
static void test_unref_while_handshaking(void)
{
	struct gw_cert_pair pairs[] = {{id_a.cert_file, id_a.key_file}, {id_exact.cert_file, id_exact.key_file}};
	char err[256];
	struct gw_tls_server *s2 = gw_tls_server_new(pairs, 2, err, sizeof err);
	CHECK(s2 != NULL);
	if (!s2)
		return;
	struct gw_tls_client *gc = gw_tls_client_new(err, sizeof err);
	struct conn k;
	conn_start(&k, s2);
	gw_tls_server_unref(s2); /* a reload: only the SSL holds the set now */
	k.c = gw_tls_client_connect(gc, k.fd[0], "exact.wild.example.com");
	CHECK(conn_pump(&k));
	CHECK(served(k.c) == &id_exact);
	conn_close(&k); /* frees the set */
	gw_tls_client_free(gc);
}

/* A certificate without SANs is found by its subject CN. */
static void test_cn_fallback(void)
{
	struct ident legacy = {0};
	make_ident(&legacy, "legacy", "ecdsa-p256", "Legacy.Example.com", NULL, 0, NULL, false);
	struct gw_cert_pair pairs[] = {{id_a.cert_file, id_a.key_file}, {legacy.cert_file, legacy.key_file}};
	char err[256];
	struct gw_tls_server *s2 = gw_tls_server_new(pairs, 2, err, sizeof err);
	struct gw_tls_client *gc = gw_tls_client_new(err, sizeof err);
	CHECK(s2 != NULL && gc != NULL);
	if (s2 && gc) {
		struct conn k;
		conn_start(&k, s2);
		k.c = gw_tls_client_connect(gc, k.fd[0], "legacy.example.com");
		unsigned char pin[32];
		CHECK(conn_pump(&k) && gw_tls_peer_spki_sha256(k.c, pin) == 0 && memcmp(pin, legacy.spki, 32) == 0);
		conn_close(&k);
	}
	gw_tls_client_free(gc);
	gw_tls_server_unref(s2);
	unlink(legacy.cert_file);
	unlink(legacy.key_file);
	kip_cert_free(legacy.cert);
	kip_key_free(legacy.key);
}

/* Several threads handshake on one set while its owner lets go of it (a reload). */
struct hs_worker {
	struct gw_tls_server *set;
	int ok;
};

static void *hs_thread(void *arg)
{
	struct hs_worker *w = arg;
	char err[256];
	struct gw_tls_client *gc = gw_tls_client_new(err, sizeof err);
	const char *names[] = {"a.example.com", "x.wild.example.com", "exact.wild.example.com"};
	for (int i = 0; i < 30 && gc; i++) {
		struct conn k;
		conn_start(&k, w->set);
		if (i == 29)
			gw_tls_server_unref(w->set); /* this thread's reference: only the SSL holds it now */
		k.c = gw_tls_client_connect(gc, k.fd[0], names[i % 3]);
		if (conn_pump(&k) && served(k.c) == (i % 3 == 0 ? &id_a : i % 3 == 1 ? &id_wild : &id_exact))
			w->ok++;
		conn_close(&k);
	}
	gw_tls_client_free(gc);
	OPENSSL_thread_stop();
	return NULL;
}

static void test_threads(void)
{
	struct gw_cert_pair pairs[] = {
		{id_a.cert_file, id_a.key_file}, {id_wild.cert_file, id_wild.key_file}, {id_exact.cert_file, id_exact.key_file},
	};
	char err[256];
	struct gw_tls_server *s2 = gw_tls_server_new(pairs, 3, err, sizeof err);
	CHECK(s2 != NULL);
	if (!s2)
		return;
	struct hs_worker w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct hs_worker){.set = s2};
		gw_tls_server_ref(s2);
		pthread_create(&t[i], NULL, hs_thread, &w[i]);
	}
	gw_tls_server_unref(s2);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].ok == 30);
	}
}

static void test_load_errors(void)
{
	char err[512];
	char missing[160], bad[160];
	snprintf(missing, sizeof missing, "%s/missing.pem", dir);
	snprintf(bad, sizeof bad, "%s/bad.pem", dir);
	write_file(bad, "not a certificate\n", 18);

	struct gw_cert_pair p1[] = {{missing, id_a.key_file}};
	CHECK(gw_tls_server_new(p1, 1, err, sizeof err) == NULL);
	CHECK(strstr(err, missing) && strstr(err, "No such file"));

	struct gw_cert_pair p2[] = {{bad, id_a.key_file}};
	CHECK(gw_tls_server_new(p2, 1, err, sizeof err) == NULL);
	CHECK(strstr(err, bad) && strstr(err, "no certificate"));

	struct gw_cert_pair p3[] = {{id_a.cert_file, id_a.key_file}, {id_exact.cert_file, id_a.key_file}};
	CHECK(gw_tls_server_new(p3, 2, err, sizeof err) == NULL);
	CHECK(strstr(err, id_a.key_file) && strstr(err, id_exact.cert_file) && strstr(err, "does not match"));

	struct gw_cert_pair p4[] = {{id_a.cert_file, id_a.cert_file}};
	CHECK(gw_tls_server_new(p4, 1, err, sizeof err) == NULL);
	CHECK(strstr(err, id_a.cert_file) && strstr(err, "key"));

	char pub[160];
	snprintf(pub, sizeof pub, "%s/pub.key", dir);
	char *pem = NULL;
	size_t len = 0;
	struct kip_err e = {0};
	CHECK(kip_key_public_pem(id_a.key, &pem, &len, &e) == 0);
	write_file(pub, pem, len);
	free(pem);
	struct gw_cert_pair p5[] = {{id_a.cert_file, pub}};
	CHECK(gw_tls_server_new(p5, 1, err, sizeof err) == NULL);
	CHECK(strstr(err, pub) && strstr(err, "public key"));
	unlink(pub);

	CHECK(gw_tls_server_new(NULL, 0, err, sizeof err) == NULL);
	CHECK(strstr(err, "no certificate"));
	char tiny[8];
	CHECK(gw_tls_server_new(p1, 1, tiny, sizeof tiny) == NULL && strlen(tiny) == 7);
	CHECK(ERR_peek_error() == 0);
}

/* ---- a loopback server thread for the chain fetch and s_client ---- */

struct server {
	int lfd, port;
	int conns;           /* how many to serve */
	int handshakes;      /* completed */
};

static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("listen");
		exit(2);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static bool wait_io(int fd, int rc)
{
	struct pollfd p = {.fd = fd, .events = rc == GW_IO_WANT_WRITE ? POLLOUT : POLLIN};
	return poll(&p, 1, 10000) > 0;
}

static void *serve(void *arg)
{
	struct server *sv = arg;
	for (int i = 0; i < sv->conns; i++) {
		struct pollfd lp = {.fd = sv->lfd, .events = POLLIN};
		if (poll(&lp, 1, 20000) <= 0)
			break;
		int fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		SSL *ssl = gw_tls_server_accept(set, fd);
		int rc;
		while ((rc = gw_tls_handshake(ssl)) < -1 && wait_io(fd, rc))
			;
		if (rc == 1) {
			sv->handshakes++;
			char buf[256];
			ptrdiff_t n;
			while ((n = gw_tls_read(ssl, buf, sizeof buf)) != GW_IO_EOF && n != GW_IO_ERROR)
				if (n < 0 && !wait_io(fd, (int)n))
					break;
		}
		gw_tls_free(ssl, rc == 1);
		close(fd);
	}
	OPENSSL_thread_stop();
	return NULL;
}

static int count(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void test_fetch_chain(void)
{
	struct server sv = {.conns = 2};
	sv.lfd = listen_loopback(&sv.port);
	pthread_t t;
	pthread_create(&t, NULL, serve, &sv);

	char *pem = NULL;
	char err[256] = "";
	CHECK(gw_tls_fetch_peer_chain("127.0.0.1", sv.port, "exact.wild.example.com", 5000, &pem, err, sizeof err) == 0);
	CHECK(pem && count(pem, "-----BEGIN CERTIFICATE-----") == 2);
	if (pem) {
		struct kip_cert **certs = NULL;
		size_t n = 0;
		struct kip_err e = {0};
		CHECK(kip_cert_load_bundle(pem, strlen(pem), &certs, &n, &e) == 0 && n == 2);
		if (n == 2) {
			unsigned char f1[64], f2[64];
			size_t l1 = 0, l2 = 0;
			kip_cert_fingerprint(certs[0], "sha256", f1, &l1, &e);
			kip_cert_fingerprint(id_exact.cert, "sha256", f2, &l2, &e);
			CHECK(l1 == 32 && l1 == l2 && memcmp(f1, f2, l1) == 0); /* leaf first */
			kip_cert_fingerprint(certs[1], "sha256", f1, &l1, &e);
			kip_cert_fingerprint(ca.cert, "sha256", f2, &l2, &e);
			CHECK(l1 == 32 && memcmp(f1, f2, l1) == 0);
			kip_cert_free(certs[0]);
			kip_cert_free(certs[1]);
		}
		free(certs);
	}
	free(pem);
	pem = NULL;
	/* no SNI: the default certificate, no chain */
	CHECK(gw_tls_fetch_peer_chain("127.0.0.1", sv.port, NULL, 5000, &pem, err, sizeof err) == 0);
	CHECK(pem && count(pem, "-----BEGIN CERTIFICATE-----") == 1);
	free(pem);
	pthread_join(t, NULL);
	CHECK(sv.handshakes == 2);
	close(sv.lfd);
}

static void test_fetch_failures(void)
{
	char *pem = NULL;
	struct kip_err e = {0};
	/* a listener that never answers: the handshake times out */
	int port;
	int lfd = listen_loopback(&port);
	CHECK(gw_tls_fetch_chain("127.0.0.1", port, "a.example.com", 200, &pem, &e) == KIP_ETIMEOUT);
	CHECK(pem == NULL && strstr(e.msg, "timed out"));
	char err[256];
	CHECK(gw_tls_fetch_peer_chain("127.0.0.1", port, NULL, 100, &pem, err, sizeof err) == -1);
	CHECK(strstr(err, "timed out") != NULL);
	close(lfd);
	/* nothing listens any more: refused */
	CHECK(gw_tls_fetch_chain("127.0.0.1", port, NULL, 2000, &pem, &e) == KIP_ECONNECT);
	CHECK(strstr(e.msg, "127.0.0.1") != NULL);
	/* a peer that speaks no TLS */
	lfd = listen_loopback(&port);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);
		if (write(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28) < 0)
			_exit(1);
		close(fd);
		_exit(0);
	}
	CHECK(gw_tls_fetch_chain("127.0.0.1", port, NULL, 5000, &pem, &e) == KIP_ETLS);
	CHECK(strstr(e.msg, "TLS handshake") != NULL);
	waitpid(pid, NULL, 0);
	close(lfd);
	CHECK(gw_tls_fetch_chain("example.com", 443, NULL, 1000, &pem, &e) == KIP_EINVAL);
	CHECK(gw_tls_fetch_chain("127.0.0.1", 0, NULL, 1000, &pem, &e) == KIP_EINVAL);
	CHECK(gw_tls_fetch_chain("127.0.0.1", 443, NULL, 0, &pem, &e) == KIP_EINVAL);
	CHECK(ERR_peek_error() == 0);
}

/* `openssl s_client` as an independent client: SNI picks the wildcard certificate, ALPN
 * http/1.1 is chosen among h2 and http/1.1, TLS 1.1 is refused. */
static void test_s_client(void)
{
	if (access("/usr/bin/openssl", X_OK) != 0) {
		printf("skip test_s_client: no /usr/bin/openssl\n");
		return;
	}
	struct server sv = {.conns = 2};
	sv.lfd = listen_loopback(&sv.port);
	pthread_t t;
	pthread_create(&t, NULL, serve, &sv);
	char cmd[512], out[16384];
	snprintf(cmd, sizeof cmd, "/usr/bin/openssl s_client -connect 127.0.0.1:%d -servername x.wild.example.com "
	         "-alpn h2,http/1.1 </dev/null 2>&1", sv.port);
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
	out[n] = '\0';
	int status = f ? pclose(f) : -1;
	CHECK(status == 0);
	CHECK(strstr(out, "ALPN protocol: http/1.1") != NULL);
	CHECK(strstr(out, "subject=CN = wild") != NULL);

	snprintf(cmd, sizeof cmd, "/usr/bin/openssl s_client -connect 127.0.0.1:%d -tls1_1 -cipher DEFAULT@SECLEVEL=0 "
	         "</dev/null 2>&1", sv.port);
	f = popen(cmd, "r");
	n = f ? fread(out, 1, sizeof out - 1, f) : 0;
	out[n] = '\0';
	status = f ? pclose(f) : -1;
	CHECK(status != 0);
	CHECK(strstr(out, "protocol version") != NULL);
	pthread_join(t, NULL);
	CHECK(sv.handshakes == 1);
	close(sv.lfd);

	/* the pin as the contract's shell recipe computes it */
	snprintf(cmd, sizeof cmd, "/usr/bin/openssl x509 -pubkey -noout -in %s | /usr/bin/openssl pkey -pubin "
	         "-outform DER | sha256sum", id_wild.cert_file);
	f = popen(cmd, "r");
	n = f ? fread(out, 1, sizeof out - 1, f) : 0;
	out[n] = '\0';
	if (f)
		pclose(f);
	char hex[65];
	kip_hex_encode(hex, id_wild.spki, 32, 0);
	CHECK(n >= 64 && strncmp(out, hex, 64) == 0);
}

/* Runs chunk in L; returns its first result as a string (or an error message) in out. */
static bool lua_run(lua_State *L, const char *chunk, char *out, size_t cap)
{
	bool ok = luaL_dostring(L, chunk) == LUA_OK;
	const char *s = lua_tostring(L, -1);
	snprintf(out, cap, "%s", s ? s : "(nil)");
	lua_settop(L, 0);
	return ok;
}

/* gateway.peer_certificate as Lua sees it (l_gateway.c lists it in the module's table). */
static void test_lua_peer_certificate(void)
{
	struct server sv = {.conns = 1};
	sv.lfd = listen_loopback(&sv.port);
	pthread_t t;
	pthread_create(&t, NULL, serve, &sv);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	lua_register(L, "peer_certificate", l_gateway_peer_certificate);
	char chunk[512], out[8192];
	snprintf(chunk, sizeof chunk, "local pem, err = peer_certificate('127.0.0.1', %d, {sni = 'x.wild.example.com'}) "
	         "return pem or err", sv.port);
	CHECK(lua_run(L, chunk, out, sizeof out));
	CHECK(count(out, "-----BEGIN CERTIFICATE-----") == 1);
	char *want = NULL;
	size_t len = 0;
	struct kip_err e = {0};
	CHECK(kip_cert_pem(id_wild.cert, &want, &len, &e) == 0);
	CHECK_STR(out, want);
	free(want);
	pthread_join(t, NULL);
	close(sv.lfd);
	/* nothing listens there now: nil, msg, code */
	snprintf(chunk, sizeof chunk, "local pem, err, code = peer_certificate('127.0.0.1', %d, {timeout = 2}) "
	         "assert(pem == nil and err:find('127.0.0.1', 1, true)) return code", sv.port);
	CHECK(lua_run(L, chunk, out, sizeof out));
	CHECK_STR(out, "connect");
	CHECK(lua_run(L, "local pem, err, code = peer_certificate('localhost', 443) return code", out, sizeof out));
	CHECK_STR(out, "invalid");
	/* misuse raises */
	CHECK(!lua_run(L, "return peer_certificate('127.0.0.1', 0)", out, sizeof out) && strstr(out, "port"));
	CHECK(!lua_run(L, "return peer_certificate('127.0.0.1', 443, {timeout = 0})", out, sizeof out) &&
	      strstr(out, "timeout"));
	CHECK(!lua_run(L, "return peer_certificate('127.0.0.1', 443, {sni = 5})", out, sizeof out) && strstr(out, "sni"));
	CHECK(!lua_run(L, "return peer_certificate('127.0.0.1', 443, 'x')", out, sizeof out));
	CHECK(!lua_run(L, "return peer_certificate()", out, sizeof out));
	lua_close(L);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	setup();
	RUN(test_sni);
	RUN(test_alpn);
	RUN(test_old_versions_refused);
	RUN(test_resumption);
	RUN(test_bare_free_loses_session);
	RUN(test_pin_and_io);
	RUN(test_unref_while_handshaking);
	RUN(test_no_sigpipe);
	RUN(test_cn_fallback);
	RUN(test_threads);
	RUN(test_load_errors);
	RUN(test_fetch_chain);
	RUN(test_fetch_failures);
	RUN(test_s_client);
	RUN(test_lua_peer_certificate);
	teardown();
	return check_summary();
}
