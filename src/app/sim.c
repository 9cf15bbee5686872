/* app/sim — see sim.h. Every line-scoped key is read only after
 * sim_resolve has checked the service against the session's own client. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/catalog.h"
#include "app/jobs.h"
#include "app/sim.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "domain/billing.h"
#include "domain/sim.h"
#include "freebit/actions.h"
#include "store/cache.h"
#include "store/db.h"
#include "store/delayed.h"
#include "store/redis.h"
#include "whmcs/actions.h"

#define SIM_BODY_MAX 65536
#define SIM_CACHE_VALUE_MAX (1024u * 1024u)

/* ---- pure parts ---------------------------------------------------------- */

void sim_jst_date(long long t, int *y, int *m, int *d)
{
	time_t j = (time_t)(t + 9 * 3600);
	struct tm tm;

	gmtime_r(&j, &tm);
	*y = tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
	*d = tm.tm_mday;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

int sim_parse_month(const char *s, int *y, int *m)
{
	int i;

	if (!s || strlen(s) != 7 || s[4] != '-')
		return -1;
	for (i = 0; i < 7; i++)
		if (i != 4 && !isdigit((unsigned char)s[i]))
			return -1;
	*y = atoi(s);
	*m = atoi(s + 5);
	return *y >= 2000 && *m >= 1 && *m <= 12 ? 0 : -1;
}

int sim_month_offered(int y, int m, int ny, int nm)
{
	long idx = (long)y * 12 + (m - 1), now = (long)ny * 12 + (nm - 1);

	return idx <= now - 2 && idx >= now - 13;
}

/* "YYYYMMDD" of a civil date (through a roomy buffer: the values are
 * bounded by their callers, the compiler cannot know). */
static void ymd(char out[9], int y, int m, int d)
{
	char tmp[48];

	snprintf(tmp, sizeof tmp, "%04d%02d%02d", y % 10000, m % 100, d % 100);
	str_lcpy(out, tmp, 9);
}

/* Days since the epoch of a civil date (proleptic Gregorian). */
static long day_number(int y, int m, int d)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	return (long)(timegm(&tm) / 86400);
}

