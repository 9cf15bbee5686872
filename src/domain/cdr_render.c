/* domain/cdr_render — renderers of domain/cdr.h. */
#include "domain/cdr.h"

#include <stdio.h>

static struct json_object *charge_json(long jpy)
{
	char amt[24];

	snprintf(amt, sizeof(amt), "%ld", jpy);
	return domain_money_json(amt, "JPY");
}

struct json_object *domain_call_record_json(const struct domain_call_record *r)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	domain_json_add_str(o, "started_at", r->started_at);
	domain_json_add_str(o, "called_number", r->called_number);
	json_object_object_add(o, "duration_sec", json_object_new_int64(r->duration_sec));
	domain_json_add_str(o, "call_type", r->international ? "international" : "domestic");
	json_object_object_add(o, "charge", charge_json(r->charge_jpy));
	return o;
}

struct json_object *domain_sms_record_json(const struct domain_sms_record *r)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	domain_json_add_str(o, "sent_at", r->sent_at);
	domain_json_add_str(o, "destination", r->destination);
	domain_json_add_str(o, "sms_type", r->international ? "international" : "domestic");
	json_object_object_add(o, "charge", charge_json(r->charge_jpy));
	return o;
}

struct json_object *domain_cdr_month_json(const char *month, struct json_object *records,
	long total_jpy)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		json_object_put(records);
		return NULL;
	}
	domain_json_add_str(o, "month", month);
	json_object_object_add(o, "records", records ? records : json_object_new_array());
	json_object_object_add(o, "total", charge_json(total_jpy));
	return o;
}
