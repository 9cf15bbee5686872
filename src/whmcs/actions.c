/* whmcs/actions — see actions.h. */
#include "whmcs/actions.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* --- PHP serialise ----------------------------------------------------- */

/* Canonical PHP integer text: PHP would read it back as the same int. */
static int canonical_int(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (!*p || strlen(p) > 18 || strspn(p, "0123456789") != strlen(p))
		return 0;
	if (p[0] == '0' && p[1])
		return 0;
	return !(s[0] == '-' && !strcmp(p, "0"));
}

int whmcs_php_serialize_b64(const struct whmcs_kv *kv, size_t n, struct buf *out)
{
	struct buf ser;
	unsigned char *b64 = NULL;
	size_t i;
	int rc = -1, len;

	buf_init(&ser, 64 * 1024);
	if (buf_printf(&ser, "a:%zu:{", n) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		const char *v = kv[i].value ? kv[i].value : "";
		if (buf_printf(&ser, "i:%ld;", kv[i].key) != 0)
			goto out;
		if (canonical_int(v) ? buf_printf(&ser, "i:%s;", v) :
		    buf_printf(&ser, "s:%zu:\"%s\";", strlen(v), v))
			goto out;
	}
	if (buf_putc(&ser, '}') != 0)
		goto out;
	b64 = malloc(4 * ((ser.len + 2) / 3) + 1);
	if (!b64)
		goto out;
	len = EVP_EncodeBlock(b64, (const unsigned char *)ser.data, (int)ser.len);
	if (len < 0 || buf_append(out, b64, (size_t)len) != 0)
		goto out;
	rc = 0;
out:
	free(b64);
	buf_free(&ser);
	return rc;
}

/* --- parameter lists ---------------------------------------------------- */

#define PMAX 96

struct plist {
	struct whmcs_param p[PMAX];
	char *owned[2 * PMAX];
	size_t n, n_owned;
	int bad;
};

static char *own(struct plist *l, char *s)
{
	if (!s || l->n_owned >= 2 * PMAX) {
		free(s);
		l->bad = 1;
		return NULL;
	}
	l->owned[l->n_owned++] = s;
	return s;
}

static void p_add(struct plist *l, const char *k, const char *v, int secret)
{
	if (!k || !v || l->bad)
		return;
	if (l->n >= PMAX) {
		l->bad = 1;
		return;
	}
	l->p[l->n].key = k;
	l->p[l->n].value = v;
	l->p[l->n].secret = secret;
	l->n++;
}

static void p_str(struct plist *l, const char *k, const char *v)
{
	p_add(l, k, v, 0);
}

static char *num(struct plist *l, long v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%ld", v);
	return own(l, strdup(tmp));
}

static void p_long(struct plist *l, const char *k, long v)
{
	p_add(l, k, num(l, v), 0);
}

/* "pid[3]"-style key. */
static const char *idx_key(struct plist *l, const char *name, size_t i)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%s[%zu]", name, i);
	return own(l, strdup(tmp));
}

static void p_serialized(struct plist *l, const char *k, const struct whmcs_kv *kv, size_t n)
{
	struct buf b;

	buf_init(&b, 128 * 1024);
	if (whmcs_php_serialize_b64(kv, n, &b) != 0) {
		buf_free(&b);
		l->bad = 1;
		return;
	}
	p_add(l, k, own(l, buf_steal(&b)), 0);
}

static void plist_free(struct plist *l)
{
	size_t i;

	for (i = 0; i < l->n_owned; i++)
		free(l->owned[i]);
	l->n_owned = 0;
}

/* Runs the call and frees the list; *reply owned by the caller on success. */
static int run(struct whmcs_client *c, const char *action, struct plist *l,
	struct json_object **reply, struct pt_err *err)
{
	int rc;

	*reply = NULL;
	if (l->bad) {
		plist_free(l);
		return pt_err_set(err, PT_INTERNAL, "whmcs %s: parameters", action);
	}
	rc = whmcs_call(c, action, l->p, l->n, reply, err);
	plist_free(l);
	return rc;
}

static int run_void(struct whmcs_client *c, const char *action, struct plist *l, struct pt_err *err)
{
	struct json_object *reply = NULL;
	int rc = run(c, action, l, &reply, err);

	json_object_put(reply);
	return rc;
}

