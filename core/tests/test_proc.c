/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for running commands (kip/proc.h): exit status, stdout/stderr separation, 1 MiB
 * through cat, exec failures reported as errors, signals, timeouts that kill the whole process
 * group, SIGPIPE safety, output cap, env, cwd, fd hygiene and which. Uses check.h, sh and coreutils. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "children.h"
#include "kip/fs.h"
#include "kip/proc.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv with the given stdin and timeout; returns kip_proc_run's code. */
static int run(const char *const *argv, const char *in, size_t in_len, unsigned timeout_ms,
               struct kip_proc_result *res, struct kip_err *err)
{
	struct kip_proc_opts opts = {
		.argv = argv, .stdin_data = in, .stdin_len = in_len, .timeout_ms = timeout_ms,
	};
	memset(err, 0, sizeof *err);
	return kip_proc_run(&opts, res, err);
}

static void test_exit_status(void)
{
	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {"sh", "-c", "exit 3", NULL};
	CHECK(run(a, NULL, 0, 0, &res, &err) == 0);
	CHECK(res.exit_status == 3 && res.term_signal == 0 && !res.timed_out);
	CHECK(res.out && res.out_len == 0 && res.out[0] == '\0');
	CHECK(res.errout && res.err_len == 0);
	kip_proc_result_free(&res);
	kip_proc_result_free(&res); /* twice is fine */

	const char *const t[] = {"true", NULL};
	CHECK(run(t, NULL, 0, 0, &res, &err) == 0 && res.exit_status == 0);
	kip_proc_result_free(&res);
}

static void test_stdout_stderr(void)
{
	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {"sh", "-c", "echo out; echo err >&2; echo \"$1\"", "sh", "arg with space", NULL};
	CHECK(run(a, NULL, 0, 0, &res, &err) == 0);
	CHECK_STR(res.out, "out\narg with space\n");
	CHECK_STR(res.errout, "err\n");
	kip_proc_result_free(&res);

	/* stdin defaults to /dev/null: cat ends at once. */
	const char *const c[] = {"cat", NULL};
	CHECK(run(c, NULL, 0, 2000, &res, &err) == 0);
	CHECK(res.out_len == 0 && !res.timed_out);
	kip_proc_result_free(&res);
	CHECK(run(c, "", 0, 2000, &res, &err) == 0);
	CHECK(res.out_len == 0 && !res.timed_out);
	kip_proc_result_free(&res);
}

static void test_large_stdin_through_cat(void)
{
	size_t n = 1u << 20;
	char *in = malloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)(i * 7 + i / 1000);
	struct kip_proc_result res;
	struct kip_err err;
	const char *const c[] = {"cat", NULL};
	CHECK(run(c, in, n, 20000, &res, &err) == 0);
	CHECK(res.exit_status == 0 && res.out_len == n && memcmp(res.out, in, n) == 0);
	kip_proc_result_free(&res);

	/* Both streams large at once, plus stdin: no deadlock. */
	const char *const s[] = {"sh", "-c", "cat; head -c 3000000 /dev/zero >&2", NULL};
	CHECK(run(s, in, n, 20000, &res, &err) == 0);
	CHECK(res.out_len == n && res.err_len == 3000000);
	kip_proc_result_free(&res);
	free(in);
}

static void test_not_found(void)
{
	struct kip_proc_result res;
	struct kip_err err;
	/* A PATH of readable directories only: one we may not search would give EACCES, as execvp. */
	const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
	const char *const a[] = {"kip-no-such-command", "x", NULL};
	struct kip_proc_opts opts = {.argv = a, .envp = env};
	memset(&err, 0, sizeof err);
	CHECK(kip_proc_run(&opts, &res, &err) == KIP_ENOENT);
	CHECK_STR(err.msg, "cannot run 'kip-no-such-command': No such file or directory");
	CHECK(res.out == NULL && res.errout == NULL);
	kip_proc_result_free(&res);

	const char *const b[] = {"/nonexistent/dir/cmd", NULL};
	CHECK(run(b, NULL, 0, 0, &res, &err) == KIP_ENOENT);
	CHECK(strstr(err.msg, "'/nonexistent/dir/cmd'") != NULL);
	kip_proc_result_free(&res);

	const char *const e[] = {NULL};
	CHECK(run(e, NULL, 0, 0, &res, &err) == KIP_EINVAL);
}

