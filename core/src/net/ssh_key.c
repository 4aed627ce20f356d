/* SPDX-License-Identifier: Apache-2.0
 * Key files and known_hosts for the SSH client: loading private keys without ever prompting
 * (encryption is recognised from the file, so a missing passphrase is reported, not asked for),
 * fingerprints as ssh-keygen -l prints them, kip_ssh_key_info / kip_ssh_fingerprint, and finding
 * or appending known_hosts lines. Uses libssh's pki and known_hosts parser, kip/encoding.h,
 * kip/crypto.h and kip/fs.h. */
#define _GNU_SOURCE /* explicit_bzero, getline */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kip/crypto.h"
#include "kip/encoding.h"
#include "kip/fs.h"
#include "ssh_int.h"

#define SSH_KEY_FILE_MAX ((size_t)1 << 20) /* key files are a few KiB; this keeps /dev/zero out */

static const char ssh_openssh_begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
static const char ssh_openssh_end[] = "-----END OPENSSH PRIVATE KEY-----";

/* libssh asks for a passphrase through this when it needs one it was not given: never prompt. */
static int ssh_key_refuse(const char *prompt, char *buf, size_t len, int echo, int verify, void *ud)
{
	return -1;
}

/* Reads the key file at path (at most SSH_KEY_FILE_MAX bytes) into *text (NUL-terminated). */
static int ssh_key_read(const char *who, const char *path, char **text, struct kip_err *err)
{
	*text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kip_err_sys(err, errno, "%s: key file %s", who, path);
	char *buf = malloc(SSH_KEY_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return kip_err_set(err, KIP_ENOMEM, "%s: out of memory", who);
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, SSH_KEY_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			free(buf);
			return kip_err_sys(err, e, "%s: key file %s", who, path);
		}
		if (n == 0 || (len += (size_t)n) > SSH_KEY_FILE_MAX)
			break;
	}
	close(fd);
	if (len > SSH_KEY_FILE_MAX) {
		free(buf);
		return kip_err_set(err, KIP_EINVAL, "%s: key file %s is not a key (too large)", who, path);
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

static void ssh_key_text_free(char *text)
{
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
}

/* Reads a big-endian uint32-prefixed string at *p (n bytes left). */
static bool ssh_blob_string(const unsigned char **p, size_t *n, const unsigned char **s, size_t *len)
{
	if (*n < 4)
		return false;
	size_t l = (size_t)(*p)[0] << 24 | (size_t)(*p)[1] << 16 | (size_t)(*p)[2] << 8 | (*p)[3];
	if (l > *n - 4)
		return false;
	*s = *p + 4;
	*len = l;
	*p += 4 + l;
	*n -= 4 + l;
	return true;
}

/* The decoded body of an OpenSSH private key container (malloc'd), or NULL. */
static unsigned char *ssh_openssh_blob(const char *text, size_t *n)
{
	const char *b = strstr(text, ssh_openssh_begin), *e = b ? strstr(b, ssh_openssh_end) : NULL;
	if (!b || !e)
		return NULL;
	b += sizeof ssh_openssh_begin - 1;
	size_t in = (size_t)(e - b);
	unsigned char *out = malloc(kip_base64_decoded_max(in) + 1);
	if (!out)
		return NULL;
	/* kip_base64_decode skips CR and LF only; drop other blanks first */
	char *clean = malloc(in + 1);
	size_t m = 0;
	if (clean)
		for (size_t i = 0; i < in; i++)
			if (b[i] != ' ' && b[i] != '\t')
				clean[m++] = b[i];
	if (!clean || kip_base64_decode(out, n, clean, m, KIP_BASE64_STD, NULL) != 0) {
		free(clean);
		free(out);
		return NULL;
	}
	free(clean);
	return out;
}

/* From an OpenSSH container: whether it is encrypted, and its first public key blob. */
static bool ssh_openssh_parse(const unsigned char *blob, size_t n, bool *encrypted,
                              const unsigned char **pub, size_t *pub_len)
{
	static const char magic[] = "openssh-key-v1";
	if (n < sizeof magic || memcmp(blob, magic, sizeof magic) != 0)
		return false;
	const unsigned char *p = blob + sizeof magic, *cipher, *kdf, *kdfopts;
	size_t left = n - sizeof magic, cl, kl, ol;
	if (!ssh_blob_string(&p, &left, &cipher, &cl) || !ssh_blob_string(&p, &left, &kdf, &kl) ||
	    !ssh_blob_string(&p, &left, &kdfopts, &ol) || left < 4)
		return false;
	*encrypted = !(cl == 4 && memcmp(cipher, "none", 4) == 0);
	p += 4; /* number of keys */
	left -= 4;
	return ssh_blob_string(&p, &left, pub, pub_len);
}

/* Whether the private key text is encrypted (OpenSSH container, PKCS#8, or legacy PEM). */
static bool ssh_key_encrypted(const char *text)
{
	if (strstr(text, ssh_openssh_begin)) {
		size_t n = 0;
		unsigned char *blob = ssh_openssh_blob(text, &n);
		bool enc = false;
		const unsigned char *pub;
		size_t pub_len;
		if (blob && !ssh_openssh_parse(blob, n, &enc, &pub, &pub_len))
			enc = false;
		free(blob);
		return enc;
	}
	return strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || strstr(text, "Proc-Type: 4,ENCRYPTED");
}

int sshc_key_load(const char *who, const char *path, const char *passphrase, ssh_key *key,
                  bool *encrypted, struct kip_err *err)
{
	*key = NULL;
	*encrypted = false;
	char *text;
	int rc = ssh_key_read(who, path, &text, err);
	if (rc != 0)
		return rc;
	*encrypted = ssh_key_encrypted(text);
	if (*encrypted && !passphrase) {
		ssh_key_text_free(text);
		return kip_err_set(err, KIP_EPASSPHRASE,
		                   "%s: key file %s is encrypted: its passphrase is needed (key_passphrase)",
		                   who, path);
	}
	rc = ssh_pki_import_privkey_base64(text, *encrypted ? passphrase : NULL, ssh_key_refuse, NULL, key);
	ssh_key_text_free(text);
	if (rc == SSH_OK)
		return 0;
	*key = NULL;
	if (*encrypted)
		return kip_err_set(err, KIP_EPASSPHRASE, "%s: wrong passphrase for key file %s", who, path);
	return kip_err_set(err, KIP_EINVAL, "%s: key file %s is not a private key kip can read (OpenSSH "
	                   "or PEM format; ed25519, ecdsa or rsa)", who, path);
}

/* "SHA256:" + unpadded base64 of the SHA-256 of blob, as ssh-keygen -l prints it. */
static void ssh_blob_fingerprint(const unsigned char *blob, size_t n, char *fp)
{
	unsigned char digest[KIP_SHA256_LEN];
	char b64[64];
	fp[0] = '\0';
	if (kip_crypto_sha256(blob, n, digest, NULL) != 0)
		return;
	size_t len = kip_base64_encode(b64, digest, sizeof digest, KIP_BASE64_STD);
	while (len && b64[len - 1] == '=')
		b64[--len] = '\0';
	snprintf(fp, 96, "SHA256:%s", b64);
}

void sshc_key_describe(ssh_key key, char *type, char *fp)
{
	const char *t = ssh_key_type_to_char(ssh_key_type(key));
	snprintf(type, 48, "%s", t ? t : "unknown");
	fp[0] = '\0';
	unsigned char *hash = NULL;
	size_t hlen = 0;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
		char *f = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
		if (f) {
			snprintf(fp, 96, "%s", f);
			ssh_string_free_char(f);
		}
		ssh_clean_pubkey_hash(&hash);
	}
}

