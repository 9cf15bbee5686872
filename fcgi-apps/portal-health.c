/* portal-health.fcgi — /health (live PostgreSQL and Redis checks plus the
 * probe results portal-probed leaves in Redis), /health/sf-events,
 * /api/health/services/cache and /metrics. Everything here must keep
 * answering while dependencies are down: that is when it is read. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/log.h"
#include "store/cache.h"
#include "store/queue.h"
#include "web/app.h"

#define SCAN_ROUNDS_MAX 50     /* SCAN calls per key pattern: bounds the work */
#define SCAN_COUNT      "1000"

static const char *const probed_systems[] = { "salesforce", "whmcs", "freebit", "sftp" };
static const char *const probe_interval_keys[] = {
	"PROBE_INTERVAL_SALESFORCE_S", "PROBE_INTERVAL_WHMCS_S",
	"PROBE_INTERVAL_FREEBIT_S", "PROBE_INTERVAL_SFTP_S",
};

static void rfc3339(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct json_object *integration(const char *status, long latency_ms,
	const char *checked_at, const char *error)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "latency_ms", latency_ms >= 0 ?
		json_object_new_int64(latency_ms) : NULL);
	json_object_object_add(o, "checked_at", checked_at ? json_object_new_string(checked_at)
		: NULL);
	json_object_object_add(o, "error", error ? json_object_new_string(error) : NULL);
	return o;
}

/* The error shown is a fixed phrase: details (hosts, users) go to the log. */
static int check_db(struct web_ctx *ctx, struct json_object *integ, const char *now)
{
	struct db *db = web_ctx_db(ctx);
	struct pt_err err;
	long ms = -1;

	pt_err_clear(&err);
	if (!db) {
		json_object_object_add(integ, "database", integration("down", -1, now,
			"not configured"));
		return 0;
	}
	if (db_ping(db, &ms, &err) != 0) {
		log_warn("health check failed", "system", "database", "reason", err.detail);
		json_object_object_add(integ, "database", integration("down", ms, now,
			"unreachable"));
		return 0;
	}
	json_object_object_add(integ, "database", integration("ok", ms, now, NULL));
	return 1;
}

static int check_redis(struct web_ctx *ctx, struct json_object *integ, const char *now)
{
	struct redis *r = web_ctx_redis(ctx);
	struct pt_err err;
	long ms = -1;

	pt_err_clear(&err);
	if (!r || redis_ping(r, &ms, &err) != 0) {
		log_warn("health check failed", "system", "redis", "reason", err.detail);
		json_object_object_add(integ, "redis", integration("down", ms, now,
			r ? "unreachable" : "not configured"));
		return 0;
	}
	json_object_object_add(integ, "redis", integration("ok", ms, now, NULL));
	return 1;
}

/* ---- probe results ----------------------------------------------------- */

struct probe {
	char status[16];
	long latency_ms;
	char checked_at[32];
	char error[128];
	double error_rate;     /* -1 when portal-probed did not record one */
};

static int probe_status_valid(const char *s)
{
	return !strcmp(s, "ok") || !strcmp(s, "degraded") || !strcmp(s, "down") ||
		!strcmp(s, "unknown");
}

static void probe_field(struct probe *p, const char *k, const char *v)
{
	if (!strcmp(k, "status"))
		snprintf(p->status, sizeof p->status, "%s", v);
	else if (!strcmp(k, "latency_ms"))
		p->latency_ms = strtol(v, NULL, 10);
	else if (!strcmp(k, "checked_at"))
		snprintf(p->checked_at, sizeof p->checked_at, "%s", v);
	else if (!strcmp(k, "error"))
		snprintf(p->error, sizeof p->error, "%s", v);
	else if (!strcmp(k, "error_rate"))
		p->error_rate = strtod(v, NULL);
}

/* probe:<system> is a hash (status, latency_ms, checked_at, error) written by
 * portal-probed; a JSON string with the same fields is read as well. */
