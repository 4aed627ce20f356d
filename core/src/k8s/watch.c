/* SPDX-License-Identifier: Apache-2.0
 * The informer of kip/watch.h: its thread lists the collection page by page, reconciles the cache
 * (k8s/cache.h), then watches from the list's resourceVersion, decoding the stream line by line
 * (k8s/object.h) into cache changes and queued events; stream ends and failures reconnect (with
 * jittered exponential back-off), 410 Gone relists. Uses kip/http.h, pthreads and CLOCK_MONOTONIC. */
#define _GNU_SOURCE /* asprintf */
#include "kip/watch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s/cache.h"
#include "k8s/object.h"
#include "kip/http.h"

#define INF_BODY_MAX ((size_t)512 << 20) /* the largest list page read */
#define INF_STATUS_MAX ((size_t)64 << 10) /* what is read of an error answer */
#define INF_LIST_IDLE_MS 60000u           /* a list fails when no byte came for this long */
#define INF_CONNECT_MS 10000u

/* Internal results besides 0 and KIP_E* codes. */
enum { INF_GONE = 1, INF_STOP = 2 };

struct kip_informer {
	/* set by kip_informer_new, read-only afterwards */
	char *server, *path, *label_selector, *field_selector;
	char *ca_data, *cert_data, *key_data, *ca_file, *cert_file, *key_file, *token;
	size_t ca_len, cert_len, key_len;
	bool insecure;
	unsigned page_size, watch_timeout_s, backoff_min_ms, backoff_max_ms;
	struct k8s_cache *cache;

	pthread_mutex_t ctl;  /* held by start and stop */
	pthread_mutex_t mu;   /* guards everything below; taken after the cache's lock, never before */
	pthread_cond_t cond;  /* an event was queued, or stop was asked for */
	struct kip_informer_event *head, *tail;
	size_t pending;
	bool running, stopping, synced;
	unsigned long gen;    /* bumped by each stop: waiters leave */
	char *rv;             /* the last resourceVersion seen, or NULL */
	struct kip_informer_stats stats;
	struct kip_http_client *client; /* while running; only the thread uses it (stop wakes it) */
	pthread_t thread;
	uint64_t rng;         /* the thread's jitter */
};

static int64_t inf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec inf_abstime(int64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
	return ts;
}

