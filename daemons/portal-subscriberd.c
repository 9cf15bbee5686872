/* portal-subscriberd — subscribes to the Salesforce Pub/Sub channels of
 * salesforce-org.md (one Subscribe stream per channel, one thread each) and
 * turns events into durable effects: provisioning requests into entries of
 * the Redis stream portal:q:provisioning, change events into cache
 * invalidations. Each channel's replay cursor (sf:pe:replay:<channel>) moves
 * only after its event is durably handled, so a crash or a dropped stream
 * resumes exactly after the last handled event (salesforce-pubsub.md §4).
 *
 *   portal-subscriberd [-f] [-p pidfile] [-l logfile] [-c config]
 *
 * -l makes stderr that file, re-opened by path on SIGHUP (logrotate).
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "core/config.h"
#include "core/daemon.h"
#include "core/http.h"
#include "core/log.h"
#include "app/catalog.h"
#include "salesforce/auth.h"
#include "salesforce/avro.h"
#include "salesforce/pubsub.h"
#include "salesforce/rest.h"
#include "salesforce/soql.h"
#include "store/cache.h"
#include "store/redis.h"

#define APP "portal-subscriberd"
#define QUEUE_KEY "portal:q:provisioning"
#define REPLAY_PREFIX "sf:pe:replay:"
#define STATE_PREFIX "sf:pe:state:"
#define CURSOR_HEX_MAX 128           /* 64 bytes: far more than the 8 seen */
#define BACKOFF_CAP_S 60             /* salesforce-pubsub.md §6 */
#define RETRY_FATAL_S 600            /* NOT_FOUND, PERMISSION_DENIED, UNIMPLEMENTED */
#define STABLE_S 60                  /* up this long: backoff resets */

enum chan_kind { CH_PROVISION, CH_ELIGIBILITY, CH_CATALOG, CH_ORDERS };

/* Stream settings, re-read on SIGHUP. */
struct settings {
	char endpoint[256];
	enum pubsub_preset replay, fallback;
	int batch;
	long idle_s, timeout_ms;
};

struct worker {
	char topic[128];
	enum chan_kind kind;
	pthread_t thread;
	int started;
	volatile sig_atomic_t stop_stream;  /* end the current stream: TERM or reload */
	struct redis *redis;
	struct sf_auth *auth;
	struct sf_client *rest;             /* account lookups for order change events */
	struct sf_avro_cache *schemas;
	struct pubsub_conn conn;
	struct sf_token token;
	struct sf_event ev;
	struct pt_err err;                  /* why a handler stopped the stream */
	enum pubsub_preset force_preset;    /* after a rejected cursor */
	int forced;
	int got_event;                      /* this stream handled one: backoff resets */
	int have_cursor;                    /* a cursor is stored for this channel */
	unsigned seed;
};

static pthread_mutex_t g_cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pt_config *g_cfg;

/* ---- small helpers ------------------------------------------------- */

static long long now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static const char *lltoa(long long v, char buf[24])
{
	snprintf(buf, 24, "%lld", v);
	return buf;
}

static int is_cdc(enum chan_kind k)
{
	return k == CH_CATALOG || k == CH_ORDERS;
}

static const char *preset_name(enum pubsub_preset p)
{
	return p == PUBSUB_EARLIEST ? "EARLIEST" : p == PUBSUB_CUSTOM ? "CUSTOM" : "LATEST";
}

