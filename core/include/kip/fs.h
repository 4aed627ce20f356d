/* SPDX-License-Identifier: Apache-2.0
 * The C file service: whole-file read, atomic replace (temp file + fsync + rename + directory
 * fsync), append, mkdir -p, sorted directory listing, stat and remove. Used by the kip.fs binding,
 * kipperd and the gateway's registry persistence. Uses POSIX only and reports through kip/err.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kip/err.h"

/* The largest file kip_fs_read_file accepts (1 GiB). */
#define KIP_FS_READ_MAX ((size_t)1 << 30)

enum kip_fs_type {
	KIP_FS_FILE,
	KIP_FS_DIRECTORY,
	KIP_FS_LINK,  /* only from kip_fs_stat(..., follow = false, ...) */
	KIP_FS_OTHER, /* fifo, socket, device */
};

struct kip_fs_stat {
	enum kip_fs_type type;
	int64_t size;   /* bytes */
	unsigned mode;  /* permission bits (07777), e.g. 0644 */
	int64_t mtime;  /* seconds since the epoch */
};

/** Reads the whole file at path into *data (malloc'd, NUL-terminated for convenience; the caller
 * frees it) and its length, without the NUL, into *len. Works on pipes and other non-regular files.
 * Returns 0, or KIP_ENOENT / KIP_EACCES / KIP_ENOTDIR / KIP_EIO, or KIP_ENOMEM when the file is
 * larger than KIP_FS_READ_MAX or memory runs out. On failure *data is NULL and *len 0. */
int kip_fs_read_file(const char *path, char **data, size_t *len, struct kip_err *err);

/** Replaces path with data atomically: writes ".BASENAME.tmp-XXXXXX" in the same directory, sets
 * its permission bits to exactly mode (fchmod, not subject to the umask), fsyncs it, renames it over
 * path and fsyncs the directory. A symlink at path is replaced, not followed. On failure before the
 * rename the temp file is removed and path is untouched. Returns 0 or a KIP_E* code; the message
 * names path ("cannot write /x/y: No space left on device"). */
int kip_fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                        struct kip_err *err);

/** Appends data to path with O_APPEND, creating it with mode (subject to the umask, as open(2))
 * when it does not exist. One write(2) per chunk the kernel accepts; not fsync'd.
 * Returns 0 or a KIP_E* code. */
int kip_fs_append(const char *path, const void *data, size_t len, unsigned mode,
                  struct kip_err *err);

/** Creates path and any missing parents with mode (subject to the umask), like `mkdir -p`. An
 * existing directory (or symlink to one) is fine. A component that exists and is not a directory
 * gives KIP_ENOTDIR naming that component. Returns 0 or a KIP_E* code; KIP_EINVAL for "". */
int kip_fs_mkdir_p(const char *path, unsigned mode, struct kip_err *err);

/** Lists the directory at path: *names gets a malloc'd, NULL-terminated array of malloc'd entry
 * names sorted by strcmp, without "." and ".."; *count (optional) the number of names. Free with
 * kip_fs_list_free. Returns 0 or a KIP_E* code (KIP_ENOTDIR when path is not a directory); on
 * failure *names is NULL. */
int kip_fs_list(const char *path, char ***names, size_t *count, struct kip_err *err);

/** Frees an array from kip_fs_list. NULL is fine. */
void kip_fs_list_free(char **names);

/** Fills st for path; follow = false uses lstat so a symlink reports KIP_FS_LINK.
 * Returns 0 or a KIP_E* code (KIP_ENOENT for a missing path). */
int kip_fs_stat(const char *path, bool follow, struct kip_fs_stat *st, struct kip_err *err);

/** Sets *resolved to path made absolute with every symlink, "." and ".." resolved (realpath(3));
 * the caller frees it. Returns 0 or a KIP_E* code (KIP_ENOENT when a part is missing). */
int kip_fs_realpath(const char *path, char **resolved, struct kip_err *err);

/** True when path names something stat(2) can reach (a dangling symlink is false). */
bool kip_fs_exists(const char *path);

/** Removes a file, symlink or empty directory (a symlink itself, never its target).
 * Returns 0 or a KIP_E* code (KIP_EIO for a non-empty directory). */
int kip_fs_remove(const char *path, struct kip_err *err);