static void date_of_day(long day, char out[9])
{
	time_t t = (time_t)day * 86400 + 43200;
	struct tm tm;

	gmtime_r(&t, &tm);
	ymd(out, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static int parse_day(const char *s, long *day)
{
	int y, m, d, i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return -1;
	y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	if (y < 2000 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*day = day_number(y, m, d);
	return 0;
}

int sim_usage_window(const char *from, const char *to, int ty, int tm, int td,
	char fb_from[9], char fb_to[9], struct pt_err *err)
{
	long today = day_number(ty, tm, td), f, t;
	int by = ty, bm = tm - 3;

	if (bm < 1)
		bm += 12, by--;
	t = today;
	if (to && parse_day(to, &t) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "to", "not YYYY-MM-DD");
	f = t - 29;
	if (from && parse_day(from, &f) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "from", "not YYYY-MM-DD");
	if (t > today)
		return pt_err_field(err, PT_VALIDATION_FAILED, "to", "in the future");
	if (f > t)
		return pt_err_field(err, PT_VALIDATION_FAILED, "from", "after to");
	if (t - f > 91)
		return pt_err_field(err, PT_VALIDATION_FAILED, "from", "span over 92 days");
	if (f < day_number(by, bm, 1)) {
		if (from)
			return pt_err_field(err, PT_VALIDATION_FAILED, "from", "too far back");
		f = day_number(by, bm, 1);
	}
	date_of_day(f, fb_from);
	date_of_day(t, fb_to);
	return 0;
}

void sim_cancel_date(int y, int m, int d, char out[9])
{
	int last = days_in_month(y, m);

	/* On a last day Freebit refuses the change (250): next month's end. */
	if (d >= last) {
		if (++m > 12)
			m = 1, y++;
		last = days_in_month(y, m);
	}
	ymd(out, y, m, last);
}

void sim_next_month_first(int y, int m, char out[9])
{
	if (++m > 12)
		m = 1, y++;
	ymd(out, y, m, 1);
}

void sim_dashed(const char *s, char out[11])
{
	if (strlen(s) != 8) {
		out[0] = '\0';
		return;
	}
	memcpy(out, s, 4);
	out[4] = '-';
	memcpy(out + 5, s + 4, 2);
	out[7] = '-';
	memcpy(out + 8, s + 6, 2);
	out[10] = '\0';
}

/* ---- helpers --------------------------------------------------------------- */

static struct json_object *parse_body(const char *body, size_t len, struct pt_err *err)
{
	struct json_object *o = json_parse_bounded(body, len, SIM_BODY_MAX, JSON_DEFAULT_MAX_DEPTH,
		err);

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		pt_err_field(err, PT_VALIDATION_FAILED, "body", "not a JSON object");
		return NULL;
	}
	return o;
}

static void today_jst(int *y, int *m, int *d)
{
	sim_jst_date((long long)time(NULL), y, m, d);
}

static void rfc3339(long long t, char out[DOMAIN_TIME_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, DOMAIN_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void sim_drop_line_caches(struct redis *r, const char *msisdn)
{
	static const char *const keys[] = { "detail", "traffic", "quota_history" };
	struct buf k;
	size_t i;

	buf_init(&k, CACHE_KEY_MAX);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (cache_key_line(&k, msisdn, keys[i], NULL) == 0)
			cache_del(r, buf_cstr(&k), NULL);
	if (cache_key_line(&k, msisdn, "usage:", NULL) == 0)
		cache_del_prefix(r, buf_cstr(&k), NULL, NULL);
	buf_free(&k);
}

/* ---- {id} resolution ---------------------------------------------------------- */

static int services_json(struct sim_deps *d, const char *client_id, struct json_object **out,
	struct pt_err *err)
{
	struct domain_subscription_list list = { 0 };
	struct domain_whmcs_ctx ctx = { "JPY", NULL };
	struct buf key, val;
	char today[48];
	int y, m, dd, rc = -1;

	buf_init(&key, CACHE_KEY_MAX);
	buf_init(&val, SIM_CACHE_VALUE_MAX);
	if (cache_key_client(&key, client_id, "services", err) != 0)
		goto out;
	if (cache_get(d->redis, buf_cstr(&key), &val, NULL) == 1 &&
	    (*out = json_parse_bounded(val.data, val.len, SIM_CACHE_VALUE_MAX, 16, NULL)) &&
	    json_object_is_type(*out, json_type_array)) {
		rc = 0;
		goto out;
	}
	today_jst(&y, &m, &dd);
	snprintf(today, sizeof today, "%04d-%02d-%02d", y, m, dd);
	ctx.today = today;
	if (whmcs_get_services(d->whmcs, atol(client_id), 0, &ctx, &list, err) != 0)
		goto out;
	if (!(*out = domain_subscription_list_json(&list))) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto out;
	}
	size_t n;
	const char *s = json_compact(*out, &n);
	cache_set(d->redis, buf_cstr(&key), s, n, SIM_SERVICES_TTL_S, NULL);
	rc = 0;
out:
	domain_subscription_list_clear(&list);
	buf_free(&key);
	buf_free(&val);
	return rc;
}

int sim_resolve(struct sim_deps *d, const struct sim_who *who, const char *id,
	struct sim_line_ref *out, struct pt_err *err)
{
	struct json_object *svcs = NULL, *s, *v;
	size_t i, n = id ? strlen(id) : 0;
	long sid;
	int rc = -1;

	memset(out, 0, sizeof *out);
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)id[i]))
			break;
	if (n == 0 || n > 18 || i != n || (sid = atol(id)) <= 0)
		return pt_err_set(err, PT_NOT_FOUND, "service id");
	if (!who->whmcs_client_id[0])
		return pt_err_set(err, PT_NOT_FOUND, "no WHMCS client on the session");
	if (services_json(d, who->whmcs_client_id, &svcs, err) != 0)
		return -1;
	pt_err_set(err, PT_NOT_FOUND, "service %ld is not a SIM of this client", sid);
	for (i = 0; i < json_object_array_length(svcs); i++) {
		s = json_object_array_get_idx(svcs, i);
		if (!json_object_object_get_ex(s, "id", &v) || json_object_get_int64(v) != sid)
			continue;
		if (!json_object_object_get_ex(s, "is_sim", &v) || !json_object_get_boolean(v))
			break;
		if (freebit_msisdn_norm(json_str_or(s, "msisdn", ""), out->msisdn) != 0)
			break;
		str_lcpy(out->sim_type, json_str_or(s, "sim_type", ""), sizeof out->sim_type);
		out->service_id = sid;
		pt_err_clear(err);
		rc = 0;
		break;
	}
	json_object_put(svcs);
	return rc;
}

/* ---- cached reads ---------------------------------------------------------------- */

typedef int (*sim_fetch_fn)(struct sim_deps *d, const char *msisdn, const void *arg,
	struct json_object **out, struct pt_err *err);

static int fetch_detail(struct sim_deps *d, const char *msisdn, const void *arg,
	struct json_object **out, struct pt_err *err)
{
	struct domain_sim_line line;

	(void)arg;
	if (freebit_get_detail(d->fb, msisdn, &line, err) != 0)
		return -1;
	*out = domain_sim_line_json(&line);
	return *out ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

static int fetch_traffic(struct sim_deps *d, const char *msisdn, const void *arg,
	struct json_object **out, struct pt_err *err)
{
	struct domain_sim_traffic t;

