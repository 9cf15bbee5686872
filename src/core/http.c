/* http — libcurl easy handle per remote system, reused across requests so
 * connections and TLS sessions stay warm. The whole call, retries included,
 * stays inside the system's total timeout: a slow provider never holds a
 * customer's request longer than configured. Only idempotent requests are
 * retried; a write with an unknown outcome is the caller's to resolve. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

#include "core/http.h"
#include "core/log.h"

/* A Retry-After longer than this is not waited for: the caller gets the
 * 429/503 and passes Retry-After on instead of holding a worker. */
#define HTTP_RETRY_AFTER_MAX_MS 5000L

struct http_client {
	CURL *curl;
	struct http_client_opts o;
	char system[32];
};

struct http_call {
	struct http_response *resp;
	int too_big;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

struct http_client *http_client_new(const struct http_client_opts *opts)
{
	struct http_client *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	if (opts)
		c->o = *opts;
	snprintf(c->system, sizeof c->system, "%s",
		opts && opts->system ? opts->system : "http");
	c->o.system = c->system;
	if (c->o.connect_timeout_ms <= 0)
		c->o.connect_timeout_ms = 3000;
	if (c->o.total_timeout_ms <= 0)
		c->o.total_timeout_ms = 10000;
	/* 0 means "default" like every other field; -1 asks for no retries. */
	if (c->o.max_retries < 0)
		c->o.max_retries = 0;
	else if (c->o.max_retries == 0)
		c->o.max_retries = 2;
	if (c->o.backoff_ms <= 0)
		c->o.backoff_ms = 200;
	if (c->o.max_response == 0)
		c->o.max_response = 8u << 20;
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return NULL;
	}
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

void http_response_free(struct http_response *resp)
{
	if (resp)
		buf_free(&resp->body);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct http_call *call = ud;

	if (buf_append(&call->resp->body, p, size * n) != 0) {
		call->too_big = 1;
		return 0;   /* aborts the transfer */
	}
	return size * n;
}

/* Copies the trimmed value of "Name: value" into out when the name matches. */
static int header_value(const char *p, size_t len, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);

	if (len <= nl || p[nl] != ':' || strncasecmp(p, name, nl) != 0)
		return 0;
	p += nl + 1;
	len -= nl + 1;
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
		len--;
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct http_call *call = ud;
	struct http_response *r = call->resp;
	size_t len = size * n;

	/* A new status line (after 100 Continue): forget the previous headers. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		r->content_type[0] = '\0';
		r->retry_after[0] = '\0';
	} else if (!header_value(p, len, "Content-Type", r->content_type,
			sizeof r->content_type)) {
		header_value(p, len, "Retry-After", r->retry_after, sizeof r->retry_after);
	}
	return len;
}

/* Retry-After as milliseconds from now (delta-seconds or HTTP-date); -1 if absent/bad. */
static long retry_after_ms(const char *v)
{
	char *end;

	if (!v[0])
		return -1;
	if (v[0] >= '0' && v[0] <= '9') {
		errno = 0;
		long s = strtol(v, &end, 10);
		if (errno || *end || s > 86400)
			return -1;
		return s * 1000L;
	}
	time_t t = curl_getdate(v, NULL);
	if (t < 0)
		return -1;
	time_t now = time(NULL);
	return t <= now ? 0 : (long)(t - now) * 1000L;
}

static int valid_method(const char *m)
{
	size_t i = 0;

	for (; m[i]; i++)
		if (m[i] < 'A' || m[i] > 'Z' || i > 10)
			return 0;
	return i > 0;
}

/* CR/LF in a header or URL would let a value smuggle extra headers. */
static int has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int http_build_headers(const struct http_request *req, struct curl_slist **out,
	struct pt_err *err)
{
	struct curl_slist *list = NULL, *tmp;

	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		if (has_ctl(req->headers[i]) || !strchr(req->headers[i], ':')) {
			curl_slist_free_all(list);
			return pt_err_set(err, PT_INTERNAL, "http: bad request header #%zu", i);
		}
		if (!(tmp = curl_slist_append(list, req->headers[i])))
			goto oom;
		list = tmp;
	}
	/* No "Expect: 100-continue" round trip: our bodies are small. */
	if (!(tmp = curl_slist_append(list, "Expect:")))
		goto oom;
	*out = tmp;
	return 0;
oom:
	curl_slist_free_all(list);
	return pt_err_set(err, PT_INTERNAL, "http: out of memory");
}

