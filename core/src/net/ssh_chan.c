/* SPDX-License-Identifier: Apache-2.0
 * Commands over SSH (kip/ssh.h): each command gets its own channel of the session; kip_ssh_exec
 * collects its output, kip_ssh_open streams it (chunks or lines, stdout and stderr apart) while
 * standard input is fed without deadlocking against unread output. Deadlines kill the command
 * (see chan_kill). Uses libssh's channels and callbacks, the waiting of ssh.c and kip/crypto.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kip/crypto.h"
#include "kip/encoding.h"
#include "ssh_int.h"

#define CHAN_READ 32768              /* one read from libssh */
#define CHAN_BUFFERED ((size_t)256 << 10) /* what a stream reader buffers ahead per stream */
#define CHAN_KILL_MS 10000u          /* longest wait for the kill script */

/* Finds the processes of one command by its KIP_EXEC_ID (in their environment, or in the
 * command line of a shell that has not exported it yet) and kills them and their process groups.
 * The id is split by '' in this text, so the script does not match its own command line; the
 * glob is expanded before grep starts, so grep does not match itself either. Linux /proc. */
static const char chan_kill_script[] =
	"id=KIP_EXEC_''ID=%s\n"
	"for f in $(grep -l -F -e \"$id\" /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null); do\n"
	"  p=${f#/proc/}; p=${p%%%%/*}\n"
	"  g=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f3)\n"
	"  [ -n \"$g\" ] && [ \"$g\" != 0 ] && kill -KILL -- -$g 2>/dev/null\n"
	"  kill -KILL $p 2>/dev/null\n"
	"done\n"
	"exit 0\n";

enum chan_mode {
	CHAN_COLLECT, /* exec and write: take everything (up to max + 1 per stream) */
	CHAN_CHUNKS,  /* read: buffer up to CHAN_BUFFERED ahead */
	CHAN_LINES,   /* read lines: also until a stream holds a whole line (up to max) */
};

static void chan_on_exit_status(ssh_session session, ssh_channel channel, int status, void *ud)
{
	struct kip_ssh_channel *c = ud;
	c->exited = true;
	c->status = status;
}

static void chan_on_exit_signal(ssh_session session, ssh_channel channel, const char *signal,
                                int core, const char *errmsg, const char *lang, void *ud)
{
	struct kip_ssh_channel *c = ud;
	c->exited = true;
	c->status = -1;
	snprintf(c->signal, sizeof c->signal, "%s", signal && *signal ? signal : "?");
}

/* err = "ssh DESC: <what> `command`: libssh's error". */
static int chan_fail(struct kip_ssh_channel *c, int code, struct kip_err *err, const char *what)
{
	char text[200];
	snprintf(text, sizeof text, "%s %s", what, c->what);
	return sshc_fail(c->s, code, err, text);
}

static int chan_aborted(struct kip_ssh_channel *c, struct kip_err *err)
{
	if (!c->s)
		return kip_err_set(err, KIP_EINVAL, "ssh: %s: the session is closed", c->what);
	return kip_err_set(err, KIP_EINVAL, "ssh %s: %s: the channel is closed", c->s->desc, c->what);
}

/* Kills a running command: a "signal" request, which OpenSSH's sshd turns into killpg() of the
 * session, but only for sessions under privilege separation (not root logins: "session
 * signalling requires privilege separation"); then the kill script on a new channel, which finds
 * the command by its KIP_EXEC_ID whoever the user is. */
static void chan_kill(struct kip_ssh_channel *c)
{
	if (!c->ch || c->exited || c->kill_sent || !ssh_channel_is_open(c->ch))
		return;
	c->kill_sent = true;
	ssh_channel_request_send_signal(c->ch, "KILL");
	if (c->internal || !c->s || !c->id[0])
		return;
	char script[sizeof chan_kill_script + 32];
	snprintf(script, sizeof script, chan_kill_script, c->id);
	struct kip_ssh_result res;
	sshc_run(c->s, script, CHAN_KILL_MS, &res, NULL); /* best effort */
	kip_ssh_result_free(&res);
}

