/* SPDX-License-Identifier: Apache-2.0
 * The SSH client of the whole project (core/src/net/ssh*.c, the only libssh users): one connection
 * per session with OpenSSH known_hosts checking, key file / ssh-agent authentication, commands run
 * buffered or streamed (one channel each), and SFTP upload / download. Uses libssh 0.10 and
 * kip/err.h. Every call blocks the calling thread; a session is used by one thread at a time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"

/* Failures use the codes of kip/err.h: KIP_ECONNECT, KIP_EHOSTKEY_UNKNOWN, KIP_EHOSTKEY_CHANGED,
 * KIP_EPASSPHRASE, KIP_EAUTH besides the common ones. */

/* Output cap per stream of kip_ssh_exec when max_output is 0 (64 MiB); also the longest line a
 * channel returns and the largest file kip_ssh_download reads by default. */
#define KIP_SSH_MAX_OUTPUT ((size_t)64 << 20)

/* kip_ssh_channel_read results besides errors (negative codes). */
enum {
	KIP_SSH_IDLE = 0,   /* wait_ms passed with nothing to return */
	KIP_SSH_STDOUT = 1, /* *data holds a chunk (or a line) of standard output */
	KIP_SSH_STDERR = 2, /* ... of standard error */
	KIP_SSH_EXIT = 3,   /* the command ended: see kip_ssh_channel_exit; again on every later call */
};

struct kip_ssh_opts {
	const char *host;             /* name or address; required */
	unsigned port;                /* 0: 22 */
	const char *user;             /* NULL: "root" */
	const char *key_file;         /* private key (OpenSSH or PEM format; ed25519, ecdsa, rsa) */
	const char *key_passphrase;   /* for an encrypted key_file; never put in a message, and the
	                               * decrypted key is kept only until authentication ends */
	bool agent;                   /* also try the keys of ssh-agent */
	const char *agent_socket;     /* NULL: $SSH_AUTH_SOCK */
	const char *known_hosts;      /* OpenSSH known_hosts file; required (it need not exist) */
	bool accept_unknown_host_key; /* append an unknown host key to known_hosts and go on */
	const char *accept_fingerprint; /* like accept_unknown_host_key, but only for the unknown key
	                                 * with this "SHA256:..." fingerprint (the one a person confirmed) */
	unsigned connect_timeout_ms;  /* TCP connect, then SSH handshake + authentication; 0: 10 s */
	unsigned io_timeout_ms;       /* longest wait for a reply to a request once connected
	                               * (opening a channel, each SFTP request); 0: 60 s */
	unsigned keepalive_ms;        /* 0: none. Else keepalive@openssh.com requests while a call
	                               * waits and the connection was idle this long, plus TCP
	                               * keepalives (and TCP_USER_TIMEOUT of 3 intervals) meanwhile */
};

/* Filled by kip_ssh_connect when it fails on the host key or authentication. */
struct kip_ssh_details {
	char fingerprint[96];   /* "SHA256:..." of the server's host key, as ssh-keygen -l prints it */
	char key_type[48];      /* its type: "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa" */
	char known_hosts[4096]; /* hostkey-changed: the file holding the old key ... */
	int known_hosts_line;   /* ... and the line (1-based; 0 when not found) */
	char allowed[128];      /* auth: the methods the server allows, "publickey,password" */
};

struct kip_ssh_exec_opts {
	const char *stdin_data;       /* sent to the command, then EOF; NULL: EOF at once */
	size_t stdin_len;
	unsigned timeout_ms;          /* whole command; 0: none. When it passes the command is killed
	                               * (signal KILL, which OpenSSH's sshd delivers to its process
	                               * group) and its channel closed */
	size_t max_output;            /* bytes per stream; 0: KIP_SSH_MAX_OUTPUT. More kills it too */
};

struct kip_ssh_result {
	int status;        /* exit status, or -1 when the command was killed by a signal */
	char signal[32];   /* "KILL", "TERM", ... when killed by a signal, else "" */
	char *out, *err;   /* owned, NUL-terminated; never NULL after kip_ssh_exec returned */
	size_t out_len, err_len;
};

struct kip_ssh_session;
struct kip_ssh_channel;