	(void)arg;
	if (freebit_get_traffic_info(d->fb, msisdn, &t, err) != 0)
		return -1;
	*out = domain_sim_traffic_json(&t);
	return *out ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

static int fetch_usage(struct sim_deps *d, const char *msisdn, const void *arg,
	struct json_object **out, struct pt_err *err)
{
	const char *const *w = arg;
	struct domain_usage_list l = { 0 };
	int rc;

	if (freebit_get_traffic_history(d->fb, msisdn, w[0], w[1], &l, err) != 0)
		return -1;
	*out = domain_usage_list_json(&l);
	rc = *out ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
	domain_usage_list_clear(&l);
	return rc;
}

static int cache_json(struct redis *r, const char *key, struct json_object **out)
{
	struct buf v;
	int rc = -1;

	buf_init(&v, SIM_CACHE_VALUE_MAX);
	if (cache_get(r, key, &v, NULL) == 1 &&
	    (*out = json_parse_bounded(v.data, v.len, SIM_CACHE_VALUE_MAX, 16, NULL)))
		rc = 0;
	buf_free(&v);
	return rc;
}

/* Cache-aside read of freebit:line:<msisdn>:<suffix>. When stale_suffix is
 * set the last good copy is kept 7 days and served (*stale = 1) only when
 * Freebit is unreachable (freebit.md §6). */
static int line_read(struct sim_deps *d, const char *msisdn, const char *suffix,
	const char *stale_suffix, long ttl, sim_fetch_fn fetch, const void *arg,
	struct json_object **out, int *stale, struct pt_err *err)
{
	struct buf key, skey;
	int rc = -1;

