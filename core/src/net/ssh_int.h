/* SPDX-License-Identifier: Apache-2.0
 * Private to the SSH client (kip/ssh.h): the session and channel structs and the helpers that
 * ssh.c (connect, host key, auth, waiting), ssh_key.c (key files), ssh_chan.c (commands) and
 * ssh_sftp.c (file transfer) share. Uses libssh 0.10; nothing outside core/src/net/ssh*.c may
 * include it. */
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <stdint.h>

#include "kip/ssh.h"

struct sshc_buf {
	char *data;     /* NUL-terminated when not NULL */
	size_t off;     /* bytes of data already handed out */
	size_t len;     /* bytes filled (off included) */
	size_t cap;
};

struct kip_ssh_session {
	ssh_session ssh;
	int fd;                      /* our TCP socket; -1 when none */
	int lib_fd;                  /* the dup of it libssh got: libssh 0.10 closes it when the
	                              * connection fails but not on a normal disconnect */
	ssh_event event;             /* holds the session's socket: waits are ssh_event_dopoll */
	sftp_session sftp;           /* opened on first use, kept for the session's life */
	struct kip_ssh_channel *channels; /* open channels, aborted when the session is freed */
	char desc[512];              /* "user@host:port" for messages */
	char fingerprint[96];        /* of the server's host key */
	char key_type[48];
	unsigned io_timeout_ms;
	unsigned keepalive_ms;       /* 0: none */
	int64_t last_io_ms;          /* when the socket last had something for us */
};

struct kip_ssh_channel {
	struct kip_ssh_session *s;   /* NULL once the session was freed (the channel is aborted) */
	struct kip_ssh_channel *prev, *next;
	ssh_channel ch;              /* NULL once closed */
	struct ssh_channel_callbacks_struct cb; /* exit status and signal; removed before ch is freed */
	char what[96];               /* "`command`" shortened, for messages */
	char id[24];                 /* KIP_EXEC_ID given to the command, to find it when killing */
	bool internal;               /* our own helper command (kill, mv): no id, no kill */
	struct sshc_buf out[2];      /* stdout, stderr received and not handed out yet */
	struct sshc_buf in;          /* stdin queued and not sent yet */
	bool eof_wanted, eof_sent;   /* close_stdin asked for / EOF sent */
	bool remote_eof;             /* the server sent EOF and libssh's buffers are drained */
	bool exited;                 /* exit-status or exit-signal came */
	bool done;                   /* EXIT was returned (or the command was killed) */
	bool killed;                 /* the deadline passed: killed and closed */
	bool kill_sent;              /* chan_kill ran: never twice */
	int status;                  /* -1: none (yet) or killed by a signal */
	char signal[32];
	int64_t deadline_ms;         /* 0: none */
	unsigned timeout_ms;         /* what set the deadline, for messages */
	size_t max;                  /* cap of each output buffer */
	int last;                    /* the stream handed out last (0, 1), so streams alternate */
	size_t no_nl[2];             /* bytes after out[i].off known to hold no newline */
};

/* Initialises libssh once per process (pthread_once); 0, or -1 when it failed. */
int sshc_init(void);

/* Monotonic milliseconds. */
int64_t sshc_now_ms(void);

/* "0.5 s", "10 s" for messages. */
const char *sshc_secs(char *buf, size_t size, int64_t ms);

/* Fills err with "ssh DESC: <what>: <libssh's error>" and returns code, or KIP_ETIMEOUT when
 * libssh's error says it timed out. */
int sshc_fail(struct kip_ssh_session *s, int code, struct kip_err *err, const char *what);

/* Waits until the socket has something (handled by libssh: packets land in channel buffers) or
 * deadline_ms (0: one keepalive interval or 1 s) passes, sending keepalives while idle.
 * Returns 0 (something came, or the time passed: callers check their own state), KIP_EIO. */
int sshc_wait(struct kip_ssh_session *s, int64_t deadline_ms, struct kip_err *err);

/* Sets libssh's timeout for its own blocking waits. */
void sshc_set_timeout(ssh_session ssh, unsigned ms);

/* Appends len bytes to b (keeping a NUL after them); -1 when out of memory. */
int sshc_buf_add(struct sshc_buf *b, const void *data, size_t len);
/* Drops the bytes handed out (off) when that is worth a move. */
void sshc_buf_compact(struct sshc_buf *b);
void sshc_buf_free(struct sshc_buf *b);

/* Loads the private key at path (decrypting it with passphrase). Returns 0 and *key, KIP_ENOENT,
 * KIP_EACCES, KIP_EINVAL, or KIP_EPASSPHRASE (*encrypted tells whether the key is encrypted,
 * also on success); messages start with who ("ssh root@host:22"). Never prompts. */
int sshc_key_load(const char *who, const char *path, const char *passphrase, ssh_key *key,
                  bool *encrypted, struct kip_err *err);

/* Type name and "SHA256:..." of key into type[48] and fp[96]. */
void sshc_key_describe(ssh_key key, char *type, char *fp);

/* The known_hosts line (1-based) holding another key for the session's host than key: the first
 * one of key's type, else the first one for the host; 0 when none. host_port as libssh matches. */
int sshc_known_hosts_line(const char *path, const char *host_port, ssh_key key);

/* Appends entry (one known_hosts line) to path, creating it and its folder (0700) when missing and
 * starting on a new line. Returns 0 and the 1-based *line it got, or a KIP_E* code. */
int sshc_known_hosts_append(const char *path, const char *entry, int *line, struct kip_err *err);

/* Runs one of our own helper commands (`mv`, the kill script) and waits for it, at most
 * timeout_ms: no KIP_EXEC_ID, never killed with a kill script itself. */
int sshc_run(struct kip_ssh_session *s, const char *command, unsigned timeout_ms,
             struct kip_ssh_result *res, struct kip_err *err);

/* Frees the libssh channel of c (killing the command if it runs) and unlinks c from its
 * session; c itself stays, marked closed. */
void sshc_chan_close(struct kip_ssh_channel *c);

/* Frees the session's SFTP subsystem, if open. */
void sshc_sftp_end(struct kip_ssh_session *s);