static int probe_read(struct redis *r, const char *system, struct probe *p)
{
	struct pt_err err;
	redisReply *rep;
	int found = 0;

	memset(p, 0, sizeof *p);
	p->latency_ms = -1;
	p->error_rate = -1;
	pt_err_clear(&err);
	rep = redis_cmd(r, &err, "HGETALL probe:%s", system);
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2) {
		for (size_t i = 0; i + 1 < rep->elements; i += 2)
			if (rep->element[i]->type == REDIS_REPLY_STRING &&
			    rep->element[i + 1]->type == REDIS_REPLY_STRING)
				probe_field(p, rep->element[i]->str, rep->element[i + 1]->str);
		found = 1;
	} else if (rep && rep->type == REDIS_REPLY_ERROR) {
		freeReplyObject(rep);
		rep = redis_cmd(r, &err, "GET probe:%s", system);
		if (rep && rep->type == REDIS_REPLY_STRING) {
			struct json_object *o = json_tokener_parse(rep->str);
			struct json_object_iter it;
			if (o && json_object_is_type(o, json_type_object)) {
				json_object_object_foreachC(o, it)
					probe_field(p, it.key, json_object_get_string(it.val));
				found = 1;
			}
			json_object_put(o);
		}
	}
	freeReplyObject(rep);
	return found && probe_status_valid(p->status);
}

static time_t parse_rfc3339(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return (time_t)-1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* Adds one probed system; returns 1 when it is down or degraded. A result
 * older than three probe intervals says nothing about now: "unknown". */
static int add_probe(struct web_ctx *ctx, struct redis *r, size_t i,
	struct json_object *integ)
{
	const char *sys = probed_systems[i];
	struct probe p;
	struct pt_err err;
	long interval = 300;

	if (!r || !probe_read(r, sys, &p)) {
		json_object_object_add(integ, sys, integration("unknown", -1, NULL,
			"no probe result"));
		return 0;
	}
	pt_err_clear(&err);
	config_get_long(web_ctx_config(ctx), probe_interval_keys[i], &interval, &err);
	time_t at = parse_rfc3339(p.checked_at);
	if (at == (time_t)-1 || time(NULL) - at > 3 * interval) {
		json_object_object_add(integ, sys, integration("unknown", p.latency_ms,
			p.checked_at[0] ? p.checked_at : NULL, "probe result stale"));
		return 0;
	}
	json_object_object_add(integ, sys, integration(p.status, p.latency_ms, p.checked_at,
		p.error[0] ? p.error : NULL));
	return !strcmp(p.status, "down") || !strcmp(p.status, "degraded");
}

/* ---- /health ----------------------------------------------------------- */

/* Not wrapped in {"data": …}: portal-api.md fixes this body at the top level
 * for load balancers and monitors, and 503 carries the same body. */
static int h_health(struct web_request *req, struct pt_err *err)
{
	struct web_ctx *ctx = req->ctx;
	struct json_object *o = json_object_new_object();
	struct json_object *integ = json_object_new_object();
	char now[32];
	int bad = 0;
	(void)err;

	rfc3339(time(NULL), now);
	int db_ok = check_db(ctx, integ, now);
	int redis_ok = check_redis(ctx, integ, now);
	struct redis *r = redis_ok ? web_ctx_redis(ctx) : NULL;
	for (size_t i = 0; i < sizeof probed_systems / sizeof probed_systems[0]; i++)
		bad |= add_probe(ctx, r, i, integ);
	const char *status = !db_ok ? "down" : (!redis_ok || bad) ? "degraded" : "ok";
	const char *env = config_get(web_ctx_config(ctx), "ENVIRONMENT");
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "environment", json_object_new_string(env ? env : ""));
	json_object_object_add(o, "integrations", integ);
	int rc = web_reply_json_bare(req, db_ok ? 200 : 503, o);
	if (rc == 0 && !db_ok) {
		/* The same Retry-After as every other 503 MAINTENANCE (err table). */
		char ra[16];
		snprintf(ra, sizeof ra, "%d", pt_err_default_retry_after(PT_MAINTENANCE));
		web_set_header(req, "Retry-After", ra);
	}
	return rc;
}

/* ---- Redis helpers ----------------------------------------------------- */

static struct redis *redis_or_503(struct web_request *req, struct pt_err *err)
{
	struct redis *r = web_ctx_redis(req->ctx);
	long ms;

	if (!r || redis_ping(r, &ms, err) != 0) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis unavailable");
		return NULL;
	}
	return r;
}

/* Counts keys matching pattern with SCAN (never KEYS), at most
 * SCAN_ROUNDS_MAX rounds; *complete = 0 when it stopped early. */
