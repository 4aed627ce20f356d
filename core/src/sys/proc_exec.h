/* SPDX-License-Identifier: Apache-2.0
 * Private to core/src/sys: starting a child the way kip/proc.h promises (PATH search done before
 * the fork, default signal dispositions and an empty mask, only fds 0-2, exec failures carried
 * back on a close-on-exec report pipe). Defined in proc.c; used by kip_proc_run (proc.c) and
 * kip_spawn (spawn.c). Uses POSIX and kip/err.h. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "kip/err.h"

/* Everything the child needs, prepared by the parent so the child never allocates. */
struct proc_child {
	int in_fd, out_fd, err_fd; /* the child's ends, moved onto 0, 1, 2; owned until started */
	int report_fd;             /* write end of the report pipe (close-on-exec) */
	int max_fd;                /* bound for the one-by-one close fallback */
	bool new_group;            /* the child calls setpgid(0, 0) (and the parent setpgid(pid, pid)) */
	pid_t pdeath_parent;       /* > 0 (Linux): PR_SET_PDEATHSIG SIGTERM, and exit at once if the
	                            * parent is no longer this process */
	const char *cwd;
	char **cands;              /* paths to try, NULL-terminated */
	char **argv;
	char **sh_argv;            /* {"/bin/sh", <candidate>, argv[1..], NULL} for ENOEXEC */
	char **envp;
};

/** Prepares c to run argv (non-empty) with envp (NULL: environ) in cwd (NULL: the current one):
 * the PATH candidates (from envp's PATH, /bin:/usr/bin if unset, unless argv[0] has a '/') and
 * the arrays execve takes. The fds start at -1; the caller opens in_fd, out_fd and err_fd and
 * sets new_group / pdeath_parent. Returns 0 or KIP_ENOMEM with err. Free c with
 * proc_child_free whatever this returns. */
int proc_child_init(struct proc_child *c, const char *const *argv, const char *const *envp,
                    const char *cwd, struct kip_err *err);

/** Closes the fds c still owns and frees what proc_child_init allocated. Safe to call twice. */
void proc_child_free(struct proc_child *c);

/** Forks and execs c, with every signal blocked across the fork (the caller's mask is restored
 * before returning). Closes c's fds in the parent. Waits on the report pipe until the exec
 * succeeded (returns 0 with *pid) or failed (the child is reaped; returns KIP_ENOENT /
 * KIP_EACCES / KIP_ENOTDIR / KIP_EIO with "cannot run 'cmd': ..." in err, naming cwd when the
 * chdir failed). */
int proc_child_start(struct proc_child *c, pid_t *pid, struct kip_err *err);

/** Closes *fd if it is >= 0 and sets it to -1. */
void proc_fd_close(int *fd);
