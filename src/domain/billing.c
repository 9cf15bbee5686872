/* domain/billing — see billing.h. */
#include "domain/billing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"

/* No WHMCS list the portal reads is longer in practice; a bound keeps a
 * hostile or broken reply from allocating without limit. */
#define MAX_ROWS 5000

/* --- shared WHMCS helpers ---------------------------------------------- */

struct json_object *domain_whmcs_list(struct json_object *reply, const char *plural,
	const char *singular)
{
	struct json_object *w, *a;

	if (!reply || !json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, plural, &w))
		return NULL;
	if (json_object_is_type(w, json_type_array))
		return json_object_array_length(w) ? w : NULL;
	if (!json_object_is_type(w, json_type_object) ||
	    !json_object_object_get_ex(w, singular, &a))
		return NULL;
	if (json_object_is_type(a, json_type_array))
		return json_object_array_length(a) ? a : NULL;
	return NULL;
}

/* Length of the longest prefix of s (at most max bytes) that ends on a
 * UTF-8 character boundary. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void domain_copy_text(char *dst, size_t size, const char *src)
{
	size_t len, n;

	if (!size)
		return;
	dst[0] = '\0';
	if (!src)
		return;
	len = strlen(src);
	if (!str_valid_text(src, len, 1))
		return;
	n = utf8_prefix(src, len, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void domain_copy_field(char *dst, size_t size, struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (size)
		dst[0] = '\0';
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !v)
		return;
	switch (json_object_get_type(v)) {
	case json_type_string:
		if ((size_t)json_object_get_string_len(v) != strlen(json_object_get_string(v)))
			return;   /* embedded NUL */
		/* fall through */
	case json_type_int:
	case json_type_double:
		domain_copy_text(dst, size, json_object_get_string(v));
		break;
	default:
		break;
	}
}

int domain_whmcs_bool(struct json_object *obj, const char *key, int dflt)
{
	struct json_object *v;
	const char *s;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return dflt;
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return json_object_get_boolean(v);
	case json_type_int:
		return json_object_get_int64(v) != 0;
	case json_type_string:
		s = json_object_get_string(v);
		if (!strcmp(s, "1") || str_ieq(s, "true") || str_ieq(s, "yes") || str_ieq(s, "on"))
			return 1;
		if (!strcmp(s, "0") || !*s || str_ieq(s, "false") || str_ieq(s, "no") ||
		    str_ieq(s, "off"))
			return 0;
		return dflt;
	default:
		return dflt;
	}
}

void domain_whmcs_date(char *dst, size_t size, struct json_object *obj, const char *key)
{
	char raw[32];

	if (size)
		dst[0] = '\0';
	domain_copy_field(raw, sizeof(raw), obj, key);
	if (strlen(raw) < 10)
		return;
	raw[10] = '\0';
	if (domain_date_norm(raw, dst, size) != 0)
		dst[0] = '\0';
}

void domain_whmcs_money(char *dst, size_t size, struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (size)
		dst[0] = '\0';
	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return;
	if (domain_decimal_from_json(v, 2, dst, size) != 0)
		dst[0] = '\0';
}

static long lenient_id(struct json_object *obj, const char *key)
{
	long v = 0;

	if (json_get_lenient_int(obj, key, &v) != 0 || v < 0)
		return 0;
	return v;
}

static int add_str_or_null(struct json_object *o, const char *key, const char *v)
{
	return domain_json_add_str(o, key, (v && *v) ? v : NULL);
}

static int add_int(struct json_object *o, const char *key, long v)
{
	return json_object_object_add(o, key, json_object_new_int64(v));
}

static int add_bool(struct json_object *o, const char *key, int v)
{
	return json_object_object_add(o, key, json_object_new_boolean(v));
}

/* calloc of n rows with the bound above; n==0 gives NULL without error. */
static void *rows_alloc(size_t n, size_t size, struct pt_err *err)
{
	void *p;

	if (n == 0)
		return NULL;
	if (n > MAX_ROWS) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "whmcs list too long (%zu rows)", n);
		return NULL;
	}
	p = calloc(n, size);
	if (!p)
		pt_err_set(err, PT_INTERNAL, "out of memory");
	return p;
}

/* Maps one object of a WHMCS list into a zeroed row: 0 keeps it, -1 drops it. */
typedef int (*row_from_fn)(struct json_object *o, void *row, const struct domain_whmcs_ctx *ctx);

