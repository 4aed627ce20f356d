/* SPDX-License-Identifier: Apache-2.0
 * A minimal test harness for the C tests: CHECK(cond) and CHECK_STR(a, b) record failures with
 * file and line, RUN(test_fn) runs one test, and check_summary() prints "N passed, N failed" and
 * gives main's exit status. Header-only; uses stdio. */
#pragma once

#include <stdio.h>
#include <string.h>

static int check_failures, check_passed, check_current_failed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		check_current_failed = 1; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) { \
		fprintf(stderr, "%s:%d: CHECK_STR failed: %s\n  got:      %s\n  expected: %s\n", \
		        __FILE__, __LINE__, #a, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
		check_current_failed = 1; \
	} \
} while (0)

#define RUN(fn) do { \
	check_current_failed = 0; \
	fn(); \
	if (check_current_failed) { check_failures++; fprintf(stderr, "FAIL %s\n", #fn); } \
	else { check_passed++; printf("ok   %s\n", #fn); } \
} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failures);
	return check_failures ? 1 : 0;
}
