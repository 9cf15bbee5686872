/* domain/order — Order (+ OrderItems) record → order → portal JSON, and the
 * checkout's Order/OrderItem bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/order.h"
#include "core/json.h"
#include "salesforce/soql.h"

static int bad(struct pt_err *err, const char *what)
{
	pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce order: bad %s", what);
	pt_err_provider(err, "BAD_RECORD");
	return -1;
}

static int money_field(struct json_object *rec, const char *key, char *out, size_t outsz)
{
	struct json_object *v;

	out[0] = '\0';
	if (!json_object_object_get_ex(rec, key, &v) || !v)
		return 0;
	return domain_decimal_from_json(v, 2, out, outsz);
}

static int item_from_sf(struct json_object *r, struct domain_order_item *it, struct pt_err *err)
{
	char id[32];
	struct json_object *v;

	memset(it, 0, sizeof *it);
	if (domain_json_str(r, "Id", id, sizeof id, 0) || sf_soql_id_check(id, "802", it->id, NULL))
		return bad(err, "OrderItem.Id");
	if (domain_json_str(r, "Product2Id", id, sizeof id, 0) ||
	    (id[0] && sf_soql_id_check(id, "01t", it->product_id, NULL)))
		return bad(err, "OrderItem.Product2Id");
	if (domain_json_rel_str(r, "Product2", "StockKeepingUnit", it->sku, sizeof it->sku) ||
	    domain_json_rel_str(r, "Product2", "Name", it->name, sizeof it->name))
		return bad(err, "OrderItem.Product2");
	if (!json_object_object_get_ex(r, "Quantity", &v) ||
	    domain_decimal_from_json(v, 0, it->quantity, sizeof it->quantity) ||
	    money_field(r, "UnitPrice", it->unit_price, sizeof it->unit_price) ||
	    money_field(r, "TotalPrice", it->total_price, sizeof it->total_price))
		return bad(err, "OrderItem amounts");
	return 0;
}

/* Child subquery result: {"records":[…]} or null when there are none. */
static int items_from_sf(struct json_object *rec, struct domain_order *o, struct pt_err *err)
{
	struct json_object *recs;

	if (domain_sf_children(rec, "OrderItems", &recs) != 0)
		return bad(err, "OrderItems");
	if (!recs)
		return 0;
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		if (o->nitems == DOMAIN_ORDER_ITEMS_MAX)
			return bad(err, "OrderItems count");
		if (item_from_sf(json_object_array_get_idx(recs, i), &o->items[o->nitems], err))
			return -1;
		o->nitems++;
	}
	return 0;
}

int domain_order_from_sf(struct json_object *rec, struct domain_order *o, struct pt_err *err)
{
	char id[32], t[40];
	struct json_object *v;

	memset(o, 0, sizeof *o);
	if (!json_object_is_type(rec, json_type_object))
		return bad(err, "record");
	if (domain_json_str(rec, "Id", id, sizeof id, 0) || sf_soql_id_check(id, "801", o->id, NULL))
		return bad(err, "Id");
	if (domain_json_str(rec, "AccountId", id, sizeof id, 0) ||
	    (id[0] && sf_soql_id_check(id, "001", o->account_id, NULL)))
		return bad(err, "AccountId");
	if (domain_json_str(rec, "OrderNumber", o->number, sizeof o->number, 0) ||
	    domain_json_str(rec, "Status", o->status, sizeof o->status, 0) ||
	    domain_json_str(rec, "Activation_Status__c", o->activation_status,
		sizeof o->activation_status, 0) ||
	    domain_json_str(rec, "Activation_Error_Code__c", o->error_code, sizeof o->error_code, 0) ||
	    domain_json_str(rec, "Order_Type__c", o->order_type, sizeof o->order_type, 0) ||
	    domain_json_str(rec, "SIM_Type__c", o->sim_type, sizeof o->sim_type, 0))
		return bad(err, "field");
	/* Text(20), but tolerate a number should the field type change. */
	if (json_object_object_get_ex(rec, "WHMCS_Order_ID__c", &v) && v) {
		if (json_object_is_type(v, json_type_int))
			snprintf(o->whmcs_order_id, sizeof o->whmcs_order_id, "%lld",
				(long long)json_object_get_int64(v));
		else if (domain_json_str(rec, "WHMCS_Order_ID__c", o->whmcs_order_id,
			sizeof o->whmcs_order_id, 0))
			return bad(err, "WHMCS_Order_ID__c");
	}
	if (money_field(rec, "TotalAmount", o->total, sizeof o->total))
		return bad(err, "TotalAmount");
	if (domain_json_str(rec, "EffectiveDate", t, sizeof t, 0) ||
	    (t[0] && domain_date_norm(t, o->effective_date, sizeof o->effective_date)))
		return bad(err, "EffectiveDate");
	if (domain_json_str(rec, "CreatedDate", t, sizeof t, 0) ||
	    (t[0] && domain_time_rfc3339(t, o->created_at, sizeof o->created_at)))
		return bad(err, "CreatedDate");
	return items_from_sf(rec, o, err);
}