static long scan_count(struct redis *r, const char *pattern, int *complete,
	void (*each)(struct redis *, const char *, void *), void *arg)
{
	char cursor[32] = "0";
	long n = 0;
	struct pt_err err;

	*complete = 0;
	for (int round = 0; round < SCAN_ROUNDS_MAX; round++) {
		redisReply *rep = redis_cmd(r, &err, "SCAN %s MATCH %s COUNT " SCAN_COUNT,
			cursor, pattern);
		if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING) {
			freeReplyObject(rep);
			return n;
		}
		snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
		redisReply *keys = rep->element[1];
		for (size_t i = 0; keys->type == REDIS_REPLY_ARRAY && i < keys->elements; i++) {
			n++;
			if (each && keys->element[i]->type == REDIS_REPLY_STRING)
				each(r, keys->element[i]->str, arg);
		}
		freeReplyObject(rep);
		if (!strcmp(cursor, "0")) {
			*complete = 1;
			break;
		}
	}
	return n;
}

/* cmd is "XLEN", "ZCARD" with a key, or "DBSIZE" with key NULL. */
static long redis_long(struct redis *r, const char *cmd, const char *key)
{
	struct pt_err err;
	redisReply *rep = key ? redis_cmd(r, &err, "%s %s", cmd, key) : redis_cmd(r, &err, cmd);
	long v = -1;

	if (rep && rep->type == REDIS_REPLY_INTEGER)
		v = (long)rep->integer;
	freeReplyObject(rep);
	return v;
}

/* ---- /health/sf-events ------------------------------------------------- */

static int printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)s[i]))
			return 0;
	return 1;
}

static struct json_object *channel_state(struct redis *r, const char *channel)
{
	struct json_object *c = json_object_new_object();
	struct pt_err err;
	redisReply *rep;

	json_object_object_add(c, "channel", json_object_new_string(channel));
	rep = redis_cmd(r, &err, "GET sf:pe:replay:%s", channel);
	if (rep && rep->type == REDIS_REPLY_STRING && rep->len <= 256) {
		char hex[513];
		if (printable(rep->str, rep->len))
			json_object_object_add(c, "replay_cursor", json_object_new_string(rep->str));
		else {
			str_hex(hex, (const unsigned char *)rep->str, rep->len);
			json_object_object_add(c, "replay_cursor", json_object_new_string(hex));
		}
	} else {
		json_object_object_add(c, "replay_cursor", NULL);
	}
	freeReplyObject(rep);
	/* What portal-subscriberd reports about itself, passed through. */
	rep = redis_cmd(r, &err, "HGETALL sf:pe:state:%s", channel);
	for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
		if (rep->element[i]->type == REDIS_REPLY_STRING &&
		    rep->element[i + 1]->type == REDIS_REPLY_STRING &&
		    strcmp(rep->element[i]->str, "channel") != 0)
			json_object_object_add(c, rep->element[i]->str,
				json_object_new_string(rep->element[i + 1]->str));
	freeReplyObject(rep);
	return c;
}

struct channels {
	struct json_object *arr;
	const char *configured;
	int seen_configured;
};

static void add_channel(struct redis *r, const char *key, void *arg)
{
	struct channels *ch = arg;
	const char *name = key + strlen("sf:pe:replay:");

	if (json_object_array_length(ch->arr) >= 100)
		return;
	if (ch->configured && !strcmp(name, ch->configured))
		ch->seen_configured = 1;
	json_object_array_add(ch->arr, channel_state(r, name));
}

static int h_sf_events(struct web_request *req, struct pt_err *err)
{
	struct redis *r = redis_or_503(req, err);
	struct channels ch;
	int complete;

	if (!r)
		return -1;
	ch.arr = json_object_new_array();
	ch.configured = config_get(web_ctx_config(req->ctx), "SF_PROVISION_EVENT_CHANNEL");
	ch.seen_configured = 0;
	scan_count(r, "sf:pe:replay:*", &complete, add_channel, &ch);
	if (ch.configured && !ch.seen_configured)
		json_object_array_add(ch.arr, channel_state(r, ch.configured));
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "channels", ch.arr);
	return web_reply_json(req, 200, o);
}

/* ---- /api/health/services/cache ---------------------------------------- */