	*stale = 0;
	buf_init(&key, CACHE_KEY_MAX);
	buf_init(&skey, CACHE_KEY_MAX);
	if (cache_key_line(&key, msisdn, suffix, err) != 0 ||
	    (stale_suffix && cache_key_line(&skey, msisdn, stale_suffix, err) != 0))
		goto out;
	if (cache_json(d->redis, buf_cstr(&key), out) == 0) {
		rc = 0;
		goto out;
	}
	if (fetch(d, msisdn, arg, out, err) == 0) {
		size_t n;
		const char *s = json_compact(*out, &n);

		cache_set(d->redis, buf_cstr(&key), s, n, ttl, NULL);
		if (stale_suffix)
			cache_set(d->redis, buf_cstr(&skey), s, n, SIM_STALE_TTL_S, NULL);
		rc = 0;
		goto out;
	}
	if (stale_suffix && err->code == PT_UPSTREAM_UNAVAILABLE &&
	    cache_json(d->redis, buf_cstr(&skey), out) == 0) {
		log_warn("freebit down: serving a stale copy", "key", buf_cstr(&skey),
			"provider_code", err->provider_code);
		pt_err_clear(err);
		*stale = 1;
		rc = 0;
	}
out:
	buf_free(&key);
	buf_free(&skey);
	return rc;
}

/* ---- alerts on usage reads ------------------------------------------------------ */

/* Records the line's alert once per JST month when the used share of the
 * quota reaches its threshold: one statement, so two readers at once cannot
 * both record it. A failure here never fails the read. */
static void alert_check(struct sim_deps *d, const struct sim_who *who,
	const struct sim_line_ref *l, struct json_object *traffic)
{
	struct json_object *t, *r;
	char pct[24], sid[24], used[24];
	struct pt_err e = { 0 };
	long total, remain;

	if (!d->db || !traffic || !json_object_object_get_ex(traffic, "quota_total_mb", &t) ||
	    !json_object_object_get_ex(traffic, "remaining_quota_mb", &r) || !t || !r)
		return;
	total = (long)json_object_get_int64(t);
	remain = (long)json_object_get_int64(r);
	if (total <= 0 || remain < 0 || remain > total)
		return;
	snprintf(pct, sizeof pct, "%ld", (total - remain) * 100 / total);
	snprintf(sid, sizeof sid, "%ld", l->service_id);
	snprintf(used, sizeof used, "%ld", total - remain);
	const char *p[] = { who->user_id, sid, pct, l->msisdn, used };
	if (db_command(d->db,
		"WITH f AS (UPDATE usage_alerts SET last_fired_at = now(), updated_at = now() "
		"WHERE user_id = $1 AND whmcs_service_id = $2 AND enabled AND threshold_pct <= $3::int "
		"AND (last_fired_at IS NULL OR date_trunc('month', last_fired_at AT TIME ZONE 'Asia/Tokyo') "
		"< date_trunc('month', now() AT TIME ZONE 'Asia/Tokyo')) RETURNING threshold_pct) "
		"INSERT INTO notifications (user_id, kind, title, body, data) "
		"SELECT $1, 'usage_alert', 'Data usage reached ' || threshold_pct || '%', "
		"'Line ' || $4 || ' has used ' || $3 || '% of its data quota this month.', "
		"jsonb_build_object('service_id', $2::bigint, 'msisdn', $4::text, "
		"'threshold_percent', threshold_pct, 'used_percent', $3::int, 'used_mb', $5::bigint) "
		"FROM f", 5, p, &e) < 0)
		log_warn("usage alert check failed", "detail", e.detail);
}

/* ---- details and usage ---------------------------------------------------------- */

int sim_details(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	struct json_object **out, struct pt_err *err)
{
	struct json_object *line = NULL, *traffic = NULL;
	struct pt_err te = { 0 };
	int stale = 0, tstale = 0;

	if (line_read(d, l->msisdn, "detail", "detail:stale", SIM_DETAIL_TTL_S, fetch_detail,
		NULL, &line, &stale, err) != 0)
		return -1;
	/* Traffic is extra: a cancelled line has none (250), Freebit down with no
	 * copy leaves it null rather than failing the details. */
	if (line_read(d, l->msisdn, "traffic", "traffic:stale", SIM_DETAIL_TTL_S, fetch_traffic,
		NULL, &traffic, &tstale, &te) != 0)
		traffic = NULL;
	else if (!tstale)
		alert_check(d, who, l, traffic);
	json_object_object_add(line, "id", json_object_new_int64(l->service_id));
	json_object_object_add(line, "traffic", traffic);
	json_object_object_add(line, "stale", json_object_new_boolean(stale || tstale));
	*out = line;
	return 0;
}

int sim_usage(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *from, const char *to, struct json_object **out, struct pt_err *err)
{
	char f[9], t[9], fd[11], td[11], suffix[40];
	const char *w[2] = { f, t };
	struct json_object *days = NULL, *traffic = NULL, *o;
	struct pt_err te = { 0 };
	int y, m, dd, stale = 0;

	today_jst(&y, &m, &dd);
	if (sim_usage_window(from, to, y, m, dd, f, t, err) != 0)
		return -1;
	snprintf(suffix, sizeof suffix, "usage:%s:%s", f, t);
	if (line_read(d, l->msisdn, suffix, NULL, SIM_USAGE_TTL_S, fetch_usage, w, &days, &stale,
		err) != 0)
		return -1;
	if (line_read(d, l->msisdn, "traffic", "traffic:stale", SIM_DETAIL_TTL_S, fetch_traffic,
		NULL, &traffic, &stale, &te) == 0 && !stale)
		alert_check(d, who, l, traffic);
	json_object_put(traffic);
	sim_dashed(f, fd);
	sim_dashed(t, td);
	if (!(o = json_object_new_object())) {
		json_object_put(days);
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	}
	json_object_object_add(o, "from", json_object_new_string(fd));
	json_object_object_add(o, "to", json_object_new_string(td));
	json_object_object_add(o, "days", days);
	*out = o;
	return 0;
}

/* ---- the 30-minute gap claim (freebit.md §5) -------------------------------------- */

static long key_ttl(struct redis *r, const char *key)
{
	struct pt_err e = { 0 };
	redisReply *rep = redis_cmd(r, &e, "TTL %s", key);
	long t = rep && rep->type == REDIS_REPLY_INTEGER ? (long)rep->integer : -2;

	if (rep)
		freeReplyObject(rep);
	return t;
}

static int too_soon(struct pt_err *err, long ttl, const char *why)
{
	pt_err_set(err, PT_OPERATION_TOO_SOON, "%s", why);
	err->retry_after = ttl > 0 ? (int)ttl : 300;
	return -1;
}

static long gap_of(const struct sim_deps *d)
{
	return d->gap_s > 0 ? d->gap_s : 1;
}

/* SET …:last_change <op>:<epoch> NX EX gap; taken → 409 with its TTL. Redis
 * down refuses the write (resolutions §18). Exported: the network-type job
 * takes the same claim (app/jobs). */
int sim_claim(struct redis *r, long gap_s, const char *msisdn, const char *op,
	struct pt_err *err)
{
	struct buf key;
	char val[64];
	redisReply *rep = NULL;
	int rc = -1;

