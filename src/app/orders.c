/* app/orders — order reads: Salesforce by SOQL scoped to the session's
 * account, the outbox by (account, key) or q_<uuid>. */
#include <stdio.h>
#include <string.h>

#include "app/orders.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "domain/order.h"
#include "salesforce/rest.h"
#include "store/cache.h"
#include "store/db.h"

#define OUTBOX_COLS "id::text, status, coalesce(sf_order_id, ''), " \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), payload::text"
/* Outbox rows shown in a list at most (a customer has a handful). */
#define OUTBOX_LIST_MAX "50"
#define OUTBOX_PAYLOAD_MAX (256u * 1024)

void orders_outbox_row_clear(struct orders_outbox_row *row)
{
	json_object_put(row->payload);
	memset(row, 0, sizeof *row);
}

static int row_from_pg(PGresult *res, int i, struct orders_outbox_row *row, struct pt_err *err)
{
	const char *payload = PQgetvalue(res, i, 4);

	memset(row, 0, sizeof *row);
	str_lcpy(row->id, PQgetvalue(res, i, 0), sizeof row->id);
	str_lcpy(row->status, PQgetvalue(res, i, 1), sizeof row->status);
	str_lcpy(row->sf_order_id, PQgetvalue(res, i, 2), sizeof row->sf_order_id);
	str_lcpy(row->created_at, PQgetvalue(res, i, 3), sizeof row->created_at);
	row->payload = json_parse_bounded(payload, strlen(payload), OUTBOX_PAYLOAD_MAX,
		JSON_DEFAULT_MAX_DEPTH, NULL);
	if (!row->payload)
		return pt_err_set(err, PT_INTERNAL, "order_outbox %s: bad payload", row->id);
	return 0;
}

/* One row or none from a query selecting OUTBOX_COLS. */
static int outbox_one(struct db *db, const char *sql, int n, const char *const *p,
	struct orders_outbox_row *row, struct pt_err *err)
{
	PGresult *res = db_exec(db, sql, n, p, err);
	int rc = 0;

	if (!res)
		return -1;
	if (PQntuples(res) == 1)
		rc = row_from_pg(res, 0, row, err) == 0 ? 1 : -1;
	PQclear(res);
	return rc;
}

int orders_outbox_find_by_key(struct db *db, const char *sf_account_id, const char *key,
	struct orders_outbox_row *row, struct pt_err *err)
{
	const char *p[] = { sf_account_id, key };

	return outbox_one(db, "SELECT " OUTBOX_COLS " FROM order_outbox "
		"WHERE sf_account_id = $1 AND idempotency_key = $2", 2, p, row, err);
}

static int outbox_find_by_id(struct db *db, const char *sf_account_id, const char *uuid,
	struct orders_outbox_row *row, struct pt_err *err)
{
	const char *p[] = { sf_account_id, uuid };

	/* The account is part of the key: another account's q_ id is not found. */
	return outbox_one(db, "SELECT " OUTBOX_COLS " FROM order_outbox "
		"WHERE sf_account_id = $1 AND id = $2::uuid", 2, p, row, err);
}

static struct json_object *queued_json(const struct orders_outbox_row *row)
{
	char qid[sizeof ORDERS_QID_PREFIX + ORDERS_UUID_LEN];
	struct json_object *view = NULL;

	snprintf(qid, sizeof qid, ORDERS_QID_PREFIX "%s", row->id);
	json_object_object_get_ex(row->payload, "view", &view);
	return domain_order_outbox_json(qid, row->status, row->created_at, view);
}

int orders_outbox_render(const struct orders_deps *d, const char *sf_account_id,
	const struct orders_outbox_row *row, struct json_object **order, int *submitted,
	struct pt_err *err)
{
	*order = NULL;
	*submitted = 0;
	if (strcmp(row->status, "submitted") == 0 && row->sf_order_id[0]) {
		int rc = orders_sf_by_id(d->sf, sf_account_id, row->sf_order_id, order, err);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			*submitted = 1;
			return 0;
		}
		/* Submitted but not readable as this account's: show what we hold. */
		log_warn("outbox order not found in salesforce", "outbox_id", row->id,
			"sf_order_id", row->sf_order_id);
	}
	*order = queued_json(row);
	return *order ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