static void test_not_executable_and_script(void)
{
	char dir[] = "/tmp/kip-test-proc-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char p[256], q[256];
	snprintf(p, sizeof p, "%s/noexec", dir);
	snprintf(q, sizeof q, "%s/script", dir);
	CHECK(kip_fs_write_atomic(p, "echo hi\n", 8, 0644, NULL) == 0);
	CHECK(kip_fs_write_atomic(q, "echo \"script $1\"\n", 17, 0755, NULL) == 0);

	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {p, NULL};
	CHECK(run(a, NULL, 0, 0, &res, &err) == KIP_EACCES);
	CHECK(strstr(err.msg, "Permission denied") != NULL);
	kip_proc_result_free(&res);

	/* No #! line: run through /bin/sh, as execvp does. */
	const char *const b[] = {q, "arg", NULL};
	CHECK(run(b, NULL, 0, 0, &res, &err) == 0);
	CHECK_STR(res.out, "script arg\n");
	kip_proc_result_free(&res);

	unlink(p);
	unlink(q);
	rmdir(dir);
}

static void test_killed_by_signal(void)
{
	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {"sh", "-c", "kill -TERM $$; sleep 5", NULL};
	CHECK(run(a, NULL, 0, 10000, &res, &err) == 0);
	CHECK(res.exit_status == -1 && res.term_signal == SIGTERM && !res.timed_out);
	kip_proc_result_free(&res);
}

static void test_signal_state_reset(void)
{
	/* The child must not inherit our ignored SIGINT or blocked SIGTERM. */
	struct parent_signals saved;
	parent_signals_hostile(&saved);

	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {"sh", "-c", "kill -INT $$; echo alive", NULL};
	CHECK(run(a, NULL, 0, 10000, &res, &err) == 0);
	CHECK(res.term_signal == SIGINT);
	kip_proc_result_free(&res);
	const char *const b[] = {"sh", "-c", "kill -TERM $$; echo alive", NULL};
	CHECK(run(b, NULL, 0, 10000, &res, &err) == 0);
	CHECK(res.term_signal == SIGTERM);
	kip_proc_result_free(&res);

	parent_signals_restore(&saved);
}

static void test_timeout_kills_group(void)
{
	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {"sleep", "30", NULL};
	double t0 = now_s();
	CHECK(run(a, NULL, 0, 200, &res, &err) == KIP_ETIMEOUT);
	double took = now_s() - t0;
	CHECK(took >= 0.19 && took < 5);
	CHECK(res.timed_out && res.term_signal == SIGKILL && res.exit_status == -1);
	CHECK(strstr(err.msg, "'sleep'") && strstr(err.msg, "0.2 s"));
	CHECK_STR(kip_err_name(err.code), "timeout");
	kip_proc_result_free(&res);

	/* sh forks sleep, which keeps stdout open: only killing the group ends this quickly. The
	 * partial output is kept. */
	const char *const b[] = {"sh", "-c", "sleep 30 & echo $!; wait; echo never", NULL};
	t0 = now_s();
	CHECK(run(b, NULL, 0, 300, &res, &err) == KIP_ETIMEOUT);
	took = now_s() - t0;
	CHECK(took < 5);
	CHECK(res.timed_out && res.out_len > 0 && !strstr(res.out, "never"));
	pid_t grandchild = res.out ? (pid_t)atoi(res.out) : 0;
	CHECK(grandchild > 0);
	/* Reparented to init, which may be slow to reap it (or never do so in a container without
	 * an init): a zombie counts as dead. */
	int alive = 1;
	for (int i = 0; i < 200 && alive && grandchild > 0; i++) {
		alive = is_running(grandchild);
		if (alive)
			usleep(10000);
	}
	CHECK(!alive);
	kip_proc_result_free(&res);

	/* Outputs closed but the process lingers: the timeout still applies. */
	const char *const c[] = {"sh", "-c", "exec >&- 2>&-; sleep 30", NULL};
	t0 = now_s();
	CHECK(run(c, NULL, 0, 300, &res, &err) == KIP_ETIMEOUT);
	CHECK(now_s() - t0 < 5 && res.timed_out);
	kip_proc_result_free(&res);
}

static void test_sigpipe(void)
{
	signal(SIGPIPE, SIG_DFL); /* the test process would die of an unhandled SIGPIPE */
	size_t n = 8u << 20;
	char *in = calloc(1, n);
	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {"true", NULL};
	CHECK(run(a, in, n, 10000, &res, &err) == 0);
	CHECK(res.exit_status == 0);
	kip_proc_result_free(&res);
	const char *const b[] = {"head", "-c", "10", NULL};
	CHECK(run(b, in, n, 10000, &res, &err) == 0);
	CHECK(res.exit_status == 0 && res.out_len == 10);
	kip_proc_result_free(&res);
	free(in);
	sigset_t pending;
	sigpending(&pending);
	CHECK(!sigismember(&pending, SIGPIPE));
}

