/* SPDX-License-Identifier: Apache-2.0
 * The TLS front declared in kip/tls_front.h: an acceptor thread, and per connection a thread
 * that completes the handshake, connects to the backend from a port it registers, and relays
 * bytes both ways until either side closes or the front stops. Uses OpenSSL 3 and pthreads. */
#define _GNU_SOURCE
#include "kip/tls_front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRONT_POLL_MS 500
#define FRONT_HANDSHAKE_MS 10000
#define FRONT_BUF 16384

struct peer {
	struct peer *next;
	int port;            /* local port of the backend connection */
	struct kip_tls_front_client client;
};

struct kip_tls_front {
	SSL_CTX *ctx;
	int listen_fd;
	int port;
	int backend_port;
	pthread_t acceptor;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int active;          /* relaying threads alive */
	bool stopping;
	struct peer *peers;
};

struct relay {
	struct kip_tls_front *front;
	int client_fd;
};

static int split_address(const char *listen, char *host, size_t host_len, int *port)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen)
		return -1;
	size_t n = (size_t)(colon - listen);
	if (listen[0] == '[' && n >= 2 && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n >= host_len)
		return -1;
	memcpy(host, listen, n);
	host[n] = '\0';
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static int ossl_fail(struct kip_err *err, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return kip_err_set(err, KIP_EINVAL, "%s %s: %s", what, file, buf[0] ? buf : "unknown OpenSSL error");
}

static SSL_CTX *make_ctx(const struct kip_tls_front_opts *opts, struct kip_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		kip_err_set(err, KIP_ENOMEM, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, opts->cert_file) != 1) {
		ossl_fail(err, "cannot load the certificate from", opts->cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, opts->cert_file, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ossl_fail(err, "cannot load the private key from", opts->cert_file);
		goto fail;
	}
	if (opts->ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, opts->ca_file, NULL) != 1) {
			ossl_fail(err, "cannot load the client CA from", opts->ca_file);
			goto fail;
		}
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(opts->ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		int mode = SSL_VERIFY_PEER | (opts->require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
		SSL_CTX_set_verify(ctx, mode, NULL);
		/* resumed sessions with verified clients need a context, else OpenSSL fails the handshake */
		static const unsigned char sid_ctx[] = "kip-tls-front";
		SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void add_peer(struct kip_tls_front *f, struct peer *p)
{
	pthread_mutex_lock(&f->lock);
	p->next = f->peers;
	f->peers = p;
	pthread_mutex_unlock(&f->lock);
}

static void remove_peer(struct kip_tls_front *f, struct peer *p)
{
	pthread_mutex_lock(&f->lock);
	for (struct peer **q = &f->peers; *q; q = &(*q)->next) {
		if (*q == p) {
			*q = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
}

bool kip_tls_front_peer(struct kip_tls_front *f, int port, struct kip_tls_front_client *client)
{
	bool found = false;
	pthread_mutex_lock(&f->lock);
	for (struct peer *p = f->peers; p; p = p->next) {
		if (p->port == port) {
			*client = p->client;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return found;
}

static bool stopping(struct kip_tls_front *f)
{
	pthread_mutex_lock(&f->lock);
	bool s = f->stopping;
	pthread_mutex_unlock(&f->lock);
	return s;
}

/* Waits until fd is ready for `events` or the timeout passes; false on timeout or stop. */
static bool wait_fd(struct kip_tls_front *f, int fd, short events, int timeout_ms)
{
	while (timeout_ms > 0 && !stopping(f)) {
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, timeout_ms < FRONT_POLL_MS ? timeout_ms : FRONT_POLL_MS);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
		timeout_ms -= FRONT_POLL_MS;
	}
	return false;
}

static bool handshake(struct kip_tls_front *f, SSL *ssl, int fd)
{
	for (;;) {
		int rc = SSL_accept(ssl);
		if (rc == 1)
			return true;
		int e = SSL_get_error(ssl, rc);
		if (e == SSL_ERROR_WANT_READ) {
			if (!wait_fd(f, fd, POLLIN, FRONT_HANDSHAKE_MS))
				return false;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			if (!wait_fd(f, fd, POLLOUT, FRONT_HANDSHAKE_MS))
				return false;
		} else {
			return false;
		}
	}
}

static int connect_backend(struct kip_tls_front *f, struct peer *p)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof local;
	if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0 || getsockname(fd, (struct sockaddr *)&local, &len) != 0) {
		close(fd);
		return -1;
	}
	/* registered before connecting, so the backend knows the connection when it arrives */
	p->port = ntohs(local.sin_port);
	add_peer(f, p);
	struct sockaddr_in backend = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->backend_port),
	                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&backend, sizeof backend) != 0) {
		remove_peer(f, p);
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static bool ssl_write_all(struct kip_tls_front *f, SSL *ssl, int fd, const char *buf, size_t len)
{
	while (len > 0) {
		int n = SSL_write(ssl, buf, (int)len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		int e = SSL_get_error(ssl, n);
		short ev = e == SSL_ERROR_WANT_WRITE ? POLLOUT : e == SSL_ERROR_WANT_READ ? POLLIN : 0;
		if (!ev || !wait_fd(f, fd, ev, 30000))
			return false;
	}
	return true;
}

/* Relays until either side closes. */
static void relay_loop(struct kip_tls_front *f, SSL *ssl, int cfd, int bfd)
{
	char *buf = malloc(FRONT_BUF);
	if (!buf)
		return;
	for (;;) {
		if (stopping(f))
			break;
		struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = bfd, .events = POLLIN}};
		int n = SSL_pending(ssl) > 0 ? 1 : poll(p, 2, FRONT_POLL_MS);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (SSL_pending(ssl) > 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			bool closed = false;
			for (;;) {
				int r = SSL_read(ssl, buf, FRONT_BUF);
				if (r > 0) {
					if (!write_all(bfd, buf, (size_t)r)) {
						closed = true;
						break;
					}
					continue;
				}
				int e = SSL_get_error(ssl, r);
				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
					closed = true;
				break;
			}
			if (closed)
				break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(bfd, buf, FRONT_BUF);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || !ssl_write_all(f, ssl, cfd, buf, (size_t)r))
				break;
		}
	}
	free(buf);
}