int kip_ssh_fingerprint(const char *line, struct kip_ssh_key_info *info, struct kip_err *err)
{
	memset(info, 0, sizeof *info);
	if (sshc_init() != 0)
		return kip_err_set(err, KIP_EIO, "ssh: libssh could not be initialised");
	/* The first token naming a key type, then its base64 (authorized_keys options may come first). */
	const char *p = line;
	while (*p) {
		p += strspn(p, " \t\r\n");
		size_t tl = strcspn(p, " \t\r\n");
		if (!tl)
			break;
		char type[64];
		snprintf(type, sizeof type, "%.*s", (int)(tl < 63 ? tl : 63), p);
		p += tl;
		enum ssh_keytypes_e kt = ssh_key_type_from_name(type);
		if (kt == SSH_KEYTYPE_UNKNOWN)
			continue;
		p += strspn(p, " \t");
		size_t bl = strcspn(p, " \t\r\n");
		char *b64 = strndup(p, bl);
		ssh_key key = NULL;
		int rc = b64 ? ssh_pki_import_pubkey_base64(b64, kt, &key) : SSH_ERROR;
		free(b64);
		if (rc != SSH_OK)
			break;
		sshc_key_describe(key, info->type, info->fingerprint);
		ssh_key_free(key);
		return 0;
	}
	return kip_err_set(err, KIP_EINVAL, "ssh: not an OpenSSH public key (\"ssh-ed25519 AAAA... "
	                   "comment\")");
}