static int h_cache(struct web_request *req, struct pt_err *err)
{
	static const char *const prefixes[] = {
		"catalog", "acct", "client", "freebit:line", "cdr", "sess", "rl",
	};
	struct redis *r = redis_or_503(req, err);
	struct cache_stats st;
	int complete, all_complete = 1;

	if (!r)
		return -1;
	struct json_object *o = json_object_new_object();
	if (cache_stats_get(r, &st, err) == 0) {
		json_object_object_add(o, "hits", json_object_new_int64(st.hits));
		json_object_object_add(o, "misses", json_object_new_int64(st.misses));
		json_object_object_add(o, "errors", json_object_new_int64(st.errors));
		json_object_object_add(o, "invalidations", json_object_new_int64(st.invalidations));
	}
	struct json_object *keys = json_object_new_object();
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		char pat[64];
		snprintf(pat, sizeof pat, "%s:*", prefixes[i]);
		long n = scan_count(r, pat, &complete, NULL, NULL);
		all_complete &= complete;
		json_object_object_add(keys, prefixes[i], json_object_new_int64(n));
	}
	json_object_object_add(keys, "total", json_object_new_int64(redis_long(r, "DBSIZE", NULL)));
	json_object_object_add(o, "key_counts", keys);
	/* Counts from a stopped SCAN are lower bounds, and SCAN may repeat keys. */
	json_object_object_add(o, "key_counts_approximate", json_object_new_boolean(!all_complete));
	return web_reply_json(req, 200, o);
}

/* ---- /metrics ---------------------------------------------------------- */

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

static void metric(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_process(struct buf *b, struct web_ctx *ctx)
{
	const char *app = web_ctx_app_name(ctx);
	long rss = rss_bytes();

	metric(b, "portal_up", "gauge", "1 while this process answers.");
	buf_printf(b, "portal_up{app=\"%s\"} 1\n", app);
	metric(b, "process_start_time_seconds", "gauge", "Start time of this process.");
	buf_printf(b, "process_start_time_seconds{app=\"%s\"} %lld\n", app,
		web_ctx_started_at(ctx));
	metric(b, "portal_process_requests_total", "counter",
		"Requests served by this process (one of several FastCGI processes).");
	buf_printf(b, "portal_process_requests_total{app=\"%s\"} %lu\n", app,
		web_ctx_requests(ctx));
	if (rss >= 0) {
		metric(b, "process_resident_memory_bytes", "gauge", "Resident memory.");
		buf_printf(b, "process_resident_memory_bytes{app=\"%s\"} %ld\n", app, rss);
	}
}

/* Prometheus label values escape \, " and newline; anything else passes. */
static void label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_printf(b, "\\n");
		else
			buf_printf(b, "%c", *v);
	}
}

static void metrics_queue(struct buf *b, struct redis *r)
{
	static const char *const q[][3] = {
		{ "provisioning", "XLEN", QUEUE_STREAM },
		{ "provisioning_dead", "XLEN", QUEUE_DEAD_STREAM },
		{ "delayed", "ZCARD", "portal:q:delayed" },
	};
	struct pt_err err;
	long n;

	metric(b, "portal_queue_depth", "gauge", "Jobs waiting per queue.");
	for (size_t i = 0; i < 3; i++)
		if ((n = redis_long(r, q[i][1], q[i][2])) >= 0)
			buf_printf(b, "portal_queue_depth{queue=\"%s\"} %ld\n", q[i][0], n);
	metric(b, "portal_queue_dead_letter", "gauge",
		"Provisioning jobs moved to the dead-letter stream.");
	buf_printf(b, "portal_queue_dead_letter %ld\n",
		(n = redis_long(r, "XLEN", QUEUE_DEAD_STREAM)) > 0 ? n : 0);
	/* XPENDING summary: [count, min id, max id, consumers]; no group yet
	 * (an error reply) means nothing was ever delivered. */
	pt_err_clear(&err);
	redisReply *rep = redis_cmd(r, &err, "XPENDING %s %s", QUEUE_STREAM, QUEUE_GROUP);
	n = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
		rep->element[0]->type == REDIS_REPLY_INTEGER ? (long)rep->element[0]->integer : 0;
	freeReplyObject(rep);
	metric(b, "portal_queue_pending", "gauge",
		"Provisioning jobs delivered to a worker and not yet acknowledged.");
	buf_printf(b, "portal_queue_pending{queue=\"provisioning\"} %ld\n", n);
}