/* The loop every WHMCS list mapper shares: each object of reply's
 * plural/singular list (domain_whmcs_list) mapped by from() into *v, an array
 * of rows of `size` bytes (rows_alloc), *n counting the rows kept; a dropped
 * row is zeroed again for the next. total, when given, takes "totalresults"
 * (the count across pages), else the rows kept. -1 + err: too long, no memory. */
static int rows_from(struct json_object *reply, const char *plural, const char *singular,
	row_from_fn from, const struct domain_whmcs_ctx *ctx, size_t size, void **v, size_t *n,
	long *total, struct pt_err *err)
{
	struct json_object *a = domain_whmcs_list(reply, plural, singular);
	size_t i, len = a ? json_object_array_length(a) : 0;
	unsigned char *rows = rows_alloc(len, size, err);

	*v = rows;
	*n = 0;
	if (len && !rows)
		return -1;
	for (i = 0; i < len; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		unsigned char *row = rows + *n * size;
		if (json_object_is_type(o, json_type_object) && from(o, row, ctx) == 0)
			(*n)++;
		else
			memset(row, 0, size);
	}
	if (total && (json_get_lenient_int(reply, "totalresults", total) != 0 || *total < 0))
		*total = (long)*n;
	return 0;
}

/* --- billing cycles ---------------------------------------------------- */

static const struct {
	const char *display;
	const char *system;
} cycles[] = {
	{ "Free Account", "free" }, { "One Time", "onetime" }, { "Monthly", "monthly" },
	{ "Quarterly", "quarterly" }, { "Semi-Annually", "semiannually" },
	{ "Annually", "annually" }, { "Biennially", "biennially" },
	{ "Triennially", "triennially" },
};

/* Lower-cases and keeps letters only, as WHMCS's own normaliser does. */
static void cycle_key(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; in && *in && n + 1 < size; in++) {
		char ch = *in;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch >= 'a' && ch <= 'z')
			out[n++] = ch;
	}
	out[n] = '\0';
}

static int cycle_index(const char *any)
{
	char k[32];
	size_t i;

	cycle_key(any, k, sizeof(k));
	if (!strcmp(k, "freeaccount"))
		return 0;
	for (i = 0; i < sizeof(cycles) / sizeof(cycles[0]); i++)
		if (!strcmp(k, cycles[i].system))
			return (int)i;
	return -1;
}

const char *domain_billing_cycle_system(const char *display)
{
	int i = cycle_index(display);
	return i < 0 ? NULL : cycles[i].system;
}

const char *domain_billing_cycle_display(const char *any)
{
	int i = cycle_index(any);
	return i < 0 ? NULL : cycles[i].display;
}

/* --- invoices ---------------------------------------------------------- */

static void invoice_common(struct json_object *o, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice *inv)
{
	const char *cur;

	inv->client_id = lenient_id(o, "userid");
	domain_copy_field(inv->number, sizeof(inv->number), o, "invoicenum");
	if (!inv->number[0])
		snprintf(inv->number, sizeof(inv->number), "%ld", inv->id);
	domain_copy_field(inv->status, sizeof(inv->status), o, "status");
	domain_whmcs_date(inv->issued_date, sizeof(inv->issued_date), o, "date");
	domain_whmcs_date(inv->due_date, sizeof(inv->due_date), o, "duedate");
	domain_whmcs_date(inv->paid_date, sizeof(inv->paid_date), o, "datepaid");
	domain_whmcs_money(inv->subtotal, sizeof(inv->subtotal), o, "subtotal");
	domain_whmcs_money(inv->tax, sizeof(inv->tax), o, "tax");
	domain_whmcs_money(inv->credit, sizeof(inv->credit), o, "credit");
	domain_whmcs_money(inv->total, sizeof(inv->total), o, "total");
	domain_whmcs_money(inv->balance, sizeof(inv->balance), o, "balance");
	domain_copy_field(inv->payment_method, sizeof(inv->payment_method), o, "paymentmethod");
	domain_copy_field(inv->currency, sizeof(inv->currency), o, "currencycode");
	cur = (ctx && ctx->currency && *ctx->currency) ? ctx->currency : DOMAIN_CURRENCY_DEFAULT;
	if (!inv->currency[0])
		str_lcpy(inv->currency, cur, sizeof(inv->currency));
	/* WHMCS stores no Overdue status: it is Unpaid past its due date. */
	if (ctx && ctx->today && !strcmp(inv->status, "Unpaid") && inv->due_date[0] &&
	    strcmp(inv->due_date, ctx->today) < 0)
		str_lcpy(inv->status, "Overdue", sizeof(inv->status));
}

