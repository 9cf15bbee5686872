/* app/checkout — POST /api/orders (portal-api.md "Orders", seeds 002/003,
 * resolutions §8, §12, §13): the body and Idempotency-Key checked, the cart
 * checked against the portal catalog and the session's account (unknown,
 * unorderable, not eligible, mixed categories, SIM type / EID), a WHMCS pay
 * method required, the shipping address taken from the body or the WHMCS
 * profile, then the Salesforce Order + OrderItems created in ONE composite
 * call keyed by Portal_Idempotency_Key__c. The same key from the same account
 * answers the same order, also when requests race (DUPLICATE_VALUE → read
 * the winner by key). Salesforce down → the order goes to order_outbox
 * (one row per account + key) and is answered 202 "Queued" as q_<uuid>.
 * docs/orders.md has the decisions and the outbox row shape. */
#ifndef PT_APP_CHECKOUT_H
#define PT_APP_CHECKOUT_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/err.h"
#include "domain/account.h"
#include "domain/catalog.h"
#include "domain/order.h"
#include "domain/profile.h"
#include "salesforce/soql.h"

struct db;
struct redis;
struct sf_client;
struct whmcs_client;

#define CHECKOUT_LINES_MAX   DOMAIN_ORDER_ITEMS_MAX
#define CHECKOUT_QTY_MAX     99
#define CHECKOUT_SKU_MAX     63
#define CHECKOUT_EID_LEN     32
/* The outbox payload's format, for the drain (docs/orders.md). */
#define CHECKOUT_OUTBOX_VERSION 1

/* The request body, parsed and shape-checked (no catalog needed). */
struct checkout_line {
	char sku[CHECKOUT_SKU_MAX + 1];
	long quantity;
};
struct checkout_request {
	struct checkout_line lines[CHECKOUT_LINES_MAX];
	size_t nlines;
	int has_address;
	struct domain_address address;
	char notes[DOMAIN_ORDER_NOTES_MAX + 1];
	char sim_type[16];                 /* "" | physical | esim */
	char eid[CHECKOUT_EID_LEN + 1];
};

/* The cart resolved against the catalog: each line's catalog item and the
 * unit price this account pays; total = Σ quantity × unit price. */
struct checkout_cart_line {
	const struct domain_catalog_item *item;
	long quantity;
	char unit_price[DOMAIN_DECIMAL_MAX];
	char line_total[DOMAIN_DECIMAL_MAX];
};
struct checkout_cart {
	struct checkout_cart_line lines[CHECKOUT_LINES_MAX];
	size_t nlines;
	char category[16];                 /* the one category of the cart */
	char total[DOMAIN_DECIMAL_MAX];
};

/* Everything borrowed; one per request. */
struct checkout_deps {
	struct sf_client *sf;
	struct whmcs_client *whmcs;
	struct db *db;
	struct redis *redis;               /* NULL: no cache */
	const char *pricebook_id;
	long customer_field_id;            /* WHMCS_CUSTOMER_NUMBER_FIELD_ID */
};

/* Ids from the session only (web_guard_require_session). */
struct checkout_subject {
	const char *user_id;
	const char *sf_account_id;
	const char *whmcs_client_id;       /* "" = no WHMCS client: no pay method */
};

/* Places the order (or finds the one this key already made). *status_out =
 * 201 (Salesforce order) or 202 (held in the outbox); *order = a new JSON
 * object for {"data": …}. -1 + err: VALIDATION_FAILED (field named),
 * IDEMPOTENCY_KEY_REQUIRED, UNKNOWN_SKU, NOT_ORDERABLE, NOT_ELIGIBLE,
 * MIXED_CART, PAYMENT_METHOD_MISSING, UPSTREAM_UNAVAILABLE ("checkout
 * blocked": WHMCS down, or Salesforce down with no catalog to check against),
 * MAINTENANCE (Salesforce and PostgreSQL both down). */
int checkout_place(const struct checkout_deps *d, const struct checkout_subject *who,
	const char *idempotency_key, const struct checkout_request *rq,
	int *status_out, struct json_object **order, struct pt_err *err);

/* ---- pure parts (unit-tested) -------------------------------------------------- */

/* The Idempotency-Key header: missing, empty, too long or another character
 * than [A-Za-z0-9_-] → -1 + IDEMPOTENCY_KEY_REQUIRED (field
 * "Idempotency-Key"). */
int checkout_key_check(const char *key, struct pt_err *err);

/* JSON body → rq. -1 + VALIDATION_FAILED naming the field ("items",
 * "items[1].quantity", "address.postcode", "sim_type", "eid", "notes"…):
 * not an object, unknown top-level member, 1..CHECKOUT_LINES_MAX items, SKU
 * shape, quantity 1..CHECKOUT_QTY_MAX (integer), the same SKU twice,
 * sim_type other than physical/esim, an EID that is not 32 digits or an EID
 * without sim_type esim, an address without street/city/prefecture/postcode. */
int checkout_parse(const char *body, size_t len, struct checkout_request *rq,
	struct pt_err *err);

/* Cart rules: each SKU in items (UNKNOWN_SKU), offered (NOT_ORDERABLE,
 * resolutions §8), eligible for acct (NOT_ELIGIBLE), one category
 * (MIXED_CART); a cart with a SIM plan needs sim_type (and an EID for esim);
 * sim_type / eid on a cart without SIM plan → VALIDATION_FAILED. */
int checkout_cart_resolve(const struct checkout_request *rq,
	const struct domain_catalog_item *items, size_t nitems, const struct domain_account *acct,
	struct checkout_cart *cart, struct pt_err *err);

/* Today's date in Asia/Tokyo (UTC+9, no DST) for unix time t: YYYY-MM-DD. */
void checkout_today_jst(long long t, char out[11]);

#endif
