/* app/sim_topup — see sim_topup.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/sim_topup.h"
#include "core/json.h"
#include "core/log.h"
#include "domain/common.h"
#include "domain/sim.h"
#include "freebit/actions.h"
#include "store/db.h"
#include "whmcs/actions.h"

static const char *const state_names[] = {
	"pending", "quota_added", "billing_pending", "billed", "failed", "billing_unknown",
};

const char *sim_topup_state_name(enum sim_topup_state s)
{
	return s < SIM_TOPUP_INVALID ? state_names[s] : "invalid";
}

enum sim_topup_state sim_topup_state_from(const char *name)
{
	int i;

	for (i = 0; i < SIM_TOPUP_INVALID; i++)
		if (name && !strcmp(name, state_names[i]))
			return (enum sim_topup_state)i;
	return SIM_TOPUP_INVALID;
}

enum sim_topup_state sim_topup_next(enum sim_topup_state s, enum sim_topup_event ev)
{
	switch (s) {
	case SIM_TOPUP_PENDING:
		if (ev == SIM_EV_QUOTA_OK)
			return SIM_TOPUP_QUOTA_ADDED;
		if (ev == SIM_EV_QUOTA_FAIL)
			return SIM_TOPUP_FAILED;
		break;
	case SIM_TOPUP_QUOTA_ADDED:
	case SIM_TOPUP_BILLING_PENDING:
		/* The quota is added: from here it is billed, never failed. */
		if (ev == SIM_EV_BILL_OK)
			return SIM_TOPUP_BILLED;
		if (ev == SIM_EV_BILL_FAIL)
			return SIM_TOPUP_BILLING_PENDING;
		if (ev == SIM_EV_BILL_UNKNOWN)
			return SIM_TOPUP_BILLING_UNKNOWN;
		break;
	case SIM_TOPUP_BILLING_UNKNOWN:
		/* Never billed again by the portal: only an operator who looked
		 * in WHMCS moves it on. */
		if (ev == SIM_EV_RESOLVED_BILLED)
			return SIM_TOPUP_BILLED;
		if (ev == SIM_EV_RESOLVED_UNBILLED)
			return SIM_TOPUP_BILLING_PENDING;
		break;
	default:
		break;
	}
	return SIM_TOPUP_INVALID;
}

enum sim_topup_event sim_topup_bill_event(int rc, const struct pt_err *err)
{
	if (rc == 0)
		return SIM_EV_BILL_OK;
	/* Sending it again is safe only when no item was made for certain. */
	return err && err->not_applied ? SIM_EV_BILL_FAIL : SIM_EV_BILL_UNKNOWN;
}

const char *sim_topup_public_state(enum sim_topup_state s)
{
	/* For the customer both mean the same: quota added, charge to come. */
	return sim_topup_state_name(s == SIM_TOPUP_BILLING_UNKNOWN ? SIM_TOPUP_BILLING_PENDING : s);
}

int sim_topup_price(const char *options, long quota_mb, long *price_jpy)
{
	const char *p = options;
	char *end;
	long mb, jpy;

	while (p && *p) {
		mb = strtol(p, &end, 10);
		if (end == p || *end != ':')
			return -1;
		p = end + 1;
		jpy = strtol(p, &end, 10);
		if (end == p || jpy < 0 || (*end && *end != ','))
			return -1;
		if (mb == quota_mb && mb > 0) {
			*price_jpy = jpy;
			return 0;
		}
		p = *end ? end + 1 : end;
	}
	return -1;
}

int sim_topup_key_valid(const char *key)
{
	size_t i, n = key ? strlen(key) : 0;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '_' && key[i] != '-')
			return 0;
	return n >= 1 && n <= 64;
}

static void set_state(struct db *db, const char *id, enum sim_topup_state s, const char *code)
{
	struct pt_err e = { 0 };
	const char *p[] = { id, sim_topup_state_name(s), code };

	if (db_command(db, "UPDATE sim_topups SET status = $2, error_code = $3, updated_at = now(), "
		"quota_added_at = CASE WHEN $2 = 'quota_added' THEN now() ELSE quota_added_at END, "
		"billed_at = CASE WHEN $2 = 'billed' THEN now() ELSE billed_at END WHERE id = $1",
		3, p, &e) < 0)
		log_error("sim top-up state not written", "topup", id, "status",
			sim_topup_state_name(s), "detail", e.detail);
}