/* Closes a connection whose handshake failed without resetting it: TLS 1.3 clients learn that
 * their certificate was refused only after their Finished, so an immediate close would hide the
 * alert behind a reset. Waits (at most half a second) for the client to close first. */
static void linger_close(struct kip_tls_front *f, int fd)
{
	shutdown(fd, SHUT_WR);
	char buf[512];
	for (int waited = 0; waited < 500 && !stopping(f); waited += 50) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) > 0) {
			ssize_t n = read(fd, buf, sizeof buf);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	close(fd);
}

/* The client's address and port, as text, for the backend's request info. */
static void client_address(int fd, struct kip_tls_front_client *client)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, client->addr, sizeof client->addr);
		client->port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, client->addr, sizeof client->addr);
		client->port = ntohs(in6->sin6_port);
	}
}

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	struct kip_tls_front *f = r->front;
	int cfd = r->client_fd;
	free(r);
	struct peer *peer = calloc(1, sizeof *peer);
	SSL *ssl = SSL_new(f->ctx);
	int bfd = -1;
	if (peer && ssl && SSL_set_fd(ssl, cfd) == 1 && handshake(f, ssl, cfd)) {
		X509 *cert = SSL_get1_peer_certificate(ssl);
		if (cert) {
			X509_NAME_oneline(X509_get_subject_name(cert), peer->client.subject, sizeof peer->client.subject);
			X509_free(cert);
		}
		client_address(cfd, &peer->client);
		bfd = connect_backend(f, peer);
		if (bfd >= 0) {
			relay_loop(f, ssl, cfd, bfd);
			SSL_shutdown(ssl);
			remove_peer(f, peer);
			close(bfd);
		}
	}
	if (bfd < 0)
		linger_close(f, cfd); /* the handshake failed: let the client read the alert first */
	else
		close(cfd);
	ERR_clear_error();
	SSL_free(ssl);
	free(peer);
	pthread_mutex_lock(&f->lock);
	f->active--;
	pthread_cond_broadcast(&f->idle);
	pthread_mutex_unlock(&f->lock);
	ERR_clear_error();
	OPENSSL_thread_stop();
	return NULL;
}

static void *accept_thread(void *arg)
{
	struct kip_tls_front *f = arg;
	while (!stopping(f)) {
		struct pollfd p = {.fd = f->listen_fd, .events = POLLIN};
		if (poll(&p, 1, FRONT_POLL_MS) <= 0)
			continue;
		int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct relay *r = malloc(sizeof *r);
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_mutex_lock(&f->lock);
		f->active++;
		pthread_mutex_unlock(&f->lock);
		if (r) {
			r->front = f;
			r->client_fd = fd;
		}
		if (!r || pthread_create(&t, &attr, relay_thread, r) != 0) {
			free(r);
			close(fd);
			pthread_mutex_lock(&f->lock);
			f->active--;
			pthread_mutex_unlock(&f->lock);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

int kip_tls_front_start(const struct kip_tls_front_opts *opts, struct kip_tls_front **out, struct kip_err *err)
{
	char host[256];
	int port;
	if (split_address(opts->listen, host, sizeof host, &port) != 0)
		return kip_err_set(err, KIP_EINVAL, "bad listen address %s: use ADDRESS:PORT", opts->listen);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port_text[8];
	snprintf(port_text, sizeof port_text, "%d", port);
	int rc = getaddrinfo(host[0] ? host : NULL, port_text, &hints, &ai);
	if (rc != 0)
		return kip_err_set(err, KIP_EINVAL, "cannot serve on %s: %s", opts->listen, gai_strerror(rc));
	struct kip_tls_front *f = calloc(1, sizeof *f);
	if (!f) {
		freeaddrinfo(ai);
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	}
	f->listen_fd = -1;
	f->backend_port = opts->backend_port;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->idle, NULL);
	f->ctx = make_ctx(opts, err);
	if (!f->ctx)
		goto fail;
	f->listen_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (f->listen_fd < 0 || setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(f->listen_fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(f->listen_fd, 128) != 0) {
		kip_err_sys(err, errno, "cannot serve on %s", opts->listen);
		goto fail;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	getsockname(f->listen_fd, (struct sockaddr *)&bound, &blen);
	f->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                                            : ((struct sockaddr_in *)&bound)->sin_port);
	if (pthread_create(&f->acceptor, NULL, accept_thread, f) != 0) {
		kip_err_set(err, KIP_ENOMEM, "cannot start the TLS acceptor thread");
		goto fail;
	}
	freeaddrinfo(ai);
	*out = f;
	return KIP_OK;
fail:
	freeaddrinfo(ai);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	SSL_CTX_free(f->ctx);
	pthread_cond_destroy(&f->idle);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return err ? err->code : KIP_EIO;
}

int kip_tls_front_port(const struct kip_tls_front *front)
{
	return front->port;
}

void kip_tls_front_stop(struct kip_tls_front *f)
{
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->acceptor, NULL);
	close(f->listen_fd);
	pthread_mutex_lock(&f->lock);
	while (f->active > 0)
		pthread_cond_wait(&f->idle, &f->lock);
	pthread_mutex_unlock(&f->lock);
	SSL_CTX_free(f->ctx);
	pthread_cond_destroy(&f->idle);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