static void test_max_output(void)
{
	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {"yes", NULL};
	struct kip_proc_opts opts = {.argv = a, .max_output = 1000, .timeout_ms = 10000};
	CHECK(kip_proc_run(&opts, &res, &err) == KIP_ENOMEM);
	CHECK(res.out_len == 1000 && res.out && res.out[0] == 'y' && res.out[1000] == '\0');
	CHECK(!res.timed_out && res.term_signal == SIGKILL);
	CHECK(strstr(err.msg, "'yes'") && strstr(err.msg, "1000"));
	kip_proc_result_free(&res);

	const char *const b[] = {"sh", "-c", "printf 1234567890", NULL};
	opts.argv = b;
	opts.max_output = 10; /* exactly at the cap is fine */
	CHECK(kip_proc_run(&opts, &res, &err) == 0);
	CHECK_STR(res.out, "1234567890");
	kip_proc_result_free(&res);
}

static void test_env_and_cwd(void)
{
	struct kip_proc_result res;
	struct kip_err err;
	const char *const env[] = {"KIP_TEST_VAR=hello", "PATH=/usr/bin:/bin", NULL};
	const char *const a[] = {"sh", "-c", "echo \"$KIP_TEST_VAR:${HOME-unset}\"", NULL};
	struct kip_proc_opts opts = {.argv = a, .envp = env};
	CHECK(kip_proc_run(&opts, &res, &err) == 0);
	CHECK_STR(res.out, "hello:unset\n");
	kip_proc_result_free(&res);

	/* The PATH searched is the child's. */
	const char *const nopath_env[] = {"PATH=/nonexistent", NULL};
	opts.envp = nopath_env;
	CHECK(kip_proc_run(&opts, &res, &err) == KIP_ENOENT);
	kip_proc_result_free(&res);

	const char *const p[] = {"pwd", NULL};
	struct kip_proc_opts o2 = {.argv = p, .cwd = "/tmp"};
	CHECK(kip_proc_run(&o2, &res, &err) == 0);
	CHECK_STR(res.out, "/tmp\n");
	kip_proc_result_free(&res);

	o2.cwd = "/nonexistent-kip-dir";
	memset(&err, 0, sizeof err);
	CHECK(kip_proc_run(&o2, &res, &err) == KIP_ENOENT);
	CHECK(strstr(err.msg, "cannot run 'pwd'") && strstr(err.msg, "/nonexistent-kip-dir"));
	kip_proc_result_free(&res);
}

static void test_only_std_fds(void)
{
	int leak = dup(1); /* not close-on-exec */
	struct kip_proc_result res;
	struct kip_err err;
	const char *const a[] = {"ls", "/proc/self/fd", NULL};
	CHECK(run(a, NULL, 0, 10000, &res, &err) == 0);
	CHECK_STR(res.out, "0\n1\n2\n3\n"); /* 3 is ls's own handle on the directory */
	kip_proc_result_free(&res);
	close(leak);

	/* The child is a process group leader. */
	const char *const b[] = {"sh", "-c", "cut -d' ' -f5 /proc/$$/stat; echo $$", NULL};
	CHECK(run(b, NULL, 0, 10000, &res, &err) == 0);
	if (res.out && strchr(res.out, '\n')) {
		char *second = strchr(res.out, '\n') + 1;
		CHECK(atoi(res.out) == atoi(second));
	}
	kip_proc_result_free(&res);
}

static void test_which(void)
{
	char *p = NULL;
	CHECK(kip_proc_which("sh", &p) == 0);
	CHECK(p && p[0] == '/' && strstr(p, "/sh"));
	free(p);
	CHECK(kip_proc_which("kip-no-such-command", &p) == KIP_ENOENT && p == NULL);
	CHECK(kip_proc_which("/bin/sh", &p) == 0);
	CHECK_STR(p, "/bin/sh");
	free(p);
	CHECK(kip_proc_which("/etc/passwd", &p) == KIP_ENOENT); /* not executable */
	CHECK(kip_proc_which("/tmp", &p) == KIP_ENOENT);        /* a directory */
	CHECK(kip_proc_which("", &p) == KIP_ENOENT);
}

int main(void)
{
	RUN(test_exit_status);
	RUN(test_stdout_stderr);
	RUN(test_large_stdin_through_cat);
	RUN(test_not_found);
	RUN(test_not_executable_and_script);
	RUN(test_killed_by_signal);
	RUN(test_signal_state_reset);
	RUN(test_timeout_kills_group);
	RUN(test_sigpipe);
	RUN(test_max_output);
	RUN(test_env_and_cwd);
	RUN(test_only_std_fds);
	RUN(test_which);
	return check_summary();
}