int kip_ssh_key_info(const char *path, const char *passphrase, struct kip_ssh_key_info *info,
                     struct kip_err *err)
{
	memset(info, 0, sizeof *info);
	if (sshc_init() != 0)
		return kip_err_set(err, KIP_EIO, "ssh: libssh could not be initialised");
	char *text;
	int rc = ssh_key_read("ssh", path, &text, err);
	if (rc != 0)
		return rc;
	if (!strstr(text, "PRIVATE KEY-----")) {
		rc = kip_ssh_fingerprint(text, info, err);
		ssh_key_text_free(text);
		if (rc != 0)
			kip_err_set(err, KIP_EINVAL, "ssh: key file %s holds no key kip can read", path);
		return rc;
	}
	info->is_private = true;
	info->encrypted = ssh_key_encrypted(text);
	if (!info->encrypted || passphrase) {
		ssh_key key = NULL;
		bool enc;
		ssh_key_text_free(text);
		rc = sshc_key_load("ssh", path, passphrase, &key, &enc, err);
		if (rc != 0)
			return rc;
		sshc_key_describe(key, info->type, info->fingerprint);
		ssh_key_free(key);
		return 0;
	}
	/* Encrypted, no passphrase: the public half from path.pub, or from the OpenSSH container. */
	char pub_path[4200];
	snprintf(pub_path, sizeof pub_path, "%s.pub", path);
	ssh_key pub = NULL;
	if (ssh_pki_import_pubkey_file(pub_path, &pub) == SSH_OK) {
		sshc_key_describe(pub, info->type, info->fingerprint);
		ssh_key_free(pub);
	} else if (strstr(text, ssh_openssh_begin)) {
		size_t n = 0;
		unsigned char *blob = ssh_openssh_blob(text, &n);
		const unsigned char *pk, *t;
		size_t pk_len, tl;
		bool enc;
		if (blob && ssh_openssh_parse(blob, n, &enc, &pk, &pk_len)) {
			const unsigned char *q = pk;
			size_t left = pk_len;
			if (ssh_blob_string(&q, &left, &t, &tl))
				snprintf(info->type, sizeof info->type, "%.*s", (int)(tl < 47 ? tl : 47), (const char *)t);
			ssh_blob_fingerprint(pk, pk_len, info->fingerprint);
		}
		free(blob);
	}
	ssh_key_text_free(text);
	return 0;
}

int sshc_known_hosts_line(const char *path, const char *host_port, ssh_key key)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char *line = NULL;
	size_t cap = 0;
	int no = 0, first = 0, typed = 0;
	enum ssh_keytypes_e kt = ssh_key_type(key);
	while (!typed && getline(&line, &cap, f) >= 0) {
		no++;
		line[strcspn(line, "\r\n")] = '\0';
		const char *p = line + strspn(line, " \t");
		if (!*p || *p == '#')
			continue;
		struct ssh_knownhosts_entry *e = NULL;
		if (ssh_known_hosts_parse_line(host_port, p, &e) == SSH_OK && e && e->publickey &&
		    ssh_key_cmp(e->publickey, key, SSH_KEY_CMP_PUBLIC) != 0) {
			if (!first)
				first = no;
			if (ssh_key_type(e->publickey) == kt)
				typed = no;
		}
		ssh_knownhosts_entry_free(e);
	}
	free(line);
	fclose(f);
	return typed ? typed : first;
}

int sshc_known_hosts_append(const char *path, const char *entry, int *line, struct kip_err *err)
{
	*line = 0;
	char *dir = strdup(path);
	if (!dir)
		return kip_err_set(err, KIP_ENOMEM, "ssh: out of memory");
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash && slash != dir) {
		*slash = '\0';
		rc = kip_fs_mkdir_p(dir, 0700, err);
	}
	free(dir);
	if (rc != 0)
		return rc;
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return kip_err_sys(err, errno, "ssh: cannot record the host key in %s", path);
	/* Count the lines, and see whether the last one ends. */
	char buf[8192], last = '\n';
	int lines = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		if (n > 0)
			last = buf[n - 1];
	}
	size_t elen = strlen(entry);
	bool nl_before = last != '\n', nl_after = elen == 0 || entry[elen - 1] != '\n';
	char *text = malloc(elen + 3);
	if (!text) {
		close(fd);
		return kip_err_set(err, KIP_ENOMEM, "ssh: out of memory");
	}
	size_t tl = 0;
	if (nl_before)
		text[tl++] = '\n';
	memcpy(text + tl, entry, elen);
	tl += elen;
	if (nl_after)
		text[tl++] = '\n';
	size_t done = 0;
	while (done < tl) {
		ssize_t w = write(fd, text + done, tl - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			free(text);
			close(fd);
			return kip_err_sys(err, e, "ssh: cannot record the host key in %s", path);
		}
		done += (size_t)w;
	}
	free(text);
	if (close(fd) != 0)
		return kip_err_sys(err, errno, "ssh: cannot record the host key in %s", path);
	*line = lines + (nl_before ? 1 : 0) + 1;
	return 0;
}
