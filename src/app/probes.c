/* probes — the checks of seed 000's "Health Check Schedule" table, their
 * classification against its "Alerting Thresholds" table, and the Redis record
 * /health and /metrics read. See probes.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "app/probes.h"
#include "freebit/client.h"
#include "salesforce/rest.h"
#include "sftp/sftp.h"
#include "store/db.h"
#include "store/redis.h"
#include "whmcs/client.h"

static const struct {
	const char *name;
	const char *interval_key;
	const char *warn_key;
	const char *crit_key;
} systems[PROBE_NSYSTEMS] = {
	[PROBE_SALESFORCE] = { "salesforce", "PROBE_INTERVAL_SALESFORCE_S",
		"PROBE_SALESFORCE_WARN_MS", "PROBE_SALESFORCE_CRIT_MS" },
	[PROBE_WHMCS] = { "whmcs", "PROBE_INTERVAL_WHMCS_S",
		"PROBE_WHMCS_WARN_MS", "PROBE_WHMCS_CRIT_MS" },
	[PROBE_FREEBIT] = { "freebit", "PROBE_INTERVAL_FREEBIT_S",
		"PROBE_FREEBIT_WARN_MS", "PROBE_FREEBIT_CRIT_MS" },
	[PROBE_SFTP] = { "sftp", "PROBE_INTERVAL_SFTP_S",
		"PROBE_SFTP_WARN_MS", "PROBE_SFTP_CRIT_MS" },
	[PROBE_REDIS] = { "redis", "PROBE_INTERVAL_REDIS_S",
		"PROBE_REDIS_WARN_MS", "PROBE_REDIS_CRIT_MS" },
	[PROBE_POSTGRES] = { "postgres", "PROBE_INTERVAL_POSTGRES_S",
		"PROBE_POSTGRES_WARN_MS", "PROBE_POSTGRES_CRIT_MS" },
};

static const char *const status_names[] = { "unknown", "ok", "degraded", "down" };

const char *probe_system_name(enum probe_system s)
{
	return (unsigned)s < PROBE_NSYSTEMS ? systems[s].name : "unknown";
}

const char *probe_interval_key(enum probe_system s)
{
	return (unsigned)s < PROBE_NSYSTEMS ? systems[s].interval_key : NULL;
}

const char *probe_status_name(enum probe_status st)
{
	return (unsigned)st <= PROBE_DOWN ? status_names[st] : "unknown";
}

enum probe_status probe_status_parse(const char *s)
{
	for (int i = PROBE_OK; s && i <= PROBE_DOWN; i++)
		if (!strcmp(s, status_names[i]))
			return (enum probe_status)i;
	return PROBE_UNKNOWN;
}

static long cfg_long(const struct pt_config *cfg, const char *key, long dflt)
{
	struct pt_err e = { 0 };
	long v = dflt;

	if (!cfg || !key || config_get_long(cfg, key, &v, &e))
		v = dflt;
	return v;
}

void probe_thresholds_get(const struct pt_config *cfg, enum probe_system s,
	struct probe_thresholds *out)
{
	out->warn_ms = cfg_long(cfg, systems[s].warn_key, 2000);
	out->crit_ms = cfg_long(cfg, systems[s].crit_key, 5000);
}

/* ---- classification ---------------------------------------------------- */

/* Provider codes ("503", "ETIMEOUT", "invalid_grant") are safe to show;
 * anything else is dropped rather than risk echoing a URL or a message. */
static int safe_code(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != '-' && s[n] != '.')
			return 0;
	return n > 0 && n <= 32;
}

static void fail_phrase(struct probe_result *r, const char *code_name, const char *provider)
{
	if (provider && safe_code(provider))
		snprintf(r->error, sizeof r->error, "check failed: %s (%s)", code_name, provider);
	else
		snprintf(r->error, sizeof r->error, "check failed: %s", code_name);
}

void probe_classify(struct probe_result *r, const struct probe_thresholds *t)
{
	r->critical = 0;
	if (r->failed) {
		r->status = PROBE_DOWN;
		if (!r->error[0])
			snprintf(r->error, sizeof r->error, "check failed");
		return;
	}
	if (r->latency_ms > t->warn_ms) {
		/* It answered: usable but slow. Down is kept for "does not work". */
		r->status = PROBE_DEGRADED;
		r->critical = r->latency_ms > t->crit_ms;
		snprintf(r->error, sizeof r->error, "slow: %ld ms over the %s threshold of %ld ms",
			r->latency_ms, r->critical ? "critical" : "warning",
			r->critical ? t->crit_ms : t->warn_ms);
		return;
	}
	r->status = PROBE_OK;
	r->error[0] = '\0';
}