static void metrics_probes(struct buf *b, struct redis *r)
{
	static const char *const all[] = { "salesforce", "whmcs", "freebit", "sftp", "redis",
		"postgres" };
	static const char *const states[] = { "ok", "degraded", "down", "unknown" };
	struct probe p[sizeof all / sizeof all[0]];
	int have[sizeof all / sizeof all[0]];
	const size_t n = sizeof all / sizeof all[0];

	for (size_t i = 0; i < n; i++)
		have[i] = probe_read(r, all[i], &p[i]);
	metric(b, "portal_probe_up", "gauge", "Last probe result per system (1 ok, 0 not).");
	for (size_t i = 0; i < n; i++)
		if (have[i])
			buf_printf(b, "portal_probe_up{system=\"%s\"} %d\n", all[i],
				!strcmp(p[i].status, "ok"));
	metric(b, "portal_probe_status", "gauge",
		"Last probe status per system, 1 for the current one (resolutions 26).");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; have[i] && k < 4; k++)
			buf_printf(b, "portal_probe_status{system=\"%s\",status=\"%s\"} %d\n", all[i],
				states[k], !strcmp(p[i].status, states[k]));
	metric(b, "portal_probe_latency_ms", "gauge", "Latency of the last probe per system.");
	for (size_t i = 0; i < n; i++)
		if (have[i] && p[i].latency_ms >= 0)
			buf_printf(b, "portal_probe_latency_ms{system=\"%s\"} %ld\n", all[i],
				p[i].latency_ms);
	metric(b, "portal_probe_error_rate", "gauge",
		"Failed share of the last PROBE_ERROR_WINDOW probes per system (0..1).");
	for (size_t i = 0; i < n; i++)
		if (have[i] && p[i].error_rate >= 0)
			buf_printf(b, "portal_probe_error_rate{system=\"%s\"} %.4f\n", all[i],
				p[i].error_rate);
}

static void add_lag(struct redis *r, const char *key, void *arg)
{
	struct buf *b = arg;
	struct pt_err err;
	redisReply *rep = redis_cmd(r, &err, "HGET %s lag_ms", key);

	if (rep && rep->type == REDIS_REPLY_STRING && rep->len > 0 && rep->len < 24 &&
	    strspn(rep->str, "0123456789") == rep->len) {
		buf_printf(b, "portal_subscriber_lag_ms{channel=\"");
		label_value(b, key + strlen("sf:pe:state:"));
		buf_printf(b, "\"} %s\n", rep->str);
	}
	freeReplyObject(rep);
}

/* ---- per-route and provider metrics (written by every app, see web/app.h) */

#define HTTP_SERIES_MAX 512
static const char *const http_le[] = { "5", "10", "25", "50", "100", "250", "500", "1000",
	"2500", "5000", "10000", "+Inf" };
#define HTTP_NLE (sizeof http_le / sizeof http_le[0])
/* The writers bucket with core/http.c's bounds; a changed list must change here. */
_Static_assert(HTTP_NLE == HTTP_STATS_NBUCKETS, "http_le out of step with http.c");

struct http_series {
	char key[200];           /* "app method route" or "system" */
	long buckets[HTTP_NLE];
	long sum_ms;
};

/* Writes app="…",method="…",route="…" from "app method route"; {name}
 * captures become :name so no label value holds a brace. 0 if malformed. */
static int http_labels(struct buf *b, const char *key)
{
	char app[64], method[16], route[160];

	if (sscanf(key, "%63s %15s %159s", app, method, route) != 3)
		return 0;
	for (char *c = route; *c; c++)
		if (*c == '{')
			*c = ':';
	for (char *c = route, *w = route; ; c++)
		if (*c != '}' && !(*w++ = *c))
			break;
	buf_printf(b, "app=\"");
	label_value(b, app);
	buf_printf(b, "\",method=\"");
	label_value(b, method);
	buf_printf(b, "\",route=\"");
	label_value(b, route);
	buf_printf(b, "\"");
	return 1;
}

static redisReply *hgetall(struct redis *r, const char *key)
{
	struct pt_err err;
	redisReply *rep = redis_cmd(r, &err, "HGETALL %s", key);

	if (rep && rep->type == REDIS_REPLY_ARRAY)
		return rep;
	freeReplyObject(rep);
	return NULL;
}

static struct http_series *series_find(struct http_series *s, size_t *n, const char *key)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(s[i].key, key))
			return &s[i];
	if (*n >= HTTP_SERIES_MAX || strlen(key) >= sizeof s->key)
		return NULL;
	memset(&s[*n], 0, sizeof s[*n]);
	snprintf(s[*n].key, sizeof s->key, "%s", key);
	return &s[(*n)++];
}

