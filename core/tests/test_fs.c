/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the C file service (kip/fs.h): atomic write (content, exact mode under a
 * restrictive umask, nothing left behind on failure), read (missing file, fifo, large file),
 * append, mkdir -p, sorted listing, stat and remove. Uses check.h and a mkdtemp directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "kip/fs.h"

static char tmpdir[] = "/tmp/kip-test-fs-XXXXXX";

/* tmpdir/name in a static buffer (tests only). */
static const char *tpath(const char *name)
{
	static char buf[4][4096];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
	return b;
}

static char *slurp(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	if (kip_fs_read_file(path, &data, &len, NULL) != 0)
		return NULL;
	return data;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffffffffu;
}

/* True when dir holds an entry starting with ".NAME.tmp-" (a leftover temp file). */
static int has_temp_for(const char *dir, const char *name)
{
	char **names = NULL;
	char prefix[256];
	snprintf(prefix, sizeof prefix, ".%s.tmp-", name);
	if (kip_fs_list(dir, &names, NULL, NULL) != 0)
		return -1;
	int found = 0;
	for (char **p = names; *p; p++)
		if (strncmp(*p, prefix, strlen(prefix)) == 0)
			found = 1;
	kip_fs_list_free(names);
	return found;
}

static void test_write_replaces_and_sets_mode(void)
{
	struct kip_err err = {0};
	const char *p = tpath("w.txt");
	CHECK(kip_fs_write_atomic(p, "one", 3, 0644, &err) == 0);
	char *s = slurp(p);
	CHECK_STR(s, "one");
	free(s);
	CHECK(mode_of(p) == 0644);

	mode_t old = umask(0077);
	CHECK(kip_fs_write_atomic(p, "second", 6, 0664, &err) == 0);
	umask(old);
	s = slurp(p);
	CHECK_STR(s, "second");
	free(s);
	CHECK(mode_of(p) == 0664); /* exact, not masked to 0600 */

	CHECK(kip_fs_write_atomic(p, "x", 1, 0600, &err) == 0);
	CHECK(mode_of(p) == 0600);
	CHECK(kip_fs_write_atomic(p, "", 0, 0640, &err) == 0);
	s = slurp(p);
	CHECK_STR(s, "");
	free(s);
	CHECK(has_temp_for(tmpdir, "w.txt") == 0);
}

static void test_write_relative_and_large(void)
{
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(tmpdir) == 0);
	CHECK(kip_fs_write_atomic("rel.txt", "rel", 3, 0644, NULL) == 0);
	CHECK(chdir(cwd) == 0);
	char *s = slurp(tpath("rel.txt"));
	CHECK_STR(s, "rel");
	free(s);

	size_t n = 3u << 20;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	const char *p = tpath("big.bin");
	CHECK(kip_fs_write_atomic(p, big, n, 0644, NULL) == 0);
	char *data = NULL;
	size_t len = 0;
	CHECK(kip_fs_read_file(p, &data, &len, NULL) == 0);
	CHECK(len == n && data && memcmp(data, big, n) == 0 && data[n] == '\0');
	free(data);
	free(big);
}

static void test_write_failure_leaves_original(void)
{
	struct kip_err err = {0};
	/* Missing directory. */
	const char *p = tpath("nodir/f.txt");
	CHECK(kip_fs_write_atomic(p, "x", 1, 0644, &err) == KIP_ENOENT);
	CHECK(strstr(err.msg, "cannot write ") && strstr(err.msg, p));
	CHECK(strstr(err.msg, "No such file or directory") != NULL);

	/* The rename fails (the target is a non-empty directory) after the temp file was written:
	 * the temp file must be gone and the target untouched. Works even as root. */
	const char *d = tpath("target");
	CHECK(kip_fs_mkdir_p(d, 0755, NULL) == 0);
	CHECK(kip_fs_write_atomic(tpath("target/keep"), "keep", 4, 0644, NULL) == 0);
	memset(&err, 0, sizeof err);
	CHECK(kip_fs_write_atomic(d, "data", 4, 0644, &err) < 0);
	CHECK(strstr(err.msg, d) != NULL);
	CHECK(has_temp_for(tmpdir, "target") == 0);
	char *s = slurp(tpath("target/keep"));
	CHECK_STR(s, "keep");
	free(s);

	/* A read-only directory (permission checks do not apply to root). */
	const char *ro = tpath("ro");
	const char *f = tpath("ro/f.txt");
	CHECK(kip_fs_mkdir_p(ro, 0755, NULL) == 0);
	CHECK(kip_fs_write_atomic(f, "original", 8, 0644, NULL) == 0);
	CHECK(chmod(ro, 0555) == 0);
	if (geteuid() != 0) {
		memset(&err, 0, sizeof err);
		CHECK(kip_fs_write_atomic(f, "new", 3, 0644, &err) == KIP_EACCES);
		CHECK(strstr(err.msg, f) != NULL);
	}
	s = slurp(f);
	CHECK(s && (strcmp(s, "original") == 0 || geteuid() == 0));
	free(s);
	CHECK(has_temp_for(ro, "f.txt") == 0);
	CHECK(chmod(ro, 0755) == 0);

	/* A path ending in '/' names no file. */
	CHECK(kip_fs_write_atomic(tpath("x/"), "x", 1, 0644, &err) < 0);
	CHECK(kip_fs_write_atomic("", "x", 1, 0644, &err) == KIP_EINVAL);
}

