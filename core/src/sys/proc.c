/* SPDX-License-Identifier: Apache-2.0
 * Running a local command (kip/proc.h): fork + execve over a PATH search done before the fork, a
 * close-on-exec report pipe that carries exec/chdir failures back to the parent (proc_exec.h, also
 * used by spawn.c), and one poll() loop that feeds stdin and drains stdout and stderr. Uses POSIX,
 * Linux close_range and prctl when there; kip/err.h for errors. The child only makes
 * async-signal-safe calls, so threaded callers are fine. */
#define _GNU_SOURCE /* pipe2, F_DUPFD_CLOEXEC, environ */
#include "kip/proc.h"

#include "proc_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/close_range.h>)
#include <linux/close_range.h> /* CLOSE_RANGE_CLOEXEC */
#endif
#endif
#ifdef __linux__
#include <sys/prctl.h> /* PR_SET_PDEATHSIG */
#endif

#define PROC_CHUNK 65536          /* bytes per read()/write() on the pipes */
#define PROC_FALLBACK_MAX_FD 65536 /* highest fd closed one by one when close_range is missing */
#define PROC_DEFAULT_PATH "/bin:/usr/bin"

/* What the child sends on the report pipe when it cannot exec. */
enum proc_stage { PROC_STAGE_SETUP, PROC_STAGE_CHDIR, PROC_STAGE_EXEC };
struct proc_report {
	int stage;
	int err;
};

/* A growing output buffer for one stream. */
struct proc_buf {
	int fd; /* read end, -1 once at EOF */
	char *data;
	size_t len, cap;
};

static int64_t proc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void proc_fd_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd); /* EINTR: on Linux the fd is closed anyway */
		*fd = -1;
	}
}

/* DIR/name for each entry of search_path (an empty entry means the current directory), or just
 * name when search_path is NULL. One malloc'd block: the NULL-terminated pointer array, then the
 * strings. */
static char **proc_candidates(const char *name, const char *search_path)
{
	size_t nlen = strlen(name);
	size_t n = 1, bytes = nlen + 1;
	if (search_path) {
		for (const char *p = search_path; *p; p++)
			n += *p == ':';
		bytes = strlen(search_path) + n * (nlen + 2);
	}
	char **v = malloc((n + 1) * sizeof *v + bytes);
	if (!v)
		return NULL;
	char *s = (char *)(v + n + 1);
	if (!search_path) {
		memcpy(s, name, nlen + 1);
		v[0] = s;
		v[1] = NULL;
		return v;
	}
	size_t i = 0;
	for (const char *p = search_path;;) {
		const char *end = strchr(p, ':');
		size_t dl = end ? (size_t)(end - p) : strlen(p);
		v[i++] = s;
		if (dl) {
			memcpy(s, p, dl);
			s += dl;
			*s++ = '/';
		}
		memcpy(s, name, nlen + 1);
		s += nlen + 1;
		if (!end)
			break;
		p = end + 1;
	}
	v[i] = NULL;
	return v;
}

