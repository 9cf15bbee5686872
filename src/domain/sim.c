/* domain/sim — see sim.h. */
#include "domain/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "domain/billing.h"

/* 92 days is the longest span Freebit answers (freebit.md §4.3). */
#define MAX_DAYS 400
#define MAX_QUOTA_ROWS 1000

static int all_digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

void domain_freebit_date(const char *in, char *out, size_t size)
{
	char tmp[DOMAIN_DATE_MAX];

	if (size)
		out[0] = '\0';
	if (!in || !all_digits(in, 8))
		return;
	snprintf(tmp, sizeof(tmp), "%.4s-%.2s-%.2s", in, in + 4, in + 6);
	if (domain_date_norm(tmp, out, size) != 0 && size)
		out[0] = '\0';
}

void domain_freebit_time(const char *in, char *out, size_t size)
{
	char tmp[32];

	if (size)
		out[0] = '\0';
	if (!in || !all_digits(in, 14))
		return;
	snprintf(tmp, sizeof(tmp), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s+09:00", in, in + 4, in + 6,
		in + 8, in + 10, in + 12);
	if (domain_time_rfc3339(tmp, out, size) != 0 && size)
		out[0] = '\0';
}

/* Non-negative MB count sent as a string (or number); -1 when unusable. */
static long mb_field(struct json_object *o, const char *key)
{
	long v = -1;

	if (json_get_lenient_int(o, key, &v) != 0 || v < 0)
		return -1;
	return v;
}

/* Freebit flags: "10" on, "20" off. */
static int flag_field(struct json_object *o, const char *key, int dflt)
{
	const char *s = json_str_or(o, key, "");

	if (!strcmp(s, "10"))
		return 1;
	if (!strcmp(s, "20"))
		return 0;
	return dflt;
}

static void pattern_copy(char *dst, size_t size, struct json_object *o, const char *key,
	const char *charset, size_t min, size_t max)
{
	char tmp[64];
	size_t n;

	domain_copy_field(tmp, sizeof(tmp), o, key);
	n = strlen(tmp);
	if (size)
		dst[0] = '\0';
	if (n < min || n > max || strspn(tmp, charset) != n || n >= size)
		return;
	memcpy(dst, tmp, n + 1);
}

#define DIGITS "0123456789"
#define ALNUM_ "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"

static void sim_voice(struct json_object *d, struct domain_sim_line *l)
{
	struct json_object *t = NULL;

	l->voice.voicemail = l->voice.call_waiting = -1;
	l->voice.call_transfer = l->voice.international_roaming = -1;
	if (!l->has_voice || !json_object_object_get_ex(d, "talkOption", &t) ||
	    !json_object_is_type(t, json_type_object))
		return;
	l->voice.voicemail = flag_field(t, "voiceMail", -1);
	l->voice.call_waiting = flag_field(t, "callWaiting", -1);
	l->voice.call_transfer = flag_field(t, "callTransfer", -1);
	l->voice.international_roaming = flag_field(t, "worldWing", -1);
}

int domain_sim_line_from_freebit(struct json_object *reply, struct domain_sim_line *out,
	struct pt_err *err)
{
	struct json_object *d = NULL;
	char raw[32];