/* --- clients ----------------------------------------------------------- */

int whmcs_get_clients(struct whmcs_client *c, const char *search, long limitstart, long limitnum,
	struct domain_client_summary_list *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (search && *search)
		p_str(&l, "search", search);
	p_long(&l, "limitstart", limitstart > 0 ? limitstart : 0);
	p_long(&l, "limitnum", limitnum > 0 ? limitnum : 25);
	if (run(c, "GetClients", &l, &r, err) != 0)
		return -1;
	rc = domain_clients_from_whmcs(r, out, err);
	json_object_put(r);
	return rc;
}

int whmcs_get_client_details(struct whmcs_client *c, long client_id, const char *email,
	long customer_field_id, struct domain_profile *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (client_id > 0)
		p_long(&l, "clientid", client_id);
	else if (email && *email)
		p_str(&l, "email", email);
	else
		return pt_err_set(err, PT_INTERNAL, "GetClientsDetails: no client id or email");
	if (run(c, "GetClientsDetails", &l, &r, err) != 0)
		return -1;
	rc = domain_profile_from_whmcs(r, customer_field_id, out, err);
	json_object_put(r);
	return rc;
}

static void address_params(struct plist *l, const struct domain_address *a)
{
	if (!a)
		return;
	p_str(l, "address1", a->street);
	p_str(l, "address2", a->building);
	p_str(l, "city", a->city);
	p_str(l, "state", a->prefecture);
	p_str(l, "postcode", a->postcode);
	p_str(l, "country", a->country[0] ? a->country : "JP");
}

int whmcs_add_client(struct whmcs_client *c, const struct whmcs_new_client *nc, long *client_id,
	struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	if (!nc || !nc->address || !nc->password)
		return pt_err_set(err, PT_INTERNAL, "AddClient: missing fields");
	p_str(&l, "firstname", nc->first_name);
	p_str(&l, "lastname", nc->last_name);
	p_str(&l, "email", nc->email);
	p_str(&l, "phonenumber", nc->phone);
	address_params(&l, nc->address);
	p_add(&l, "password2", nc->password, 1);
	if (nc->customer_field_id > 0 && nc->customer_number) {
		struct whmcs_kv kv = { nc->customer_field_id, nc->customer_number };
		p_serialized(&l, "customfields", &kv, 1);
	}
	if (nc->client_ip && *nc->client_ip)
		p_str(&l, "clientip", nc->client_ip);
	p_str(&l, "noemail", "true");
	if (run(c, "AddClient", &l, &r, err) != 0)
		return -1;
	rc = domain_whmcs_id_from(r, "clientid", client_id, err);
	json_object_put(r);
	return rc;
}

int whmcs_update_client(struct whmcs_client *c, long client_id, const struct whmcs_client_update *u,
	struct pt_err *err)
{
	struct plist l = { 0 };

	p_long(&l, "clientid", client_id);
	p_str(&l, "firstname", u->first_name);
	p_str(&l, "lastname", u->last_name);
	p_str(&l, "email", u->email);
	p_str(&l, "phonenumber", u->phone);
	address_params(&l, u->address);
	return run_void(c, "UpdateClient", &l, err);
}

int whmcs_validate_login(struct whmcs_client *c, const char *email, const char *password,
	struct domain_whmcs_login *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	p_str(&l, "email", email);
	p_add(&l, "password2", password, 1);
	if (run(c, "ValidateLogin", &l, &r, err) != 0)
		return -1;
	rc = domain_whmcs_login_from(r, out, err);
	json_object_put(r);
	return rc;
}

/* --- billing ----------------------------------------------------------- */

int whmcs_get_invoices(struct whmcs_client *c, long client_id, const char *status,
	long limitstart, long limitnum, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice_list *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	p_long(&l, "userid", client_id);
	if (status && *status)
		p_str(&l, "status", status);
	p_long(&l, "limitstart", limitstart > 0 ? limitstart : 0);
	p_long(&l, "limitnum", limitnum > 0 ? limitnum : 25);
	p_str(&l, "orderby", "date");
	p_str(&l, "order", "desc");
	if (run(c, "GetInvoices", &l, &r, err) != 0)
		return -1;
	rc = domain_invoice_list_from_whmcs(r, ctx, out, err);
	json_object_put(r);
	return rc;
}