/* ---- Salesforce ------------------------------------------------------------------ */

static int sf_one(struct sf_client *sf, const struct buf *q, struct json_object **order,
	struct pt_err *err)
{
	struct json_object *recs = NULL;
	struct domain_order o;
	int rc = 0;

	*order = NULL;
	if (sf_rest_query(sf, buf_cstr(q), 1, &recs, NULL, err) != 0)
		return -1;
	if (json_object_array_length(recs) > 0) {
		if (domain_order_from_sf(json_object_array_get_idx(recs, 0), &o, err) != 0)
			rc = -1;
		else if (!(*order = domain_order_json(&o)))
			rc = pt_err_set(err, PT_INTERNAL, "out of memory");
		else
			rc = 1;
	}
	json_object_put(recs);
	return rc;
}

int orders_sf_by_id(struct sf_client *sf, const char *sf_account_id, const char *order_id,
	struct json_object **order, struct pt_err *err)
{
	struct buf q;
	int rc;

	buf_init(&q, 8192);
	rc = domain_order_soql_by_id(&q, order_id, sf_account_id, err) == 0 ?
		sf_one(sf, &q, order, err) : -1;
	buf_free(&q);
	return rc;
}

int orders_sf_by_key(struct sf_client *sf, const char *sf_account_id, const char *key,
	struct json_object **order, struct pt_err *err)
{
	struct buf q;
	int rc;

	buf_init(&q, 8192);
	rc = domain_order_soql_by_idem_key(&q, sf_account_id, key, err) == 0 ?
		sf_one(sf, &q, order, err) : -1;
	buf_free(&q);
	return rc;
}

void orders_cache_drop(struct redis *r, const char *sf_account_id)
{
	struct buf key;
	struct pt_err e = { 0 };

	if (!r)
		return;
	buf_init(&key, 256);
	if (cache_key_acct(&key, sf_account_id, ORDERS_CACHE_SUFFIX, &e) != 0 ||
	    cache_del(r, buf_cstr(&key), &e) != 0)
		log_warn("orders cache not dropped", "error", e.detail);
	buf_free(&key);
}

/* ---- list ------------------------------------------------------------------------ */

/* The Salesforce orders rendered, from acct:<id>:orders or live (then cached). */
static int sf_list(const struct orders_deps *d, const char *acct, struct json_object **arr,
	struct pt_err *err)
{
	struct buf key, v, q;
	struct json_object *recs = NULL;
	int rc = -1;

	*arr = NULL;
	buf_init(&key, 256);
	buf_init(&v, ORDERS_CACHE_MAX);
	buf_init(&q, 8192);
	if (cache_key_acct(&key, acct, ORDERS_CACHE_SUFFIX, err) != 0)
		goto out;
	if (d->redis && cache_get(d->redis, buf_cstr(&key), &v, NULL) == 1 &&
	    (*arr = json_parse_bounded(v.data, v.len, ORDERS_CACHE_MAX, JSON_DEFAULT_MAX_DEPTH,
		NULL)) && json_object_is_type(*arr, json_type_array)) {
		rc = 0;
		goto out;
	}
	json_object_put(*arr);
	if (!(*arr = json_object_new_array()) ||
	    domain_order_soql_by_account(&q, acct, err) != 0 ||
	    sf_rest_query(d->sf, buf_cstr(&q), 200, &recs, NULL, err) != 0)
		goto out;
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		struct domain_order o;
		if (domain_order_from_sf(json_object_array_get_idx(recs, i), &o, err) != 0)
			goto out;
		json_object_array_add(*arr, domain_order_json(&o));
	}
	if (d->redis) {
		size_t len;
		const char *s = json_compact(*arr, &len);
		struct pt_err ce = { 0 };
		/* No TTL: order change events and checkout drop it (seed 002). */
		if (cache_set(d->redis, buf_cstr(&key), s, len, 0, &ce) != 0)
			log_warn("orders cache not written", "error", ce.detail);
	}
	rc = 0;