/* The PATH value in a "NAME=value" list, or NULL. */
static const char *proc_env_path(const char *const *envp)
{
	for (; *envp; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return NULL;
}

/* execve takes char *const[] for historical reasons and never modifies the strings (see the POSIX
 * exec rationale); copying the pointer bits drops the const without a cast -Wcast-qual flags. */
static char **proc_unconst_array(const char *const *src, size_t n, size_t extra)
{
	char **v = calloc(n + extra + 1, sizeof *v);
	if (v)
		memcpy(v + extra, src, n * sizeof *v);
	return v;
}

static void proc_report(int fd, int stage, int e)
{
	struct proc_report rep = {.stage = stage, .err = e};
	ssize_t n;
	do
		n = write(fd, &rep, sizeof rep);
	while (n < 0 && errno == EINTR);
}

/* In the child: async-signal-safe calls only, never returns. */
__attribute__((noreturn)) static void proc_child(const struct proc_child *c)
{
	int report_fd = c->report_fd;
	if (c->new_group)
		setpgid(0, 0);
#ifdef __linux__
	/* SIGTERM when the parent (strictly: the thread that forked) dies. If it died before this
	 * call, we are already someone else's child: nobody is left to run for. */
	if (c->pdeath_parent > 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
			goto fail_setup;
		if (getppid() != c->pdeath_parent)
			_exit(127);
	}
#endif

	/* Default dispositions: handlers would be reset by exec anyway, SIG_IGN would not. All
	 * signals are still blocked (by the parent, before fork), so no parent handler runs here. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL); /* fails harmlessly for the libc-reserved ones */

	/* Move every fd we keep above 2 first, so the dup2s below cannot clobber one another even if
	 * the parent had 0-2 closed and pipe2 handed those numbers out. */
	int r = fcntl(report_fd, F_DUPFD_CLOEXEC, 3);
	if (r >= 0)
		report_fd = r;
	int src[3] = {c->in_fd, c->out_fd, c->err_fd};
	for (int i = 0; i < 3; i++) {
		if ((src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3)) < 0)
			goto fail_setup;
	}
	for (int i = 0; i < 3; i++) {
		while (dup2(src[i], i) < 0) /* the copy on 0-2 is not close-on-exec */
			if (errno != EINTR)
				goto fail_setup;
	}
	/* Nothing else reaches the command: mark every fd above 2 close-on-exec (the report pipe
	 * stays usable until exec), or close them one by one on kernels without close_range. */
	bool marked = false;
#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
	marked = syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
#endif
	if (!marked)
		for (int fd = 3; fd < c->max_fd; fd++)
			if (fd != report_fd)
				close(fd);

	if (c->cwd && chdir(c->cwd) != 0) {
		proc_report(report_fd, PROC_STAGE_CHDIR, errno);
		_exit(127);
	}

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* execvp's search, over the candidates the parent built. */
	int e = ENOENT;
	bool saw_eacces = false;
	for (char **cand = c->cands; *cand; cand++) {
		execve(*cand, c->argv, c->envp);
		e = errno;
		if (e == ENOEXEC) {
			c->sh_argv[1] = *cand; /* the child's own copy of the array */
			execve("/bin/sh", c->sh_argv, c->envp);
			e = errno;
			break;
		}
		if (e == EACCES) {
			saw_eacces = true;
			continue;
		}
		if (e != ENOENT && e != ENOTDIR && e != ESTALE && e != ENODEV && e != ETIMEDOUT)
			break;
	}
	if (saw_eacces && (e == ENOENT || e == ENOTDIR || e == ESTALE || e == ENODEV || e == ETIMEDOUT))
		e = EACCES;
	proc_report(report_fd, PROC_STAGE_EXEC, e);
	_exit(127);

fail_setup:
	proc_report(report_fd, PROC_STAGE_SETUP, errno);
	_exit(127);
}

/* Waits for pid, retrying on EINTR. Returns the wait status. */
static int proc_reap(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Reads once from b->fd (which poll() said is ready) into b, keeping at most limit + 1 bytes so an
 * overflow is noticed without reading everything. Returns 0, or KIP_ENOMEM / KIP_EIO with err. */
static int proc_buf_fill(struct proc_buf *b, size_t limit, const char *name, const char *stream,
                         struct kip_err *err)
{
	size_t want = limit + 1 - b->len;
	if (want > PROC_CHUNK)
		want = PROC_CHUNK;
	if (b->cap - b->len < want + 1) {
		size_t ncap = b->cap < 16384 ? 16384 : b->cap * 2;
		if (ncap > limit + 2)
			ncap = limit + 2;
		if (ncap < b->len + want + 1)
			ncap = b->len + want + 1;
		char *nd = realloc(b->data, ncap);
		if (!nd)
			return kip_err_set(err, KIP_ENOMEM, "cannot run '%s': out of memory reading its %s",
			                   name, stream);
		b->data = nd;
		b->cap = ncap;
	}
	ssize_t n = read(b->fd, b->data + b->len, want);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return kip_err_sys(err, errno, "cannot read the %s of '%s'", stream, name);
	}
	if (n == 0) {
		proc_fd_close(&b->fd);
		return 0;
	}
	b->len += (size_t)n;
	if (b->len > limit) {
		b->len = limit;
		return kip_err_set(err, KIP_ENOMEM, "the %s of '%s' exceeds %zu bytes; the command was killed",
		                   stream, name, limit);
	}
	return 0;
}

