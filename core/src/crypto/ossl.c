/* SPDX-License-Identifier: Apache-2.0
 * Helpers shared by the crypto services (declared in ossl.h): OpenSSL's error queue turned into a
 * struct kip_err, and memory BIOs copied out to malloc'd buffers. Uses OpenSSL 3 and kip/err.h. */
#include "ossl.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kip_ossl_err(struct kip_err *err, int code, const char *fmt, ...)
{
	unsigned long e = ERR_peek_last_error();
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		if (e) {
			const char *reason = ERR_reason_error_string(e);
			char buf[256];
			if (!reason) {
				ERR_error_string_n(e, buf, sizeof buf);
				reason = buf;
			}
			size_t used = strlen(err->msg);
			snprintf(err->msg + used, sizeof err->msg - used, ": %s", reason);
		}
		err->code = code;
		err->sys_errno = 0;
	}
	ERR_clear_error();
	return code;
}

int kip_ossl_bio_copy(BIO *bio, char **out, size_t *len, struct kip_err *err)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	if (n < 0 || !data)
		n = 0;
	char *copy = malloc((size_t)n + 1);
	if (!copy)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	if (n)
		memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*out = copy;
	*len = (size_t)n;
	return 0;
}
