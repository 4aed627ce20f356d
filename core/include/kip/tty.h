/* SPDX-License-Identifier: Apache-2.0
 * Asking the person at the terminal: a line read from /dev/tty with echo off (passphrases,
 * passwords) or on (confirmations). Uses POSIX termios and kip/err.h. */
#pragma once

#include <stddef.h>

#include "kip/err.h"

/** Writes prompt to the controlling terminal and reads one line from it (without the newline) into
 * buf (NUL-terminated; a longer line is an error, never truncated). With echo == 0 the typed text
 * is not shown and a newline is written after it. The terminal's settings are restored, also when
 * the read is interrupted. Returns 0, KIP_ENOENT when there is no terminal, KIP_ECANCELED on
 * end of input, KIP_ENOMEM for a line longer than len - 1, or KIP_EIO, with err filled. */
int kip_tty_read_line(const char *prompt, int echo, char *buf, size_t len, struct kip_err *err);
