/* whmcs/actions — one typed function per WHMCS action the portal uses
 * (whmcs.md §4 + resolutions §32). Parameters are C values, never raw form
 * fields; results come back as domain types (src/domain) so no WHMCS field
 * is read outside the domain mappers. Writes are sent at most once. */
#ifndef PT_WHMCS_ACTIONS_H
#define PT_WHMCS_ACTIONS_H

#include <stddef.h>
#include "core/buf.h"
#include "core/err.h"
#include "domain/billing.h"
#include "domain/profile.h"
#include "whmcs/client.h"

/* One entry of a PHP array for customfields / configoptions. */
struct whmcs_kv {
	long key;               /* field / config option id */
	const char *value;
};

/* base64(PHP serialize(array(key => value, …))) into out (appended).
 * A value that is a canonical integer is serialised as i:N, anything else as
 * a byte-counted s:LEN:"…" string (so "080…" stays a string). */
int whmcs_php_serialize_b64(const struct whmcs_kv *kv, size_t n, struct buf *out);

int whmcs_get_clients(struct whmcs_client *c, const char *search, long limitstart, long limitnum,
	struct domain_client_summary_list *out, struct pt_err *err);
/* By id (email NULL) or by email (client_id 0). */
int whmcs_get_client_details(struct whmcs_client *c, long client_id, const char *email,
	long customer_field_id, struct domain_profile *out, struct pt_err *err);

struct whmcs_new_client {
	const char *first_name, *last_name, *email, *phone;
	const struct domain_address *address;   /* country "" → JP */
	const char *password;                   /* random, never logged */
	long customer_field_id;                 /* 0 = no custom field */
	const char *customer_number;
	const char *client_ip;                  /* optional */
};
int whmcs_add_client(struct whmcs_client *c, const struct whmcs_new_client *nc, long *client_id,
	struct pt_err *err);

/* NULL members are left unchanged. */
struct whmcs_client_update {
	const char *first_name, *last_name, *email, *phone;
	const struct domain_address *address;
};
int whmcs_update_client(struct whmcs_client *c, long client_id, const struct whmcs_client_update *u,
	struct pt_err *err);

int whmcs_validate_login(struct whmcs_client *c, const char *email, const char *password,
	struct domain_whmcs_login *out, struct pt_err *err);

/* status NULL = all; "Overdue" is WHMCS's pseudo status. */
int whmcs_get_invoices(struct whmcs_client *c, long client_id, const char *status,
	long limitstart, long limitnum, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice_list *out, struct pt_err *err);
/* The caller checks out->client_id against the session's client. */
int whmcs_get_invoice(struct whmcs_client *c, long invoice_id, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice *out, struct pt_err *err);
int whmcs_get_paymethods(struct whmcs_client *c, long client_id,
	struct domain_paymethod_list *out, struct pt_err *err);
/* GetPaymentMethods: the active gateways. */
int whmcs_get_gateways(struct whmcs_client *c, struct domain_gateway_list *out, struct pt_err *err);
/* service_id 0 = every service of the client. */
int whmcs_get_services(struct whmcs_client *c, long client_id, long service_id,
	const struct domain_whmcs_ctx *ctx, struct domain_subscription_list *out, struct pt_err *err);

struct whmcs_order_line {
	long pid;
	const char *billing_cycle;             /* system name: "monthly", "onetime"… */
	long qty;                              /* 0 → 1 */
	const struct whmcs_kv *customfields;
	size_t n_customfields;
	const struct whmcs_kv *configoptions;
	size_t n_configoptions;
};

struct whmcs_new_order {
	long client_id;
	const char *payment_method;            /* gateway system name */
	const char *sf_order_id;               /* goes into notes "sf_order=<id>" */
	const struct whmcs_order_line *lines;
	size_t n_lines;
};
/* Never retried (whmcs.md: no idempotency key; see resolutions §5). */
int whmcs_add_order(struct whmcs_client *c, const struct whmcs_new_order *o,
	struct domain_whmcs_order_result *out, struct pt_err *err);
/* autosetup=false, sendemail=false (resolutions §6). Never retried. */
int whmcs_accept_order(struct whmcs_client *c, long order_id, struct pt_err *err);
int whmcs_get_orders(struct whmcs_client *c, long client_id, long limitstart, long limitnum,
	struct domain_whmcs_order_list *out, struct pt_err *err);
/* Pages through the client's orders for notes "sf_order=<id>" (resolutions
 * §5); *found 0/1, out filled when found. */
int whmcs_find_order_by_sf_order(struct whmcs_client *c, long client_id, const char *sf_order_id,
	struct domain_whmcs_order *out, int *found, struct pt_err *err);

/* amount: decimal string; invoice_action NULL → "nextinvoice". Never retried.
 * On failure err->not_applied = 1 only when no item was made for certain
 * (whmcs/client.h); 0 = the item may exist (look for the description). */
int whmcs_add_billable_item(struct whmcs_client *c, long client_id, const char *description,
	const char *amount, const char *invoice_action, long *billable_id, struct pt_err *err);

/* destination e.g. "clientarea:billing_info" or "sso:custom_redirect" with
 * redirect_path "viewinvoice.php?id=123"; service_id 0 = none. */
int whmcs_create_sso_token(struct whmcs_client *c, long client_id, const char *destination,
	const char *redirect_path, long service_id, char *url, size_t url_size, struct pt_err *err);

int whmcs_get_currencies(struct whmcs_client *c, struct domain_currency_list *out,
	struct pt_err *err);

struct whmcs_service_update {
	long service_id;
	long pid;                              /* 0 = unchanged */
	const char *recurring_amount;          /* NULL = unchanged */
	const struct whmcs_kv *customfields;
	size_t n_customfields;
};
int whmcs_update_client_product(struct whmcs_client *c, const struct whmcs_service_update *u,
	struct pt_err *err);

#endif