	buf_init(&key, CACHE_KEY_MAX);
	if (cache_key_line(&key, msisdn, "last_change", err) != 0)
		goto out;
	snprintf(val, sizeof val, "%s:%lld", op, (long long)time(NULL));
	rep = redis_cmd(r, err, "SET %s %s NX EX %ld", buf_cstr(&key), val,
		gap_s > 0 ? gap_s : 1);
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: claim");
		err->retry_after = 5;
		goto out;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		too_soon(err, key_ttl(r, buf_cstr(&key)), "line changed less than the gap ago");
		goto out;
	}
	rc = 0;
out:
	if (rep)
		freeReplyObject(rep);
	buf_free(&key);
	return rc;
}

static int claim(struct sim_deps *d, const char *msisdn, const char *op, struct pt_err *err)
{
	return sim_claim(d->redis, gap_of(d), msisdn, op, err);
}

/* After the call: success or unknown outcome keep the claim; 241 re-sets it
 * for Freebit's retryAfter; anything else gives it back. */
void sim_settle(struct redis *r, const char *msisdn, int rc, const struct pt_err *err)
{
	struct buf key;
	redisReply *rep = NULL;
	struct pt_err e = { 0 };

	if (rc == 0 || !strcmp(err->provider_code, "ETIMEOUT"))
		return;
	buf_init(&key, CACHE_KEY_MAX);
	if (cache_key_line(&key, msisdn, "last_change", &e) == 0) {
		if (!strcmp(err->provider_code, "241") && err->retry_after > 0)
			rep = redis_cmd(r, &e, "SET %s 241:%lld EX %d", buf_cstr(&key),
				(long long)time(NULL), err->retry_after);
		else
			rep = redis_cmd(r, &e, "DEL %s", buf_cstr(&key));
	}
	if (rep)
		freeReplyObject(rep);
	buf_free(&key);
}

static void settle(struct sim_deps *d, const char *msisdn, int rc, const struct pt_err *err)
{
	sim_settle(d->redis, msisdn, rc, err);
}

static int live_detail(struct sim_deps *d, const struct sim_line_ref *l,
	struct domain_sim_line *line, struct pt_err *err)
{
	if (freebit_get_detail(d->fb, l->msisdn, line, err) != 0) {
		/* Actions never act on a stale picture of the line. */
		if (err->code == PT_UPSTREAM_UNAVAILABLE && !err->retry_after)
			err->retry_after = 30;
		return -1;
	}
	return 0;
}

/* ---- network type: a delayed job (resolutions §22) ------------------------------- */

int sim_network_type(struct sim_deps *d, const struct sim_line_ref *l, const char *body,
	size_t len, int *status, struct json_object **out, struct pt_err *err)
{
	struct json_object *b = parse_body(body, len, err);
	struct domain_sim_line line;
	struct buf key;
	const char *nt = NULL;
	char payload[DELAYED_JOB_MAX], due_s[24], when[DOMAIN_TIME_MAX];
	redisReply *rep = NULL;
	long long now = (long long)time(NULL), due;
	long ttl;
	int rc = -1;

	buf_init(&key, CACHE_KEY_MAX);
	if (!b || json_get_str(b, "network_type", 1, 2, &nt, err) != 0)
		goto out;
	if (strcmp(nt, "4G") && strcmp(nt, "5G")) {
		pt_err_field(err, PT_VALIDATION_FAILED, "network_type", "4G or 5G");
		goto out;
	}
	if (live_detail(d, l, &line, err) != 0 || cache_key_line(&key, l->msisdn, "pending", err))
		goto out;
	if ((ttl = key_ttl(d->redis, buf_cstr(&key))) != -2 || line.pending_operation[0]) {
		too_soon(err, ttl, "a change is pending on the line");
		goto out;
	}
	if (!strcmp(line.network_type, nt)) {
		*status = 200;
		*out = json_object_new_object();
		json_object_object_add(*out, "network_type", json_object_new_string(nt));
		json_object_object_add(*out, "scheduled_at", NULL);
		rc = 0;
		goto out;
	}
	due = now + gap_of(d);
	snprintf(due_s, sizeof due_s, "%lld", due);
	/* The marker outlives the due time a little: the job then leaves
	 * Freebit's own pendingOperation behind, which keeps refusing. */
	rep = redis_cmd(d->redis, err, "SET %s %s NX EX %lld", buf_cstr(&key), due_s,
		due - now + 600);
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: pending marker");
		err->retry_after = 5;
		goto out;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		too_soon(err, key_ttl(d->redis, buf_cstr(&key)), "a change is pending on the line");
		goto out;
	}
	if (jobs_network_type_payload(l->msisdn, nt, payload, sizeof payload, err) != 0 ||
	    delayed_schedule(d->redis, NULL, due * 1000, payload, err) != 0) {
		struct pt_err e = { 0 };
		redisReply *del = redis_cmd(d->redis, &e, "DEL %s", buf_cstr(&key));

		if (del)
			freeReplyObject(del);
		goto out;
	}
	log_info("network type change scheduled", "msisdn", l->msisdn, "network_type", nt,
		"due", due_s);
	rfc3339(due, when);
	*status = 202;
	*out = json_object_new_object();
	json_object_object_add(*out, "network_type", json_object_new_string(nt));
	json_object_object_add(*out, "scheduled_at", json_object_new_string(when));
	rc = 0;
out:
	if (rep)
		freeReplyObject(rep);
	buf_free(&key);
	json_object_put(b);
	return rc;
}