/* Lower-case or upper-case hex → bytes; -1 unless an even count of hex digits. */
static int hex_decode(const char *hex, unsigned char *out, size_t size, size_t *len)
{
	size_t n = strlen(hex);

	if (n == 0 || n % 2 || n / 2 > size)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;
		if (sscanf(hex + i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[i]) ||
			!strchr("0123456789abcdefABCDEF", hex[i + 1]))
			return -1;
		out[i / 2] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

/* Sleeps up to s seconds in short slices, returning early on stop. */
static void nap(struct worker *w, double s)
{
	struct timespec ts = { 0, 200 * 1000000L };

	for (double t = 0; t < s && !daemon_stop_flag && !w->stop_stream; t += 0.2)
		nanosleep(&ts, NULL);
}

static void load_settings(struct settings *st)
{
	long v;

	pthread_mutex_lock(&g_cfg_lock);
	str_lcpy(st->endpoint, config_get(g_cfg, "SF_PUBSUB_ENDPOINT"), sizeof(st->endpoint));
	st->replay = strcmp(config_get(g_cfg, "SF_EVENTS_REPLAY"), "ALL") == 0 ?
		PUBSUB_EARLIEST : PUBSUB_LATEST;
	st->fallback = strcmp(config_get(g_cfg, "SF_EVENTS_REPLAY_FALLBACK"), "LATEST") == 0 ?
		PUBSUB_LATEST : PUBSUB_EARLIEST;
	st->batch = config_get_long(g_cfg, "SF_PUBSUB_BATCH", &v, NULL) == 0 ? (int)v : 50;
	st->idle_s = config_get_long(g_cfg, "SF_PUBSUB_IDLE_TIMEOUT", &v, NULL) == 0 ? v : 300;
	st->timeout_ms = config_get_long(g_cfg, "SF_TIMEOUT_MS", &v, NULL) == 0 ? v : 10000;
	pthread_mutex_unlock(&g_cfg_lock);
}

/* ---- Redis state ---------------------------------------------------- */

static int redis_ok(redisReply *r, int type)
{
	int ok = r && r->type == type;

	if (r)
		freeReplyObject(r);
	return ok;
}

static void state_set(struct worker *w, const char *field, const char *value)
{
	redisReply *r = redis_cmd(w->redis, NULL, "HSET " STATE_PREFIX "%s %s %s", w->topic,
		field, value);

	if (r)
		freeReplyObject(r);
}

/* The cursor write that makes an event handled. */
static int cursor_store(struct worker *w, const unsigned char *id, size_t len)
{
	char hex[CURSOR_HEX_MAX + 1];

	if (len == 0 || len * 2 > CURSOR_HEX_MAX)
		return 0;
	str_hex(hex, id, len);
	if (!redis_ok(redis_cmd(w->redis, &w->err, "SET " REPLAY_PREFIX "%s %s", w->topic, hex),
		REDIS_REPLY_STATUS))
		return pt_err_set(&w->err, PT_UPSTREAM_UNAVAILABLE, "replay cursor not stored");
	w->have_cursor = 1;
	state_set(w, "cursor", hex);
	return 0;
}

static void event_stats(struct worker *w, long long event_ms)
{
	char b[24];
	long long now = now_ms();
	redisReply *r = redis_cmd(w->redis, NULL, "HINCRBY " STATE_PREFIX "%s events_received 1",
		w->topic);

	if (r)
		freeReplyObject(r);
	state_set(w, "last_event_at", lltoa(now, b));
	if (event_ms > 0)
		state_set(w, "lag_ms", lltoa(now > event_ms ? now - event_ms : 0, b));
}

/* ---- effects -------------------------------------------------------- */

static int enqueue_provision(struct worker *w, const struct pubsub_event *pe, const char *rhex)
{
	char ms[24];
	const char *idem = w->ev.idem_key[0] ? w->ev.idem_key : w->ev.order_id;
	const char *argv[] = { "XADD", QUEUE_KEY, "*", "sf_order_id", w->ev.order_id,
		"event_id", pe->event_id, "replay_id", rhex, "received_at", lltoa(now_ms(), ms),
		"idem_key", idem, "correlation_id", w->ev.correlation_id };
	size_t lens[sizeof(argv) / sizeof(argv[0])];
	redisReply *r;

	if (!sf_soql_id_valid(w->ev.order_id, "801")) {
		log_error("invalid OrderId__c in Platform Event: skipped", "channel", w->topic,
			"event_id", pe->event_id, "replay_id", rhex);
		return 0;
	}
	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
		lens[i] = strlen(argv[i]);
	r = redis_cmd_argv(w->redis, &w->err, (int)(sizeof(argv) / sizeof(argv[0])), argv, lens);
	if (!r || r->type != REDIS_REPLY_STRING) {
		if (r)
			freeReplyObject(r);
		return pt_err_set(&w->err, PT_UPSTREAM_UNAVAILABLE, "XADD %s failed", QUEUE_KEY);
	}
	log_info("Platform Event enqueued for provisioning", "order_id", w->ev.order_id,
		"event_id", pe->event_id, "replay_id", rhex, "stream_id", r->str,
		"correlation_id", w->ev.correlation_id);
	freeReplyObject(r);
	return 0;
}

/* Product2 / PricebookEntry changed (or a start from a preset, which may
 * have skipped changes): app_catalog_invalidate bumps catalog:gen before it
 * drops the shared keys, so a catalog read that raced this event cannot
 * write its stale body back (docs/catalog.md). */
static int flush_catalog(struct worker *w, const char *why)
{
	if (app_catalog_invalidate(w->redis, NULL, &w->err) < 0)
		return -1;
	log_info("catalog cache invalidated", "channel", w->topic, "reason", why);
	return 0;
}

static int del_acct_key(struct worker *w, const char *acct, const char *suffix, int prefix)
{
	struct buf key;
	int rc;

	buf_init(&key, CACHE_KEY_MAX);
	rc = cache_key_acct(&key, acct, suffix, &w->err);
	if (rc == 0)
		rc = prefix ? cache_del_prefix(w->redis, buf_cstr(&key), NULL, &w->err)
			: cache_del(w->redis, buf_cstr(&key), &w->err);
	buf_free(&key);
	return rc;
}

static int eligibility_changed(struct worker *w)
{
	const char *acct = w->ev.account_id;

	if (!sf_soql_id_valid(acct, "001")) {
		log_error("invalid AccountId__c in Platform Event: skipped", "channel", w->topic);
		return 0;
	}
	/* eligibility + personalised catalog keys, with the account's generation
	 * bumped first (same race as flush_catalog) */
	if (app_catalog_invalidate(w->redis, acct, &w->err) < 0)
		return -1;
	log_info("account catalog cache invalidated", "account_id", acct, "channel", w->topic);
	return 0;
}

/* One-column lookup through REST queryAll (deleted rows too); 0 + value, -1. */
static int lookup(struct worker *w, const char *fmt, const char *id, const char *col,
	char *out, size_t size)
{
	struct buf q;
	struct json_object *rows = NULL, *v;
	struct pt_err e = { 0 };
	int rc = -1;

	buf_init(&q, 1024);
	if (!w->rest || sf_soql_build(&q, &e, fmt, id) < 0 ||
		sf_rest_query_all(w->rest, buf_cstr(&q), 1, &rows, NULL, &e) < 0)
		goto out;
	if (json_object_array_length(rows) == 1 &&
		json_object_object_get_ex(json_object_array_get_idx(rows, 0), col, &v) &&
		json_object_get_string(v)) {
		str_lcpy(out, json_object_get_string(v), size);
		rc = 0;
	}
out:
	json_object_put(rows);
	buf_free(&q);
	return rc;
}

/* The account of an Order / OrderItem change event: payload first, else REST. */
static int order_account(struct worker *w, char *acct, size_t size)
{
	char order[32];
	const char *rid = w->ev.n_record_ids > 0 ? w->ev.record_ids[0] : "";

	if (w->ev.account_id[0]) {
		str_lcpy(acct, w->ev.account_id, size);
		return 0;
	}
	if (strchr(rid, '*'))
		return -1;   /* wildcard: a GAP_OVERFLOW */
	if (strcmp(w->ev.entity_name, "Order") == 0)
		return lookup(w, "SELECT AccountId FROM Order WHERE Id = %I", rid, "AccountId",
			acct, size);
	if (w->ev.order_id[0])
		str_lcpy(order, w->ev.order_id, sizeof(order));
	else if (lookup(w, "SELECT OrderId FROM OrderItem WHERE Id = %I", rid, "OrderId",
		order, sizeof(order)) < 0)
		return -1;
	return lookup(w, "SELECT AccountId FROM Order WHERE Id = %I", order, "AccountId",
		acct, size);
}

/* Unresolvable account: every account's orders cache goes (SCAN + UNLINK). */
static int flush_all_orders(struct worker *w)
{
	char cursor[32] = "0";

	do {
		redisReply *r = redis_cmd(w->redis, &w->err,
			"SCAN %s MATCH acct:*:orders COUNT 500", cursor);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r)
				freeReplyObject(r);
			return pt_err_set(&w->err, PT_UPSTREAM_UNAVAILABLE, "SCAN failed");
		}
		str_lcpy(cursor, r->element[0]->str ? r->element[0]->str : "0", sizeof(cursor));
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *d = redis_cmd(w->redis, NULL, "UNLINK %s",
				r->element[1]->element[i]->str);
			if (d)
				freeReplyObject(d);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

static int orders_changed(struct worker *w)
{
	char acct[32];

	if (order_account(w, acct, sizeof(acct)) < 0 || !sf_soql_id_valid(acct, "001")) {
		log_warn("order change without a resolvable account: all orders caches dropped",
			"channel", w->topic, "entity", w->ev.entity_name, "change_type", w->ev.change_type);
		return flush_all_orders(w);
	}
	if (del_acct_key(w, acct, "orders", 0) < 0)
		return -1;
	log_info("orders cache invalidated", "account_id", acct, "entity", w->ev.entity_name,
		"change_type", w->ev.change_type);
	return 0;
}

static int apply(struct worker *w, const struct pubsub_event *pe, const char *rhex)
{
	switch (w->ev.kind) {
	case SF_EVENT_PROVISION:
		return enqueue_provision(w, pe, rhex);
	case SF_EVENT_ELIGIBILITY:
		return eligibility_changed(w);
	case SF_EVENT_CDC:
		if (strcmp(w->ev.entity_name, "Order") == 0 ||
			strcmp(w->ev.entity_name, "OrderItem") == 0)
			return orders_changed(w);
		return flush_catalog(w, w->ev.change_type);
	default:
		log_warn("event of an unexpected schema ignored", "channel", w->topic,
			"event_id", pe->event_id);
		return 0;
	}
}

/* ---- stream handlers ------------------------------------------------ */

/* The writer schema of this event: cached, else GetSchema. NULL + w->err
 * (stream must restart) or NULL with *bad set (schema unusable: skip). */
static const struct sf_avro_schema *schema_for(struct worker *w, const char *id, int *bad)
{
	const struct sf_avro_schema *s = sf_avro_cache_get(w->schemas, id);
	struct sf_avro_schema *fresh;
	struct buf json;

	*bad = 0;
	if (s)
		return s;
	buf_init(&json, 1024 * 1024);
	if (pubsub_get_schema(&w->conn, id, &json, NULL, &w->err) < 0) {
		buf_free(&json);
		return NULL;
	}
	fresh = sf_avro_schema_new(json.data, json.len, &w->err);
	buf_free(&json);
	if (!fresh || sf_avro_cache_put(w->schemas, id, fresh, &w->err) < 0) {
		*bad = 1;
		return NULL;
	}
	return sf_avro_cache_get(w->schemas, id);
}

static int on_event(void *ctx, const struct pubsub_event *pe)
{
	struct worker *w = ctx;
	char rhex[CURSOR_HEX_MAX + 1] = "";
	const struct sf_avro_schema *s;
	int bad = 0;
	long long ts;

	if (pe->replay_id_len * 2 <= CURSOR_HEX_MAX)
		str_hex(rhex, pe->replay_id, pe->replay_id_len);
	s = schema_for(w, pe->schema_id, &bad);
	if (!s && !bad) {
		log_error("GetSchema failed", "channel", w->topic, "schema_id", pe->schema_id,
			"error", w->err.detail);
		return -1;
	}
	if (!s || sf_avro_decode(s, pe->payload, pe->payload_len, &w->ev, &w->err) < 0) {
		/* an undecodable event must not block the channel: counted as handled */
		log_crit("undecodable event skipped", "channel", w->topic, "event_id", pe->event_id,
			"replay_id", rhex, "error", w->err.detail);
	} else if (apply(w, pe, rhex) < 0) {
		log_error("event not handled: stream restarts from the cursor", "channel", w->topic,
			"event_id", pe->event_id, "error", w->err.detail);
		return -1;
	}
	if (cursor_store(w, pe->replay_id, pe->replay_id_len) < 0)
		return -1;
	ts = w->ev.kind == SF_EVENT_CDC ? w->ev.commit_timestamp : w->ev.created_date;
	event_stats(w, ts);
	w->got_event = 1;
	return 0;
}

static int on_keepalive(void *ctx, const unsigned char *latest, size_t len)
{
	struct worker *w = ctx;
	char b[24];

	state_set(w, "last_keepalive_at", lltoa(now_ms(), b));
	return cursor_store(w, latest, len);
}

static void on_open(void *ctx)
{
	struct worker *w = ctx;
	char b[24];

	state_set(w, "connected", "1");
	state_set(w, "connected_at", lltoa(now_ms(), b));
	log_info("Pub/Sub subscription open", "channel", w->topic);
}

/* ---- one subscription attempt -------------------------------------- */

/* Rejected cursor: never retried; the fallback preset is used instead. */
static void cursor_rejected(struct worker *w, const char *cursor, const char *code,
	const char *rpc_id, enum pubsub_preset fallback)
{
	redisReply *r;

	log_error("replay id rejected", "channel", w->topic, "cursor", cursor, "error_code", code,
		"rpc_id", rpc_id);
	log_crit("replay cursor unusable: falling back to preset", "channel", w->topic,
		"preset", preset_name(fallback), "alert", "sf_events_replay_fallback_total");
	r = redis_cmd(w->redis, NULL, "DEL " REPLAY_PREFIX "%s", w->topic);
	if (r)
		freeReplyObject(r);
	r = redis_cmd(w->redis, NULL, "HINCRBY " STATE_PREFIX "%s replay_fallback_total 1",
		w->topic);
	if (r)
		freeReplyObject(r);
	w->force_preset = fallback;
	w->forced = 1;
}

/* Where to start: the stored cursor, else the preset (CDC: flush first). */
static int start_point(struct worker *w, const struct settings *st, struct pubsub_sub *sub,
	unsigned char *id, size_t size)
{
	redisReply *r = redis_cmd(w->redis, &w->err, "GET " REPLAY_PREFIX "%s", w->topic);

	if (!r || r->type == REDIS_REPLY_ERROR) {
		if (r)
			freeReplyObject(r);
		return pt_err_set(&w->err, PT_UPSTREAM_UNAVAILABLE, "cursor unreadable");
	}
	sub->preset = w->forced ? w->force_preset : st->replay;
	if (r->type == REDIS_REPLY_STRING && !w->forced) {
		if (hex_decode(r->str, id, size, &sub->replay_id_len) == 0) {
			sub->preset = PUBSUB_CUSTOM;
			sub->replay_id = id;
		} else {
			cursor_rejected(w, "(not hex)", "local.validation", "", st->fallback);
			sub->preset = st->fallback;
		}
	}
	freeReplyObject(r);
	if (sub->preset != PUBSUB_CUSTOM && is_cdc(w->kind) && w->kind == CH_CATALOG)
		return flush_catalog(w, "start from preset");
	if (sub->preset != PUBSUB_CUSTOM && w->kind == CH_ORDERS)
		return flush_all_orders(w);
	return 0;
}

static int connect_as(struct worker *w, const struct settings *st)
{
	struct pt_err e = { 0 };

	if (sf_auth_token(w->auth, &w->token, &e) < 0) {
		w->err = e;
		return -1;
	}
	str_lcpy(w->conn.endpoint, st->endpoint, sizeof(w->conn.endpoint));
	str_lcpy(w->conn.access_token, w->token.access_token, sizeof(w->conn.access_token));
	str_lcpy(w->conn.instance_url, w->token.instance_url, sizeof(w->conn.instance_url));
	w->conn.timeout_ms = st->timeout_ms;
	if (pubsub_tenant_from_token(w->token.access_token, w->conn.tenant_id,
		sizeof(w->conn.tenant_id)) < 0)
		return pt_err_set(&w->err, PT_CONFIG_INVALID, "no org id prefix in the access token");
	return 0;
}

/* Seconds to wait before the next attempt, by how the stream ended. */
struct attempt {
	enum pubsub_end end;
	struct grpc_result res;
	enum pubsub_preset preset;
	char cursor[CURSOR_HEX_MAX + 1];
	time_t started;
};

static double backoff(struct worker *w, int failures)
{
	double base = failures >= 6 ? BACKOFF_CAP_S : (double)(1 << failures);
	double jitter = 0.8 + 0.4 * ((double)rand_r(&w->seed) / RAND_MAX);

	if (base > BACKOFF_CAP_S)
		base = BACKOFF_CAP_S;
	return base * jitter;
}

static double after_status(struct worker *w, const struct attempt *a, const struct settings *st,
	int *failures, int *refreshed)
{
	int s = grpc_result_status(&a->res);
	const char *name = grpc_status_name(s);

	log_warn("Pub/Sub stream ended", "channel", w->topic, "grpc_status", name,
		"error_code", a->res.error_code, "rpc_id", a->res.rpc_id, "message", a->res.message);
	if (s == GRPC_UNAUTHENTICATED && !*refreshed) {
		struct sf_token fresh;
		*refreshed = 1;
		if (sf_auth_refresh(w->auth, &w->token, &fresh, &w->err) == 0)
			return 0;
	}
	if (s == GRPC_INVALID_ARGUMENT && a->preset == PUBSUB_CUSTOM &&
		strstr(a->res.error_code, "replayid")) {
		cursor_rejected(w, a->cursor, a->res.error_code, a->res.rpc_id, st->fallback);
		return 0;
	}
	(*failures)++;
	if (s == GRPC_NOT_FOUND || s == GRPC_PERMISSION_DENIED || s == GRPC_UNIMPLEMENTED) {
		log_crit("Pub/Sub channel unusable", "channel", w->topic, "grpc_status", name);
		return RETRY_FATAL_S;
	}
	if (s == GRPC_RESOURCE_EXHAUSTED)
		return backoff(w, *failures) < 60 ? 60 : backoff(w, *failures);
	return backoff(w, *failures) < 5 ? 5 : backoff(w, *failures);
}

static double next_delay(struct worker *w, const struct attempt *a, const struct settings *st,
	int *failures, int *refreshed)
{
	if (w->got_event || time(NULL) - a->started >= STABLE_S) {
		*failures = 0;
		*refreshed = 0;
	}
	switch (a->end) {
	case PUBSUB_END_STOP:
		return 0;
	case PUBSUB_END_IDLE:
		log_warn("Pub/Sub stream idle: resubscribing", "channel", w->topic);
		return 0;
	case PUBSUB_END_STATUS:
		return after_status(w, a, st, failures, refreshed);
	default:
		log_error("Pub/Sub stream failed", "channel", w->topic, "error", w->err.detail);
		(*failures)++;
		return backoff(w, *failures);
	}
}

static void subscribe_once(struct worker *w, const struct settings *st, struct attempt *a)
{
	unsigned char id[CURSOR_HEX_MAX / 2];
	struct pubsub_sub sub = { .topic = w->topic, .batch = st->batch,
		.idle_timeout_s = st->idle_s };
	struct pubsub_handler h = { .ctx = w, .on_open = on_open, .on_event = on_event,
		.on_keepalive = on_keepalive };

	memset(a, 0, sizeof(*a));
	a->started = time(NULL);
	a->end = PUBSUB_END_LOCAL;
	w->got_event = 0;
	if (connect_as(w, st) < 0 || start_point(w, st, &sub, id, sizeof(id)) < 0)
		return;
	a->preset = sub.preset;
	if (sub.preset == PUBSUB_CUSTOM)
		str_hex(a->cursor, id, sub.replay_id_len);
	w->forced = 0;
	log_info("Pub/Sub subscribing", "channel", w->topic, "preset", preset_name(sub.preset),
		"cursor", a->cursor);
	w->have_cursor = sub.preset == PUBSUB_CUSTOM;
	a->end = pubsub_subscribe(&w->conn, &sub, &h, &w->stop_stream, &a->res, &w->err);
	state_set(w, "connected", "0");
	/* Started from a preset and ended before any cursor was stored (no event,
	 * no keepalive yet): LATEST again would skip whatever was published while
	 * we were away, so the next start uses the fallback preset (§11: duplicates
	 * are harmless, skipped events are not). */
	if (!w->have_cursor && !w->forced && !daemon_stop_flag) {
		w->forced = 1;
		w->force_preset = st->fallback;
		log_warn("stream ended before a cursor was stored: next start uses the fallback preset",
			"channel", w->topic, "preset", preset_name(st->fallback));
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct settings st;
	struct attempt a;
	int failures = 0, refreshed = 0;

	while (!daemon_stop_flag) {
		double delay;
		load_settings(&st);
		w->stop_stream = 0;
		subscribe_once(w, &st, &a);
		delay = next_delay(w, &a, &st, &failures, &refreshed);
		if (failures == 5)
			log_crit("Pub/Sub: 5 failures in a row", "channel", w->topic);
		if (delay > 0)
			log_info("Pub/Sub reconnect scheduled", "channel", w->topic,
				"delay_ms", lltoa((long long)(delay * 1000), (char[24]){ 0 }));
		nap(w, delay);
	}
	return NULL;
}

/* ---- process -------------------------------------------------------- */

static int worker_init(struct worker *w, const char *topic, enum chan_kind kind,
	struct pt_err *err)
{
	memset(w, 0, sizeof(*w));
	str_lcpy(w->topic, topic, sizeof(w->topic));
	w->kind = kind;
	w->seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)kind;
	sf_event_init(&w->ev);
	if (!(w->redis = redis_new_from_config(g_cfg, err)) ||
		!(w->auth = sf_auth_new_config(g_cfg, w->redis, err)) ||
		!(w->schemas = sf_avro_cache_new()))
		return -1;
	if (kind == CH_ORDERS && !(w->rest = sf_client_new_config(g_cfg, w->redis, err)))
		return -1;
	return 0;
}

static void worker_free(struct worker *w)
{
	sf_client_free(w->rest);
	sf_auth_free(w->auth);
	sf_avro_cache_free(w->schemas);
	redis_free(w->redis);
	sf_event_free(&w->ev);
}

static const struct { const char *topic; enum chan_kind kind; } fixed_channels[] = {
	{ "/event/AccountEligibilityChanged__e", CH_ELIGIBILITY },
	{ "/data/Product2ChangeEvent", CH_CATALOG },
	{ "/data/PricebookEntryChangeEvent", CH_CATALOG },
	{ "/data/OrderChangeEvent", CH_ORDERS },
	{ "/data/OrderItemChangeEvent", CH_ORDERS },
};
#define NCHANNELS (1 + sizeof(fixed_channels) / sizeof(fixed_channels[0]))

static int start_workers(struct worker *ws, struct pt_err *err)
{
	sigset_t all, old;
	int rc = 0;

	if (worker_init(&ws[0], config_get(g_cfg, "SF_PROVISION_EVENT_CHANNEL"), CH_PROVISION,
		err) < 0)
		return -1;
	for (size_t i = 1; i < NCHANNELS; i++)
		if (worker_init(&ws[i], fixed_channels[i - 1].topic, fixed_channels[i - 1].kind,
			err) < 0)
			return -1;
	/* workers never take signals: main handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (size_t i = 0; i < NCHANNELS && rc == 0; i++) {
		rc = pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) == 0 ? 0 : -1;
		ws[i].started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		pt_err_set(err, PT_INTERNAL, "pthread_create failed");
	return rc;
}

static void stop_streams(struct worker *ws)
{
	for (size_t i = 0; i < NCHANNELS; i++)
		ws[i].stop_stream = 1;
}

/* SIGHUP: logs reopened; a valid new configuration replaces the old one and
 * every stream restarts with its settings (connections keep theirs). */
static void reload(const char *path, struct worker *ws)
{
	struct pt_err err = { 0 };
	struct pt_config *fresh = config_load(path, &err);

	log_reopen();
	if (!fresh) {
		log_error("configuration reload failed: keeping the old one", "error", err.detail);
		return;
	}
	pthread_mutex_lock(&g_cfg_lock);
	config_free(g_cfg);
	g_cfg = fresh;
	pthread_mutex_unlock(&g_cfg_lock);
	log_info("configuration reloaded");
	if (ws)
		stop_streams(ws);
}

static void main_loop(const char *path, struct worker *ws)
{
	struct timespec ts = { 0, 200 * 1000000L };

	while (!daemon_stop_flag) {
		nanosleep(&ts, NULL);
		if (daemon_hup_flag) {
			daemon_hup_flag = 0;
			reload(path, ws);
		}
	}
}

struct opts {
	int foreground;
	const char *pidfile, *config, *logfile;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt(argc, argv, "fp:l:c:h")) != -1) {
		switch (c) {
		case 'f': o->foreground = 1; break;
		case 'p': o->pidfile = optarg; break;
		case 'l': o->logfile = optarg; break;
		case 'c': o->config = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-f] [-p pidfile] [-l logfile] [-c config]\n", APP);
			return -1;
		}
	}
	return 0;
}

