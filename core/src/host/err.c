/* SPDX-License-Identifier: Apache-2.0
 * struct kip_err helpers (see kip/err.h). Uses only libc. */
#include "kip/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void err_vformat(struct kip_err *err, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void err_vformat(struct kip_err *err, const char *fmt, va_list ap)
{
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int kip_err_set(struct kip_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err_vformat(err, fmt, ap);
	va_end(ap);
	err->code = code;
	err->sys_errno = 0;
	return code;
}

static int code_of_errno(int errnum)
{
	switch (errnum) {
	case ENOENT: return KIP_ENOENT;
	case EACCES:
	case EPERM: return KIP_EACCES;
	case EEXIST: return KIP_EEXIST;
	case ENOTDIR: return KIP_ENOTDIR;
	case ENOMEM: return KIP_ENOMEM;
	case ETIMEDOUT: return KIP_ETIMEOUT;
	default: return KIP_EIO;
	}
}

int kip_err_sys(struct kip_err *err, int errnum, const char *fmt, ...)
{
	int code = code_of_errno(errnum);
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err_vformat(err, fmt, ap);
	va_end(ap);
	size_t used = strlen(err->msg);
	snprintf(err->msg + used, sizeof err->msg - used, ": %s", strerror(errnum));
	err->code = code;
	err->sys_errno = errnum;
	return code;
}

const char *kip_err_name(int code)
{
	switch (code) {
	case KIP_OK: return "ok";
	case KIP_ENOENT: return "notfound";
	case KIP_EINVAL: return "invalid";
	case KIP_ENOMEM: return "nomem";
	case KIP_ETIMEOUT: return "timeout";
	case KIP_EACCES: return "permission";
	case KIP_EEXIST: return "exists";
	case KIP_ENOTDIR: return "notdir";
	case KIP_ECONNECT: return "connect";
	case KIP_ETLS: return "tls";
	case KIP_ECANCELED: return "cancelled";
	case KIP_EHOSTKEY_UNKNOWN: return "hostkey-unknown";
	case KIP_EHOSTKEY_CHANGED: return "hostkey-changed";
	case KIP_EPASSPHRASE: return "passphrase";
	case KIP_EAUTH: return "auth";
	default: return "io";
	}
}