/* AddBillableItem to the next invoice; the state follows the answer. */
static enum sim_topup_state bill(struct db *db, struct whmcs_client *whmcs, const char *id,
	long client_id, const char *msisdn, long quota_mb, long price)
{
	struct pt_err e = { 0 };
	char desc[160], amount[24], marker[40], cid[24];
	long billable = 0;
	int rc;

	snprintf(marker, sizeof marker, "portal-topup-%s", id);
	snprintf(desc, sizeof desc, "SIM data top-up %ld MB for %s (%s)", quota_mb, msisdn, marker);
	snprintf(amount, sizeof amount, "%ld.00", price);
	rc = whmcs_add_billable_item(whmcs, client_id, desc, amount, "nextinvoice", &billable, &e);
	switch (sim_topup_bill_event(rc, &e)) {
	case SIM_EV_BILL_OK:
		break;
	case SIM_EV_BILL_FAIL:
		log_warn("sim top-up billing failed: billing_pending", "topup", id, "code",
			pt_err_code_name(e.code), "provider_code", e.provider_code, "detail", e.detail);
		set_state(db, id, SIM_TOPUP_BILLING_PENDING, pt_err_code_name(e.code));
		return SIM_TOPUP_BILLING_PENDING;
	default:
		/* WHMCS may have made the item: billing again could charge twice,
		 * never billing could lose it. An operator looks it up. */
		log_crit("sim top-up billing outcome unknown: billing_unknown, check WHMCS billable "
			"items for the marker, then portalctl topups resolve", "topup", id, "marker",
			marker, "whmcs_client_id", log_itoa(client_id, cid), "code",
			pt_err_code_name(e.code), "provider_code", e.provider_code, "detail", e.detail);
		set_state(db, id, SIM_TOPUP_BILLING_UNKNOWN,
			*e.provider_code ? e.provider_code : pt_err_code_name(e.code));
		return SIM_TOPUP_BILLING_UNKNOWN;
	}
	set_state(db, id, SIM_TOPUP_BILLED, NULL);
	log_info("sim top-up billed", "topup", id);
	return SIM_TOPUP_BILLED;
}

static struct json_object *result_json(struct sim_deps *d, const struct sim_line_ref *l,
	const char *id, enum sim_topup_state s, long quota_mb, long price)
{
	struct json_object *o = json_object_new_object();
	struct domain_sim_line line;
	struct pt_err e = { 0 };
	char amount[24];

	if (!o)
		return NULL;
	snprintf(amount, sizeof amount, "%ld", price);
	json_object_object_add(o, "id", json_object_new_int64(atoll(id)));
	json_object_object_add(o, "status", json_object_new_string(sim_topup_public_state(s)));
	json_object_object_add(o, "quota_mb", json_object_new_int64(quota_mb));
	/* Best effort: the top-up stands even if this read fails. */
	json_object_object_add(o, "remaining_mb",
		freebit_get_detail(d->fb, l->msisdn, &line, &e) == 0 && line.remaining_quota_mb >= 0 ?
		json_object_new_int64(line.remaining_quota_mb) : NULL);
	json_object_object_add(o, "charge", domain_money_json(amount, "JPY"));
	return o;
}

/* The same key again: the first request's outcome. */
static int replay(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *key, long quota_mb, struct json_object **out, struct pt_err *err)
{
	const char *p[] = { who->user_id, key };
	PGresult *res = db_exec(d->db, "SELECT id, whmcs_service_id, quota_mb, price, status, "
		"coalesce(error_code, '') FROM sim_topups WHERE user_id = $1 AND idempotency_key = $2",
		2, p, err);
	enum sim_topup_state s;
	int rc = -1;

	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		pt_err_set(err, PT_CONFLICT, "top-up row vanished");
		goto out;
	}
	if (atol(PQgetvalue(res, 0, 1)) != l->service_id || atol(PQgetvalue(res, 0, 2)) != quota_mb) {
		pt_err_field(err, PT_VALIDATION_FAILED, "Idempotency-Key", "used for another top-up");
		goto out;
	}
	s = sim_topup_state_from(PQgetvalue(res, 0, 4));
	if (s == SIM_TOPUP_FAILED) {
		enum pt_code c = pt_err_code_from_name(PQgetvalue(res, 0, 5));

		pt_err_set(err, c == PT_CODE_COUNT ? PT_UPSTREAM_UNAVAILABLE : c, "replayed failure");
		goto out;
	}
	if (s == SIM_TOPUP_PENDING) {
		pt_err_set(err, PT_CONFLICT, "the same top-up is in progress");
		err->retry_after = 5;
		goto out;
	}
	*out = result_json(d, l, PQgetvalue(res, 0, 0), s, quota_mb, atol(PQgetvalue(res, 0, 3)));
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int sim_topup(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *idem_key, const char *body, size_t len, struct json_object **out,
	struct pt_err *err)
{
	struct json_object *b = NULL;
	PGresult *res = NULL;
	char sid[24], q[24], pr[24], code[40], id[24];
	long quota = 0, price = 0;
	enum sim_topup_state s;
	int rc = -1;

