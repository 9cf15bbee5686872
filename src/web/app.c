/* app — the FastCGI main loop shared by every portal-*.fcgi.
 * One request at a time per process (the web server runs several processes);
 * everything a request allocates is freed before the next accept, and what
 * is worth keeping (config, db and redis connections) lives in the context. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcgiapp.h>

#include "core/http.h"
#include "core/log.h"
#include "web/app.h"

extern char **environ;

struct web_ctx {
	const struct web_app_def *def;
	const struct pt_config *cfg;
	struct db *db;
	struct redis *redis;
	void *user;
	size_t max_body;
	unsigned long requests;
	long long started_at;
	struct web_hit {             /* the last request, counted after the reply is out */
		int pending;
		char method[16];
		char route[128];
		int status;
		long ms;
	} hit;
	long long metrics_skip_until_us;  /* Redis failed: stop counting for a while */
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;  /* SIGHUP: re-open PORTAL_LOG_FILE */

/* ---- context ---------------------------------------------------------- */

static long cfg_long(const struct pt_config *cfg, const char *key, long dflt)
{
	struct pt_err err;
	long v = dflt;

	pt_err_clear(&err);
	if (!cfg || config_get_long(cfg, key, &v, &err) != 0)
		return dflt;
	return v;
}

struct web_ctx *web_ctx_new(const struct web_app_def *def, const struct pt_config *cfg)
{
	struct web_ctx *ctx = calloc(1, sizeof *ctx);

	if (!ctx)
		return NULL;
	ctx->def = def;
	ctx->cfg = cfg;
	ctx->max_body = (size_t)cfg_long(cfg, "HTTP_MAX_BODY", WEB_DEFAULT_MAX_BODY);
	ctx->started_at = (long long)time(NULL);
	return ctx;
}

void web_ctx_free(struct web_ctx *ctx)
{
	if (!ctx)
		return;
	db_free(ctx->db);
	redis_free(ctx->redis);
	free(ctx);
}

const struct pt_config *web_ctx_config(struct web_ctx *ctx)
{
	return ctx->cfg;
}

struct db *web_ctx_db(struct web_ctx *ctx)
{
	const char *url;

	if (ctx->db)
		return ctx->db;
	url = ctx->cfg ? config_get(ctx->cfg, "DATABASE_URL") : NULL;
	if (!url || !*url)
		return NULL;
	ctx->db = db_new(url, (int)cfg_long(ctx->cfg, "DB_CONNECT_TIMEOUT_S", 3),
		cfg_long(ctx->cfg, "DB_STATEMENT_TIMEOUT_MS", 5000));
	return ctx->db;
}

struct redis *web_ctx_redis(struct web_ctx *ctx)
{
	const char *url;

	if (ctx->redis)
		return ctx->redis;
	url = ctx->cfg ? config_get(ctx->cfg, "REDIS_URL") : NULL;
	if (!url || !*url)
		return NULL;
	ctx->redis = redis_new(url, cfg_long(ctx->cfg, "REDIS_CONNECT_TIMEOUT_MS", 500),
		cfg_long(ctx->cfg, "REDIS_COMMAND_TIMEOUT_MS", 1000));
	return ctx->redis;
}

const char *web_ctx_app_name(const struct web_ctx *ctx)
{
	return ctx->def && ctx->def->name ? ctx->def->name : "portal";
}

void *web_ctx_user(struct web_ctx *ctx)
{
	return ctx->user;
}

void web_ctx_set_user(struct web_ctx *ctx, void *user)
{
	ctx->user = user;
}

unsigned long web_ctx_requests(const struct web_ctx *ctx)
{
	return ctx->requests;
}

long long web_ctx_started_at(const struct web_ctx *ctx)
{
	return ctx->started_at;
}

/* ---- one request ------------------------------------------------------ */

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Never the query string or cookies: they can carry tokens. request_id is
 * attached by log_set_request_id. */
static void access_log(const struct web_request *req, int status)
{
	char st[24], ms[24];
	long latency = (long)((mono_us() - req->started_us) / 1000);
	struct web_hit *h = &req->ctx->hit;

	log_info("request", "method", req->method_name, "path", req->path ? req->path : "-",
		"status", log_itoa(status, st), "latency_ms", log_itoa(latency, ms));
	/* The route pattern, never the path: label values stay a bounded set. */
	snprintf(h->method, sizeof h->method, "%s", req->method_name ? req->method_name : "-");
	snprintf(h->route, sizeof h->route, "%s", req->route ? req->route : "-");
	h->status = status;
	h->ms = latency;
	h->pending = 1;
}

