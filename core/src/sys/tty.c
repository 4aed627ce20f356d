/* SPDX-License-Identifier: Apache-2.0
 * kip_tty_read_line: a prompt on /dev/tty and one line read back, echo off for secrets, the
 * terminal restored on every path. Uses termios and kip/err.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "kip/tty.h"

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads up to a newline one byte at a time (so nothing after it is consumed). */
static int read_line(int fd, char *buf, size_t len, struct kip_err *err)
{
	size_t n = 0;
	int too_long = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return kip_err_sys(err, errno, "reading from the terminal");
		}
		if (r == 0) {
			if (n == 0 && !too_long)
				return kip_err_set(err, KIP_ECANCELED, "no answer: the input ended");
			break;
		}
		if (c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
		else
			too_long = 1;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (too_long) {
		memset(buf, 0, len);
		return kip_err_set(err, KIP_ENOMEM, "the answer is longer than %zu characters", len - 1);
	}
	return 0;
}

int kip_tty_read_line(const char *prompt, int echo, char *buf, size_t len, struct kip_err *err)
{
	if (len == 0)
		return kip_err_set(err, KIP_EINVAL, "no room for an answer");
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return kip_err_set(err, KIP_ENOENT, "there is no terminal to ask on");
	struct termios saved, quiet;
	int restore = 0;
	if (!echo && tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = 1;
	}
	int rc = 0;
	if (prompt && write_all(fd, prompt, strlen(prompt)) != 0)
		rc = kip_err_sys(err, errno, "writing to the terminal");
	if (rc == 0)
		rc = read_line(fd, buf, len, err);
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &saved);
		write_all(fd, "\n", 1);
	}
	close(fd);
	return rc;
}