/* provider label from "system" (web/app.h WEB_METRICS_PROVIDER_*). */
static int provider_labels(struct buf *b, const char *key)
{
	if (!*key || strchr(key, ' '))
		return 0;
	buf_printf(b, "system=\"");
	label_value(b, key);
	buf_printf(b, "\"");
	return 1;
}

/* A Redis-backed counter or histogram: hash fields are "<series key> <last>",
 * the series key turned into labels by labels(); in ms, rendered in seconds
 * when in_seconds. */
struct metric_def {
	const char *name, *help;
	const char *key, *sum_key;       /* counter / bucket hash; histogram sum hash */
	const char *last_label;          /* counter: label of the field's last word */
	int (*labels)(struct buf *b, const char *key);
	int in_seconds;
};

static const struct metric_def http_requests_def = {
	"portal_http_requests_total",
	"Requests answered, by app, method, route pattern and status (all processes).",
	WEB_METRICS_REQUESTS_KEY, NULL, "status", http_labels, 0 };
static const struct metric_def http_latency_def = {
	"portal_http_request_duration_seconds",
	"Request latency by app, method and route pattern (all processes).",
	WEB_METRICS_LATENCY_BUCKET_KEY, WEB_METRICS_LATENCY_SUM_KEY, NULL, http_labels, 1 };
static const struct metric_def provider_requests_def = {
	"portal_provider_requests_total",
	"Outbound provider HTTP attempts (each retry counts) by system and outcome.",
	WEB_METRICS_PROVIDER_REQUESTS_KEY, NULL, "outcome", provider_labels, 0 };
static const struct metric_def provider_latency_def = {
	"portal_provider_request_duration_seconds",
	"Outbound provider HTTP attempt latency by system (each retry counts).",
	WEB_METRICS_PROVIDER_LATENCY_BUCKET_KEY, WEB_METRICS_PROVIDER_LATENCY_SUM_KEY, NULL,
	provider_labels, 1 };

/* Splits "key last" at the last space; the last word must be a plain token
 * (status code, outcome name, le). NULL if malformed. */
static const char *field_split(const char *f, char *key, size_t keysz)
{
	const char *sp = f ? strrchr(f, ' ') : NULL;

	if (!sp || (size_t)(sp - f) >= keysz || !sp[1] ||
	    strspn(sp + 1, "abcdefghijklmnopqrstuvwxyz0123456789_+Inf") != strlen(sp + 1))
		return NULL;
	snprintf(key, keysz, "%.*s", (int)(sp - f), f);
	return sp + 1;
}

static void metrics_counter(struct buf *b, struct redis *r, const struct metric_def *d)
{
	redisReply *rep = hgetall(r, d->key);
	char key[200];
	const char *last;

	metric(b, d->name, "counter", d->help);
	for (size_t i = 0; rep && i + 1 < rep->elements; i += 2) {
		if (!(last = field_split(rep->element[i]->str, key, sizeof key)))
			continue;
		size_t mark = b->len;
		buf_printf(b, "%s{", d->name);
		if (!d->labels(b, key)) {
			b->len = mark;
			continue;
		}
		buf_printf(b, ",%s=\"%s\"} %lld\n", d->last_label, last,
			strtoll(rep->element[i + 1]->str, NULL, 10));
	}
	freeReplyObject(rep);
}

/* Groups the bucket hash's fields by series key; sums from the sum hash. */
static size_t histogram_read(struct redis *r, const struct metric_def *d,
	struct http_series *s)
{
	redisReply *bk = hgetall(r, d->key);
	redisReply *sm = hgetall(r, d->sum_key);
	size_t n = 0, j;
	char key[200];
	const char *le;

	for (size_t i = 0; bk && i + 1 < bk->elements; i += 2) {
		if (!(le = field_split(bk->element[i]->str, key, sizeof key)))
			continue;
		for (j = 0; j < HTTP_NLE && strcmp(le, http_le[j]); j++)
			;
		struct http_series *x = j < HTTP_NLE ? series_find(s, &n, key) : NULL;
		if (x)
			x->buckets[j] += strtol(bk->element[i + 1]->str, NULL, 10);
	}
	for (size_t i = 0; sm && i + 1 < sm->elements; i += 2)
		for (j = 0; j < n; j++)
			if (sm->element[i]->str && !strcmp(s[j].key, sm->element[i]->str))
				s[j].sum_ms = strtol(sm->element[i + 1]->str, NULL, 10);
	freeReplyObject(bk);
	freeReplyObject(sm);
	return n;
}