/* Per-route request counts and latency for /metrics, shared by every process
 * through three Redis hashes (field "app method route [status|le]"): three
 * HINCRBY in one pipelined round trip, sent after the reply is finished so
 * the client never waits for it. The provider calls the request made ride in
 * the same round trip; a request that made none adds nothing. A Redis failure
 * pauses counting for 10 s. Buckets are http.c's, so both histograms match. */
#define METRICS_FIELD_MAX 256
#define METRICS_CMDS_MAX (3 + HTTP_STATS_ROWS * (HTTP_OUTCOME_N + HTTP_STATS_NBUCKETS + 1))
#define METRICS_PAUSE_US (10 * 1000000LL)

/* One pipeline of HINCRBY in fixed storage (~50 KiB of stack, no malloc). */
struct metrics_batch {
	int n;
	int argc[METRICS_CMDS_MAX];
	const char *const *argv[METRICS_CMDS_MAX];
	const char *args[METRICS_CMDS_MAX][4];
	char field[METRICS_CMDS_MAX][METRICS_FIELD_MAX];
	char value[METRICS_CMDS_MAX][24];
};

__attribute__((format(printf, 4, 5)))
static void batch_add(struct metrics_batch *b, const char *key, long long incr,
	const char *fmt, ...)
{
	va_list ap;
	int i = b->n;

	/* Sized for every row, outcome and bucket: full only if that changes. */
	if (i >= METRICS_CMDS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(b->field[i], sizeof b->field[i], fmt, ap);
	va_end(ap);
	snprintf(b->value[i], sizeof b->value[i], "%lld", incr);
	b->args[i][0] = "HINCRBY";
	b->args[i][1] = key;
	b->args[i][2] = b->field[i];
	b->args[i][3] = b->value[i];
	b->argc[i] = 4;
	b->argv[i] = b->args[i];
	b->n++;
}

static void le_name(size_t bucket, char out[24])
{
	if (bucket < HTTP_STATS_NBOUNDS)
		snprintf(out, 24, "%ld", http_stats_bounds_ms[bucket]);
	else
		snprintf(out, 24, "+Inf");
}

static void batch_add_provider_row(struct metrics_batch *b, const struct http_stats_row *r)
{
	unsigned long total = 0;
	char le[24];

	for (int o = 0; o < HTTP_OUTCOME_N; o++)
		if (r->count[o]) {
			total += r->count[o];
			batch_add(b, WEB_METRICS_PROVIDER_REQUESTS_KEY, (long long)r->count[o],
				"%s %s", r->system, http_outcome_name((enum http_outcome)o));
		}
	for (size_t k = 0; k < HTTP_STATS_NBUCKETS; k++)
		if (r->bucket[k]) {
			le_name(k, le);
			batch_add(b, WEB_METRICS_PROVIDER_LATENCY_BUCKET_KEY, (long long)r->bucket[k],
				"%s %s", r->system, le);
		}
	if (total)
		batch_add(b, WEB_METRICS_PROVIDER_LATENCY_SUM_KEY, (long long)r->sum_ms,
			"%s", r->system);
}

/* Adds what the provider calls since the last drain recorded, if any. */
static void batch_add_providers(struct metrics_batch *b)
{
	struct http_stats s;

	if (!http_stats_drain(&s))
		return;
	for (size_t i = 0; i < HTTP_STATS_ROWS; i++)
		if (s.row[i].system[0])
			batch_add_provider_row(b, &s.row[i]);
}

static void batch_send(struct redis *r, struct metrics_batch *b, long long *skip_until_us)
{
	struct pt_err err;

	if (!b->n)
		return;
	pt_err_clear(&err);
	if (redis_pipeline_argv(r, b->n, b->argc, b->argv, &err) != 0)
		*skip_until_us = mono_us() + METRICS_PAUSE_US;
}

void web_metrics_flush_providers(struct redis *r, long long *skip_until_us)
{
	struct metrics_batch b;

	if (!r || mono_us() < *skip_until_us)
		return;
	b.n = 0;
	batch_add_providers(&b);
	batch_send(r, &b, skip_until_us);
}

static void metrics_flush(struct web_ctx *ctx)
{
	struct web_hit *h = &ctx->hit;
	struct metrics_batch b;
	const char *app = ctx->def->name;
	char le[24];

	if (!h->pending)
		return;
	h->pending = 0;
	if (mono_us() < ctx->metrics_skip_until_us || !ctx->cfg ||
	    !config_get(ctx->cfg, "REDIS_URL"))
		return;
	b.n = 0;
	le_name(http_stats_bucket(h->ms), le);
	batch_add(&b, WEB_METRICS_REQUESTS_KEY, 1, "%s %s %s %d", app, h->method, h->route,
		h->status);
	batch_add(&b, WEB_METRICS_LATENCY_SUM_KEY, h->ms < 0 ? 0 : h->ms, "%s %s %s", app,
		h->method, h->route);
	batch_add(&b, WEB_METRICS_LATENCY_BUCKET_KEY, 1, "%s %s %s %s", app, h->method,
		h->route, le);
	batch_add_providers(&b);
	batch_send(web_ctx_redis(ctx), &b, &ctx->metrics_skip_until_us);
}

static void dispatch(struct web_ctx *ctx, struct web_request *req, char *const *envp,
	const struct web_body_reader *rd)
{
	struct pt_err err;

	pt_err_clear(&err);
	int rc = web_request_parse(req, envp, rd, ctx->max_body, &err);
	/* After parsing: the id may be the client's X-Request-Id. */
	log_set_request_id(req->request_id);
	if (rc != 0) {
		log_info("request rejected", "code", pt_err_code_name(err.code),
			"reason", err.detail);
		web_reply_error(req, &err);
		return;
	}
	web_route_dispatch_bodies(ctx->def->routes, ctx->def->nroutes, req, ctx->def->bodies);
}

int web_app_serve(struct web_ctx *ctx, char *const *envp, const struct web_body_reader *rd,
	const struct web_out *out)
{
	struct web_request *req = web_request_new();
	int status;

	if (!req) {
		static const char oom[] = "Status: 500 Internal Server Error\r\n"
			"Content-Type: application/json; charset=utf-8\r\n\r\n"
			"{\"error\":{\"code\":\"INTERNAL\"}}";
		out->write(out->ctx, oom, sizeof oom - 1);
		return -1;
	}
	req->ctx = ctx;
	ctx->requests++;
	dispatch(ctx, req, envp, rd);
	status = req->res.status;
	if (web_response_send(req, out) != 0) {
		log_info("client went away before the response was written");
		status = -1;
	}
	access_log(req, req->res.status);
	log_set_request_id(NULL);
	web_request_free(req);
	return status;
}

/* ---- I/O adapters ----------------------------------------------------- */

static long fcgx_read(void *ctx, char *dst, size_t n)
{
	int r = FCGX_GetStr(dst, n > INT_MAX ? INT_MAX : (int)n, ctx);

	return r < 0 ? -1 : r;
}

static long fcgx_write(void *ctx, const char *p, size_t n)
{
	int r = FCGX_PutStr(p, n > INT_MAX ? INT_MAX : (int)n, ctx);

	return r < 0 ? -1 : r;
}

static long stdio_read(void *ctx, char *dst, size_t n)
{
	size_t r = fread(dst, 1, n, ctx);

	return r == 0 && ferror((FILE *)ctx) ? -1 : (long)r;
}

static long stdio_write(void *ctx, const char *p, size_t n)
{
	size_t w = fwrite(p, 1, n, ctx);

	return w == 0 ? -1 : (long)w;
}

/* ---- process ---------------------------------------------------------- */

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
	/* Makes a blocked FCGX_Accept_r return instead of retrying. */
	FCGX_ShutdownPending();
}

