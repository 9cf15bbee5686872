/* http — outbound HTTP client over libcurl for the provider clients.
 * One struct http_client per remote system: its CURL handle is reused across
 * requests (keep-alive, TLS session), with that system's connect and total
 * timeouts. Only requests marked idempotent are retried (with backoff) on
 * transport errors, 429 and 5xx; writes are never retried here. */
#ifndef PT_CORE_HTTP_H
#define PT_CORE_HTTP_H

#include <stddef.h>
#include "core/buf.h"
#include "core/err.h"

struct http_client;

struct http_client_opts {
	const char *system;      /* "salesforce", "whmcs", "freebit", "smtp"… for logs/metrics */
	long connect_timeout_ms; /* default 3000 */
	long total_timeout_ms;   /* default 10000 */
	int max_retries;         /* idempotent reads only; default 2 (0), -1 = never retry */
	long backoff_ms;         /* first backoff, doubled each retry; default 200 */
	size_t max_response;     /* response body cap; default 8 MiB */
};

struct http_client *http_client_new(const struct http_client_opts *opts);
void http_client_free(struct http_client *c);

struct http_request {
	const char *method;          /* "GET", "POST", "PATCH", "DELETE" */
	const char *url;
	const char *const *headers;  /* NULL-terminated "Name: value" list, may be NULL */
	const char *body;            /* may be NULL */
	size_t body_len;
	int idempotent;              /* 1 = may be retried */
	const char *op;              /* short operation name for logs ("query", "AddOrder") */
};

struct http_response {
	long status;
	struct buf body;
	char content_type[128];
	char retry_after[32];        /* raw Retry-After header, "" if none */
};

/* Initialises *resp (call http_response_free after either outcome); the whole
 * call, retries included, ends within total_timeout_ms.
 * 0 when an HTTP response was received (any status: the caller maps it);
 * -1 + PT_UPSTREAM_UNAVAILABLE on transport failure, with provider_code
 * "ETIMEOUT", "ECONNREFUSED", "ECONNRESET", "ETOOBIG" or "ECURL", and
 * err->not_applied = 1 when the failure came before the request was sent
 * (name resolution, connect, TLS handshake, connect timeout), else 0. */
int http_do(struct http_client *c, const struct http_request *req,
	struct http_response *resp, struct pt_err *err);
void http_response_free(struct http_response *resp);

/* ---- per-attempt stats, read by /metrics ------------------------------
 * Every attempt http_do makes (each retry is one) is counted in a
 * process-local table: system label x outcome, and a latency histogram per
 * system. No allocation and no I/O per call: the web layer (after each reply)
 * and portal-provisiond (its loop) drain it into Redis. A mutex guards the
 * table because portal-subscriberd calls providers from several threads; it
 * is taken once per attempt, next to a network round trip, so it costs
 * nothing measurable, and one table keeps the drain a single copy. */
enum http_outcome {
	HTTP_OUTCOME_OK,         /* a 1xx-3xx response */
	HTTP_OUTCOME_4XX,
	HTTP_OUTCOME_5XX,
	HTTP_OUTCOME_TIMEOUT,
	HTTP_OUTCOME_CONNECT,    /* resolve, connect, TLS handshake, reset, no reply */
	HTTP_OUTCOME_TOO_BIG,    /* response over max_response */
	HTTP_OUTCOME_ERROR,      /* any other transport error */
	HTTP_OUTCOME_N
};

/* Latency bucket upper bounds (ms), the route histogram's (web/app.c);
 * one more bucket, +Inf, follows them. */
#define HTTP_STATS_NBOUNDS 11
#define HTTP_STATS_NBUCKETS (HTTP_STATS_NBOUNDS + 1)
extern const long http_stats_bounds_ms[HTTP_STATS_NBOUNDS];

/* Rows claimed by system label in order of first use; the last row is
 * "other", for labels beyond the table or not made of [a-z0-9_-]. */
#define HTTP_STATS_ROWS 8
#define HTTP_STATS_OTHER "other"

struct http_stats_row {
	char system[24];                          /* "" = unused row */
	unsigned long count[HTTP_OUTCOME_N];
	unsigned long bucket[HTTP_STATS_NBUCKETS];  /* per bucket, not cumulative */
	unsigned long long sum_ms;
};

struct http_stats {
	struct http_stats_row row[HTTP_STATS_ROWS];
	unsigned long attempts;                   /* sum of every count */
};

const char *http_outcome_name(enum http_outcome o);
/* The outcome of one attempt: libcurl's result, the HTTP status when the
 * transfer completed, and whether the body cap was hit. */
enum http_outcome http_outcome_of(int curl_code, long status, int too_big);
/* Index into bucket[] for a latency. */
size_t http_stats_bucket(long ms);
void http_stats_record(const char *system, enum http_outcome o, long ms);
/* Copies the table into *out and zeroes its counts (labels keep their rows);
 * returns out->attempts, 0 when nothing was recorded since the last drain. */
unsigned long http_stats_drain(struct http_stats *out);

/* curl_global_init once per process (not thread-safe; call from main). */
int http_global_init(void);
void http_global_cleanup(void);

#endif
