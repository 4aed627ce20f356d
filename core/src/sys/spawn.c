/* SPDX-License-Identifier: Apache-2.0
 * Background processes (kip/proc.h, kip_spawn*): started by the exec, PATH and report-pipe code
 * kip_proc_run uses (proc_exec.h), with stdin on /dev/null and the output going to files; then
 * polled with waitpid(WNOHANG), waited for on a pidfd (Linux >= 5.3) or with short sleeps over
 * waitid(WNOWAIT), and signalled. Uses POSIX, Linux pidfd_open when there, and kip/err.h. */
#define _GNU_SOURCE /* F_DUPFD_CLOEXEC */
#include "kip/proc.h"

#include "proc_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Older C libraries lack the number; it is 434 on every Linux architecture but alpha. */
#if defined(__linux__) && !defined(SYS_pidfd_open) && !defined(__alpha__)
#define SYS_pidfd_open 434
#endif

#define SPAWN_POLL_MAX_MS 50 /* longest sleep between checks when there is no pidfd */

static int64_t spawn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Opens path (NULL: /dev/null) for the child's stream, appending, created 0600. */
static int spawn_open_out(const char *path, const char *stream, const char *name, int *fd,
                          struct kip_err *err)
{
	if (!path)
		path = "/dev/null";
	*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, 0600);
	if (*fd < 0)
		return kip_err_sys(err, errno, "cannot run '%s': cannot open %s for its %s", name, path,
		                   stream);
	return 0;
}

