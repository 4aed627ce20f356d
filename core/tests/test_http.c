/* SPDX-License-Identifier: Apache-2.0
 * Tests of the HTTP client service (kip/http.h) against the real test server
 * spec/helpers/http_server.py (python3, started by fork/exec, found next to this file's source):
 * buffered requests, headers, keep-alive, callback and pull streams, lines, concurrent streams with
 * back-pressure, errors (connect, timeout, idle, body cap), wakeups and freeing a busy client. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kip/http.h"

static pid_t server_pid;
static int server_port;
static char base[64];
static char url_buf[256];

static const char *url(const char *path)
{
	snprintf(url_buf, sizeof url_buf, "%s%s", base, path);
	return url_buf;
}

/* Starts spec/helpers/http_server.py; returns 0 once it listens. */
static int server_start(void)
{
	char script[4096], port_file[] = "/tmp/kip-test-http.XXXXXX";
	snprintf(script, sizeof script, "%s", __FILE__); /* .../core/tests/test_http.c */
	char *cut = strstr(script, "core/tests/test_http.c");
	if (!cut)
		return -1;
	strcpy(cut, "spec/helpers/http_server.py");
	int fd = mkstemp(port_file);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(port_file);
	server_pid = fork();
	if (server_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1); /* nor keep ctest waiting on our output pipe */
		dup2(null, 2);
		execlp("python3", "python3", script, "--port-file", port_file, "--lifetime", "120", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !server_port; i++) { /* up to 10 s */
		FILE *f = fopen(port_file, "r");
		if (f) {
			if (fscanf(f, "%d", &server_port) != 1)
				server_port = 0;
			fclose(f);
		}
		if (!server_port)
			usleep(50000);
	}
	unlink(port_file);
	snprintf(base, sizeof base, "http://127.0.0.1:%d", server_port);
	return server_port ? 0 : -1;
}

static void server_stop(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
}

static struct kip_http_client *new_client(const char *token)
{
	static const struct kip_http_field defaults[] = {{"X-Default", "d"}, {"X-Override", "client"}};
	struct kip_http_client_opts o = {.headers = defaults, .nheaders = 2, .token = token,
	                                 .connect_timeout_ms = 5000};
	struct kip_http_client *c = NULL;
	struct kip_err err = {0};
	CHECK(kip_http_client_new(&o, &c, &err) == 0);
	return c;
}