static int invoice_items(struct json_object *reply, struct domain_invoice *inv, struct pt_err *err)
{
	struct json_object *a = domain_whmcs_list(reply, "items", "item");
	size_t i, n = a ? json_object_array_length(a) : 0;

	inv->items = rows_alloc(n, sizeof(*inv->items), err);
	if (n && !inv->items)
		return -1;
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(a, i);
		struct domain_invoice_item *d = &inv->items[inv->n_items];
		if (!json_object_is_type(it, json_type_object))
			continue;
		d->id = lenient_id(it, "id");
		domain_copy_field(d->type, sizeof(d->type), it, "type");
		d->service_id = lenient_id(it, "relid");
		domain_copy_field(d->description, sizeof(d->description), it, "description");
		domain_whmcs_money(d->amount, sizeof(d->amount), it, "amount");
		d->taxed = domain_whmcs_bool(it, "taxed", 0);
		inv->n_items++;
	}
	return 0;
}

int domain_invoice_from_whmcs(struct json_object *reply, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice *out, struct pt_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!reply || !json_object_is_type(reply, json_type_object))
		return pt_err_set(err, PT_UPSTREAM_ERROR, "GetInvoice: reply is not an object");
	out->id = lenient_id(reply, "invoiceid");
	if (out->id <= 0)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "GetInvoice: no invoiceid");
	invoice_common(reply, ctx, out);
	if (invoice_items(reply, out, err) != 0) {
		domain_invoice_clear(out);
		return -1;
	}
	return 0;
}

static int invoice_row_from(struct json_object *o, void *row, const struct domain_whmcs_ctx *ctx)
{
	struct domain_invoice *inv = row;

	if ((inv->id = lenient_id(o, "id")) <= 0)
		return -1;
	invoice_common(o, ctx, inv);
	return 0;
}

int domain_invoice_list_from_whmcs(struct json_object *reply, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice_list *out, struct pt_err *err)
{
	void *v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rows_from(reply, "invoices", "invoice", invoice_row_from, ctx, sizeof(*out->v), &v,
		&out->n, &out->total, err);
	out->v = v;
	return rc;
}

void domain_invoice_clear(struct domain_invoice *inv)
{
	if (!inv)
		return;
	free(inv->items);
	inv->items = NULL;
	inv->n_items = 0;
}

void domain_invoice_list_clear(struct domain_invoice_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		domain_invoice_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct json_object *invoice_item_json(const struct domain_invoice_item *it,
	const char *currency)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_int(o, "id", it->id);
	add_str_or_null(o, "type", it->type);
	add_str_or_null(o, "description", it->description);
	domain_json_add_money(o, "amount", it->amount[0] ? it->amount : NULL, currency);
	if (it->service_id > 0)
		add_int(o, "subscription_id", it->service_id);
	else
		json_object_object_add(o, "subscription_id", NULL);
	add_bool(o, "taxed", it->taxed);
	return o;
}

struct json_object *domain_invoice_json(const struct domain_invoice *inv, int with_items)
{
	struct json_object *o = json_object_new_object(), *items;
	size_t i;
	const char *cur = inv->currency;

	if (!o)
		return NULL;
	add_int(o, "id", inv->id);
	add_str_or_null(o, "number", inv->number);
	add_str_or_null(o, "status", inv->status);
	domain_json_add_money(o, "total", inv->total[0] ? inv->total : NULL, cur);
	domain_json_add_money(o, "subtotal", inv->subtotal[0] ? inv->subtotal : NULL, cur);
	domain_json_add_money(o, "tax", inv->tax[0] ? inv->tax : NULL, cur);
	domain_json_add_money(o, "credit", inv->credit[0] ? inv->credit : NULL, cur);
	if (inv->balance[0])
		domain_json_add_money(o, "balance", inv->balance, cur);
	add_str_or_null(o, "issued_date", inv->issued_date);
	add_str_or_null(o, "due_date", inv->due_date);
	add_str_or_null(o, "paid_date", inv->paid_date);
	add_str_or_null(o, "payment_method", inv->payment_method);
	if (!with_items)
		return o;
	items = json_object_new_array();
	for (i = 0; items && i < inv->n_items; i++)
		json_object_array_add(items, invoice_item_json(&inv->items[i], cur));
	json_object_object_add(o, "items", items);
	return o;
}

