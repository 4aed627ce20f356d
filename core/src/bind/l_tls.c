/* SPDX-License-Identifier: Apache-2.0
 * `require "kip.tls"`: digests, HMAC, random bytes, scrypt, base64, key pairs (kip.tls.Key) and
 * X.509 certificates (kip.tls.Certificate), a thin binding over kip/crypto.h, kip/kdf.h,
 * kip/encoding.h, kip/key.h and kip/cert.h. Misuse raises; bad PEM or data returns
 * `nil, msg, "invalid"`. Nothing here waits on I/O, but RSA key generation and scrypt take tens to
 * hundreds of ms: not on the event loops (scrypt releases the host lock while it runs). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bind.h"
#include "kip/tls.h"

#define L_TLS_KEY_MT "kip.tls.Key"
#define L_TLS_CERT_MT "kip.tls.Certificate"
#define L_TLS_RANDOM_MAX (1 << 20) /* tls.random and tls.random_token: at most 1 MiB */
#define L_TLS_DAYS_MAX 3650000

/* ---------------------------------------------------------------------------------------------
 * Guards: C buffers (malloc'd by the services) parked in an internal userdata while they are
 * pushed, so a memory error raised by a push cannot leak them.
 */

struct l_tls_buf {
	void *p;                 /* a malloc'd buffer or block, freed by __gc */
	struct kip_cert **certs; /* kip_cert_load_bundle's array; entries moved out are NULL */
	size_t ncerts;
};

static const char l_tls_buf_key; /* registry slot holding the guard metatable */

static int l_tls_buf_gc(lua_State *L)
{
	struct l_tls_buf *buf = lua_touserdata(L, 1);
	free(buf->p);
	buf->p = NULL;
	for (size_t i = 0; buf->certs && i < buf->ncerts; i++)
		kip_cert_free(buf->certs[i]);
	free(buf->certs);
	buf->certs = NULL;
	return 0;
}

static struct l_tls_buf *l_tls_newbuf(lua_State *L) /* may raise */
{
	return bind_new_guard(L, sizeof(struct l_tls_buf), &l_tls_buf_key, l_tls_buf_gc);
}