/* One series: cumulative buckets up to +Inf, _sum, _count. 0 if its key
 * does not make labels (nothing written then). */
static int histogram_series(struct buf *b, const struct metric_def *d,
	const struct http_series *x)
{
	size_t mark = b->len;
	long cum = 0;

	for (size_t j = 0; j < HTTP_NLE; j++) {
		cum += x->buckets[j];
		buf_printf(b, "%s_bucket{", d->name);
		if (!d->labels(b, x->key)) {
			b->len = mark;
			return 0;
		}
		if (j + 1 == HTTP_NLE)
			buf_printf(b, ",le=\"+Inf\"} %ld\n", cum);
		else if (d->in_seconds)
			buf_printf(b, ",le=\"%g\"} %ld\n", strtol(http_le[j], NULL, 10) / 1000.0, cum);
		else
			buf_printf(b, ",le=\"%s\"} %ld\n", http_le[j], cum);
	}
	buf_printf(b, "%s_sum{", d->name);
	d->labels(b, x->key);
	if (d->in_seconds)
		buf_printf(b, "} %.3f\n", x->sum_ms / 1000.0);
	else
		buf_printf(b, "} %ld\n", x->sum_ms);
	buf_printf(b, "%s_count{", d->name);
	d->labels(b, x->key);
	buf_printf(b, "} %ld\n", cum);
	return 1;
}

static void metrics_histogram(struct buf *b, struct redis *r, const struct metric_def *d)
{
	struct http_series *s = calloc(HTTP_SERIES_MAX, sizeof *s);
	size_t n = s ? histogram_read(r, d, s) : 0;

	metric(b, d->name, "histogram", d->help);
	for (size_t i = 0; i < n; i++)
		histogram_series(b, d, &s[i]);
	free(s);
}

static void metrics_redis(struct buf *b, struct web_ctx *ctx, struct redis *r)
{
	struct cache_stats st;
	struct pt_err err;
	int complete;

	metrics_queue(b, r);
	metrics_probes(b, r);
	metrics_counter(b, r, &http_requests_def);
	metrics_histogram(b, r, &http_latency_def);
	metrics_counter(b, r, &provider_requests_def);
	metrics_histogram(b, r, &provider_latency_def);
	metric(b, "portal_subscriber_lag_ms", "gauge",
		"Event publish to handled, per Pub/Sub channel, as portal-subscriberd reports it.");
	scan_count(r, "sf:pe:state:*", &complete, add_lag, b);
	pt_err_clear(&err);
	if (cache_stats_get(r, &st, &err) == 0) {
		metric(b, "portal_cache_operations_total", "counter", "Cache operations by result.");
		buf_printf(b, "portal_cache_operations_total{result=\"hit\"} %ld\n"
			"portal_cache_operations_total{result=\"miss\"} %ld\n"
			"portal_cache_operations_total{result=\"error\"} %ld\n"
			"portal_cache_operations_total{result=\"invalidation\"} %ld\n",
			st.hits, st.misses, st.errors, st.invalidations);
	}
	(void)ctx;
}

static int h_metrics(struct web_request *req, struct pt_err *err)
{
	struct web_ctx *ctx = req->ctx;
	struct redis *r = web_ctx_redis(ctx);
	struct buf b;
	long ms;
	int rc;

	buf_init(&b, 1024 * 1024);
	metrics_process(&b, ctx);
	int redis_up = r && redis_ping(r, &ms, err) == 0;
	metric(&b, "portal_redis_up", "gauge", "1 when this process reaches Redis.");
	buf_printf(&b, "portal_redis_up %d\n", redis_up);
	if (redis_up)
		metrics_redis(&b, ctx, r);
	rc = web_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8",
		buf_cstr(&b), b.len);
	buf_free(&b);
	return rc;
}

static const struct web_route routes[] = {
	{ WEB_GET, "/health", h_health },
	{ WEB_GET, "/health/sf-events", h_sf_events },
	{ WEB_GET, "/api/health/services/cache", h_cache },
	{ WEB_GET, "/metrics", h_metrics },
};

static const char *const required[] = { "DATABASE_URL", "REDIS_URL", "ENVIRONMENT", NULL };

static const struct web_app_def app = {
	.name = "portal-health",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
	.required_keys = required,
};

int main(int argc, char **argv)
{
	return web_app_run(&app, argc, argv);
}