static struct json_object *invoice_row_json(const void *row)
{
	return domain_invoice_json(row, 0);
}

struct json_object *domain_invoice_list_json(const struct domain_invoice_list *l)
{
	return domain_json_array(l->v, l->n, sizeof(*l->v), invoice_row_json);
}

/* --- payment methods --------------------------------------------------- */

/* "02/25", "2025-02", "0225" → "02/25"; anything else → "". */
static void norm_expiry(const char *in, char *out, size_t size)
{
	int mm = -1, yy = -1;
	char rest;

	out[0] = '\0';
	if (sscanf(in, "%2d/%2d%c", &mm, &yy, &rest) == 2 && strlen(in) == 5)
		;
	else if (sscanf(in, "%4d-%2d%c", &yy, &mm, &rest) == 2 && strlen(in) == 7)
		yy %= 100;
	else if (strlen(in) == 4 && strspn(in, "0123456789") == 4)
		mm = (in[0] - '0') * 10 + (in[1] - '0'), yy = (in[2] - '0') * 10 + (in[3] - '0');
	else
		return;
	if (mm < 1 || mm > 12 || yy < 0 || yy > 99)
		return;
	snprintf(out, size, "%02d/%02d", mm, yy);
}

static int paymethod_from(struct json_object *o, void *row, const struct domain_whmcs_ctx *ctx)
{
	struct domain_paymethod *pm = row;
	char type[32], raw[32];

	(void)ctx;

	pm->id = lenient_id(o, "id");
	if (pm->id <= 0)
		return -1;
	domain_copy_field(type, sizeof(type), o, "type");
	if (!strcmp(type, "CreditCard") || !strcmp(type, "RemoteCreditCard") ||
	    !strcmp(type, "PayToken"))
		str_lcpy(pm->type, "card", sizeof(pm->type));
	else if (!strcmp(type, "BankAccount") || !strcmp(type, "RemoteBankAccount"))
		str_lcpy(pm->type, "bank_account", sizeof(pm->type));
	else
		return -1;
	domain_copy_field(pm->description, sizeof(pm->description), o, "description");
	domain_copy_field(pm->gateway, sizeof(pm->gateway), o, "gateway_name");
	if (!strcmp(pm->type, "card")) {
		/* Only the last four digits ever leave WHMCS's reply. */
		domain_copy_field(raw, sizeof(raw), o, "card_last_four");
		if (strlen(raw) == 4 && strspn(raw, "0123456789") == 4)
			str_lcpy(pm->last_four, raw, sizeof(pm->last_four));
		domain_copy_field(raw, sizeof(raw), o, "expiry_date");
		norm_expiry(raw, pm->expiry, sizeof(pm->expiry));
	}
	return 0;
}

int domain_paymethods_from_whmcs(struct json_object *reply, struct domain_paymethod_list *out,
	struct pt_err *err)
{
	void *v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rows_from(reply, "paymethods", "paymethod", paymethod_from, NULL, sizeof(*out->v), &v,
		&out->n, NULL, err);
	out->v = v;
	return rc;
}

void domain_paymethod_list_clear(struct domain_paymethod_list *l)
{
	if (!l)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct json_object *domain_paymethod_json(const struct domain_paymethod *pm)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_int(o, "id", pm->id);
	add_str_or_null(o, "type", pm->type);
	add_str_or_null(o, "description", pm->description);
	add_str_or_null(o, "last_four", pm->last_four);
	add_str_or_null(o, "expiry", pm->expiry);
	return o;
}

static struct json_object *paymethod_row_json(const void *row)
{
	return domain_paymethod_json(row);
}

struct json_object *domain_paymethod_list_json(const struct domain_paymethod_list *l)
{
	return domain_json_array(l->v, l->n, sizeof(*l->v), paymethod_row_json);
}

/* --- gateways ---------------------------------------------------------- */

