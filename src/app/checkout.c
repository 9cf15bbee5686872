/* app/checkout — POST /api/orders: validate, price, require a pay method,
 * create in Salesforce once per (account, key), or hold in the outbox. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/catalog.h"
#include "app/checkout.h"
#include "app/orders.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "domain/billing.h"
#include "salesforce/rest.h"
#include "store/db.h"
#include "whmcs/actions.h"

#define BODY_MAX 65536
#define BODY_DEPTH 6
/* Retry-After for a checkout blocked by WHMCS (its answers are not cached). */
#define CHECKOUT_RETRY_AFTER_S 30

/* ---- pure: key, body ---------------------------------------------------------- */

int checkout_key_check(const char *key, struct pt_err *err)
{
	if (!key || !*key)
		return pt_err_field(err, PT_IDEMPOTENCY_KEY_REQUIRED, "Idempotency-Key",
			"Idempotency-Key missing");
	if (!domain_order_idem_key_valid(key))
		return pt_err_field(err, PT_IDEMPOTENCY_KEY_REQUIRED, "Idempotency-Key",
			"Idempotency-Key: 1-64 of [A-Za-z0-9_-]");
	return 0;
}

static int sku_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CHECKOUT_SKU_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int parse_line(struct json_object *v, size_t i, struct checkout_line *l, struct pt_err *err)
{
	char f[48];
	struct json_object *sku, *q;

	snprintf(f, sizeof f, "items[%zu]", i);
	if (!json_object_is_type(v, json_type_object))
		return pt_err_field(err, PT_VALIDATION_FAILED, f, "item is not an object");
	snprintf(f, sizeof f, "items[%zu].sku", i);
	if (!json_object_object_get_ex(v, "sku", &sku) || !json_object_is_type(sku, json_type_string) ||
	    !sku_valid(json_object_get_string(sku)))
		return pt_err_field(err, PT_VALIDATION_FAILED, f, "sku missing or malformed");
	str_lcpy(l->sku, json_object_get_string(sku), sizeof l->sku);
	snprintf(f, sizeof f, "items[%zu].quantity", i);
	if (!json_object_object_get_ex(v, "quantity", &q) || !json_object_is_type(q, json_type_int))
		return pt_err_field(err, PT_VALIDATION_FAILED, f, "quantity: integer required");
	int64_t n = json_object_get_int64(q);
	if (n < 1 || n > CHECKOUT_QTY_MAX)
		return pt_err_field(err, PT_VALIDATION_FAILED, f, "quantity 1..%d", CHECKOUT_QTY_MAX);
	l->quantity = (long)n;
	return 0;
}

