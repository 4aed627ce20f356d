/* SPDX-License-Identifier: Apache-2.0
 * Tests of the SSH client service (kip/ssh.h) that need no SSH server: error names, option
 * checks, connect failures (refused, a silent listener for the timeout, a non-SSH server), key
 * files made by ssh-keygen (types, encryption, fingerprints as ssh-keygen -l prints them, wrong
 * passphrases), known_hosts appends, and no leaked descriptors. spec/bindings/ssh_spec.lua covers
 * the rest against a real sshd. Uses ssh-keygen (openssh-client), fork and sockets. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kip/ssh.h"
#include "net/ssh_int.h"

static char dir[64];

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A listening socket on 127.0.0.1 (backlog only: nobody accepts); *port gets its port. */
static int listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command made like printf. */
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* ssh-keygen -lf's SHA256 fingerprint of path. */
static void keygen_fp(const char *path, char *out, size_t size)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "ssh-keygen -lf %s", path);
	out[0] = '\0';
	FILE *p = popen(cmd, "r");
	char line[512] = "";
	if (p && fgets(line, sizeof line, p)) {
		char *fp = strstr(line, "SHA256:");
		if (fp)
			snprintf(out, size, "%.*s", (int)strcspn(fp, " \n"), fp);
	}
	if (p)
		pclose(p);
}

static struct kip_ssh_opts opts(int port)
{
	static char kh[128];
	snprintf(kh, sizeof kh, "%s/known_hosts", dir);
	struct kip_ssh_opts o = {.host = "127.0.0.1", .port = (unsigned)port, .known_hosts = kh,
	                         .connect_timeout_ms = 2000};
	return o;
}

static void test_err_names(void)
{
	CHECK_STR(kip_err_name(KIP_ECONNECT), "connect");
	CHECK_STR(kip_err_name(KIP_EHOSTKEY_UNKNOWN), "hostkey-unknown");
	CHECK_STR(kip_err_name(KIP_EHOSTKEY_CHANGED), "hostkey-changed");
	CHECK_STR(kip_err_name(KIP_EPASSPHRASE), "passphrase");
	CHECK_STR(kip_err_name(KIP_EAUTH), "auth");
	CHECK_STR(kip_err_name(KIP_ETIMEOUT), "timeout");
	CHECK_STR(kip_err_name(KIP_EIO), "io");
}

static void test_bad_options(void)
{
	struct kip_err err = {0};
	struct kip_ssh_session *s = (struct kip_ssh_session *)1;
	struct kip_ssh_opts o = opts(22);
	o.known_hosts = NULL;
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_EINVAL);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "known_hosts") != NULL);
	o = opts(22);
	o.host = "a b";
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_EINVAL);
	o = opts(22);
	o.host = "root@host";
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_EINVAL);
	o = opts(22);
	o.user = "a@b";
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_EINVAL);
}

static void test_connect_refused(void)
{
	int port, fd = listener(&port);
	CHECK(fd >= 0);
	close(fd); /* nothing listens there now */
	int fds = count_fds();
	struct kip_err err = {0};
	struct kip_ssh_session *s;
	struct kip_ssh_opts o = opts(port);
	int64_t t0 = now_ms();
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_ECONNECT);
	CHECK(now_ms() - t0 < 2000);
	CHECK(strstr(err.msg, "Connection refused") != NULL);
	CHECK(strstr(err.msg, "root@127.0.0.1:") != NULL);
	CHECK(count_fds() == fds);
}

static void test_connect_timeout(void)
{
	int port, fd = listener(&port); /* the kernel completes TCP; no banner ever comes */
	CHECK(fd >= 0);
	int fds = count_fds();
	struct kip_err err = {0};
	struct kip_ssh_session *s;
	struct kip_ssh_opts o = opts(port);
	o.connect_timeout_ms = 300;
	int64_t t0 = now_ms();
	int rc = kip_ssh_connect(&o, &s, NULL, &err);
	int64_t took = now_ms() - t0;
	CHECK(rc == KIP_ETIMEOUT);
	CHECK(took >= 250 && took < 2000);
	CHECK(strstr(err.msg, "connect_timeout") != NULL);
	CHECK(count_fds() == fds);
	close(fd);
}