static void http_setup(struct http_client *c, const struct http_request *req,
	struct curl_slist *headers, struct http_call *call, long timeout_ms)
{
	CURL *h = c->curl;

	/* reset keeps the connection cache, DNS cache and TLS sessions. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
		c->o.connect_timeout_ms < timeout_ms ? c->o.connect_timeout_ms : timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/* libcurl silently re-sends a request once when a reused keep-alive
	 * connection turns out dead, POST included: a write (AddOrder, addSpec)
	 * could then run twice. Writes therefore always get a fresh connection. */
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, req->idempotent ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "portal");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->o.max_response);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, call);
	if (strcmp(req->method, "GET") == 0 && !req->body) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body || strcmp(req->method, "POST") == 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		}
	}
}

/* 1 when the failed transfer never reached the point of sending the
 * request: libcurl stamps PRETRANSFER (>= 1 us) just before the request
 * goes out, so a connect timeout, refused connection, DNS or TLS handshake
 * failure leaves it 0. Anything later may have reached the server. */
static int http_not_sent(CURL *h)
{
	curl_off_t pre = 0;

	if (curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre) != CURLE_OK)
		return 0;
	return pre == 0;
}

static const char *http_transport_code(CURLcode rc, int too_big)
{
	if (too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return "ETOOBIG";
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return "ETIMEOUT";
	case CURLE_COULDNT_CONNECT:
		return "ECONNREFUSED";
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return "ECONNRESET";
	default:
		return "ECURL";
	}
}

/* ms to wait before the next attempt, or -1 when this outcome must not be
 * retried (writes, 4xx, too big, no time left in the budget). */
static long http_retry_delay(const struct http_client *c, const struct http_request *req,
	int attempt, const char *tcode, const struct http_response *resp, long deadline)
{
	long delay;

	if (!req->idempotent || attempt >= c->o.max_retries)
		return -1;
	if (tcode) {
		if (strcmp(tcode, "ETOOBIG") == 0)
			return -1;
	} else if (resp->status != 429 && resp->status < 500) {
		return -1;
	}
	delay = c->o.backoff_ms << (attempt < 16 ? attempt : 16);
	if (!tcode) {
		long ra = retry_after_ms(resp->retry_after);
		if (ra > HTTP_RETRY_AFTER_MAX_MS)
			return -1;
		if (ra > delay)
			delay = ra;
	}
	/* Keep at least a short slice for the attempt itself. */
	if (now_ms() + delay + 50 >= deadline)
		return -1;
	return delay;
}

/* ---- per-attempt stats ------------------------------------------------ */

const long http_stats_bounds_ms[HTTP_STATS_NBOUNDS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_stats stats;

const char *http_outcome_name(enum http_outcome o)
{
	static const char *const names[HTTP_OUTCOME_N] = { "ok", "http_4xx", "http_5xx",
		"timeout", "connect", "too_big", "error" };

	return (unsigned)o < HTTP_OUTCOME_N ? names[o] : "error";
}

enum http_outcome http_outcome_of(int curl_code, long status, int too_big)
{
	if (too_big || curl_code == CURLE_FILESIZE_EXCEEDED)
		return HTTP_OUTCOME_TOO_BIG;
	switch (curl_code) {
	case CURLE_OK:
		break;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_OUTCOME_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return HTTP_OUTCOME_CONNECT;
	default:
		return HTTP_OUTCOME_ERROR;
	}
	if (status >= 500)
		return HTTP_OUTCOME_5XX;
	return status >= 400 ? HTTP_OUTCOME_4XX : HTTP_OUTCOME_OK;
}

size_t http_stats_bucket(long ms)
{
	size_t i = 0;

	while (i < HTTP_STATS_NBOUNDS && ms > http_stats_bounds_ms[i])
		i++;
	return i;
}

/* Labels end up in Prometheus label values: only a short [a-z0-9_-] name
 * gets its own row, so nothing odd (or secret) can reach /metrics. */
static int stats_label_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		      s[n] == '_' || s[n] == '-'))
			return 0;
	return n > 0 && n < sizeof stats.row[0].system;
}