out:
	if (rc != 0) {
		json_object_put(*arr);
		*arr = NULL;
	}
	json_object_put(recs);
	buf_free(&key);
	buf_free(&v);
	buf_free(&q);
	return rc;
}

/* Outbox orders not yet submitted (a submitted one is in the Salesforce list). */
static int outbox_pending(struct db *db, const char *acct, struct json_object *arr,
	struct pt_err *err)
{
	const char *p[] = { acct };
	PGresult *res = db_exec(db, "SELECT " OUTBOX_COLS " FROM order_outbox "
		"WHERE sf_account_id = $1 AND status <> 'submitted' "
		"ORDER BY created_at DESC LIMIT " OUTBOX_LIST_MAX, 1, p, err);
	int rc = 0;

	if (!res)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct orders_outbox_row row;
		if (row_from_pg(res, i, &row, err) != 0) {
			rc = -1;
			break;
		}
		json_object_array_add(arr, queued_json(&row));
		orders_outbox_row_clear(&row);
	}
	PQclear(res);
	return rc;
}

int orders_list(const struct orders_deps *d, const char *sf_account_id,
	struct json_object **items, struct pt_err *err)
{
	struct json_object *sf = NULL, *all = json_object_new_array();

	*items = NULL;
	if (!all)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	/* Held orders are the newest: the outbox only fills while Salesforce is down. */
	if (outbox_pending(d->db, sf_account_id, all, err) != 0 ||
	    sf_list(d, sf_account_id, &sf, err) != 0) {
		json_object_put(all);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(sf); i++)
		json_object_array_add(all, json_object_get(json_object_array_get_idx(sf, i)));
	json_object_put(sf);
	*items = all;
	return 0;
}

/* ---- one ------------------------------------------------------------------------- */

static int hexdigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int orders_qid_parse(const char *id, char uuid[ORDERS_UUID_LEN + 1])
{
	const char *u;

	if (!id || strncmp(id, ORDERS_QID_PREFIX, 2) != 0)
		return -1;
	u = id + 2;
	if (strlen(u) != ORDERS_UUID_LEN)
		return -1;
	for (int i = 0; i < ORDERS_UUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? u[i] != '-' : !hexdigit(u[i]))
			return -1;
	}
	memcpy(uuid, u, ORDERS_UUID_LEN + 1);
	return 0;
}

static int get_queued(const struct orders_deps *d, const char *acct, const char *id,
	struct json_object **order, struct pt_err *err)
{
	char uuid[ORDERS_UUID_LEN + 1];
	struct orders_outbox_row row;
	int submitted, rc;

	if (orders_qid_parse(id, uuid) != 0)
		return pt_err_set(err, PT_NOT_FOUND, "malformed queued order id");
	rc = outbox_find_by_id(d->db, acct, uuid, &row, err);
	if (rc <= 0)
		return rc < 0 ? -1 : pt_err_set(err, PT_NOT_FOUND, "no outbox order %s", uuid);
	rc = orders_outbox_render(d, acct, &row, order, &submitted, err);
	orders_outbox_row_clear(&row);
	return rc;
}

int orders_get(const struct orders_deps *d, const char *sf_account_id, const char *id,
	struct json_object **order, struct pt_err *err)
{
	char oid[SF_ID_LEN18 + 1];
	int rc;

	*order = NULL;
	if (id && strncmp(id, ORDERS_QID_PREFIX, 2) == 0)
		return get_queued(d, sf_account_id, id, order, err);
	/* The one id validator; a malformed id is "not found" like a foreign one. */
	if (sf_soql_id_check(id, "801", oid, NULL) != 0)
		return pt_err_set(err, PT_NOT_FOUND, "malformed order id");
	rc = orders_sf_by_id(d->sf, sf_account_id, oid, order, err);
	if (rc == 0)
		return pt_err_set(err, PT_NOT_FOUND, "order %s not in account", oid);
	return rc < 0 ? -1 : 0;
}