const char *domain_activation_error_public(const char *raw, const char **message)
{
	static const char *const temporary[] = {
		"429", "ETIMEOUT", "ECONNREFUSED", "ECONNRESET", "TIMEOUT", "TEMPORARY_FAILURE",
		"UPSTREAM_UNAVAILABLE", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED",
		"UNABLE_TO_LOCK_ROW", NULL };
	const char *code = "NEEDS_ATTENTION";

	if (raw && strcmp(raw, "PAYMENT_METHOD_MISSING") == 0)
		code = "PAYMENT_METHOD_MISSING";
	else if (raw && strlen(raw) == 3 && raw[0] == '5' && raw[1] >= '0' && raw[1] <= '9' &&
		 raw[2] >= '0' && raw[2] <= '9')
		code = "TEMPORARY_FAILURE";
	else
		for (size_t i = 0; raw && temporary[i]; i++)
			if (strcmp(raw, temporary[i]) == 0)
				code = "TEMPORARY_FAILURE";
	if (message) {
		if (strcmp(code, "PAYMENT_METHOD_MISSING") == 0)
			*message = "Please add a payment method so that we can complete your order.";
		else if (strcmp(code, "TEMPORARY_FAILURE") == 0)
			*message = "Your order was delayed by a temporary problem. Our team will "
				"complete it; there is nothing you need to do.";
		else
			*message = "Your order needs a check by our team. We will contact you "
				"if we need anything from you.";
	}
	return code;
}

static long long atoll_safe(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return *end == '\0' ? v : 0;
}

static struct json_object *item_json(const struct domain_order_item *it)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	domain_json_add_str(o, "id", it->id);
	domain_json_add_str(o, "product_id", it->product_id[0] ? it->product_id : NULL);
	domain_json_add_str(o, "sku", it->sku[0] ? it->sku : NULL);
	domain_json_add_str(o, "name", it->name[0] ? it->name : NULL);
	json_object_object_add(o, "quantity", json_object_new_int64(atoll_safe(it->quantity)));
	domain_json_add_money(o, "unit_price", it->unit_price[0] ? it->unit_price : NULL, NULL);
	domain_json_add_money(o, "total", it->total_price[0] ? it->total_price : NULL, NULL);
	return o;
}

struct json_object *domain_order_json(const struct domain_order *o)
{
	struct json_object *j = json_object_new_object(), *items = json_object_new_array();

	if (!j || !items) {
		json_object_put(j);
		json_object_put(items);
		return NULL;
	}
	for (size_t i = 0; i < o->nitems; i++)
		json_object_array_add(items, item_json(&o->items[i]));
	domain_json_add_str(j, "id", o->id);
	domain_json_add_str(j, "number", o->number);
	domain_json_add_str(j, "status", o->status);
	domain_json_add_str(j, "activation_status",
		o->activation_status[0] ? o->activation_status : "Not Started");
	if (strcmp(o->activation_status, "Failed") == 0) {
		const char *msg, *code = domain_activation_error_public(o->error_code, &msg);
		struct json_object *e = json_object_new_object();
		domain_json_add_str(e, "code", code);
		domain_json_add_str(e, "message", msg);
		json_object_object_add(j, "activation_error", e);
	}
	domain_json_add_str(j, "whmcs_order_id", o->whmcs_order_id[0] ? o->whmcs_order_id : NULL);
	domain_json_add_str(j, "order_type", o->order_type[0] ? o->order_type : NULL);
	domain_json_add_money(j, "total", o->total[0] ? o->total : NULL, NULL);
	domain_json_add_str(j, "effective_date", o->effective_date[0] ? o->effective_date : NULL);
	domain_json_add_str(j, "created_at", o->created_at[0] ? o->created_at : NULL);
	json_object_object_add(j, "items", items);
	return j;
}