static int parse_items(struct json_object *body, struct checkout_request *rq, struct pt_err *err)
{
	struct json_object *arr;
	size_t n;

	if (!json_object_object_get_ex(body, "items", &arr) || !json_object_is_type(arr, json_type_array))
		return pt_err_field(err, PT_VALIDATION_FAILED, "items", "items: array required");
	n = json_object_array_length(arr);
	if (n < 1 || n > CHECKOUT_LINES_MAX)
		return pt_err_field(err, PT_VALIDATION_FAILED, "items", "1..%d items",
			CHECKOUT_LINES_MAX);
	for (size_t i = 0; i < n; i++) {
		if (parse_line(json_object_array_get_idx(arr, i), i, &rq->lines[i], err))
			return -1;
		/* One line per SKU: a repeated one is a client bug, not a quantity. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(rq->lines[j].sku, rq->lines[i].sku) == 0)
				return pt_err_field(err, PT_VALIDATION_FAILED, "items",
					"SKU %s listed twice", rq->lines[i].sku);
	}
	rq->nlines = n;
	return 0;
}

/* One address member: required or not, bounded, printable on one line. */
static int addr_field(struct json_object *a, const char *key, int required, char *out,
	size_t outsz, struct pt_err *err)
{
	char f[40];
	struct json_object *v;
	const char *s;

	snprintf(f, sizeof f, "address.%s", key);
	if (!json_object_object_get_ex(a, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return pt_err_field(err, PT_VALIDATION_FAILED, f, "%s required", f);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return pt_err_field(err, PT_VALIDATION_FAILED, f, "%s: string required", f);
	s = json_object_get_string(v);
	if ((required && !*s) || strlen(s) >= outsz || !str_valid_text(s, strlen(s), 0))
		return pt_err_field(err, PT_VALIDATION_FAILED, f, "%s: bad value", f);
	str_lcpy(out, s, outsz);
	return 0;
}

static int parse_address(struct json_object *body, struct checkout_request *rq,
	struct pt_err *err)
{
	struct json_object *a;
	struct domain_address *d = &rq->address;

	if (!json_object_object_get_ex(body, "address", &a) || json_object_is_type(a, json_type_null))
		return 0;
	if (!json_object_is_type(a, json_type_object))
		return pt_err_field(err, PT_VALIDATION_FAILED, "address", "address: object required");
	if (addr_field(a, "postcode", 1, d->postcode, sizeof d->postcode, err) ||
	    addr_field(a, "prefecture", 1, d->prefecture, sizeof d->prefecture, err) ||
	    addr_field(a, "city", 1, d->city, sizeof d->city, err) ||
	    addr_field(a, "street", 1, d->street, sizeof d->street, err) ||
	    addr_field(a, "building", 0, d->building, sizeof d->building, err) ||
	    addr_field(a, "country", 0, d->country, sizeof d->country, err))
		return -1;
	if (!d->country[0])
		str_lcpy(d->country, "JP", sizeof d->country);
	if (strcmp(d->country, "JP") != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "address.country",
			"shipping within Japan only");
	rq->has_address = 1;
	return 0;
}

static int opt_str(struct json_object *body, const char *key, char *out, size_t outsz,
	int newlines, struct pt_err *err)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(body, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: string required", key);
	s = json_object_get_string(v);
	if (strlen(s) >= outsz || !str_valid_text(s, strlen(s), newlines))
		return pt_err_field(err, PT_VALIDATION_FAILED, key, "%s: bad value", key);
	str_lcpy(out, s, outsz);
	return 0;
}

static int digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* sim_type physical|esim; an EID (32 digits) only with esim. Whether the
 * cart needs them is checkout_cart_resolve's business. */
static int parse_sim(struct json_object *body, struct checkout_request *rq, struct pt_err *err)
{
	if (opt_str(body, "sim_type", rq->sim_type, sizeof rq->sim_type, 0, err) ||
	    opt_str(body, "eid", rq->eid, sizeof rq->eid, 0, err))
		return -1;
	if (rq->sim_type[0] && strcmp(rq->sim_type, "physical") != 0 &&
	    strcmp(rq->sim_type, "esim") != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "sim_type", "physical or esim");
	if (rq->eid[0] && !digits(rq->eid, CHECKOUT_EID_LEN))
		return pt_err_field(err, PT_VALIDATION_FAILED, "eid", "eid: 32 digits");
	if (rq->eid[0] && strcmp(rq->sim_type, "esim") != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "eid", "eid only with sim_type esim");
	return 0;
}

static int known_members(struct json_object *body, struct pt_err *err)
{
	static const char *const ok[] = { "items", "address", "notes", "sim_type", "eid", NULL };

	json_object_object_foreach(body, k, v) {
		size_t i = 0;
		(void)v;
		while (ok[i] && strcmp(ok[i], k) != 0)
			i++;
		if (!ok[i])
			return pt_err_field(err, PT_VALIDATION_FAILED, "body", "unknown member");
	}
	return 0;
}

int checkout_parse(const char *body, size_t len, struct checkout_request *rq,
	struct pt_err *err)
{
	struct json_object *j;
	int rc = -1;

	memset(rq, 0, sizeof *rq);
	j = json_parse_bounded(body ? body : "", body ? len : 0, BODY_MAX, BODY_DEPTH, err);
	if (!j) {
		if (err && !err->field[0])
			str_lcpy(err->field, "body", sizeof err->field);
		return -1;
	}
	if (!json_object_is_type(j, json_type_object)) {
		pt_err_field(err, PT_VALIDATION_FAILED, "body", "body: object required");
		goto out;
	}
	if (known_members(j, err) || parse_items(j, rq, err) || parse_address(j, rq, err) ||
	    opt_str(j, "notes", rq->notes, sizeof rq->notes, 1, err) || parse_sim(j, rq, err))
		goto out;
	rc = 0;
out:
	json_object_put(j);
	return rc;
}

/* ---- pure: cart ------------------------------------------------------------------ */

/* "1234.50" → 123450 (scale 2); -1 on anything else. */
static long long cents(const char *s)
{
	char norm[DOMAIN_DECIMAL_MAX], *dot;
	long long whole, frac;

	if (domain_decimal_norm(s, 2, norm, sizeof norm) != 0 || norm[0] == '-')
		return -1;
	dot = strchr(norm, '.');
	whole = strtoll(norm, NULL, 10);
	frac = dot ? strtoll(dot + 1, NULL, 10) : 0;
	return whole * 100 + frac;
}

static void cents_str(long long c, char *out, size_t outsz)
{
	snprintf(out, outsz, "%lld.%02lld", c / 100, c % 100);
}

static const struct domain_catalog_item *find_sku(const struct domain_catalog_item *items,
	size_t n, const char *sku)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].sku, sku) == 0)
			return &items[i];
	return NULL;
}