/* Hands b's bytes to *data and *len as a NUL-terminated string (an empty one if nothing came). */
static int proc_buf_take(struct proc_buf *b, char **data, size_t *len)
{
	if (!b->data && !(b->data = malloc(1)))
		return -1;
	b->data[b->len] = '\0';
	*data = b->data;
	*len = b->len;
	b->data = NULL;
	return 0;
}

/* Waits for pid after its pipes are closed, bounded by deadline (ms, 0: none). Returns the wait
 * status; sets *timed_out after killing the group when the deadline passes first. */
static int proc_wait_deadline(pid_t pid, int64_t deadline, bool *timed_out)
{
	if (!deadline)
		return proc_reap(pid);
	int status = 0, step = 1;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			return status;
		int64_t left = deadline - proc_now_ms();
		if (left <= 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			*timed_out = true;
			return proc_reap(pid);
		}
		poll(NULL, 0, left < step ? (int)left : step);
		if (step < 50)
			step *= 2;
	}
}

void kip_proc_result_free(struct kip_proc_result *result)
{
	free(result->out);
	free(result->errout);
	memset(result, 0, sizeof *result);
}

/* Feeds stdin once (poll() said the pipe is writable or broken). A reader that went away (EPIPE)
 * just ends the input: it is the command's business not to read. */
static void proc_feed(int *in_w, const char **p, size_t *left, bool *got_epipe)
{
	size_t chunk = *left > PROC_CHUNK ? PROC_CHUNK : *left;
	ssize_t n = write(*in_w, *p, chunk);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EPIPE)
			*got_epipe = true;
		proc_fd_close(in_w);
		return;
	}
	*p += n;
	*left -= (size_t)n;
	if (*left == 0)
		proc_fd_close(in_w);
}

