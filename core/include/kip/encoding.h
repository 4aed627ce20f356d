/* SPDX-License-Identifier: Apache-2.0
 * Text encodings of binary data: base64 (RFC 4648 section 4, padded) and base64url (section 5,
 * unpadded, as JWS and kubeconfig tokens use), and hex. Implemented in core/src/crypto/encoding.c
 * with libc only; used by the kip.tls binding, certificate fingerprints and kipperd. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kip/err.h"

enum kip_base64_alphabet {
	KIP_BASE64_STD, /* A-Z a-z 0-9 + /, padded with '=' on encode */
	KIP_BASE64_URL, /* A-Z a-z 0-9 - _, never padded on encode */
};

/** Length of the encoding of n bytes, without the terminating NUL. */
size_t kip_base64_encoded_len(size_t n, enum kip_base64_alphabet alphabet);

/** Writes the encoding of in[0..n) and a NUL to out, which holds kip_base64_encoded_len(n) + 1
 * bytes. Returns the encoded length. */
size_t kip_base64_encode(char *out, const void *in, size_t n, enum kip_base64_alphabet alphabet);

/** Upper bound of the decoded size of n characters (the size out needs for kip_base64_decode). */
size_t kip_base64_decoded_max(size_t n);

/** Decodes in[0..n) into out (kip_base64_decoded_max(n) bytes) and sets *out_len. Padding is
 * optional for both alphabets but must be right when present; CR and LF are skipped (wrapped
 * text, as `openssl base64` writes it); anything else outside the alphabet, a lone trailing
 * character and non-zero unused bits (a non-canonical encoding) are rejected.
 * Returns 0, or KIP_EINVAL with a message naming the offset of the bad character. */
int kip_base64_decode(void *out, size_t *out_len, const char *in, size_t n,
                      enum kip_base64_alphabet alphabet, struct kip_err *err);

/** Writes in[0..n) as hex and a NUL to out: lowercase "ab01..." when sep is 0, else uppercase
 * bytes joined by sep ("AB:01:...", the form `openssl x509 -fingerprint` prints). out holds
 * 2n + 1 bytes (3n, at least 1, with a separator). Returns the length written. */
size_t kip_hex_encode(char *out, const void *in, size_t n, char sep);