static int line_resolve(const struct checkout_line *l, size_t i,
	const struct domain_catalog_item *items, size_t nitems, const struct domain_account *acct,
	struct checkout_cart_line *cl, struct pt_err *err)
{
	char f[48];
	const struct domain_catalog_item *it = find_sku(items, nitems, l->sku);
	long long unit;

	snprintf(f, sizeof f, "items[%zu].sku", i);
	if (!it)
		return pt_err_field(err, PT_UNKNOWN_SKU, f, "unknown SKU %s", l->sku);
	if (!app_catalog_offered(it))
		return pt_err_field(err, PT_NOT_ORDERABLE, f, "SKU %s not orderable", l->sku);
	if (!app_catalog_eligible(it, acct))
		return pt_err_field(err, PT_NOT_ELIGIBLE, f, "SKU %s not for this account", l->sku);
	unit = cents(app_catalog_price_for(it, acct));
	if (unit < 0)
		return pt_err_field(err, PT_NOT_ORDERABLE, f, "SKU %s has no price", l->sku);
	cl->item = it;
	cl->quantity = l->quantity;
	cents_str(unit, cl->unit_price, sizeof cl->unit_price);
	cents_str(unit * l->quantity, cl->line_total, sizeof cl->line_total);
	return 0;
}

static int sim_rules(const struct checkout_request *rq, const struct checkout_cart *cart,
	struct pt_err *err)
{
	int sim_plan = 0;

	for (size_t i = 0; i < cart->nlines; i++)
		if (strcmp(cart->lines[i].item->category, "sim") == 0 &&
		    domain_catalog_is_plan(cart->lines[i].item))
			sim_plan = 1;
	if (!sim_plan) {
		if (rq->sim_type[0])
			return pt_err_field(err, PT_VALIDATION_FAILED, "sim_type",
				"sim_type only for SIM plans");
		return 0;
	}
	if (!rq->sim_type[0])
		return pt_err_field(err, PT_VALIDATION_FAILED, "sim_type",
			"sim_type required for SIM plans");
	if (strcmp(rq->sim_type, "esim") == 0 && !rq->eid[0])
		return pt_err_field(err, PT_VALIDATION_FAILED, "eid", "eid required for eSIM");
	return 0;
}

int checkout_cart_resolve(const struct checkout_request *rq,
	const struct domain_catalog_item *items, size_t nitems, const struct domain_account *acct,
	struct checkout_cart *cart, struct pt_err *err)
{
	long long total = 0;

	memset(cart, 0, sizeof *cart);
	for (size_t i = 0; i < rq->nlines; i++) {
		struct checkout_cart_line *cl = &cart->lines[i];
		if (line_resolve(&rq->lines[i], i, items, nitems, acct, cl, err))
			return -1;
		/* Order_Type__c is one per order (resolutions §12). */
		if (i == 0)
			str_lcpy(cart->category, cl->item->category, sizeof cart->category);
		else if (strcmp(cart->category, cl->item->category) != 0)
			return pt_err_field(err, PT_MIXED_CART, "items", "categories %s and %s",
				cart->category, cl->item->category);
		total += cents(cl->line_total);
		cart->nlines++;
	}
	cents_str(total, cart->total, sizeof cart->total);
	return sim_rules(rq, cart, err);
}