#define O "Order"
#define OI "OrderItem"
#define ORDER_SELECT "SELECT %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, %F, " \
	"(SELECT %F, %F, %F, %F, %F, %F, %F FROM OrderItems) FROM %O"
#define ORDER_ARGS O, "Id", O, "AccountId", O, "OrderNumber", O, "Status", \
	O, "Activation_Status__c", O, "Activation_Error_Code__c", O, "WHMCS_Order_ID__c", \
	O, "Order_Type__c", O, "SIM_Type__c", O, "TotalAmount", O, "EffectiveDate", \
	O, "CreatedDate", \
	OI, "Id", OI, "Product2Id", OI, "Quantity", OI, "UnitPrice", OI, "TotalPrice", \
	OI, "Product2.StockKeepingUnit", OI, "Product2.Name", O

int domain_order_soql_by_id(struct buf *q, const char *order_id, const char *account_id,
	struct pt_err *err)
{
	return sf_soql_build(q, err, ORDER_SELECT " WHERE %F = %I AND %F = %I LIMIT 1",
		ORDER_ARGS, O, "Id", order_id, O, "AccountId", account_id);
}

int domain_order_soql_by_account(struct buf *q, const char *account_id, struct pt_err *err)
{
	return sf_soql_build(q, err, ORDER_SELECT " WHERE %F = %I ORDER BY %F DESC LIMIT 200",
		ORDER_ARGS, O, "AccountId", account_id, O, "CreatedDate");
}

