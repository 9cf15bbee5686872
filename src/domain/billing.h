/* domain/billing — WHMCS billing data as the portal knows it: invoices and
 * their items, saved payment methods, gateways, services (subscriptions),
 * WHMCS orders and currencies. The *_from_whmcs functions are the only
 * place WHMCS reply fields are read; the *_json renderers produce the
 * portal-api.md shapes. Pure: no I/O. WHMCS sends ids and counts as strings
 * or numbers and empty lists as "" / [] / absent — all accepted here. */
#ifndef PT_DOMAIN_BILLING_H
#define PT_DOMAIN_BILLING_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/err.h"
#include "domain/common.h"

/* Context the WHMCS replies do not carry themselves. */
struct domain_whmcs_ctx {
	const char *currency;   /* client's currency code when a reply has none ("JPY") */
	const char *today;      /* "YYYY-MM-DD" (JST) for the derived "Overdue" status */
};

struct domain_invoice_item {
	long id;
	char type[32];                      /* "Hosting", "Item"… */
	long service_id;                    /* relid, 0 if none */
	char description[512];
	char amount[DOMAIN_DECIMAL_MAX];
	int taxed;
};

struct domain_invoice {
	long id;
	char number[64];                    /* invoicenum, or the id when WHMCS has none */
	long client_id;
	char status[24];                    /* WHMCS status; "Overdue" when Unpaid and past due */
	char issued_date[DOMAIN_DATE_MAX];  /* "" when not set */
	char due_date[DOMAIN_DATE_MAX];
	char paid_date[DOMAIN_DATE_MAX];
	char subtotal[DOMAIN_DECIMAL_MAX];
	char tax[DOMAIN_DECIMAL_MAX];
	char credit[DOMAIN_DECIMAL_MAX];
	char total[DOMAIN_DECIMAL_MAX];
	char balance[DOMAIN_DECIMAL_MAX];   /* "" when the reply has none (lists) */
	char currency[8];
	char payment_method[64];            /* gateway system name */
	struct domain_invoice_item *items;
	size_t n_items;
};

struct domain_invoice_list {
	struct domain_invoice *v;
	size_t n;
	long total;                         /* totalresults across pages */
};

/* GetInvoice reply → invoice with items. */
int domain_invoice_from_whmcs(struct json_object *reply, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice *out, struct pt_err *err);
/* GetInvoices reply → list (no items). */
int domain_invoice_list_from_whmcs(struct json_object *reply, const struct domain_whmcs_ctx *ctx,
	struct domain_invoice_list *out, struct pt_err *err);
void domain_invoice_clear(struct domain_invoice *inv);
void domain_invoice_list_clear(struct domain_invoice_list *l);
/* {id, number, status, total{amount,currency}, due_date, issued_date, paid_date,
 *  subtotal, tax, credit, balance, payment_method[, items[]]}. */
struct json_object *domain_invoice_json(const struct domain_invoice *inv, int with_items);
struct json_object *domain_invoice_list_json(const struct domain_invoice_list *l);

/* Saved payment method: type, description, last four, expiry — never more.
 * gateway is kept for AddOrder's paymentmethod but is not rendered. */
struct domain_paymethod {
	long id;
	char type[24];          /* "card" or "bank_account" */
	char description[128];
	char last_four[5];      /* "" for bank accounts */
	char expiry[8];         /* "MM/YY", "" when unknown */
	char gateway[64];
};

struct domain_paymethod_list {
	struct domain_paymethod *v;
	size_t n;
};

int domain_paymethods_from_whmcs(struct json_object *reply, struct domain_paymethod_list *out,
	struct pt_err *err);
void domain_paymethod_list_clear(struct domain_paymethod_list *l);
struct json_object *domain_paymethod_json(const struct domain_paymethod *pm);
struct json_object *domain_paymethod_list_json(const struct domain_paymethod_list *l);

struct domain_gateway {
	char module[64];        /* system name AddOrder expects */
	char name[128];
};

struct domain_gateway_list {
	struct domain_gateway *v;
	size_t n;
};

int domain_gateways_from_whmcs(struct json_object *reply, struct domain_gateway_list *out,
	struct pt_err *err);
void domain_gateway_list_clear(struct domain_gateway_list *l);
struct json_object *domain_gateway_list_json(const struct domain_gateway_list *l);
/* 1 when module is among the active gateways. */
int domain_gateway_list_has(const struct domain_gateway_list *l, const char *module);

/* A WHMCS service (GetClientsProducts product). A SIM service is one whose
 * MSISDN custom field is filled (whmcs.md, portal convention). */
