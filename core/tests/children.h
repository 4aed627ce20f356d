/* SPDX-License-Identifier: Apache-2.0
 * For the C tests of child processes: a parent's signal state that a child must not inherit
 * (SIGINT ignored, SIGTERM blocked), set and restored around a test, and a process's state and
 * group from /proc/PID/stat. Header-only; uses signal.h and stdio. */
#pragma once

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

struct parent_signals {
	struct sigaction old_int;
	sigset_t old_mask;
};

/* Ignores SIGINT and blocks SIGTERM in this process, keeping what was there before. */
static inline void parent_signals_hostile(struct parent_signals *saved)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigaction(SIGINT, &ign, &saved->old_int);
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &saved->old_mask);
}

static inline void parent_signals_restore(const struct parent_signals *saved)
{
	sigprocmask(SIG_SETMASK, &saved->old_mask, NULL);
	sigaction(SIGINT, &saved->old_int, NULL);
}

/* Field 3 (state) and 5 (pgrp) of /proc/pid/stat; returns 0 when the process is gone. */
static inline int proc_stat(pid_t pid, char *state, pid_t *pgrp)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')'); /* "pid (comm) S ppid pgrp ..." */
	int ppid, pg;
	char st;
	if (!paren || sscanf(paren + 1, " %c %d %d", &st, &ppid, &pg) != 3)
		return 0;
	*state = st;
	*pgrp = pg;
	return 1;
}

/* True when pid exists and is not a zombie. */
static inline int is_running(pid_t pid)
{
	char st;
	pid_t pg;
	return proc_stat(pid, &st, &pg) && st != 'Z' && st != 'X';
}