int domain_order_idem_key_valid(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') ||
		      (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-'))
			return 0;
	return 1;
}

int domain_order_idem_value(const char *account_id, const char *key,
	char out[DOMAIN_ORDER_IDEM_MAX + 1], struct pt_err *err)
{
	char acct[SF_ID_LEN18 + 1];

	if (sf_soql_id_check(account_id, "001", acct, err))
		return -1;
	if (!domain_order_idem_key_valid(key))
		return pt_err_field(err, PT_IDEMPOTENCY_KEY_REQUIRED, "Idempotency-Key",
			"bad idempotency key");
	/* The 15-char form: 18 + ':' + 64 = 83 would overflow Text(80); the
	 * 15-char id is unique too (case-sensitive), see docs/orders.md. */
	snprintf(out, DOMAIN_ORDER_IDEM_MAX + 1, "%.*s:%s", SF_ID_LEN15, acct, key);
	return 0;
}

int domain_order_soql_by_idem_key(struct buf *q, const char *account_id, const char *key,
	struct pt_err *err)
{
	char acct[SF_ID_LEN18 + 1], full[DOMAIN_ORDER_IDEM_MAX + 1];

	if (sf_soql_id_check(account_id, "001", acct, err) ||
	    domain_order_idem_value(acct, key, full, err))
		return -1;
	return sf_soql_build(q, err, ORDER_SELECT " WHERE %F = %S AND %F = %I LIMIT 1",
		ORDER_ARGS, O, "Portal_Idempotency_Key__c", full, O, "AccountId", acct);
}

static const char *order_type_of(const char *category)
{
	if (!category)
		return NULL;
	if (strcmp(category, "internet") == 0)
		return "Internet";
	if (strcmp(category, "sim") == 0)
		return "SIM";
	if (strcmp(category, "vpn") == 0)
		return "VPN";
	return NULL;
}

static int eid_ok(const char *e)
{
	if (!e || strlen(e) != 32)
		return 0;
	for (; *e; e++)
		if (*e < '0' || *e > '9')
			return 0;
	return 1;
}

static int add_text(struct json_object *o, const char *key, const char *val, size_t max,
	struct pt_err *err)
{
	if (!val || !*val)
		return 0;
	if (strlen(val) > max || !str_valid_text(val, strlen(val), 0))
		return pt_err_field(err, PT_VALIDATION_FAILED, "address", "bad %s", key);
	return domain_json_add_str(o, key, val) ? pt_err_set(err, PT_INTERNAL, "oom") : 0;
}

/* Order.Description is a textarea: newlines are fine, controls are not. */
static int add_notes(struct json_object *o, const char *notes, struct pt_err *err)
{
	if (!notes || !*notes)
		return 0;
	if (strlen(notes) > DOMAIN_ORDER_NOTES_MAX || !str_valid_text(notes, strlen(notes), 1))
		return pt_err_field(err, PT_VALIDATION_FAILED, "notes", "bad notes");
	return domain_json_add_str(o, "Description", notes) ? pt_err_set(err, PT_INTERNAL, "oom") : 0;
}

static int order_body(const struct domain_order_new *in, struct json_object *o,
	struct pt_err *err)
{
	char acct[SF_ID_LEN18 + 1], pb[SF_ID_LEN18 + 1], date[DOMAIN_DATE_MAX];
	char key[DOMAIN_ORDER_IDEM_MAX + 1];
	const char *type = order_type_of(in->category);

	if (sf_soql_id_check(in->account_id, "001", acct, err) ||
	    sf_soql_id_check(in->pricebook_id, "01s", pb, err))
		return -1;
	if (!type)
		return pt_err_field(err, PT_VALIDATION_FAILED, "items", "unknown category");
	if (domain_date_norm(in->effective_date, date, sizeof date))
		return pt_err_set(err, PT_INTERNAL, "order: bad effective date");
	if (domain_order_idem_value(acct, in->idempotency_key, key, err))
		return -1;
	domain_json_add_str(o, "AccountId", acct);
	domain_json_add_str(o, "Pricebook2Id", pb);
	domain_json_add_str(o, "EffectiveDate", date);
	domain_json_add_str(o, "Status", "Pending Review");
	domain_json_add_str(o, "Activation_Status__c", "Not Started");
	domain_json_add_str(o, "Order_Type__c", type);
	domain_json_add_str(o, "Portal_Idempotency_Key__c", key);
	if (strcmp(type, "SIM") == 0) {
		int esim = in->sim_type && strcmp(in->sim_type, "esim") == 0;
		if (!in->sim_type || (!esim && strcmp(in->sim_type, "physical") != 0))
			return pt_err_field(err, PT_VALIDATION_FAILED, "sim_type", "sim_type required");
		domain_json_add_str(o, "SIM_Type__c", esim ? "eSIM" : "Physical");
		if (esim && !eid_ok(in->sim_eid))
			return pt_err_field(err, PT_VALIDATION_FAILED, "eid", "eid: 32 digits");
		if (esim)
			domain_json_add_str(o, "SIM_EID__c", in->sim_eid);
	}
	return add_text(o, "ShippingStreet", in->street, 255, err) ||
		add_text(o, "ShippingCity", in->city, 40, err) ||
		add_text(o, "ShippingState", in->state, 80, err) ||
		add_text(o, "ShippingPostalCode", in->postal_code, 20, err) ||
		add_text(o, "ShippingCountry", in->country, 80, err) ||
		add_notes(o, in->notes, err) ? -1 : 0;
}

static struct json_object *item_body(const struct domain_order_new_item *it, struct pt_err *err)
{
	char pbe[SF_ID_LEN18 + 1], price[DOMAIN_DECIMAL_MAX];
	struct json_object *o;

	if (sf_soql_id_check(it->pricebook_entry_id, "01u", pbe, err))
		return NULL;
	if (it->quantity < 1 || it->quantity > 99) {
		pt_err_field(err, PT_VALIDATION_FAILED, "quantity", "quantity 1..99");
		return NULL;
	}
	if (domain_decimal_norm(it->unit_price, 2, price, sizeof price)) {
		pt_err_set(err, PT_INTERNAL, "order item: bad unit price");
		return NULL;
	}
	o = json_object_new_object();
	if (!o)
		return NULL;
	domain_json_add_str(o, "PricebookEntryId", pbe);
	json_object_object_add(o, "Quantity", json_object_new_int64(it->quantity));
	/* Currency as a JSON number with its exact decimal text. */
	json_object_object_add(o, "UnitPrice", json_object_new_double_s(strtod(price, NULL), price));
	return o;
}

int domain_order_sf_new(const struct domain_order_new *in, struct json_object **order,
	struct json_object **items, struct pt_err *err)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

	*order = *items = NULL;
	if (!o || !arr) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto fail;
	}
	if (in->nitems < 1 || in->nitems > DOMAIN_ORDER_ITEMS_MAX) {
		pt_err_field(err, PT_VALIDATION_FAILED, "items", "1..%d items", DOMAIN_ORDER_ITEMS_MAX);
		goto fail;
	}
	if (order_body(in, o, err))
		goto fail;
	for (size_t i = 0; i < in->nitems; i++) {
		struct json_object *it = item_body(&in->items[i], err);
		if (!it)
			goto fail;
		json_object_array_add(arr, it);
	}
	*order = o;
	*items = arr;
	return 0;
fail:
	json_object_put(o);
	json_object_put(arr);
	return -1;
}