static const char *header(const struct kip_http_client_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void test_buffered(void)
{
	struct kip_http_client *c = new_client("s3cret");
	struct kip_http_client_resp r;
	struct kip_err err = {0};
	const struct kip_http_field h[] = {{"X-Override", "request"}, {"Content-Type", "application/json"}};
	struct kip_http_client_req req = {.method = "POST", .url = url("/echo?a=1"), .headers = h,
	                                  .nheaders = 2, .body = "{\"x\":1}", .body_len = 7};
	CHECK(kip_http_client_request(c, &req, &r, &err) == 0);
	CHECK(r.status == 200);
	CHECK_STR(header(&r, "content-type"), "application/json");
	CHECK(r.body && strlen(r.body) == r.body_len);
	CHECK(strstr(r.body, "\"method\": \"POST\"") && strstr(r.body, "\"path\": \"/echo?a=1\""));
	CHECK(strstr(r.body, "\"body\": \"{\\\"x\\\":1}\""));
	CHECK(strstr(r.body, "\"authorization\": \"Bearer s3cret\""));
	CHECK(strstr(r.body, "\"x-default\": \"d\"") && strstr(r.body, "\"x-override\": \"request\""));
	CHECK(!strstr(r.body, "\"x-override\": \"client\"") && !strstr(r.body, "\"expect\""));
	CHECK(strstr(r.body, "\"user-agent\": \"kip/"));
	kip_http_client_resp_free(&r);
	kip_http_client_resp_free(&r); /* twice is fine */

	/* 404 is a response; repeated headers stay separate entries; HEAD has no body */
	req = (struct kip_http_client_req){.url = url("/nope")};
	CHECK(kip_http_client_request(c, &req, &r, &err) == 0 && r.status == 404);
	CHECK_STR(r.body, "not found\n");
	kip_http_client_resp_free(&r);
	req.url = url("/headers");
	CHECK(kip_http_client_request(c, &req, &r, &err) == 0 && r.status == 200);
	int cookies = 0;
	for (size_t i = 0; i < r.nheaders; i++)
		cookies += strcmp(r.headers[i].name, "set-cookie") == 0;
	CHECK(cookies == 2);
	kip_http_client_resp_free(&r);
	req = (struct kip_http_client_req){.method = "HEAD", .url = url("/echo")};
	CHECK(kip_http_client_request(c, &req, &r, &err) == 0 && r.status == 200 && r.body_len == 0);
	kip_http_client_resp_free(&r);
	kip_http_client_free(c);
}

static void test_keepalive(void)
{
	struct kip_http_client *c = new_client(NULL);
	struct kip_http_client_resp r;
	struct kip_err err = {0};
	struct kip_http_client_req req = {.url = url("/echo")};
	char first[32] = "";
	for (int i = 0; i < 3; i++) {
		CHECK(kip_http_client_request(c, &req, &r, &err) == 0);
		const char *id = header(&r, "x-conn-id");
		CHECK(id != NULL);
		if (i == 0 && id)
			snprintf(first, sizeof first, "%s", id);
		else
			CHECK_STR(id, first);
		kip_http_client_resp_free(&r);
	}
	kip_http_client_free(c);
}

struct collect {
	char buf[4096];
	size_t len;
	int calls, stop_after;
};

static int on_chunk(void *ud, const char *data, size_t len)
{
	struct collect *col = ud;
	if (!data)
		return 0;
	col->calls++;
	if (col->len + len < sizeof col->buf) {
		memcpy(col->buf + col->len, data, len);
		col->len += len;
		col->buf[col->len] = '\0';
	}
	return col->stop_after && col->calls >= col->stop_after;
}

static void test_stream_callback(void)
{
	struct kip_http_client *c = new_client(NULL);
	struct kip_http_client_resp r;
	struct kip_err err = {0};
	struct collect col = {0};
	struct kip_http_client_req req = {.url = url("/stream?n=3&delay=0.01")};
	CHECK(kip_http_client_stream(c, &req, on_chunk, &col, &r, &err) == 0);
	CHECK(r.status == 200 && r.body == NULL);
	CHECK_STR(header(&r, "transfer-encoding"), "chunked");
	CHECK_STR(col.buf, "line 1 x\nline 2 xx\nline 3 xxx\n");
	kip_http_client_resp_free(&r);

	/* stopped early: 0, and the client is still usable */
	memset(&col, 0, sizeof col);
	col.stop_after = 2;
	req.url = url("/forever?delay=0.01");
	CHECK(kip_http_client_stream(c, &req, on_chunk, &col, &r, &err) == 0);
	CHECK(col.calls == 2 && r.status == 200);
	kip_http_client_resp_free(&r);
	req.url = url("/echo");
	CHECK(kip_http_client_request(c, &req, &r, &err) == 0 && r.status == 200);
	kip_http_client_resp_free(&r);
	kip_http_client_free(c);
}

static void test_stream_lines(void)
{
	struct kip_http_client *c = new_client(NULL);
	struct kip_err err = {0};
	struct kip_http_stream *s = NULL;
	struct kip_http_client_req req = {.url = url("/stream?n=12&delay=0.005")};
	CHECK(kip_http_client_open(c, &req, &s, &err) == 0 && s);
	if (!s) {
		kip_http_client_free(c);
		return;
	}
	CHECK(kip_http_stream_response(s)->status == 200);
	const char *line;
	size_t len;
	int n = 0, rc;
	while ((rc = kip_http_stream_readline(s, -1, &line, &len, &err)) == KIP_HTTP_DATA) {
		n++;
		char want[64];
		snprintf(want, sizeof want, "line %d %.*s", n, n % 7, "xxxxxxx");
		CHECK_STR(line, want);
		CHECK(len == strlen(want));
	}
	CHECK(rc == KIP_HTTP_END && n == 12);
	CHECK(kip_http_stream_read(s, -1, &line, &len, &err) == KIP_HTTP_END);
	kip_http_stream_close(s);
	kip_http_client_free(c);
}

/* Two streams at once: a 3 MiB body is paused at 1 MiB while another request runs, then read. */
static void test_concurrent_backpressure(void)
{
	struct kip_http_client *c = new_client(NULL);
	struct kip_err err = {0};
	struct kip_http_stream *big = NULL, *lines = NULL;
	struct kip_http_client_req req = {.url = url("/big?n=3145728")};
	CHECK(kip_http_client_open(c, &req, &big, &err) == 0);
	req.url = url("/stream?n=4&delay=0.05");
	CHECK(kip_http_client_open(c, &req, &lines, &err) == 0);
	if (!big || !lines) {
		kip_http_stream_close(big);
		kip_http_stream_close(lines);
		kip_http_client_free(c);
		return;
	}
	const char *data;
	size_t len, total = 0;
	int n = 0;
	while (kip_http_stream_readline(lines, -1, &data, &len, &err) == KIP_HTTP_DATA)
		n++;
	CHECK(n == 4);
	int rc;
	while ((rc = kip_http_stream_read(big, -1, &data, &len, &err)) == KIP_HTTP_DATA) {
		CHECK(len <= ((size_t)1 << 20) + 65536);
		CHECK(memcmp(data, &"0123456789abcdef"[total % 16], len < 16 - total % 16 ? len : 16 - total % 16) == 0);
		total += len;
	}
	CHECK(rc == KIP_HTTP_END && total == 3145728);
	kip_http_stream_close(big);
	kip_http_stream_close(lines);
	kip_http_client_free(c);
}

static void test_errors(void)
{
	struct kip_http_client *c = new_client("never-in-messages");
	struct kip_http_client_resp r;
	struct kip_err err = {0};

	/* a port nobody listens on */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
	close(fd);
	char refused[64];
	snprintf(refused, sizeof refused, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
	struct kip_http_client_req req = {.url = refused};
	CHECK(kip_http_client_request(c, &req, &r, &err) == KIP_ECONNECT);
	CHECK_STR(kip_err_name(err.code), "connect");
	CHECK(strstr(err.msg, "GET http://127.0.0.1:") && strstr(err.msg, "refused"));
	CHECK(!strstr(err.msg, "never-in-messages"));
	kip_http_client_resp_free(&r);

	req = (struct kip_http_client_req){.url = url("/slow?delay=3"), .timeout_ms = 300};
	CHECK(kip_http_client_request(c, &req, &r, &err) == KIP_ETIMEOUT);
	CHECK_STR(kip_err_name(err.code), "timeout");
	kip_http_client_resp_free(&r);

	struct kip_http_stream *s = NULL;
	req = (struct kip_http_client_req){.url = url("/stall?delay=5"), .idle_timeout_ms = 1000};
	CHECK(kip_http_client_open(c, &req, &s, &err) == 0);
	const char *data;
	size_t len;
	int rc = KIP_HTTP_DATA;
	while (s && (rc = kip_http_stream_read(s, -1, &data, &len, &err)) == KIP_HTTP_DATA)
		;
	CHECK(rc == KIP_ETIMEOUT);
	kip_http_stream_close(s);

	req = (struct kip_http_client_req){.url = url("/big?n=100000"), .max_body = 1000};
	CHECK(kip_http_client_request(c, &req, &r, &err) == KIP_ENOMEM);
	kip_http_client_resp_free(&r);

	req = (struct kip_http_client_req){.method = "BREW", .url = url("/")};
	CHECK(kip_http_client_request(c, &req, &r, &err) == KIP_EINVAL);
	const struct kip_http_field bad[] = {{"X-Evil", "a\r\nInjected: 1"}};
	req = (struct kip_http_client_req){.url = url("/"), .headers = bad, .nheaders = 1};
	CHECK(kip_http_client_request(c, &req, &r, &err) == KIP_EINVAL);
	req = (struct kip_http_client_req){.url = "ftp://127.0.0.1/"};
	CHECK(kip_http_client_request(c, &req, &r, &err) == KIP_EINVAL);
	kip_http_client_resp_free(&r);
	kip_http_client_free(c);
}

static void test_wakeup_and_free(void)
{
	struct kip_http_client *c = new_client(NULL);
	struct kip_err err = {0};
	struct kip_http_stream *s = NULL;
	struct kip_http_client_req req = {.url = url("/stall?delay=20")};
	CHECK(kip_http_client_open(c, &req, &s, &err) == 0);
	if (!s) {
		kip_http_client_free(c);
		return;
	}
	const char *data;
	size_t len;
	CHECK(kip_http_stream_read(s, -1, &data, &len, &err) == KIP_HTTP_DATA);
	CHECK(kip_http_stream_read(s, 100, &data, &len, &err) == KIP_HTTP_AGAIN);
	kip_http_client_wakeup(c);
	CHECK(kip_http_stream_read(s, -1, &data, &len, &err) == KIP_HTTP_AGAIN);
	kip_http_client_free(c); /* aborts s */
	CHECK(kip_http_stream_read(s, -1, &data, &len, &err) == KIP_EINVAL);
	CHECK(strstr(err.msg, "closed") != NULL);
	kip_http_stream_close(s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (server_start() != 0) {
		fprintf(stderr, "cannot start spec/helpers/http_server.py (python3)\n");
		server_stop();
		return 1;
	}
	RUN(test_buffered);
	RUN(test_keepalive);
	RUN(test_stream_callback);
	RUN(test_stream_lines);
	RUN(test_concurrent_backpressure);
	RUN(test_errors);
	RUN(test_wakeup_and_free);
	server_stop();
	return check_summary();
}
