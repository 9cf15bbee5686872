/* app/billing — see billing.h. */
#include "app/billing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app/auth.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "domain/billing.h"
#include "store/cache.h"
#include "whmcs/actions.h"

/* Largest cached value accepted back from Redis. */
#define BILLING_CACHE_MAX (4u * 1024 * 1024)
#define BILLING_INVOICES_PAGE 100

/* ---- pure parts -------------------------------------------------------------- */

static const char *const invoice_statuses[] = {
	"Draft", "Unpaid", "Overdue", "Paid", "Cancelled", "Refunded", "Collections",
	"Payment Pending",
};

static int parse_bounded(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || strlen(s) > 9 || *s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int billing_page_parse(const char *page, const char *limit, const char *status,
	struct billing_page *out, struct pt_err *err)
{
	size_t i;

	memset(out, 0, sizeof *out);
	out->page = 1;
	out->limit = BILLING_PAGE_LIMIT_DEFAULT;
	if (page && parse_bounded(page, 1, 100000, &out->page) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "page", "page 1..100000");
	if (limit && parse_bounded(limit, 1, BILLING_PAGE_LIMIT_MAX, &out->limit) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "limit", "limit 1..%d",
			BILLING_PAGE_LIMIT_MAX);
	if (!status)
		return 0;
	for (i = 0; i < sizeof invoice_statuses / sizeof invoice_statuses[0]; i++) {
		if (strcasecmp(status, invoice_statuses[i]) == 0) {
			str_lcpy(out->status, invoice_statuses[i], sizeof out->status);
			return 0;
		}
	}
	return pt_err_field(err, PT_VALIDATION_FAILED, "status", "unknown invoice status");
}

int billing_id_parse(const char *s, long *out)
{
	if (!s || *s == '0' || strlen(s) > 18)
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	*out = strtol(s, NULL, 10);
	return *out > 0 ? 0 : -1;
}

/* A text member of obj: absent/null leaves *out NULL; else 1..max bytes of
 * one-line text (min_len 0 allows "" to clear an optional field). */
static int patch_text(struct json_object *obj, const char *key, const char *field,
	size_t min_len, size_t max, const char **out, struct pt_err *err)
{
	const char *v = NULL;

	if (json_get_str(obj, key, 0, max, &v, err) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, field, "not a string of <= %zu", max);
	if (v && (strlen(v) < min_len || !str_valid_text(v, strlen(v), 0)))
		return pt_err_field(err, PT_VALIDATION_FAILED, field, "empty or not one line of text");
	*out = v;
	return 0;
}

/* Refuses keys of obj not in allowed (NULL-terminated), naming prefix.key. */
static int only_keys(struct json_object *obj, const char *prefix, const char *const *allowed,
	struct pt_err *err)
{
	json_object_object_foreach(obj, k, v) {
		const char *const *a;
		(void)v;
		for (a = allowed; *a && strcmp(*a, k) != 0; a++)
			;
		if (!*a)
			return pt_err_field(err, PT_VALIDATION_FAILED, prefix, "unknown member %s", k);
	}
	return 0;
}

static int patch_name(struct json_object *root, struct billing_profile_patch *p,
	struct pt_err *err)
{
	static const char *const keys[] = { "first", "last", NULL };
	struct json_object *n;

	if (!json_object_object_get_ex(root, "name", &n) || json_object_is_type(n, json_type_null))
		return 0;
	if (!json_object_is_type(n, json_type_object))
		return pt_err_field(err, PT_VALIDATION_FAILED, "name", "not an object");
	if (only_keys(n, "name", keys, err) != 0 ||
	    patch_text(n, "first", "name.first", 1, 100, &p->first_name, err) != 0 ||
	    patch_text(n, "last", "name.last", 1, 100, &p->last_name, err) != 0)
		return -1;
	return 0;
}

static int patch_address(struct json_object *root, struct billing_profile_patch *p,
	struct pt_err *err)
{
	static const char *const keys[] = { "postcode", "prefecture", "city", "street",
		"building", "country", NULL };
	struct json_object *a;
	const char *country = NULL;

	if (!json_object_object_get_ex(root, "address", &a) || json_object_is_type(a, json_type_null))
		return 0;
	if (!json_object_is_type(a, json_type_object))
		return pt_err_field(err, PT_VALIDATION_FAILED, "address", "not an object");
	if (only_keys(a, "address", keys, err) != 0 ||
	    patch_text(a, "postcode", "address.postcode", 1, 8, &p->postcode, err) != 0 ||
	    patch_text(a, "prefecture", "address.prefecture", 1, 31, &p->prefecture, err) != 0 ||
	    patch_text(a, "city", "address.city", 1, 120, &p->city, err) != 0 ||
	    patch_text(a, "street", "address.street", 1, 200, &p->street, err) != 0 ||
	    patch_text(a, "building", "address.building", 0, 200, &p->building, err) != 0 ||
	    patch_text(a, "country", "address.country", 1, 2, &country, err) != 0)
		return -1;
	/* The portal serves Japan only (resolutions §14). */
	if (country && strcmp(country, "JP") != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "address.country", "only JP");
	if (p->postcode && !domain_postcode_valid(p->postcode))
		return pt_err_field(err, PT_VALIDATION_FAILED, "address.postcode", "not NNN-NNNN");
	if (p->prefecture) {
		if (!domain_prefecture_canonical(p->prefecture, p->prefecture_norm,
			sizeof p->prefecture_norm))
			return pt_err_field(err, PT_VALIDATION_FAILED, "address.prefecture",
				"not a prefecture");
		p->prefecture = p->prefecture_norm;
	}
	return 0;
}

int billing_profile_patch_parse(const char *body, size_t len, struct json_object **doc,
	struct billing_profile_patch *out, struct pt_err *err)
{
	static const char *const keys[] = { "name", "email", "phone", "address", NULL };

	memset(out, 0, sizeof *out);
	*doc = json_parse_bounded(body, len, len + 1, JSON_DEFAULT_MAX_DEPTH, err);
	if (!*doc)
		return pt_err_field(err, err && err->code ? err->code : PT_VALIDATION_FAILED, "body",
			"not JSON");
	if (!json_object_is_type(*doc, json_type_object))
		return pt_err_field(err, PT_VALIDATION_FAILED, "body", "not an object");
	if (only_keys(*doc, "body", keys, err) != 0 || patch_name(*doc, out, err) != 0 ||
	    patch_text(*doc, "email", "email", 1, 254, &out->email, err) != 0 ||
	    patch_text(*doc, "phone", "phone", 1, 30, &out->phone, err) != 0 ||
	    patch_address(*doc, out, err) != 0)
		return -1;
	if (out->email) {
		if (app_email_normalise(out->email, out->email_norm) != 0 ||
		    !strchr(strchr(out->email_norm, '@'), '.'))
			return pt_err_field(err, PT_VALIDATION_FAILED, "email", "not an email");
		out->email = out->email_norm;
	}
	if (out->phone && !domain_phone_valid(out->phone))
		return pt_err_field(err, PT_VALIDATION_FAILED, "phone", "not a phone number");
	if (!out->first_name && !out->last_name && !out->email && !out->phone && !out->postcode &&
	    !out->prefecture && !out->city && !out->street && !out->building)
		return pt_err_field(err, PT_VALIDATION_FAILED, "body", "nothing to change");
	return 0;
}

#define SET(dst, src) do { if (src) str_lcpy(dst, src, sizeof(dst)); } while (0)

void billing_profile_patch_apply(const struct billing_profile_patch *patch,
	struct domain_profile *p)
{
	SET(p->first_name, patch->first_name);
	SET(p->last_name, patch->last_name);
	SET(p->email, patch->email);
	SET(p->phone, patch->phone);
	SET(p->address.postcode, patch->postcode);
	SET(p->address.prefecture, patch->prefecture);
	SET(p->address.city, patch->city);
	SET(p->address.street, patch->street);
	SET(p->address.building, patch->building);
	str_lcpy(p->address.country, "JP", sizeof p->address.country);
}

/* ---- the cache envelope --------------------------------------------------------- */

/* A fetcher reads WHMCS live and renders the portal shape into *v. */
struct fetch {
	int (*fn)(const struct billing_deps *d, long client_id, long arg, struct json_object **v,
		struct pt_err *err);
	long arg;
};

/* Value of {"at", "owner", "v"} when it belongs to owner; *age in seconds. */
static struct json_object *envelope_open(const struct buf *raw, long owner, long *age,
	struct json_object **doc)
{
	struct json_object *v = NULL;
	long at = 0, who = -1;

	*doc = json_parse_bounded(raw->data, raw->len, BILLING_CACHE_MAX, JSON_DEFAULT_MAX_DEPTH,
		NULL);
	if (!*doc || json_get_lenient_int(*doc, "at", &at) != 0 ||
	    json_get_lenient_int(*doc, "owner", &who) != 0 || !json_object_object_get_ex(*doc, "v", &v))
		return NULL;
	/* The key is the client's already; this catches a value written under a
	 * wrong key by any bug, so one client never reads another's data. */
	if (who != owner) {
		log_warn("cache value of another client ignored", "owner", log_itoa(who, (char[24]){0}));
		return NULL;
	}
	*age = (long)time(NULL) - at;
	return v;
}

static void envelope_store(const struct billing_deps *d, const char *key, long owner, long ttl,
	struct json_object *v)
{
	struct json_object *env = json_object_new_object();
	struct pt_err ce = { 0 };
	const char *s;
	size_t len;

	if (!env)
		return;
	json_object_object_add(env, "at", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(env, "owner", json_object_new_int64(owner));
	json_object_object_add(env, "v", json_object_get(v));
	s = json_compact(env, &len);
	if (s && cache_set(d->redis, key, s, len, ttl + BILLING_STALE_KEEP_S, &ce) != 0)
		log_warn("billing cache not written", "error", ce.detail);
	json_object_put(env);
}

/* Cache-aside with a stale fallback: fresh entry → it; else live (stored);
 * live failing with WHMCS unavailable → the expired entry, *stale = 1. */
static int cached_read(const struct billing_deps *d, const char *key, long owner, long ttl,
	const struct fetch *f, struct json_object **out, int *stale, struct pt_err *err)
{
	struct buf raw;
	struct json_object *doc = NULL, *cached = NULL;
	long age = 0;
	int rc = -1;

	*out = NULL;
	*stale = 0;
	buf_init(&raw, BILLING_CACHE_MAX);
	if (d->redis && cache_get(d->redis, key, &raw, NULL) == 1)
		cached = envelope_open(&raw, owner, &age, &doc);
	if (cached && age >= 0 && age < ttl) {
		*out = json_object_get(cached);
		rc = 0;
		goto out;
	}
	if (f->fn(d, owner, f->arg, out, err) == 0) {
		if (d->redis)
			envelope_store(d, key, owner, ttl, *out);
		rc = 0;
		goto out;
	}
	if (err->code == PT_UPSTREAM_UNAVAILABLE && cached) {
		log_warn("WHMCS unavailable: stale cache served", "key", key, "error", err->detail);
		pt_err_clear(err);
		*out = json_object_get(cached);
		*stale = 1;
		rc = 0;
		goto out;
	}
	if (err->code == PT_UPSTREAM_UNAVAILABLE && err->retry_after <= 0)
		err->retry_after = BILLING_RETRY_AFTER_S;
out:
	json_object_put(doc);
	buf_free(&raw);
	return rc;
}

static int client_key(struct buf *key, long client_id, const char *suffix, struct pt_err *err)
{
	char id[24];

	snprintf(id, sizeof id, "%ld", client_id);
	return cache_key_client(key, id, suffix, err);
}

/* cached_read under client:<id>:<suffix>. */
static int client_read(const struct billing_deps *d, long client_id, const char *suffix,
	long ttl, const struct fetch *f, struct json_object **out, int *stale, struct pt_err *err)
{
	struct buf key;
	int rc;

	buf_init(&key, CACHE_KEY_MAX);
	rc = client_key(&key, client_id, suffix, err);
	if (rc == 0)
		rc = cached_read(d, buf_cstr(&key), client_id, ttl, f, out, stale, err);
	buf_free(&key);
	return rc;
}

static void whmcs_ctx(struct domain_whmcs_ctx *ctx, char today[DOMAIN_DATE_MAX])
{
	/* "Overdue" is judged on the Japanese calendar day. */
	time_t t = time(NULL) + 9 * 3600;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(today, DOMAIN_DATE_MAX, "%Y-%m-%d", &tm);
	ctx->currency = DOMAIN_CURRENCY_DEFAULT;
	ctx->today = today;
}

/* ---- fetchers ------------------------------------------------------------------- */

/* Every invoice of the client (paged through GetInvoices), rendered without
 * items: one cached list serves every page and status filter. */
static int fetch_invoices(const struct billing_deps *d, long client_id, long arg,
	struct json_object **v, struct pt_err *err)
{
	struct domain_whmcs_ctx ctx;
	char today[DOMAIN_DATE_MAX];
	long start = 0;

	(void)arg;
	whmcs_ctx(&ctx, today);
	if (!(*v = json_object_new_array()))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	while (start < BILLING_INVOICES_MAX) {
		struct domain_invoice_list l;
		size_t i;
		if (whmcs_get_invoices(d->whmcs, client_id, NULL, start, BILLING_INVOICES_PAGE, &ctx,
			&l, err) != 0) {
			json_object_put(*v);
			*v = NULL;
			return -1;
		}
		for (i = 0; i < l.n; i++)
			json_object_array_add(*v, domain_invoice_json(&l.v[i], 0));
		start += (long)l.n;
		i = l.n;
		long total = l.total;
		domain_invoice_list_clear(&l);
		if (i == 0 || start >= total)
			break;
	}
	return 0;
}

static int fetch_invoice(const struct billing_deps *d, long client_id, long invoice_id,
	struct json_object **v, struct pt_err *err)
{
	struct domain_whmcs_ctx ctx;
	char today[DOMAIN_DATE_MAX];
	struct domain_invoice inv;

	whmcs_ctx(&ctx, today);
	if (whmcs_get_invoice(d->whmcs, invoice_id, &ctx, &inv, err) != 0)
		return -1;
	/* GetInvoice does not check the owner: another client's id is "not
	 * found" to this client, and never cached for it. */
	if (inv.client_id != client_id) {
		domain_invoice_clear(&inv);
		return pt_err_set(err, PT_NOT_FOUND, "invoice %ld is not client %ld's", invoice_id,
			client_id);
	}
	*v = domain_invoice_json(&inv, 1);
	domain_invoice_clear(&inv);
	return *v ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

static int fetch_paymethods(const struct billing_deps *d, long client_id, long arg,
	struct json_object **v, struct pt_err *err)
{
	struct domain_paymethod_list l;

	(void)arg;
	if (whmcs_get_paymethods(d->whmcs, client_id, &l, err) != 0)
		return -1;
	*v = domain_paymethod_list_json(&l);
	domain_paymethod_list_clear(&l);
	return *v ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

static int fetch_gateways(const struct billing_deps *d, long client_id, long arg,
	struct json_object **v, struct pt_err *err)
{
	struct domain_gateway_list l;

	(void)client_id;
	(void)arg;
	if (whmcs_get_gateways(d->whmcs, &l, err) != 0)
		return -1;
	*v = domain_gateway_list_json(&l);
	domain_gateway_list_clear(&l);
	return *v ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

static int fetch_services(const struct billing_deps *d, long client_id, long arg,
	struct json_object **v, struct pt_err *err)
{
	struct domain_whmcs_ctx ctx;
	char today[DOMAIN_DATE_MAX];
	struct domain_subscription_list l;

	(void)arg;
	whmcs_ctx(&ctx, today);
	if (whmcs_get_services(d->whmcs, client_id, 0, &ctx, &l, err) != 0)
		return -1;
	*v = domain_subscription_list_json(&l);
	domain_subscription_list_clear(&l);
	return *v ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

static int fetch_profile(const struct billing_deps *d, long client_id, long arg,
	struct json_object **v, struct pt_err *err)
{
	struct domain_profile p;

	(void)arg;
	if (whmcs_get_client_details(d->whmcs, client_id, NULL, d->customer_field_id, &p, err) != 0)
		return -1;
	*v = domain_profile_json(&p);
	return *v ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

/* ---- use cases ------------------------------------------------------------------ */

static int status_matches(struct json_object *inv, const char *status)
{
	return !*status || strcmp(json_str_or(inv, "status", ""), status) == 0;
}

int billing_invoices(const struct billing_deps *d, long client_id, const struct billing_page *pg,
	struct json_object **items, long *total, int *stale, struct pt_err *err)
{
	const struct fetch f = { fetch_invoices, 0 };
	struct json_object *all = NULL;
	long skip = (pg->page - 1) * pg->limit;
	size_t i, n;

	*items = NULL;
	*total = 0;
	if (client_read(d, client_id, "invoices", d->ttl.invoices, &f, &all, stale, err) != 0)
		return -1;
	if (!json_object_is_type(all, json_type_array) || !(*items = json_object_new_array())) {
		json_object_put(all);
		return pt_err_set(err, PT_INTERNAL, "invoice list");
	}
	n = json_object_array_length(all);
	for (i = 0; i < n; i++) {
		struct json_object *inv = json_object_array_get_idx(all, i);
		if (!status_matches(inv, pg->status))
			continue;
		if (*total >= skip && *total < skip + pg->limit)
			json_object_array_add(*items, json_object_get(inv));
		(*total)++;
	}
	json_object_put(all);
	return 0;
}

int billing_invoice(const struct billing_deps *d, long client_id, long invoice_id,
	struct json_object **out, int *stale, struct pt_err *err)
{
	const struct fetch f = { fetch_invoice, invoice_id };
	char suffix[48];
	long id = 0;

	snprintf(suffix, sizeof suffix, "invoice:%ld", invoice_id);
	if (client_read(d, client_id, suffix, d->ttl.invoice, &f, out, stale, err) != 0)
		return -1;
	if (json_get_lenient_int(*out, "id", &id) != 0 || id != invoice_id) {
		json_object_put(*out);
		*out = NULL;
		return pt_err_set(err, PT_NOT_FOUND, "cached invoice is not %ld", invoice_id);
	}
	return 0;
}

int billing_paymethods(const struct billing_deps *d, long client_id, struct json_object **out,
	int *stale, struct pt_err *err)
{
	const struct fetch f = { fetch_paymethods, 0 };

	return client_read(d, client_id, "paymethods", d->ttl.paymethods, &f, out, stale, err);
}

int billing_gateways(const struct billing_deps *d, struct json_object **out, int *stale,
	struct pt_err *err)
{
	const struct fetch f = { fetch_gateways, 0 };
	struct buf key;
	int rc;

	buf_init(&key, CACHE_KEY_MAX);
	rc = cache_key_global(&key, "gateways", NULL, err);
	if (rc == 0)
		rc = cached_read(d, buf_cstr(&key), 0, d->ttl.gateways, &f, out, stale, err);
	buf_free(&key);
	return rc;
}

int billing_subscriptions(const struct billing_deps *d, long client_id, struct json_object **out,
	int *stale, struct pt_err *err)
{
	const struct fetch f = { fetch_services, 0 };

	return client_read(d, client_id, "services", d->ttl.services, &f, out, stale, err);
}

/* One service out of the client's own (cached) list: another client's id is
 * simply not in it. */
int billing_subscription(const struct billing_deps *d, long client_id, long service_id,
	struct json_object **out, int *stale, struct pt_err *err)
{
	struct json_object *all = NULL;
	size_t i, n;

	*out = NULL;
	if (billing_subscriptions(d, client_id, &all, stale, err) != 0)
		return -1;
	n = json_object_is_type(all, json_type_array) ? json_object_array_length(all) : 0;
	for (i = 0; i < n && !*out; i++) {
		struct json_object *s = json_object_array_get_idx(all, i);
		long id = 0;
		if (json_get_lenient_int(s, "id", &id) == 0 && id == service_id)
			*out = json_object_get(s);
	}
	json_object_put(all);
	return *out ? 0 : pt_err_set(err, PT_NOT_FOUND, "service %ld", service_id);
}

int billing_profile(const struct billing_deps *d, long client_id, struct json_object **out,
	int *stale, struct pt_err *err)
{
	const struct fetch f = { fetch_profile, 0 };

	return client_read(d, client_id, "profile", d->ttl.profile, &f, out, stale, err);
}

static struct json_object *link_json(const char *url)
{
	struct json_object *o = json_object_new_object();
	time_t t = time(NULL) + BILLING_SSO_TTL_S;
	struct tm tm;
	char at[DOMAIN_TIME_MAX];

	gmtime_r(&t, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!o)
		return NULL;
	json_object_object_add(o, "url", json_object_new_string(url));
	json_object_object_add(o, "expires_at", json_object_new_string(at));
	return o;
}

static int sso_link(const struct billing_deps *d, long client_id, const char *dest,
	const char *path, struct json_object **out, struct pt_err *err)
{
	char url[2048];

	if (whmcs_create_sso_token(d->whmcs, client_id, dest, path, 0, url, sizeof url, err) != 0) {
		if (err->code == PT_UPSTREAM_UNAVAILABLE && err->retry_after <= 0)
			err->retry_after = BILLING_RETRY_AFTER_S;
		return -1;
	}
	*out = link_json(url);
	return *out ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
}

int billing_payment_link(const struct billing_deps *d, long client_id, long invoice_id,
	struct json_object **out, struct pt_err *err)
{
	struct json_object *inv = NULL;
	char path[64];
	int stale = 0;

	*out = NULL;
	/* The owner first: an SSO token for someone else's invoice id would
	 * only show WHMCS's refusal, but it must not be minted at all. */
	if (billing_invoice(d, client_id, invoice_id, &inv, &stale, err) != 0)
		return -1;
	json_object_put(inv);
	snprintf(path, sizeof path, "viewinvoice.php?id=%ld", invoice_id);
	return sso_link(d, client_id, "sso:custom_redirect", path, out, err);
}

int billing_paymethod_link(const struct billing_deps *d, long client_id,
	struct json_object **out, struct pt_err *err)
{
	*out = NULL;
	return sso_link(d, client_id, "clientarea:billing_info", NULL, out, err);
}

int billing_cache_drop(struct redis *r, long client_id, const char *suffix, int prefix,
	struct pt_err *err)
{
	struct buf key;
	int rc;

	if (!r)
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "no redis");
	buf_init(&key, CACHE_KEY_MAX);
	rc = client_key(&key, client_id, suffix, err);
	if (rc == 0)
		rc = suffix && !prefix ? cache_del(r, buf_cstr(&key), err) :
			cache_del_prefix(r, buf_cstr(&key), NULL, err);
	buf_free(&key);
	return rc;
}

int billing_profile_update(const struct billing_deps *d, long client_id,
	const struct billing_profile_patch *patch, struct json_object **out, struct pt_err *err)
{
	struct domain_profile p;
	struct pt_err ce = { 0 };

	*out = NULL;
	/* UpdateClient sends the whole address: merge onto the live profile so
	 * a partial patch does not blank the rest. */
	if (whmcs_get_client_details(d->whmcs, client_id, NULL, d->customer_field_id, &p, err) != 0)
		goto fail;
	billing_profile_patch_apply(patch, &p);
	struct whmcs_client_update u = {
		.first_name = p.first_name, .last_name = p.last_name, .email = p.email,
		.phone = p.phone, .address = &p.address,
	};
	if (whmcs_update_client(d->whmcs, client_id, &u, err) != 0)
		goto fail;
	/* Every view of this client may show the profile (names on invoices…). */
	if (d->redis && billing_cache_drop(d->redis, client_id, NULL, 1, &ce) != 0)
		log_warn("client caches not dropped after profile update", "error", ce.detail);
	*out = domain_profile_json(&p);
	return *out ? 0 : pt_err_set(err, PT_INTERNAL, "out of memory");
fail:
	if (err->code == PT_UPSTREAM_UNAVAILABLE && err->retry_after <= 0)
		err->retry_after = BILLING_RETRY_AFTER_S;
	return -1;
}