/** Connects, checks the host key against o->known_hosts and authenticates. The first call
 * initialises libssh (ssh_init, once per process through pthread_once; ssh_finalize is never
 * called: libssh's own destructor releases it at exit). Returns 0 and *out (free with
 * kip_ssh_session_free), or a code with err saying "ssh USER@HOST:PORT: what happened" and details
 * (optional) filled:
 * - KIP_EINVAL: bad options (no host, no known_hosts, a line break in a name);
 * - KIP_ENOENT / KIP_EACCES: key_file missing or unreadable; KIP_EINVAL: not a key;
 * - KIP_EPASSPHRASE: key_file is encrypted and no or a wrong passphrase was given (checked
 *   before connecting; without a passphrase, only once ssh-agent did not get in either);
 * - KIP_ECONNECT: the name does not resolve, the port is closed or the host unreachable;
 * - KIP_ETIMEOUT: no TCP connection or no SSH handshake within connect_timeout_ms;
 * - KIP_EHOSTKEY_UNKNOWN, KIP_EHOSTKEY_CHANGED (details: fingerprint, key_type, and for
 *   a changed key the known_hosts file and line); a changed key is always refused;
 * - KIP_EAUTH: every method refused; the message lists what was tried and what the server
 *   allows (details->allowed);
 * - KIP_EIO: the handshake failed (no common algorithm, not an SSH server, known_hosts not
 *   writable, ...). */
int kip_ssh_connect(const struct kip_ssh_opts *o, struct kip_ssh_session **out,
                    struct kip_ssh_details *details, struct kip_err *err);

/** Disconnects and frees the session. Channels still open are aborted: their calls then fail with
 * KIP_EINVAL, and each must still be given to kip_ssh_channel_free. NULL is fine. */
void kip_ssh_session_free(struct kip_ssh_session *s);

/** "SHA256:..." of the server's host key, and its type ("ssh-ed25519"); owned by the session. */
const char *kip_ssh_session_fingerprint(const struct kip_ssh_session *s);
const char *kip_ssh_session_key_type(const struct kip_ssh_session *s);

/** "USER@HOST:PORT" (IPv6 addresses in brackets); owned by the session. */
const char *kip_ssh_session_desc(const struct kip_ssh_session *s);

/** Runs command (through the login shell of the user, as ssh does) on a new channel of the
 * session and waits for it, sending stdin_data meanwhile. The command is sent after a line
 * "export KIP_EXEC_ID=<random hex>", which is how a timeout finds its processes to kill them
 * (sshd refuses SSH "signal" requests for root logins): the login shell must know
 * `export NAME=value`. *res is reset first; free it with kip_ssh_result_free whatever this
 * returns. Returns 0 whatever the exit status, KIP_ETIMEOUT or KIP_ENOMEM (max_output) with the
 * output so far in *res and the command killed, KIP_EIO when the connection failed or the server
 * refused the channel. Messages name the command (shortened), never stdin_data. */
int kip_ssh_exec(struct kip_ssh_session *s, const char *command, const struct kip_ssh_exec_opts *o,
                 struct kip_ssh_result *res, struct kip_err *err);

/** Frees the output buffers of res and zeroes it. Safe to call twice. */
void kip_ssh_result_free(struct kip_ssh_result *res);

/** Starts command (tagged as for kip_ssh_exec) on a new channel and returns at once with *out, to
 * be fed with
 * kip_ssh_channel_write / _close_stdin, read with kip_ssh_channel_read, and freed with
 * kip_ssh_channel_free (before or after the session). timeout_ms (0: none) bounds the whole
 * command: once it passed, the command is killed and reads fail with KIP_ETIMEOUT. Several
 * channels of one session may be open at once. Returns 0, KIP_EIO or KIP_ENOMEM. */
int kip_ssh_open(struct kip_ssh_session *s, const char *command, unsigned timeout_ms,
                 struct kip_ssh_channel **out, struct kip_err *err);

/** Sends data to the command's standard input, waiting (up to the channel's deadline) while the
 * server's window is full; the command's output is buffered meanwhile, so a command that writes
 * before it reads cannot deadlock with us (up to KIP_SSH_MAX_OUTPUT per stream). Returns 0,
 * KIP_ETIMEOUT, KIP_EIO (also once the standard input was closed or the command ended), KIP_EINVAL
 * once the session was freed. */