struct domain_subscription {
	long id;
	long product_id;                    /* pid */
	long order_id;
	char product[128];
	char group[64];
	char status[16];
	char reg_date[DOMAIN_DATE_MAX];
	char next_due_date[DOMAIN_DATE_MAX];  /* "" when not set */
	char amount[DOMAIN_DECIMAL_MAX];    /* recurring amount */
	char first_amount[DOMAIN_DECIMAL_MAX];
	char currency[8];
	char billing_cycle[16];             /* display name: "Monthly", "One Time"… */
	int is_sim;
	char msisdn[12];                    /* "" unless is_sim */
	char sim_type[10];                  /* "physical", "esim" or "" */
	/* ids of the product's MSISDN / SIM_TYPE custom fields (0 = the product
	 * has none): provisioning writes them with UpdateClientProduct, found
	 * by name so no id is configured (resolutions §4). */
	long msisdn_field_id;
	long sim_type_field_id;
};

struct domain_subscription_list {
	struct domain_subscription *v;
	size_t n;
	long total;
};

int domain_subscriptions_from_whmcs(struct json_object *reply, const struct domain_whmcs_ctx *ctx,
	struct domain_subscription_list *out, struct pt_err *err);
void domain_subscription_list_clear(struct domain_subscription_list *l);
/* {id, product, status, next_due_date, amount{…}, billing_cycle, is_sim[, msisdn, sim_type]}. */
struct json_object *domain_subscription_json(const struct domain_subscription *s);
struct json_object *domain_subscription_list_json(const struct domain_subscription_list *l);
/* Finds a service by id; NULL if the list has none (another client's id). */
const struct domain_subscription *domain_subscription_find(const struct domain_subscription_list *l,
	long id);

/* GetOrders order, as provisioning needs it (resolutions §5: adopt by notes). */
struct domain_whmcs_order {
	long id;
	char number[32];
	long client_id;
	long invoice_id;
	char status[24];
	char amount[DOMAIN_DECIMAL_MAX];
	char date[DOMAIN_TIME_MAX];
	char notes[256];
};

struct domain_whmcs_order_list {
	struct domain_whmcs_order *v;
	size_t n;
	long total;
};

int domain_whmcs_orders_from_whmcs(struct json_object *reply, struct domain_whmcs_order_list *out,
	struct pt_err *err);
void domain_whmcs_order_list_clear(struct domain_whmcs_order_list *l);

struct domain_currency {
	long id;
	char code[8];
	char prefix[16];
	char suffix[16];
};

struct domain_currency_list {
	struct domain_currency *v;
	size_t n;
};

int domain_currencies_from_whmcs(struct json_object *reply, struct domain_currency_list *out,
	struct pt_err *err);
void domain_currency_list_clear(struct domain_currency_list *l);

/* "Semi-Annually" → "semiannually" (AddOrder system name); NULL if unknown. */
const char *domain_billing_cycle_system(const char *display);
/* "One-Time"/"onetime"/"One Time" → "One Time"; NULL if unknown. */
const char *domain_billing_cycle_display(const char *any);

/* Shared WHMCS helpers for the domain mappers (also used by profile.c). */
/* The list at reply[plural][singular], or reply[plural] when it is already
 * an array; NULL for absent / "" / [] / {} (all "no rows" in WHMCS). */
struct json_object *domain_whmcs_list(struct json_object *reply, const char *plural,
	const char *singular);
/* Copies a string field (or a number's text) truncated on a UTF-8 boundary. */
void domain_copy_field(char *dst, size_t size, struct json_object *obj, const char *key);
/* Copies text truncated on a UTF-8 boundary; invalid UTF-8 or controls → "". */
void domain_copy_text(char *dst, size_t size, const char *src);
/* Lenient boolean: true/false, 0/1, "0"/"1", "true"/"false"; dflt when absent. */
int domain_whmcs_bool(struct json_object *obj, const char *key, int dflt);
/* WHMCS date "YYYY-MM-DD[ hh:mm:ss]" → "YYYY-MM-DD"; "" for 0000-00-00 / invalid. */
void domain_whmcs_date(char *dst, size_t size, struct json_object *obj, const char *key);
/* Money field normalised to 2 decimals, "" when absent/invalid. */
void domain_whmcs_money(char *dst, size_t size, struct json_object *obj, const char *key);

/* Small WHMCS write replies (AddOrder, ValidateLogin, AddClient…). */
struct domain_whmcs_order_result {
	long order_id;
	long invoice_id;            /* 0 when WHMCS created none */
	char service_ids[256];      /* comma-joined, "" when none */
};
int domain_whmcs_order_result_from(struct json_object *reply,
	struct domain_whmcs_order_result *out, struct pt_err *err);

struct domain_whmcs_login {
	long user_id;               /* the WHMCS *user* id, not the client id */
	int two_factor;             /* 2FA on: no password hash came back */
};
int domain_whmcs_login_from(struct json_object *reply, struct domain_whmcs_login *out,
	struct pt_err *err);
/* A positive id at reply[key] ("clientid", "billableid"), string or number. */
int domain_whmcs_id_from(struct json_object *reply, const char *key, long *out,
	struct pt_err *err);
/* CreateSsoToken's redirect_url (http/https only). */
int domain_whmcs_sso_url_from(struct json_object *reply, char *url, size_t size,
	struct pt_err *err);

#endif
