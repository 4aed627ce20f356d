/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for background processes (kip/proc.h, kip_spawn*): output files, exit status and
 * signals, synchronous exec failures, env and cwd, stderr sharing stdout, process groups (and
 * killing grandchildren through them), wait timeouts with and without a pidfd, the child's signal
 * state, die_with_parent and a status reaped by someone else. Uses check.h, sh and coreutils. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "children.h"
#include "kip/fs.h"
#include "kip/proc.h"

static char tmpdir[] = "/tmp/kip-test-spawn-XXXXXX";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits up to 5 s for pid to stop running (an orphan may stay a zombie: that counts as dead). */
static int dies(pid_t pid)
{
	for (int i = 0; i < 500; i++) {
		if (!is_running(pid))
			return 1;
		usleep(10000);
	}
	return 0;
}

/* Waits up to 5 s for path to hold exactly want; returns the last content read (malloc'd). */
static char *file_becomes(const char *path, const char *want)
{
	char *data = NULL;
	for (int i = 0; i < 500; i++) {
		free(data);
		data = NULL;
		size_t len;
		if (kip_fs_read_file(path, &data, &len, NULL) == 0 && strcmp(data, want) == 0)
			break;
		usleep(10000);
	}
	return data;
}

static void path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void test_output_kill_wait(void)
{
	char out[256];
	path_in_tmp(out, sizeof out, "hi.log");
	const char *const a[] = {"sh", "-c", "echo hi; sleep 30", NULL};
	struct kip_spawn_opts o = {.argv = a, .stdout_path = out, .new_group = true, .die_with_parent = true};
	struct kip_child c;
	struct kip_err err = {0};
	CHECK(kip_spawn(&o, &c, &err) == 0);
	CHECK(c.pid > 0 && !c.reaped);
	CHECK_STR(c.name, "sh");
	CHECK(kip_spawn_alive(&c));
	char *data = file_becomes(out, "hi\n");
	CHECK_STR(data, "hi\n");
	free(data);
	struct stat st;
	CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0600);

	CHECK(kip_spawn_kill(&c, SIGTERM, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0);
	CHECK(c.reaped && c.term_signal == SIGTERM && c.exit_status == -1 && !c.lost);
	CHECK(!kip_spawn_alive(&c));
	memset(&err, 0, sizeof err);
	CHECK(kip_spawn_kill(&c, SIGTERM, &err) == KIP_ENOENT);
	CHECK(strstr(err.msg, "has already exited") && strstr(err.msg, "'sh'"));
	kip_spawn_release(&c);
	kip_spawn_release(&c); /* twice is fine */
	CHECK(c.pidfd == -1);

	/* The file is appended to, not truncated. */
	CHECK(kip_spawn(&o, &c, &err) == 0);
	data = file_becomes(out, "hi\nhi\n");
	CHECK_STR(data, "hi\nhi\n");
	free(data);
	CHECK(kip_spawn_kill(&c, SIGKILL, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0 && c.term_signal == SIGKILL);
	kip_spawn_release(&c);
}

static void test_exit_status(void)
{
	const char *const a[] = {"sh", "-c", "exit 3", NULL};
	struct kip_spawn_opts o = {.argv = a, .new_group = true};
	struct kip_child c;
	struct kip_err err = {0};
	CHECK(kip_spawn(&o, &c, &err) == 0);
	CHECK(kip_spawn_wait(&c, -1, &err) == 0);
	CHECK(c.reaped && c.exit_status == 3 && c.term_signal == 0);
	/* Waiting again returns the remembered status. */
	CHECK(kip_spawn_wait(&c, 0, &err) == 0 && c.exit_status == 3);
	kip_spawn_release(&c);
}

static void test_start_failures(void)
{
	struct kip_child c;
	struct kip_err err = {0};
	const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
	const char *const a[] = {"kip-no-such-command", NULL};
	struct kip_spawn_opts o = {.argv = a, .envp = env, .new_group = true, .die_with_parent = true};
	CHECK(kip_spawn(&o, &c, &err) == KIP_ENOENT);
	CHECK_STR(err.msg, "cannot run 'kip-no-such-command': No such file or directory");
	CHECK(c.pid == -1 && c.pidfd == -1);
	kip_spawn_release(&c);

	const char *const p[] = {"pwd", NULL};
	struct kip_spawn_opts o2 = {.argv = p, .cwd = "/nonexistent-kip-dir"};
	memset(&err, 0, sizeof err);
	CHECK(kip_spawn(&o2, &c, &err) == KIP_ENOENT);
	CHECK(strstr(err.msg, "cannot run 'pwd'") && strstr(err.msg, "/nonexistent-kip-dir"));

	struct kip_spawn_opts o3 = {.argv = p, .stdout_path = "/nonexistent-kip-dir/out.log"};
	memset(&err, 0, sizeof err);
	CHECK(kip_spawn(&o3, &c, &err) == KIP_ENOENT);
	CHECK(strstr(err.msg, "/nonexistent-kip-dir/out.log") && strstr(err.msg, "stdout"));
	struct kip_spawn_opts o4 = {.argv = p, .stderr_path = "/nonexistent-kip-dir/err.log"};
	CHECK(kip_spawn(&o4, &c, &err) == KIP_ENOENT && strstr(err.msg, "stderr"));

	const char *const e[] = {NULL};
	struct kip_spawn_opts o5 = {.argv = e};
	CHECK(kip_spawn(&o5, &c, &err) == KIP_EINVAL && c.pid == -1);
}

static void test_env_cwd_stderr(void)
{
	char out[256];
	path_in_tmp(out, sizeof out, "env.log");
	const char *const env[] = {"KIP_TEST_VAR=hello", "PATH=/usr/bin:/bin", NULL};
	const char *const a[] = {"sh", "-c", "echo \"$KIP_TEST_VAR:${HOME-unset}\"; pwd; echo err >&2; echo last",
	                         NULL};
	struct kip_spawn_opts o = {.argv = a, .envp = env, .cwd = "/", .stdout_path = out,
	                           .stderr_to_stdout = true, .new_group = true};
	struct kip_child c;
	struct kip_err err = {0};
	CHECK(kip_spawn(&o, &c, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0 && c.exit_status == 0);
	kip_spawn_release(&c);
	char *data = NULL;
	size_t len;
	CHECK(kip_fs_read_file(out, &data, &len, NULL) == 0);
	CHECK_STR(data, "hello:unset\n/\nerr\nlast\n");
	free(data);

	/* Separate files; stdout defaults to /dev/null. */
	char errf[256];
	path_in_tmp(errf, sizeof errf, "err.log");
	struct kip_spawn_opts o2 = {.argv = a, .envp = env, .stderr_path = errf};
	CHECK(kip_spawn(&o2, &c, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0 && c.exit_status == 0);
	kip_spawn_release(&c);
	CHECK(kip_fs_read_file(errf, &data, &len, NULL) == 0);
	CHECK_STR(data, "err\n");
	free(data);
}

static void test_groups(void)
{
	const char *const a[] = {"sleep", "30", NULL};
	struct kip_spawn_opts o = {.argv = a, .new_group = true};
	struct kip_child c;
	struct kip_err err = {0};
	char st;
	pid_t pg = 0;
	CHECK(kip_spawn(&o, &c, &err) == 0);
	CHECK(proc_stat(c.pid, &st, &pg) && pg == c.pid);
	CHECK(kip_spawn_kill(&c, SIGKILL, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0);
	kip_spawn_release(&c);

	o.new_group = false;
	CHECK(kip_spawn(&o, &c, &err) == 0);
	CHECK(proc_stat(c.pid, &st, &pg) && pg == getpgrp());
	CHECK(kip_spawn_kill(&c, SIGTERM, &err) == 0); /* to the process only, not to us */
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0 && c.term_signal == SIGTERM);
	kip_spawn_release(&c);

	/* A group kill reaches a background grandchild. */
	char out[256];
	path_in_tmp(out, sizeof out, "grandchild.log");
	const char *const b[] = {"sh", "-c", "sleep 30 & echo $!; wait", NULL};
	struct kip_spawn_opts o2 = {.argv = b, .stdout_path = out, .new_group = true};
	CHECK(kip_spawn(&o2, &c, &err) == 0);
	pid_t grandchild = 0;
	for (int i = 0; i < 500 && grandchild <= 0; i++) {
		char *data = NULL;
		size_t len;
		if (kip_fs_read_file(out, &data, &len, NULL) == 0 && strchr(data, '\n'))
			grandchild = (pid_t)atoi(data);
		free(data);
		if (grandchild <= 0)
			usleep(10000);
	}
	CHECK(grandchild > 0 && is_running(grandchild));
	CHECK(kip_spawn_kill(&c, SIGTERM, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0 && c.term_signal == SIGTERM);
	CHECK(grandchild > 0 && dies(grandchild));
	kip_spawn_release(&c);
}

/* A wait that times out returns while the child still runs: it sleeps 30 s and is still alive
 * afterwards, which no scheduling delay can fake (no upper bound on the time taken). */
static void test_wait_timeout(void)
{
	const char *const a[] = {"sh", "-c", "sleep 30", NULL};
	struct kip_spawn_opts o = {.argv = a, .new_group = true};
	struct kip_child c;
	struct kip_err err = {0};
	CHECK(kip_spawn(&o, &c, &err) == 0);
	double t0 = now_s();
	CHECK(kip_spawn_wait(&c, 100, &err) == KIP_ETIMEOUT);
	CHECK(now_s() - t0 >= 0.09);
	CHECK(strstr(err.msg, "timed out") && strstr(err.msg, "0.1 s"));
	CHECK(kip_spawn_alive(&c));
	CHECK(kip_spawn_kill(&c, SIGKILL, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0 && c.term_signal == SIGKILL);
	kip_spawn_release(&c);

	/* The same without a pidfd (pre-5.3 kernels): kip_spawn_block polls. */
	CHECK(kip_spawn(&o, &c, &err) == 0);
	struct kip_child nofd = c;
	nofd.pidfd = -1;
	t0 = now_s();
	CHECK(kip_spawn_block(&nofd, 100, &err) == KIP_ETIMEOUT);
	CHECK(now_s() - t0 >= 0.09);
	CHECK(kip_spawn_block(&nofd, 0, &err) == KIP_ETIMEOUT);
	CHECK(kip_spawn_kill(&nofd, SIGKILL, &err) == 0);
	CHECK(kip_spawn_block(&nofd, -1, &err) == 0);
	CHECK(!kip_spawn_alive(&nofd) && nofd.term_signal == SIGKILL);
	kip_spawn_release(&c);
}

static void test_signal_state_reset(void)
{
	/* The child must not inherit our ignored SIGINT or blocked SIGTERM. */
	struct parent_signals saved;
	parent_signals_hostile(&saved);

	const char *const a[] = {"sleep", "30", NULL};
	struct kip_spawn_opts o = {.argv = a, .new_group = true};
	struct kip_child c;
	struct kip_err err = {0};
	CHECK(kip_spawn(&o, &c, &err) == 0);
	CHECK(kip_spawn_kill(&c, SIGINT, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0 && c.term_signal == SIGINT);
	kip_spawn_release(&c);
	CHECK(kip_spawn(&o, &c, &err) == 0);
	CHECK(kip_spawn_kill(&c, SIGTERM, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0 && c.term_signal == SIGTERM);
	kip_spawn_release(&c);

	parent_signals_restore(&saved);
}

/* Forks a short-lived parent that spawns `sleep 30` and exits; returns the sleep's pid. */
static pid_t spawn_from_dying_parent(bool die_with_parent)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t helper = fork();
	if (helper == 0) {
		close(p[0]);
		const char *const a[] = {"sleep", "30", NULL};
		struct kip_spawn_opts o = {.argv = a, .new_group = true, .die_with_parent = die_with_parent};
		struct kip_child c;
		pid_t pid = kip_spawn(&o, &c, NULL) == 0 ? c.pid : -1;
		ssize_t w = write(p[1], &pid, sizeof pid);
		_exit(w == (ssize_t)sizeof pid ? 0 : 1);
	}
	close(p[1]);
	pid_t pid = -1;
	if (helper < 0 || read(p[0], &pid, sizeof pid) != (ssize_t)sizeof pid)
		pid = -1;
	close(p[0]);
	int status;
	if (helper > 0)
		waitpid(helper, &status, 0);
	return pid;
}

static void test_die_with_parent(void)
{
	pid_t pid = spawn_from_dying_parent(true);
	CHECK(pid > 0);
	CHECK(pid > 0 && dies(pid));

	pid = spawn_from_dying_parent(false);
	CHECK(pid > 0);
	usleep(100000);
	CHECK(pid > 0 && is_running(pid));
	if (pid > 0)
		kill(pid, SIGKILL);
	CHECK(pid > 0 && dies(pid));
}

static void test_lost_status(void)
{
	/* With SIGCHLD ignored the kernel reaps for us: the status is lost, but nothing hangs. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	sigaction(SIGCHLD, &ign, &old);
	const char *const a[] = {"true", NULL};
	struct kip_spawn_opts o = {.argv = a, .new_group = true};
	struct kip_child c;
	struct kip_err err = {0};
	CHECK(kip_spawn(&o, &c, &err) == 0);
	CHECK(kip_spawn_wait(&c, 5000, &err) == 0);
	CHECK(c.reaped && c.lost);
	CHECK(kip_spawn_kill(&c, SIGTERM, &err) == KIP_ENOENT);
	kip_spawn_release(&c);
	sigaction(SIGCHLD, &old, NULL);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_output_kill_wait);
	RUN(test_exit_status);
	RUN(test_start_failures);
	RUN(test_env_cwd_stderr);
	RUN(test_groups);
	RUN(test_wait_timeout);
	RUN(test_signal_state_reset);
	RUN(test_die_with_parent);
	RUN(test_lost_status);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_summary();
}
