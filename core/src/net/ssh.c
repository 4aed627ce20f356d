/* SPDX-License-Identifier: Apache-2.0
 * SSH sessions (kip/ssh.h) on libssh: the TCP connection (made here, so DNS, refusal and the
 * connect timeout are reported precisely), the handshake, known_hosts checking, authentication
 * with a key file and ssh-agent, waiting with keepalives, and the error names. Channels are in
 * ssh_chan.c, SFTP in ssh_sftp.c, key files in ssh_key.c. Uses libssh 0.10, POSIX sockets,
 * pthread_once and kip/err.h. */
#define _GNU_SOURCE /* explicit_bzero */
#include "kip/ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh/server.h> /* ssh_send_keepalive, declared there but meant for both sides */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssh_int.h"

#define SSH_DEFAULT_CONNECT_MS 10000u
#define SSH_DEFAULT_IO_MS 60000u

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;
static int ssh_init_rc;

/* libssh's globals (crypto, threads) are set up once per process. ssh_finalize is never called:
 * another thread may be inside libssh at any time, and libssh's library destructor releases its
 * state at exit anyway. Logging stays off (its level is per thread and 0 by default): library
 * code never prints. */
static void ssh_global_init(void)
{
	ssh_init_rc = ssh_init();
}

int sshc_init(void)
{
	pthread_once(&ssh_once, ssh_global_init);
	return ssh_init_rc == SSH_OK ? 0 : -1;
}

int64_t sshc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sshc_secs(char *buf, size_t size, int64_t ms)
{
	snprintf(buf, size, "%g s", (double)ms / 1000.0);
	return buf;
}

void sshc_set_timeout(ssh_session ssh, unsigned ms)
{
	long secs = (long)(ms / 1000), usecs = (long)(ms % 1000) * 1000;
	if (secs == 0 && usecs == 0)
		usecs = 1000; /* 0 would mean "no limit" to libssh */
	ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &secs);
	ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT_USEC, &usecs);
}

int sshc_fail(struct kip_ssh_session *s, int code, struct kip_err *err, const char *what)
{
	const char *why = s->ssh ? ssh_get_error(s->ssh) : "";
	if (!why || !*why)
		why = "failed";
	if (strstr(why, "imeout") || strstr(why, "timed out"))
		code = KIP_ETIMEOUT;
	return kip_err_set(err, code, "ssh %s: %s: %s", s->desc, what, why);
}