/* Only a flag: the file is re-opened by the loop, between requests. */
static void on_hup(int sig)
{
	(void)sig;
	reopen_requested = 1;
}

/* No SA_RESTART: the signal must interrupt accept(). SIGPIPE ignored so a
 * client that hangs up costs a failed write, not the process. */
static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* SIGHUP (logrotate through `portal-fcgi reopen-logs`) must neither stop the
 * process (its default) nor end the accept loop: SA_RESTART makes a blocked
 * accept() carry on transparently, unlike SIGTERM/SIGUSR1 above, which
 * FCGI_FAIL_ACCEPT_ON_INTR turns into the end of FCGX_Accept_r. */
static void install_hup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
}

/* Called only between requests, so no line of a request is split across the
 * old and the new file, and log_reopen never runs inside a handler. */
static void reopen_if_asked(void)
{
	if (!reopen_requested)
		return;
	reopen_requested = 0;  /* first: a SIGHUP during the re-open asks again */
	log_reopen();
	log_info("SIGHUP: logs reopened");
}

static int serve_cgi(struct web_ctx *ctx)
{
	struct web_body_reader rd = { stdio_read, stdin };
	struct web_out out = { stdio_write, stdout };

	web_app_serve(ctx, environ, &rd, &out);
	int rc = fflush(stdout) == 0 ? 0 : 1;
	metrics_flush(ctx);
	return rc;
}