	memset(out, 0, sizeof(*out));
	if (!reply || !json_object_object_get_ex(reply, "responseDatas", &d))
		return pt_err_set(err, PT_UPSTREAM_ERROR, "getDetail: no responseDatas");
	/* Reconstructed as one object; accept a one-element array as well. */
	if (json_object_is_type(d, json_type_array))
		d = json_object_array_length(d) ? json_object_array_get_idx(d, 0) : NULL;
	if (!d || !json_object_is_type(d, json_type_object))
		return pt_err_set(err, PT_UPSTREAM_ERROR, "getDetail: responseDatas not an object");
	pattern_copy(out->msisdn, sizeof(out->msisdn), d, "account", DIGITS, 11, 11);
	if (!out->msisdn[0])
		return pt_err_set(err, PT_UPSTREAM_ERROR, "getDetail: bad account");
	domain_copy_field(raw, sizeof(raw), d, "state");
	if (!strcmp(raw, "active") || !strcmp(raw, "suspended") || !strcmp(raw, "cancelled"))
		str_lcpy(out->status, raw, sizeof(out->status));
	else
		str_lcpy(out->status, "unknown", sizeof(out->status));
	pattern_copy(out->plan_code, sizeof(out->plan_code), d, "planCode", ALNUM_, 1, 32);
	pattern_copy(out->next_plan_code, sizeof(out->next_plan_code), d, "nextPlanCode", ALNUM_, 1, 32);
	domain_copy_field(raw, sizeof(raw), d, "nextPlanDate");
	domain_freebit_date(raw, out->next_plan_date, sizeof(out->next_plan_date));
	pattern_copy(out->iccid, sizeof(out->iccid), d, "iccid", DIGITS, 19, 19);
	pattern_copy(out->eid, sizeof(out->eid), d, "eid", DIGITS, 32, 32);
	pattern_copy(out->product_number, sizeof(out->product_number), d, "productNumber",
		ALNUM_, 15, 15);
	domain_copy_field(raw, sizeof(raw), d, "simKind");
	if (!strcmp(raw, "E0") || !strcmp(raw, "E2") || !strcmp(raw, "E3"))
		str_lcpy(out->sim_kind, raw, sizeof(out->sim_kind));
	out->has_voice = !strcmp(out->sim_kind, "E0");
	domain_copy_field(raw, sizeof(raw), d, "contractLine");
	if (!strcmp(raw, "4G") || !strcmp(raw, "5G"))
		str_lcpy(out->network_type, raw, sizeof(out->network_type));
	out->five_g_available = flag_field(d, "fiveGAvailable", 0);
	sim_voice(d, out);
	out->remaining_quota_mb = mb_field(d, "remainQuota");
	domain_copy_field(raw, sizeof(raw), d, "pendingOperation");
	if (!strcmp(raw, "contractline") || !strcmp(raw, "talkoption") || !strcmp(raw, "cancel") ||
	    !strcmp(raw, "esim"))
		str_lcpy(out->pending_operation, raw, sizeof(out->pending_operation));
	domain_copy_field(raw, sizeof(raw), d, "lastChangeAt");
	domain_freebit_time(raw, out->last_change_at, sizeof(out->last_change_at));
	domain_copy_field(raw, sizeof(raw), d, "startDate");
	domain_freebit_date(raw, out->start_date, sizeof(out->start_date));
	domain_copy_field(raw, sizeof(raw), d, "cancelDate");
	domain_freebit_date(raw, out->cancel_date, sizeof(out->cancel_date));
	return 0;
}

static int add_opt(struct json_object *o, const char *key, const char *v)
{
	return domain_json_add_str(o, key, (v && *v) ? v : NULL);
}

static void add_tri(struct json_object *o, const char *key, int v)
{
	json_object_object_add(o, key, v < 0 ? NULL : json_object_new_boolean(v));
}

static void add_mb(struct json_object *o, const char *key, long v)
{
	json_object_object_add(o, key, v < 0 ? NULL : json_object_new_int64(v));
}

struct json_object *domain_sim_line_json(const struct domain_sim_line *l)
{
	struct json_object *o = json_object_new_object(), *plan, *voice = NULL;

	if (!o)
		return NULL;
	add_opt(o, "msisdn", l->msisdn);
	add_opt(o, "iccid", l->iccid);
	add_opt(o, "eid", l->eid);
	add_opt(o, "sim_type", l->eid[0] ? "esim" : "physical");
	plan = json_object_new_object();
	if (plan) {
		add_opt(plan, "code", l->plan_code);
		add_opt(plan, "next_code", l->next_plan_code);
		add_opt(plan, "next_date", l->next_plan_date);
	}
	json_object_object_add(o, "plan", plan);
	add_opt(o, "status", l->status);
	add_opt(o, "network_type", l->network_type);
	json_object_object_add(o, "five_g_available", json_object_new_boolean(l->five_g_available));
	json_object_object_add(o, "voice", json_object_new_boolean(l->has_voice));
	add_mb(o, "remaining_quota_mb", l->remaining_quota_mb);
	if (l->has_voice && (voice = json_object_new_object())) {
		add_tri(voice, "voicemail", l->voice.voicemail);
		add_tri(voice, "call_waiting", l->voice.call_waiting);
		add_tri(voice, "call_transfer", l->voice.call_transfer);
		add_tri(voice, "international_roaming", l->voice.international_roaming);
	}
	json_object_object_add(o, "voice_options", voice);
	add_opt(o, "pending_operation", l->pending_operation);
	add_opt(o, "start_date", l->start_date);
	add_opt(o, "cancel_date", l->cancel_date);
	add_opt(o, "last_change_at", l->last_change_at);
	return o;
}

int domain_sim_traffic_from_freebit(struct json_object *reply, struct domain_sim_traffic *out,
	struct pt_err *err)
{
	struct json_object *t = NULL, *q = NULL;

