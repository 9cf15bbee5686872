/* app/catalog — the portal catalog (portal-api.md "Catalog", seed 002): the
 * portal pricebook's active entries read from Salesforce with ONE query,
 * mapped by domain/catalog, grouped by category and plans vs add-ons, and
 * rendered once; the rendered response bodies are cached in Redis without a
 * TTL (catalog:public:*) so a warm public read is a GET and a write, never a
 * parse. Change events drop them through app_catalog_invalidate. The account
 * variant filters the same items by the account's eligibility groups and
 * prices SIM plans with the family discount. */
#ifndef PT_APP_CATALOG_H
#define PT_APP_CATALOG_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "domain/account.h"
#include "domain/catalog.h"
#include "salesforce/soql.h"

struct redis;
struct sf_client;

/* Pricebook rows read at most (a portal catalog has tens). */
#define APP_CATALOG_ROWS_MAX 2000
/* Categories shown at most; a category name is [a-z0-9_-]{1,15}. */
#define APP_CATALOG_CATEGORIES_MAX 32
#define APP_CATALOG_CATEGORY_MAX 15
/* Largest cached catalog value accepted back from Redis. */
#define APP_CATALOG_VALUE_MAX (4u * 1024 * 1024)
/* Retry-After when Salesforce is down and nothing is cached. */
#define APP_CATALOG_RETRY_AFTER_S 30

/* Redis keys (resolutions §30). Values are whole response bodies, except
 * ENTRIES (the pricebook rows as Salesforce sent them, for the account
 * variant and for checkout) and the generation keys that keep a read which
 * raced an invalidation from writing stale data back (docs/catalog.md). */
#define APP_CATALOG_KEY_GEN        "catalog:gen"
#define APP_CATALOG_KEY_ENTRIES    "catalog:entries"
#define APP_CATALOG_KEY_CATEGORIES "catalog:public:categories"
#define APP_CATALOG_PUBLIC_PREFIX  "catalog:public:"

/* What a use case needs; everything borrowed. redis NULL = no cache: every
 * read goes to Salesforce (as when Redis is down). A call that finds Redis
 * down sets redis to NULL for the rest of it: use one per request. */
struct app_catalog {
	struct sf_client *sf;
	struct redis *redis;
	char pricebook_id[SF_ID_LEN18 + 1];
	/* Tests only: answers the SOQL instead of Salesforce (NULL: sf_rest_query
	 * on sf). Same contract as sf_rest_query without total. */
	int (*query)(struct app_catalog *c, const char *soql, size_t max_records,
		struct json_object **records, struct pt_err *err);
	void *test_arg;
	/* Internal: keys read ahead in one MGET (the account route) and their
	 * reply; reads of those keys in the same call are answered from it. */
	const char *ahead_keys[2];
	struct redisReply *ahead;
};

/* PORTAL_PRICEBOOK_ID validated as a Pricebook2 id (prefix 01s, checksum),
 * normalised to 18 chars. -1 + PT_CONFIG_INVALID naming the key. */
int app_catalog_pricebook_from_config(const struct pt_config *cfg,
	char out[SF_ID_LEN18 + 1], struct pt_err *err);

enum app_catalog_view {
	APP_CATALOG_CATEGORIES,   /* GET /api/public/services */
	APP_CATALOG_PLANS,        /* …/{category}/plans */
	APP_CATALOG_ADDONS,       /* …/{category}/addons */
};

/* The public response body for view (category ignored for CATEGORIES) into
 * out: {"data":[…],"page":1,"limit":n,"total":n}. From Redis when cached,
 * else read live, rendered, cached and returned. *cached (may be NULL) = 1
 * when the bytes came from Redis. Errors: PT_NOT_FOUND for a category the
 * catalog does not hold; PT_UPSTREAM_UNAVAILABLE (retry_after set) when
 * Salesforce fails and nothing is cached. A Redis failure is a live read. */
int app_catalog_public(struct app_catalog *c, enum app_catalog_view view,
	const char *category, struct buf *out, int *cached, struct pt_err *err);

