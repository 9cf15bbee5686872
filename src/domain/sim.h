/* domain/sim — SIM lines as the portal shows them: line details, traffic
 * and quota, daily usage and quota history mapped from Freebit replies
 * (freebit.md §4, all values strings, dates YYYYMMDD / JST timestamps), and
 * rendered for /api/sim/... . The only place Freebit fields are read. Pure. */
#ifndef PT_DOMAIN_SIM_H
#define PT_DOMAIN_SIM_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/err.h"
#include "domain/common.h"

/* -1 = not applicable (data-only SIM), 0 off, 1 on. */
struct domain_voice_options {
	int voicemail;
	int call_waiting;
	int call_transfer;
	int international_roaming;    /* Freebit worldWing */
};

struct domain_sim_line {
	char msisdn[12];
	char status[12];              /* active, suspended, cancelled */
	char plan_code[33];
	char next_plan_code[33];      /* "" when none scheduled */
	char next_plan_date[DOMAIN_DATE_MAX];
	char iccid[20];
	char eid[33];                 /* "" for physical SIMs */
	char product_number[16];
	char sim_kind[3];             /* E0 voice+SMS+data, E3 data+SMS, E2 data */
	char network_type[3];         /* contractLine: 4G / 5G */
	int five_g_available;
	int has_voice;                /* simKind E0 */
	struct domain_voice_options voice;
	long remaining_quota_mb;      /* -1 unknown */
	char pending_operation[16];   /* "" or contractline, talkoption, cancel, esim */
	char last_change_at[DOMAIN_TIME_MAX];   /* RFC 3339 UTC or "" */
	char start_date[DOMAIN_DATE_MAX];
	char cancel_date[DOMAIN_DATE_MAX];
};

int domain_sim_line_from_freebit(struct json_object *reply, struct domain_sim_line *out,
	struct pt_err *err);
/* {msisdn, iccid, eid, sim_type, plan{code,next_code,next_date}, status,
 *  network_type, five_g_available, remaining_quota_mb, voice_options|null,
 *  pending_operation, start_date, cancel_date, last_change_at}. */
struct json_object *domain_sim_line_json(const struct domain_sim_line *l);

struct domain_sim_traffic {
	long today_mb;
	long recent_days_mb;          /* 3 days including today */
	long this_month_mb;
	long quota_total_mb;
	long quota_remain_mb;
	int throttled;
};

int domain_sim_traffic_from_freebit(struct json_object *reply, struct domain_sim_traffic *out,
	struct pt_err *err);
struct json_object *domain_sim_traffic_json(const struct domain_sim_traffic *t);

struct domain_usage_day {
	char date[DOMAIN_DATE_MAX];
	long usage_mb;
};

struct domain_usage_list {
	struct domain_usage_day *v;
	size_t n;
};

int domain_usage_from_freebit(struct json_object *reply, struct domain_usage_list *out,
	struct pt_err *err);
void domain_usage_list_clear(struct domain_usage_list *l);
/* [{date, usage_mb}] ascending. */
struct json_object *domain_usage_list_json(const struct domain_usage_list *l);

struct domain_quota_event {
	char added_at[DOMAIN_TIME_MAX];
	long quota_mb;
	char quota_code[64];
	char expire[DOMAIN_DATE_MAX];
};

struct domain_quota_history {
	struct domain_quota_event *v;
	size_t n;
};

int domain_quota_history_from_freebit(struct json_object *reply, struct domain_quota_history *out,
	struct pt_err *err);
void domain_quota_history_clear(struct domain_quota_history *h);
struct json_object *domain_quota_history_json(const struct domain_quota_history *h);

/* Freebit date "YYYYMMDD" → "YYYY-MM-DD" ("" when empty/invalid). */
void domain_freebit_date(const char *in, char *out, size_t size);
/* Freebit JST "YYYYMMDDhhmmss" → RFC 3339 UTC ("" when empty/invalid). */
void domain_freebit_time(const char *in, char *out, size_t size);

#endif