	memset(out, 0, sizeof(*out));
	if (!reply || !json_object_object_get_ex(reply, "traffic", &t) ||
	    !json_object_is_type(t, json_type_object))
		return pt_err_set(err, PT_UPSTREAM_ERROR, "getTrafficInfo: no traffic");
	out->today_mb = mb_field(t, "today");
	out->recent_days_mb = mb_field(t, "recentDays");
	out->this_month_mb = mb_field(t, "thisMonth");
	out->quota_total_mb = out->quota_remain_mb = -1;
	if (json_object_object_get_ex(reply, "quota", &q) && json_object_is_type(q, json_type_object)) {
		out->quota_total_mb = mb_field(q, "total");
		out->quota_remain_mb = mb_field(q, "remain");
	}
	out->throttled = flag_field(reply, "throttled", 0);
	return 0;
}

struct json_object *domain_sim_traffic_json(const struct domain_sim_traffic *t)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_mb(o, "today_mb", t->today_mb);
	add_mb(o, "recent_days_mb", t->recent_days_mb);
	add_mb(o, "this_month_mb", t->this_month_mb);
	add_mb(o, "quota_total_mb", t->quota_total_mb);
	add_mb(o, "remaining_quota_mb", t->quota_remain_mb);
	json_object_object_add(o, "throttled", json_object_new_boolean(t->throttled));
	return o;
}

int domain_usage_from_freebit(struct json_object *reply, struct domain_usage_list *out,
	struct pt_err *err)
{
	struct json_object *a = json_get_lenient_array(reply, "days");
	size_t i, n = a ? json_object_array_length(a) : 0;
	char raw[16];

	memset(out, 0, sizeof(*out));
	if (n > MAX_DAYS)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "getTrafficHistory: %zu days", n);
	if (n && !(out->v = calloc(n, sizeof(*out->v))))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(a, i);
		struct domain_usage_day *u = &out->v[out->n];
		domain_copy_field(raw, sizeof(raw), d, "date");
		domain_freebit_date(raw, u->date, sizeof(u->date));
		u->usage_mb = mb_field(d, "usage");
		if (u->date[0] && u->usage_mb >= 0)
			out->n++;
	}
	return 0;
}

void domain_usage_list_clear(struct domain_usage_list *l)
{
	if (!l)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct json_object *usage_row_json(const void *row)
{
	const struct domain_usage_day *u = row;
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_opt(o, "date", u->date);
	json_object_object_add(o, "usage_mb", json_object_new_int64(u->usage_mb));
	return o;
}

struct json_object *domain_usage_list_json(const struct domain_usage_list *l)
{
	return domain_json_array(l->v, l->n, sizeof(*l->v), usage_row_json);
}

int domain_quota_history_from_freebit(struct json_object *reply, struct domain_quota_history *out,
	struct pt_err *err)
{
	struct json_object *a = json_get_lenient_array(reply, "quotaHistory");
	size_t i, n = a ? json_object_array_length(a) : 0;
	char raw[32];

	memset(out, 0, sizeof(*out));
	if (n > MAX_QUOTA_ROWS)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "getQuotaHistory: %zu rows", n);
	if (n && !(out->v = calloc(n, sizeof(*out->v))))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(a, i);
		struct domain_quota_event *q = &out->v[out->n];
		domain_copy_field(raw, sizeof(raw), d, "addedAt");
		/* addedAt: a timestamp, or a plain date in some replies. */
		domain_freebit_time(raw, q->added_at, sizeof(q->added_at));
		if (!q->added_at[0] && strlen(raw) == 8) {
			char t14[16];
			snprintf(t14, sizeof(t14), "%.8s000000", raw);
			domain_freebit_time(t14, q->added_at, sizeof(q->added_at));
		}
		q->quota_mb = mb_field(d, "quota");
		domain_copy_field(q->quota_code, sizeof(q->quota_code), d, "quotaCode");
		domain_copy_field(raw, sizeof(raw), d, "expire");
		domain_freebit_date(raw, q->expire, sizeof(q->expire));
		if (q->quota_mb >= 0)
			out->n++;
		else
			memset(q, 0, sizeof(*q));
	}
	return 0;
}

void domain_quota_history_clear(struct domain_quota_history *h)
{
	if (!h)
		return;
	free(h->v);
	memset(h, 0, sizeof(*h));
}

struct json_object *domain_quota_history_json(const struct domain_quota_history *h)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; a && i < h->n; i++) {
		struct json_object *o = json_object_new_object();
		if (!o)
			break;
		add_opt(o, "added_at", h->v[i].added_at);
		json_object_object_add(o, "quota_mb", json_object_new_int64(h->v[i].quota_mb));
		add_opt(o, "code", h->v[i].quota_code);
		add_opt(o, "expires_on", h->v[i].expire);
		json_object_array_add(a, o);
	}
	return a;
}