/* Every item of the portal pricebook, orderable or not (checkout tells
 * UNKNOWN_SKU from NOT_ORDERABLE), in SKU order; from the process's copy
 * while catalog:gen is unchanged, else from catalog:entries, else live
 * (which also fills the public keys). Read-only: v may be the process's
 * shared copy (borrowed = 1) until app_catalog_items_free. */
struct app_catalog_items {
	struct domain_catalog_item *v;
	size_t n;
	int borrowed;
};
int app_catalog_items_load(struct app_catalog *c, struct app_catalog_items *out,
	struct pt_err *err);
void app_catalog_items_free(struct app_catalog_items *items);

/* The account's eligibility groups and family discount (the other fields of
 * out stay empty), cached as acct:<id>:eligibility without TTL. An account
 * Salesforce does not know is eligible for nothing (logged, not cached). */
int app_catalog_account_load(struct app_catalog *c, const char *sf_account_id,
	struct domain_account *out, struct pt_err *err);

/* The plans of category for the session's account: filtered by eligibility,
 * priced for it. *items is a new JSON array. PT_NOT_FOUND for a category the
 * catalog does not hold. */
int app_catalog_account_plans(struct app_catalog *c, const char *sf_account_id,
	const char *category, struct json_object **items, struct pt_err *err);

/* Invalidation (used by the Salesforce event subscriber and operators):
 * sf_account_id NULL — Product2 / PricebookEntry changed: every shared
 * catalog key; an account id — AccountEligibilityChanged__e: that account's
 * eligibility and personalised keys. Safe against reads in flight: a read
 * that started before never writes its data back. 0 / -1 + err. */
int app_catalog_invalidate(struct redis *r, const char *sf_account_id, struct pt_err *err);

/* ---- pure functions (unit-tested; no I/O) ---------------------------------- */

/* 1 when s has the shape of a category name ([a-z0-9_-]{1,15}). */
int app_catalog_category_valid(const char *s);
/* 1 when the public catalog offers it: orderable (resolutions §8: mapped to
 * a WHMCS product and, for a SIM plan, to a Freebit plan) and in a valid
 * category. */
int app_catalog_offered(const struct domain_catalog_item *it);
/* 1 when the account may see/order it: its eligibility group is empty or one
 * of the account's groups. */
int app_catalog_eligible(const struct domain_catalog_item *it, const struct domain_account *a);
/* The unit price the account pays (a = NULL: the public price): the family
 * price for a SIM plan when the account has the discount and there is one. */
const char *app_catalog_price_for(const struct domain_catalog_item *it,
	const struct domain_account *a);

struct app_catalog_category {
	char name[APP_CATALOG_CATEGORY_MAX + 1];
	size_t plans, addons;
};
struct app_catalog_summary {
	struct app_catalog_category v[APP_CATALOG_CATEGORIES_MAX];
	size_t n;
};
/* Categories of the offered items, sorted by name, with their plan and
 * add-on counts (add-ons = every item that is not a plan: add-ons, fees,
 * installation). Categories past APP_CATALOG_CATEGORIES_MAX are dropped. */
void app_catalog_summarise(const struct domain_catalog_item *items, size_t n,
	struct app_catalog_summary *out);
/* Index of category in s, or -1. */
int app_catalog_summary_find(const struct app_catalog_summary *s, const char *category);

/* JSON array of the offered items of category that are plans (plans = 1) or
 * add-ons (plans = 0), in input order. a = NULL: the public list; else only
 * what the account is eligible for, with its price. */
struct json_object *app_catalog_list_json(const struct domain_catalog_item *items, size_t n,
	const char *category, int plans, const struct domain_account *a);
/* [{"category","plans","addons"}] */
struct json_object *app_catalog_summary_json(const struct app_catalog_summary *s);
/* {"data": items, "page": 1, "limit": n, "total": n} serialised into out
 * (takes ownership of items). 0 / -1. */
int app_catalog_body(struct json_object *items, struct buf *out);

#endif