enum probe_alert probe_transition(enum probe_status prev, enum probe_status cur)
{
	if (prev == cur || cur == PROBE_UNKNOWN)
		return PROBE_ALERT_NONE;
	if (cur == PROBE_DOWN)
		return PROBE_ALERT_DOWN;
	if (cur == PROBE_DEGRADED)
		return PROBE_ALERT_DEGRADED;
	return prev == PROBE_UNKNOWN ? PROBE_ALERT_FIRST : PROBE_ALERT_RECOVERED;
}

int probe_sched_next(const time_t *due, const int *enabled, int n, time_t now, long *wait_s)
{
	int best = -1;

	for (int i = 0; i < n; i++)
		if (enabled[i] && (best < 0 || due[i] < due[best]))
			best = i;
	if (best >= 0)
		*wait_s = due[best] > now ? (long)(due[best] - now) : 0;
	return best;
}

/* ---- the checks -------------------------------------------------------- */

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* Seed: "Query test" (the JWT bearer token comes from sf:auth:token or is
 * fetched first, so an auth failure fails the probe too). A one-row query of
 * a small object costs one API call. */
static int check_salesforce(struct probe_ctx *ctx, struct pt_err *err)
{
	struct json_object *rows = NULL;
	int rc = sf_rest_query(ctx->sf, "SELECT Id FROM Product2 LIMIT 1", 1, &rows, NULL, err);

	json_object_put(rows);
	return rc;
}

/* Seed: GetClients limitnum=1; success means credentials and database work. */
static int check_whmcs(struct probe_ctx *ctx, struct pt_err *err)
{
	static const struct whmcs_param p[] = { { "limitnum", "1", 0 } };
	struct json_object *out = NULL;
	int rc = whmcs_call(ctx->whmcs, "GetClients", p, 1, &out, err);

	json_object_put(out);
	return rc;
}

/* Seed: "Auth token refresh" — /authOem/ now, which also renews the shared
 * key every other process uses. */
static int check_freebit(struct probe_ctx *ctx, struct pt_err *err)
{
	return freebit_auth_refresh(ctx->freebit, err);
}

/* Seed: connection test — connect, pinned host key, key auth, list the dir. */
static int check_sftp(struct probe_ctx *ctx, struct pt_err *err)
{
	struct sftp_opts o;
	struct sftp_conn *c;
	long entries = 0;
	int rc;

	if (sftp_opts_from_config(ctx->cfg, &o, err))
		return -1;
	if (!(c = sftp_connect(&o, err)))
		return -1;
	rc = sftp_probe_dir(c, &entries, err);
	sftp_close(c);
	return rc;
}

static int check_redis(struct probe_ctx *ctx, struct pt_err *err)
{
	long ms;

	return redis_ping(ctx->redis, &ms, err);
}

static int check_postgres(struct probe_ctx *ctx, struct pt_err *err)
{
	long ms;

	return db_ping(ctx->db, &ms, err);
}

static int configured(const struct probe_ctx *ctx, enum probe_system s)
{
	switch (s) {
	case PROBE_SALESFORCE: return ctx->sf != NULL;
	case PROBE_WHMCS: return ctx->whmcs != NULL;
	case PROBE_FREEBIT: return ctx->freebit != NULL;
	case PROBE_SFTP: return config_get(ctx->cfg, "SFTP_HOST") != NULL;
	case PROBE_REDIS: return ctx->redis != NULL;
	case PROBE_POSTGRES: return ctx->db != NULL;
	default: return 0;
	}
}

