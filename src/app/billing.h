/* app/billing — the customer's WHMCS billing data (portal-api.md "Billing",
 * seed 002 TTLs, resolutions §30 keys): invoices, payment methods, gateways,
 * subscriptions (WHMCS services) and the billing profile, read through the
 * Redis cache and written back with UpdateClient. The WHMCS client id always
 * comes from the session (the caller passes it); every cached value carries
 * the client it belongs to and is checked against it when read. */
#ifndef PT_APP_BILLING_H
#define PT_APP_BILLING_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/err.h"
#include "domain/profile.h"

struct redis;
struct whmcs_client;

#define BILLING_PAGE_LIMIT_DEFAULT 20
#define BILLING_PAGE_LIMIT_MAX 100
/* GetInvoices is paged through up to this many invoices per client. */
#define BILLING_INVOICES_MAX 1000
/* A cached value is fresh for its TTL, then kept this long more so that a
 * WHMCS outage can still be answered from it (marked "stale"). */
#define BILLING_STALE_KEEP_S 86400
/* Retry-After when WHMCS is down and nothing cached can answer. */
#define BILLING_RETRY_AFTER_S 30
/* CreateSsoToken tokens live 60 s (whmcs.md). */
#define BILLING_SSO_TTL_S 60

struct billing_ttls {
	long invoices, invoice, services, paymethods, gateways, profile;
};

/* Everything borrowed; redis NULL = no cache (live reads). */
struct billing_deps {
	struct whmcs_client *whmcs;
	struct redis *redis;
	struct billing_ttls ttl;
	long customer_field_id;
};

/* ---- pure parts (unit tested) ----------------------------------------------- */

struct billing_page {
	long page;              /* 1.. */
	long limit;             /* 1..BILLING_PAGE_LIMIT_MAX */
	char status[24];        /* canonical invoice status, "" = all */
};

/* ?page=&limit=&status= (each may be NULL = default). -1 +
 * PT_VALIDATION_FAILED naming the field. status is one of WHMCS's invoice
 * statuses or "Overdue", case-insensitively. */
int billing_page_parse(const char *page, const char *limit, const char *status,
	struct billing_page *out, struct pt_err *err);

/* A decimal id of 1..18 digits, no sign or leading zero; 0 / -1. */
int billing_id_parse(const char *s, long *out);

/* PATCH /api/account/profile: every member optional, at least one given.
 * Set fields are validated and normalised (email lower-cased, prefecture
 * canonical). Unknown keys are refused so a typo does not pass silently. */
struct billing_profile_patch {
	const char *first_name, *last_name, *email, *phone;
	const char *postcode, *prefecture, *city, *street, *building;
	char email_norm[256];
	char prefecture_norm[32];
};
/* Parses body into out; out's strings point into *doc (caller puts it). */
int billing_profile_patch_parse(const char *body, size_t len, struct json_object **doc,
	struct billing_profile_patch *out, struct pt_err *err);
/* Overlays the set members of patch on p. */
void billing_profile_patch_apply(const struct billing_profile_patch *patch,
	struct domain_profile *p);

/* ---- use cases -------------------------------------------------------------- */

/* Each returns 0 with *out new (and *stale 1 when served from an expired
 * cache entry because WHMCS is down), or -1 + err (NOT_FOUND,
 * UPSTREAM_UNAVAILABLE with retry_after…). */
int billing_invoices(const struct billing_deps *d, long client_id, const struct billing_page *pg,
	struct json_object **items, long *total, int *stale, struct pt_err *err);
int billing_invoice(const struct billing_deps *d, long client_id, long invoice_id,
	struct json_object **out, int *stale, struct pt_err *err);
int billing_paymethods(const struct billing_deps *d, long client_id, struct json_object **out,
	int *stale, struct pt_err *err);
int billing_gateways(const struct billing_deps *d, struct json_object **out, int *stale,
	struct pt_err *err);
int billing_subscriptions(const struct billing_deps *d, long client_id, struct json_object **out,
	int *stale, struct pt_err *err);
int billing_subscription(const struct billing_deps *d, long client_id, long service_id,
	struct json_object **out, int *stale, struct pt_err *err);
int billing_profile(const struct billing_deps *d, long client_id, struct json_object **out,
	int *stale, struct pt_err *err);

/* Live (never cached): the client's invoice is checked first, then a
 * single-use SSO URL landing on it. {url, expires_at}. */
int billing_payment_link(const struct billing_deps *d, long client_id, long invoice_id,
	struct json_object **out, struct pt_err *err);
/* {url, expires_at} landing on WHMCS's payment-method page. */
int billing_paymethod_link(const struct billing_deps *d, long client_id,
	struct json_object **out, struct pt_err *err);
/* Current profile (live) + patch → UpdateClient → the client's caches
 * dropped; *out = the profile as written. */
int billing_profile_update(const struct billing_deps *d, long client_id,
	const struct billing_profile_patch *patch, struct json_object **out, struct pt_err *err);

/* Drops client:<id>:<suffix>, or with prefix every key starting so (suffix
 * NULL = every key of the client); -1 + err when Redis could not do it. */
int billing_cache_drop(struct redis *r, long client_id, const char *suffix, int prefix,
	struct pt_err *err);

#endif