int whmcs_get_invoice(struct whmcs_client *c, long invoice_id, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	p_long(&l, "invoiceid", invoice_id);
	if (run(c, "GetInvoice", &l, &r, err) != 0)
		return -1;
	rc = domain_invoice_from_whmcs(r, ctx, out, err);
	json_object_put(r);
	return rc;
}

int whmcs_get_paymethods(struct whmcs_client *c, long client_id,
	struct domain_paymethod_list *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	p_long(&l, "clientid", client_id);
	if (run(c, "GetPayMethods", &l, &r, err) != 0)
		return -1;
	rc = domain_paymethods_from_whmcs(r, out, err);
	json_object_put(r);
	return rc;
}

int whmcs_get_gateways(struct whmcs_client *c, struct domain_gateway_list *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (run(c, "GetPaymentMethods", &l, &r, err) != 0)
		return -1;
	rc = domain_gateways_from_whmcs(r, out, err);
	json_object_put(r);
	return rc;
}

int whmcs_get_services(struct whmcs_client *c, long client_id, long service_id,
	const struct domain_whmcs_ctx *ctx, struct domain_subscription_list *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	p_long(&l, "clientid", client_id);
	if (service_id > 0)
		p_long(&l, "serviceid", service_id);
	if (run(c, "GetClientsProducts", &l, &r, err) != 0)
		return -1;
	rc = domain_subscriptions_from_whmcs(r, ctx, out, err);
	json_object_put(r);
	return rc;
}

int whmcs_get_currencies(struct whmcs_client *c, struct domain_currency_list *out,
	struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (run(c, "GetCurrencies", &l, &r, err) != 0)
		return -1;
	rc = domain_currencies_from_whmcs(r, out, err);
	json_object_put(r);
	return rc;
}

/* --- orders ------------------------------------------------------------ */

static int valid_sf_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return (n == 15 || n == 18) && strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

int whmcs_add_order(struct whmcs_client *c, const struct whmcs_new_order *o,
	struct domain_whmcs_order_result *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	char notes[64];
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!o || !o->n_lines || !o->payment_method || !*o->payment_method ||
	    !valid_sf_id(o->sf_order_id))
		return pt_err_set(err, PT_INTERNAL, "AddOrder: missing lines, gateway or order id");
	p_long(&l, "clientid", o->client_id);
	p_str(&l, "paymentmethod", o->payment_method);
	for (i = 0; i < o->n_lines; i++) {
		const struct whmcs_order_line *ln = &o->lines[i];
		if (!domain_billing_cycle_display(ln->billing_cycle))
			return plist_free(&l), pt_err_set(err, PT_INTERNAL,
				"AddOrder: unknown billing cycle");
		p_add(&l, idx_key(&l, "pid", i), num(&l, ln->pid), 0);
		/* System names only (resolutions §7): the simulator rejects display names. */
		p_add(&l, idx_key(&l, "billingcycle", i),
			domain_billing_cycle_system(ln->billing_cycle), 0);
		p_add(&l, idx_key(&l, "qty", i), num(&l, ln->qty > 0 ? ln->qty : 1), 0);
		if (ln->n_customfields)
			p_serialized(&l, idx_key(&l, "customfields", i), ln->customfields,
				ln->n_customfields);
		if (ln->n_configoptions)
			p_serialized(&l, idx_key(&l, "configoptions", i), ln->configoptions,
				ln->n_configoptions);
	}
	snprintf(notes, sizeof(notes), "sf_order=%s", o->sf_order_id);
	p_str(&l, "notes", notes);
	p_str(&l, "noemail", "true");
	if (run(c, "AddOrder", &l, &r, err) != 0)
		return -1;
	rc = domain_whmcs_order_result_from(r, out, err);
	json_object_put(r);
	return rc;
}

int whmcs_accept_order(struct whmcs_client *c, long order_id, struct pt_err *err)
{
	struct plist l = { 0 };

	p_long(&l, "orderid", order_id);
	p_str(&l, "autosetup", "false");
	p_str(&l, "sendemail", "false");
	return run_void(c, "AcceptOrder", &l, err);
}

