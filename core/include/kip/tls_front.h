/* SPDX-License-Identifier: Apache-2.0
 * A TLS front for the HTTP server: accepts TLS (1.2+, optionally requiring a client certificate
 * that chains to a CA), and relays each connection in the clear to a backend port on loopback.
 * The backend learns who is on the other end by the port the front connected from
 * (kip_tls_front_peer), and refuses connections that did not come through the front.
 * Exists because Debian's civetweb cannot do TLS with OpenSSL 3 (it calls a function OpenSSL 3
 * removed). Uses OpenSSL and pthreads; one thread per connection. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"

struct kip_tls_front;

struct kip_tls_front_opts {
	const char *listen;       /* "127.0.0.1:6443"; port 0 picks one */
	const char *cert_file;    /* PEM: certificate chain and private key */
	const char *ca_file;      /* client certificates are verified against it (NULL: none asked) */
	bool require_client_cert;
	int backend_port;         /* the plaintext server on 127.0.0.1 */
};

/** Starts listening. Returns 0 with *out set, or a KIP_E* code with err naming the file or
 * address at fault. */
int kip_tls_front_start(const struct kip_tls_front_opts *opts, struct kip_tls_front **out, struct kip_err *err);

/** The port the front listens on. */
int kip_tls_front_port(const struct kip_tls_front *front);

/** Who is on the other end of a backend connection, as the front saw it. */
struct kip_tls_front_client {
	char subject[512];   /* the client certificate's subject ("/O=system:masters/CN=system:admin"), or "" */
	char addr[64];       /* the client's address as text ("203.0.113.7", "::1") */
	int port;            /* the client's port */
};

/** Whether a backend connection from local port `port` came through the front; when it did, fills
 * *client (subject "" when the client showed no certificate). */
bool kip_tls_front_peer(struct kip_tls_front *front, int port, struct kip_tls_front_client *client);

/** Stops accepting, ends every relayed connection, waits for their threads, frees the front. */
void kip_tls_front_stop(struct kip_tls_front *front);
