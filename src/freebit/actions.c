/* freebit/actions — see actions.h. */
#include "freebit/actions.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"

static int digits(const char *s, size_t n)
{
	return s && strlen(s) == n && strspn(s, "0123456789") == n;
}

static int plan_ok(const char *p)
{
	size_t n = p ? strlen(p) : 0;

	return n >= 1 && n <= 32 && strspn(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz_") == n;
}

static int date_ok(const char *d)
{
	int m, day;

	if (!digits(d, 8))
		return 0;
	m = (d[4] - '0') * 10 + (d[5] - '0');
	day = (d[6] - '0') * 10 + (d[7] - '0');
	return m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

/* New request object with account set; NULL + err on a bad MSISDN. */
static struct json_object *req_for(const char *msisdn, struct pt_err *err)
{
	char acct[12];
	struct json_object *o;

	if (freebit_msisdn_norm(msisdn, acct) != 0) {
		pt_err_field(err, PT_VALIDATION_FAILED, "msisdn", "not a valid MSISDN");
		return NULL;
	}
	o = json_object_new_object();
	if (!o) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	json_object_object_add(o, "account", json_object_new_string(acct));
	return o;
}

static void put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

/* Sends and discards the reply (writes answer with the envelope only). */
static int send_write(struct freebit_client *c, const char *path, struct json_object *req,
	struct pt_err *err)
{
	struct json_object *reply = NULL;
	int rc = freebit_call(c, path, req, 0, &reply, err);

	json_object_put(reply);
	json_object_put(req);
	return rc;
}

int freebit_get_detail(struct freebit_client *c, const char *msisdn, struct domain_sim_line *out,
	struct pt_err *err)
{
	struct json_object *req, *rd, *one, *reply = NULL;
	char acct[12];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (freebit_msisdn_norm(msisdn, acct) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "msisdn", "not a valid MSISDN");
	req = json_object_new_object();
	rd = json_object_new_array();
	one = json_object_new_object();
	if (!req || !rd || !one) {
		json_object_put(req);
		json_object_put(rd);
		json_object_put(one);
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	}
	put_str(one, "kind", "MVNO");
	put_str(one, "account", acct);
	json_object_array_add(rd, one);
	put_str(req, "version", "2");
	json_object_object_add(req, "requestDatas", rd);
	if (freebit_call(c, FREEBIT_PATH_DETAIL, req, 1, &reply, err) == 0)
		rc = domain_sim_line_from_freebit(reply, out, err);
	json_object_put(reply);
	json_object_put(req);
	return rc;
}

int freebit_get_traffic_info(struct freebit_client *c, const char *msisdn,
	struct domain_sim_traffic *out, struct pt_err *err)
{
	struct json_object *req = req_for(msisdn, err), *reply = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!req)
		return -1;
	if (freebit_call(c, FREEBIT_PATH_TRAFFIC, req, 1, &reply, err) == 0)
		rc = domain_sim_traffic_from_freebit(reply, out, err);
	json_object_put(reply);
	json_object_put(req);
	return rc;
}

static struct json_object *range_req(const char *msisdn, const char *from, const char *to,
	struct pt_err *err)
{
	struct json_object *req;

	if (!date_ok(from) || !date_ok(to) || strcmp(from, to) > 0) {
		pt_err_field(err, PT_VALIDATION_FAILED, "from", "bad date range");
		return NULL;
	}
	if (!(req = req_for(msisdn, err)))
		return NULL;
	put_str(req, "fromDate", from);
	put_str(req, "toDate", to);
	return req;
}

int freebit_get_traffic_history(struct freebit_client *c, const char *msisdn, const char *from,
	const char *to, struct domain_usage_list *out, struct pt_err *err)
{
	struct json_object *req = range_req(msisdn, from, to, err), *reply = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!req)
		return -1;
	if (freebit_call(c, FREEBIT_PATH_TRAFFIC_HISTORY, req, 1, &reply, err) == 0)
		rc = domain_usage_from_freebit(reply, out, err);
	json_object_put(reply);
	json_object_put(req);
	return rc;
}

int freebit_get_quota_history(struct freebit_client *c, const char *msisdn, const char *from,
	const char *to, struct domain_quota_history *out, struct pt_err *err)
{
	struct json_object *req = range_req(msisdn, from, to, err), *reply = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!req)
		return -1;
	if (freebit_call(c, FREEBIT_PATH_QUOTA_HISTORY, req, 1, &reply, err) == 0)
		rc = domain_quota_history_from_freebit(reply, out, err);
	json_object_put(reply);
	json_object_put(req);
	return rc;
}

int freebit_add_spec(struct freebit_client *c, const char *msisdn, long quota_mb,
	const char *quota_code, const char *expire, struct pt_err *err)
{
	struct json_object *req;
	char q[24];
	size_t cl = quota_code ? strlen(quota_code) : 0;

	if (quota_mb < 1 || quota_mb > 512000)
		return pt_err_field(err, PT_VALIDATION_FAILED, "quota_mb", "out of range");
	if (quota_code && (cl < 1 || cl > 512 || !str_valid_text(quota_code, cl, 0)))
		return pt_err_field(err, PT_VALIDATION_FAILED, "quota_code", "bad quota code");
	if (expire && !date_ok(expire))
		return pt_err_field(err, PT_VALIDATION_FAILED, "expire", "bad date");
	if (!(req = req_for(msisdn, err)))
		return -1;
	snprintf(q, sizeof(q), "%ld", quota_mb);
	put_str(req, "kind", "MVNO");
	put_str(req, "quota", q);
	if (quota_code)
		put_str(req, "quotaCode", quota_code);
	if (expire)
		put_str(req, "expire", expire);
	return send_write(c, FREEBIT_PATH_ADD_SPEC, req, err);
}

