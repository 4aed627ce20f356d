/* SPDX-License-Identifier: Apache-2.0
 * The gateway's TLS with OpenSSL: the server side (certificate sets chosen by SNI, ALPN http/1.1,
 * resumption), the upstream side (SNI, key pinning), nonblocking reads and writes for the event
 * loop, and a blocking fetch of a peer's certificate chain for the registration API. */
#ifndef KIP_GATEWAY_TLS_H
#define KIP_GATEWAY_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

struct gw_cert_pair { const char *cert_file; const char *key_file; };
struct gw_tls_server;   /* immutable once built, refcounted: holds one SSL_CTX per pair + SNI index */
struct gw_tls_server *gw_tls_server_new(const struct gw_cert_pair *pairs, size_t n, char *err, size_t errlen);
void gw_tls_server_ref(struct gw_tls_server *s);
void gw_tls_server_unref(struct gw_tls_server *s);
/* A server SSL for an accepted nonblocking fd (the SSL keeps its SSL_CTX alive, so unref of the
 * set while handshakes run is safe). TLS 1.2+, ALPN: selects http/1.1 (refuses h2-only clients
 * with no overlap by not selecting), SNI: exact SAN match, then wildcard SAN (*.zone matches one
 * label), else the first pair. Session resumption: tickets + server cache. */
SSL *gw_tls_server_accept(struct gw_tls_server *s, int fd);
struct gw_tls_client;   /* upstream context: TLS 1.2+, no CA verification (the pin is the check) */
struct gw_tls_client *gw_tls_client_new(char *err, size_t errlen);
void gw_tls_client_free(struct gw_tls_client *c);
SSL *gw_tls_client_connect(struct gw_tls_client *c, int fd, const char *sni);
enum { GW_IO_ERROR = -1, GW_IO_WANT_READ = -2, GW_IO_WANT_WRITE = -3, GW_IO_EOF = 0 };
int gw_tls_handshake(SSL *ssl);                 /* 1 done, or GW_IO_* */
ptrdiff_t gw_tls_read(SSL *ssl, void *buf, size_t len);   /* >0 bytes, or GW_IO_* */
ptrdiff_t gw_tls_write(SSL *ssl, const void *buf, size_t len);
/* SHA-256 of the peer leaf certificate's SubjectPublicKeyInfo (DER). 0 ok, -1 none. */
int gw_tls_peer_spki_sha256(SSL *ssl, unsigned char out[32]);
/* Blocking (for the API thread, never the loop): connect to ip:port with timeout, handshake with
 * sni, return the peer's certificate chain as PEM (malloc'd, leaf first). 0 ok, -1 with err. */
int gw_tls_fetch_peer_chain(const char *ip, int port, const char *sni, int timeout_ms, char **pem, char *err, size_t errlen);

#endif