static int gateway_from(struct json_object *o, void *row, const struct domain_whmcs_ctx *ctx)
{
	struct domain_gateway *g = row;

	(void)ctx;
	domain_copy_field(g->module, sizeof(g->module), o, "module");
	domain_copy_field(g->name, sizeof(g->name), o, "displayname");
	return g->module[0] ? 0 : -1;
}

int domain_gateways_from_whmcs(struct json_object *reply, struct domain_gateway_list *out,
	struct pt_err *err)
{
	void *v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rows_from(reply, "paymentmethods", "paymentmethod", gateway_from, NULL,
		sizeof(*out->v), &v, &out->n, NULL, err);
	out->v = v;
	return rc;
}

void domain_gateway_list_clear(struct domain_gateway_list *l)
{
	if (!l)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct json_object *gateway_row_json(const void *row)
{
	const struct domain_gateway *g = row;
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_str_or_null(o, "id", g->module);
	add_str_or_null(o, "name", g->name[0] ? g->name : g->module);
	return o;
}

struct json_object *domain_gateway_list_json(const struct domain_gateway_list *l)
{
	return domain_json_array(l->v, l->n, sizeof(*l->v), gateway_row_json);
}

int domain_gateway_list_has(const struct domain_gateway_list *l, const char *module)
{
	size_t i;

	for (i = 0; module && i < l->n; i++)
		if (!strcmp(l->v[i].module, module))
			return 1;
	return 0;
}

/* --- subscriptions ----------------------------------------------------- */

static int valid_msisdn(const char *s)
{
	return strlen(s) == 11 && s[0] == '0' && strspn(s, "0123456789") == 11;
}

static void subscription_customfields(struct json_object *o, struct domain_subscription *s)
{
	struct json_object *a = domain_whmcs_list(o, "customfields", "customfield");
	size_t i, n = a ? json_object_array_length(a) : 0;
	char name[32], value[40];

	for (i = 0; i < n; i++) {
		struct json_object *f = json_object_array_get_idx(a, i);
		domain_copy_field(name, sizeof(name), f, "name");
		domain_copy_field(value, sizeof(value), f, "value");
		if (!strcmp(name, "MSISDN"))
			s->msisdn_field_id = lenient_id(f, "id");
		else if (!strcmp(name, "SIM_TYPE"))
			s->sim_type_field_id = lenient_id(f, "id");
		if (!strcmp(name, "MSISDN")) {
			char digits[16];
			size_t k = 0;
			const char *p;
			for (p = value; *p && k + 1 < sizeof(digits); p++)
				if (*p != '-')
					digits[k++] = *p;
			digits[k] = '\0';
			if (valid_msisdn(digits))
				str_lcpy(s->msisdn, digits, sizeof(s->msisdn));
		} else if (!strcmp(name, "SIM_TYPE")) {
			if (!strcmp(value, "physical") || !strcmp(value, "esim"))
				str_lcpy(s->sim_type, value, sizeof(s->sim_type));
		}
	}
	s->is_sim = s->msisdn[0] != '\0';
	if (!s->is_sim)
		s->sim_type[0] = '\0';
}

static void subscription_from(struct json_object *o, const struct domain_whmcs_ctx *ctx,
	struct domain_subscription *s)
{
	char raw[32];
	const char *disp;

	s->product_id = lenient_id(o, "pid");
	s->order_id = lenient_id(o, "orderid");
	domain_copy_field(s->product, sizeof(s->product), o, "name");
	domain_copy_field(s->group, sizeof(s->group), o, "groupname");
	domain_copy_field(s->status, sizeof(s->status), o, "status");
	domain_whmcs_date(s->reg_date, sizeof(s->reg_date), o, "regdate");
	domain_whmcs_date(s->next_due_date, sizeof(s->next_due_date), o, "nextduedate");
	domain_whmcs_money(s->amount, sizeof(s->amount), o, "recurringamount");
	domain_whmcs_money(s->first_amount, sizeof(s->first_amount), o, "firstpaymentamount");
	str_lcpy(s->currency, (ctx && ctx->currency && *ctx->currency) ? ctx->currency :
		DOMAIN_CURRENCY_DEFAULT, sizeof(s->currency));
	domain_copy_field(raw, sizeof(raw), o, "billingcycle");
	disp = domain_billing_cycle_display(raw);
	str_lcpy(s->billing_cycle, disp ? disp : "", sizeof(s->billing_cycle));
	subscription_customfields(o, s);
}

static int subscription_row_from(struct json_object *o, void *row,
	const struct domain_whmcs_ctx *ctx)
{
	struct domain_subscription *s = row;

	if ((s->id = lenient_id(o, "id")) <= 0)
		return -1;
	subscription_from(o, ctx, s);
	return 0;
}

int domain_subscriptions_from_whmcs(struct json_object *reply, const struct domain_whmcs_ctx *ctx,
	struct domain_subscription_list *out, struct pt_err *err)
{
	void *v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rows_from(reply, "products", "product", subscription_row_from, ctx, sizeof(*out->v),
		&v, &out->n, &out->total, err);
	out->v = v;
	return rc;
}

void domain_subscription_list_clear(struct domain_subscription_list *l)
{
	if (!l)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct json_object *domain_subscription_json(const struct domain_subscription *s)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_int(o, "id", s->id);
	add_str_or_null(o, "product", s->product);
	add_str_or_null(o, "group", s->group);
	add_str_or_null(o, "status", s->status);
	add_str_or_null(o, "registered_date", s->reg_date);
	add_str_or_null(o, "next_due_date", s->next_due_date);
	domain_json_add_money(o, "amount", s->amount[0] ? s->amount : NULL, s->currency);
	add_str_or_null(o, "billing_cycle", s->billing_cycle);
	add_bool(o, "is_sim", s->is_sim);
	if (s->is_sim) {
		add_str_or_null(o, "msisdn", s->msisdn);
		add_str_or_null(o, "sim_type", s->sim_type);
	}
	return o;
}

static struct json_object *subscription_row_json(const void *row)
{
	return domain_subscription_json(row);
}

struct json_object *domain_subscription_list_json(const struct domain_subscription_list *l)
{
	return domain_json_array(l->v, l->n, sizeof(*l->v), subscription_row_json);
}

const struct domain_subscription *domain_subscription_find(const struct domain_subscription_list *l,
	long id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

/* --- orders and currencies -------------------------------------------- */

static int whmcs_order_from(struct json_object *o, void *row, const struct domain_whmcs_ctx *ctx)
{
	struct domain_whmcs_order *d = row;
	char raw[32];

	(void)ctx;
	if ((d->id = lenient_id(o, "id")) <= 0)
		return -1;
	domain_copy_field(d->number, sizeof(d->number), o, "ordernum");
	d->client_id = lenient_id(o, "userid");
	d->invoice_id = lenient_id(o, "invoiceid");
	domain_copy_field(d->status, sizeof(d->status), o, "status");
	domain_whmcs_money(d->amount, sizeof(d->amount), o, "amount");
	domain_copy_field(raw, sizeof(raw), o, "date");
	if (domain_time_rfc3339(raw, d->date, sizeof(d->date)) != 0)
		d->date[0] = '\0';
	domain_copy_field(d->notes, sizeof(d->notes), o, "notes");
	return 0;
}

int domain_whmcs_orders_from_whmcs(struct json_object *reply, struct domain_whmcs_order_list *out,
	struct pt_err *err)
{
	void *v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rows_from(reply, "orders", "order", whmcs_order_from, NULL, sizeof(*out->v), &v,
		&out->n, &out->total, err);
	out->v = v;
	return rc;
}

void domain_whmcs_order_list_clear(struct domain_whmcs_order_list *l)
{
	if (!l)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int currency_from(struct json_object *o, void *row, const struct domain_whmcs_ctx *ctx)
{
	struct domain_currency *c = row;

	(void)ctx;
	c->id = lenient_id(o, "id");
	domain_copy_field(c->code, sizeof(c->code), o, "code");
	domain_copy_field(c->prefix, sizeof(c->prefix), o, "prefix");
	domain_copy_field(c->suffix, sizeof(c->suffix), o, "suffix");
	return c->code[0] ? 0 : -1;
}

int domain_currencies_from_whmcs(struct json_object *reply, struct domain_currency_list *out,
	struct pt_err *err)
{
	void *v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rows_from(reply, "currencies", "currency", currency_from, NULL, sizeof(*out->v), &v,
		&out->n, NULL, err);
	out->v = v;
	return rc;
}

void domain_currency_list_clear(struct domain_currency_list *l)
{
	if (!l)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}