static int serve_fcgi(struct web_ctx *ctx)
{
	FCGX_Request r;
	sigset_t hup;

	if (FCGX_InitRequest(&r, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_crit("FCGX_InitRequest failed");
		return 1;
	}
	/* SIGHUP is let in only while waiting in FCGX_Accept_r: SA_RESTART does
	 * not restart poll(), nanosleep() or a socket read with a timeout, so a
	 * SIGHUP in the middle of a request could fail its Redis/PostgreSQL/
	 * upstream call with EINTR. Blocked, it waits (pending) for the end of
	 * the request. */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_BLOCK, &hup, NULL);
	install_hup();
	while (!stop_requested) {
		/* A SIGHUP that came during the last request runs its handler here,
		 * so this process moves to the new file before it waits again. */
		sigprocmask(SIG_UNBLOCK, &hup, NULL);
		reopen_if_asked();
		int acc = FCGX_Accept_r(&r);
		sigprocmask(SIG_BLOCK, &hup, NULL);
		if (acc < 0)
			break;
		/* One that came while idle in accept: before this request's lines. */
		reopen_if_asked();
		struct web_body_reader rd = { fcgx_read, r.in };
		struct web_out out = { fcgx_write, r.out };
		web_app_serve(ctx, r.envp, &rd, &out);
		FCGX_Finish_r(&r);
		metrics_flush(ctx);
	}
	FCGX_Free(&r, 1);
	/* A failed accept that no signal asked for is worth a non-zero status:
	 * the process manager restarts us either way, but the operator sees it. */
	if (!stop_requested) {
		log_error("stopping", "reason", "accept failed");
		return 1;
	}
	log_info("stopping", "reason", "signal");
	return 0;
}

static void start_logging(const char *app, const struct pt_config *cfg)
{
	enum log_level lvl = LOG_LVL_INFO;
	struct pt_err err;
	int use_syslog = 0;
	const char *l = cfg ? config_get(cfg, "LOG_LEVEL") : NULL;

	if (l && log_level_parse(l, &lvl) != 0)
		lvl = LOG_LVL_INFO;
	pt_err_clear(&err);
	if (cfg && config_get_bool(cfg, "LOG_SYSLOG", &use_syslog, &err) != 0)
		use_syslog = 0;
	log_init(app, lvl, use_syslog);
}

static int config_fail(const struct pt_err *err)
{
	fprintf(stderr, "%s\n", err->detail);
	log_crit("invalid configuration", "setting", err->field, "reason", err->detail);
	return PT_EXIT_CONFIG;
}

static int run_with_ctx(const struct web_app_def *def, struct web_ctx *ctx)
{
	struct pt_err err;
	int rc;

	pt_err_clear(&err);
	if (def->init && def->init(ctx, &err) != 0) {
		if (err.code == PT_CONFIG_INVALID)
			return config_fail(&err);
		log_crit("initialisation failed", "reason", err.detail);
		return 1;
	}
	install_signals();
	rc = FCGX_IsCGI() ? serve_cgi(ctx) : serve_fcgi(ctx);
	if (def->fini)
		def->fini(ctx);
	return rc;
}

int web_app_run(const struct web_app_def *def, int argc, char **argv)
{
	struct pt_config *cfg = NULL;
	struct web_ctx *ctx = NULL;
	struct pt_err err;
	int rc = 1;

	(void)argc;
	(void)argv;
	pt_err_clear(&err);
	log_init(def->name, LOG_LVL_INFO, 0);
	/* Before the config, so that a config error lands there too. A file that
	 * cannot be opened is not fatal: stderr stays what it was, with a warning. */
	log_set_file(getenv(WEB_LOG_FILE_ENV));
	cfg = config_load(NULL, &err);
	if (!cfg || config_validate(cfg, def->required_keys, &err) != 0) {
		rc = config_fail(&err);
		goto out;
	}
	start_logging(def->name, cfg);
	if (FCGX_Init() != 0) {
		log_crit("FCGX_Init failed");
		goto out;
	}
	ctx = web_ctx_new(def, cfg);
	if (!ctx)
		goto out;
	rc = run_with_ctx(def, ctx);
out:
	web_ctx_free(ctx);
	config_free(cfg);
	log_close();
	return rc;
}