/* xorshift64*: a number in [0, 1). */
static double inf_random(struct kip_informer *inf)
{
	uint64_t x = inf->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	inf->rng = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* --- creating and freeing ----------------------------------------------------------------------- */

static char *inf_dup(const char *s, size_t len, bool *failed)
{
	if (!s)
		return NULL;
	char *d = malloc(len + 1);
	if (!d) {
		*failed = true;
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static char *inf_strdup(const char *s, bool *failed)
{
	return s ? inf_dup(s, strlen(s), failed) : NULL;
}

int kip_informer_new(const struct kip_informer_opts *opts, struct kip_informer **out, struct kip_err *err)
{
	*out = NULL;
	const struct kip_informer_conn *c = &opts->conn;
	if (!c->server || (strncmp(c->server, "https://", 8) != 0 && strncmp(c->server, "http://", 7) != 0))
		return kip_err_set(err, KIP_EINVAL, "the informer needs a server URL (https://host:port)");
	if (!opts->path || opts->path[0] != '/' || strpbrk(opts->path, "?# \r\n"))
		return kip_err_set(err, KIP_EINVAL, "the informer needs a collection path starting with '/' (no query)");
	if (c->token && (!*c->token || strpbrk(c->token, "\r\n")))
		return kip_err_set(err, KIP_EINVAL, "the bearer token is empty or has a line break");
	struct kip_informer *inf = calloc(1, sizeof *inf);
	if (!inf)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	bool failed = false;
	size_t sl = strlen(c->server);
	while (sl > 0 && c->server[sl - 1] == '/')
		sl--;
	inf->server = inf_dup(c->server, sl, &failed);
	inf->path = inf_strdup(opts->path, &failed);
	inf->label_selector = opts->label_selector && *opts->label_selector ? inf_strdup(opts->label_selector, &failed) : NULL;
	inf->field_selector = opts->field_selector && *opts->field_selector ? inf_strdup(opts->field_selector, &failed) : NULL;
	inf->ca_data = inf_dup(c->ca_data, c->ca_len, &failed);
	inf->cert_data = inf_dup(c->cert_data, c->cert_len, &failed);
	inf->key_data = inf_dup(c->key_data, c->key_len, &failed);
	inf->ca_len = c->ca_len, inf->cert_len = c->cert_len, inf->key_len = c->key_len;
	inf->ca_file = inf_strdup(c->ca_file, &failed);
	inf->cert_file = inf_strdup(c->cert_file, &failed);
	inf->key_file = inf_strdup(c->key_file, &failed);
	inf->token = inf_strdup(c->token, &failed);
	inf->insecure = c->insecure;
	inf->page_size = opts->page_size ? opts->page_size : 500;
	inf->watch_timeout_s = opts->watch_timeout_s ? opts->watch_timeout_s : 300;
	inf->backoff_min_ms = opts->backoff_min_ms ? opts->backoff_min_ms : 500;
	inf->backoff_max_ms = opts->backoff_max_ms ? opts->backoff_max_ms : 30000;
	if (inf->backoff_max_ms < inf->backoff_min_ms)
		inf->backoff_max_ms = inf->backoff_min_ms;
	inf->cache = k8s_cache_new();
	pthread_mutex_init(&inf->ctl, NULL);
	pthread_mutex_init(&inf->mu, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&inf->cond, &attr);
	pthread_condattr_destroy(&attr);
	inf->rng = (uint64_t)inf_now_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)inf;
	inf->rng |= 1;
	if (failed || !inf->cache) {
		kip_informer_free(inf);
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	}
	*out = inf;
	return 0;
}

static void inf_wipe_free(char *s, size_t len)
{
	if (s)
		memset(s, 0, len); /* keys and tokens do not linger in freed memory */
	free(s);
}

void kip_informer_free(struct kip_informer *inf)
{
	if (!inf)
		return;
	kip_informer_stop(inf);
	for (struct kip_informer_event *ev = inf->head, *next; ev; ev = next) {
		next = ev->next;
		kip_informer_event_free(ev);
	}
	k8s_cache_free(inf->cache);
	free(inf->server);
	free(inf->path);
	free(inf->label_selector);
	free(inf->field_selector);
	free(inf->ca_data);
	free(inf->cert_data);
	inf_wipe_free(inf->key_data, inf->key_len);
	free(inf->ca_file);
	free(inf->cert_file);
	free(inf->key_file);
	inf_wipe_free(inf->token, inf->token ? strlen(inf->token) : 0);
	free(inf->rv);
	pthread_cond_destroy(&inf->cond);
	pthread_mutex_destroy(&inf->mu);
	pthread_mutex_destroy(&inf->ctl);
	free(inf);
}

void kip_informer_event_free(struct kip_informer_event *ev)
{
	if (!ev)
		return;
	kip_k8s_obj_unref(ev->old);
	kip_k8s_obj_unref(ev->obj);
	free(ev);
}

/* --- state shared with the owner ------------------------------------------------------------------ */

static bool inf_stopping(struct kip_informer *inf)
{
	pthread_mutex_lock(&inf->mu);
	bool s = inf->stopping;
	pthread_mutex_unlock(&inf->mu);
	return s;
}

/* Queues an event holding new references to old and obj. */
static void inf_emit(struct kip_informer *inf, enum kip_informer_event_type type, struct kip_k8s_obj *old,
                     struct kip_k8s_obj *obj)
{
	struct kip_informer_event *ev = calloc(1, sizeof *ev);
	pthread_mutex_lock(&inf->mu);
	if (!ev) {
		inf->stats.errors++;
		snprintf(inf->stats.last_error, sizeof inf->stats.last_error, "out of memory: an event was lost");
		pthread_mutex_unlock(&inf->mu);
		return;
	}
	ev->type = type;
	ev->old = old ? kip_k8s_obj_ref(old) : NULL;
	ev->obj = obj ? kip_k8s_obj_ref(obj) : NULL;
	if (inf->tail)
		inf->tail->next = ev;
	else
		inf->head = ev;
	inf->tail = ev;
	inf->pending++;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->mu);
}

static void inf_delta(void *ud, enum kip_informer_event_type type, struct kip_k8s_obj *old, struct kip_k8s_obj *obj)
{
	inf_emit(ud, type, old, obj);
}

static void inf_set_rv(struct kip_informer *inf, char **rv)
{
	if (!*rv || !**rv)
		return;
	pthread_mutex_lock(&inf->mu);
	free(inf->rv);
	inf->rv = *rv;
	*rv = NULL;
	pthread_mutex_unlock(&inf->mu);
}

static void inf_fail(struct kip_informer *inf, const struct kip_err *err)
{
	pthread_mutex_lock(&inf->mu);
	inf->stats.errors++;
	snprintf(inf->stats.last_error, sizeof inf->stats.last_error, "%s", err->msg);
	pthread_mutex_unlock(&inf->mu);
}

/* Puts "what path: " before err's message. */
static void inf_prefix(struct kip_err *err, const char *what, const char *path)
{
	char msg[sizeof err->msg];
	memcpy(msg, err->msg, sizeof msg);
	kip_err_set(err, err->code, "%s %s: %s", what, path, msg);
}

/* Sleeps ms unless stop is asked for first; returns false then. */
static bool inf_sleep(struct kip_informer *inf, unsigned ms)
{
	int64_t deadline = inf_now_ms() + ms;
	struct timespec ts = inf_abstime(deadline);
	pthread_mutex_lock(&inf->mu);
	while (!inf->stopping && inf_now_ms() < deadline)
		pthread_cond_timedwait(&inf->cond, &inf->mu, &ts);
	bool go_on = !inf->stopping;
	pthread_mutex_unlock(&inf->mu);
	return go_on;
}

/* --- requests ------------------------------------------------------------------------------------- */

/* Appends "&name=value" (the first one with "?") with value percent-encoded. */
static int inf_query(char **url, const char *name, const char *value)
{
	if (!value)
		return 0;
	size_t n = strlen(value);
	char *enc = malloc(3 * n + 1), *p = enc;
	if (!enc)
		return KIP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)value[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = "0123456789ABCDEF"[ch >> 4];
			*p++ = "0123456789ABCDEF"[ch & 15];
		}
	}
	*p = '\0';
	char *joined = NULL;
	int rc = asprintf(&joined, "%s%c%s=%s", *url, strchr(*url, '?') ? '&' : '?', name, enc);
	free(enc);
	if (rc < 0)
		return KIP_ENOMEM;
	free(*url);
	*url = joined;
	return 0;
}