static int setup(const struct opts *o)
{
	static const char *const required[] = { "REDIS_URL", "SF_LOGIN_URL", "SF_CLIENT_ID",
		"SF_USERNAME", "SF_PUBSUB_ENDPOINT", NULL };
	enum log_level lvl = LOG_LVL_INFO;
	int use_syslog = 0;

	/* First, so that even a configuration error lands in the file; a file
	 * that cannot be opened is a warning, not a reason to stop. */
	log_init(APP, LOG_LVL_INFO, 0);
	log_set_file(o->logfile);
	if (!(g_cfg = daemon_config_check(APP, o->config, required)))
		return PT_EXIT_CONFIG;
	log_level_parse(config_get(g_cfg, "LOG_LEVEL"), &lvl);
	config_get_bool(g_cfg, "LOG_SYSLOG", &use_syslog, NULL);
	if (daemon_detach(APP, o->foreground) < 0)
		return 1;
	/* Detached, stderr is /dev/null unless -l named a file. */
	log_init(APP, lvl, use_syslog || (!o->foreground && !o->logfile));
	if (o->pidfile && daemon_pidfile_write(o->pidfile) < 0) {
		log_error("cannot write pid file", "path", o->pidfile);
		return 1;
	}
	return 0;
}

static int run(const struct opts *o)
{
	struct worker ws[NCHANNELS];
	struct pt_err err = { 0 };
	int enabled = 1, rc = 0;

	memset(ws, 0, sizeof(ws));
	config_get_bool(g_cfg, "SF_EVENTS_ENABLED", &enabled, NULL);
	if (!enabled) {
		log_info("Salesforce events disabled (SF_EVENTS_ENABLED=false): idle");
		main_loop(o->config, NULL);
		return 0;
	}
	if (start_workers(ws, &err) < 0) {
		log_crit("subscriber start failed", "error", err.detail);
		daemon_stop_flag = 1;
		rc = err.code == PT_CONFIG_INVALID ? PT_EXIT_CONFIG : 1;
	}
	main_loop(o->config, ws);
	stop_streams(ws);
	for (size_t i = 0; i < NCHANNELS; i++) {
		if (ws[i].started)
			pthread_join(ws[i].thread, NULL);
		worker_free(&ws[i]);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc;

	if (parse_args(argc, argv, &o) < 0)
		return 64;
	if ((rc = setup(&o)) != 0)
		return rc;
	daemon_signals_install();
	http_global_init();
	log_info("portal-subscriberd starting", "pid", log_itoa(getpid(), (char[24]){ 0 }));
	rc = run(&o);
	log_info("portal-subscriberd stopped");
	daemon_pidfile_remove(o.pidfile);
	http_global_cleanup();
	config_free(g_cfg);
	log_close();
	return rc;
}
