/* SPDX-License-Identifier: Apache-2.0
 * The C file service declared in kip/fs.h: whole-file read, atomic replace, append, mkdir -p,
 * sorted listing, stat, realpath and remove. Uses POSIX (open/read/write/fsync/rename, opendir) and
 * kip/err.h; never prints. Every path from the caller is copied into allocated memory, never into
 * a fixed-size buffer. */
#define _GNU_SOURCE /* mkostemp */
#include "kip/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest part of the base name kept in a temp file name, so ".BASE.tmp-XXXXXX" fits NAME_MAX. */
#define FS_TMP_BASE_MAX 200

static int fs_nomem(struct kip_err *err, const char *what, const char *path)
{
	return kip_err_set(err, KIP_ENOMEM, "cannot %s %s: out of memory", what, path);
}

/* Closes fd, ignoring EINTR (on Linux the descriptor is gone even then). Returns 0 or errno. */
static int fs_close(int fd)
{
	if (close(fd) != 0 && errno != EINTR)
		return errno;
	return 0;
}

/* Writes all of data, retrying on EINTR and partial writes. Returns 0 or errno. */
static int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		size_t chunk = len > KIP_FS_READ_MAX ? KIP_FS_READ_MAX : len;
		ssize_t n = write(fd, p, chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int kip_fs_read_file(const char *path, char **data, size_t *len, struct kip_err *err)
{
	*data = NULL;
	*len = 0;
	int fd;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return kip_err_sys(err, errno, "cannot read %s", path);

	/* A regular file's size is a good first guess (+2: room for the NUL and for the read that
	 * sees EOF); pipes and /proc files report 0 or a made-up size, so the buffer also grows. */
	size_t cap = 8192;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > KIP_FS_READ_MAX) {
			fs_close(fd);
			return kip_err_set(err, KIP_ENOMEM, "cannot read %s: file is larger than 1 GiB", path);
		}
		cap = (size_t)st.st_size + 2;
	}
	char *buf = malloc(cap);
	if (!buf) {
		fs_close(fd);
		return fs_nomem(err, "read", path);
	}
	size_t used = 0;
	int rc = 0;
	for (;;) {
		if (cap - used < 2) {
			/* Grow, but never beyond what is needed to notice a file over the cap. */
			size_t ncap = cap < (KIP_FS_READ_MAX + 2) / 2 ? cap * 2 : KIP_FS_READ_MAX + 2;
			char *nbuf = realloc(buf, ncap);
			if (!nbuf) {
				rc = fs_nomem(err, "read", path);
				break;
			}
			buf = nbuf;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = kip_err_sys(err, errno, "cannot read %s", path);
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > KIP_FS_READ_MAX) {
			rc = kip_err_set(err, KIP_ENOMEM, "cannot read %s: file is larger than 1 GiB", path);
			break;
		}
	}
	fs_close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[used] = '\0';
	*data = buf;
	*len = used;
	return 0;
}

/* Fsyncs the directory holding path (dirlen bytes of path, including the final '/'; 0 means the
 * current directory). File systems that cannot fsync a directory (EINVAL) count as success. */
static int fs_sync_dir(const char *path, size_t dirlen, struct kip_err *err)
{
	char *dir = dirlen ? strndup(path, dirlen) : strdup(".");
	if (!dir)
		return fs_nomem(err, "write", path);
	int fd;
	do
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	int e = fd < 0 ? errno : 0;
	free(dir);
	if (fd >= 0) {
		if (fsync(fd) != 0 && errno != EINVAL)
			e = errno;
		fs_close(fd);
	}
	if (e)
		return kip_err_sys(err, e, "cannot write %s: the file was replaced but syncing its directory failed", path);
	return 0;
}

int kip_fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                        struct kip_err *err)
{
	if (!*path)
		return kip_err_set(err, KIP_EINVAL, "cannot write '': empty path");
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0; /* includes the '/' */
	size_t baselen = strlen(base);
	if (baselen == 0)
		return kip_err_sys(err, EISDIR, "cannot write %s", path);
	if (baselen > FS_TMP_BASE_MAX)
		baselen = FS_TMP_BASE_MAX;

	/* DIR/.BASE.tmp-XXXXXX */
	static const char suffix[] = ".tmp-XXXXXX";
	char *tmp = malloc(dirlen + 1 + baselen + sizeof suffix);
	if (!tmp)
		return fs_nomem(err, "write", path);
	memcpy(tmp, path, dirlen);
	tmp[dirlen] = '.';
	memcpy(tmp + dirlen + 1, base, baselen);
	memcpy(tmp + dirlen + 1 + baselen, suffix, sizeof suffix);

	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return kip_err_sys(err, e, "cannot write %s", path);
	}
	int e = fs_write_all(fd, data, len);
	if (!e && fchmod(fd, mode & 07777) != 0)
		e = errno;
	if (!e && fsync(fd) != 0)
		e = errno;
	int ce = fs_close(fd);
	if (!e)
		e = ce;
	if (!e && rename(tmp, path) != 0)
		e = errno;
	if (e) {
		unlink(tmp);
		free(tmp);
		return kip_err_sys(err, e, "cannot write %s", path);
	}
	free(tmp);
	return fs_sync_dir(path, dirlen, err);
}