void probe_check(struct probe_ctx *ctx, enum probe_system s, struct probe_result *out)
{
	static int (*const fn[PROBE_NSYSTEMS])(struct probe_ctx *, struct pt_err *) = {
		check_salesforce, check_whmcs, check_freebit, check_sftp, check_redis,
		check_postgres,
	};
	struct probe_thresholds t;
	struct pt_err err = { 0 };
	struct timespec t0;

	memset(out, 0, sizeof *out);
	out->system = s;
	out->checked_at = time(NULL);
	out->latency_ms = -1;
	if (!configured(ctx, s)) {
		out->status = PROBE_UNKNOWN;
		snprintf(out->error, sizeof out->error, "not configured");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out->failed = fn[s](ctx, &err) != 0;
	out->latency_ms = ms_since(&t0);
	if (out->failed) {
		fail_phrase(out, pt_err_code_name(err.code), err.provider_code);
		snprintf(out->detail, sizeof out->detail, "%s", err.detail);
	}
	probe_thresholds_get(ctx->cfg, s, &t);
	probe_classify(out, &t);
}

/* ---- the Redis record -------------------------------------------------- */

/* KEYS: probe:<s>, probe:<s>:history. ARGV: status latency_ms checked_at
 * error failed(0|1) window ttl_s. Returns {previous status or "", rate}.
 * An unknown result (not configured) does not enter the error rate. */
static const char store_lua[] =
	"local prev = redis.call('HGET', KEYS[1], 'status')\n"
	"if ARGV[1] ~= 'unknown' then\n"
	"  redis.call('LPUSH', KEYS[2], ARGV[5])\n"
	"  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[6]) - 1)\n"
	"end\n"
	"local h = redis.call('LRANGE', KEYS[2], 0, -1)\n"
	"local bad = 0\n"
	"for _, v in ipairs(h) do if v == '1' then bad = bad + 1 end end\n"
	"local rate = 0\n"
	"if #h > 0 then rate = bad / #h end\n"
	"local srate = string.format('%.4f', rate)\n"
	"redis.call('HSET', KEYS[1], 'status', ARGV[1], 'latency_ms', ARGV[2],\n"
	"  'checked_at', ARGV[3], 'error_rate', srate, 'checks', #h)\n"
	"if ARGV[4] == '' then redis.call('HDEL', KEYS[1], 'error')\n"
	"else redis.call('HSET', KEYS[1], 'error', ARGV[4]) end\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
	"redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]) * tonumber(ARGV[6]))\n"
	"return {prev or '', srate}\n";

int probe_store(struct redis *redis, const struct probe_result *r, long interval_s, long window,
	enum probe_status *prev, double *rate, struct pt_err *err)
{
	char key[64], hist[64], lat[24], at[32], win[24], ttl[24];
	struct tm tm;
	redisReply *rep;
	int rc = -1;

	snprintf(key, sizeof key, PROBE_KEY_FMT, probe_system_name(r->system));
	snprintf(hist, sizeof hist, PROBE_HISTORY_FMT, probe_system_name(r->system));
	snprintf(lat, sizeof lat, "%ld", r->latency_ms < 0 ? 0 : r->latency_ms);
	gmtime_r(&r->checked_at, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(win, sizeof win, "%ld", window > 0 ? window : 20);
	/* Four intervals: /health calls a result older than three "stale"
	 * before the key disappears, and the previous status survives a restart. */
	snprintf(ttl, sizeof ttl, "%ld", 4 * (interval_s > 0 ? interval_s : 60));
	rep = redis_cmd(redis, err, "EVAL %s 2 %s %s %s %s %s %s %s %s %s", store_lua, key, hist,
		probe_status_name(r->status), lat, at, r->error, r->failed ? "1" : "0", win, ttl);
	if (!rep)
		goto out;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING) {
		pt_err_set(err, PT_INTERNAL, "probe store: unexpected reply %s",
			rep->type == REDIS_REPLY_ERROR ? rep->str : "");
		goto out;
	}
	*prev = probe_status_parse(rep->element[0]->str);
	*rate = strtod(rep->element[1]->str, NULL);
	rc = 0;
out:
	freeReplyObject(rep);
	return rc;
}

/* ---- one tick ---------------------------------------------------------- */

static void report(const struct probe_result *r, enum probe_status prev, double rate)
{
	char lat[24], rs[24];
	const char *sys = probe_system_name(r->system), *st = probe_status_name(r->status);
	const char *pv = probe_status_name(prev);

	log_itoa(r->latency_ms, lat);
	snprintf(rs, sizeof rs, "%.4f", rate);
	switch (probe_transition(prev, r->status)) {
	case PROBE_ALERT_DOWN:
		log_crit("probe down", "system", sys, "status", st, "previous", pv,
			"latency_ms", lat, "error_rate", rs, "error", r->error, "reason", r->detail);
		break;
	case PROBE_ALERT_DEGRADED:
		log_msg(r->critical ? LOG_LVL_CRIT : LOG_LVL_WARN, "probe degraded", "system", sys,
			"status", st, "previous", pv, "latency_ms", lat, "error_rate", rs,
			"error", r->error, (char *)0);
		break;
	case PROBE_ALERT_RECOVERED:
		log_info("probe recovered", "system", sys, "status", st, "previous", pv,
			"latency_ms", lat, "error_rate", rs);
		break;
	case PROBE_ALERT_FIRST:
		log_info("probe ok", "system", sys, "status", st, "latency_ms", lat);
		break;
	default:
		log_debug("probe", "system", sys, "status", st, "latency_ms", lat,
			"error_rate", rs);
	}
}

void probe_run(struct probe_ctx *ctx, enum probe_system s)
{
	struct probe_result r;
	struct pt_err err = { 0 };
	enum probe_status prev = PROBE_UNKNOWN;
	double rate = 0;
	long interval = cfg_long(ctx->cfg, probe_interval_key(s), 60);

	probe_check(ctx, s, &r);
	if (!ctx->redis || probe_store(ctx->redis, &r, interval, ctx->error_window, &prev,
	    &rate, &err)) {
		/* Nowhere to keep the result: say so every tick, it is the outage. */
		char lat[24];
		log_error("probe result not stored", "system", probe_system_name(s),
			"status", probe_status_name(r.status), "latency_ms",
			log_itoa(r.latency_ms, lat), "reason", err.detail);
		return;
	}
	report(&r, prev, rate);
}
