/* SPDX-License-Identifier: Apache-2.0
 * The HTTP client (kip/http.h) on libcurl, the only file that includes curl.h. Every transfer is an
 * easy handle in the client's multi handle; one wait loop (http_wait: curl_multi_perform +
 * curl_multi_poll) serves buffered requests, pull-style reads and callback streams alike.
 * Uses libcurl (>= 7.85), pthread_once and kip/err.h, kip/version.h. */
#define _GNU_SOURCE /* explicit_bzero, asprintf */
#include "kip/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kip/version.h"

#define HTTP_QUEUE_MAX ((size_t)1 << 20) /* bytes a stream buffers before its transfer is paused */
#define HTTP_POLL_MAX_MS 60000           /* longest single curl_multi_poll when waiting forever */

struct http_buf {
	char *data;
	size_t len, cap;
};

struct kip_http_client {
	CURLM *multi;                   /* connection cache: keep-alive and HTTP/2 multiplexing */
	CURLSH *share;                  /* DNS cache and TLS sessions of all transfers */
	CURL *idle;                     /* the last finished easy handle, reset, for the next one */
	struct kip_http_stream *streams;/* transfers opened and not closed yet */
	atomic_bool woken;              /* set by kip_http_client_wakeup */
	char *ca_file, *cert_file, *key_file, *user_agent;
	char *interface;                /* "host!ADDRESS" for CURLOPT_INTERFACE, or NULL */
	struct http_buf ca, cert, key;  /* inline PEM */
	bool insecure;
	long connect_timeout_ms;
	char **headers;                 /* "Name: value" / "Name:" / "Name;", NULL-terminated */
	size_t nheaders;
	char *auth;                     /* "Authorization: Bearer TOKEN" or NULL; wiped when freed */
};

struct kip_http_stream {
	struct kip_http_client *client; /* set while the transfer runs (linked in client->streams) */
	struct kip_http_stream *prev, *next;
	CURL *easy;                     /* NULL once the transfer finished or was aborted */
	struct curl_slist *slist;
	char *desc;                     /* "GET http://host/path" (no credentials), for messages */
	char errbuf[CURL_ERROR_SIZE];
	struct kip_http_client_resp resp;
	size_t hcap;
	bool headers_done, done, paused, collect, overflow, nomem;
	bool aborted;                   /* the client was freed while the transfer ran */
	CURLcode result;
	long os_errno;
	size_t max;                     /* body cap (collect) or line cap (readline) */
	unsigned idle_ms;               /* the request's idle_timeout_ms */
	int64_t last_ms;                /* when the last byte (header or body) arrived */
	struct http_buf in;             /* filled by the write callback */
	struct http_buf out;            /* handed to the reader; out_off bytes of it consumed */
	size_t out_off;
};

enum http_want { HTTP_WANT_HEADERS, HTTP_WANT_DATA, HTTP_WANT_DONE };

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static int64_t http_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int http_buf_reserve(struct http_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return -1;
	size_t need = b->len + extra + 1; /* room for a NUL */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int http_buf_append(struct http_buf *b, const char *data, size_t len)
{
	if (http_buf_reserve(b, len) != 0)
		return -1;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

static void http_buf_free(struct http_buf *b, bool wipe)
{
	if (wipe && b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	memset(b, 0, sizeof *b);
}

static char *http_strdup(const char *s, bool *failed)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

static bool http_valid_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s == ':' || *s == 0x7f)
			return false;
	return true;
}

static bool http_valid_value(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

static bool http_same_name(const char *line, const char *name)
{
	size_t n = strlen(name);
	return strncasecmp(line, name, n) == 0 && (line[n] == ':' || line[n] == ';');
}

/* "Name: value", "Name:" (value NULL: remove) or "Name;" (empty value: send it empty). */
static char *http_header_line(const struct kip_http_field *f)
{
	char *line = NULL;
	int n;
	if (!f->value)
		n = asprintf(&line, "%s:", f->name);
	else if (!*f->value)
		n = asprintf(&line, "%s;", f->name);
	else
		n = asprintf(&line, "%s: %s", f->name, f->value);
	return n < 0 ? NULL : line;
}

static int http_check_fields(const struct kip_http_field *h, size_t n, struct kip_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!http_valid_name(h[i].name))
			return kip_err_set(err, KIP_EINVAL, "bad header name '%s'", h[i].name ? h[i].name : "");
		if (h[i].value && !http_valid_value(h[i].value))
			return kip_err_set(err, KIP_EINVAL, "header '%s' has a line break in its value", h[i].name);
	}
	return 0;
}