int whmcs_get_orders(struct whmcs_client *c, long client_id, long limitstart, long limitnum,
	struct domain_whmcs_order_list *out, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (client_id > 0)
		p_long(&l, "userid", client_id);
	p_long(&l, "limitstart", limitstart > 0 ? limitstart : 0);
	p_long(&l, "limitnum", limitnum > 0 ? limitnum : 25);
	if (run(c, "GetOrders", &l, &r, err) != 0)
		return -1;
	rc = domain_whmcs_orders_from_whmcs(r, out, err);
	json_object_put(r);
	return rc;
}

int whmcs_find_order_by_sf_order(struct whmcs_client *c, long client_id, const char *sf_order_id,
	struct domain_whmcs_order *out, int *found, struct pt_err *err)
{
	struct domain_whmcs_order_list page;
	char want[64];
	long start = 0;
	size_t i;
	int pages;

	*found = 0;
	if (!valid_sf_id(sf_order_id))
		return pt_err_set(err, PT_INTERNAL, "find order: invalid Salesforce id");
	snprintf(want, sizeof(want), "sf_order=%s", sf_order_id);
	/* Newest first: a just-created order is on the first page. */
	for (pages = 0; pages < 40; pages++) {
		if (whmcs_get_orders(c, client_id, start, 100, &page, err) != 0)
			return -1;
		for (i = 0; i < page.n && !*found; i++) {
			if (strstr(page.v[i].notes, want)) {
				*out = page.v[i];
				*found = 1;
			}
		}
		start += (long)page.n;
		if (*found || page.n == 0 || start >= page.total) {
			domain_whmcs_order_list_clear(&page);
			break;
		}
		domain_whmcs_order_list_clear(&page);
	}
	return 0;
}

int whmcs_add_billable_item(struct whmcs_client *c, long client_id, const char *description,
	const char *amount, const char *invoice_action, long *billable_id, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	char amt[DOMAIN_DECIMAL_MAX];
	int rc;

	if (err)
		err->not_applied = 1;   /* until whmcs_call says otherwise */
	if (!amount || domain_decimal_norm(amount, 2, amt, sizeof(amt)) != 0)
		return pt_err_set(err, PT_INTERNAL, "AddBillableItem: bad amount");
	p_long(&l, "clientid", client_id);
	p_str(&l, "description", description);
	p_str(&l, "amount", amt);
	p_str(&l, "invoiceaction", invoice_action ? invoice_action : "nextinvoice");
	if (run(c, "AddBillableItem", &l, &r, err) != 0)
		return -1;
	/* A success without a valid billableid: the item may well exist
	 * (not_applied stays 0 from whmcs_call). */
	rc = domain_whmcs_id_from(r, "billableid", billable_id, err);
	json_object_put(r);
	return rc;
}

int whmcs_create_sso_token(struct whmcs_client *c, long client_id, const char *destination,
	const char *redirect_path, long service_id, char *url, size_t url_size, struct pt_err *err)
{
	struct plist l = { 0 };
	struct json_object *r;
	int rc;

	p_long(&l, "client_id", client_id);
	p_str(&l, "destination", destination ? destination : "clientarea:homepage");
	if (redirect_path && *redirect_path)
		p_str(&l, "sso_redirect_path", redirect_path);
	if (service_id > 0)
		p_long(&l, "service_id", service_id);
	if (run(c, "CreateSsoToken", &l, &r, err) != 0)
		return -1;
	rc = domain_whmcs_sso_url_from(r, url, url_size, err);
	json_object_put(r);
	return rc;
}

int whmcs_update_client_product(struct whmcs_client *c, const struct whmcs_service_update *u,
	struct pt_err *err)
{
	struct plist l = { 0 };
	char amt[DOMAIN_DECIMAL_MAX];

	p_long(&l, "serviceid", u->service_id);
	if (u->pid > 0)
		p_long(&l, "pid", u->pid);
	if (u->recurring_amount) {
		if (domain_decimal_norm(u->recurring_amount, 2, amt, sizeof(amt)) != 0)
			return plist_free(&l), pt_err_set(err, PT_INTERNAL,
				"UpdateClientProduct: bad amount");
		p_str(&l, "recurringamount", amt);
	}
	if (u->n_customfields)
		p_serialized(&l, "customfields", u->customfields, u->n_customfields);
	return run_void(c, "UpdateClientProduct", &l, err);
}