int kip_spawn(const struct kip_spawn_opts *opts, struct kip_child *child, struct kip_err *err)
{
	memset(child, 0, sizeof *child);
	child->pid = -1;
	child->pidfd = -1;
	if (!opts->argv || !opts->argv[0] || !opts->argv[0][0])
		return kip_err_set(err, KIP_EINVAL, "cannot run a command: argv is empty");
	const char *name = opts->argv[0];
	snprintf(child->name, sizeof child->name, "%s", name);

	struct proc_child c;
	int rc = proc_child_init(&c, opts->argv, opts->envp, opts->cwd, err);
	if (rc)
		goto out;
	c.new_group = opts->new_group;
#ifdef __linux__
	if (opts->die_with_parent)
		c.pdeath_parent = getpid();
#endif
	if ((c.in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = kip_err_sys(err, errno, "cannot run '%s': cannot open /dev/null", name);
		goto out;
	}
	rc = spawn_open_out(opts->stdout_path, "stdout", name, &c.out_fd, err);
	if (rc)
		goto out;
	if (opts->stderr_to_stdout) {
		/* The same open file: one offset, so with O_APPEND the two streams interleave. */
		if ((c.err_fd = fcntl(c.out_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			rc = kip_err_sys(err, errno, "cannot run '%s'", name);
			goto out;
		}
	} else if ((rc = spawn_open_out(opts->stderr_path, "stderr", name, &c.err_fd, err)) != 0) {
		goto out;
	}

	pid_t pid;
	rc = proc_child_start(&c, &pid, err);
	if (rc)
		goto out;
	child->pid = pid;
	child->new_group = opts->new_group;
#ifdef SYS_pidfd_open
	/* Race-free: pid is our unreaped child. The pidfd is close-on-exec. Without one (ENOSYS, a
	 * seccomp filter) kip_spawn_block polls instead. */
	long pidfd = syscall(SYS_pidfd_open, pid, 0);
	child->pidfd = pidfd >= 0 ? (int)pidfd : -1;
#endif
out:
	proc_child_free(&c);
	return rc;
}

/* Without reaping: 1 when pid has exited (a zombie now), 0 while it runs, -1 when it is not our
 * child any more (someone else reaped it, e.g. with SIGCHLD ignored). */
static int spawn_check(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		if (errno != EINTR)
			return -1;
	return si.si_pid != 0;
}

bool kip_spawn_alive(struct kip_child *child)
{
	if (child->pid <= 0 || child->reaped)
		return false;
	int status = 0;
	pid_t w;
	do
		w = waitpid(child->pid, &status, WNOHANG);
	while (w < 0 && errno == EINTR);
	if (w == 0)
		return true;
	child->reaped = true;
	if (w < 0) {
		child->lost = true;
		child->exit_status = -1;
	} else if (WIFSIGNALED(status)) {
		child->exit_status = -1;
		child->term_signal = WTERMSIG(status);
	} else {
		child->exit_status = WEXITSTATUS(status);
	}
	return false;
}

static int spawn_timed_out(const struct kip_child *child, int timeout_ms, struct kip_err *err)
{
	return kip_err_set(err, KIP_ETIMEOUT, "'%s' (pid %d) timed out: still running after %g s",
	                   child->name, (int)child->pid, timeout_ms / 1000.0);
}

int kip_spawn_block(const struct kip_child *child, int timeout_ms, struct kip_err *err)
{
	if (child->pid <= 0 || child->reaped)
		return 0;
	int64_t deadline = timeout_ms >= 0 ? spawn_now_ms() + timeout_ms : 0;
	if (child->pidfd >= 0) {
		/* A pidfd turns readable when the process exits. */
		for (;;) {
			int wait_ms = -1;
			if (timeout_ms >= 0) {
				int64_t left = deadline - spawn_now_ms();
				wait_ms = left < 0 ? 0 : (int)left;
			}
			struct pollfd pfd = {.fd = child->pidfd, .events = POLLIN};
			int n = poll(&pfd, 1, wait_ms);
			if (n > 0)
				return 0;
			if (n == 0)
				return spawn_timed_out(child, timeout_ms, err);
			if (errno != EINTR)
				break; /* unexpected: fall back to polling */
		}
	}
	for (int step = 1;; step = step * 2 > SPAWN_POLL_MAX_MS ? SPAWN_POLL_MAX_MS : step * 2) {
		if (spawn_check(child->pid) != 0)
			return 0;
		int sleep_ms = step;
		if (timeout_ms >= 0) {
			int64_t left = deadline - spawn_now_ms();
			if (left <= 0)
				return spawn_timed_out(child, timeout_ms, err);
			if (left < sleep_ms)
				sleep_ms = (int)left;
		}
		poll(NULL, 0, sleep_ms);
	}
}

int kip_spawn_wait(struct kip_child *child, int timeout_ms, struct kip_err *err)
{
	int rc = kip_spawn_block(child, timeout_ms, err);
	if (!kip_spawn_alive(child))
		return 0;
	return rc ? rc : spawn_timed_out(child, timeout_ms, err);
}

int kip_spawn_kill(struct kip_child *child, int sig, struct kip_err *err)
{
	if (child->pid <= 0)
		return kip_err_set(err, KIP_EINVAL, "cannot signal a process that was never started");
	if (!child->reaped) {
		int state = spawn_check(child->pid);
		/* A zombie leader still holds its pid, so the group id cannot have been reused: what
		 * is left in the group (a background grandchild) gets the signal. */
		if (state == 1 && child->new_group)
			kill(-child->pid, sig);
		if (state != 0)
			kip_spawn_alive(child); /* reap it */
	}
	if (child->reaped)
		return kip_err_set(err, KIP_ENOENT, "'%s' (pid %d) has already exited", child->name,
		                   (int)child->pid);
	/* Not reaped, so the pid is still ours, alive or a zombie. */
	int r = kill(child->new_group ? -child->pid : child->pid, sig);
	if (r != 0 && errno == ESRCH && child->new_group)
		r = kill(child->pid, sig); /* it moved itself to another group */
	if (r != 0)
		return kip_err_sys(err, errno, "cannot signal '%s' (pid %d)", child->name, (int)child->pid);
	return 0;
}

void kip_spawn_release(struct kip_child *child)
{
	kip_spawn_alive(child);
	proc_fd_close(&child->pidfd);
}