static void test_read_errors(void)
{
	struct kip_err err = {0};
	char *data = (char *)1;
	size_t len = 7;
	const char *p = tpath("missing.txt");
	CHECK(kip_fs_read_file(p, &data, &len, &err) == KIP_ENOENT);
	CHECK(data == NULL && len == 0);
	CHECK(err.code == KIP_ENOENT && err.sys_errno == ENOENT);
	CHECK(strstr(err.msg, p) != NULL);
	CHECK_STR(kip_err_name(err.code), "notfound");

	CHECK(kip_fs_read_file(tmpdir, &data, &len, &err) == KIP_EIO); /* EISDIR */
	CHECK(data == NULL);
}

static void test_read_fifo(void)
{
	const char *p = tpath("fifo");
	CHECK(mkfifo(p, 0600) == 0);
	size_t n = 200000;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(p, O_WRONLY);
		char buf[1000];
		memset(buf, 'z', sizeof buf);
		for (size_t i = 0; i < n / sizeof buf; i++)
			if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
				_exit(1);
		_exit(0);
	}
	char *data = NULL;
	size_t len = 0;
	CHECK(kip_fs_read_file(p, &data, &len, NULL) == 0);
	CHECK(len == n);
	CHECK(data && data[0] == 'z' && data[n - 1] == 'z' && data[n] == '\0');
	free(data);
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_append(void)
{
	const char *p = tpath("log.txt");
	CHECK(kip_fs_append(p, "a\n", 2, 0600, NULL) == 0);
	CHECK(kip_fs_append(p, "b\n", 2, 0644, NULL) == 0);
	char *s = slurp(p);
	CHECK_STR(s, "a\nb\n");
	free(s);
	CHECK(mode_of(p) == 0600); /* mode applies on creation only */
	struct kip_err err = {0};
	CHECK(kip_fs_append(tpath("nodir/log"), "x", 1, 0600, &err) == KIP_ENOENT);
	CHECK(strstr(err.msg, "nodir/log") != NULL);
}

static void test_mkdir_p(void)
{
	struct kip_err err = {0};
	const char *p = tpath("a/b//c/d/");
	CHECK(kip_fs_mkdir_p(p, 0755, &err) == 0);
	struct kip_fs_stat st;
	CHECK(kip_fs_stat(tpath("a/b/c/d"), true, &st, NULL) == 0 && st.type == KIP_FS_DIRECTORY);
	CHECK(kip_fs_mkdir_p(p, 0755, &err) == 0); /* existing is fine */
	CHECK(kip_fs_mkdir_p(tmpdir, 0755, &err) == 0);
	CHECK(kip_fs_mkdir_p("/", 0755, &err) == 0);

	const char *f = tpath("a/file");
	CHECK(kip_fs_write_atomic(f, "x", 1, 0644, NULL) == 0);
	memset(&err, 0, sizeof err);
	CHECK(kip_fs_mkdir_p(tpath("a/file/sub/deeper"), 0755, &err) == KIP_ENOTDIR);
	CHECK(strstr(err.msg, f) != NULL);
	CHECK(strstr(err.msg, "not a directory") != NULL);
	CHECK_STR(kip_err_name(err.code), "notdir");
	CHECK(kip_fs_mkdir_p(f, 0755, &err) == KIP_ENOTDIR);
	CHECK(kip_fs_mkdir_p("", 0755, &err) == KIP_EINVAL);

	/* A symlink to a directory counts as a directory. */
	CHECK(symlink(tpath("a/b"), tpath("link")) == 0);
	CHECK(kip_fs_mkdir_p(tpath("link/c/e"), 0755, &err) == 0);
	CHECK(kip_fs_exists(tpath("a/b/c/e")));
}