int kip_http_client_new(const struct kip_http_client_opts *opts, struct kip_http_client **out,
                        struct kip_err *err)
{
	static const struct kip_http_client_opts none;
	*out = NULL;
	if (!opts)
		opts = &none;
	int rc = http_check_fields(opts->headers, opts->nheaders, err);
	if (rc)
		return rc;
	if (opts->token && (strpbrk(opts->token, "\r\n") || !*opts->token))
		return kip_err_set(err, KIP_EINVAL, "the bearer token is empty or has a line break");
	unsigned char addr[sizeof(struct in6_addr)];
	if (opts->local_address && inet_pton(AF_INET, opts->local_address, addr) != 1 &&
	    inet_pton(AF_INET6, opts->local_address, addr) != 1)
		return kip_err_set(err, KIP_EINVAL, "local_address %s is not a numeric IP address", opts->local_address);
	pthread_once(&http_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		return kip_err_set(err, KIP_EIO, "libcurl: %s", curl_easy_strerror(http_global_rc));

	struct kip_http_client *c = calloc(1, sizeof *c);
	if (!c)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	bool failed = false;
	c->ca_file = http_strdup(opts->ca_file, &failed);
	c->cert_file = http_strdup(opts->cert_file, &failed);
	c->key_file = http_strdup(opts->key_file, &failed);
	if (opts->user_agent)
		c->user_agent = http_strdup(opts->user_agent, &failed);
	else if (asprintf(&c->user_agent, "kip/%s", kip_version()) < 0)
		c->user_agent = NULL, failed = true;
	if ((opts->ca_data && http_buf_append(&c->ca, opts->ca_data, opts->ca_len)) ||
	    (opts->cert_data && http_buf_append(&c->cert, opts->cert_data, opts->cert_len)) ||
	    (opts->key_data && http_buf_append(&c->key, opts->key_data, opts->key_len)))
		failed = true;
	if (opts->local_address && asprintf(&c->interface, "host!%s", opts->local_address) < 0)
		c->interface = NULL, failed = true;
	c->insecure = opts->insecure;
	c->connect_timeout_ms = (long)opts->connect_timeout_ms;
	c->headers = calloc(opts->nheaders + 1, sizeof *c->headers);
	failed |= !c->headers;
	for (size_t i = 0; c->headers && i < opts->nheaders; i++) {
		c->headers[i] = http_header_line(&opts->headers[i]);
		failed |= !c->headers[i];
		c->nheaders += c->headers[i] != NULL;
	}
	if (opts->token && asprintf(&c->auth, "Authorization: Bearer %s", opts->token) < 0)
		c->auth = NULL, failed = true;
	if (failed) {
		kip_http_client_free(c);
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	}
	c->multi = curl_multi_init();
	c->share = curl_share_init();
	if (!c->multi || !c->share ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		kip_http_client_free(c);
		return kip_err_set(err, KIP_EIO, "libcurl: cannot create a multi or share handle");
	}
	*out = c;
	return 0;
}

static void http_stream_detach(struct kip_http_stream *s);

void kip_http_client_free(struct kip_http_client *c)
{
	if (!c)
		return;
	while (c->streams) {
		c->streams->aborted = true;
		http_stream_detach(c->streams); /* unlinks it, gives back its easy handle */
	}
	if (c->idle)
		curl_easy_cleanup(c->idle);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->share)
		curl_share_cleanup(c->share);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->user_agent);
	free(c->interface);
	http_buf_free(&c->ca, false);
	http_buf_free(&c->cert, false);
	http_buf_free(&c->key, true);
	for (size_t i = 0; c->headers && i < c->nheaders; i++)
		free(c->headers[i]);
	free(c->headers);
	if (c->auth) {
		explicit_bzero(c->auth, strlen(c->auth));
		free(c->auth);
	}
	free(c);
}