static void test_not_ssh(void)
{
	int port, fd = listener(&port);
	CHECK(fd >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		int c = accept(fd, NULL, NULL);
		static const char reply[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
		if (c >= 0 && write(c, reply, sizeof reply - 1) < 0)
			_exit(1);
		sleep(1);
		_exit(0);
	}
	close(fd);
	int fds = count_fds();
	struct kip_err err = {0};
	struct kip_ssh_session *s;
	struct kip_ssh_opts o = opts(port);
	int rc = kip_ssh_connect(&o, &s, NULL, &err);
	CHECK(rc == KIP_EIO || rc == KIP_ETIMEOUT);
	CHECK(strstr(err.msg, "handshake") != NULL);
	CHECK(count_fds() == fds);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_keys(void)
{
	char path[128], fp[128];
	struct kip_ssh_key_info info;
	struct kip_err err = {0};
	static const struct { const char *name, *args, *type; } keys[] = {
		{"ed", "-t ed25519", "ssh-ed25519"},
		{"ec", "-t ecdsa", "ecdsa-sha2-nistp256"},
		{"rsa", "-t rsa -b 2048", "ssh-rsa"},
		{"ecpem", "-t ecdsa -m PEM", "ecdsa-sha2-nistp256"},
		{"rsapem", "-t rsa -b 2048 -m PEM", "ssh-rsa"},
	};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		CHECK(sh("ssh-keygen -q %s -N '' -C t -f %s/%s", keys[i].args, dir, keys[i].name) == 0);
		snprintf(path, sizeof path, "%s/%s", dir, keys[i].name);
		keygen_fp(path, fp, sizeof fp);
		CHECK(kip_ssh_key_info(path, NULL, &info, &err) == 0);
		CHECK_STR(info.type, keys[i].type);
		CHECK_STR(info.fingerprint, fp);
		CHECK(info.is_private && !info.encrypted);
		snprintf(path, sizeof path, "%s/%s.pub", dir, keys[i].name);
		CHECK(kip_ssh_key_info(path, NULL, &info, &err) == 0);
		CHECK_STR(info.fingerprint, fp);
		CHECK(!info.is_private);
	}
}

static void test_encrypted_keys(void)
{
	char path[128], fp[128];
	struct kip_ssh_key_info info;
	struct kip_err err = {0};
	CHECK(sh("ssh-keygen -q -t ed25519 -N secret -C t -f %s/enc", dir) == 0);
	CHECK(sh("ssh-keygen -q -t rsa -b 2048 -m PEM -N secret -C t -f %s/encpem", dir) == 0);
	snprintf(path, sizeof path, "%s/enc", dir);
	keygen_fp(path, fp, sizeof fp); /* from enc.pub */
	CHECK(sh("rm %s/enc.pub", dir) == 0); /* the fingerprint then comes from the container */
	CHECK(kip_ssh_key_info(path, NULL, &info, &err) == 0);
	CHECK(info.encrypted && info.is_private);
	CHECK_STR(info.type, "ssh-ed25519");
	CHECK_STR(info.fingerprint, fp);
	CHECK(kip_ssh_key_info(path, "wrong", &info, &err) == KIP_EPASSPHRASE);
	CHECK(strstr(err.msg, "wrong passphrase") != NULL && strstr(err.msg, "secret") == NULL);
	CHECK(kip_ssh_key_info(path, "secret", &info, &err) == 0);
	CHECK_STR(info.fingerprint, fp);

	snprintf(path, sizeof path, "%s/encpem", dir);
	keygen_fp(path, fp, sizeof fp);
	CHECK(kip_ssh_key_info(path, NULL, &info, &err) == 0);
	CHECK(info.encrypted);
	CHECK_STR(info.fingerprint, fp); /* from encpem.pub */
	CHECK(kip_ssh_key_info(path, "nope", &info, &err) == KIP_EPASSPHRASE);
	CHECK(kip_ssh_key_info(path, "secret", &info, &err) == 0);
	CHECK_STR(info.type, "ssh-rsa");

	/* connect checks the key before the network: the passphrase error wins over the closed port */
	struct kip_ssh_session *s;
	struct kip_ssh_opts o = opts(1);
	snprintf(path, sizeof path, "%s/enc", dir);
	o.key_file = path;
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_EPASSPHRASE);
	CHECK(strstr(err.msg, "is encrypted") != NULL);
	o.key_passphrase = "bad";
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_EPASSPHRASE);
	CHECK(strstr(err.msg, "bad") == NULL);
	o.key_passphrase = "secret";
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_ECONNECT);
}

