/* SPDX-License-Identifier: Apache-2.0
 * File transfer over SSH (kip/ssh.h): kip_ssh_upload (temporary file, exact mode, fsync, rename)
 * and kip_ssh_download, on one SFTP subsystem per session opened on first use. SFTP version 3
 * cannot rename over an existing file, so that rename runs `mv -f` on a command channel
 * (ssh_chan.c). Uses libssh's sftp.h and kip/crypto.h for the temporary name. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kip/crypto.h"
#include "kip/encoding.h"
#include "ssh_int.h"

#define XFER_CHUNK 32768 /* one SFTP read or write (libssh 0.10 sends each as one request) */

void sshc_sftp_end(struct kip_ssh_session *s)
{
	if (s->sftp) {
		sftp_free(s->sftp);
		s->sftp = NULL;
	}
}

static int xfer_begin(struct kip_ssh_session *s, struct kip_err *err)
{
	if (s->sftp)
		return 0;
	s->sftp = sftp_new(s->ssh);
	if (!s->sftp)
		return sshc_fail(s, KIP_EIO, err, "SFTP is not available");
	if (sftp_init(s->sftp) != SSH_OK) {
		int rc = sshc_fail(s, KIP_EIO, err, "SFTP is not available");
		sshc_sftp_end(s);
		return rc;
	}
	return 0;
}

/* err = "ssh DESC: <what> PATH: <why>", the code from the SFTP status. */
static int xfer_fail(struct kip_ssh_session *s, const char *what, const char *path, struct kip_err *err)
{
	int fx = s->sftp ? sftp_get_error(s->sftp) : SSH_FX_FAILURE;
	switch (fx) {
	case SSH_FX_NO_SUCH_FILE:
	case SSH_FX_NO_SUCH_PATH:
		return kip_err_set(err, KIP_ENOENT, "ssh %s: %s %s: No such file or directory", s->desc, what, path);
	case SSH_FX_PERMISSION_DENIED:
	case SSH_FX_WRITE_PROTECT:
		return kip_err_set(err, KIP_EACCES, "ssh %s: %s %s: Permission denied", s->desc, what, path);
	case SSH_FX_FILE_ALREADY_EXISTS:
		return kip_err_set(err, KIP_EEXIST, "ssh %s: %s %s: File exists", s->desc, what, path);
	default: {
		char text[4200];
		snprintf(text, sizeof text, "%s %s", what, path);
		return sshc_fail(s, KIP_EIO, err, text);
	}
	}
}