void sshc_chan_close(struct kip_ssh_channel *c)
{
	if (c->ch) {
		if (!c->done)
			chan_kill(c);
		ssh_remove_channel_callbacks(c->ch, &c->cb); /* libssh may outlive c with this channel */
		ssh_channel_free(c->ch); /* sends EOF and CLOSE; libssh frees it once the server closes too */
		c->ch = NULL;
	}
	if (c->s) {
		if (c->prev)
			c->prev->next = c->next;
		else
			c->s->channels = c->next;
		if (c->next)
			c->next->prev = c->prev;
		c->prev = c->next = NULL;
	}
}

static void chan_destroy(struct kip_ssh_channel *c)
{
	sshc_chan_close(c);
	for (int i = 0; i < 2; i++)
		sshc_buf_free(&c->out[i]);
	sshc_buf_free(&c->in);
	free(c);
}

/* "`command`", shortened and on one line, for messages (never stdin). */
static void chan_name(char *out, size_t size, const char *command)
{
	size_t n = strlen(command), max = size - 6, j = 0;
	out[j++] = '`';
	for (size_t i = 0; i < n && i < max; i++)
		out[j++] = (unsigned char)command[i] < 0x20 ? ' ' : command[i];
	if (n > max) {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j++] = '`';
	out[j] = '\0';
}

static int chan_start(struct kip_ssh_session *s, const char *command, unsigned timeout_ms,
                      bool internal, struct kip_ssh_channel **out, struct kip_err *err)
{
	*out = NULL;
	struct kip_ssh_channel *c = calloc(1, sizeof *c);
	if (!c)
		return kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	c->s = s;
	c->status = -1;
	c->max = KIP_SSH_MAX_OUTPUT;
	c->internal = internal;
	chan_name(c->what, sizeof c->what, command);
	c->next = s->channels; /* linked first, so chan_destroy unlinks it on every path */
	if (s->channels)
		s->channels->prev = c;
	s->channels = c;
	c->ch = ssh_channel_new(s->ssh);
	if (!c->ch) {
		int rc = chan_fail(c, KIP_EIO, err, "cannot make a channel for");
		chan_destroy(c);
		return rc;
	}
	ssh_callbacks_init(&c->cb);
	c->cb.userdata = c;
	c->cb.channel_exit_status_function = chan_on_exit_status;
	c->cb.channel_exit_signal_function = chan_on_exit_signal;
	ssh_set_channel_callbacks(c->ch, &c->cb);
	if (ssh_channel_open_session(c->ch) != SSH_OK) {
		int rc = chan_fail(c, KIP_EIO, err, "cannot open a channel for");
		chan_destroy(c);
		return rc;
	}
	/* "export KIP_EXEC_ID=..." on a line of its own before the command: what chan_kill finds
	 * the command's processes by. It needs a login shell that knows `export NAME=value` (sh,
	 * bash, dash, ash, zsh, ksh, fish). */
	char *run = NULL;
	if (!internal) {
		unsigned char rnd[8];
		if (kip_crypto_random(rnd, sizeof rnd, NULL) == 0)
			kip_hex_encode(c->id, rnd, sizeof rnd, 0);
		size_t n = strlen(command) + 64;
		run = malloc(n);
		if (!run) {
			chan_destroy(c);
			return kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
		}
		if (c->id[0])
			snprintf(run, n, "export KIP_EXEC_ID=%s\n%s", c->id, command);
		else
			snprintf(run, n, "%s", command);
	}
	int started = ssh_channel_request_exec(c->ch, run ? run : command);
	free(run);
	if (started != SSH_OK) {
		int rc = chan_fail(c, KIP_EIO, err, "cannot start");
		chan_destroy(c);
		return rc;
	}
	c->timeout_ms = timeout_ms;
	if (timeout_ms)
		c->deadline_ms = sshc_now_ms() + timeout_ms;
	s->last_io_ms = sshc_now_ms();
	*out = c;
	return 0;
}

/* Whether stream i should take more from libssh in this mode. */
static bool chan_wants(struct kip_ssh_channel *c, int i, enum chan_mode mode)
{
	const struct sshc_buf *b = &c->out[i];
	size_t avail = b->len - b->off;
	if (mode == CHAN_COLLECT)
		return avail <= c->max;
	if (avail < CHAN_BUFFERED)
		return true;
	if (mode != CHAN_LINES || avail > c->max)
		return false;
	/* scan only what came since the last look, so a long line costs O(n) */
	if (memchr(b->data + b->off + c->no_nl[i], '\n', avail - c->no_nl[i]))
		return false;
	c->no_nl[i] = avail;
	return true;
}