/* The URL of a list page (watch_rv NULL) or of a watch from watch_rv. */
static char *inf_url(struct kip_informer *inf, const char *cont, const char *watch_rv)
{
	char *url = NULL, num[32];
	if (asprintf(&url, "%s%s", inf->server, inf->path) < 0)
		return NULL;
	int rc = inf_query(&url, "labelSelector", inf->label_selector);
	if (!rc)
		rc = inf_query(&url, "fieldSelector", inf->field_selector);
	if (!watch_rv) {
		snprintf(num, sizeof num, "%u", inf->page_size);
		if (!rc)
			rc = inf_query(&url, "limit", num);
		if (!rc)
			rc = inf_query(&url, "continue", cont);
	} else {
		unsigned t = inf->watch_timeout_s + (unsigned)(inf_random(inf) * inf->watch_timeout_s / 5);
		snprintf(num, sizeof num, "%u", t);
		if (!rc)
			rc = inf_query(&url, "watch", "1");
		if (!rc)
			rc = inf_query(&url, "allowWatchBookmarks", "true");
		if (!rc)
			rc = inf_query(&url, "resourceVersion", watch_rv);
		if (!rc)
			rc = inf_query(&url, "timeoutSeconds", num);
	}
	if (rc) {
		free(url);
		return NULL;
	}
	return url;
}