void checkout_today_jst(long long t, char out[11])
{
	time_t jst = (time_t)(t + 9 * 3600);
	struct tm tm;

	gmtime_r(&jst, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- the use case ----------------------------------------------------------------- */

/* Everything a new order needs, built before anything is written. */
struct checkout_new {
	struct app_catalog_items catalog;
	struct domain_account account;
	struct checkout_cart cart;
	struct domain_address address;
	struct json_object *order, *items, *view;
};

static void new_free(struct checkout_new *n)
{
	app_catalog_items_free(&n->catalog);
	json_object_put(n->order);
	json_object_put(n->items);
	json_object_put(n->view);
	memset(n, 0, sizeof *n);
}

static int cart_check(const struct checkout_deps *d, const char *acct,
	const struct checkout_request *rq, struct checkout_new *n, struct pt_err *err)
{
	struct app_catalog c = { .sf = d->sf, .redis = d->redis };

	str_lcpy(c.pricebook_id, d->pricebook_id, sizeof c.pricebook_id);
	if (app_catalog_items_load(&c, &n->catalog, err) != 0 ||
	    app_catalog_account_load(&c, acct, &n->account, err) != 0)
		return -1;
	return checkout_cart_resolve(rq, n->catalog.v, n->catalog.n, &n->account, &n->cart, err);
}

/* WHMCS decides whether checkout may go on; its failure blocks it. */
static int whmcs_blocked(struct pt_err *err)
{
	log_warn("checkout blocked: whmcs", "error", err->detail);
	pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "checkout blocked: whmcs unavailable");
	err->retry_after = CHECKOUT_RETRY_AFTER_S;
	return -1;
}

static int pay_method_check(const struct checkout_deps *d, long client_id, struct pt_err *err)
{
	struct domain_paymethod_list pm = { 0 };
	size_t n;

	if (client_id <= 0)
		return pt_err_set(err, PT_PAYMENT_METHOD_MISSING, "no WHMCS client");
	if (whmcs_get_paymethods(d->whmcs, client_id, &pm, err) != 0)
		return whmcs_blocked(err);
	n = pm.n;
	domain_paymethod_list_clear(&pm);
	return n > 0 ? 0 : pt_err_set(err, PT_PAYMENT_METHOD_MISSING, "client %ld: none", client_id);
}

/* The body's address, else the WHMCS profile's (snapshot at checkout). */
static int address_pick(const struct checkout_deps *d, long client_id,
	const struct checkout_request *rq, struct domain_address *out, struct pt_err *err)
{
	struct domain_profile p;

	if (rq->has_address) {
		*out = rq->address;
		return 0;
	}
	if (whmcs_get_client_details(d->whmcs, client_id, NULL, d->customer_field_id, &p, err))
		return whmcs_blocked(err);
	if (!p.address.street[0] || !p.address.city[0] || !p.address.postcode[0])
		return pt_err_field(err, PT_VALIDATION_FAILED, "address",
			"no address in the profile: give one");
	*out = p.address;
	if (!out->country[0])
		str_lcpy(out->country, "JP", sizeof out->country);
	return 0;
}

/* What the outbox keeps to answer GET /api/orders/q_… without Salesforce. */
static struct json_object *view_json(const struct checkout_cart *cart)
{
	struct json_object *v = json_object_new_object(), *arr = json_object_new_array();

	if (!v || !arr) {
		json_object_put(v);
		json_object_put(arr);
		return NULL;
	}
	for (size_t i = 0; i < cart->nlines; i++) {
		const struct checkout_cart_line *l = &cart->lines[i];
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "sku", json_object_new_string(l->item->sku));
		json_object_object_add(o, "name", json_object_new_string(l->item->name));
		json_object_object_add(o, "quantity", json_object_new_int64(l->quantity));
		json_object_object_add(o, "unit_price", json_object_new_string(l->unit_price));
		json_object_object_add(o, "total", json_object_new_string(l->line_total));
		json_object_array_add(arr, o);
	}
	json_object_object_add(v, "order_type", json_object_new_string(cart->category));
	json_object_object_add(v, "total", json_object_new_string(cart->total));
	json_object_object_add(v, "items", arr);
	return v;
}

