---@meta
-- SPDX-License-Identifier: Apache-2.0
-- LuaCATS stub for `require "kip.tls"` (core/src/bind/l_tls.c over core/src/crypto/). Never loaded;
-- for editors and docs. Misuse raises; bad data returns `nil, message, "invalid"`.

---@class kip.tls
local tls = {}

---A key type: what tls.generate_key makes and key:type() returns (RSA keys loaded from PEM may
---have other sizes, "rsa-1024" to "rsa-16384").
---@alias kip.tls.key_type "ed25519"|"ecdsa-p256"|"ecdsa-p384"|"ecdsa-p521"|"rsa-2048"|"rsa-3072"|"rsa-4096"

---An Ed25519, ECDSA or RSA key pair, or a public key alone. Closed by __gc, __close or :close();
---a closed key raises when used.
---@class kip.tls.Key
local Key = {} -- luacheck: ignore 241 (methods are declared on it, never read)

---A parsed X.509 certificate. Closed by __gc, __close or :close().
---@class kip.tls.Certificate
local Certificate = {} -- luacheck: ignore 241

---A distinguished name: short field names to values; a field that appears more than once (O, OU)
---is a list of its values, in order.
---@alias kip.tls.name table<string, string|string[]>

---@class kip.tls.certificate_opts
---@field key kip.tls.Key the certificate's public key (a private key too when self-signed)
---@field subject? table<string, string|string[]> CN, O, OU, C, ST, L, DC, serialNumber, emailAddress
---@field sans? string[] DNS names ("localhost", "*.example.com") and IP addresses ("127.0.0.1", "::1")
---@field issuer? {cert: kip.tls.Certificate, key: kip.tls.Key} the signing CA; nil: self-signed with key
---@field ca? boolean basicConstraints CA:TRUE (default: usage == "ca")
---@field usage? "server"|"client"|"both"|"ca" extended key usage (default "ca" for a CA, else "server")
---@field days? integer validity from not_before (default 365); not with not_after
---@field not_before? integer Unix seconds (default: now)
---@field not_after? integer Unix seconds

---n bytes from OpenSSL's CSPRNG.
---@param n integer 0 to 1048576
---@return string|nil bytes
---@return string? message
---@return string? code "io" when the generator cannot be seeded
function tls.random(n) end

---A random token: n random bytes (default 32) as unpadded base64url (43 characters for 32).
---@param n? integer 1 to 1048576
---@return string|nil token
---@return string? message
---@return string? code
function tls.random_token(n) end

---@param data string
---@return string digest 32 raw bytes
function tls.sha256(data) end

---@param data string
---@return string hex 64 lowercase hex digits
function tls.sha256_hex(data) end

---HMAC-SHA256 (RFC 2104); any key length, including empty.
---@param key string
---@param data string
---@return string mac 32 raw bytes
function tls.hmac_sha256(key, data) end

---Whether a == b, in time that does not depend on where they differ (for MACs and tokens).
---@param a string
---@param b string
---@return boolean
function tls.equal(a, b) end

---@class kip.tls.scrypt_opts
---@field N? integer CPU/memory cost, a power of two from 2 to 2^20 (default 32768)
---@field r? integer block size, 1 to 32 (default 8)
---@field p? integer parallelism, 1 to 16 (default 1)
---@field length? integer bytes to derive, 1 to 1024 (default 32)

---scrypt (RFC 7914) of password and salt: raw bytes, for password hashing. Takes ~50-100 ms with
---the defaults (32 MiB) and releases the host lock meanwhile. Bad options raise, as do parameters
---needing over 256 MiB (128 * r * (N + p + 2) bytes) and a password or salt over 1 MiB.
---@param password string
---@param salt string
---@param opts? kip.tls.scrypt_opts
---@return string|nil key `length` raw bytes
---@return string? message
---@return string? code "nomem" when OpenSSL cannot get the memory
function tls.scrypt(password, salt, opts) end

---@param data string
---@return string text base64 with '=' padding
function tls.base64_encode(data) end

---Padding is optional; CR and LF are skipped.
---@param text string
---@return string|nil data
---@return string? message "invalid base64: unexpected character at offset 4"
---@return string? code "invalid"
function tls.base64_decode(text) end

---@param data string
---@return string text base64url (- and _), without padding
function tls.base64url_encode(data) end

---Padding is optional; CR and LF are skipped.
---@param text string
---@return string|nil data
---@return string? message
---@return string? code "invalid"
function tls.base64url_decode(text) end