int freebit_change_plan(struct freebit_client *c, const char *msisdn, const char *plan_code,
	const char *run_time, struct pt_err *err)
{
	struct json_object *req;

	if (!plan_ok(plan_code))
		return pt_err_field(err, PT_VALIDATION_FAILED, "plan_code", "bad plan code");
	if (run_time && !date_ok(run_time))
		return pt_err_field(err, PT_VALIDATION_FAILED, "run_time", "bad date");
	if (!(req = req_for(msisdn, err)))
		return -1;
	put_str(req, "planCode", plan_code);
	if (run_time)
		put_str(req, "runTime", run_time);
	return send_write(c, FREEBIT_PATH_CHANGE_PLAN, req, err);
}

int freebit_change_network_type(struct freebit_client *c, const char *msisdn,
	const char *network_type, struct pt_err *err)
{
	struct json_object *req;

	if (!network_type || (strcmp(network_type, "4G") && strcmp(network_type, "5G")))
		return pt_err_field(err, PT_VALIDATION_FAILED, "network_type", "4G or 5G");
	if (!(req = req_for(msisdn, err)))
		return -1;
	put_str(req, "contractLine", network_type);
	return send_write(c, FREEBIT_PATH_CONTRACT_LINE, req, err);
}

static void put_flag(struct json_object *o, const char *k, int v)
{
	if (v >= 0)
		put_str(o, k, v ? "10" : "20");
}

int freebit_change_voice_options(struct freebit_client *c, const char *msisdn,
	const struct freebit_voice_change *v, struct pt_err *err)
{
	struct json_object *req, *talk;

	if (!v || (v->voicemail < 0 && v->call_waiting < 0 && v->call_transfer < 0 &&
		   v->international_roaming < 0))
		return pt_err_set(err, PT_VALIDATION_FAILED, "no voice option to change");
	if (!(req = req_for(msisdn, err)))
		return -1;
	if (!(talk = json_object_new_object())) {
		json_object_put(req);
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	}
	put_flag(talk, "voiceMail", v->voicemail);
	put_flag(talk, "callWaiting", v->call_waiting);
	put_flag(talk, "callTransfer", v->call_transfer);
	put_flag(talk, "worldWing", v->international_roaming);
	put_str(req, "userConfirmed", "10");
	put_str(req, "aladinOperated", "20");
	json_object_object_add(req, "talkOption", talk);
	return send_write(c, FREEBIT_PATH_TALK_OPTION, req, err);
}

int freebit_cancel_line(struct freebit_client *c, const char *msisdn, const char *run_date,
	struct pt_err *err)
{
	struct json_object *req;

	if (run_date && !date_ok(run_date))
		return pt_err_field(err, PT_VALIDATION_FAILED, "run_date", "bad date");
	if (!(req = req_for(msisdn, err)))
		return -1;
	put_str(req, "kind", "MVNO");
	if (run_date)
		put_str(req, "runDate", run_date);
	return send_write(c, FREEBIT_PATH_CANCEL, req, err);
}

int freebit_reissue_esim(struct freebit_client *c, const struct domain_sim_line *line,
	const char *new_eid, struct pt_err *err)
{
	struct json_object *req, *re;

	if (!digits(new_eid, 32))
		return pt_err_field(err, PT_VALIDATION_FAILED, "eid", "32 digits");
	if (!line || !line->eid[0])
		return pt_err_set(err, PT_SIM_ACTION_NOT_ALLOWED, "reissue: not an eSIM line");
	if (!(req = req_for(line->msisdn, err)))
		return -1;
	if (!(re = json_object_new_object())) {
		json_object_put(req);
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	}
	put_str(re, "oldProductNumber", line->product_number);
	put_str(re, "oldEid", line->eid);
	put_str(req, "aladinOperated", "20");
	put_str(req, "createType", "add");
	put_str(req, "addKind", "R");
	put_str(req, "eid", new_eid);
	put_str(req, "contractLine", line->network_type[0] ? line->network_type : "4G");
	json_object_object_add(req, "reissue", re);
	return send_write(c, FREEBIT_PATH_ESIM_ADD, req, err);
}

int freebit_open_line(struct freebit_client *c, const char *msisdn, const char *plan_code,
	struct pt_err *err)
{
	struct json_object *req;

	if (!plan_ok(plan_code))
		return pt_err_field(err, PT_VALIDATION_FAILED, "plan_code", "bad plan code");
	if (!(req = req_for(msisdn, err)))
		return -1;
	put_str(req, "kind", "MVNO");
	put_str(req, "planCode", plan_code);
	put_str(req, "contractLine", "4G");
	return send_write(c, FREEBIT_PATH_ADD_ACCOUNT, req, err);
}

int freebit_open_esim(struct freebit_client *c, const char *msisdn, const char *eid,
	const char *plan_code, struct pt_err *err)
{
	struct json_object *req;

	if (!digits(eid, 32))
		return pt_err_field(err, PT_VALIDATION_FAILED, "eid", "32 digits");
	if (!plan_ok(plan_code))
		return pt_err_field(err, PT_VALIDATION_FAILED, "plan_code", "bad plan code");
	if (!(req = req_for(msisdn, err)))
		return -1;
	put_str(req, "aladinOperated", "20");
	put_str(req, "createType", "add");
	put_str(req, "addKind", "N");
	put_str(req, "eid", eid);
	put_str(req, "planCode", plan_code);
	put_str(req, "contractLine", "4G");
	return send_write(c, FREEBIT_PATH_ESIM_ADD, req, err);
}