/* 'text' for sh, with ' written as '\'' */
static char *xfer_quote(const char *text)
{
	size_t n = 3;
	for (const char *p = text; *p; p++)
		n += *p == '\'' ? 4 : 1;
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	*o++ = '\'';
	for (const char *p = text; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* Creates the missing folders of path's parent, like mkdir -p (0755). */
static int xfer_parents(struct kip_ssh_session *s, const char *path, struct kip_err *err)
{
	char *dir = strdup(path);
	if (!dir)
		return kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	int rc = 0;
	for (char *p = dir + 1; (p = strchr(p, '/')) != NULL && rc == 0; p++) {
		*p = '\0';
		sftp_attributes a = sftp_stat(s->sftp, dir);
		if (a) {
			if (a->type != SSH_FILEXFER_TYPE_DIRECTORY)
				rc = kip_err_set(err, KIP_ENOTDIR, "ssh %s: %s is not a folder", s->desc, dir);
			sftp_attributes_free(a);
		} else if (sftp_mkdir(s->sftp, dir, 0755) != 0) {
			sftp_attributes b = sftp_stat(s->sftp, dir); /* made meanwhile? */
			if (!b)
				rc = xfer_fail(s, "cannot create", dir, err);
			sftp_attributes_free(b);
		}
		*p = '/';
	}
	free(dir);
	return rc;
}

/* Renames tmp over path: SFTP rename, or `mv -f` when path exists. */
static int xfer_rename(struct kip_ssh_session *s, const char *tmp, const char *path, struct kip_err *err)
{
	if (sftp_rename(s->sftp, tmp, path) == 0)
		return 0;
	sftp_attributes a = sftp_lstat(s->sftp, path);
	if (!a)
		return xfer_fail(s, "cannot rename to", path, err);
	bool dir = a->type == SSH_FILEXFER_TYPE_DIRECTORY;
	sftp_attributes_free(a);
	if (dir)
		return kip_err_set(err, KIP_EINVAL, "ssh %s: cannot upload to %s: it is a folder", s->desc, path);
	char *qt = xfer_quote(tmp), *qp = xfer_quote(path), *cmd = NULL;
	if (qt && qp && (cmd = malloc(strlen(qt) + strlen(qp) + 16)) != NULL)
		sprintf(cmd, "mv -f -- %s %s", qt, qp);
	free(qt);
	free(qp);
	if (!cmd)
		return kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	struct kip_ssh_result res;
	int rc = sshc_run(s, cmd, s->io_timeout_ms, &res, err);
	free(cmd);
	if (rc == 0 && res.status != 0) {
		res.err[strcspn(res.err, "\n")] = '\0';
		rc = kip_err_set(err, KIP_EIO, "ssh %s: cannot replace %s: mv: %s", s->desc, path,
		                 res.err[0] ? res.err : "failed");
	}
	kip_ssh_result_free(&res);
	return rc;
}

int kip_ssh_upload(struct kip_ssh_session *s, const char *path, const void *data, size_t len,
                   unsigned mode, bool parents, struct kip_err *err)
{
	size_t plen = strlen(path);
	if (!plen || path[plen - 1] == '/' || mode > 07777)
		return kip_err_set(err, KIP_EINVAL, "ssh %s: cannot upload to '%s'%s", s->desc, path,
		                   mode > 07777 ? ": bad mode" : ": not a file name");
	int rc = xfer_begin(s, err);
	if (rc == 0 && parents && strchr(path + 1, '/'))
		rc = xfer_parents(s, path, err);
	if (rc != 0)
		return rc;

	/* DIR/.BASE.kip-RANDOM next to path, so the rename stays in one file system */
	unsigned char rnd[6];
	char hex[16];
	if (kip_crypto_random(rnd, sizeof rnd, err) != 0)
		return KIP_EIO;
	kip_hex_encode(hex, rnd, sizeof rnd, 0);
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	char *tmp = malloc(plen + 32);
	if (!tmp)
		return kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	snprintf(tmp, plen + 32, "%.*s.%s.kip-%s", (int)dlen, path, path + dlen, hex);

	sftp_file f = sftp_open(s->sftp, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (!f) {
		rc = xfer_fail(s, "cannot upload to", path, err);
		free(tmp);
		return rc;
	}
	const char *p = data;
	for (size_t done = 0; done < len && rc == 0;) {
		size_t n = len - done < XFER_CHUNK ? len - done : XFER_CHUNK;
		ssize_t w = sftp_write(f, p + done, n);
		if (w <= 0)
			rc = xfer_fail(s, "cannot write", tmp, err);
		else
			done += (size_t)w;
	}
	if (rc == 0 && sftp_extension_supported(s->sftp, "fsync@openssh.com", "1") && sftp_fsync(f) != 0)
		rc = xfer_fail(s, "cannot fsync", tmp, err);
	if (sftp_close(f) != 0 && rc == 0)
		rc = xfer_fail(s, "cannot write", tmp, err);
	if (rc == 0 && sftp_chmod(s->sftp, tmp, (mode_t)mode) != 0)
		rc = xfer_fail(s, "cannot set the mode of", tmp, err);
	if (rc == 0)
		rc = xfer_rename(s, tmp, path, err);
	if (rc != 0 && s->sftp)
		sftp_unlink(s->sftp, tmp); /* best effort; the error above is what matters */
	free(tmp);
	return rc;
}

int kip_ssh_download(struct kip_ssh_session *s, const char *path, size_t max, char **data,
                     size_t *len, struct kip_err *err)
{
	*data = NULL;
	*len = 0;
	if (!max)
		max = KIP_SSH_MAX_OUTPUT;
	int rc = xfer_begin(s, err);
	if (rc != 0)
		return rc;
	sftp_file f = sftp_open(s->sftp, path, O_RDONLY, 0);
	if (!f)
		return xfer_fail(s, "cannot read", path, err);
	sftp_attributes a = sftp_fstat(f);
	if (a) {
		if (a->type == SSH_FILEXFER_TYPE_DIRECTORY)
			rc = kip_err_set(err, KIP_EINVAL, "ssh %s: cannot read %s: it is a folder", s->desc, path);
		else if ((a->flags & SSH_FILEXFER_ATTR_SIZE) && a->size > max)
			rc = kip_err_set(err, KIP_ENOMEM, "ssh %s: %s is larger than %zu bytes", s->desc, path, max);
		sftp_attributes_free(a);
	}
	struct sshc_buf b = {0};
	char buf[XFER_CHUNK];
	while (rc == 0) {
		ssize_t n = sftp_read(f, buf, sizeof buf);
		if (n < 0)
			rc = xfer_fail(s, "cannot read", path, err);
		else if (n == 0)
			break;
		else if (b.len + (size_t)n > max)
			rc = kip_err_set(err, KIP_ENOMEM, "ssh %s: %s is larger than %zu bytes", s->desc, path, max);
		else if (sshc_buf_add(&b, buf, (size_t)n) != 0)
			rc = kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	}
	sftp_close(f);
	if (rc == 0 && !b.data && sshc_buf_add(&b, "", 0) != 0)
		rc = kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	if (rc != 0) {
		sshc_buf_free(&b);
		return rc;
	}
	*data = b.data;
	*len = b.len;
	return 0;
}