static int inf_open(struct kip_informer *inf, const char *url, unsigned idle_ms, struct kip_http_stream **s,
                    struct kip_err *err)
{
	static const struct kip_http_field accept = {"Accept", "application/json"};
	struct kip_http_client_req req = {.url = url, .headers = &accept, .nheaders = 1, .idle_timeout_ms = idle_ms};
	int rc;
	do /* a wakeup left over from an earlier stop() (the informer was restarted) is not ours */
		rc = kip_http_client_open(inf->client, &req, s, err);
	while (rc == KIP_ECANCELED && !inf_stopping(inf));
	if (rc == KIP_ECANCELED || (rc == 0 && inf_stopping(inf))) { /* stop() woke the wait */
		if (rc == 0)
			kip_http_stream_close(*s);
		*s = NULL;
		return INF_STOP;
	}
	return rc;
}

/* Reads the rest of the body (at most max bytes) into *body (malloc'd, NUL-terminated). */
static int inf_read_body(struct kip_informer *inf, struct kip_http_stream *s, size_t max, char **body,
                         size_t *len, struct kip_err *err)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		const char *data;
		size_t dl;
		int rc = kip_http_stream_read(s, -1, &data, &dl, err);
		if (rc == KIP_HTTP_AGAIN) {
			if (inf_stopping(inf)) {
				free(buf);
				return INF_STOP;
			}
			continue;
		}
		if (rc < 0) {
			free(buf);
			return rc;
		}
		if (rc == KIP_HTTP_END)
			break;
		if (dl > max - n) {
			free(buf);
			return kip_err_set(err, KIP_ENOMEM, "an answer of %s is larger than %zu bytes", inf->path, max);
		}
		if (n + dl + 1 > cap) {
			size_t ncap = cap ? cap : 65536;
			while (ncap < n + dl + 1)
				ncap *= 2;
			char *p = realloc(buf, ncap);
			if (!p) {
				free(buf);
				return kip_err_set(err, KIP_ENOMEM, "out of memory");
			}
			buf = p;
			cap = ncap;
		}
		memcpy(buf + n, data, dl);
		n += dl;
	}
	if (!buf && !(buf = malloc(1)))
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	buf[n] = '\0';
	*body = buf;
	*len = n;
	return 0;
}

/* An answer other than 200: INF_GONE for 410, else KIP_EIO with the Status message. */
static int inf_bad_status(struct kip_informer *inf, struct kip_http_stream *s, const char *what,
                          struct kip_err *err)
{
	int status = kip_http_stream_response(s)->status;
	if (status == 410)
		return INF_GONE;
	char *body = NULL, *message = NULL;
	size_t len = 0;
	int64_t code = 0;
	struct kip_err ignored;
	int rc = inf_read_body(inf, s, INF_STATUS_MAX, &body, &len, &ignored);
	if (rc == INF_STOP)
		return rc;
	if (rc == 0)
		k8s_parse_status(body, len, &code, &message, &ignored);
	kip_err_set(err, KIP_EIO, "%s %s: HTTP %d%s%s", what, inf->path, status, message ? ": " : "",
	            message ? message : "");
	free(message);
	free(body);
	return KIP_EIO;
}

/* --- list ----------------------------------------------------------------------------------------- */

/* Lists every page, then makes the cache match (queueing the differences). */
static int inf_list(struct kip_informer *inf, struct kip_err *err)
{
	struct k8s_list_page page = {0};
	int rc;
	for (;;) {
		char *url = inf_url(inf, page.cont, NULL);
		if (!url) {
			rc = kip_err_set(err, KIP_ENOMEM, "out of memory");
			break;
		}
		struct kip_http_stream *s = NULL;
		rc = inf_open(inf, url, INF_LIST_IDLE_MS, &s, err);
		free(url);
		if (rc)
			break;
		char *body = NULL;
		size_t len = 0;
		if (kip_http_stream_response(s)->status != 200)
			rc = inf_bad_status(inf, s, "list", err);
		else
			rc = inf_read_body(inf, s, INF_BODY_MAX, &body, &len, err);
		kip_http_stream_close(s);
		if (rc == 0) {
			rc = k8s_parse_list(body, len, &page, err);
			if (rc)
				inf_prefix(err, "list", inf->path);
			pthread_mutex_lock(&inf->mu);
			inf->stats.pages += rc == 0;
			pthread_mutex_unlock(&inf->mu);
		}
		free(body);
		if (rc || !page.cont)
			break;
	}
	if (rc == 0) {
		/* counted before the events are queued, so whoever sees them sees the counts too */
		pthread_mutex_lock(&inf->mu);
		bool relist = inf->stats.lists++ > 0;
		inf->stats.relists += relist;
		pthread_mutex_unlock(&inf->mu);
		rc = k8s_cache_replace(inf->cache, page.items, page.n, inf_delta, inf);
		pthread_mutex_lock(&inf->mu);
		if (rc == 0) {
			inf->synced = true;
		} else {
			inf->stats.lists--;
			inf->stats.relists -= relist;
		}
		pthread_mutex_unlock(&inf->mu);
		if (rc == 0) {
			free(page.items); /* the references went to the cache */
			page.items = NULL;
			page.n = 0;
			inf_set_rv(inf, &page.rv);
		} else {
			rc = kip_err_set(err, rc, "out of memory");
		}
	}
	k8s_list_page_free(&page);
	return rc;
}

