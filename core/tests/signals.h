/* SPDX-License-Identifier: Apache-2.0
 * For the C tests of child processes: a parent's signal state that a child must not inherit
 * (SIGINT ignored, SIGTERM blocked), set and restored around a test. Header-only; uses signal.h. */
#pragma once

#include <signal.h>

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
