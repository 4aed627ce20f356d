/* SPDX-License-Identifier: Apache-2.0
 * base64, base64url (RFC 4648) and hex (kip/encoding.h). Uses libc only: OpenSSL's EVP_Encode
 * knows neither the URL alphabet nor optional padding, and its decoder accepts trailing junk. */
#include "kip/encoding.h"

#include <stdint.h>

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t kip_base64_encoded_len(size_t n, enum kip_base64_alphabet alphabet)
{
	if (alphabet == KIP_BASE64_URL)
		return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
	return (n + 2) / 3 * 4;
}

size_t kip_base64_encode(char *out, const void *in, size_t n, enum kip_base64_alphabet alphabet)
{
	const unsigned char *s = in;
	const char *abc = alphabet == KIP_BASE64_URL ? b64_url : b64_std;
	char *o = out;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = abc[v >> 18];
		*o++ = abc[(v >> 12) & 63];
		*o++ = abc[(v >> 6) & 63];
		*o++ = abc[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		*o++ = abc[v >> 18];
		*o++ = abc[(v >> 12) & 63];
		if (i + 1 < n)
			*o++ = abc[(v >> 6) & 63];
		else if (alphabet == KIP_BASE64_STD)
			*o++ = '=';
		if (alphabet == KIP_BASE64_STD)
			*o++ = '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}

size_t kip_base64_decoded_max(size_t n)
{
	return n / 4 * 3 + 3;
}

/* The 6-bit value of c in the alphabet, -1 when c is not in it. */
static int b64_value(unsigned char c, enum kip_base64_alphabet alphabet)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (alphabet == KIP_BASE64_URL)
		return c == '-' ? 62 : c == '_' ? 63 : -1;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int kip_base64_decode(void *out, size_t *out_len, const char *in, size_t n,
                      enum kip_base64_alphabet alphabet, struct kip_err *err)
{
	const char *name = alphabet == KIP_BASE64_URL ? "base64url" : "base64";
	unsigned char *o = out;
	uint32_t acc = 0;
	size_t q = 0, pads = 0; /* data characters and '=' seen */
	int last = 0;           /* value of the last data character */
	*out_len = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pads++;
			continue;
		}
		int v = b64_value(c, alphabet);
		if (v < 0 || pads)
			return kip_err_set(err, KIP_EINVAL, "invalid %s: unexpected character at offset %zu",
			                   name, i);
		acc = acc << 6 | (uint32_t)v;
		last = v;
		if (++q % 4 == 0) {
			*o++ = (unsigned char)(acc >> 16);
			*o++ = (unsigned char)(acc >> 8);
			*o++ = (unsigned char)acc;
			acc = 0;
		}
	}
	size_t rest = q % 4;
	if (rest == 1)
		return kip_err_set(err, KIP_EINVAL, "invalid %s: truncated input", name);
	if (pads && (pads > 2 || (rest + pads) % 4 != 0))
		return kip_err_set(err, KIP_EINVAL, "invalid %s: wrong padding", name);
	if (rest == 2) {
		if (last & 0x0f)
			return kip_err_set(err, KIP_EINVAL, "invalid %s: non-zero trailing bits", name);
		*o++ = (unsigned char)(acc >> 4);
	} else if (rest == 3) {
		if (last & 0x03)
			return kip_err_set(err, KIP_EINVAL, "invalid %s: non-zero trailing bits", name);
		*o++ = (unsigned char)(acc >> 10);
		*o++ = (unsigned char)(acc >> 2);
	}
	*out_len = (size_t)(o - (unsigned char *)out);
	return 0;
}

size_t kip_hex_encode(char *out, const void *in, size_t n, char sep)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
	const unsigned char *s = in;
	const char *digits = sep ? upper : lower;
	char *o = out;
	for (size_t i = 0; i < n; i++) {
		if (sep && i)
			*o++ = sep;
		*o++ = digits[s[i] >> 4];
		*o++ = digits[s[i] & 15];
	}
	*o = '\0';
	return (size_t)(o - out);
}