/* ---- immediate writes ------------------------------------------------------------- */

static int with_claim(struct sim_deps *d, const struct sim_line_ref *l, const char *op,
	int rc_call, struct pt_err *err)
{
	settle(d, l->msisdn, rc_call, err);
	sim_drop_line_caches(d->redis, l->msisdn);
	if (rc_call != 0)
		log_warn("freebit write refused", "op", op, "msisdn", l->msisdn, "code",
			pt_err_code_name(err->code), "provider_code", err->provider_code);
	return rc_call;
}

static int plan_code_valid(const char *s)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return n >= 1 && n <= 32;
}

/* The catalog's SIM plan for a Freebit plan code and the price the account
 * pays for it → the WHMCS side of the change. */
static int plan_product(struct sim_deps *d, const struct sim_who *who, const char *code,
	long *pid, char *price, size_t price_size, struct pt_err *err)
{
	struct app_catalog c = { .sf = d->sf, .redis = d->redis };
	struct app_catalog_items items = { 0 };
	struct domain_account acct;
	const struct domain_catalog_item *it = NULL;
	int rc = -1;

	memset(&acct, 0, sizeof acct);
	if (!d->sf || !d->pricebook_id)
		return pt_err_set(err, PT_INTERNAL, "plan change: no catalog configured");
	str_lcpy(c.pricebook_id, d->pricebook_id, sizeof c.pricebook_id);
	if (app_catalog_items_load(&c, &items, err) != 0)
		goto fail;
	for (size_t i = 0; i < items.n && !it; i++)
		if (!strcmp(items.v[i].category, "sim") && !strcmp(items.v[i].item_class, "Plan") &&
		    !strcmp(items.v[i].freebit_plan_code, code) && items.v[i].whmcs_pid > 0 &&
		    items.v[i].price[0])
			it = &items.v[i];
	if (!it) {
		pt_err_field(err, PT_VALIDATION_FAILED, "plan_code", "not a SIM plan of the catalog");
		goto out;
	}
	if (who->sf_account_id && who->sf_account_id[0] &&
	    app_catalog_account_load(&c, who->sf_account_id, &acct, err) != 0)
		goto fail;
	*pid = it->whmcs_pid;
	str_lcpy(price, app_catalog_price_for(it, who->sf_account_id && who->sf_account_id[0] ?
		&acct : NULL), price_size);
	rc = 0;
	goto out;
fail:
	/* Nothing is called or scheduled without the catalog. */
	if (err->code != PT_MAINTENANCE) {
		err->code = PT_UPSTREAM_UNAVAILABLE;
		if (!err->retry_after)
			err->retry_after = 30;
	}
out:
	app_catalog_items_free(&items);
	return rc;
}

int sim_change_plan(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *body, size_t len, struct json_object **out, struct pt_err *err)
{
	struct json_object *b = parse_body(body, len, err);
	const char *code = NULL;
	char run[9], eff[11], price[DOMAIN_DECIMAL_MAX], payload[DELAYED_JOB_MAX];
	struct tm tm = { 0 };
	long pid = 0;
	long long due;
	int y, m, dd, rc = -1;

	if (!b || json_get_str(b, "plan_code", 1, 32, &code, err) != 0)
		goto out;
	if (!plan_code_valid(code)) {
		pt_err_field(err, PT_VALIDATION_FAILED, "plan_code", "bad plan code");
		goto out;
	}
	if (plan_product(d, who, code, &pid, price, sizeof price, err) != 0)
		goto out;
	today_jst(&y, &m, &dd);
	sim_next_month_first(y, m, run);
	/* Due at 00:00 JST of the effective date. */
	tm.tm_year = atoi(run) / 10000 - 1900;
	tm.tm_mon = atoi(run) / 100 % 100 - 1;
	tm.tm_mday = 1;
	due = (long long)timegm(&tm) - 9 * 3600;
	if (claim(d, l->msisdn, "plan", err) != 0)
		goto out;
	/* The job first: a change Freebit accepted never misses its WHMCS side. */
	if (jobs_plan_change_payload(l->service_id, pid, price, payload, sizeof payload, err) ||
	    delayed_schedule(d->redis, NULL, due * 1000, payload, err) != 0) {
		settle(d, l->msisdn, -1, err);   /* the claim is given back */
		goto out;
	}
	if (with_claim(d, l, "plan", freebit_change_plan(d->fb, l->msisdn, code, run, err),
		err) != 0) {
		struct pt_err e = { 0 };
		redisReply *del = redis_cmd(d->redis, &e, "ZREM %s %s", DELAYED_KEY, payload);

		if (!del || del->type != REDIS_REPLY_INTEGER || del->integer != 1)
			log_error("plan change failed but its WHMCS job was not taken back",
				"service_id", log_itoa(l->service_id, (char[24]){ 0 }),
				"error", e.detail);
		if (del)
			freeReplyObject(del);
		goto out;
	}
	log_info("plan change: WHMCS update scheduled", "msisdn", l->msisdn, "plan_code", code,
		"effective_date", run);
	sim_dashed(run, eff);
	*out = json_object_new_object();
	json_object_object_add(*out, "plan_code", json_object_new_string(code));
	json_object_object_add(*out, "effective_date", json_object_new_string(eff));
	rc = 0;
out:
	json_object_put(b);
	return rc;
}

