/* app — the main of every FastCGI program: config load and validation
 * (exit 78 naming the key), logging, the FCGX_Accept_r loop (or exactly one
 * request when started as plain CGI), per-request cleanup, one access log
 * line per request, and SIGTERM/SIGUSR1 = finish the current request, exit 0.
 * $PORTAL_LOG_FILE: stderr is that file (log_set_file), and under FastCGI
 * SIGHUP re-opens it by name between requests (logrotate), the process
 * serving on. Handlers reach the per-process context (config, lazily opened
 * db/redis). */
#ifndef PT_WEB_APP_H
#define PT_WEB_APP_H

#include <stddef.h>
#include "core/config.h"
#include "store/db.h"
#include "store/redis.h"
#include "web/router.h"

struct web_ctx;

/* Environment variable naming the apps' log file (etc/init.d/portal-fcgi sets
 * it to LOGDIR/portal-<app>.log). */
#define WEB_LOG_FILE_ENV "PORTAL_LOG_FILE"

/* Per-route request metrics every app adds to after each reply (one pipelined
 * round trip) and /metrics reads: hash fields "app method route status" (count),
 * "app method route" (latency sum, ms) and "app method route le" (requests in
 * that latency bucket, not cumulative; le in ms or "+Inf"). route is the
 * matched pattern, "-" when none matched. */
#define WEB_METRICS_REQUESTS_KEY       "metrics:http:requests"
#define WEB_METRICS_LATENCY_SUM_KEY    "metrics:http:latency_ms_sum"
#define WEB_METRICS_LATENCY_BUCKET_KEY "metrics:http:latency_ms_bucket"

/* Outbound provider calls (core/http.h stats, one count per attempt): fields
 * "system outcome" (count), "system" (latency sum, ms) and "system le"
 * (attempts in that latency bucket, not cumulative; le in ms or "+Inf").
 * Written by the apps after a reply that made such calls (same round trip as
 * the route metrics) and by portal-provisiond's loop. */
#define WEB_METRICS_PROVIDER_REQUESTS_KEY       "metrics:provider:requests"
#define WEB_METRICS_PROVIDER_LATENCY_SUM_KEY    "metrics:provider:latency_ms_sum"
#define WEB_METRICS_PROVIDER_LATENCY_BUCKET_KEY "metrics:provider:latency_ms_bucket"

struct web_app_def {
	const char *name;                   /* "portal-health": log app name */
	const struct web_route *routes;
	size_t nroutes;
	const char *const *required_keys;   /* NULL-terminated; NULL = none */
	/* Optional, run once after config and log are up; -1 + err exits 78
	 * for PT_CONFIG_INVALID, 1 otherwise. */
	int (*init)(struct web_ctx *ctx, struct pt_err *err);
	/* Optional, run once before exit to free what init made. */
	void (*fini)(struct web_ctx *ctx);
	/* WEB_BODY_JSON (default): a body must be application/json, else 415
	 * UNSUPPORTED_MEDIA_TYPE; WEB_BODY_ANY: handlers take any body. */
	enum web_body_types bodies;
};

/* Runs the app; returns the process exit status. */
int web_app_run(const struct web_app_def *def, int argc, char **argv);

/* Per-process context. The db and redis connections open on first use and
 * are kept across requests (the store modules re-open after failures);
 * NULL only when the URL is unset or on ENOMEM. */
const struct pt_config *web_ctx_config(struct web_ctx *ctx);
struct db *web_ctx_db(struct web_ctx *ctx);
struct redis *web_ctx_redis(struct web_ctx *ctx);
const char *web_ctx_app_name(const struct web_ctx *ctx);
/* The app's own state (set in init). */
void *web_ctx_user(struct web_ctx *ctx);
void web_ctx_set_user(struct web_ctx *ctx, void *user);
/* Requests served so far by this process, and its start time (unix s). */
unsigned long web_ctx_requests(const struct web_ctx *ctx);
long long web_ctx_started_at(const struct web_ctx *ctx);

/* Drains this process's provider call stats into the WEB_METRICS_PROVIDER_*
 * hashes in one pipelined round trip; sends nothing when no call was made
 * since the last drain. For processes outside web_app_run (portal-provisiond).
 * While *skip_until_us (CLOCK_MONOTONIC, us; start at 0) is ahead nothing is
 * drained, so the counts wait in the process; a Redis failure sets it 10 s
 * ahead and loses that batch (a half-applied pipeline must not be re-sent). */
void web_metrics_flush_providers(struct redis *r, long long *skip_until_us);

/* Builds a context without running the loop (tests, tools). */
struct web_ctx *web_ctx_new(const struct web_app_def *def, const struct pt_config *cfg);
void web_ctx_free(struct web_ctx *ctx);

/* Serves one already-parsed environment (used by the loop and by tests):
 * parse, dispatch, send, access log. Returns the HTTP status sent, or -1 when
 * the response could not be written. */
int web_app_serve(struct web_ctx *ctx, char *const *envp, const struct web_body_reader *rd,
	const struct web_out *out);

#endif