---Generates a key pair. RSA takes tens to hundreds of milliseconds.
---@param type kip.tls.key_type
---@return kip.tls.Key|nil key
---@return string? message
---@return string? code
function tls.generate_key(type) end

---Loads a PEM private key (PKCS#8, "EC PRIVATE KEY", "RSA PRIVATE KEY") or public key
---("PUBLIC KEY"); other PEM blocks around it are skipped. Encrypted keys are refused.
---@param pem string
---@return kip.tls.Key|nil key
---@return string? message
---@return string? code "invalid"
function tls.load_key(pem) end

---Creates and signs an X.509 v3 certificate with a random 128-bit serial.
---@param opts kip.tls.certificate_opts
---@return kip.tls.Certificate|nil cert
---@return string? message "SAN 'x y' is neither an IP address nor a DNS name", ...
---@return string? code "invalid"
function tls.create_certificate(opts) end

---Loads the first certificate of PEM text (or DER bytes).
---@param pem string
---@return kip.tls.Certificate|nil cert
---@return string? message
---@return string? code "invalid"
function tls.load_certificate(pem) end

---Loads every certificate of a PEM bundle, in order; other text and blocks are skipped.
---@param pem string
---@return kip.tls.Certificate[]|nil certs at least one
---@return string? message
---@return string? code "invalid"
function tls.load_certificates(pem) end

---@return kip.tls.key_type|string type "ed25519", "ecdsa-p256", "rsa-2048", ...
function Key:type() end

---@return boolean private whether the key holds its private half
function Key:is_private() end

---Raises for a public-only key.
---@return string pem unencrypted PKCS#8, "-----BEGIN PRIVATE KEY-----"
function Key:private_pem() end

---@return string pem SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----"
function Key:public_pem() end

---Signs as JWS does: Ed25519 (EdDSA), ECDSA with SHA-256/384/512 for P-256/384/521 (ES256,
---ES384, ES512) as raw r||s (64 bytes for P-256), RSA PKCS#1 v1.5 with SHA-256 (RS256).
---Raises for a public-only key.
---@param data string
---@return string|nil signature
---@return string? message
---@return string? code
function Key:sign(data) end

---Like sign, with ECDSA signatures in DER, as X.509 and `openssl dgst` use them (Ed25519 and RSA
---signatures are the same as sign's).
---@param data string
---@return string|nil signature
---@return string? message
---@return string? code
function Key:sign_der(data) end

---Whether sig is a valid signature of data by this key; ECDSA signatures may be raw or DER.
---@param data string
---@param sig string
---@return boolean
function Key:verify(data, sig) end

---@return kip.tls.Key|nil key a new key holding only the public half
---@return string? message
---@return string? code
function Key:public_key() end

---Frees the key now; using it afterwards raises. Closing twice is fine.
function Key:close() end

---@return string pem "-----BEGIN CERTIFICATE-----..."
function Certificate:pem() end

---@return string der
function Certificate:der() end

---The digest of the DER form as `openssl x509 -fingerprint` prints it.
---@param alg? "sha256"|"sha1"|"sha384"|"sha512" default "sha256"
---@return string fingerprint "AB:CD:..." (uppercase hex, colon-separated)
function Certificate:fingerprint(alg) end

---@return integer unix_seconds
function Certificate:not_before() end

---@return integer unix_seconds
function Certificate:not_after() end

---@return kip.tls.name subject {CN = "system:admin", O = "system:masters"}
function Certificate:subject() end

---@return kip.tls.name issuer
function Certificate:issuer() end

---The subjectAltName entries: DNS names and URIs as written, IP addresses ("127.0.0.1", "::1"),
---e-mail addresses as "email:...". Empty without the extension.
---@return string[] sans
function Certificate:sans() end

---@return boolean ca whether basicConstraints says CA:TRUE
function Certificate:is_ca() end

---@return string serial lowercase hex
function Certificate:serial() end

---Whether issuer's subject is this certificate's issuer and issuer's key signed it. No chain,
---time or usage checks: that is the TLS stack's job.
---@param issuer kip.tls.Certificate
---@return boolean
function Certificate:verify(issuer) end

---@return kip.tls.Key|nil key the certificate's public key
---@return string? message
---@return string? code
function Certificate:public_key() end

---Frees the certificate now; using it afterwards raises.
function Certificate:close() end

return tls
