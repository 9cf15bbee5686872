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

/* curl_global_init once per process (not thread-safe; call from main). */
int http_global_init(void);
void http_global_cleanup(void);

#endif