/* Moves what libssh holds for the channel into its buffers; processes pending packets. */
static int chan_pull(struct kip_ssh_channel *c, enum chan_mode mode, struct kip_err *err)
{
	char buf[CHAN_READ];
	for (int i = 0; i < 2; i++) {
		sshc_buf_compact(&c->out[i]);
		while (chan_wants(c, i, mode)) {
			int n = ssh_channel_read_nonblocking(c->ch, buf, sizeof buf, i);
			if (n == 0 || n == SSH_EOF)
				break;
			if (n < 0)
				return chan_fail(c, KIP_EIO, err, "lost the output of");
			if (sshc_buf_add(&c->out[i], buf, (size_t)n) != 0)
				return kip_err_set(err, KIP_ENOMEM, "ssh %s: %s: out of memory", c->s->desc, c->what);
			c->s->last_io_ms = sshc_now_ms();
		}
	}
	/* EOF, or a channel the server closed (or a lost connection) once libssh holds nothing more */
	if (!c->remote_eof && (ssh_channel_is_eof(c->ch) ||
	                       (ssh_channel_is_closed(c->ch) && ssh_channel_poll(c->ch, 0) <= 0 &&
	                        ssh_channel_poll(c->ch, 1) <= 0)))
		c->remote_eof = true;
	return 0;
}

/* Sends queued standard input as far as the server's window allows, then EOF when asked for.
 * Input the command can no longer take (it ended) is dropped. */
static int chan_push(struct kip_ssh_channel *c, bool *dropped, struct kip_err *err)
{
	struct sshc_buf *in = &c->in;
	while (in->len > in->off) {
		if (c->exited || c->remote_eof || ssh_channel_is_closed(c->ch)) {
			in->off = in->len;
			*dropped = true;
			break;
		}
		uint32_t window = ssh_channel_window_size(c->ch);
		if (window == 0)
			break;
		size_t n = in->len - in->off;
		if (n > window)
			n = window;
		if (n > CHAN_READ)
			n = CHAN_READ;
		int w = ssh_channel_write(c->ch, in->data + in->off, (uint32_t)n);
		if (w < 0) {
			if (c->exited || ssh_channel_is_closed(c->ch) || ssh_channel_is_eof(c->ch)) {
				in->off = in->len;
				*dropped = true;
				break;
			}
			return chan_fail(c, KIP_EIO, err, "cannot write to the standard input of");
		}
		in->off += (size_t)w;
		c->s->last_io_ms = sshc_now_ms();
		if (w == 0)
			break;
	}
	sshc_buf_compact(in);
	if (c->eof_wanted && !c->eof_sent && in->off == in->len) {
		if (!c->exited && !ssh_channel_is_closed(c->ch) && ssh_channel_send_eof(c->ch) != SSH_OK)
			return chan_fail(c, KIP_EIO, err, "cannot close the standard input of");
		c->eof_sent = true;
	}
	return 0;
}

/* The command ended: libssh has nothing more for its streams, and its exit came (or the channel
 * closed). Output may still wait in c->out. */
static bool chan_ended(const struct kip_ssh_channel *c)
{
	return c->remote_eof && (c->exited || ssh_channel_is_closed(c->ch));
}

static int chan_finish(struct kip_ssh_channel *c, struct kip_err *err)
{
	c->done = true;
	if (!c->exited)
		return kip_err_set(err, KIP_EIO, "ssh %s: %s ended without an exit status (connection "
		                   "lost?)", c->s->desc, c->what);
	return KIP_SSH_EXIT;
}

/* The deadline passed: kill and close; every later call fails the same way. */
static int chan_timeout(struct kip_ssh_channel *c, struct kip_err *err)
{
	char secs[32];
	if (!c->killed) {
		c->killed = true;
		chan_kill(c);
		c->done = true;
		sshc_chan_close(c);
	}
	return kip_err_set(err, KIP_ETIMEOUT, "ssh %s: %s did not finish within %s (timeout): killed",
	                   c->s ? c->s->desc : "", c->what, sshc_secs(secs, sizeof secs, c->timeout_ms));
}

int kip_ssh_open(struct kip_ssh_session *s, const char *command, unsigned timeout_ms,
                 struct kip_ssh_channel **out, struct kip_err *err)
{
	return chan_start(s, command, timeout_ms, false, out, err);
}

