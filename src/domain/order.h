/* domain/order — an Order with its items as the customer polls it
 * (portal-api.md GET /api/orders/{id}), mapped once from the Order record with
 * its OrderItems subquery; the customer-facing activation error of
 * resolutions §9 (never the operator's raw code or text); and the Salesforce
 * field values for creating an order at checkout (resolutions §12-13). */
#ifndef PT_DOMAIN_ORDER_H
#define PT_DOMAIN_ORDER_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/buf.h"
#include "core/err.h"
#include "domain/common.h"

#define DOMAIN_ORDER_ITEMS_MAX 24
#define DOMAIN_ORDER_NOTES_MAX 4000

struct domain_order_item {
	char id[19];
	char product_id[19];
	char sku[64];
	char name[256];
	char quantity[DOMAIN_DECIMAL_MAX];     /* integer text: "1" */
	char unit_price[DOMAIN_DECIMAL_MAX];
	char total_price[DOMAIN_DECIMAL_MAX];  /* "" when Salesforce did not send it */
};

struct domain_order {
	char id[19];
	char account_id[19];
	char number[24];
	char status[24];               /* Draft | Pending Review | Approved | Activated | Cancelled */
	char activation_status[24];    /* Not Started | Activating | Activated | Failed */
	char error_code[48];           /* operator's raw code: internal, never rendered */
	char whmcs_order_id[24];
	char order_type[16];           /* Internet | SIM | VPN */
	char sim_type[16];
	char total[DOMAIN_DECIMAL_MAX];
	char effective_date[DOMAIN_DATE_MAX];
	char created_at[DOMAIN_TIME_MAX];
	struct domain_order_item items[DOMAIN_ORDER_ITEMS_MAX];
	size_t nitems;
};

int domain_order_from_sf(struct json_object *rec, struct domain_order *out, struct pt_err *err);
/* {"id","number","status","activation_status","activation_error"?:{code,message},
 *  "whmcs_order_id","order_type","total","effective_date","created_at","items":[…]} */
struct json_object *domain_order_json(const struct domain_order *o);
/* The customer-facing code for an operator error code (resolutions §9):
 * PAYMENT_METHOD_MISSING, TEMPORARY_FAILURE (429/5xx/timeouts) or
 * NEEDS_ATTENTION; message is the fixed text for that code. */
const char *domain_activation_error_public(const char *raw_code, const char **message);

/* SOQL: one order with its items (and the products' sku/name), scoped to the
 * account so a customer never reads another account's order. */
int domain_order_soql_by_id(struct buf *q, const char *order_id, const char *account_id,
	struct pt_err *err);
/* SOQL: the account's orders with items, newest first. */
int domain_order_soql_by_account(struct buf *q, const char *account_id, struct pt_err *err);
/* Idempotency-Key header: 1-64 of [A-Za-z0-9_-] (resolutions §13). */
int domain_order_idem_key_valid(const char *key);
/* Portal_Idempotency_Key__c is Text(80): "<15-char account id>:<key>" (the
 * 18-char id would make 83 chars; docs/orders.md). */
#define DOMAIN_ORDER_IDEM_MAX (15 + 1 + 64)
int domain_order_idem_value(const char *account_id, const char *key,
	char out[DOMAIN_ORDER_IDEM_MAX + 1], struct pt_err *err);
/* SOQL: the order holding this idempotency key (domain_order_idem_value). */
int domain_order_soql_by_idem_key(struct buf *q, const char *account_id, const char *key,
	struct pt_err *err);

/* What checkout sends to Salesforce. */
struct domain_order_new_item {
	const char *pricebook_entry_id;
	long quantity;
	const char *unit_price;        /* decimal text */
};
struct domain_order_new {
	const char *account_id;
	const char *pricebook_id;
	const char *effective_date;    /* YYYY-MM-DD (today, Asia/Tokyo) */
	const char *category;          /* internet | sim | vpn → Order_Type__c */
	const char *sim_type;          /* physical | esim | NULL */
	const char *sim_eid;           /* eSIM only */
	const char *idempotency_key;   /* 1-64 [A-Za-z0-9_-] */
	const char *street, *city, *state, *postal_code, *country;
	const char *notes;             /* customer's notes → Description; NULL = none */
	const struct domain_order_new_item *items;
	size_t nitems;
};
/* → the Order body and the array of OrderItem bodies for sf_rest_create_order.
 * PT_VALIDATION_FAILED for bad input. */
int domain_order_sf_new(const struct domain_order_new *in, struct json_object **order,
	struct json_object **items, struct pt_err *err);

/* An order held in the portal's outbox while Salesforce was down
 * (resolutions §3, §13): id "q_<uuid>"; status and activation_status
 * "Queued" while the row waits (queued / submitting), "Failed" with the
 * NEEDS_ATTENTION activation_error when Salesforce refused it (failed).
 * view is what checkout stored with the row: {"order_type","total",
 * "items":[{"sku","name","quantity","unit_price"}]}. created_at RFC 3339. */
struct json_object *domain_order_outbox_json(const char *qid, const char *outbox_status,
	const char *created_at, struct json_object *view);

/* Provisioning write-backs (resolutions §1-2, DESIGN §5): the Order field
 * values for step sf_status_update (last attempt only, never Activating),
 * success, and failure (code ≤ 40, message ≤ 255 chars, truncated). ts is
 * RFC 3339 UTC. NULL on bad input / ENOMEM. */
struct json_object *domain_order_sf_attempt(const char *ts);
struct json_object *domain_order_sf_activated(const char *whmcs_order_id);
struct json_object *domain_order_sf_failed(const char *code, const char *message, const char *ts);

#endif
