/* app/orders — the order reads (portal-api.md "Orders", seed 004: the UI
 * polls GET /api/orders/{id}): Salesforce orders read by SOQL scoped to the
 * session's account (another account's id is simply not found), and the
 * orders the portal still holds in order_outbox (q_<uuid>, resolutions §13),
 * which keep answering after submission with the Salesforce order. The list's
 * Salesforce part is cached as acct:<id>:orders without TTL (seed 002:
 * dropped on create and by order change events). */
#ifndef PT_APP_ORDERS_H
#define PT_APP_ORDERS_H

#include <json-c/json.h>
#include "core/err.h"
#include "salesforce/soql.h"

struct db;
struct redis;
struct sf_client;

#define ORDERS_CACHE_SUFFIX "orders"
#define ORDERS_QID_PREFIX "q_"
#define ORDERS_UUID_LEN 36
/* Largest cached list accepted back from Redis. */
#define ORDERS_CACHE_MAX (4u * 1024 * 1024)

/* Everything borrowed; redis NULL = no cache. */
struct orders_deps {
	struct sf_client *sf;
	struct db *db;
	struct redis *redis;
};

/* The account's orders, newest first: outbox orders not yet in Salesforce,
 * then the Salesforce ones. *items is a new JSON array. */
int orders_list(const struct orders_deps *d, const char *sf_account_id,
	struct json_object **items, struct pt_err *err);

/* One order by id: an Order id (801…, 15 or 18 chars) or q_<uuid>. Not the
 * account's, or not there → PT_NOT_FOUND; a malformed id too (no hint). */
int orders_get(const struct orders_deps *d, const char *sf_account_id, const char *id,
	struct json_object **order, struct pt_err *err);

/* ---- shared with checkout ------------------------------------------------------ */

/* One order_outbox row. payload is owned (json_object_put it). */
struct orders_outbox_row {
	char id[ORDERS_UUID_LEN + 1];
	char status[16];               /* queued | submitting | submitted | failed */
	char sf_order_id[SF_ID_LEN18 + 1];
	char created_at[40];           /* RFC 3339 UTC */
	struct json_object *payload;
};
void orders_outbox_row_clear(struct orders_outbox_row *row);

/* The row of account + key: 1 found, 0 none, -1 + err (MAINTENANCE…). */
int orders_outbox_find_by_key(struct db *db, const char *sf_account_id, const char *key,
	struct orders_outbox_row *row, struct pt_err *err);

/* The order a row stands for: the Salesforce order once submitted
 * (*submitted = 1), else the queued view. */
int orders_outbox_render(const struct orders_deps *d, const char *sf_account_id,
	const struct orders_outbox_row *row, struct json_object **order, int *submitted,
	struct pt_err *err);

/* The account's Salesforce order by id / by idempotency key: 1 found (*order
 * new), 0 none, -1 + err. */
int orders_sf_by_id(struct sf_client *sf, const char *sf_account_id, const char *order_id,
	struct json_object **order, struct pt_err *err);
int orders_sf_by_key(struct sf_client *sf, const char *sf_account_id, const char *key,
	struct json_object **order, struct pt_err *err);

/* Drops acct:<id>:orders (after a create). A Redis failure is logged. */
void orders_cache_drop(struct redis *r, const char *sf_account_id);

/* "q_<uuid>" (lower-case hex, 8-4-4-4-12) → uuid; 0 / -1. */
int orders_qid_parse(const char *id, char uuid[ORDERS_UUID_LEN + 1]);

#endif