void kip_http_client_wakeup(struct kip_http_client *c)
{
	atomic_store(&c->woken, true);
	curl_multi_wakeup(c->multi);
}

void kip_http_client_resp_free(struct kip_http_client_resp *resp)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		free((void *)(uintptr_t)resp->headers[i].name); /* name and value share one block */
	free(resp->headers);
	free(resp->body);
	memset(resp, 0, sizeof *resp);
}

/* "METHOD URL" with any user:password@ removed from the URL. */
static char *http_describe(const char *method, const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	size_t hostlen = strcspn(host, "/?#");
	const char *at = memchr(host, '@', hostlen);
	char *d = NULL;
	int n;
	if (at)
		n = asprintf(&d, "%s %.*s%s", method, (int)(host - url), url, at + 1);
	else
		n = asprintf(&d, "%s %s", method, url);
	return n < 0 ? NULL : d;
}

/* Header callback: a status line starts a new header block (1xx, and each response). */
static size_t http_on_header(char *p, size_t size, size_t n, void *ud)
{
	struct kip_http_stream *s = ud;
	size_t len = size * n, full = len;
	s->last_ms = http_now_ms();
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (s->headers_done)
		return full; /* trailers */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		for (size_t i = 0; i < s->resp.nheaders; i++)
			free((void *)(uintptr_t)s->resp.headers[i].name);
		s->resp.nheaders = 0;
		const char *sp = memchr(p, ' ', len);
		s->resp.status = sp ? atoi(sp + 1) : 0;
		return full;
	}
	if (len == 0) {
		if (s->resp.status >= 200 || s->resp.status == 0)
			s->headers_done = true;
		return full;
	}
	if (*p == ' ' || *p == '\t')
		return full; /* obsolete line folding (RFC 9112 5.2): ignored */
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return full;
	size_t nl = (size_t)(colon - p);
	const char *v = colon + 1, *end = p + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (s->resp.nheaders == s->hcap) {
		size_t cap = s->hcap ? s->hcap * 2 : 16;
		struct kip_http_field *h = realloc(s->resp.headers, cap * sizeof *h);
		if (!h)
			return 0;
		s->resp.headers = h;
		s->hcap = cap;
	}
	char *blk = malloc(nl + (size_t)(end - v) + 2);
	if (!blk)
		return 0;
	for (size_t i = 0; i < nl; i++)
		blk[i] = (char)tolower((unsigned char)p[i]);
	blk[nl] = '\0';
	memcpy(blk + nl + 1, v, (size_t)(end - v));
	blk[nl + 1 + (end - v)] = '\0';
	s->resp.headers[s->resp.nheaders].name = blk;
	s->resp.headers[s->resp.nheaders].value = blk + nl + 1;
	s->resp.nheaders++;
	return full;
}