/* Pushes buf->p[0..len) as a string and frees it. */
static void l_tls_push_buf(lua_State *L, struct l_tls_buf *buf, size_t len) /* may raise */
{
	lua_pushlstring(L, buf->p, len);
	free(buf->p);
	buf->p = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Handles: both userdata are a boxed pointer to the C object, NULL once closed.
 */

struct l_tls_key {
	struct kip_key *key;
};

struct l_tls_cert {
	struct kip_cert *cert;
};

static struct l_tls_key *l_tls_newkey(lua_State *L) /* may raise */
{
	struct l_tls_key *ud = lua_newuserdatauv(L, sizeof *ud, 0);
	ud->key = NULL;
	luaL_setmetatable(L, L_TLS_KEY_MT);
	return ud;
}

static struct l_tls_cert *l_tls_newcert(lua_State *L) /* may raise */
{
	struct l_tls_cert *ud = lua_newuserdatauv(L, sizeof *ud, 0);
	ud->cert = NULL;
	luaL_setmetatable(L, L_TLS_CERT_MT);
	return ud;
}

static struct kip_key *l_tls_checkkey(lua_State *L, int idx) /* may raise */
{
	struct l_tls_key *ud = luaL_checkudata(L, idx, L_TLS_KEY_MT);
	if (!ud->key)
		luaL_argerror(L, idx, "the kip.tls.Key is closed");
	return ud->key;
}

static struct kip_cert *l_tls_checkcert(lua_State *L, int idx) /* may raise */
{
	struct l_tls_cert *ud = luaL_checkudata(L, idx, L_TLS_CERT_MT);
	if (!ud->cert)
		luaL_argerror(L, idx, "the kip.tls.Certificate is closed");
	return ud->cert;
}

/* ---------------------------------------------------------------------------------------------
 * Digests, random bytes, encodings.
 */

/* tls.random(n) -> n random bytes | nil, msg, code */
static int l_tls_random(lua_State *L)
{
	lua_Integer n = luaL_checkinteger(L, 1);
	luaL_argcheck(L, n >= 0 && n <= L_TLS_RANDOM_MAX, 1, "must be from 0 to 1048576");
	luaL_Buffer b;
	char *p = luaL_buffinitsize(L, &b, (size_t)n);
	struct kip_err err = {0};
	if (kip_crypto_random(p, (size_t)n, &err) != 0)
		return bind_push_err(L, &err);
	luaL_pushresultsize(&b, (size_t)n);
	return 1;
}

/* tls.random_token([n]) -> base64url of n (default 32) random bytes | nil, msg, code */
static int l_tls_random_token(lua_State *L)
{
	lua_Integer n = luaL_optinteger(L, 1, 32);
	luaL_argcheck(L, n >= 1 && n <= L_TLS_RANDOM_MAX, 1, "must be from 1 to 1048576");
	struct l_tls_buf *buf = l_tls_newbuf(L);
	size_t enc_len = kip_base64_encoded_len((size_t)n, KIP_BASE64_URL);
	buf->p = malloc((size_t)n + enc_len + 1);
	if (!buf->p)
		return luaL_error(L, "not enough memory");
	unsigned char *raw = buf->p;
	char *text = (char *)buf->p + n;
	struct kip_err err = {0};
	if (kip_crypto_random(raw, (size_t)n, &err) != 0)
		return bind_push_err(L, &err);
	kip_base64_encode(text, raw, (size_t)n, KIP_BASE64_URL);
	lua_pushlstring(L, text, enc_len);
	return 1;
}

/* tls.sha256(data) -> 32 bytes */
static int l_tls_sha256(lua_State *L)
{
	size_t n;
	const char *data = luaL_checklstring(L, 1, &n);
	unsigned char md[KIP_SHA256_LEN];
	struct kip_err err = {0};
	if (kip_crypto_sha256(data, n, md, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushlstring(L, (const char *)md, sizeof md);
	return 1;
}

/* tls.sha256_hex(data) -> 64 lowercase hex digits */
static int l_tls_sha256_hex(lua_State *L)
{
	size_t n;
	const char *data = luaL_checklstring(L, 1, &n);
	unsigned char md[KIP_SHA256_LEN];
	char hex[2 * KIP_SHA256_LEN + 1];
	struct kip_err err = {0};
	if (kip_crypto_sha256(data, n, md, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushlstring(L, hex, kip_hex_encode(hex, md, sizeof md, 0));
	return 1;
}

/* tls.hmac_sha256(key, data) -> 32 bytes */
static int l_tls_hmac_sha256(lua_State *L)
{
	size_t klen, n;
	const char *key = luaL_checklstring(L, 1, &klen);
	const char *data = luaL_checklstring(L, 2, &n);
	unsigned char mac[KIP_SHA256_LEN];
	struct kip_err err = {0};
	if (kip_crypto_hmac_sha256(key, klen, data, n, mac, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushlstring(L, (const char *)mac, sizeof mac);
	return 1;
}

/* tls.equal(a, b) -> boolean, in constant time for equal lengths */
static int l_tls_equal(lua_State *L)
{
	size_t alen, blen;
	const char *a = luaL_checklstring(L, 1, &alen);
	const char *b = luaL_checklstring(L, 2, &blen);
	lua_pushboolean(L, kip_crypto_equal(a, alen, b, blen));
	return 1;
}

/* ---------------------------------------------------------------------------------------------
 * scrypt: the one slow call here (N = 32768, r = 8 takes ~50-100 ms), run without the host lock.
 */

#define L_TLS_SCRYPT_INPUT_MAX (1 << 20) /* password and salt: at most 1 MiB each */

/* Reads opts (table at idx, or nil) into params and *len; unknown keys and bad values raise. */
static void l_tls_scrypt_opts(lua_State *L, int idx, struct kip_scrypt_params *params, size_t *len) /* may raise */
{
	static const char *const names[] = {"N", "r", "p", "length", NULL};
	lua_Integer vals[] = {32768, 8, 1, 32};
	if (!lua_isnoneornil(L, idx)) {
		luaL_checktype(L, idx, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, idx)) { /* key, value */
			int i = -1;
			if (lua_type(L, -2) == LUA_TSTRING)
				for (int j = 0; names[j] && i < 0; j++)
					if (strcmp(lua_tostring(L, -2), names[j]) == 0)
						i = j;
			if (i < 0) {
				lua_pushvalue(L, -2);
				luaL_error(L, "kip.tls.scrypt: unknown option '%s' (N, r, p, length)", luaL_tolstring(L, -1, NULL));
			}
			int isint = 0;
			if (lua_type(L, -1) == LUA_TNUMBER)
				vals[i] = lua_tointegerx(L, -1, &isint); /* 16 and 16.0, not 16.5 */
			if (!isint)
				luaL_error(L, "kip.tls.scrypt: option %s must be an integer", names[i]);
			lua_pop(L, 1);
		}
	}
	for (int i = 0; i < 3; i++)
		if (vals[i] < 0)
			luaL_error(L, "kip.tls.scrypt: option %s must not be negative", names[i]);
	params->n = (uint64_t)vals[0];
	params->r = (uint64_t)vals[1];
	params->p = (uint64_t)vals[2];
	struct kip_err err = {0};
	if (kip_crypto_scrypt_check(params, &err) != 0)
		luaL_error(L, "kip.tls.scrypt: %s", err.msg);
	if (vals[3] < 1 || vals[3] > KIP_SCRYPT_LEN_MAX)
		luaL_error(L, "kip.tls.scrypt: option length must be from 1 to %d", KIP_SCRYPT_LEN_MAX);
	*len = (size_t)vals[3];
}

/* tls.scrypt(password, salt[, {N, r, p, length}]) -> length raw bytes | nil, msg, code */
static int l_tls_scrypt(lua_State *L)
{
	size_t plen, slen, len;
	const char *password = luaL_checklstring(L, 1, &plen);
	const char *salt = luaL_checklstring(L, 2, &slen);
	luaL_argcheck(L, plen <= L_TLS_SCRYPT_INPUT_MAX, 1, "longer than 1 MiB");
	luaL_argcheck(L, slen <= L_TLS_SCRYPT_INPUT_MAX, 2, "longer than 1 MiB");
	struct kip_scrypt_params params;
	l_tls_scrypt_opts(L, 3, &params, &len);
	unsigned char out[KIP_SCRYPT_LEN_MAX];
	struct kip_err err = {0};
	/* password and salt stay anchored at stack slots 1 and 2 while the lock is released */
	struct bind_gil *gil = bind_gil_release(L);
	int rc = kip_crypto_scrypt(password, plen, salt, slen, &params, out, len, &err);
	bind_gil_acquire(gil);
	if (rc != 0)
		return bind_push_err(L, &err);
	lua_pushlstring(L, (const char *)out, len);
	explicit_bzero(out, len);
	return 1;
}

static int l_tls_encode(lua_State *L, enum kip_base64_alphabet alphabet)
{
	size_t n;
	const char *data = luaL_checklstring(L, 1, &n);
	size_t len = kip_base64_encoded_len(n, alphabet);
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, len + 1);
	kip_base64_encode(out, data, n, alphabet);
	luaL_pushresultsize(&b, len);
	return 1;
}

static int l_tls_decode(lua_State *L, enum kip_base64_alphabet alphabet)
{
	size_t n, len = 0;
	const char *text = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, kip_base64_decoded_max(n));
	struct kip_err err = {0};
	if (kip_base64_decode(out, &len, text, n, alphabet, &err) != 0)
		return bind_push_err(L, &err);
	luaL_pushresultsize(&b, len);
	return 1;
}

/* tls.base64_encode(data) -> padded base64; tls.base64url_encode(data) -> unpadded base64url */
static int l_tls_base64_encode(lua_State *L) { return l_tls_encode(L, KIP_BASE64_STD); }
static int l_tls_base64url_encode(lua_State *L) { return l_tls_encode(L, KIP_BASE64_URL); }
/* tls.base64_decode(text), tls.base64url_decode(text) -> bytes | nil, msg, "invalid" */
static int l_tls_base64_decode(lua_State *L) { return l_tls_decode(L, KIP_BASE64_STD); }
static int l_tls_base64url_decode(lua_State *L) { return l_tls_decode(L, KIP_BASE64_URL); }

/* ---------------------------------------------------------------------------------------------
 * kip.tls.Key
 */

static const char *const l_tls_key_types[] = {
	"ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096", NULL,
};

/* tls.generate_key(type) -> Key | nil, msg, code */
static int l_tls_generate_key(lua_State *L)
{
	const char *type = l_tls_key_types[luaL_checkoption(L, 1, NULL, l_tls_key_types)];
	struct l_tls_key *ud = l_tls_newkey(L);
	struct kip_err err = {0};
	if (kip_key_generate(type, &ud->key, &err) != 0)
		return bind_push_err(L, &err);
	return 1;
}

/* tls.load_key(pem) -> Key | nil, msg, "invalid" */
static int l_tls_load_key(lua_State *L)
{
	size_t n;
	const char *pem = luaL_checklstring(L, 1, &n);
	struct l_tls_key *ud = l_tls_newkey(L);
	struct kip_err err = {0};
	if (kip_key_load_pem(pem, n, &ud->key, &err) != 0)
		return bind_push_err(L, &err);
	return 1;
}

/* key:type() -> "ed25519" | "ecdsa-p256" | "rsa-2048" | ... */
static int l_tls_key_type(lua_State *L)
{
	lua_pushstring(L, kip_key_type(l_tls_checkkey(L, 1)));
	return 1;
}

/* key:is_private() -> boolean */
static int l_tls_key_is_private(lua_State *L)
{
	lua_pushboolean(L, kip_key_is_private(l_tls_checkkey(L, 1)));
	return 1;
}

/* Raises unless key holds its private half; what names the method for the message. */
static void l_tls_need_private(lua_State *L, const struct kip_key *key, const char *what) /* may raise */
{
	if (!kip_key_is_private(key))
		luaL_error(L, "kip.tls: %s needs a private key, this %s key is public only", what, kip_key_type(key));
}

static int l_tls_key_pem(lua_State *L, bool private_part)
{
	struct kip_key *key = l_tls_checkkey(L, 1);
	if (private_part)
		l_tls_need_private(L, key, "private_pem");
	struct l_tls_buf *buf = l_tls_newbuf(L);
	char *pem = NULL;
	size_t len = 0;
	struct kip_err err = {0};
	int rc = private_part ? kip_key_private_pem(key, &pem, &len, &err) : kip_key_public_pem(key, &pem, &len, &err);
	buf->p = pem;
	if (rc != 0)
		return bind_push_err(L, &err);
	l_tls_push_buf(L, buf, len);
	return 1;
}

/* key:private_pem() -> PKCS#8 PEM (raises for a public-only key); key:public_pem() -> SPKI PEM */
static int l_tls_key_private_pem(lua_State *L) { return l_tls_key_pem(L, true); }
static int l_tls_key_public_pem(lua_State *L) { return l_tls_key_pem(L, false); }

static int l_tls_key_sign_as(lua_State *L, enum kip_sig_format format, const char *what)
{
	struct kip_key *key = l_tls_checkkey(L, 1);
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	l_tls_need_private(L, key, what);
	struct l_tls_buf *buf = l_tls_newbuf(L);
	unsigned char *sig = NULL;
	size_t len = 0;
	struct kip_err err = {0};
	int rc = kip_key_sign(key, data, n, format, &sig, &len, &err);
	buf->p = sig;
	if (rc != 0)
		return bind_push_err(L, &err);
	l_tls_push_buf(L, buf, len);
	return 1;
}

/* key:sign(data) -> signature (ECDSA as raw r||s, for JWS) | nil, msg, code */
static int l_tls_key_sign(lua_State *L) { return l_tls_key_sign_as(L, KIP_SIG_RAW, "sign"); }
/* key:sign_der(data) -> signature (ECDSA as DER, for X.509 and openssl dgst) | nil, msg, code */
static int l_tls_key_sign_der(lua_State *L) { return l_tls_key_sign_as(L, KIP_SIG_DER, "sign_der"); }

/* key:verify(data, sig) -> boolean */
static int l_tls_key_verify(lua_State *L)
{
	struct kip_key *key = l_tls_checkkey(L, 1);
	size_t n, sig_len;
	const char *data = luaL_checklstring(L, 2, &n);
	const char *sig = luaL_checklstring(L, 3, &sig_len);
	lua_pushboolean(L, kip_key_verify(key, data, n, sig, sig_len));
	return 1;
}

/* key:public_key() -> a public-only Key | nil, msg, code */
static int l_tls_key_public_key(lua_State *L)
{
	struct kip_key *key = l_tls_checkkey(L, 1);
	struct l_tls_key *ud = l_tls_newkey(L);
	struct kip_err err = {0};
	if (kip_key_public(key, &ud->key, &err) != 0)
		return bind_push_err(L, &err);
	return 1;
}

/* key:close(), __gc, __close: frees the key; later calls raise. */
static int l_tls_key_close(lua_State *L)
{
	struct l_tls_key *ud = luaL_checkudata(L, 1, L_TLS_KEY_MT);
	kip_key_free(ud->key);
	ud->key = NULL;
	return 0;
}

static int l_tls_key_tostring(lua_State *L)
{
	struct l_tls_key *ud = luaL_checkudata(L, 1, L_TLS_KEY_MT);
	if (!ud->key)
		lua_pushstring(L, L_TLS_KEY_MT " (closed)");
	else
		lua_pushfstring(L, L_TLS_KEY_MT " (%s, %s)", kip_key_type(ud->key),
		                kip_key_is_private(ud->key) ? "private" : "public");
	return 1;
}

static const luaL_Reg l_tls_key_methods[] = {
	{"type", l_tls_key_type},
	{"is_private", l_tls_key_is_private},
	{"private_pem", l_tls_key_private_pem},
	{"public_pem", l_tls_key_public_pem},
	{"sign", l_tls_key_sign},
	{"sign_der", l_tls_key_sign_der},
	{"verify", l_tls_key_verify},
	{"public_key", l_tls_key_public_key},
	{"close", l_tls_key_close},
	{NULL, NULL},
};

static const luaL_Reg l_tls_key_meta[] = {
	{"__gc", l_tls_key_close},
	{"__close", l_tls_key_close},
	{"__tostring", l_tls_key_tostring},
	{NULL, NULL},
};

/* ---------------------------------------------------------------------------------------------
 * kip.tls.Certificate
 */

static const char *const l_tls_usages[] = {"server", "client", "both", "ca", NULL};
static const enum kip_cert_usage l_tls_usage_values[] = {
	KIP_CERT_SERVER, KIP_CERT_CLIENT, KIP_CERT_BOTH, KIP_CERT_CA,
};

/* Subject fields create_certificate takes, in the order they go into the name. */
static const char *const l_tls_subject_fields[] = {
	"DC", "C", "ST", "L", "O", "OU", "CN", "serialNumber", "emailAddress", NULL,
};

static const char *const l_tls_cert_options[] = {
	"subject", "sans", "key", "issuer", "ca", "usage", "days", "not_before", "not_after", NULL,
};

/* Raises unless every key of the table at idx is a string in allowed; what names the table. */
static void l_tls_check_keys(lua_State *L, int idx, const char *const *allowed, const char *what) /* may raise */
{
	lua_pushnil(L);
	while (lua_next(L, idx)) { /* key, value */
		lua_pop(L, 1);
		bool ok = false;
		if (lua_type(L, -1) == LUA_TSTRING)
			for (const char *const *a = allowed; *a && !ok; a++)
				ok = strcmp(lua_tostring(L, -1), *a) == 0;
		if (!ok) {
			lua_pushvalue(L, -1);
			luaL_error(L, "kip.tls.create_certificate: unknown %s '%s'", what, luaL_tolstring(L, -1, NULL));
		}
	}
}

/* A string that must not contain NUL bytes, at the top of the stack. */
static const char *l_tls_cstring(lua_State *L, const char *what) /* may raise */
{
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	if (strlen(s) != len)
		luaL_error(L, "kip.tls.create_certificate: %s contains a NUL byte", what);
	return s;
}

/* Pushes the subject attributes of opts.subject (table at idx, or nil) as a userdata array and
 * returns it with its length; the strings stay anchored in opts. */
static struct kip_cert_attr *l_tls_subject(lua_State *L, int idx, size_t *len) /* may raise */
{
	*len = 0;
	if (lua_isnil(L, idx)) {
		lua_pushnil(L);
		return NULL;
	}
	if (!lua_istable(L, idx))
		luaL_error(L, "kip.tls.create_certificate: option 'subject' must be a table, got %s", luaL_typename(L, idx));
	l_tls_check_keys(L, idx, l_tls_subject_fields, "subject field");
	size_t count = 0;
	for (const char *const *f = l_tls_subject_fields; *f; f++) {
		int t = lua_getfield(L, idx, *f);
		if (t == LUA_TSTRING)
			count++;
		else if (t == LUA_TTABLE)
			count += lua_rawlen(L, -1);
		else if (t != LUA_TNIL)
			luaL_error(L, "kip.tls.create_certificate: subject.%s must be a string or a list of strings", *f);
		lua_pop(L, 1);
	}
	struct kip_cert_attr *attrs = lua_newuserdatauv(L, (count ? count : 1) * sizeof *attrs, 0);
	size_t n = 0;
	for (const char *const *f = l_tls_subject_fields; *f; f++) {
		int t = lua_getfield(L, idx, *f);
		size_t vals = t == LUA_TTABLE ? lua_rawlen(L, -1) : t == LUA_TSTRING ? 1 : 0;
		for (size_t i = 1; i <= vals; i++) {
			if (t == LUA_TTABLE && lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING)
				luaL_error(L, "kip.tls.create_certificate: subject.%s[%d] must be a string", *f, (int)i);
			if (n < count) {
				attrs[n].field = *f;
				attrs[n].value = l_tls_cstring(L, "a subject value"); /* anchored in opts.subject */
				n++;
			}
			if (t == LUA_TTABLE)
				lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	*len = n;
	return attrs;
}

/* Pushes the SAN strings of opts.sans (table at idx, or nil) as a userdata array and returns it. */
static const char **l_tls_sans(lua_State *L, int idx, size_t *len) /* may raise */
{
	*len = 0;
	if (lua_isnil(L, idx)) {
		lua_pushnil(L);
		return NULL;
	}
	if (!lua_istable(L, idx))
		luaL_error(L, "kip.tls.create_certificate: option 'sans' must be a list of strings, got %s",
		           luaL_typename(L, idx));
	size_t n = lua_rawlen(L, idx);
	const char **sans = lua_newuserdatauv(L, (n ? n : 1) * sizeof *sans, 0);
	for (size_t i = 0; i < n; i++) {
		if (lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TSTRING)
			luaL_error(L, "kip.tls.create_certificate: sans[%d] must be a string, got %s", (int)i + 1,
			           luaL_typename(L, -1));
		sans[i] = l_tls_cstring(L, "a SAN"); /* anchored in opts.sans */
		lua_pop(L, 1);
	}
	*len = n;
	return sans;
}

/* The Key in field of the table at idx; raises when it is not one. */
static struct kip_key *l_tls_field_key(lua_State *L, int idx, const char *field, const char *name) /* may raise */
{
	lua_getfield(L, idx, field);
	struct l_tls_key *ud = luaL_testudata(L, -1, L_TLS_KEY_MT);
	if (!ud)
		luaL_error(L, "kip.tls.create_certificate: %s must be a kip.tls.Key, got %s", name, luaL_typename(L, -1));
	if (!ud->key)
		luaL_error(L, "kip.tls.create_certificate: %s is a closed kip.tls.Key", name);
	lua_pop(L, 1); /* anchored in the table */
	return ud->key;
}

/* tls.create_certificate(opts) -> Certificate | nil, msg, "invalid" */
static int l_tls_create_certificate(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	l_tls_check_keys(L, 1, l_tls_cert_options, "option");
	struct kip_cert_spec spec = {0};
	spec.key = l_tls_field_key(L, 1, "key", "option 'key'");

	int t = lua_getfield(L, 1, "issuer"); /* 2: issuer */
	if (t == LUA_TTABLE) {
		lua_getfield(L, 2, "cert");
		struct l_tls_cert *cud = luaL_testudata(L, -1, L_TLS_CERT_MT);
		if (!cud || !cud->cert)
			luaL_error(L, "kip.tls.create_certificate: issuer.cert must be an open kip.tls.Certificate, got %s",
			           luaL_typename(L, -1));
		spec.issuer = cud->cert;
		lua_pop(L, 1); /* anchored in the issuer table */
		spec.issuer_key = l_tls_field_key(L, 2, "key", "issuer.key");
	} else if (t != LUA_TNIL) {
		luaL_error(L, "kip.tls.create_certificate: option 'issuer' must be a table {cert =, key =}, got %s",
		           luaL_typename(L, 2));
	}

	const char *usage_name = bind_opt_string(L, 1, "usage", NULL, NULL);
	bool ca = bind_opt_boolean(L, 1, "ca", usage_name && strcmp(usage_name, "ca") == 0);
	if (!usage_name)
		usage_name = ca ? "ca" : "server";
	size_t u = 0;
	while (l_tls_usages[u] && strcmp(l_tls_usages[u], usage_name) != 0)
		u++;
	if (!l_tls_usages[u])
		luaL_error(L, "kip.tls.create_certificate: option 'usage' must be server, client, both or ca, got '%s'",
		           usage_name);
	spec.ca = ca;
	spec.usage = l_tls_usage_values[u];

	lua_Integer days = bind_opt_integer(L, 1, "days", 0);
	lua_Integer not_before = bind_opt_integer(L, 1, "not_before", (lua_Integer)time(NULL));
	lua_Integer not_after = bind_opt_integer(L, 1, "not_after", 0);
	bool has_days = lua_getfield(L, 1, "days") != LUA_TNIL;
	bool has_after = lua_getfield(L, 1, "not_after") != LUA_TNIL;
	lua_pop(L, 2);
	if (has_after && has_days)
		luaL_error(L, "kip.tls.create_certificate: give 'days' or 'not_after', not both");
	if (!has_after) {
		if (!has_days)
			days = 365;
		if (days < 1 || days > L_TLS_DAYS_MAX)
			luaL_error(L, "kip.tls.create_certificate: option 'days' must be from 1 to %d", L_TLS_DAYS_MAX);
		if (not_before > LUA_MAXINTEGER - days * 86400)
			luaL_error(L, "kip.tls.create_certificate: option 'not_before' is out of range");
		not_after = not_before + days * 86400;
	}
	spec.not_before = (int64_t)not_before;
	spec.not_after = (int64_t)not_after;

	lua_getfield(L, 1, "subject"); /* 3: subject */
	spec.subject = l_tls_subject(L, 3, &spec.subject_len);       /* 4 */
	lua_getfield(L, 1, "sans");    /* 5: sans */
	spec.sans = l_tls_sans(L, 5, &spec.sans_len);                /* 6 */

	struct l_tls_cert *ud = l_tls_newcert(L);
	struct kip_err err = {0};
	if (kip_cert_create(&spec, &ud->cert, &err) != 0)
		return bind_push_err(L, &err);
	return 1;
}

/* tls.load_certificate(pem) -> Certificate | nil, msg, "invalid" (the first one; DER works too) */
static int l_tls_load_certificate(lua_State *L)
{
	size_t n;
	const char *pem = luaL_checklstring(L, 1, &n);
	struct l_tls_cert *ud = l_tls_newcert(L);
	struct kip_err err = {0};
	if (kip_cert_load_pem(pem, n, &ud->cert, &err) != 0)
		return bind_push_err(L, &err);
	return 1;
}

/* tls.load_certificates(pem) -> {Certificate, ...} | nil, msg, "invalid" */
static int l_tls_load_certificates(lua_State *L)
{
	size_t n;
	const char *pem = luaL_checklstring(L, 1, &n);
	struct l_tls_buf *buf = l_tls_newbuf(L);
	struct kip_err err = {0};
	if (kip_cert_load_bundle(pem, n, &buf->certs, &buf->ncerts, &err) != 0)
		return bind_push_err(L, &err);
	lua_createtable(L, (int)(buf->ncerts < INT_MAX ? buf->ncerts : 0), 0);
	for (size_t i = 0; i < buf->ncerts; i++) {
		struct l_tls_cert *ud = l_tls_newcert(L);
		ud->cert = buf->certs[i]; /* moved from the guard to the userdata */
		buf->certs[i] = NULL;
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* cert:pem() -> PEM text */
static int l_tls_cert_pem(lua_State *L)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	struct l_tls_buf *buf = l_tls_newbuf(L);
	char *pem = NULL;
	size_t len = 0;
	struct kip_err err = {0};
	int rc = kip_cert_pem(cert, &pem, &len, &err);
	buf->p = pem;
	if (rc != 0)
		return bind_push_err(L, &err);
	l_tls_push_buf(L, buf, len);
	return 1;
}

/* cert:der() -> DER bytes */
static int l_tls_cert_der(lua_State *L)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	struct l_tls_buf *buf = l_tls_newbuf(L);
	unsigned char *der = NULL;
	size_t len = 0;
	struct kip_err err = {0};
	int rc = kip_cert_der(cert, &der, &len, &err);
	buf->p = der;
	if (rc != 0)
		return bind_push_err(L, &err);
	l_tls_push_buf(L, buf, len);
	return 1;
}

static const char *const l_tls_digests[] = {"sha256", "sha1", "sha384", "sha512", NULL};

/* cert:fingerprint([alg]) -> "AB:CD:..." of the DER form (alg: sha256 (default), sha1, sha384, sha512) */
static int l_tls_cert_fingerprint(lua_State *L)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	const char *alg = l_tls_digests[luaL_checkoption(L, 2, "sha256", l_tls_digests)];
	unsigned char md[KIP_DIGEST_MAX_LEN];
	char text[3 * KIP_DIGEST_MAX_LEN];
	size_t len = 0;
	struct kip_err err = {0};
	if (kip_cert_fingerprint(cert, alg, md, &len, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushlstring(L, text, kip_hex_encode(text, md, len, ':'));
	return 1;
}

static int l_tls_cert_time(lua_State *L, bool after)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	int64_t nb = 0, na = 0;
	struct kip_err err = {0};
	if (kip_cert_validity(cert, &nb, &na, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushinteger(L, (lua_Integer)(after ? na : nb));
	return 1;
}

/* cert:not_before(), cert:not_after() -> Unix seconds */
static int l_tls_cert_not_before(lua_State *L) { return l_tls_cert_time(L, false); }
static int l_tls_cert_not_after(lua_State *L) { return l_tls_cert_time(L, true); }

/* Pushes {field = value | {value, ...}} for the subject or issuer name. */
static int l_tls_cert_name(lua_State *L, bool issuer)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	struct l_tls_buf *buf = l_tls_newbuf(L);
	struct kip_cert_name *name = NULL;
	struct kip_err err = {0};
	int rc = kip_cert_name(cert, issuer, &name, &err);
	buf->p = name;
	if (rc != 0)
		return bind_push_err(L, &err);
	lua_createtable(L, 0, (int)name->n); /* buf, result */
	for (size_t i = 0; i < name->n; i++) {
		int t = lua_getfield(L, -1, name->attr[i].field); /* buf, result, old */
		if (t == LUA_TNIL) {
			lua_pop(L, 1);
			lua_pushstring(L, name->attr[i].value);
			lua_setfield(L, -2, name->attr[i].field);
		} else if (t == LUA_TSTRING) { /* a second value: make a list */
			lua_createtable(L, 2, 0);
			lua_rotate(L, -2, 1);      /* buf, result, list, old */
			lua_rawseti(L, -2, 1);
			lua_pushstring(L, name->attr[i].value);
			lua_rawseti(L, -2, 2);
			lua_setfield(L, -2, name->attr[i].field);
		} else {
			lua_pushstring(L, name->attr[i].value);
			lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
			lua_pop(L, 1);
		}
	}
	free(buf->p);
	buf->p = NULL;
	return 1;
}

/* cert:subject(), cert:issuer() -> {CN = "...", O = "..." or {"...", "..."}, ...} */
static int l_tls_cert_subject(lua_State *L) { return l_tls_cert_name(L, false); }
static int l_tls_cert_issuer(lua_State *L) { return l_tls_cert_name(L, true); }

/* cert:sans() -> {"localhost", "127.0.0.1", ...} */
static int l_tls_cert_sans(lua_State *L)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	struct l_tls_buf *buf = l_tls_newbuf(L);
	struct kip_cert_sans *sans = NULL;
	struct kip_err err = {0};
	int rc = kip_cert_sans(cert, &sans, &err);
	buf->p = sans;
	if (rc != 0)
		return bind_push_err(L, &err);
	lua_createtable(L, (int)sans->n, 0);
	for (size_t i = 0; i < sans->n; i++) {
		lua_pushstring(L, sans->san[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(buf->p);
	buf->p = NULL;
	return 1;
}

/* cert:is_ca() -> boolean */
static int l_tls_cert_is_ca(lua_State *L)
{
	lua_pushboolean(L, kip_cert_is_ca(l_tls_checkcert(L, 1)));
	return 1;
}

/* cert:serial() -> lowercase hex */
static int l_tls_cert_serial(lua_State *L)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	unsigned char serial[64];
	char hex[2 * sizeof serial + 1];
	size_t len = 0;
	struct kip_err err = {0};
	if (kip_cert_serial(cert, serial, sizeof serial, &len, &err) != 0)
		return bind_push_err(L, &err);
	lua_pushlstring(L, hex, kip_hex_encode(hex, serial, len, 0));
	return 1;
}

/* cert:verify(issuer) -> boolean: issuer's name and key signed cert */
static int l_tls_cert_verify(lua_State *L)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	struct kip_cert *issuer = l_tls_checkcert(L, 2);
	lua_pushboolean(L, kip_cert_verify(cert, issuer));
	return 1;
}

/* cert:public_key() -> public-only Key | nil, msg, "invalid" */
static int l_tls_cert_public_key(lua_State *L)
{
	struct kip_cert *cert = l_tls_checkcert(L, 1);
	struct l_tls_key *ud = l_tls_newkey(L);
	struct kip_err err = {0};
	if (kip_cert_public_key(cert, &ud->key, &err) != 0)
		return bind_push_err(L, &err);
	return 1;
}

/* cert:close(), __gc, __close */
static int l_tls_cert_close(lua_State *L)
{
	struct l_tls_cert *ud = luaL_checkudata(L, 1, L_TLS_CERT_MT);
	kip_cert_free(ud->cert);
	ud->cert = NULL;
	return 0;
}

static int l_tls_cert_tostring(lua_State *L)
{
	struct l_tls_cert *ud = luaL_checkudata(L, 1, L_TLS_CERT_MT);
	if (!ud->cert) {
		lua_pushstring(L, L_TLS_CERT_MT " (closed)");
		return 1;
	}
	char name[256];
	kip_cert_name_text(ud->cert, false, name, sizeof name);
	lua_pushfstring(L, L_TLS_CERT_MT " (%s)", name);
	return 1;
}

static const luaL_Reg l_tls_cert_methods[] = {
	{"pem", l_tls_cert_pem},
	{"der", l_tls_cert_der},
	{"fingerprint", l_tls_cert_fingerprint},
	{"not_before", l_tls_cert_not_before},
	{"not_after", l_tls_cert_not_after},
	{"subject", l_tls_cert_subject},
	{"issuer", l_tls_cert_issuer},
	{"sans", l_tls_cert_sans},
	{"is_ca", l_tls_cert_is_ca},
	{"serial", l_tls_cert_serial},
	{"verify", l_tls_cert_verify},
	{"public_key", l_tls_cert_public_key},
	{"close", l_tls_cert_close},
	{NULL, NULL},
};

static const luaL_Reg l_tls_cert_meta[] = {
	{"__gc", l_tls_cert_close},
	{"__close", l_tls_cert_close},
	{"__tostring", l_tls_cert_tostring},
	{NULL, NULL},
};

/* ---------------------------------------------------------------------------------------------
 * The module.
 */

static const luaL_Reg l_tls_funcs[] = {
	{"random", l_tls_random},
	{"random_token", l_tls_random_token},
	{"sha256", l_tls_sha256},
	{"sha256_hex", l_tls_sha256_hex},
	{"hmac_sha256", l_tls_hmac_sha256},
	{"equal", l_tls_equal},
	{"scrypt", l_tls_scrypt},
	{"base64_encode", l_tls_base64_encode},
	{"base64_decode", l_tls_base64_decode},
	{"base64url_encode", l_tls_base64url_encode},
	{"base64url_decode", l_tls_base64url_decode},
	{"generate_key", l_tls_generate_key},
	{"load_key", l_tls_load_key},
	{"create_certificate", l_tls_create_certificate},
	{"load_certificate", l_tls_load_certificate},
	{"load_certificates", l_tls_load_certificates},
	{NULL, NULL},
};

int luaopen_kip_tls(lua_State *L)
{
	bind_new_class(L, L_TLS_KEY_MT, l_tls_key_meta, l_tls_key_methods);
	bind_new_class(L, L_TLS_CERT_MT, l_tls_cert_meta, l_tls_cert_methods);
	luaL_newlib(L, l_tls_funcs);
	return 1;
}