/* Caller holds stats_lock. */
static struct http_stats_row *stats_row(const char *system)
{
	struct http_stats_row *other = &stats.row[HTTP_STATS_ROWS - 1];

	if (system && stats_label_ok(system) && strcmp(system, HTTP_STATS_OTHER) != 0)
		for (size_t i = 0; i < HTTP_STATS_ROWS - 1; i++) {
			struct http_stats_row *r = &stats.row[i];
			if (!r->system[0])
				snprintf(r->system, sizeof r->system, "%s", system);
			if (!strcmp(r->system, system))
				return r;
		}
	if (!other->system[0])
		snprintf(other->system, sizeof other->system, "%s", HTTP_STATS_OTHER);
	return other;
}

void http_stats_record(const char *system, enum http_outcome o, long ms)
{
	if ((unsigned)o >= HTTP_OUTCOME_N)
		o = HTTP_OUTCOME_ERROR;
	if (ms < 0)
		ms = 0;
	pthread_mutex_lock(&stats_lock);
	struct http_stats_row *r = stats_row(system);
	r->count[o]++;
	r->bucket[http_stats_bucket(ms)]++;
	r->sum_ms += (unsigned long long)ms;
	stats.attempts++;
	pthread_mutex_unlock(&stats_lock);
}

unsigned long http_stats_drain(struct http_stats *out)
{
	pthread_mutex_lock(&stats_lock);
	*out = stats;
	for (size_t i = 0; i < HTTP_STATS_ROWS; i++) {
		struct http_stats_row *r = &stats.row[i];
		memset(r->count, 0, sizeof r->count);
		memset(r->bucket, 0, sizeof r->bucket);
		r->sum_ms = 0;
	}
	stats.attempts = 0;
	pthread_mutex_unlock(&stats_lock);
	return out->attempts;
}

static void http_log(const struct http_client *c, const struct http_request *req,
	long status, long latency, int attempts, const char *tcode)
{
	char s[24], l[24], a[24];

	log_debug("http call", "system", c->system, "op", req->op ? req->op : req->method,
		"method", req->method, "status", log_itoa(status, s),
		"latency_ms", log_itoa(latency, l), "attempts", log_itoa(attempts, a),
		"error", tcode ? tcode : "none");
}

int http_do(struct http_client *c, const struct http_request *req,
	struct http_response *resp, struct pt_err *err)
{
	struct curl_slist *headers = NULL;
	struct http_call call = { resp, 0 };
	const char *tcode = NULL;
	CURLcode rc = CURLE_OK;
	int not_sent = 0;
	long start = now_ms(), deadline = start + c->o.total_timeout_ms;
	int attempt = 0;

	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, c->o.max_response);
	if (err)
		err->not_applied = 1;   /* until a transfer was attempted */
	if (!req->method || !valid_method(req->method) || !req->url || has_ctl(req->url))
		return pt_err_set(err, PT_INTERNAL, "http %s: bad method or URL", c->system);
	if (http_build_headers(req, &headers, err) != 0)
		return -1;
	if (err)
		err->not_applied = 0;
	for (;; attempt++) {
		buf_reset(&resp->body);
		resp->status = 0;
		resp->content_type[0] = resp->retry_after[0] = '\0';
		call.too_big = 0;
		long t0 = now_ms();
		http_setup(c, req, headers, &call, deadline - t0);
		rc = curl_easy_perform(c->curl);
		tcode = NULL;
		if (rc == CURLE_OK)
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		else
			tcode = http_transport_code(rc, call.too_big);
		http_stats_record(c->system, http_outcome_of(rc, resp->status, call.too_big),
			now_ms() - t0);
		not_sent = tcode && !call.too_big && http_not_sent(c->curl);
		long delay = http_retry_delay(c, req, attempt, tcode, resp, deadline);
		if (delay < 0)
			break;
		sleep_ms(delay);
	}
	curl_slist_free_all(headers);
	/* Drop the handle's pointers to this call's stack and header list. */
	curl_easy_reset(c->curl);
	http_log(c, req, resp->status, now_ms() - start, attempt + 1, tcode);
	if (tcode) {
		buf_free(&resp->body);
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "%s %s: %s (%s)", c->system,
			req->op ? req->op : req->method, tcode, curl_easy_strerror(rc));
		pt_err_provider(err, tcode);
		if (err)
			err->not_applied = not_sent;
		return -1;
	}
	return 0;
}
