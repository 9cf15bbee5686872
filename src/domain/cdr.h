/* domain/cdr — call and SMS detail records (freebit.md §7) as the portal
 * keeps and shows them: the parser in src/sftp/cdr.c fills these structs,
 * the renderers here produce the /api/sim/{id}/calls|sms JSON (times RFC
 * 3339 UTC, charges {amount, currency:"JPY"}, a month total). Pure. */
#ifndef PT_DOMAIN_CDR_H
#define PT_DOMAIN_CDR_H

#include <stddef.h>
#include <json-c/json.h>
#include "domain/common.h"

enum domain_cdr_kind { DOMAIN_CDR_CALLS = 0, DOMAIN_CDR_SMS = 1 };

struct domain_call_record {
	char msisdn[12];
	char started_at[DOMAIN_TIME_MAX];   /* RFC 3339 UTC */
	char called_number[34];             /* ^\+?[0-9*#]{1,32}$, '*' = masked digit */
	long duration_sec;
	int international;
	long charge_jpy;
};

struct domain_sms_record {
	char msisdn[12];
	char sent_at[DOMAIN_TIME_MAX];
	char destination[34];
	int international;
	long charge_jpy;
};

struct json_object *domain_call_record_json(const struct domain_call_record *r);
struct json_object *domain_sms_record_json(const struct domain_sms_record *r);
/* {"month":"YYYY-MM","records":[…],"total":{amount,currency}} from a
 * (time-ordered) array; records is consumed. */
struct json_object *domain_cdr_month_json(const char *month, struct json_object *records,
	long total_jpy);

#endif
