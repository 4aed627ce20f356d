/* SPDX-License-Identifier: Apache-2.0
 * Running a local command and capturing its output: fork + exec (execvp-style PATH search, no
 * shell), stdin fed and stdout/stderr read concurrently by one poll() loop, an optional timeout and
 * output cap that kill the child's whole process group. Used by the kip.proc binding and kipperd.
 * Uses POSIX (fork, execve, pipe2, poll, waitpid) and kip/err.h. Blocks the calling thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

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