/* --- watch ---------------------------------------------------------------------------------------- */

/* Applies one watch event. Returns 0, INF_GONE, or KIP_EIO for another ERROR event. */
static int inf_apply(struct kip_informer *inf, struct k8s_watch_event *ev, struct kip_err *err)
{
	struct kip_k8s_obj *old = NULL;
	if (ev->kind != K8S_EV_ERROR) { /* counted before the event is queued */
		pthread_mutex_lock(&inf->mu);
		if (ev->kind == K8S_EV_BOOKMARK)
			inf->stats.bookmarks++;
		else
			inf->stats.events++;
		pthread_mutex_unlock(&inf->mu);
	}
	switch (ev->kind) {
	case K8S_EV_ADDED:
	case K8S_EV_MODIFIED:
		if (k8s_cache_put(inf->cache, ev->obj, &old) != 0)
			return kip_err_set(err, KIP_ENOMEM, "out of memory");
		if (!old)
			inf_emit(inf, KIP_INFORMER_ADD, NULL, ev->obj);
		else if (strcmp(old->rv, ev->obj->rv) != 0 || !*old->rv)
			inf_emit(inf, KIP_INFORMER_UPDATE, old, ev->obj);
		ev->obj = NULL; /* the reference went to the cache */
		kip_k8s_obj_unref(old);
		break;
	case K8S_EV_DELETED:
		old = k8s_cache_remove(inf->cache, ev->obj->key);
		if (old)
			inf_emit(inf, KIP_INFORMER_DELETE, old, ev->obj);
		kip_k8s_obj_unref(old);
		break;
	case K8S_EV_BOOKMARK:
		break;
	case K8S_EV_ERROR:
		if (ev->code == 410)
			return INF_GONE;
		return kip_err_set(err, KIP_EIO, "watch %s: ERROR event %lld: %s", inf->path, (long long)ev->code,
		                   ev->message ? ev->message : "(no message)");
	}
	inf_set_rv(inf, &ev->rv);
	return 0;
}

/* Watches from the last resourceVersion until the stream ends (0), the server says 410
 * (INF_GONE), stop is asked for (INF_STOP), or a failure. *progress: whether an event or bookmark
 * was applied. */
static int inf_watch(struct kip_informer *inf, bool *progress, struct kip_err *err)
{
	*progress = false;
	pthread_mutex_lock(&inf->mu);
	char *url = inf_url(inf, NULL, inf->rv ? inf->rv : "");
	pthread_mutex_unlock(&inf->mu);
	if (!url)
		return kip_err_set(err, KIP_ENOMEM, "out of memory");
	struct kip_http_stream *s = NULL;
	/* the server ends the watch after timeoutSeconds; a silent one is given a minute more */
	int rc = inf_open(inf, url, (inf->watch_timeout_s * 6 / 5 + 60) * 1000u, &s, err);
	free(url);
	if (rc)
		return rc;
	if (kip_http_stream_response(s)->status != 200) {
		rc = inf_bad_status(inf, s, "watch", err);
		kip_http_stream_close(s);
		return rc;
	}
	pthread_mutex_lock(&inf->mu);
	inf->stats.watches++;
	pthread_mutex_unlock(&inf->mu);
	for (;;) {
		const char *line;
		size_t len;
		rc = kip_http_stream_readline(s, -1, &line, &len, err);
		if (rc == KIP_HTTP_AGAIN) {
			if (inf_stopping(inf)) {
				rc = INF_STOP;
				break;
			}
			continue;
		}
		if (rc != KIP_HTTP_DATA) /* KIP_HTTP_END (0) or a failure */
			break;
		if (len == 0 || (len == 1 && line[0] == '\r'))
			continue;
		struct k8s_watch_event ev;
		rc = k8s_parse_event(line, len, &ev, err);
		if (rc) {
			inf_prefix(err, "watch", inf->path);
			break;
		}
		rc = inf_apply(inf, &ev, err);
		k8s_watch_event_free(&ev);
		if (rc)
			break;
		*progress = true;
	}
	kip_http_stream_close(s);
	return rc;
}