static void test_key_errors(void)
{
	char path[128];
	struct kip_ssh_key_info info;
	struct kip_err err = {0};
	snprintf(path, sizeof path, "%s/missing", dir);
	CHECK(kip_ssh_key_info(path, NULL, &info, &err) == KIP_ENOENT);
	CHECK(sh("echo 'not a key' > %s/junk", dir) == 0);
	snprintf(path, sizeof path, "%s/junk", dir);
	CHECK(kip_ssh_key_info(path, NULL, &info, &err) == KIP_EINVAL);
	CHECK(sh("printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\\nAAAA\\n-----END OPENSSH PRIVATE KEY-----\\n' > %s/bad", dir) == 0);
	snprintf(path, sizeof path, "%s/bad", dir);
	CHECK(kip_ssh_key_info(path, NULL, &info, &err) == KIP_EINVAL);
	struct kip_ssh_session *s;
	struct kip_ssh_opts o = opts(1);
	o.key_file = path;
	CHECK(kip_ssh_connect(&o, &s, NULL, &err) == KIP_EINVAL);
	CHECK(strstr(err.msg, "not a private key") != NULL);
}

static void test_fingerprint(void)
{
	char path[128], fp[128], line[1024] = "";
	CHECK(sh("ssh-keygen -q -t ed25519 -N '' -C 'a comment' -f %s/fp", dir) == 0);
	snprintf(path, sizeof path, "%s/fp.pub", dir);
	keygen_fp(path, fp, sizeof fp);
	FILE *f = fopen(path, "r");
	CHECK(f && fgets(line, sizeof line, f));
	if (f)
		fclose(f);
	struct kip_ssh_key_info info;
	struct kip_err err = {0};
	CHECK(kip_ssh_fingerprint(line, &info, &err) == 0);
	CHECK_STR(info.fingerprint, fp);
	CHECK_STR(info.type, "ssh-ed25519");
	char opts_line[1100];
	snprintf(opts_line, sizeof opts_line, "from=\"10.0.0.1\" %s", line); /* authorized_keys options */
	CHECK(kip_ssh_fingerprint(opts_line, &info, &err) == 0);
	CHECK_STR(info.fingerprint, fp);
	CHECK(kip_ssh_fingerprint("ssh-ed25519 !!!", &info, &err) == KIP_EINVAL);
	CHECK(kip_ssh_fingerprint("", &info, &err) == KIP_EINVAL);
}

static void test_known_hosts_append(void)
{
	char path[128], *text = NULL;
	struct kip_err err = {0};
	int line = 0;
	snprintf(path, sizeof path, "%s/sub/dir/known_hosts", dir);
	CHECK(sshc_known_hosts_append(path, "[h]:2222 ssh-ed25519 AAAA\n", &line, &err) == 0);
	CHECK(line == 1);
	CHECK(sh("printf 'x ssh-rsa BBBB' >> %s/sub/dir/known_hosts", dir) == 0); /* no final newline */
	CHECK(sshc_known_hosts_append(path, "[h]:2223 ssh-ed25519 CCCC", &line, &err) == 0);
	CHECK(line == 3);
	FILE *f = fopen(path, "r");
	size_t cap = 0;
	ssize_t n = f ? getdelim(&text, &cap, '\0', f) : -1;
	if (f)
		fclose(f);
	CHECK(n > 0);
	CHECK_STR(text, "[h]:2222 ssh-ed25519 AAAA\nx ssh-rsa BBBB\n[h]:2223 ssh-ed25519 CCCC\n");
	free(text);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/kip-test-ssh.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	RUN(test_err_names);
	RUN(test_bad_options);
	RUN(test_connect_refused);
	RUN(test_connect_timeout);
	RUN(test_not_ssh);
	RUN(test_keys);
	RUN(test_encrypted_keys);
	RUN(test_key_errors);
	RUN(test_fingerprint);
	RUN(test_known_hosts_append);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_summary();
}