int sim_voice_options(struct sim_deps *d, const struct sim_line_ref *l, const char *body,
	size_t len, struct json_object **out, struct pt_err *err)
{
	struct json_object *b = parse_body(body, len, err);
	struct freebit_voice_change v = { -1, -1, -1, -1 };
	struct domain_sim_line line;
	int rc = -1;

	if (!b || json_get_bool(b, "voicemail", 0, &v.voicemail, err) ||
	    json_get_bool(b, "call_waiting", 0, &v.call_waiting, err) ||
	    json_get_bool(b, "international_roaming", 0, &v.international_roaming, err))
		goto out;
	if (v.voicemail < 0 && v.call_waiting < 0 && v.international_roaming < 0) {
		pt_err_field(err, PT_VALIDATION_FAILED, "voicemail", "no option given");
		goto out;
	}
	if (live_detail(d, l, &line, err) != 0)
		goto out;
	if (!line.has_voice) {
		pt_err_set(err, PT_SIM_ACTION_NOT_ALLOWED, "data-only SIM");
		goto out;
	}
	if (claim(d, l->msisdn, "talkoption", err) != 0 ||
	    with_claim(d, l, "talkoption", freebit_change_voice_options(d->fb, l->msisdn, &v, err),
		err) != 0)
		goto out;
	*out = json_object_new_object();
	json_object_object_add(*out, "status", json_object_new_string("accepted"));
	rc = 0;
out:
	json_object_put(b);
	return rc;
}

int sim_cancel(struct sim_deps *d, const struct sim_line_ref *l, const char *body, size_t len,
	struct json_object **out, struct pt_err *err)
{
	struct json_object *b = parse_body(body, len, err);
	struct domain_sim_line line;
	char run[9], eff[11];
	int confirm = 0, y, m, dd, rc = -1;

	if (!b || json_get_bool(b, "confirm", 1, &confirm, err) != 0)
		goto out;
	if (!confirm) {
		pt_err_field(err, PT_VALIDATION_FAILED, "confirm", "must be true");
		goto out;
	}
	if (live_detail(d, l, &line, err) != 0)
		goto out;
	if (line.cancel_date[0] || !strcmp(line.status, "cancelled")) {
		pt_err_set(err, PT_SIM_ACTION_NOT_ALLOWED, "already cancelled or scheduled");
		goto out;
	}
	today_jst(&y, &m, &dd);
	sim_cancel_date(y, m, dd, run);
	if (claim(d, l->msisdn, "cancel", err) != 0 ||
	    with_claim(d, l, "cancel", freebit_cancel_line(d->fb, l->msisdn, run, err), err) != 0)
		goto out;
	sim_dashed(run, eff);
	*out = json_object_new_object();
	json_object_object_add(*out, "effective_date", json_object_new_string(eff));
	rc = 0;
out:
	json_object_put(b);
	return rc;
}

int sim_reissue_esim(struct sim_deps *d, const struct sim_line_ref *l, const char *body,
	size_t len, struct json_object **out, struct pt_err *err)
{
	struct json_object *b = parse_body(body, len, err);
	struct domain_sim_line line;
	const char *eid = NULL;
	size_t i;
	int rc = -1;

	if (!b || json_get_str(b, "eid", 1, 32, &eid, err) != 0)
		goto out;
	for (i = 0; eid[i] && isdigit((unsigned char)eid[i]); i++)
		;
	if (i != 32 || eid[i]) {
		pt_err_field(err, PT_VALIDATION_FAILED, "eid", "32 digits");
		goto out;
	}
	if (live_detail(d, l, &line, err) != 0)
		goto out;
	if (!line.eid[0]) {
		pt_err_set(err, PT_SIM_ACTION_NOT_ALLOWED, "physical SIM: open a support case");
		goto out;
	}
	if (claim(d, l->msisdn, "esim", err) != 0 ||
	    with_claim(d, l, "esim", freebit_reissue_esim(d->fb, &line, eid, err), err) != 0)
		goto out;
	*out = json_object_new_object();
	json_object_object_add(*out, "status", json_object_new_string("accepted"));
	rc = 0;
out:
	json_object_put(b);
	return rc;
}