static int sf_bodies(const struct checkout_deps *d, const char *acct, const char *key,
	const struct checkout_request *rq, struct checkout_new *n, struct pt_err *err)
{
	struct domain_order_new_item it[CHECKOUT_LINES_MAX];
	char date[11], street[600];
	const struct domain_address *a = &n->address;

	for (size_t i = 0; i < n->cart.nlines; i++) {
		it[i].pricebook_entry_id = n->cart.lines[i].item->pricebook_entry_id;
		it[i].quantity = n->cart.lines[i].quantity;
		it[i].unit_price = n->cart.lines[i].unit_price;
	}
	checkout_today_jst((long long)time(NULL), date);
	snprintf(street, sizeof street, "%s%s%s", a->street, a->building[0] ? " " : "", a->building);
	struct domain_order_new in = {
		.account_id = acct, .pricebook_id = d->pricebook_id, .effective_date = date,
		.category = n->cart.category,
		.sim_type = rq->sim_type[0] ? rq->sim_type : NULL,
		.sim_eid = rq->eid[0] ? rq->eid : NULL,
		.idempotency_key = key,
		.street = street, .city = a->city, .state = a->prefecture,
		.postal_code = a->postcode, .country = a->country,
		.notes = rq->notes[0] ? rq->notes : NULL,
		.items = it, .nitems = n->cart.nlines,
	};
	if (domain_order_sf_new(&in, &n->order, &n->items, err) != 0)
		return -1;
	n->view = view_json(&n->cart);
	return n->view ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

/* Validation, pay method, address and the Salesforce bodies, in that order
 * (the cheap refusals first, nothing written yet). */
static int prepare(const struct checkout_deps *d, const struct checkout_subject *who,
	const char *acct, const char *key, const struct checkout_request *rq,
	struct checkout_new *n, struct pt_err *err)
{
	long client_id = who->whmcs_client_id && *who->whmcs_client_id ?
		strtol(who->whmcs_client_id, NULL, 10) : 0;

	if (cart_check(d, acct, rq, n, err) || pay_method_check(d, client_id, err) ||
	    address_pick(d, client_id, rq, &n->address, err))
		return -1;
	return sf_bodies(d, acct, key, rq, n, err);
}

/* The order just created, as Salesforce now has it (number, totals). */
static int created_reply(const struct checkout_deps *d, const char *acct, const char *id,
	const struct checkout_new *n, struct json_object **order)
{
	struct pt_err e = { 0 };
	struct domain_order o;

	if (orders_sf_by_id(d->sf, acct, id, order, &e) == 1)
		return 0;
	/* Created but not readable right now: answer what was sent. */
	log_warn("order created, read-back failed", "sf_order_id", id, "error", e.detail);
	memset(&o, 0, sizeof o);
	str_lcpy(o.id, id, sizeof o.id);
	str_lcpy(o.status, "Pending Review", sizeof o.status);
	str_lcpy(o.activation_status, "Not Started", sizeof o.activation_status);
	str_lcpy(o.total, n->cart.total, sizeof o.total);
	for (size_t i = 0; i < n->cart.nlines; i++) {
		struct domain_order_item *it = &o.items[o.nitems++];
		str_lcpy(it->sku, n->cart.lines[i].item->sku, sizeof it->sku);
		str_lcpy(it->name, n->cart.lines[i].item->name, sizeof it->name);
		snprintf(it->quantity, sizeof it->quantity, "%ld", n->cart.lines[i].quantity);
		str_lcpy(it->unit_price, n->cart.lines[i].unit_price, sizeof it->unit_price);
		str_lcpy(it->total_price, n->cart.lines[i].line_total, sizeof it->total_price);
	}
	*order = domain_order_json(&o);
	return 0;
}

/* One composite call. DUPLICATE_VALUE: a request with the same key won the
 * race; its order is the answer (resolutions §13). */
static int sf_create(const struct checkout_deps *d, const char *acct, const char *key,
	const struct checkout_new *n, struct json_object **order, struct pt_err *err)
{
	char id[SF_ID_LEN18 + 1];
	int rc;

	if (sf_rest_create_order(d->sf, n->order, n->items, id, err) == 0) {
		orders_cache_drop(d->redis, acct);
		log_info("order created", "sf_order_id", id);
		return created_reply(d, acct, id, n, order);
	}
	if (err->code != PT_CONFLICT || strcmp(err->provider_code, "DUPLICATE_VALUE") != 0)
		return -1;
	pt_err_clear(err);
	rc = orders_sf_by_key(d->sf, acct, key, order, err);
	if (rc == 0)
		return pt_err_set(err, PT_CONFLICT, "duplicate key but no order of this account");
	return rc < 0 ? -1 : 0;
}

/* Salesforce is down: one row per (account, key) — a racing request's
 * INSERT does nothing and both answer the row that is there. */
static int outbox_hold(const struct checkout_deps *d, const struct checkout_subject *who,
	const char *acct, const char *key, const struct checkout_new *n,
	struct json_object **order, int *status, struct pt_err *err)
{
	struct orders_deps od = { d->sf, d->db, d->redis };
	struct orders_outbox_row row = { 0 };
	struct json_object *p = json_object_new_object();
	char uuid[37];
	int submitted = 0, rc = -1;

	if (!p || rand_uuid(uuid) != 0) {
		pt_err_set(err, PT_INTERNAL, "outbox: no uuid");
		goto out;
	}
	json_object_object_add(p, "version", json_object_new_int(CHECKOUT_OUTBOX_VERSION));
	json_object_object_add(p, "order", json_object_get(n->order));
	json_object_object_add(p, "items", json_object_get(n->items));
	json_object_object_add(p, "view", json_object_get(n->view));
	const char *params[] = { uuid, who->user_id && *who->user_id ? who->user_id : NULL,
		acct, key, json_compact(p, NULL) };
	if (db_command(d->db, "INSERT INTO order_outbox (id, user_id, sf_account_id, "
		"idempotency_key, payload) VALUES ($1::uuid, $2::bigint, $3, $4, $5::jsonb) "
		"ON CONFLICT ON CONSTRAINT order_outbox_account_key_key DO NOTHING",
		5, params, err) < 0)
		goto out;
	if (orders_outbox_find_by_key(d->db, acct, key, &row, err) != 1) {
		if (!err->code)
			pt_err_set(err, PT_INTERNAL, "outbox row vanished");
		goto out;
	}
	log_info("order held in outbox", "outbox_id", row.id);
	if (orders_outbox_render(&od, acct, &row, order, &submitted, err) != 0)
		goto out;
	*status = submitted ? 201 : 202;
	rc = 0;
out:
	orders_outbox_row_clear(&row);
	json_object_put(p);
	return rc;
}

/* A replay: the outbox first (an order held there wins), then Salesforce.
 * 1 answered, 0 new order, -1 err. *sf_down = Salesforce could not answer. */
static int replay(const struct checkout_deps *d, const char *acct, const char *key,
	struct json_object **order, int *status, int *sf_down, struct pt_err *err)
{
	struct orders_deps od = { d->sf, d->db, d->redis };
	struct orders_outbox_row row = { 0 };
	struct pt_err pe = { 0 };
	int submitted, rc;

	rc = orders_outbox_find_by_key(d->db, acct, key, &row, &pe);
	if (rc == 1) {
		rc = orders_outbox_render(&od, acct, &row, order, &submitted, err);
		orders_outbox_row_clear(&row);
		*status = submitted ? 201 : 202;
		return rc == 0 ? 1 : -1;
	}
	/* PostgreSQL down: Salesforce's unique key still makes the order once. */
	if (rc < 0)
		log_warn("outbox lookup failed", "error", pe.detail);
	rc = orders_sf_by_key(d->sf, acct, key, order, err);
	if (rc == 1)
		*status = 201;
	if (rc >= 0)
		return rc;
	if (err->code != PT_UPSTREAM_UNAVAILABLE)
		return -1;
	log_warn("salesforce down at checkout", "error", err->detail);
	pt_err_clear(err);
	*sf_down = 1;
	return 0;
}

int checkout_place(const struct checkout_deps *d, const struct checkout_subject *who,
	const char *idempotency_key, const struct checkout_request *rq,
	int *status_out, struct json_object **order, struct pt_err *err)
{
	struct checkout_new n;
	char acct[SF_ID_LEN18 + 1];
	int sf_down = 0, rc = -1;

	memset(&n, 0, sizeof n);
	*order = NULL;
	*status_out = 0;
	if (checkout_key_check(idempotency_key, err) != 0)
		return -1;
	if (sf_soql_id_check(who->sf_account_id, "001", acct, NULL) != 0)
		return pt_err_set(err, PT_UNAUTHENTICATED, "session without a valid account id");
	rc = replay(d, acct, idempotency_key, order, status_out, &sf_down, err);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	rc = -1;
	if (prepare(d, who, acct, idempotency_key, rq, &n, err) != 0)
		goto out;
	if (!sf_down) {
		if (sf_create(d, acct, idempotency_key, &n, order, err) == 0) {
			*status_out = 201;
			rc = 0;
			goto out;
		}
		/* 5xx, timeout, dropped connection: hold it; anything else is final. */
		if (err->code != PT_UPSTREAM_UNAVAILABLE)
			goto out;
		log_warn("salesforce create failed: outbox", "error", err->detail);
		pt_err_clear(err);
	}
	rc = outbox_hold(d, who, acct, idempotency_key, &n, order, status_out, err);
out:
	new_free(&n);
	return rc;
}