	if (!idem_key || !*idem_key)
		return pt_err_set(err, PT_IDEMPOTENCY_KEY_REQUIRED, "no Idempotency-Key");
	if (!sim_topup_key_valid(idem_key))
		return pt_err_field(err, PT_VALIDATION_FAILED, "Idempotency-Key", "malformed");
	b = json_parse_bounded(body, len, 65536, JSON_DEFAULT_MAX_DEPTH, err);
	if (!b || json_get_int(b, "quota_mb", 1, 1, 512000, &quota, err) != 0)
		goto out;
	if (sim_topup_price(config_get(d->cfg, "SIM_TOPUP_OPTIONS"), quota, &price) != 0) {
		pt_err_field(err, PT_VALIDATION_FAILED, "quota_mb", "not an offered size");
		goto out;
	}
	if (!d->db) {
		pt_err_set(err, PT_MAINTENANCE, "no database");
		goto out;
	}
	snprintf(sid, sizeof sid, "%ld", l->service_id);
	snprintf(q, sizeof q, "%ld", quota);
	snprintf(pr, sizeof pr, "%ld", price);
	const char *p[] = { who->user_id, sid, l->msisdn, q, pr, idem_key };
	/* The record first: whatever happens next is traceable and replayable. */
	if (!(res = db_exec(d->db, "INSERT INTO sim_topups (user_id, whmcs_service_id, msisdn, "
		"quota_mb, price, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6) "
		"ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id", 6, p, err)))
		goto out;
	if (PQntuples(res) != 1) {
		rc = replay(d, who, l, idem_key, quota, out, err);
		goto out;
	}
	str_lcpy(id, PQgetvalue(res, 0, 0), sizeof id);
	snprintf(code, sizeof code, "portal-topup-%s", id);
	if (freebit_add_spec(d->fb, l->msisdn, quota, code, NULL, err) != 0) {
		s = sim_topup_next(SIM_TOPUP_PENDING, SIM_EV_QUOTA_FAIL);
		set_state(d->db, id, s, pt_err_code_name(err->code));
		log_warn("sim top-up failed at Freebit: nothing added or billed", "topup", id,
			"provider_code", err->provider_code);
		goto out;
	}
	set_state(d->db, id, SIM_TOPUP_QUOTA_ADDED, NULL);
	sim_drop_line_caches(d->redis, l->msisdn);
	s = bill(d->db, d->whmcs, id, atol(who->whmcs_client_id), l->msisdn, quota, price);
	if (!(*out = result_json(d, l, id, s, quota, price))) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (res)
		PQclear(res);
	json_object_put(b);
	return rc;
}

/* One row, locked while WHMCS is called so two runners never bill it twice.
 * 1 = one handled, 0 = none left, -1 = database error. */
static int bill_next(struct db *db, struct whmcs_client *whmcs, char *after, size_t after_size,
	struct sim_topup_stats *st, struct pt_err *err)
{
	const char *p[] = { after };
	PGresult *res;
	enum sim_topup_state s;
	char id[24];

