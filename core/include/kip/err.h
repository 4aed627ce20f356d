/* SPDX-License-Identifier: Apache-2.0
 * Error reporting for the C core: functions return 0 or a negative KIP_E* code and fill an optional
 * struct kip_err. Library code never prints and never exits; the Lua bindings turn an error into
 * `nil, message, code` where code is the short stable name from kip_err_name(). */
#pragma once

enum kip_errcode {
	KIP_OK = 0,
	KIP_EIO = -1,       /* "io": read, write, fsync, rename, pipe failures */
	KIP_ENOENT = -2,    /* "notfound": no such file, command or directory */
	KIP_EINVAL = -3,    /* "invalid": bad input (syntax error, bad argument value) */
	KIP_ENOMEM = -4,    /* "nomem": allocation failed or a size cap was reached */
	KIP_ETIMEOUT = -5,  /* "timeout" */
	KIP_EACCES = -6,    /* "permission" */
	KIP_EEXIST = -7,    /* "exists" */
	KIP_ENOTDIR = -8,   /* "notdir" */
	KIP_ECONNECT = -9,  /* "connect": DNS resolution failed, connection refused or unreachable */
	KIP_ETLS = -10,     /* "tls": TLS handshake or certificate verification failed */
	KIP_ECANCELED = -11,/* "cancelled": another thread asked the wait to stop */
	KIP_EHOSTKEY_UNKNOWN = -12, /* "hostkey-unknown": an SSH host key not in known_hosts, not accepted */
	KIP_EHOSTKEY_CHANGED = -13, /* "hostkey-changed": known_hosts holds another key for the host */
	KIP_EPASSPHRASE = -14,      /* "passphrase": a key is encrypted and no (or a wrong) passphrase was given */
	KIP_EAUTH = -15,            /* "auth": every authentication method was refused */
};

struct kip_err {
	int code;          /* a KIP_E* value, KIP_OK when nothing failed */
	int sys_errno;     /* errno behind the failure, 0 when there was none */
	char msg[512];     /* human-readable, already names the file or command involved */
};

/** Fills err (if not NULL) with code and a printf-style message; returns code. */
int kip_err_set(struct kip_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Like kip_err_set, appends ": strerror(errnum)" and maps errnum to a code (ENOENT -> KIP_ENOENT,
 * EACCES/EPERM -> KIP_EACCES, EEXIST -> KIP_EEXIST, ENOTDIR -> KIP_ENOTDIR, else KIP_EIO). */
int kip_err_sys(struct kip_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** The short stable name of a code ("io", "notfound", ...). Never NULL. */
const char *kip_err_name(int code);