/* Hands out a chunk or line of one stream (alternating), or returns 0. */
static int chan_take(struct kip_ssh_channel *c, bool line, const char **data, size_t *len)
{
	for (int k = 0; k < 2; k++) {
		int i = (c->last + 1 + k) % 2;
		struct sshc_buf *b = &c->out[i];
		size_t avail = b->len - b->off;
		if (!avail)
			continue;
		char *start = b->data + b->off;
		c->no_nl[i] = 0;
		if (!line) {
			*data = start;
			*len = avail;
			b->off = b->len; /* the NUL after the data is there already */
		} else {
			char *nl = memchr(start, '\n', avail);
			if (!nl && !c->remote_eof) {
				c->no_nl[i] = avail;
				continue;
			}
			*data = start;
			*len = nl ? (size_t)(nl - start) : avail;
			if (nl)
				*nl = '\0';
			b->off += *len + (nl ? 1 : 0);
		}
		c->last = i;
		return i == 0 ? KIP_SSH_STDOUT : KIP_SSH_STDERR;
	}
	return 0;
}

int kip_ssh_channel_read(struct kip_ssh_channel *c, int wait_ms, bool line, const char **data,
                         size_t *len, struct kip_err *err)
{
	*data = NULL;
	*len = 0;
	if (c->killed)
		return chan_timeout(c, err);
	if (c->done)
		return KIP_SSH_EXIT;
	if (!c->s || !c->ch)
		return chan_aborted(c, err);
	int64_t until = wait_ms >= 0 ? sshc_now_ms() + wait_ms : 0;
	for (;;) {
		bool dropped = false;
		int rc = chan_push(c, &dropped, err);
		if (rc == 0)
			rc = chan_pull(c, line ? CHAN_LINES : CHAN_CHUNKS, err);
		if (rc != 0)
			return rc;
		rc = chan_take(c, line, data, len);
		if (rc)
			return rc;
		for (int i = 0; i < 2 && line; i++)
			if (c->out[i].len - c->out[i].off > c->max)
				return kip_err_set(err, KIP_ENOMEM, "ssh %s: %s printed a line longer than %zu "
				                   "bytes", c->s->desc, c->what, c->max);
		if (chan_ended(c) && c->out[0].len == c->out[0].off && c->out[1].len == c->out[1].off)
			return chan_finish(c, err);
		int64_t now = sshc_now_ms();
		if (c->deadline_ms && now >= c->deadline_ms)
			return chan_timeout(c, err);
		if (wait_ms >= 0 && now >= until)
			return KIP_SSH_IDLE;
		int64_t d = c->deadline_ms;
		if (wait_ms >= 0 && (!d || until < d))
			d = until;
		rc = sshc_wait(c->s, d, err);
		if (rc != 0)
			return rc;
	}
}

int kip_ssh_channel_write(struct kip_ssh_channel *c, const void *data, size_t len,
                          struct kip_err *err)
{
	if (c->killed)
		return chan_timeout(c, err);
	if (!c->s || !c->ch)
		return chan_aborted(c, err);
	if (c->eof_wanted)
		return kip_err_set(err, KIP_EIO, "ssh %s: %s: its standard input is closed", c->s->desc, c->what);
	if (c->done || c->exited)
		return kip_err_set(err, KIP_EIO, "ssh %s: %s has ended", c->s->desc, c->what);
	if (sshc_buf_add(&c->in, data, len) != 0)
		return kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", c->s->desc);
	for (;;) {
		bool dropped = false;
		int rc = chan_push(c, &dropped, err);
		if (rc == 0)
			rc = chan_pull(c, CHAN_COLLECT, err);
		if (rc != 0)
			return rc;
		if (dropped)
			return kip_err_set(err, KIP_EIO, "ssh %s: %s ended before reading all its input",
			                   c->s->desc, c->what);
		if (c->in.len == c->in.off)
			return 0;
		if (c->deadline_ms && sshc_now_ms() >= c->deadline_ms)
			return chan_timeout(c, err);
		rc = sshc_wait(c->s, c->deadline_ms, err);
		if (rc != 0)
			return rc;
	}
}

int kip_ssh_channel_close_stdin(struct kip_ssh_channel *c, struct kip_err *err)
{
	if (c->killed)
		return chan_timeout(c, err);
	if (!c->s || !c->ch)
		return chan_aborted(c, err);
	c->eof_wanted = true;
	bool dropped = false;
	return chan_push(c, &dropped, err);
}