static size_t http_on_write(char *p, size_t size, size_t n, void *ud)
{
	struct kip_http_stream *s = ud;
	size_t len = size * n;
	s->headers_done = true;
	s->last_ms = http_now_ms();
	if (s->collect && len > s->max - s->in.len) {
		s->overflow = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (!s->collect && s->in.len >= HTTP_QUEUE_MAX) {
		s->paused = true;
		return CURL_WRITEFUNC_PAUSE; /* delivered again once unpaused */
	}
	if (http_buf_append(&s->in, p, len) != 0) {
		s->nomem = true;
		return 0;
	}
	return len;
}

static bool http_method_ok(const char *m)
{
	static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
	for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
		if (strcmp(m, methods[i]) == 0)
			return true;
	return false;
}

/* The request's header list: the client's defaults that the request does not override, the
 * request's own, "Expect:" (no 100-continue round trip) and "Content-Type:" for a body without
 * one (curl would claim a form). NULL when out of memory. */
static struct curl_slist *http_slist(const struct kip_http_client *c, const struct kip_http_client_req *req,
                                     bool has_body, bool *failed)
{
	struct curl_slist *l = NULL, *t;
	bool content_type = false;
#define HTTP_ADD(line) do { t = curl_slist_append(l, (line)); if (!t) goto fail; l = t; } while (0)
	for (size_t i = 0; i < req->nheaders; i++) {
		char *line = http_header_line(&req->headers[i]);
		if (!line)
			goto fail;
		t = curl_slist_append(l, line);
		free(line);
		if (!t)
			goto fail;
		l = t;
		content_type |= strcasecmp(req->headers[i].name, "content-type") == 0;
	}
	for (size_t i = 0; i < c->nheaders; i++) {
		bool overridden = false;
		for (size_t j = 0; j < req->nheaders && !overridden; j++)
			overridden = http_same_name(c->headers[i], req->headers[j].name);
		if (!overridden) {
			HTTP_ADD(c->headers[i]);
			content_type |= http_same_name(c->headers[i], "content-type");
		}
	}
	bool own_auth = false;
	for (size_t j = 0; j < req->nheaders; j++)
		own_auth |= strcasecmp(req->headers[j].name, "authorization") == 0;
	if (c->auth && !own_auth)
		HTTP_ADD(c->auth);
	HTTP_ADD("Expect:");
	if (has_body && !content_type)
		HTTP_ADD("Content-Type:");
#undef HTTP_ADD
	return l;
fail:
	*failed = true;
	curl_slist_free_all(l);
	return NULL;
}

static CURLcode http_setup(struct kip_http_client *c, struct kip_http_stream *s,
                           const struct kip_http_client_req *req, const char *method, bool send_body)
{
	CURL *e = s->easy;
	CURLcode rc = CURLE_OK;
#define HTTP_SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	HTTP_SET(CURLOPT_PRIVATE, s);
	HTTP_SET(CURLOPT_ERRORBUFFER, s->errbuf);
	HTTP_SET(CURLOPT_NOSIGNAL, 1L);
	HTTP_SET(CURLOPT_SHARE, c->share);
	HTTP_SET(CURLOPT_URL, req->url);
	HTTP_SET(CURLOPT_PROTOCOLS_STR, "http,https");
	HTTP_SET(CURLOPT_USERAGENT, c->user_agent);
	HTTP_SET(CURLOPT_TCP_KEEPALIVE, 1L);
	HTTP_SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	if (c->connect_timeout_ms)
		HTTP_SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	if (c->interface)
		HTTP_SET(CURLOPT_INTERFACE, c->interface);
	if (req->timeout_ms)
		HTTP_SET(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	if (c->ca_file || c->ca.data) {
		HTTP_SET(CURLOPT_CAPATH, (char *)NULL); /* trust only the CA given, not the system's too */
		if (c->ca_file)
			HTTP_SET(CURLOPT_CAINFO, c->ca_file);
	}
	struct curl_blob blob = {.flags = CURL_BLOB_COPY};
	if (c->ca.data) {
		blob.data = c->ca.data, blob.len = c->ca.len;
		HTTP_SET(CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->cert_file)
		HTTP_SET(CURLOPT_SSLCERT, c->cert_file);
	if (c->cert.data) {
		blob.data = c->cert.data, blob.len = c->cert.len;
		HTTP_SET(CURLOPT_SSLCERT_BLOB, &blob);
	}
	if (c->key_file)
		HTTP_SET(CURLOPT_SSLKEY, c->key_file);
	if (c->key.data) {
		blob.data = c->key.data, blob.len = c->key.len;
		HTTP_SET(CURLOPT_SSLKEY_BLOB, &blob);
	}
	if (c->insecure) {
		HTTP_SET(CURLOPT_SSL_VERIFYPEER, 0L);
		HTTP_SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	HTTP_SET(CURLOPT_HTTPHEADER, s->slist);
	if (!strcmp(method, "HEAD")) {
		HTTP_SET(CURLOPT_NOBODY, 1L);
	} else if (send_body) {
		HTTP_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
		HTTP_SET(CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "POST"))
		HTTP_SET(CURLOPT_CUSTOMREQUEST, method);
	HTTP_SET(CURLOPT_HEADERFUNCTION, http_on_header);
	HTTP_SET(CURLOPT_HEADERDATA, s);
	HTTP_SET(CURLOPT_WRITEFUNCTION, http_on_write);
	HTTP_SET(CURLOPT_WRITEDATA, s);
#undef HTTP_SET
	return rc;
}

/* Unlinks s from its client and gives its easy handle back (kept as the idle one or freed). */
static void http_stream_detach(struct kip_http_stream *s)
{
	struct kip_http_client *c = s->client;
	if (!c)
		return;
	if (s->easy) {
		curl_multi_remove_handle(c->multi, s->easy);
		if (!c->idle) {
			curl_easy_reset(s->easy);
			c->idle = s->easy;
		} else {
			curl_easy_cleanup(s->easy);
		}
		s->easy = NULL;
	}
	if (s->prev)
		s->prev->next = s->next;
	else if (c->streams == s)
		c->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->client = NULL;
	s->done = true;
}

void kip_http_stream_close(struct kip_http_stream *s)
{
	if (!s)
		return;
	http_stream_detach(s);
	curl_slist_free_all(s->slist);
	free(s->desc);
	kip_http_client_resp_free(&s->resp);
	http_buf_free(&s->in, false);
	http_buf_free(&s->out, false);
	free(s);
}

/* Creates the stream for req and adds its transfer to the client's multi handle. */
static int http_start(struct kip_http_client *c, const struct kip_http_client_req *req, bool collect,
                      struct kip_http_stream **out, struct kip_err *err)
{
	*out = NULL;
	const char *method = req->method ? req->method : "GET";
	if (!http_method_ok(method))
		return kip_err_set(err, KIP_EINVAL, "unknown HTTP method '%s'", method);
	if (!req->url || !*req->url)
		return kip_err_set(err, KIP_EINVAL, "%s: no URL", method);
	int rc = http_check_fields(req->headers, req->nheaders, err);
	if (rc)
		return rc;
	struct kip_http_stream *s = calloc(1, sizeof *s);
	if (!s)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	bool failed = false;
	s->collect = collect;
	s->max = req->max_body && collect ? req->max_body : KIP_HTTP_MAX_BODY;
	s->idle_ms = req->idle_timeout_ms;
	s->desc = http_describe(method, req->url);
	bool send_body = req->body || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
	s->slist = http_slist(c, req, send_body, &failed);
	s->easy = c->idle ? c->idle : curl_easy_init();
	c->idle = NULL;
	if (!s->desc || failed || !s->easy) {
		if (s->easy)
			curl_easy_cleanup(s->easy);
		s->easy = NULL;
		kip_http_stream_close(s); /* not linked yet */
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	}
	CURLcode cc = http_setup(c, s, req, method, send_body);
	if (cc != CURLE_OK) {
		rc = kip_err_set(err, cc == CURLE_OUT_OF_MEMORY ? KIP_ENOMEM : KIP_EINVAL, "%s: %s", s->desc,
		                 curl_easy_strerror(cc));
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
		kip_http_stream_close(s);
		return rc;
	}
	if (curl_multi_add_handle(c->multi, s->easy) != CURLM_OK) {
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
		kip_http_stream_close(s);
		return kip_err_set(err, KIP_EIO, "libcurl: cannot add a transfer");
	}
	s->client = c;
	s->next = c->streams;
	if (c->streams)
		c->streams->prev = s;
	c->streams = s;
	*out = s;
	return 0;
}

/* Maps a finished transfer's failure to a code and message. */
static int http_fail(const struct kip_http_stream *s, struct kip_err *err)
{
	if (s->overflow)
		return kip_err_set(err, KIP_ENOMEM, "%s: response body larger than %zu bytes", s->desc, s->max);
	if (s->nomem)
		return kip_err_set(err, KIP_ENOMEM, "%s: out of memory", s->desc);
	int code;
	switch (s->result) {
	case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_COULDNT_CONNECT:
	case CURLE_INTERFACE_FAILED: /* local_address is not this machine's */
		code = KIP_ECONNECT;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		code = KIP_ETIMEOUT;
		break;
	case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH: case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND: case CURLE_SSL_ENGINE_SETFAILED: case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		code = KIP_ETLS;
		break;
	case CURLE_URL_MALFORMAT: case CURLE_UNSUPPORTED_PROTOCOL:
		code = KIP_EINVAL;
		break;
	case CURLE_OUT_OF_MEMORY:
		code = KIP_ENOMEM;
		break;
	case CURLE_RECV_ERROR: case CURLE_SEND_ERROR:
		/* A TLS alert after the handshake, e.g. TLS 1.3 servers rejecting a missing client
		 * certificate: the failure is the TLS layer's, not the network's. */
		code = strstr(s->errbuf, "SSL_") || strstr(s->errbuf, "alert") ? KIP_ETLS : KIP_EIO;
		break;
	default:
		code = KIP_EIO;
	}
	const char *detail = s->errbuf[0] ? s->errbuf : curl_easy_strerror(s->result);
	int rc;
	if (s->result == CURLE_COULDNT_CONNECT && s->os_errno)
		rc = kip_err_set(err, code, "%s: %s", s->desc, strerror((int)s->os_errno));
	else
		rc = kip_err_set(err, code, "%s: %s", s->desc, detail);
	if (err)
		err->sys_errno = (int)s->os_errno;
	return rc;
}

static bool http_ready(const struct kip_http_stream *s, enum http_want want)
{
	if (s->done)
		return true;
	switch (want) {
	case HTTP_WANT_HEADERS: return s->headers_done;
	case HTTP_WANT_DATA: return s->in.len > 0;
	default: return false;
	}
}

/* Runs the client's transfers until s is ready for want, its transfer ended, or wait_ms (-1: no
 * limit) passed or a wakeup came. Returns 1 when ready or ended, 0 on time-out/wakeup, or a
 * negative code for a failure of the multi handle itself. */
static int http_wait(struct kip_http_stream *s, enum http_want want, int wait_ms, struct kip_err *err)
{
	struct kip_http_client *c = s->client; /* NULL only once s is done */
	int64_t start = http_now_ms();
	int64_t deadline = wait_ms >= 0 ? start + wait_ms : 0;
	for (;;) {
		if (http_ready(s, want))
			return 1;
		if (s->paused && s->in.len == 0) {
			s->paused = false;
			curl_easy_pause(s->easy, CURLPAUSE_CONT); /* may call http_on_write at once */
			continue;
		}
		int running;
		CURLMcode mc = curl_multi_perform(c->multi, &running);
		if (mc != CURLM_OK)
			return kip_err_set(err, KIP_EIO, "%s: %s", s->desc, curl_multi_strerror(mc));
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(c->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			char *priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			struct kip_http_stream *t = (struct kip_http_stream *)(void *)priv;
			t->result = msg->data.result;
			curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &t->os_errno);
			http_stream_detach(t); /* msg is invalid from here; the connection stays cached */
		}
		if (http_ready(s, want))
			return 1;
		int64_t now = http_now_ms(), timeout = HTTP_POLL_MAX_MS;
		if (s->idle_ms) { /* no byte since the later of the last one and this wait's start */
			int64_t idle_left = (s->last_ms > start ? s->last_ms : start) + s->idle_ms - now;
			if (idle_left <= 0) {
				snprintf(s->errbuf, sizeof s->errbuf, "no data received for %u ms", s->idle_ms);
				s->result = CURLE_OPERATION_TIMEDOUT;
				http_stream_detach(s); /* aborts the transfer */
				return 1;
			}
			timeout = idle_left < timeout ? idle_left : timeout;
		}
		if (wait_ms >= 0) {
			if (deadline - now <= 0)
				return 0;
			timeout = deadline - now < timeout ? deadline - now : timeout;
		}
		mc = curl_multi_poll(c->multi, NULL, 0, (int)timeout, NULL);
		if (mc != CURLM_OK)
			return kip_err_set(err, KIP_EIO, "%s: %s", s->desc, curl_multi_strerror(mc));
		if (atomic_exchange(&c->woken, false))
			return 0;
	}
}

/* The end of a finished transfer: KIP_HTTP_END or its error. */
static int http_end(const struct kip_http_stream *s, struct kip_err *err)
{
	if (s->aborted)
		return kip_err_set(err, KIP_EINVAL, "%s: the HTTP client was closed", s->desc);
	return s->result == CURLE_OK && !s->overflow && !s->nomem ? KIP_HTTP_END : http_fail(s, err);
}

/* Moves status and headers from s to resp. */
static void http_take_head(struct kip_http_stream *s, struct kip_http_client_resp *resp)
{
	resp->status = s->resp.status;
	resp->headers = s->resp.headers;
	resp->nheaders = s->resp.nheaders;
	s->resp.headers = NULL;
	s->resp.nheaders = 0;
	s->hcap = 0;
}

int kip_http_client_request(struct kip_http_client *c, const struct kip_http_client_req *req,
                            struct kip_http_client_resp *resp, struct kip_err *err)
{
	memset(resp, 0, sizeof *resp);
	struct kip_http_stream *s;
	int rc = http_start(c, req, true, &s, err);
	if (rc)
		return rc;
	while ((rc = http_wait(s, HTTP_WANT_DONE, -1, err)) == 0)
		; /* woken: a buffered request has nothing to hand out early */
	if (rc > 0)
		rc = http_end(s, err);
	if (rc == KIP_HTTP_END) {
		http_take_head(s, resp);
		if (!s->in.data && http_buf_reserve(&s->in, 0) != 0) {
			rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
		} else {
			resp->body = s->in.data;
			resp->body_len = s->in.len;
			memset(&s->in, 0, sizeof s->in);
		}
	}
	kip_http_stream_close(s);
	return rc;
}

int kip_http_client_open(struct kip_http_client *c, const struct kip_http_client_req *req,
                         struct kip_http_stream **out, struct kip_err *err)
{
	struct kip_http_stream *s;
	int rc = http_start(c, req, false, &s, err);
	if (rc)
		return rc;
	rc = http_wait(s, HTTP_WANT_HEADERS, -1, err);
	if (rc == 0) /* woken before the headers came: whoever woke us wants to stop (an informer) */
		rc = kip_err_set(err, KIP_ECANCELED, "%s: cancelled", s->desc);
	if (rc > 0 && !s->headers_done) { /* ended before the headers: an error */
		rc = http_end(s, err);
		if (rc == KIP_HTTP_END)
			rc = kip_err_set(err, KIP_EIO, "%s: no response", s->desc);
	}
	if (rc < 0) {
		kip_http_stream_close(s);
		*out = NULL;
		return rc;
	}
	*out = s;
	return 0;
}

const struct kip_http_client_resp *kip_http_stream_response(const struct kip_http_stream *s)
{
	return &s->resp;
}

/* Waits for more body data (queued in s->in). Returns KIP_HTTP_DATA, KIP_HTTP_END, KIP_HTTP_AGAIN
 * or an error. */
static int http_more(struct kip_http_stream *s, int wait_ms, struct kip_err *err)
{
	int rc = http_wait(s, HTTP_WANT_DATA, wait_ms, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return KIP_HTTP_AGAIN;
	return s->in.len ? KIP_HTTP_DATA : http_end(s, err);
}

int kip_http_stream_read(struct kip_http_stream *s, int wait_ms, const char **data, size_t *len,
                         struct kip_err *err)
{
	*data = NULL;
	*len = 0;
	if (s->out_off < s->out.len) { /* left over by readline */
		*data = s->out.data + s->out_off;
		*len = s->out.len - s->out_off;
		s->out_off = s->out.len;
		return KIP_HTTP_DATA;
	}
	int rc = http_more(s, wait_ms, err);
	if (rc != KIP_HTTP_DATA)
		return rc;
	struct http_buf t = s->out;
	s->out = s->in;
	s->in = t;
	s->in.len = 0;
	s->out_off = s->out.len;
	*data = s->out.data;
	*len = s->out.len;
	return KIP_HTTP_DATA;
}

int kip_http_stream_readline(struct kip_http_stream *s, int wait_ms, const char **line, size_t *len,
                             struct kip_err *err)
{
	*line = NULL;
	*len = 0;
	for (;;) {
		char *start = s->out.data ? s->out.data + s->out_off : NULL;
		size_t avail = s->out.len - s->out_off;
		char *nl = avail ? memchr(start, '\n', avail) : NULL;
		if (nl) {
			*nl = '\0';
			*line = start;
			*len = (size_t)(nl - start);
			s->out_off += *len + 1;
			return KIP_HTTP_DATA;
		}
		int rc = http_more(s, wait_ms, err);
		if (rc == KIP_HTTP_DATA) {
			if (avail + s->in.len > s->max) {
				s->out_off = s->out.len;
				return kip_err_set(err, KIP_ENOMEM, "%s: line longer than %zu bytes", s->desc, s->max);
			}
			if (avail)
				memmove(s->out.data, start, avail);
			s->out.len = avail;
			s->out_off = 0;
			if (http_buf_append(&s->out, s->in.data, s->in.len) != 0)
				return kip_err_set(err, KIP_ENOMEM, "%s: out of memory", s->desc);
			s->in.len = 0;
			continue;
		}
		if (rc != KIP_HTTP_END || !avail)
			return rc;
		start[avail] = '\0'; /* the buffers always keep room for a NUL */
		*line = start;
		*len = avail;
		s->out_off = s->out.len;
		return KIP_HTTP_DATA;
	}
}

int kip_http_client_stream(struct kip_http_client *c, const struct kip_http_client_req *req,
                           kip_http_chunk_fn on_chunk, void *ud, struct kip_http_client_resp *resp,
                           struct kip_err *err)
{
	memset(resp, 0, sizeof *resp);
	struct kip_http_stream *s;
	int rc = kip_http_client_open(c, req, &s, err);
	if (rc)
		return rc;
	http_take_head(s, resp);
	for (;;) {
		const char *data;
		size_t len;
		rc = kip_http_stream_read(s, -1, &data, &len, err);
		if (rc == KIP_HTTP_DATA || rc == KIP_HTTP_AGAIN) {
			if (on_chunk(ud, data, len) != 0) {
				rc = 0;
				break;
			}
			continue;
		}
		break; /* KIP_HTTP_END (0) or an error */
	}
	kip_http_stream_close(s);
	return rc;
}