int kip_ssh_channel_write(struct kip_ssh_channel *c, const void *data, size_t len,
                          struct kip_err *err);

/** Sends EOF on the command's standard input (after what write queued). Idempotent. Returns 0,
 * KIP_EIO, KIP_ETIMEOUT (the deadline had passed) or KIP_EINVAL (the session was freed). */
int kip_ssh_channel_close_stdin(struct kip_ssh_channel *c, struct kip_err *err);

/** Waits up to wait_ms (-1: no limit, bounded by the channel's deadline) for output. Returns
 * KIP_SSH_STDOUT / KIP_SSH_STDERR with *data and *len (owned by the channel, NUL-terminated,
 * valid until its next call), KIP_SSH_EXIT once both streams ended and the exit status came,
 * KIP_SSH_IDLE, or KIP_ETIMEOUT (deadline; the command was killed), KIP_ENOMEM (a line longer
 * than KIP_SSH_MAX_OUTPUT), KIP_EIO (connection lost, or the command ended without an exit status),
 * KIP_EINVAL (the session was freed). With line = true, returns one line at a
 * time without its "\n" (a last line without one is returned too) whatever the packet boundaries;
 * reads and line reads may be mixed. Streams alternate when both have something. */
int kip_ssh_channel_read(struct kip_ssh_channel *c, int wait_ms, bool line, const char **data,
                         size_t *len, struct kip_err *err);

/** The exit status (-1 when killed by a signal) and signal name ("" when none) once
 * kip_ssh_channel_read returned KIP_SSH_EXIT; returns false before that. signal may be NULL. */
bool kip_ssh_channel_exit(const struct kip_ssh_channel *c, int *status, const char **signal);

/** Closes the channel, killing the command first if it is still running (which runs a short kill
 * script on another channel, see kip_ssh_exec), and frees it. NULL is fine. */
void kip_ssh_channel_free(struct kip_ssh_channel *c);

/** Writes data to remote_path over SFTP atomically: a temporary file in the same folder, its mode
 * set to exactly mode (not subject to the server's umask), fsync'd when the server supports it,
 * then renamed over remote_path (when remote_path exists, the rename runs `mv -f` over a command
 * channel, as SFTP version 3 cannot replace a file). parents creates missing folders (0755).
 * Returns 0, or KIP_ENOENT (no such folder), KIP_EACCES, KIP_EIO, KIP_EINVAL (remote_path is a
 * folder, ends with '/', or mode is over 07777); on failure the temporary file is removed and
 * remote_path is untouched. */
int kip_ssh_upload(struct kip_ssh_session *s, const char *remote_path, const void *data, size_t len,
                   unsigned mode, bool parents, struct kip_err *err);

/** Reads remote_path over SFTP into *data (malloc'd, NUL-terminated; the caller frees it) and *len.
 * max (0: KIP_SSH_MAX_OUTPUT) caps the size. Returns 0, KIP_ENOENT, KIP_EACCES, KIP_ENOMEM (larger
 * than max), KIP_EIO; on failure *data is NULL. */
int kip_ssh_download(struct kip_ssh_session *s, const char *remote_path, size_t max, char **data,
                     size_t *len, struct kip_err *err);

struct kip_ssh_key_info {
	char type[48];         /* "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ... */
	char fingerprint[96];  /* "SHA256:..."; "" for an encrypted key without passphrase and .pub */
	bool encrypted;        /* a passphrase protects the private key */
	bool is_private;       /* path holds a private key (else a public key) */
};

/** Describes the key file at path: a private key (OpenSSH or PEM format; an encrypted one is
 * described from path.pub when there is one, or decrypted with passphrase when given) or a public
 * key. Never prompts. Returns 0, KIP_ENOENT / KIP_EACCES, KIP_EINVAL (not a key),
 * KIP_EPASSPHRASE (wrong passphrase). */
int kip_ssh_key_info(const char *path, const char *passphrase, struct kip_ssh_key_info *info,
                     struct kip_err *err);

/** The "SHA256:..." fingerprint and type of an OpenSSH public key line ("ssh-ed25519 AAAA...
 * [comment]", as in id_ed25519.pub or authorized_keys). Returns 0 or KIP_EINVAL. */
int kip_ssh_fingerprint(const char *pubkey_line, struct kip_ssh_key_info *info, struct kip_err *err);