int sshc_buf_add(struct sshc_buf *b, const void *data, size_t len)
{
	if (len > SIZE_MAX / 2 - b->len)
		return -1;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void sshc_buf_compact(struct sshc_buf *b)
{
	if (b->off == 0)
		return;
	if (b->off == b->len) {
		b->off = b->len = 0;
		if (b->data)
			b->data[0] = '\0';
	} else if (b->off >= 65536 && b->off >= b->len / 2) {
		memmove(b->data, b->data + b->off, b->len - b->off + 1);
		b->len -= b->off;
		b->off = 0;
	}
}

void sshc_buf_free(struct sshc_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* Sends keepalive@openssh.com without waiting for the answer. ssh_send_keepalive waits for it in
 * blocking mode; in non-blocking mode it sends the request, or, while an earlier one is still
 * unanswered, only collects that answer. Two calls: the first collects the previous answer, the
 * second then sends. A server that stops answering gets no more requests; the TCP_USER_TIMEOUT
 * set at connect then ends a connection whose requests go unacknowledged. */
static void sshc_keepalive(struct kip_ssh_session *s)
{
	ssh_set_blocking(s->ssh, 0);
	ssh_send_keepalive(s->ssh);
	ssh_send_keepalive(s->ssh);
	ssh_set_blocking(s->ssh, 1);
}

int sshc_wait(struct kip_ssh_session *s, int64_t deadline_ms, struct kip_err *err)
{
	int64_t now = sshc_now_ms();
	int64_t until = deadline_ms > 0 ? deadline_ms : now + 1000;
	if (s->keepalive_ms) {
		int64_t due = s->last_io_ms + s->keepalive_ms;
		if (due <= now) {
			sshc_keepalive(s);
			s->last_io_ms = now;
			due = now + s->keepalive_ms;
		}
		if (due < until)
			until = due;
	}
	int64_t ms = until - now;
	if (ms < 0)
		ms = 0;
	int rc = ssh_event_dopoll(s->event, ms > INT32_MAX ? INT32_MAX : (int)ms);
	if (rc == SSH_OK) {
		s->last_io_ms = sshc_now_ms();
		return 0;
	}
	if (rc == SSH_AGAIN)
		return 0;
	if (!ssh_is_connected(s->ssh))
		return sshc_fail(s, KIP_EIO, err, "connection lost");
	return errno == EINTR ? 0 : kip_err_sys(err, errno, "ssh %s: waiting", s->desc);
}

/* "user@host:port", IPv6 addresses in brackets. */
static void ssh_describe(char *out, size_t size, const char *user, const char *host, unsigned port)
{
	bool v6 = strchr(host, ':') != NULL;
	snprintf(out, size, "%s@%s%s%s:%u", user, v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static void ssh_tune_socket(int fd, unsigned keepalive_ms)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!keepalive_ms)
		return;
	int idle = (int)((keepalive_ms + 999) / 1000), count = 3;
	unsigned user_timeout = keepalive_ms > UINT32_MAX / 3 ? UINT32_MAX : keepalive_ms * 3;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

/* Connects to host:port within timeout_ms, trying each address in turn. Returns the socket or a
 * negative code (KIP_ECONNECT, KIP_ETIMEOUT) with err filled. */
static int ssh_tcp_connect(const char *desc, const char *host, unsigned port, unsigned timeout_ms,
                           struct kip_err *err)
{
	char service[16], secs[32];
	snprintf(service, sizeof service, "%u", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0)
		return kip_err_set(err, KIP_ECONNECT, "ssh %s: cannot resolve %s: %s", desc, host,
		                   rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	int64_t deadline = sshc_now_ms() + timeout_ms;
	int last_errno = ECONNREFUSED, fd = -1;
	bool timed_out = false;
	for (struct addrinfo *ai = res; ai && fd < 0 && !timed_out; ai = ai->ai_next) {
		int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (s < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
			fd = s;
			break;
		}
		if (errno != EINPROGRESS) {
			last_errno = errno;
			close(s);
			continue;
		}
		for (;;) {
			int64_t left = deadline - sshc_now_ms();
			struct pollfd p = {.fd = s, .events = POLLOUT};
			int n = left > 0 ? poll(&p, 1, (int)left) : 0;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				timed_out = n == 0;
				last_errno = n == 0 ? ETIMEDOUT : errno;
				break;
			}
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (soerr == 0)
				fd = s;
			else
				last_errno = soerr;
			break;
		}
		if (fd != s)
			close(s);
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	if (timed_out)
		return kip_err_set(err, KIP_ETIMEOUT, "ssh %s: no TCP connection within %s (connect_timeout)",
		                   desc, sshc_secs(secs, sizeof secs, timeout_ms));
	return kip_err_set(err, KIP_ECONNECT, "ssh %s: cannot connect: %s", desc, strerror(last_errno));
}

/* Checks the server's host key against known_hosts; accepts (and records) an unknown one when
 * asked to. */
static int ssh_check_host_key(struct kip_ssh_session *s, const struct kip_ssh_opts *o,
                              struct kip_ssh_details *d, struct kip_err *err)
{
	ssh_key key = NULL;
	if (ssh_get_server_publickey(s->ssh, &key) != SSH_OK)
		return sshc_fail(s, KIP_EIO, err, "no host key from the server");
	sshc_key_describe(key, s->key_type, s->fingerprint);
	if (d) {
		snprintf(d->fingerprint, sizeof d->fingerprint, "%s", s->fingerprint);
		snprintf(d->key_type, sizeof d->key_type, "%s", s->key_type);
	}
	char host_port[300];
	char *lower = strdup(o->host);
	if (!lower) {
		ssh_key_free(key);
		return kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	}
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (o->port == 22)
		snprintf(host_port, sizeof host_port, "%s", lower);
	else
		snprintf(host_port, sizeof host_port, "[%s]:%u", lower, o->port);
	free(lower);

	int rc = 0;
	enum ssh_known_hosts_e known = ssh_session_is_known_server(s->ssh);
	switch (known) {
	case SSH_KNOWN_HOSTS_OK:
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER: {
		int line = sshc_known_hosts_line(o->known_hosts, host_port, key);
		if (d) {
			snprintf(d->known_hosts, sizeof d->known_hosts, "%s", o->known_hosts);
			d->known_hosts_line = line;
		}
		char where[64] = "";
		if (line > 0)
			snprintf(where, sizeof where, " line %d", line);
		rc = kip_err_set(err, KIP_EHOSTKEY_CHANGED,
		                 "ssh %s: the host key has changed: the server offers %s %s, not the key "
		                 "%s%s holds. Someone may be intercepting the connection (a "
		                 "man-in-the-middle attack). If the server was reinstalled, check that "
		                 "fingerprint on it, then remove the old entry: ssh-keygen -R '%s' -f '%s'",
		                 s->desc, s->key_type, s->fingerprint, o->known_hosts, where, host_port,
		                 o->known_hosts);
		break;
	}
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND: {
		if (o->accept_fingerprint && strcmp(o->accept_fingerprint, s->fingerprint) != 0) {
			rc = kip_err_set(err, KIP_EHOSTKEY_UNKNOWN,
			                 "ssh %s: the server now offers host key %s %s, not %s, the one that "
			                 "was confirmed; nothing was recorded",
			                 s->desc, s->key_type, s->fingerprint, o->accept_fingerprint);
			break;
		}
		if (!o->accept_unknown_host_key && !o->accept_fingerprint) {
			rc = kip_err_set(err, KIP_EHOSTKEY_UNKNOWN,
			                 "ssh %s: unknown host key %s %s (not in %s); compare it with "
			                 "`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the server, then "
			                 "connect with accept_unknown_host_key to record it",
			                 s->desc, s->key_type, s->fingerprint, o->known_hosts);
			break;
		}
		char *entry = NULL;
		if (ssh_session_export_known_hosts_entry(s->ssh, &entry) != SSH_OK) {
			rc = sshc_fail(s, KIP_EIO, err, "cannot make a known_hosts entry");
			break;
		}
		int line = 0;
		rc = sshc_known_hosts_append(o->known_hosts, entry, &line, err);
		ssh_string_free_char(entry);
		break;
	}
	case SSH_KNOWN_HOSTS_ERROR:
	default: {
		char what[4200];
		snprintf(what, sizeof what, "cannot check the host key against %s", o->known_hosts);
		rc = sshc_fail(s, KIP_EIO, err, what);
		break;
	}
	}
	ssh_key_free(key);
	return rc;
}

static void ssh_methods_text(int methods, char *out, size_t size)
{
	static const struct { int bit; const char *name; } names[] = {
		{SSH_AUTH_METHOD_PUBLICKEY, "publickey"},
		{SSH_AUTH_METHOD_PASSWORD, "password"},
		{SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive"},
		{SSH_AUTH_METHOD_HOSTBASED, "hostbased"},
		{SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic"},
	};
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (methods & names[i].bit)
			snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? "," : "", names[i].name);
	if (!out[0])
		snprintf(out, size, "none");
}

/* Appends "; what" (or "what" at the start) to the list of methods tried. */
static void ssh_note(char *tried, size_t size, const char *what)
{
	size_t used = strlen(tried);
	snprintf(tried + used, size - used, "%s%s", used ? "; " : "", what);
}

/* Authenticates with the key (when loaded), then ssh-agent. key_pending: key_file is encrypted and
 * no passphrase was given; reported once the agent did not get in either. */
static int ssh_authenticate(struct kip_ssh_session *s, const struct kip_ssh_opts *o, ssh_key key,
                            bool key_pending, struct kip_ssh_details *d, struct kip_err *err)
{
	int rc = ssh_userauth_none(s->ssh, NULL);
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR)
		return sshc_fail(s, KIP_EIO, err, "authentication");
	int methods = ssh_userauth_list(s->ssh, NULL);
	char tried[1200] = "", allowed[128], what[4300];
	bool partial = false;

	if (key) {
		char type[48], fp[96];
		sshc_key_describe(key, type, fp);
		if (!(methods & SSH_AUTH_METHOD_PUBLICKEY)) {
			snprintf(what, sizeof what, "key %s (not offered: the server takes no public keys)",
			         o->key_file);
			ssh_note(tried, sizeof tried, what);
		} else {
			rc = ssh_userauth_publickey(s->ssh, NULL, key);
			if (rc == SSH_AUTH_SUCCESS)
				return 0;
			if (rc == SSH_AUTH_ERROR)
				return sshc_fail(s, KIP_EIO, err, "public key authentication");
			partial = partial || rc == SSH_AUTH_PARTIAL;
			snprintf(what, sizeof what, "key %s (%s %s)", o->key_file, type, fp);
			ssh_note(tried, sizeof tried, what);
			methods = ssh_userauth_list(s->ssh, NULL);
		}
	}

	if (o->agent) {
		const char *sock = o->agent_socket ? o->agent_socket : getenv("SSH_AUTH_SOCK");
		struct stat st;
		if (!sock || !*sock) {
			ssh_note(tried, sizeof tried, "ssh-agent (not used: SSH_AUTH_SOCK is not set)");
		} else if (stat(sock, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			snprintf(what, sizeof what, "ssh-agent (no agent socket at %s)", sock);
			ssh_note(tried, sizeof tried, what);
		} else if (!(methods & SSH_AUTH_METHOD_PUBLICKEY)) {
			snprintf(what, sizeof what, "ssh-agent at %s (not offered: the server takes no public "
			         "keys)", sock);
			ssh_note(tried, sizeof tried, what);
		} else {
			if (o->agent_socket)
				ssh_options_set(s->ssh, SSH_OPTIONS_IDENTITY_AGENT, o->agent_socket);
			rc = ssh_userauth_agent(s->ssh, NULL);
			if (rc == SSH_AUTH_SUCCESS)
				return 0;
			if (rc == SSH_AUTH_ERROR)
				return sshc_fail(s, KIP_EIO, err, "ssh-agent authentication");
			partial = partial || rc == SSH_AUTH_PARTIAL;
			snprintf(what, sizeof what, "the keys of ssh-agent at %s", sock);
			ssh_note(tried, sizeof tried, what);
			methods = ssh_userauth_list(s->ssh, NULL);
		}
	}

	if (key_pending)
		return kip_err_set(err, KIP_EPASSPHRASE,
		                   "ssh %s: key file %s is encrypted: its passphrase is needed "
		                   "(key_passphrase)%s", s->desc, o->key_file,
		                   tried[0] ? " (ssh-agent did not get in either)" : "");
	ssh_methods_text(methods, allowed, sizeof allowed);
	if (d)
		snprintf(d->allowed, sizeof d->allowed, "%s", allowed);
	if (!tried[0])
		return kip_err_set(err, KIP_EAUTH,
		                   "ssh %s: no way to authenticate: give key_file, or use ssh-agent; the "
		                   "server allows: %s", s->desc, allowed);
	return kip_err_set(err, KIP_EAUTH, "ssh %s: authentication refused%s; tried: %s; the server "
	                   "allows: %s", s->desc, partial ? " (partial success: more methods needed)" : "",
	                   tried, allowed);
}

static bool ssh_plain_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int ssh_check_opts(const struct kip_ssh_opts *o, struct kip_err *err)
{
	if (!o->host || !*o->host || !ssh_plain_text(o->host) || strpbrk(o->host, "@ /"))
		return kip_err_set(err, KIP_EINVAL, "ssh: bad host name '%s'", o->host ? o->host : "");
	if (o->user && (!*o->user || !ssh_plain_text(o->user) || strchr(o->user, '@')))
		return kip_err_set(err, KIP_EINVAL, "ssh: bad user name '%s'", o->user);
	if (!o->known_hosts || !*o->known_hosts)
		return kip_err_set(err, KIP_EINVAL, "ssh: known_hosts (a file path) is required");
	if (o->known_hosts[0] == '~')
		return kip_err_set(err, KIP_EINVAL, "ssh: known_hosts '%s': expand ~ first", o->known_hosts);
	if (o->port > 65535)
		return kip_err_set(err, KIP_EINVAL, "ssh: bad port %u", o->port);
	return 0;
}

void kip_ssh_session_free(struct kip_ssh_session *s)
{
	if (!s)
		return;
	while (s->channels) {
		struct kip_ssh_channel *c = s->channels;
		sshc_chan_close(c); /* unlinks c */
		c->s = NULL;
	}
	sshc_sftp_end(s);
	if (s->event) {
		ssh_event_remove_session(s->event, s->ssh);
		ssh_event_free(s->event);
	}
	if (s->ssh) {
		if (ssh_is_connected(s->ssh))
			ssh_disconnect(s->ssh);
		ssh_free(s->ssh);
	}
	/* libssh closed its copy of the socket if the connection failed, not otherwise. If lib_fd
	 * still names our socket (another thread may have reused the number), close it. */
	struct stat a, b;
	if (s->lib_fd >= 0 && s->fd >= 0 && fstat(s->lib_fd, &a) == 0 && fstat(s->fd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		close(s->lib_fd);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

int kip_ssh_connect(const struct kip_ssh_opts *opts, struct kip_ssh_session **out,
                    struct kip_ssh_details *d, struct kip_err *err)
{
	*out = NULL;
	if (d)
		memset(d, 0, sizeof *d);
	struct kip_ssh_opts o = *opts;
	if (!o.port)
		o.port = 22;
	if (!o.user)
		o.user = "root";
	if (!o.connect_timeout_ms)
		o.connect_timeout_ms = SSH_DEFAULT_CONNECT_MS;
	int rc = ssh_check_opts(&o, err);
	if (rc != 0)
		return rc;
	if (sshc_init() != 0)
		return kip_err_set(err, KIP_EIO, "ssh: libssh could not be initialised");

	struct kip_ssh_session *s = calloc(1, sizeof *s);
	if (!s)
		return kip_err_set(err, KIP_ENOMEM, "ssh: out of memory");
	s->fd = s->lib_fd = -1;
	ssh_describe(s->desc, sizeof s->desc, o.user, o.host, o.port);
	s->io_timeout_ms = o.io_timeout_ms ? o.io_timeout_ms : SSH_DEFAULT_IO_MS;
	s->keepalive_ms = o.keepalive_ms;

	/* The key first: a missing file or passphrase is reported without touching the network. */
	ssh_key key = NULL;
	bool encrypted = false, key_pending = false;
	if (o.key_file) {
		char who[600];
		snprintf(who, sizeof who, "ssh %s", s->desc);
		rc = sshc_key_load(who, o.key_file, o.key_passphrase, &key, &encrypted, err);
		if (rc == KIP_EPASSPHRASE && !o.key_passphrase && o.agent) {
			key_pending = true; /* ssh-agent may still get in */
			rc = 0;
		}
		if (rc != 0) {
			free(s);
			return rc;
		}
	}

	s->fd = ssh_tcp_connect(s->desc, o.host, o.port, o.connect_timeout_ms, err);
	if (s->fd < 0) {
		rc = s->fd;
		goto fail;
	}
	ssh_tune_socket(s->fd, o.keepalive_ms);
	s->lib_fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	s->ssh = s->lib_fd >= 0 ? ssh_new() : NULL;
	if (!s->ssh) {
		rc = kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
		goto fail;
	}
	int no = 0;
	unsigned port = o.port;
	/* libssh expands %d, %u, ... in this path when it reads it; ours has none */
	char known_hosts[8192];
	size_t k = 0;
	for (const char *p = o.known_hosts; *p && k + 2 < sizeof known_hosts; p++) {
		if (*p == '%')
			known_hosts[k++] = '%';
		known_hosts[k++] = *p;
	}
	known_hosts[k] = '\0';
	if (ssh_options_set(s->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(s->ssh, SSH_OPTIONS_HOST, o.host) < 0 ||
	    ssh_options_set(s->ssh, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(s->ssh, SSH_OPTIONS_USER, o.user) < 0 ||
	    ssh_options_set(s->ssh, SSH_OPTIONS_KNOWNHOSTS, known_hosts) < 0 ||
	    ssh_options_set(s->ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") < 0 ||
	    ssh_options_set(s->ssh, SSH_OPTIONS_FD, &s->lib_fd) < 0) {
		rc = sshc_fail(s, KIP_EINVAL, err, "bad option");
		goto fail;
	}
	sshc_set_timeout(s->ssh, o.connect_timeout_ms);
	if (ssh_connect(s->ssh) != SSH_OK) {
		rc = sshc_fail(s, KIP_EIO, err, "SSH handshake");
		if (rc == KIP_ETIMEOUT) {
			char secs[32];
			kip_err_set(err, KIP_ETIMEOUT, "ssh %s: no SSH handshake within %s (connect_timeout)",
			            s->desc, sshc_secs(secs, sizeof secs, o.connect_timeout_ms));
		}
		goto fail;
	}
	rc = ssh_check_host_key(s, &o, d, err);
	if (rc == 0)
		rc = ssh_authenticate(s, &o, key, key_pending, d, err);
	if (rc != 0)
		goto fail;
	ssh_key_free(key); /* the decrypted key lives no longer than needed */
	key = NULL;
	sshc_set_timeout(s->ssh, s->io_timeout_ms);
	s->event = ssh_event_new();
	if (!s->event || ssh_event_add_session(s->event, s->ssh) != SSH_OK) {
		rc = kip_err_set(err, KIP_ENOMEM, "ssh %s: cannot set up waiting", s->desc);
		goto fail;
	}
	s->last_io_ms = sshc_now_ms();
	*out = s;
	return 0;
fail:
	ssh_key_free(key);
	kip_ssh_session_free(s);
	return rc;
}

const char *kip_ssh_session_fingerprint(const struct kip_ssh_session *s)
{
	return s->fingerprint;
}

const char *kip_ssh_session_key_type(const struct kip_ssh_session *s)
{
	return s->key_type;
}

const char *kip_ssh_session_desc(const struct kip_ssh_session *s)
{
	return s->desc;
}