static void test_list(void)
{
	const char *d = tpath("list");
	CHECK(kip_fs_mkdir_p(d, 0755, NULL) == 0);
	const char *names_in[] = {"b", "a", "C", "c.txt", ".hidden"};
	for (size_t i = 0; i < sizeof names_in / sizeof *names_in; i++) {
		char p[4200];
		snprintf(p, sizeof p, "%s/%s", d, names_in[i]);
		CHECK(kip_fs_write_atomic(p, "", 0, 0644, NULL) == 0);
	}
	char **names = NULL;
	size_t n = 0;
	CHECK(kip_fs_list(d, &names, &n, NULL) == 0);
	CHECK(n == 5);
	if (names && n == 5) {
		CHECK_STR(names[0], ".hidden");
		CHECK_STR(names[1], "C");
		CHECK_STR(names[2], "a");
		CHECK_STR(names[3], "b");
		CHECK_STR(names[4], "c.txt");
		CHECK(names[5] == NULL);
	}
	kip_fs_list_free(names);

	CHECK(kip_fs_mkdir_p(tpath("empty"), 0755, NULL) == 0);
	CHECK(kip_fs_list(tpath("empty"), &names, &n, NULL) == 0);
	CHECK(n == 0 && names && names[0] == NULL);
	kip_fs_list_free(names);

	struct kip_err err = {0};
	CHECK(kip_fs_list(tpath("list/a"), &names, &n, &err) == KIP_ENOTDIR);
	CHECK(names == NULL);
	CHECK(kip_fs_list(tpath("nope"), &names, NULL, &err) == KIP_ENOENT);
}

static void test_stat_exists_remove(void)
{
	struct kip_err err = {0};
	const char *f = tpath("st.txt");
	CHECK(kip_fs_write_atomic(f, "12345", 5, 0640, NULL) == 0);
	struct kip_fs_stat st;
	CHECK(kip_fs_stat(f, true, &st, &err) == 0);
	CHECK(st.type == KIP_FS_FILE && st.size == 5 && st.mode == 0640 && st.mtime > 1000000000);
	CHECK(kip_fs_stat(tmpdir, true, &st, &err) == 0 && st.type == KIP_FS_DIRECTORY);

	const char *l = tpath("st.link");
	CHECK(symlink(f, l) == 0);
	CHECK(kip_fs_stat(l, false, &st, &err) == 0 && st.type == KIP_FS_LINK);
	CHECK(kip_fs_stat(l, true, &st, &err) == 0 && st.type == KIP_FS_FILE);
	CHECK(kip_fs_stat("/dev/null", true, &st, &err) == 0 && st.type == KIP_FS_OTHER);
	CHECK(kip_fs_stat(tpath("none"), true, &st, &err) == KIP_ENOENT);
	CHECK(strstr(err.msg, "none") != NULL);

	CHECK(kip_fs_exists(f));
	CHECK(!kip_fs_exists(tpath("none")));
	CHECK(kip_fs_remove(l, &err) == 0); /* the link, not its target */
	CHECK(!kip_fs_exists(l) && kip_fs_exists(f));
	CHECK(kip_fs_remove(f, &err) == 0);
	CHECK(!kip_fs_exists(f));
	CHECK(kip_fs_remove(f, &err) == KIP_ENOENT);

	const char *d = tpath("rmdir/sub");
	CHECK(kip_fs_mkdir_p(d, 0755, NULL) == 0);
	CHECK(kip_fs_remove(tpath("rmdir"), &err) < 0); /* not empty */
	CHECK(kip_fs_remove(d, &err) == 0);
	CHECK(kip_fs_remove(tpath("rmdir"), &err) == 0);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_write_replaces_and_sets_mode);
	RUN(test_write_relative_and_large);
	RUN(test_write_failure_leaves_original);
	RUN(test_read_errors);
	RUN(test_read_fifo);
	RUN(test_append);
	RUN(test_mkdir_p);
	RUN(test_list);
	RUN(test_stat_exists_remove);

	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_summary();
}