static struct json_object *outbox_item_json(struct json_object *v)
{
	struct json_object *o = json_object_new_object(), *q;
	long long n = 0;

	if (!o)
		return NULL;
	if (json_object_object_get_ex(v, "quantity", &q) && json_object_is_type(q, json_type_int))
		n = json_object_get_int64(q);
	json_object_object_add(o, "id", NULL);
	domain_json_add_str(o, "sku", json_str_or(v, "sku", NULL));
	domain_json_add_str(o, "name", json_str_or(v, "name", NULL));
	json_object_object_add(o, "quantity", json_object_new_int64(n));
	domain_json_add_money(o, "unit_price", json_str_or(v, "unit_price", NULL), NULL);
	domain_json_add_money(o, "total", json_str_or(v, "total", NULL), NULL);
	return o;
}

struct json_object *domain_order_outbox_json(const char *qid, const char *outbox_status,
	const char *created_at, struct json_object *view)
{
	struct json_object *j = json_object_new_object(), *items = json_object_new_array(), *arr;
	int failed = outbox_status && strcmp(outbox_status, "failed") == 0;
	const char *st = failed ? "Failed" : "Queued";

	if (!j || !items) {
		json_object_put(j);
		json_object_put(items);
		return NULL;
	}
	if (json_object_object_get_ex(view, "items", &arr) &&
	    json_object_is_type(arr, json_type_array))
		for (size_t i = 0; i < json_object_array_length(arr); i++)
			json_object_array_add(items, outbox_item_json(json_object_array_get_idx(arr, i)));
	domain_json_add_str(j, "id", qid);
	json_object_object_add(j, "number", NULL);
	domain_json_add_str(j, "status", st);
	domain_json_add_str(j, "activation_status", st);
	if (failed) {
		const char *msg, *code = domain_activation_error_public(NULL, &msg);
		struct json_object *e = json_object_new_object();
		domain_json_add_str(e, "code", code);
		domain_json_add_str(e, "message", msg);
		json_object_object_add(j, "activation_error", e);
	}
	json_object_object_add(j, "whmcs_order_id", NULL);
	domain_json_add_str(j, "order_type", json_str_or(view, "order_type", NULL));
	domain_json_add_money(j, "total", json_str_or(view, "total", NULL), NULL);
	json_object_object_add(j, "effective_date", NULL);
	domain_json_add_time(j, "created_at", created_at);
	json_object_object_add(j, "items", items);
	return j;
}

struct json_object *domain_order_sf_attempt(const char *ts)
{
	char t[DOMAIN_TIME_MAX];
	struct json_object *o;

	if (domain_time_rfc3339(ts, t, sizeof t) || !(o = json_object_new_object()))
		return NULL;
	domain_json_add_str(o, "Activation_Last_Attempt__c", t);
	return o;
}

struct json_object *domain_order_sf_activated(const char *whmcs_order_id)
{
	struct json_object *o;

	if (!whmcs_order_id || !*whmcs_order_id || strlen(whmcs_order_id) > 20 ||
	    !(o = json_object_new_object()))
		return NULL;
	domain_json_add_str(o, "Status", "Activated");
	domain_json_add_str(o, "Activation_Status__c", "Activated");
	domain_json_add_str(o, "WHMCS_Order_ID__c", whmcs_order_id);
	domain_json_add_str(o, "Activation_Error_Code__c", NULL);
	domain_json_add_str(o, "Activation_Error_Message__c", NULL);
	return o;
}

/* Text(n) fields: cut at n bytes without splitting a UTF-8 sequence. */
static void cut_utf8(char *s, size_t n)
{
	if (strlen(s) <= n)
		return;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	s[n] = '\0';
}

struct json_object *domain_order_sf_failed(const char *code, const char *message, const char *ts)
{
	char c[41], m[256], t[DOMAIN_TIME_MAX];
	struct json_object *o;

	if (!code || !*code || domain_time_rfc3339(ts, t, sizeof t))
		return NULL;
	str_lcpy(c, code, sizeof c);
	str_lcpy(m, message ? message : "", sizeof m);
	cut_utf8(c, 40);
	cut_utf8(m, 255);
	if (!(o = json_object_new_object()))
		return NULL;
	domain_json_add_str(o, "Activation_Status__c", "Failed");
	domain_json_add_str(o, "Activation_Error_Code__c", c);
	domain_json_add_str(o, "Activation_Error_Message__c", m);
	domain_json_add_str(o, "Activation_Last_Attempt__c", t);
	return o;
}