int kip_fs_append(const char *path, const void *data, size_t len, unsigned mode,
                  struct kip_err *err)
{
	int fd;
	do
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, (mode_t)(mode & 07777));
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return kip_err_sys(err, errno, "cannot append to %s", path);
	int e = fs_write_all(fd, data, len);
	int ce = fs_close(fd);
	if (!e)
		e = ce;
	if (e)
		return kip_err_sys(err, e, "cannot append to %s", path);
	return 0;
}

/* mkdir for one prefix dir of path; an existing directory is fine. */
static int fs_mkdir_one(const char *dir, unsigned mode, const char *path, struct kip_err *err)
{
	if (mkdir(dir, (mode_t)(mode & 07777)) == 0)
		return 0;
	int e = errno;
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		int rc = kip_err_set(err, KIP_ENOTDIR,
		                     "cannot create directory %s: %s exists and is not a directory", path, dir);
		if (err)
			err->sys_errno = ENOTDIR;
		return rc;
	}
	return kip_err_sys(err, e, "cannot create directory %s", path);
}

int kip_fs_mkdir_p(const char *path, unsigned mode, struct kip_err *err)
{
	if (!*path)
		return kip_err_set(err, KIP_EINVAL, "cannot create directory '': empty path");
	char *buf = strdup(path);
	if (!buf)
		return fs_nomem(err, "create directory", path);
	size_t n = strlen(buf);
	int rc = 0;
	/* Each prefix ending before a '/' (or at the end) is one component; i starts at 1 so that
	 * "/" itself is skipped, and repeated or trailing slashes give no empty components. */
	for (size_t i = 1; i <= n && rc == 0; i++) {
		if ((i < n && buf[i] != '/') || buf[i - 1] == '/')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		rc = fs_mkdir_one(buf, mode, path, err);
		buf[i] = saved;
	}
	free(buf);
	return rc;
}

static int fs_cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void kip_fs_list_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int kip_fs_list(const char *path, char ***names, size_t *count, struct kip_err *err)
{
	*names = NULL;
	if (count)
		*count = 0;
	DIR *d = opendir(path); /* glibc opens it O_CLOEXEC */
	if (!d)
		return kip_err_sys(err, errno, "cannot list %s", path);
	size_t n = 0, cap = 16;
	char **v = calloc(cap, sizeof *v);
	int rc = v ? 0 : fs_nomem(err, "list", path);
	while (rc == 0) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				rc = kip_err_sys(err, errno, "cannot list %s", path);
			break;
		}
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (n + 1 >= cap) {
			char **nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				rc = fs_nomem(err, "list", path);
				break;
			}
			v = nv;
			cap *= 2;
		}
		v[n + 1] = NULL; /* keeps v NULL-terminated for kip_fs_list_free on a later failure */
		if (!(v[n] = strdup(name))) {
			rc = fs_nomem(err, "list", path);
			break;
		}
		n++;
	}
	closedir(d);
	if (rc) {
		kip_fs_list_free(v);
		return rc;
	}
	v[n] = NULL;
	qsort(v, n, sizeof *v, fs_cmp_names);
	*names = v;
	if (count)
		*count = n;
	return 0;
}

int kip_fs_stat(const char *path, bool follow, struct kip_fs_stat *st, struct kip_err *err)
{
	struct stat sb;
	if ((follow ? stat(path, &sb) : lstat(path, &sb)) != 0)
		return kip_err_sys(err, errno, "cannot stat %s", path);
	if (S_ISREG(sb.st_mode))
		st->type = KIP_FS_FILE;
	else if (S_ISDIR(sb.st_mode))
		st->type = KIP_FS_DIRECTORY;
	else if (S_ISLNK(sb.st_mode))
		st->type = KIP_FS_LINK;
	else
		st->type = KIP_FS_OTHER;
	st->size = (int64_t)sb.st_size;
	st->mode = (unsigned)(sb.st_mode & 07777);
	st->mtime = (int64_t)sb.st_mtime;
	return 0;
}

int kip_fs_realpath(const char *path, char **resolved, struct kip_err *err)
{
	*resolved = realpath(path, NULL);
	if (!*resolved)
		return kip_err_sys(err, errno, "cannot resolve %s", path);
	return 0;
}

bool kip_fs_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

int kip_fs_remove(const char *path, struct kip_err *err)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return kip_err_sys(err, errno, "cannot remove %s", path);
	if ((S_ISDIR(sb.st_mode) ? rmdir(path) : unlink(path)) != 0)
		return kip_err_sys(err, errno, "cannot remove %s", path);
	return 0;
}