/* --- the thread ----------------------------------------------------------------------------------- */

/* The next back-off: min doubling up to max, each within +-25 %. */
static unsigned inf_backoff(struct kip_informer *inf, unsigned *attempt)
{
	double ms = inf->backoff_min_ms;
	for (unsigned i = 0; i < *attempt && ms < inf->backoff_max_ms; i++)
		ms *= 2;
	if (ms > inf->backoff_max_ms)
		ms = inf->backoff_max_ms;
	if (*attempt < 64)
		(*attempt)++;
	return (unsigned)(ms * (0.75 + 0.5 * inf_random(inf)));
}

/* The loop: list when needed, else watch. Failures wait a back-off that grows until a watch
 * brings an event or a bookmark (or lasts 10 s); a watch ending after that reconnects at once. The
 * first 410 relists at once; another one before any progress waits a back-off too, so a server
 * answering 410 to every watch is not asked in a tight loop. */
static void *inf_main(void *arg)
{
	struct kip_informer *inf = arg;
	bool need_list = true;
	unsigned attempt = 0;     /* back-offs since the last watch that made progress */
	unsigned gone_streak = 0; /* 410s since then */
	for (;;) {
		if (inf_stopping(inf))
			break;
		struct kip_err err = {0};
		bool listed = need_list, progress = false, wait = false;
		int64_t started = inf_now_ms();
		int rc = listed ? inf_list(inf, &err) : inf_watch(inf, &progress, &err);
		if (rc == INF_STOP)
			break;
		if (rc == 0 && listed) {
			need_list = false; /* and watch at once */
			continue;
		}
		bool lasted = !listed && inf_now_ms() - started >= 10000;
		if (progress || lasted)
			attempt = 0, gone_streak = 0;
		if (rc == 0) {
			wait = !progress && !lasted; /* a watch that ended at once with nothing: do not hammer */
		} else if (rc == INF_GONE) {
			need_list = true;
			wait = gone_streak++ > 0; /* 410 again without progress in between */
		} else {
			inf_fail(inf, &err);
			wait = true;
		}
		if (wait && !inf_sleep(inf, inf_backoff(inf, &attempt)))
			break;
		pthread_mutex_lock(&inf->mu);
		inf->stats.reconnects++;
		bool stop = inf->stopping;
		pthread_mutex_unlock(&inf->mu);
		if (stop)
			break;
	}
	return NULL;
}

/* --- the owner's side ----------------------------------------------------------------------------- */