bool kip_ssh_channel_exit(const struct kip_ssh_channel *c, int *status, const char **signal)
{
	if (!c->done || !c->exited)
		return false;
	*status = c->status;
	if (signal)
		*signal = c->signal;
	return true;
}

void kip_ssh_channel_free(struct kip_ssh_channel *c)
{
	if (c)
		chan_destroy(c);
}

void kip_ssh_result_free(struct kip_ssh_result *res)
{
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof *res);
	res->status = -1;
}

/* Moves the buffered output of c into res (empty strings rather than NULL). */
static int chan_result(struct kip_ssh_channel *c, struct kip_ssh_result *res)
{
	char **dst[2] = {&res->out, &res->err};
	size_t *dlen[2] = {&res->out_len, &res->err_len};
	for (int i = 0; i < 2; i++) {
		struct sshc_buf *b = &c->out[i];
		if (!b->data && sshc_buf_add(b, "", 0) != 0)
			return -1;
		if (b->off)
			memmove(b->data, b->data + b->off, b->len - b->off + 1);
		*dst[i] = b->data;
		*dlen[i] = b->len - b->off;
		memset(b, 0, sizeof *b);
	}
	res->status = c->status;
	snprintf(res->signal, sizeof res->signal, "%s", c->signal);
	return 0;
}

static int chan_exec(struct kip_ssh_session *s, const char *command, const struct kip_ssh_exec_opts *o,
                     bool internal, struct kip_ssh_result *res, struct kip_err *err)
{
	memset(res, 0, sizeof *res);
	res->status = -1;
	struct kip_ssh_channel *c;
	int rc = chan_start(s, command, o->timeout_ms, internal, &c, err);
	if (rc != 0)
		return rc;
	if (o->max_output)
		c->max = o->max_output;
	if (o->stdin_len && sshc_buf_add(&c->in, o->stdin_data, o->stdin_len) != 0) {
		chan_destroy(c);
		return kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	}
	c->eof_wanted = true;
	for (;;) {
		bool dropped = false;
		rc = chan_push(c, &dropped, err);
		if (rc == 0)
			rc = chan_pull(c, CHAN_COLLECT, err);
		if (rc != 0)
			break;
		if (c->out[0].len - c->out[0].off > c->max || c->out[1].len - c->out[1].off > c->max) {
			chan_kill(c);
			for (int i = 0; i < 2; i++)
				if (c->out[i].len - c->out[i].off > c->max)
					c->out[i].len = c->out[i].off + c->max;
			rc = kip_err_set(err, KIP_ENOMEM, "ssh %s: %s printed more than %zu bytes "
			                 "(max_output): killed", s->desc, c->what, c->max);
			break;
		}
		if (chan_ended(c)) {
			rc = chan_finish(c, err);
			rc = rc == KIP_SSH_EXIT ? 0 : rc;
			break;
		}
		if (c->deadline_ms && sshc_now_ms() >= c->deadline_ms) {
			chan_kill(c);
			char secs[32];
			rc = kip_err_set(err, KIP_ETIMEOUT, "ssh %s: %s did not finish within %s (timeout): "
			                 "killed", s->desc, c->what, sshc_secs(secs, sizeof secs, o->timeout_ms));
			break;
		}
		rc = sshc_wait(s, c->deadline_ms, err);
		if (rc != 0)
			break;
	}
	if (chan_result(c, res) != 0 && rc == 0)
		rc = kip_err_set(err, KIP_ENOMEM, "ssh %s: out of memory", s->desc);
	chan_destroy(c);
	return rc;
}

int kip_ssh_exec(struct kip_ssh_session *s, const char *command, const struct kip_ssh_exec_opts *o,
                 struct kip_ssh_result *res, struct kip_err *err)
{
	static const struct kip_ssh_exec_opts none = {0};
	return chan_exec(s, command, o ? o : &none, false, res, err);
}

int sshc_run(struct kip_ssh_session *s, const char *command, unsigned timeout_ms,
             struct kip_ssh_result *res, struct kip_err *err)
{
	struct kip_ssh_exec_opts o = {.timeout_ms = timeout_ms};
	return chan_exec(s, command, &o, true, res, err);
}