	if (db_begin(db, err) != 0)
		return -1;
	if (!(res = db_exec(db, "SELECT t.id, m.whmcs_client_id, t.msisdn, t.quota_mb, t.price "
		"FROM sim_topups t JOIN id_mappings m ON m.user_id = t.user_id "
		"WHERE t.id > $1::bigint AND t.status = 'billing_pending' "
		"ORDER BY t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED", 1, p, err))) {
		db_rollback(db);
		return -1;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(db);
		return 0;
	}
	str_lcpy(id, PQgetvalue(res, 0, 0), sizeof id);
	s = bill(db, whmcs, id, atol(PQgetvalue(res, 0, 1)), PQgetvalue(res, 0, 2),
		atol(PQgetvalue(res, 0, 3)), atol(PQgetvalue(res, 0, 4)));
	PQclear(res);
	if (db_commit(db, err) != 0)
		return -1;
	if (s == SIM_TOPUP_BILLED)
		st->billed++;
	else if (s == SIM_TOPUP_BILLING_UNKNOWN)
		st->unknown++;
	else
		st->failed++;
	str_lcpy(after, id, after_size);
	return 1;
}

int sim_topup_bill_pending(struct db *db, struct whmcs_client *whmcs, struct sim_topup_stats *st,
	struct pt_err *err)
{
	char after[24] = "0";
	PGresult *res;
	int rc, i;

	memset(st, 0, sizeof *st);
	/* Still quota_added long after the request ended: its process died,
	 * maybe while AddBillableItem was on its way. Not billed again. */
	if (!(res = db_exec(db, "UPDATE sim_topups t SET status = 'billing_unknown', "
		"error_code = 'INTERRUPTED', updated_at = now() FROM id_mappings m "
		"WHERE m.user_id = t.user_id AND t.status = 'quota_added' "
		"AND t.quota_added_at < now() - interval '10 minutes' "
		"RETURNING t.id, m.whmcs_client_id", 0, NULL, err)))
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		char marker[40];

		snprintf(marker, sizeof marker, "portal-topup-%s", PQgetvalue(res, i, 0));
		log_crit("sim top-up interrupted while billing: billing_unknown, check WHMCS billable "
			"items for the marker, then portalctl topups resolve", "topup",
			PQgetvalue(res, i, 0), "marker", marker, "whmcs_client_id",
			PQgetvalue(res, i, 1));
		st->unknown++;
	}
	PQclear(res);
	while ((rc = bill_next(db, whmcs, after, sizeof after, st, err)) == 1)
		;
	return rc;
}

PGresult *sim_topup_list_unknown(struct db *db, struct pt_err *err)
{
	return db_exec(db, "SELECT t.id, 'portal-topup-' || t.id AS marker, m.whmcs_client_id, "
		"t.msisdn, t.quota_mb, t.price, t.error_code, t.quota_added_at, t.updated_at "
		"FROM sim_topups t LEFT JOIN id_mappings m ON m.user_id = t.user_id "
		"WHERE t.status = 'billing_unknown' ORDER BY t.id", 0, NULL, err);
}

int sim_topup_resolve(struct db *db, const char *id, enum sim_topup_event ev, struct pt_err *err)
{
	enum sim_topup_state to = sim_topup_next(SIM_TOPUP_BILLING_UNKNOWN, ev);
	const char *p[] = { id, sim_topup_state_name(to) };
	PGresult *res;
	long n;

	if (to == SIM_TOPUP_INVALID || !id || !*id || strspn(id, "0123456789") != strlen(id) ||
	    strlen(id) > 18)
		return pt_err_set(err, PT_VALIDATION_FAILED, "top-up id or verdict invalid");
	/* Only from billing_unknown: a verdict never overrides what the
	 * portal itself recorded. */
	n = db_command(db, "UPDATE sim_topups SET status = $2, updated_at = now(), "
		"billed_at = CASE WHEN $2 = 'billed' THEN now() ELSE billed_at END "
		"WHERE id = $1::bigint AND status = 'billing_unknown'", 2, p, err);
	if (n < 0)
		return -1;
	if (n == 0) {
		const char *q[] = { id };

		if (!(res = db_exec(db, "SELECT status FROM sim_topups WHERE id = $1::bigint", 1, q,
			err)))
			return -1;
		if (PQntuples(res) == 0)
			pt_err_set(err, PT_NOT_FOUND, "no top-up %s", id);
		else
			pt_err_set(err, PT_CONFLICT, "top-up %s is %s, not billing_unknown", id,
				PQgetvalue(res, 0, 0));
		PQclear(res);
		return -1;
	}
	log_warn("sim top-up resolved by an operator", "topup", id, "status",
		sim_topup_state_name(to));
	return 0;
}
