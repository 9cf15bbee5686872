/* app/outbox — drain of order_outbox into Salesforce (see outbox.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "app/outbox.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "domain/order.h"
#include "salesforce/rest.h"
#include "store/cache.h"
#include "store/db.h"

#define OUTBOX_PAYLOAD_MAX (1024 * 1024)

struct row {
	char id[40];
	char account[19];
	char key[65];
	char status[16];
	char *payload;
};

/* pg_advisory_lock(8003, 0): the one drainer (8002 is provisioning's). */
static int lock(struct db *db, int take, struct pt_err *err)
{
	PGresult *res = db_exec(db, take ? "SELECT pg_try_advisory_lock(8003, 0)" :
		"SELECT pg_advisory_unlock(8003, 0)", 0, NULL, err);
	int got;

	if (!res)
		return -1;
	got = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return got;
}

/* The oldest row still to submit: 1 found, 0 none, -1 error. */
static int next_row(struct db *db, struct row *r, struct pt_err *err)
{
	PGresult *res = db_exec(db, "SELECT id, sf_account_id, idempotency_key, status, "
		"payload::text FROM order_outbox WHERE status IN ('queued', 'submitting') "
		"ORDER BY created_at, id LIMIT 1", 0, NULL, err);
	int rc = 0;

	if (!res)
		return -1;
	if (PQntuples(res) == 1) {
		snprintf(r->id, sizeof r->id, "%s", PQgetvalue(res, 0, 0));
		snprintf(r->account, sizeof r->account, "%s", PQgetvalue(res, 0, 1));
		snprintf(r->key, sizeof r->key, "%s", PQgetvalue(res, 0, 2));
		snprintf(r->status, sizeof r->status, "%s", PQgetvalue(res, 0, 3));
		r->payload = strdup(PQgetvalue(res, 0, 4));
		rc = r->payload ? 1 : pt_err_set(err, PT_INTERNAL, "out of memory");
	}
	PQclear(res);
	return rc;
}

static int set_status(struct db *db, const struct row *r, const char *status,
	const char *sf_order_id, const char *error, struct pt_err *err)
{
	const char *p[] = { r->id, status, sf_order_id ? sf_order_id : "", error ? error : "" };

	return db_command(db, "UPDATE order_outbox SET status = $2, "
		"sf_order_id = NULLIF($3, ''), last_error = NULLIF($4, ''), "
		"attempts = attempts + (CASE WHEN $2 = 'submitting' THEN 1 ELSE 0 END), "
		"submitted_at = CASE WHEN $2 = 'submitted' THEN now() ELSE submitted_at END "
		"WHERE id = $1", 4, p, err) < 0 ? -1 : 0;
}

/* The order Salesforce holds under this row's key: 1 found (id filled), 0 none. */
static int find_by_key(struct outbox_ctx *c, const struct row *r, char id[19],
	struct pt_err *err)
{
	struct buf q;
	struct json_object *rows = NULL;
	struct domain_order o;
	int rc = -1;

	buf_init(&q, 4096);
	if (domain_order_soql_by_idem_key(&q, r->account, r->key, err) ||
	    sf_rest_query(c->sf, buf_cstr(&q), 1, &rows, NULL, err))
		goto out;
	rc = 0;
	if (json_object_array_length(rows) == 1) {
		memset(&o, 0, sizeof o);
		if (domain_order_from_sf(json_object_array_get_idx(rows, 0), &o, err))
			rc = -1;
		else {
			memcpy(id, o.id, 19);
			rc = 1;
		}
	}
out:
	json_object_put(rows);
	buf_free(&q);
	return rc;
}

/* The composite create from the stored body (checkout wrote it, version 1). */
static int create(struct outbox_ctx *c, const struct row *r, char id[19], struct pt_err *err)
{
	struct json_object *p = json_parse_bounded(r->payload, strlen(r->payload),
		OUTBOX_PAYLOAD_MAX, 16, err), *order, *items;
	long version = 0;
	int rc = -1;

	if (!p)
		return -1;
	if (json_get_int(p, "version", 1, 1, 1, &version, err))
		goto out;
	if (!json_object_object_get_ex(p, "order", &order) ||
	    !json_object_object_get_ex(p, "items", &items)) {
		pt_err_set(err, PT_VALIDATION_FAILED, "outbox payload without order or items");
		goto out;
	}
	rc = sf_rest_create_order(c->sf, order, items, id, err);
out:
	json_object_put(p);
	return rc;
}