/* Reads the child's report: true when exec failed and rep says why, false on EOF (exec worked). */
static bool proc_read_report(int fd, struct proc_report *rep)
{
	size_t got = 0;
	while (got < sizeof *rep) {
		ssize_t n = read(fd, (char *)rep + got, sizeof *rep - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got == sizeof *rep;
}

/* The parent's ends of the pipes while the command runs. */
struct proc_io {
	int in_w;          /* stdin, -1 once everything is fed or the reader went away */
	const char *in_p;  /* what is left to feed */
	size_t in_left;
	bool got_epipe;
	struct proc_buf out, err;
};

/* Feeds stdin and drains stdout and stderr with one poll() loop until all three are closed, the
 * deadline (CLOCK_MONOTONIC ms, 0: none) passes (sets *timed_out) or something fails. Returns 0
 * or a KIP_E* code with err (output cap, read or poll failure). */
static int proc_pump(struct proc_io *io, int64_t deadline, size_t limit, const char *name,
                     bool *timed_out, struct kip_err *err)
{
	int fl;
	if (io->in_w >= 0 && io->in_left == 0)
		proc_fd_close(&io->in_w);
	if (io->in_w >= 0 && (fl = fcntl(io->in_w, F_GETFL)) >= 0)
		fcntl(io->in_w, F_SETFL, fl | O_NONBLOCK);
	while (io->in_w >= 0 || io->out.fd >= 0 || io->err.fd >= 0) {
		int wait_ms = -1;
		if (deadline) {
			int64_t left = deadline - proc_now_ms();
			if (left <= 0) {
				*timed_out = true;
				return 0;
			}
			wait_ms = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		struct pollfd pfd[3];
		int np = 0, in_i = -1, out_i = -1, err_i = -1;
		if (io->in_w >= 0)
			pfd[in_i = np++] = (struct pollfd){.fd = io->in_w, .events = POLLOUT};
		if (io->out.fd >= 0)
			pfd[out_i = np++] = (struct pollfd){.fd = io->out.fd, .events = POLLIN};
		if (io->err.fd >= 0)
			pfd[err_i = np++] = (struct pollfd){.fd = io->err.fd, .events = POLLIN};
		if (poll(pfd, (nfds_t)np, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			return kip_err_sys(err, errno, "cannot run '%s': poll failed", name);
		}
		int rc = 0;
		if (in_i >= 0 && pfd[in_i].revents)
			proc_feed(&io->in_w, &io->in_p, &io->in_left, &io->got_epipe);
		if (out_i >= 0 && pfd[out_i].revents)
			rc = proc_buf_fill(&io->out, limit, name, "stdout", err);
		if (rc == 0 && err_i >= 0 && pfd[err_i].revents)
			rc = proc_buf_fill(&io->err, limit, name, "stderr", err);
		if (rc)
			return rc;
	}
	return 0;
}

int proc_child_init(struct proc_child *c, const char *const *argv, const char *const *envp,
                    const char *cwd, struct kip_err *err)
{
	const char *name = argv[0];
	size_t argc = 0;
	while (argv[argc])
		argc++;
	if (!envp)
		envp = (const char *const *)environ;
	size_t envc = 0;
	while (envp[envc])
		envc++;
	const char *search = NULL;
	if (!strchr(name, '/')) {
		search = proc_env_path(envp);
		if (!search)
			search = PROC_DEFAULT_PATH;
	}
	*c = (struct proc_child){
		.in_fd = -1, .out_fd = -1, .err_fd = -1, .report_fd = -1,
		.max_fd = PROC_FALLBACK_MAX_FD,
		.cwd = cwd,
		.cands = proc_candidates(name, search),
		.argv = proc_unconst_array(argv, argc, 0),
		.sh_argv = proc_unconst_array(argv + 1, argc - 1, 2),
		.envp = proc_unconst_array(envp, envc, 0),
	};
	long open_max = sysconf(_SC_OPEN_MAX);
	if (open_max > 0 && open_max < PROC_FALLBACK_MAX_FD)
		c->max_fd = (int)open_max;
	if (!c->cands || !c->argv || !c->sh_argv || !c->envp)
		return kip_err_set(err, KIP_ENOMEM, "cannot run '%s': out of memory", name);
	static char sh_path[] = "/bin/sh";
	c->sh_argv[0] = sh_path;
	return 0;
}

void proc_child_free(struct proc_child *c)
{
	proc_fd_close(&c->in_fd);
	proc_fd_close(&c->out_fd);
	proc_fd_close(&c->err_fd);
	proc_fd_close(&c->report_fd);
	free(c->cands);
	free(c->argv);
	free(c->sh_argv);
	free(c->envp);
	c->cands = c->argv = c->sh_argv = c->envp = NULL;
}

int proc_child_start(struct proc_child *c, pid_t *pid_out, struct kip_err *err)
{
	const char *name = c->argv[0];
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return kip_err_sys(err, errno, "cannot run '%s'", name);
	int report_r = p[0];
	c->report_fd = p[1];

	/* Block every signal across fork so no handler of ours runs in the child before it resets
	 * them (the child unblocks them just before exec). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0)
		proc_child(c);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	proc_fd_close(&c->in_fd);
	proc_fd_close(&c->out_fd);
	proc_fd_close(&c->err_fd);
	proc_fd_close(&c->report_fd);
	if (pid < 0) {
		proc_fd_close(&report_r);
		return kip_err_sys(err, fork_errno, "cannot run '%s': fork failed", name);
	}
	if (c->new_group)
		setpgid(pid, pid); /* also done by the child; whichever runs first wins the race */

	/* EOF on the report pipe means exec succeeded; a report means it did not. */
	struct proc_report rep;
	bool failed = proc_read_report(report_r, &rep);
	proc_fd_close(&report_r);
	if (failed) {
		proc_reap(pid);
		if (rep.stage == PROC_STAGE_CHDIR)
			return kip_err_sys(err, rep.err, "cannot run '%s': cannot change directory to %s", name,
			                   c->cwd);
		if (rep.stage == PROC_STAGE_SETUP)
			return kip_err_sys(err, rep.err, "cannot run '%s': setting up the child failed", name);
		return kip_err_sys(err, rep.err, "cannot run '%s'", name);
	}
	*pid_out = pid;
	return 0;
}

int kip_proc_run(const struct kip_proc_opts *opts, struct kip_proc_result *result,
                 struct kip_err *err)
{
	memset(result, 0, sizeof *result);
	if (!opts->argv || !opts->argv[0] || !opts->argv[0][0])
		return kip_err_set(err, KIP_EINVAL, "cannot run a command: argv is empty");
	const char *name = opts->argv[0];
	size_t limit = opts->max_output ? opts->max_output : KIP_PROC_MAX_OUTPUT;

	/* Everything the child needs, allocated before the fork. */
	struct proc_child child;
	struct proc_io io = {
		.in_w = -1, .in_p = opts->stdin_data, .in_left = opts->stdin_len,
		.out = {.fd = -1}, .err = {.fd = -1},
	};
	int rc = proc_child_init(&child, opts->argv, opts->envp, opts->cwd, err);
	if (rc)
		goto out;
	child.new_group = true;

	int p[2];
	if (opts->stdin_data) {
		if (pipe2(p, O_CLOEXEC) != 0)
			goto fail_sys;
		child.in_fd = p[0];
		io.in_w = p[1];
	} else if ((child.in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		goto fail_sys;
	}
	if (pipe2(p, O_CLOEXEC) != 0)
		goto fail_sys;
	io.out.fd = p[0];
	child.out_fd = p[1];
	if (pipe2(p, O_CLOEXEC) != 0)
		goto fail_sys;
	io.err.fd = p[0];
	child.err_fd = p[1];

	pid_t pid;
	rc = proc_child_start(&child, &pid, err);
	if (rc)
		goto out;

	/* Keep SIGPIPE blocked while we feed stdin (see the end). */
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	bool sigpipe_was_pending = sigismember(&pending, SIGPIPE);

	int64_t deadline = opts->timeout_ms ? proc_now_ms() + (int64_t)opts->timeout_ms : 0;
	rc = proc_pump(&io, deadline, limit, name, &result->timed_out, err);
	bool kill_group = rc != 0 || result->timed_out;
	/* The group is killed before the leader is reaped, so its id cannot have been reused. */
	if (kill_group) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	proc_fd_close(&io.in_w);
	proc_fd_close(&io.out.fd);
	proc_fd_close(&io.err.fd);
	int status = kill_group ? proc_reap(pid) : proc_wait_deadline(pid, deadline, &result->timed_out);

	/* A SIGPIPE our write raised is pending on this thread; take it before unblocking. */
	if (io.got_epipe && !sigpipe_was_pending) {
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &(struct timespec){0, 0});
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (WIFSIGNALED(status)) {
		result->exit_status = -1;
		result->term_signal = WTERMSIG(status);
	} else {
		result->exit_status = WEXITSTATUS(status);
	}
	if (proc_buf_take(&io.out, &result->out, &result->out_len) != 0 ||
	    proc_buf_take(&io.err, &result->errout, &result->err_len) != 0) {
		if (!rc)
			rc = kip_err_set(err, KIP_ENOMEM, "cannot run '%s': out of memory", name);
	}
	if (result->timed_out && rc != KIP_ENOMEM)
		rc = kip_err_set(err, KIP_ETIMEOUT, "'%s' timed out after %g s and was killed", name,
		                 opts->timeout_ms / 1000.0);
	goto out;

fail_sys:
	rc = kip_err_sys(err, errno, "cannot run '%s'", name);
out:
	proc_fd_close(&io.in_w);
	proc_fd_close(&io.out.fd);
	proc_fd_close(&io.err.fd);
	free(io.out.data);
	free(io.err.data);
	proc_child_free(&child);
	return rc;
}

int kip_proc_which(const char *name, char **path)
{
	*path = NULL;
	if (!*name)
		return KIP_ENOENT;
	const char *search = NULL;
	if (!strchr(name, '/')) {
		search = getenv("PATH");
		if (!search)
			search = PROC_DEFAULT_PATH;
	}
	char **cands = proc_candidates(name, search);
	if (!cands)
		return KIP_ENOMEM;
	int rc = KIP_ENOENT;
	for (char **c = cands; *c && rc == KIP_ENOENT; c++) {
		struct stat st;
		if (stat(*c, &st) != 0 || !S_ISREG(st.st_mode) || access(*c, X_OK) != 0)
			continue;
		if (**c == '/' || !search) {
			*path = strdup(*c);
		} else {
			char *cwd = getcwd(NULL, 0);
			if (cwd && (*path = malloc(strlen(cwd) + strlen(*c) + 2)))
				strcat(strcat(strcpy(*path, cwd), "/"), *c);
			free(cwd);
		}
		rc = *path ? 0 : KIP_ENOMEM;
	}
	free(cands);
	return rc;
}