int kip_informer_start(struct kip_informer *inf, struct kip_err *err)
{
	pthread_mutex_lock(&inf->ctl);
	int rc = 0;
	if (inf->running) {
		rc = kip_err_set(err, KIP_EINVAL, "the informer of %s is running already", inf->path);
		goto out;
	}
	struct kip_http_client_opts o = {
		.ca_file = inf->ca_file, .ca_data = inf->ca_data, .ca_len = inf->ca_len,
		.cert_file = inf->cert_file, .cert_data = inf->cert_data, .cert_len = inf->cert_len,
		.key_file = inf->key_file, .key_data = inf->key_data, .key_len = inf->key_len,
		.insecure = inf->insecure, .token = inf->token, .connect_timeout_ms = INF_CONNECT_MS,
	};
	struct kip_http_client *client;
	rc = kip_http_client_new(&o, &client, err);
	if (rc)
		goto out;
	pthread_mutex_lock(&inf->mu);
	inf->client = client;
	inf->stopping = false;
	inf->running = true;
	inf->synced = false; /* until this run's list is done */
	pthread_mutex_unlock(&inf->mu);
	int e = pthread_create(&inf->thread, NULL, inf_main, inf);
	if (e) {
		pthread_mutex_lock(&inf->mu);
		inf->client = NULL;
		inf->running = false;
		pthread_mutex_unlock(&inf->mu);
		kip_http_client_free(client);
		rc = kip_err_sys(err, e, "cannot start the informer thread of %s", inf->path);
	}
out:
	pthread_mutex_unlock(&inf->ctl);
	return rc;
}

void kip_informer_stop(struct kip_informer *inf)
{
	pthread_mutex_lock(&inf->ctl);
	pthread_mutex_lock(&inf->mu);
	bool running = inf->running;
	if (running) {
		inf->stopping = true;
		kip_http_client_wakeup(inf->client);
	}
	inf->gen++;
	pthread_cond_broadcast(&inf->cond); /* the thread's back-off sleep and waiting owners */
	pthread_mutex_unlock(&inf->mu);
	if (running) {
		pthread_join(inf->thread, NULL);
		pthread_mutex_lock(&inf->mu);
		struct kip_http_client *client = inf->client;
		inf->client = NULL;
		inf->running = false;
		inf->stopping = false;
		pthread_mutex_unlock(&inf->mu);
		kip_http_client_free(client);
	}
	pthread_mutex_unlock(&inf->ctl);
}

int kip_informer_next(struct kip_informer *inf, int timeout_ms, struct kip_informer_event **ev)
{
	*ev = NULL;
	int64_t deadline = inf_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct timespec ts = inf_abstime(deadline);
	pthread_mutex_lock(&inf->mu);
	unsigned long gen = inf->gen;
	while (!inf->head && timeout_ms != 0 && inf->running && !inf->stopping && inf->gen == gen) {
		if (timeout_ms < 0)
			pthread_cond_wait(&inf->cond, &inf->mu);
		else if (pthread_cond_timedwait(&inf->cond, &inf->mu, &ts) != 0 && inf_now_ms() >= deadline)
			break;
	}
	if (inf->head) {
		*ev = inf->head;
		inf->head = (*ev)->next;
		if (!inf->head)
			inf->tail = NULL;
		(*ev)->next = NULL;
		inf->pending--;
	}
	pthread_mutex_unlock(&inf->mu);
	return *ev != NULL;
}

size_t kip_informer_pending(struct kip_informer *inf)
{
	pthread_mutex_lock(&inf->mu);
	size_t n = inf->pending;
	pthread_mutex_unlock(&inf->mu);
	return n;
}

struct kip_k8s_obj *kip_informer_get(struct kip_informer *inf, const char *key)
{
	return k8s_cache_get(inf->cache, key);
}

int kip_informer_list(struct kip_informer *inf, const char *ns, struct kip_k8s_obj ***objs, size_t *n)
{
	return k8s_cache_list(inf->cache, ns, objs, n);
}

bool kip_informer_synced(struct kip_informer *inf)
{
	pthread_mutex_lock(&inf->mu);
	bool synced = inf->synced;
	pthread_mutex_unlock(&inf->mu);
	return synced;
}

bool kip_informer_running(struct kip_informer *inf)
{
	pthread_mutex_lock(&inf->mu);
	bool running = inf->running && !inf->stopping;
	pthread_mutex_unlock(&inf->mu);
	return running;
}

void kip_informer_resource_version(struct kip_informer *inf, char *buf, size_t size)
{
	pthread_mutex_lock(&inf->mu);
	snprintf(buf, size, "%s", inf->rv ? inf->rv : "");
	pthread_mutex_unlock(&inf->mu);
}

void kip_informer_stats(struct kip_informer *inf, struct kip_informer_stats *out)
{
	pthread_mutex_lock(&inf->mu);
	*out = inf->stats;
	pthread_mutex_unlock(&inf->mu);
}