static void drop_orders_cache(struct outbox_ctx *c, const struct row *r)
{
	struct buf k;
	struct pt_err e = { 0 };

	if (!c->redis)
		return;
	buf_init(&k, 128);
	if (cache_key_acct(&k, r->account, "orders", &e) == 0)
		cache_del(c->redis, buf_cstr(&k), &e);
	buf_free(&k);
}

enum { ROW_DONE, ROW_STOP };

/* One row to its end state (or back to queued: ROW_STOP). -1: PostgreSQL. */
static int drain_row(struct outbox_ctx *c, struct row *r, struct outbox_stats *st,
	struct pt_err *err)
{
	struct pt_err e = { 0 };
	char id[19] = "";
	int found = 0, rc;

	/* 'submitting' = a create may have reached Salesforce: key first */
	if (strcmp(r->status, "submitting") == 0 && (found = find_by_key(c, r, id, &e)) < 0)
		goto unavailable;
	if (!found) {
		if (set_status(c->db, r, "submitting", NULL, NULL, err))
			return -1;
		rc = create(c, r, id, &e);
		if (rc && e.code == PT_CONFLICT && strcmp(e.provider_code, "DUPLICATE_VALUE") == 0) {
			pt_err_clear(&e);
			if ((found = find_by_key(c, r, id, &e)) < 0)
				goto unavailable;
			rc = found ? 0 : pt_err_set(&e, PT_CONFLICT, "duplicate key, order not found");
		}
		if (rc && e.code == PT_UPSTREAM_UNAVAILABLE)
			goto unavailable;
		if (rc) {
			log_error("outbox order refused by Salesforce", "outbox_id", r->id,
				"system", "salesforce", "error", e.detail);
			st->failed++;
			return set_status(c->db, r, "failed", NULL, e.detail, err) ? -1 : ROW_DONE;
		}
	}
	if (set_status(c->db, r, "submitted", id, NULL, err))
		return -1;
	if (found)
		st->adopted++;
	else
		st->submitted++;
	log_info("outbox order submitted", "outbox_id", r->id, "order_id", id,
		"system", "salesforce", "how", found ? "adopted" : "created");
	drop_orders_cache(c, r);
	return ROW_DONE;
unavailable:
	log_warn("outbox drain paused: Salesforce unavailable", "outbox_id", r->id,
		"system", "salesforce", "error", e.detail);
	st->waiting++;
	return set_status(c->db, r, "queued", NULL, e.detail, err) ? -1 : ROW_STOP;
}

int outbox_drain(struct outbox_ctx *c, long max, struct outbox_stats *st, struct pt_err *err)
{
	struct row r;
	unsigned long gen;
	long n = 0;
	int locked, rc = 0, got;

	memset(st, 0, sizeof *st);
	locked = lock(c->db, 1, err);
	if (locked <= 0) {
		st->busy = locked == 0;
		return locked;
	}
	gen = db_generation(c->db);
	while (max <= 0 || n < max) {
		/* the lock went with a lost connection: another drainer may run */
		if (db_generation(c->db) != gen) {
			rc = pt_err_set(err, PT_MAINTENANCE, "outbox lock lost to a reconnect");
			break;
		}
		memset(&r, 0, sizeof r);
		got = next_row(c->db, &r, err);
		if (got <= 0) {
			rc = got;
			break;
		}
		got = drain_row(c, &r, st, err);
		free(r.payload);
		n++;
		if (got != ROW_DONE) {
			rc = got < 0 ? -1 : 0;
			break;
		}
	}
	if (db_generation(c->db) == gen)
		lock(c->db, 0, &(struct pt_err){ 0 });
	return rc;
}

int outbox_counts(struct db *db, struct outbox_counts *out, struct pt_err *err)
{
	PGresult *res = db_exec(db, "SELECT "
		"count(*) FILTER (WHERE status = 'queued'), "
		"count(*) FILTER (WHERE status = 'submitting'), "
		"count(*) FILTER (WHERE status = 'submitted'), "
		"count(*) FILTER (WHERE status = 'failed'), "
		"coalesce(min(created_at) FILTER (WHERE status IN ('queued', 'submitting'))::text, '') "
		"FROM order_outbox", 0, NULL, err);

	if (!res)
		return -1;
	memset(out, 0, sizeof *out);
	out->queued = atol(PQgetvalue(res, 0, 0));
	out->submitting = atol(PQgetvalue(res, 0, 1));
	out->submitted = atol(PQgetvalue(res, 0, 2));
	out->failed = atol(PQgetvalue(res, 0, 3));
	snprintf(out->oldest_queued, sizeof out->oldest_queued, "%s", PQgetvalue(res, 0, 4));
	PQclear(res);
	return 0;
}