/* ---- alerts and notifications ----------------------------------------------------- */

static int need_db(struct sim_deps *d, struct pt_err *err)
{
	return d->db ? 0 : pt_err_set(err, PT_MAINTENANCE, "no database");
}

int sim_alerts_get(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	struct json_object **out, struct pt_err *err)
{
	char sid[24];
	PGresult *res;

	snprintf(sid, sizeof sid, "%ld", l->service_id);
	const char *p[] = { who->user_id, sid };
	if (need_db(d, err) || !(res = db_exec(d->db,
		"SELECT threshold_pct, to_char(last_fired_at AT TIME ZONE 'UTC', "
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM usage_alerts "
		"WHERE user_id = $1 AND whmcs_service_id = $2 AND enabled "
		"ORDER BY threshold_pct LIMIT 1", 2, p, err)))
		return -1;
	*out = json_object_new_object();
	json_object_object_add(*out, "id", json_object_new_int64(l->service_id));
	if (PQntuples(res) == 1) {
		json_object_object_add(*out, "threshold_percent",
			json_object_new_int(atoi(PQgetvalue(res, 0, 0))));
		json_object_object_add(*out, "last_fired_at", PQgetisnull(res, 0, 1) ? NULL :
			json_object_new_string(PQgetvalue(res, 0, 1)));
	} else {
		json_object_object_add(*out, "threshold_percent", NULL);
		json_object_object_add(*out, "last_fired_at", NULL);
	}
	PQclear(res);
	return 0;
}

int sim_alerts_put(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *body, size_t len, struct json_object **out, struct pt_err *err)
{
	struct json_object *b = parse_body(body, len, err);
	char sid[24], pct_s[8];
	long pct = 0;
	int rc = -1;

	if (!b || json_get_int(b, "threshold_percent", 1, 50, 100, &pct, err) != 0 ||
	    need_db(d, err))
		goto out;
	snprintf(sid, sizeof sid, "%ld", l->service_id);
	snprintf(pct_s, sizeof pct_s, "%ld", pct);
	const char *p[] = { who->user_id, sid, pct_s };
	/* One threshold per line: the others go, the new one starts unfired. */
	if (db_begin(d->db, err) != 0)
		goto out;
	if (db_command(d->db, "DELETE FROM usage_alerts WHERE user_id = $1 AND "
		"whmcs_service_id = $2 AND threshold_pct <> $3::int", 3, p, err) < 0 ||
	    db_command(d->db, "INSERT INTO usage_alerts (user_id, whmcs_service_id, threshold_pct) "
		"VALUES ($1, $2, $3::int) ON CONFLICT (user_id, whmcs_service_id, threshold_pct) "
		"DO UPDATE SET enabled = true, updated_at = now()", 3, p, err) < 0 ||
	    db_commit(d->db, err) != 0) {
		db_rollback(d->db);
		goto out;
	}
	rc = sim_alerts_get(d, who, l, out, err);
out:
	json_object_put(b);
	return rc;
}

int sim_notifications(struct sim_deps *d, const struct sim_who *who, struct json_object **out,
	struct pt_err *err)
{
	const char *p[] = { who->user_id };
	PGresult *res;
	struct json_object *a, *o;
	int i;

	if (need_db(d, err) || !(res = db_exec(d->db,
		"SELECT id, kind, title, body, data::text, to_char(created_at AT TIME ZONE 'UTC', "
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), read_at IS NOT NULL FROM notifications "
		"WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100", 1, p, err)))
		return -1;
	a = json_object_new_array();
	for (i = 0; a && i < PQntuples(res); i++) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(atoll(PQgetvalue(res, i, 0))));
		json_object_object_add(o, "kind", json_object_new_string(PQgetvalue(res, i, 1)));
		json_object_object_add(o, "title", json_object_new_string(PQgetvalue(res, i, 2)));
		json_object_object_add(o, "body", PQgetisnull(res, i, 3) ? NULL :
			json_object_new_string(PQgetvalue(res, i, 3)));
		json_object_object_add(o, "data", PQgetisnull(res, i, 4) ? NULL :
			json_tokener_parse(PQgetvalue(res, i, 4)));
		json_object_object_add(o, "created_at", json_object_new_string(PQgetvalue(res, i, 5)));
		json_object_object_add(o, "read", json_object_new_boolean(
			PQgetvalue(res, i, 6)[0] == 't'));
		json_object_array_add(a, o);
	}
	PQclear(res);
	if (!a)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	*out = a;
	return 0;
}
