/* SPDX-License-Identifier: Apache-2.0
 * Running a local command and capturing its output: fork + exec (execvp-style PATH search, no
 * shell), stdin fed and stdout/stderr read concurrently by one poll() loop, an optional timeout and
 * output cap that kill the child's whole process group (proc.c; blocks the calling thread). And
 * background processes (spawn.c): started the same way with their output going to files, then
 * polled, waited for with a timeout, and signalled. Used by the kip.proc binding and kipperd.
 * Uses POSIX (fork, execve, pipe2, poll, waitpid, waitid), Linux pidfd_open and prctl when there,
 * and kip/err.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kip/err.h"

/* Per-stream output cap used when kip_proc_opts.max_output is 0 (64 MiB). */
#define KIP_PROC_MAX_OUTPUT ((size_t)64 << 20)

struct kip_proc_opts {
	const char *const *argv;  /* NULL-terminated; argv[0] is searched in the child's PATH (from envp,
	                           * /bin:/usr/bin if unset) unless it has a '/'; relative PATH entries and a
	                           * relative argv[0] resolve after the chdir to cwd */
	const char *const *envp;  /* NULL-terminated "NAME=value" list; NULL inherits environ */
	const char *cwd;          /* directory the child starts in; NULL: the current one */
	const char *stdin_data;   /* fed to the child's stdin; NULL: stdin is /dev/null */
	size_t stdin_len;
	unsigned timeout_ms;      /* 0: no timeout */
	size_t max_output;        /* per stream, bytes; 0: KIP_PROC_MAX_OUTPUT */
};

struct kip_proc_result {
	int exit_status;   /* exit code, -1 if the child was killed by a signal */
	int term_signal;   /* the signal that killed it, 0 if it exited */
	bool timed_out;    /* the timeout expired and the process group was killed */
	char *out;         /* stdout, malloc'd and NUL-terminated once the command ran */
	size_t out_len;
	char *errout;      /* stderr, likewise */
	size_t err_len;
};

/** Runs opts->argv and waits for it (the child is always reaped). The child gets its own process
 * group, default signal dispositions and an empty signal mask, and only fds 0-2. *result is reset
 * first; free it with kip_proc_result_free whatever this returns.
 * Returns 0 when the command ran, whatever its exit status (see result), or:
 *  - KIP_ENOENT / KIP_EACCES / KIP_ENOTDIR / KIP_EIO when it could not start ("cannot run 'cmd':
 *    No such file or directory"), including a bad cwd; result then holds no output;
 *  - KIP_ETIMEOUT when opts->timeout_ms expired: the group got SIGKILL, result->timed_out is set
 *    and result holds the output read so far;
 *  - KIP_ENOMEM when a stream exceeded the output cap (the group got SIGKILL; result holds the
 *    output up to the cap) or memory ran out;
 *  - KIP_EINVAL for an empty argv. */
int kip_proc_run(const struct kip_proc_opts *opts, struct kip_proc_result *result,
                 struct kip_err *err);

/** Frees the output buffers of result and zeroes it. Safe to call twice. */
void kip_proc_result_free(struct kip_proc_result *result);

/** Finds the executable that kip_proc_run would run for name: the PATH entry holding a regular,
 * executable file called name, or name itself when it contains a '/'. *path gets a malloc'd
 * string the caller frees (absolute when found in PATH, a relative PATH entry is resolved against
 * the current directory). Returns 0, KIP_ENOENT when there is none, or KIP_ENOMEM. */
int kip_proc_which(const char *name, char **path);

/* ---- background processes (spawn.c) ---- */

struct kip_spawn_opts {
	const char *const *argv;  /* as in kip_proc_opts: same PATH search and exec semantics */
	const char *const *envp;  /* NULL inherits environ */
	const char *cwd;          /* NULL: the current directory */
	const char *stdout_path;  /* opened (by the parent, relative to its cwd) for appending, created
	                           * 0600; NULL: /dev/null */
	const char *stderr_path;  /* likewise; ignored when stderr_to_stdout */
	bool stderr_to_stdout;    /* stderr shares stdout's open file (writes interleave) */
	bool new_group;           /* the child leads its own process group; kills go to the group */
	bool die_with_parent;     /* Linux: the child gets SIGTERM when the thread that spawned it
	                           * exits (PR_SET_PDEATHSIG); ignored elsewhere */
};

/* A spawned process. Plain data: the fields are read by the functions below, which a caller
 * sharing it between threads must serialise (kip_spawn_block may run on a copy). */
struct kip_child {
	pid_t pid;        /* -1 when nothing was spawned */
	int pidfd;        /* a pidfd to poll, -1 when the kernel has none (pre-5.3, or filtered) */
	bool new_group;
	bool reaped;      /* the status below is known and the pid released */
	bool lost;        /* reaped by someone else (SIGCHLD ignored): the status is unknown */
	int exit_status;  /* once reaped: the exit code, -1 if a signal ended it */
	int term_signal;  /* the signal that ended it, 0 if it exited */
	char name[64];    /* argv[0] (truncated), for messages */
};

/** Starts opts->argv in the background with stdin on /dev/null and stdout/stderr on the given
 * files; the child gets default signal dispositions, an empty signal mask and only fds 0-2, as
 * with kip_proc_run. *child is reset first. Returns 0 once the program was exec'd (child->pid is
 * set), or, with child->pid == -1 and nothing left running:
 *  - KIP_ENOENT / KIP_EACCES / KIP_ENOTDIR / KIP_EIO when it could not start ("cannot run 'cmd':
 *    No such file or directory"), including a bad cwd or an output file that cannot be opened;
 *  - KIP_EINVAL for an empty argv, KIP_ENOMEM when memory ran out.
 * The caller must eventually reap the child (kip_spawn_alive or kip_spawn_wait reporting that it
 * exited) and call kip_spawn_release. */
int kip_spawn(const struct kip_spawn_opts *opts, struct kip_child *child, struct kip_err *err);

/** Whether the child still runs. When it has exited, reaps it (once) and fills the status fields;
 * afterwards always false. Never blocks. */
bool kip_spawn_alive(struct kip_child *child);

/** Blocks until the child has exited or timeout_ms passes (< 0: no limit), without reaping it and
 * without changing *child, so it may run on a copy while other threads use the original. Returns
 * 0 when the child exited (or was reaped already), or KIP_ETIMEOUT with err ("'sleep' (pid 42)
 * timed out: still running after 0.5 s"). Follow it with kip_spawn_alive to reap. */
int kip_spawn_block(const struct kip_child *child, int timeout_ms, struct kip_err *err);

/** kip_spawn_block, then kip_spawn_alive: returns 0 with the status fields filled, or
 * KIP_ETIMEOUT with err while the child still runs. */
int kip_spawn_wait(struct kip_child *child, int timeout_ms, struct kip_err *err);

/** Sends sig to the child's process group (new_group) or to the child. Returns 0, or KIP_ENOENT
 * with err when the child had already exited; it is then reaped, and with new_group the signal
 * still goes to whatever is left in its group (the unreaped leader keeps the group id from being
 * reused). Other failures (EPERM) map through kip_err_sys. */
int kip_spawn_kill(struct kip_child *child, int sig, struct kip_err *err);

/** Reaps the child if it has exited and closes the pidfd. Never signals it: a child still running
 * is left alone (and stays a zombie once it exits, until this process exits). Safe to call twice. */
void kip_spawn_release(struct kip_child *child);
