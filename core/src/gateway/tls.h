/* SPDX-License-Identifier: Apache-2.0
 * The gateway's TLS with OpenSSL: the server side (certificate sets chosen by SNI, ALPN http/1.1,
 * resumption), the upstream side (SNI, key pinning), nonblocking reads and writes for the event
 * loop, and a blocking fetch of a peer's certificate chain for the registration API.
 * Implemented in tls.c over OpenSSL 3 and the crypto services (kip/cert.h, kip/key.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

#include "kip/err.h"

struct gw_cert_pair { const char *cert_file; const char *key_file; };

/** A certificate set: immutable once built, refcounted; holds one SSL_CTX per pair and the SNI
 * index (exact SAN names, wildcard SANs; the subject CN when a certificate has no SAN). */
struct gw_tls_server;

/** Loads each pair (cert_file: PEM, leaf first then its chain; key_file: an unencrypted PEM
 * private key, Ed25519, ECDSA or RSA, matching the leaf) into one context each: TLS 1.2+, ECDHE
 * AEAD suites, ALPN http/1.1, session tickets (keys shared by the set's contexts, random per
 * set, so tickets do not survive a reload) plus the server session cache, one session id
 * context for all. The first pair is the default. Returns the set with one reference, or NULL
 * with err (NUL-terminated, truncated to errlen) naming the file and what is wrong: unreadable,
 * no certificate, an encrypted key, "key K does not match the certificate C", ... */
struct gw_tls_server *gw_tls_server_new(const struct gw_cert_pair *pairs, size_t n, char *err, size_t errlen);
/** Thread-safe (atomic). The set is freed when its last reference goes: every SSL made by
 * gw_tls_server_accept holds one until SSL_free, so dropping a set on reload never frees what a
 * connection still uses. */
void gw_tls_server_ref(struct gw_tls_server *s);
void gw_tls_server_unref(struct gw_tls_server *s); /* NULL is fine */
/** A server SSL for an accepted nonblocking fd (the caller frees it with SSL_free and closes fd;
 * the SSL holds a reference on s, so unref of the set while handshakes run is safe). TLS 1.2+,
 * ALPN: selects http/1.1 (clients offering no ALPN are fine; h2-only clients with no overlap get
 * no ALPN, the handshake goes on), SNI: exact SAN match, then wildcard SAN (*.zone matches one
 * label), else the first pair. Session resumption: tickets + server cache. NULL on failure.
 * Drive it with gw_tls_handshake. SSL_get_ex_data index 0 (SSL_set_app_data) is free for the
 * caller. */
SSL *gw_tls_server_accept(struct gw_tls_server *s, int fd);

/** The upstream context: TLS 1.2+, ALPN http/1.1, no CA verification (the pin is the check). */
struct gw_tls_client;
struct gw_tls_client *gw_tls_client_new(char *err, size_t errlen);
void gw_tls_client_free(struct gw_tls_client *c); /* NULL is fine; SSLs made from it stay valid */
/** A client SSL on the connected (or connecting) nonblocking fd, with SNI sni (not sent when NULL,
 * "" or an IP literal). NULL on failure. Drive it with gw_tls_handshake, then check the pin with
 * gw_tls_peer_spki_sha256. */
SSL *gw_tls_client_connect(struct gw_tls_client *c, int fd, const char *sni);

/* Every SSL made here writes with send(MSG_NOSIGNAL): a peer that reset the connection gives
 * GW_IO_ERROR, never SIGPIPE. SSL_get_fd works on them as usual.
 * Results of the nonblocking helpers. GW_IO_EOF: the peer sent close_notify. A TCP close without
 * close_notify is GW_IO_ERROR (OpenSSL 3: "unexpected eof"). WANT_READ / WANT_WRITE: wait for the
 * fd to be readable / writable and call the same function again (with the same buffer for a
 * write). Every helper leaves OpenSSL's error queue empty. */
enum { GW_IO_ERROR = -1, GW_IO_WANT_READ = -2, GW_IO_WANT_WRITE = -3, GW_IO_EOF = 0 };
/** 1 done, or GW_IO_* (GW_IO_EOF and GW_IO_ERROR both mean the handshake failed). */
int gw_tls_handshake(SSL *ssl);
/** >0 bytes read, or GW_IO_*; len 0 returns 0 without reading. */
ptrdiff_t gw_tls_read(SSL *ssl, void *buf, size_t len);
/** >0 bytes written (partial writes happen), or GW_IO_*; len 0 returns 0 without writing. */
ptrdiff_t gw_tls_write(SSL *ssl, const void *buf, size_t len);
/** Ends a connection's TLS and frees ssl (NULL is fine; the fd stays the caller's to close).
 * clean: the exchange ended normally, so send close_notify (one nonblocking try, the result
 * ignored). Either way the session stays resumable: a bare SSL_free of an SSL that did not send
 * close_notify drops its session from the server cache (TLS 1.2 clients without tickets would
 * then never resume). Sessions of fatal TLS errors are dropped by OpenSSL regardless. */
void gw_tls_free(SSL *ssl, bool clean);
/** SHA-256 of the peer leaf certificate's SubjectPublicKeyInfo (DER) into out: the same value as
 * `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`. 0 ok, -1 none. */
int gw_tls_peer_spki_sha256(SSL *ssl, unsigned char out[32]);

/** Blocking (for the API thread, never the loop): connects to ip:port (an IPv4 or IPv6 literal,
 * no DNS), handshakes (TLS 1.2+, no verification) with SNI sni (NULL: none), the whole within
 * timeout_ms, and returns the peer's certificate chain as PEM in *pem (malloc'd, NUL-terminated,
 * leaf first, as the peer sent it; the caller frees it). 0 ok, -1 with err. */
int gw_tls_fetch_peer_chain(const char *ip, int port, const char *sni, int timeout_ms, char **pem, char *err,
                            size_t errlen);
/** The same with a struct kip_err: returns 0, or KIP_EINVAL (bad ip, port or timeout),
 * KIP_ECONNECT (refused, unreachable), KIP_ETIMEOUT (connect or handshake too slow), KIP_ETLS
 * (handshake failed, no certificate), KIP_ENOMEM. */
int gw_tls_fetch_chain(const char *ip, int port, const char *sni, int timeout_ms, char **pem, struct kip_err *err);
