/* Unit tests for the pure parts of app/catalog: what is offered (resolutions
 * §8), grouping into categories with plan / add-on counts, eligibility
 * filtering, family pricing, the response body, and PORTAL_PRICEBOOK_ID
 * validation. The items come from the Salesforce simulator's own fixtures
 * (joined as the catalog SOQL does), so the values are those
 * tests/fixtures/CROSSREF.md documents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/catalog.h"
#include "core/config.h"
#include "core/json.h"
#include "store/cache.h"
#include "store/redis.h"

#define PORTAL_PRICEBOOK "01s5F0000000002QAA"

struct fx {
	struct domain_catalog_item items[64];
	size_t n;
};

static struct json_object *fixture(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/salesforce/%s", FIXTURES_DIR, name);
	struct json_object *o = json_object_from_file(path);
	assert_non_null(o);
	return o;
}

static struct json_object *product_by_id(struct json_object *products, const char *id)
{
	for (size_t i = 0; i < json_object_array_length(products); i++) {
		struct json_object *p = json_object_array_get_idx(products, i);
		if (strcmp(json_str_or(p, "Id", ""), id) == 0)
			return p;
	}
	return NULL;
}

static int get_bool(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

static int row_cmp(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a, *y = *(struct json_object *const *)b;
	struct json_object *px, *py;
	json_object_object_get_ex(x, "Product2", &px);
	json_object_object_get_ex(y, "Product2", &py);
	return strcmp(json_str_or(px, "StockKeepingUnit", ""), json_str_or(py, "StockKeepingUnit", ""));
}

/* The rows the catalog SOQL returns for the portal pricebook: active
 * entries of active, portal-visible products, in SKU order. tweak (may be
 * NULL) edits a product before the join, as an admin would. A new array. */
static struct json_object *fixture_rows(void (*tweak)(struct json_object *product))
{
	struct json_object *products = fixture("products.json");
	struct json_object *entries = fixture("pricebook_entries.json");
	struct json_object *rows[64];
	size_t nrows = 0;

	for (size_t i = 0; i < json_object_array_length(products) && tweak; i++)
		tweak(json_object_array_get_idx(products, i));
	for (size_t i = 0; i < json_object_array_length(entries); i++) {
		struct json_object *e = json_object_array_get_idx(entries, i);
		struct json_object *p = product_by_id(products, json_str_or(e, "Product2Id", ""));
		if (strcmp(json_str_or(e, "Pricebook2Id", ""), PORTAL_PRICEBOOK) != 0 ||
		    !get_bool(e, "IsActive") || !p || !get_bool(p, "IsActive") ||
		    !get_bool(p, "Portal_Catalog__c"))
			continue;
		struct json_object *row = json_object_new_object();
		json_object_object_add(row, "Id", json_object_new_string(json_str_or(e, "Id", "")));
		struct json_object *price;
		json_object_object_get_ex(e, "UnitPrice", &price);
		json_object_object_add(row, "UnitPrice", json_object_get(price));
		json_object_object_add(row, "Product2", json_object_get(p));
		assert_true(nrows < 64);
		rows[nrows++] = row;
	}
	qsort(rows, nrows, sizeof rows[0], row_cmp);
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < nrows; i++)
		json_object_array_add(arr, rows[i]);
	json_object_put(products);
	json_object_put(entries);
	return arr;
}

static void load(struct fx *fx, void (*tweak)(struct json_object *product))
{
	struct json_object *rows = fixture_rows(tweak);
	struct pt_err err;

	fx->n = 0;
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		assert_true(fx->n < 64);
		assert_int_equal(domain_catalog_item_from_sf(json_object_array_get_idx(rows, i),
			&fx->items[fx->n], &err), 0);
		fx->n++;
	}
	json_object_put(rows);
}

static const struct domain_catalog_item *by_sku(const struct fx *fx, const char *sku)
{
	for (size_t i = 0; i < fx->n; i++)
		if (strcmp(fx->items[i].sku, sku) == 0)
			return &fx->items[i];
	return NULL;
}

static struct domain_account account(const char *groups, int family)
{
	struct domain_account a;
	memset(&a, 0, sizeof a);
	str_lcpy(a.id, "0015F0000000001QAA", sizeof a.id);
	char tmp[256];
	str_lcpy(tmp, groups, sizeof tmp);
	for (char *save = NULL, *g = strtok_r(tmp, ";", &save); g; g = strtok_r(NULL, ";", &save))
		str_lcpy(a.eligibility[a.neligibility++], g, sizeof a.eligibility[0]);
	a.family_discount = family;
	return a;
}

/* "SKU,SKU,…" of a list_json result */
static void skus(struct json_object *arr, char *out, size_t outsz)
{
	out[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		if (i)
			strncat(out, ",", outsz - strlen(out) - 1);
		strncat(out, json_str_or(json_object_array_get_idx(arr, i), "sku", "?"),
			outsz - strlen(out) - 1);
	}
}

static void assert_list(const struct fx *fx, const char *cat, int plans,
	const struct domain_account *a, const char *expect)
{
	char got[1024];
	struct json_object *arr = app_catalog_list_json(fx->items, fx->n, cat, plans, a);
	assert_non_null(arr);
	skus(arr, got, sizeof got);
	if (strcmp(got, expect) != 0)
		fail_msg("%s %s: got [%s], expected [%s]", cat, plans ? "plans" : "addons", got, expect);
	json_object_put(arr);
}

static const char *amount_of(struct json_object *arr, const char *sku, const char *key)
{
	static char buf[64];
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *m, *amt;
		if (strcmp(json_str_or(o, "sku", ""), sku) != 0)
			continue;
		if (!json_object_object_get_ex(o, key, &m) || !m ||
		    !json_object_object_get_ex(m, "amount", &amt))
			return "null";
		str_lcpy(buf, json_object_get_string(amt), sizeof buf);
		return buf;
	}
	return "absent";
}

/* ---- tests ------------------------------------------------------------------ */

static void test_category_valid(void **state)
{
	(void)state;
	assert_true(app_catalog_category_valid("internet"));
	assert_true(app_catalog_category_valid("sim"));
	assert_true(app_catalog_category_valid("home-net_2"));
	assert_true(app_catalog_category_valid("abcdefghijklmno"));    /* 15 */
	assert_false(app_catalog_category_valid("abcdefghijklmnop"));  /* 16 */
	assert_false(app_catalog_category_valid(""));
	assert_false(app_catalog_category_valid(NULL));
	assert_false(app_catalog_category_valid("Internet"));
	assert_false(app_catalog_category_valid("sim*"));
	assert_false(app_catalog_category_valid("a:b"));
	assert_false(app_catalog_category_valid("../x"));
	assert_false(app_catalog_category_valid("sim "));
}

static void test_offered(void **state)
{
	struct fx fx;
	(void)state;
	load(&fx, NULL);
	/* OLD-PLAN (Portal_Catalog__c false) and the retired product are not
	 * even rows; INT-LEGACY-100M is a row but has no WHMCS product. */
	assert_int_equal(fx.n, 11);
	assert_null(by_sku(&fx, "OLD-PLAN"));
	assert_null(by_sku(&fx, "INT-FTTH-200M-RETIRED"));
	assert_non_null(by_sku(&fx, "INT-LEGACY-100M"));
	assert_false(app_catalog_offered(by_sku(&fx, "INT-LEGACY-100M")));
	assert_true(app_catalog_offered(by_sku(&fx, "INT-FTTH-1G")));
	assert_true(app_catalog_offered(by_sku(&fx, "SIM-DATA-3GB")));
	assert_true(app_catalog_offered(by_sku(&fx, "SIM-ACTIVATION")));
	assert_true(app_catalog_offered(by_sku(&fx, "VPN-ANNUAL")));
	/* a category that could not be a URL segment is never offered */
	struct domain_catalog_item odd = *by_sku(&fx, "VPN-BASIC");
	str_lcpy(odd.category, "VPN", sizeof odd.category);
	assert_false(app_catalog_offered(&odd));
}

static void no_freebit_for_5g(struct json_object *p)
{
	if (strcmp(json_str_or(p, "StockKeepingUnit", ""), "SIM-5G-20GB") == 0)
		json_object_object_add(p, "Freebit_Plan_Code__c", NULL);
	/* the activation fee is no SIM plan: it needs no Freebit plan */
}

static void unmap_router(struct json_object *p)
{
	if (strcmp(json_str_or(p, "StockKeepingUnit", ""), "INT-ROUTER") == 0)
		json_object_object_add(p, "WH_Product_ID__c", NULL);
}

static void test_unorderable(void **state)
{
	struct fx fx;
	(void)state;
	/* resolutions §8: a SIM plan without Freebit_Plan_Code__c is not offered */
	load(&fx, no_freebit_for_5g);
	assert_false(app_catalog_offered(by_sku(&fx, "SIM-5G-20GB")));
	assert_true(app_catalog_offered(by_sku(&fx, "SIM-ACTIVATION")));
	assert_list(&fx, "sim", 1, NULL, "SIM-DATA-3GB,SIM-VOICE-10GB");
	/* …and any product without WH_Product_ID__c */
	load(&fx, unmap_router);
	assert_list(&fx, "internet", 0, NULL, "INT-INSTALL");
}

static void test_summarise(void **state)
{
	struct fx fx;
	struct app_catalog_summary s;
	(void)state;
	load(&fx, NULL);
	app_catalog_summarise(fx.items, fx.n, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0].name, "internet");
	assert_int_equal(s.v[0].plans, 2);    /* 1G, 10G; not the unmapped legacy plan */
	assert_int_equal(s.v[0].addons, 2);   /* router add-on, installation */
	assert_string_equal(s.v[1].name, "sim");
	assert_int_equal(s.v[1].plans, 3);
	assert_int_equal(s.v[1].addons, 1);   /* activation fee */
	assert_string_equal(s.v[2].name, "vpn");
	assert_int_equal(s.v[2].plans, 2);
	assert_int_equal(s.v[2].addons, 0);
	assert_int_equal(app_catalog_summary_find(&s, "sim"), 1);
	assert_int_equal(app_catalog_summary_find(&s, "tv"), -1);
	assert_int_equal(app_catalog_summary_find(&s, NULL), -1);

	struct json_object *j = app_catalog_summary_json(&s);
	assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
		"[{\"category\":\"internet\",\"plans\":2,\"addons\":2},"
		"{\"category\":\"sim\",\"plans\":3,\"addons\":1},"
		"{\"category\":\"vpn\",\"plans\":2,\"addons\":0}]");
	json_object_put(j);

	/* nothing offered: no categories */
	app_catalog_summarise(fx.items, 0, &s);
	assert_int_equal(s.n, 0);
}

static void test_summarise_bounded(void **state)
{
	static struct domain_catalog_item many[APP_CATALOG_CATEGORIES_MAX + 5];
	struct fx fx;
	struct app_catalog_summary s;
	(void)state;
	load(&fx, NULL);
	for (size_t i = 0; i < sizeof many / sizeof many[0]; i++) {
		many[i] = *by_sku(&fx, "VPN-BASIC");
		/* reverse order: the summary sorts */
		snprintf(many[i].category, sizeof many[i].category, "c%03zu",
			sizeof many / sizeof many[0] - i);
	}
	app_catalog_summarise(many, sizeof many / sizeof many[0], &s);
	assert_int_equal(s.n, APP_CATALOG_CATEGORIES_MAX);
	for (size_t i = 1; i < s.n; i++)
		assert_true(strcmp(s.v[i - 1].name, s.v[i].name) < 0);
}

static void test_public_lists(void **state)
{
	struct fx fx;
	(void)state;
	load(&fx, NULL);
	assert_list(&fx, "internet", 1, NULL, "INT-FTTH-10G,INT-FTTH-1G");
	assert_list(&fx, "internet", 0, NULL, "INT-INSTALL,INT-ROUTER");
	assert_list(&fx, "sim", 1, NULL, "SIM-5G-20GB,SIM-DATA-3GB,SIM-VOICE-10GB");
	assert_list(&fx, "sim", 0, NULL, "SIM-ACTIVATION");
	assert_list(&fx, "vpn", 1, NULL, "VPN-ANNUAL,VPN-BASIC");
	assert_list(&fx, "vpn", 0, NULL, "");
	assert_list(&fx, "tv", 1, NULL, "");

	/* the public list carries the public price and the item's shape */
	struct json_object *arr = app_catalog_list_json(fx.items, fx.n, "sim", 1, NULL);
	assert_string_equal(amount_of(arr, "SIM-DATA-3GB", "price"), "990.00");
	assert_string_equal(amount_of(arr, "SIM-DATA-3GB", "family_price"), "890.00");
	struct json_object *o = json_object_array_get_idx(arr, 1), *f;
	assert_string_equal(json_str_or(o, "billing_cycle", ""), "monthly");
	assert_string_equal(json_str_or(o, "type", ""), "plan");
	assert_string_equal(json_str_or(o, "id", ""), "01t5F0000000006QAA");
	assert_true(json_object_object_get_ex(o, "features", &f));
	assert_int_equal(json_object_array_length(f), 2);
	json_object_put(arr);
	arr = app_catalog_list_json(fx.items, fx.n, "internet", 0, NULL);
	assert_string_equal(json_str_or(json_object_array_get_idx(arr, 0), "type", ""),
		"installation");
	assert_string_equal(json_str_or(json_object_array_get_idx(arr, 1), "type", ""), "addon");
	json_object_put(arr);
}

static void test_eligibility(void **state)
{
	struct fx fx;
	(void)state;
	load(&fx, NULL);
	struct domain_account a1 = account("FTTH_1G;FTTH_10G", 0);   /* CN10000001 */
	struct domain_account a2 = account("FTTH_1G", 0);            /* CN10000002 */
	struct domain_account a6 = account("", 0);                   /* CN10000006 */
	struct domain_account other = account("FTTH_1G_X;ftth_10g", 0);

	assert_true(app_catalog_eligible(by_sku(&fx, "INT-FTTH-1G"), &a2));
	assert_false(app_catalog_eligible(by_sku(&fx, "INT-FTTH-10G"), &a2));
	assert_true(app_catalog_eligible(by_sku(&fx, "VPN-BASIC"), &a6));   /* no group */
	assert_list(&fx, "internet", 1, &a1, "INT-FTTH-10G,INT-FTTH-1G");
	assert_list(&fx, "internet", 1, &a2, "INT-FTTH-1G");
	assert_list(&fx, "internet", 1, &a6, "");
	/* groups match exactly (case, no prefixes) */
	assert_list(&fx, "internet", 1, &other, "");
	/* ungated categories are the same for everyone */
	assert_list(&fx, "sim", 1, &a6, "SIM-5G-20GB,SIM-DATA-3GB,SIM-VOICE-10GB");
	assert_list(&fx, "vpn", 1, &a6, "VPN-ANNUAL,VPN-BASIC");
}

static void test_family_pricing(void **state)
{
	struct fx fx;
	(void)state;
	load(&fx, NULL);
	struct domain_account fam = account("", 1);    /* CN10000003 */
	struct domain_account plain = account("", 0);

	assert_string_equal(app_catalog_price_for(by_sku(&fx, "SIM-DATA-3GB"), &fam), "890.00");
	assert_string_equal(app_catalog_price_for(by_sku(&fx, "SIM-VOICE-10GB"), &fam), "1780.00");
	assert_string_equal(app_catalog_price_for(by_sku(&fx, "SIM-5G-20GB"), &fam), "2680.00");
	assert_string_equal(app_catalog_price_for(by_sku(&fx, "SIM-DATA-3GB"), &plain), "990.00");
	assert_string_equal(app_catalog_price_for(by_sku(&fx, "SIM-DATA-3GB"), NULL), "990.00");
	/* no family price on the fee, and the discount is a SIM offer only */
	assert_string_equal(app_catalog_price_for(by_sku(&fx, "SIM-ACTIVATION"), &fam), "3300.00");
	struct domain_catalog_item vpn = *by_sku(&fx, "VPN-BASIC");
	str_lcpy(vpn.family_price, "1.00", sizeof vpn.family_price);
	assert_string_equal(app_catalog_price_for(&vpn, &fam), "700.00");

	/* the rendered account list shows the price the account pays */
	struct json_object *arr = app_catalog_list_json(fx.items, fx.n, "sim", 1, &fam);
	assert_string_equal(amount_of(arr, "SIM-DATA-3GB", "price"), "890.00");
	assert_string_equal(amount_of(arr, "SIM-VOICE-10GB", "price"), "1780.00");
	assert_string_equal(amount_of(arr, "SIM-5G-20GB", "price"), "2680.00");
	json_object_put(arr);
	arr = app_catalog_list_json(fx.items, fx.n, "sim", 1, &plain);
	assert_string_equal(amount_of(arr, "SIM-DATA-3GB", "price"), "990.00");
	json_object_put(arr);
}

static void test_body(void **state)
{
	struct buf b;
	struct json_object *arr = json_object_new_array();
	(void)state;
	buf_init(&b, 4096);
	json_object_array_add(arr, json_object_new_int(1));
	json_object_array_add(arr, json_object_new_int(2));
	assert_int_equal(app_catalog_body(arr, &b), 0);
	assert_string_equal(buf_cstr(&b), "{\"data\":[1,2],\"page\":1,\"limit\":2,\"total\":2}");
	assert_int_equal(app_catalog_body(json_object_new_array(), &b), 0);
	assert_string_equal(buf_cstr(&b), "{\"data\":[],\"page\":1,\"limit\":0,\"total\":0}");
	assert_int_equal(app_catalog_body(NULL, &b), -1);
	buf_free(&b);
}

static void test_pricebook_config(void **state)
{
	struct {
		const char *text;
		int ok;
		const char *id;
	} cases[] = {
		{ "PORTAL_PRICEBOOK_ID = 01s5F0000000002QAA\n", 1, "01s5F0000000002QAA" },
		{ "PORTAL_PRICEBOOK_ID = 01s5F0000000002\n", 1, "01s5F0000000002QAA" },
		{ "PORTAL_PRICEBOOK_ID = 01s5F0000000002QAB\n", 0, NULL },  /* checksum */
		{ "PORTAL_PRICEBOOK_ID = 01t5F0000000002QAA\n", 0, NULL },  /* a Product2 id */
		{ "PORTAL_PRICEBOOK_ID = 01s5F0000000002QAA' OR Id != '\n", 0, NULL },
		{ "\n", 0, NULL },
	};
	(void)state;
	unsetenv("PORTAL_PRICEBOOK_ID");   /* the environment overrides the file */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pt_err err;
		char id[SF_ID_LEN18 + 1] = "";
		pt_err_clear(&err);
		struct pt_config *cfg = config_parse_buffer("t", cases[i].text, strlen(cases[i].text),
			&err);
		assert_non_null(cfg);
		int rc = app_catalog_pricebook_from_config(cfg, id, &err);
		if (cases[i].ok) {
			assert_int_equal(rc, 0);
			assert_string_equal(id, cases[i].id);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(err.code, PT_CONFIG_INVALID);
			assert_string_equal(err.field, "PORTAL_PRICEBOOK_ID");
		}
		config_free(cfg);
	}
}


/* ---- the use case with a stand-in for Salesforce ----------------------------- */

struct hook {
	int calls, acct_calls;
	enum pt_code fail;          /* PT_OK: answer */
	int invalidate;             /* invalidate (once) while "Salesforce" answers */
	struct redis *r;
	const char *acct_id;
};

static struct json_object *account_rows(const char *id)
{
	struct json_object *accounts = fixture("accounts.json"), *arr = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(accounts); i++) {
		struct json_object *a = json_object_array_get_idx(accounts, i);
		if (strcmp(json_str_or(a, "Id", ""), id) == 0)
			json_object_array_add(arr, json_object_get(a));
	}
	json_object_put(accounts);
	return arr;
}

static int hook_query(struct app_catalog *c, const char *soql, size_t max,
	struct json_object **rows, struct pt_err *err)
{
	struct hook *h = c->test_arg;
	int acct = strstr(soql, " FROM Account ") != NULL;
	(void)max;

	if (acct)
		h->acct_calls++;
	else
		h->calls++;
	if (h->fail != PT_OK)
		return pt_err_set(err, h->fail, "simulated failure");
	if (h->invalidate) {
		/* a change event arrives while the read is under way */
		h->invalidate = 0;
		assert_int_equal(app_catalog_invalidate(h->r, acct ? h->acct_id : NULL, NULL), 0);
	}
	*rows = acct ? account_rows(h->acct_id) : fixture_rows(NULL);
	return 0;
}

static void use_case(struct app_catalog *c, struct hook *h, struct redis *r)
{
	memset(c, 0, sizeof *c);
	c->redis = r;
	str_lcpy(c->pricebook_id, PORTAL_PRICEBOOK, sizeof c->pricebook_id);
	c->query = hook_query;
	c->test_arg = h;
}

#define CATEGORIES_BODY "{\"data\":[{\"category\":\"internet\",\"plans\":2,\"addons\":2}," \
	"{\"category\":\"sim\",\"plans\":3,\"addons\":1},{\"category\":\"vpn\",\"plans\":2,\"addons\":0}]," \
	"\"page\":1,\"limit\":3,\"total\":3}"

static int public_read(struct redis *r, struct hook *h, enum app_catalog_view v,
	const char *cat, struct buf *out, int *cached, struct pt_err *err)
{
	struct app_catalog c;
	use_case(&c, h, r);
	pt_err_clear(err);
	return app_catalog_public(&c, v, cat, out, cached, err);
}

static const char *body_skus(struct buf *b)
{
	static char out[512];
	struct json_object *o = json_tokener_parse(buf_cstr(b)), *d;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "data", &d));
	skus(d, out, sizeof out);
	json_object_put(o);
	return out;
}

/* Redis down (a closed port) or not configured: every read is live, nothing fails. */
static void test_live_without_redis(void **state)
{
	struct redis *down = redis_new("redis://127.0.0.1:1/0", 200, 200);
	struct redis *rs[] = { down, NULL };
	struct pt_err err;
	struct buf b;
	int cached;
	(void)state;
	buf_init(&b, APP_CATALOG_VALUE_MAX);
	for (size_t k = 0; k < 2; k++) {
		struct hook h = { 0 };
		assert_int_equal(public_read(rs[k], &h, APP_CATALOG_CATEGORIES, NULL, &b, &cached, &err), 0);
		assert_string_equal(buf_cstr(&b), CATEGORIES_BODY);
		assert_int_equal(cached, 0);
		assert_int_equal(public_read(rs[k], &h, APP_CATALOG_PLANS, "internet", &b, &cached, &err), 0);
		assert_string_equal(body_skus(&b), "INT-FTTH-10G,INT-FTTH-1G");
		assert_int_equal(public_read(rs[k], &h, APP_CATALOG_ADDONS, "sim", &b, &cached, &err), 0);
		assert_string_equal(body_skus(&b), "SIM-ACTIVATION");
		assert_int_equal(h.calls, 3);   /* one query per read, nothing cached */
		/* unknown: needs the catalog to know; malformed: never asks */
		assert_int_equal(public_read(rs[k], &h, APP_CATALOG_PLANS, "tv", &b, &cached, &err), -1);
		assert_int_equal(err.code, PT_NOT_FOUND);
		assert_int_equal(h.calls, 4);
		assert_int_equal(public_read(rs[k], &h, APP_CATALOG_PLANS, "x'y", &b, &cached, &err), -1);
		assert_int_equal(err.code, PT_NOT_FOUND);
		assert_int_equal(h.calls, 4);
		/* Salesforce failing, nothing cached: 503 with Retry-After, whatever it said */
		enum pt_code fails[] = { PT_UPSTREAM_UNAVAILABLE, PT_UPSTREAM_ERROR, PT_INTERNAL };
		for (size_t i = 0; i < 3; i++) {
			h.fail = fails[i];
			assert_int_equal(public_read(rs[k], &h, APP_CATALOG_CATEGORIES, NULL, &b, &cached,
				&err), -1);
			assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
			assert_int_equal(err.retry_after, APP_CATALOG_RETRY_AFTER_S);
		}
		h.fail = PT_OK;
		/* the account variant, live */
		struct app_catalog c;
		struct json_object *items = NULL;
		h.acct_id = "0015F0000000003QAA";
		use_case(&c, &h, rs[k]);
		assert_int_equal(app_catalog_account_plans(&c, h.acct_id, "sim", &items, &err), 0);
		char got[256];
		skus(items, got, sizeof got);
		assert_string_equal(got, "SIM-5G-20GB,SIM-DATA-3GB,SIM-VOICE-10GB");
		assert_string_equal(amount_of(items, "SIM-DATA-3GB", "price"), "890.00");
		json_object_put(items);
		assert_int_equal(h.acct_calls, 1);
		/* an id that is not an Account id never reaches Salesforce */
		use_case(&c, &h, rs[k]);
		assert_int_equal(app_catalog_account_plans(&c, "01t5F0000000001QAA", "sim", &items, &err), -1);
		assert_int_equal(err.code, PT_UNAUTHENTICATED);
		assert_int_equal(h.acct_calls, 1);
	}
	assert_int_equal(app_catalog_invalidate(down, NULL, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_int_equal(app_catalog_invalidate(NULL, NULL, &err), -1);
	redis_free(down);
	buf_free(&b);
}

/* ---- against a scratch Redis (PORTAL_TEST_REDIS_URL) ------------------------- */

static struct redis *scratch;
#define ACCT "0015F0000000003QAA"

static long long rint_(const char *fmt, const char *arg)
{
	struct pt_err e;
	redisReply *rep = redis_cmd(scratch, &e, fmt, arg);
	assert_non_null(rep);
	long long v = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -99;
	freeReplyObject(rep);
	return v;
}

static void clean(void)
{
	struct pt_err e;
	assert_int_equal(cache_del_prefix(scratch, "catalog:", NULL, &e), 0);
	assert_int_equal(cache_del_prefix(scratch, "acct:" ACCT ":", NULL, &e), 0);
}

/* Skips the test without PORTAL_TEST_REDIS_URL (cmocka's skip() does not
 * return); else a scratch Redis without catalog keys, behind h. */
static void scratch_begin(struct hook *h)
{
	if (!scratch)
		skip();
	clean();
	h->r = scratch;
}

static void test_redis_cache(void **state)
{
	struct hook h = { 0 };
	struct pt_err err;
	struct buf b;
	int cached;
	(void)state;
	scratch_begin(&h);
	buf_init(&b, APP_CATALOG_VALUE_MAX);
	/* cold: one query fills every key */
	assert_int_equal(public_read(scratch, &h, APP_CATALOG_PLANS, "sim", &b, &cached, &err), 0);
	assert_int_equal(cached, 0);
	assert_int_equal(h.calls, 1);
	const char *keys[] = {
		"catalog:entries", "catalog:public:categories", "catalog:public:internet:plans",
		"catalog:public:internet:addons", "catalog:public:sim:plans",
		"catalog:public:sim:addons", "catalog:public:vpn:plans", "catalog:public:vpn:addons",
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		assert_int_equal(rint_("EXISTS %s", keys[i]), 1);
		assert_int_equal(rint_("TTL %s", keys[i]), -1);   /* no TTL: events invalidate */
	}
	/* warm: bytes from Redis, no query */
	assert_int_equal(public_read(scratch, &h, APP_CATALOG_CATEGORIES, NULL, &b, &cached, &err), 0);
	assert_int_equal(cached, 1);
	assert_string_equal(buf_cstr(&b), CATEGORIES_BODY);
	assert_int_equal(public_read(scratch, &h, APP_CATALOG_PLANS, "internet", &b, &cached, &err), 0);
	assert_string_equal(body_skus(&b), "INT-FTTH-10G,INT-FTTH-1G");
	assert_int_equal(public_read(scratch, &h, APP_CATALOG_PLANS, "tv", &b, &cached, &err), -1);
	assert_int_equal(err.code, PT_NOT_FOUND);
	h.fail = PT_UPSTREAM_UNAVAILABLE;   /* Salesforce down: the cache serves */
	assert_int_equal(public_read(scratch, &h, APP_CATALOG_ADDONS, "vpn", &b, &cached, &err), 0);
	assert_int_equal(cached, 1);
	h.fail = PT_OK;
	struct app_catalog c;
	struct app_catalog_items items;
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_items_load(&c, &items, &err), 0);
	assert_int_equal(items.n, 11);   /* orderable or not: checkout tells them apart */
	app_catalog_items_free(&items);
	assert_int_equal(h.calls, 1);

	/* invalidation: everything shared goes, the next read refills */
	assert_int_equal(app_catalog_invalidate(scratch, NULL, &err), 0);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		assert_int_equal(rint_("EXISTS %s", keys[i]), 0);
	assert_int_equal(rint_("EXISTS %s", "catalog:gen"), 1);
	assert_int_equal(public_read(scratch, &h, APP_CATALOG_CATEGORIES, NULL, &b, &cached, &err), 0);
	assert_int_equal(h.calls, 2);
	assert_int_equal(rint_("EXISTS %s", "catalog:public:categories"), 1);

	/* a change event during the read: the answer is served, never cached */
	assert_int_equal(app_catalog_invalidate(scratch, NULL, &err), 0);
	h.invalidate = 1;
	assert_int_equal(public_read(scratch, &h, APP_CATALOG_CATEGORIES, NULL, &b, &cached, &err), 0);
	assert_string_equal(buf_cstr(&b), CATEGORIES_BODY);
	assert_int_equal(rint_("EXISTS %s", "catalog:public:categories"), 0);
	assert_int_equal(rint_("EXISTS %s", "catalog:entries"), 0);
	assert_int_equal(public_read(scratch, &h, APP_CATALOG_CATEGORIES, NULL, &b, &cached, &err), 0);
	assert_int_equal(h.calls, 4);
	assert_int_equal(rint_("EXISTS %s", "catalog:public:categories"), 1);
	buf_free(&b);
	clean();
}

/* The process keeps the items it read under catalog:gen: while the
 * generation stands it answers without catalog:entries, and a new one
 * (any invalidation) makes it read again. */
static void test_redis_items_memo(void **state)
{
	struct hook h = { 0 };
	struct app_catalog c;
	struct app_catalog_items a, b;
	struct pt_err err;
	(void)state;
	scratch_begin(&h);
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_items_load(&c, &a, &err), 0);   /* cold: live, gen made */
	assert_int_equal(h.calls, 1);
	assert_int_equal(rint_("EXISTS %s", "catalog:gen"), 1);
	app_catalog_items_free(&a);
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_items_load(&c, &a, &err), 0);   /* from catalog:entries */
	assert_int_equal(a.borrowed, 1);
	assert_int_equal(rint_("DEL %s", "catalog:entries"), 1);
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_items_load(&c, &b, &err), 0);   /* the process's copy */
	assert_int_equal(b.n, 11);
	assert_ptr_equal(a.v, b.v);
	assert_int_equal(h.calls, 1);
	app_catalog_items_free(&b);
	app_catalog_items_free(&a);
	assert_null(a.v);
	/* a new generation: read again (live, the entries being gone) */
	assert_int_equal(app_catalog_invalidate(scratch, NULL, &err), 0);
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_items_load(&c, &a, &err), 0);
	assert_int_equal(h.calls, 2);
	assert_int_equal(a.n, 11);
	app_catalog_items_free(&a);
	clean();
}

static char *hget_(const char *key, const char *field)
{
	struct pt_err e;
	redisReply *rep = redis_cmd(scratch, &e, "HGET %s %s", key, field);
	assert_non_null(rep);
	char *v = strdup(rep->type == REDIS_REPLY_STRING ? rep->str : "0");
	freeReplyObject(rep);
	return v;
}

/* The account route warm: the eligibility and the generation in one read
 * ahead, the items from catalog:entries once and then from the process's
 * copy; same answer as cold, nothing asked of Salesforce, the eligibility
 * counted as a cache hit. */
static void test_redis_account_plans_warm(void **state)
{
	struct hook h = { 0 };
	struct app_catalog c;
	struct json_object *items = NULL;
	struct pt_err err;
	char got[256];
	(void)state;
	scratch_begin(&h);
	h.acct_id = ACCT;
	for (int round = 0; round < 3; round++) {
		char *hits0 = hget_(CACHE_STATS_KEY, "hits");
		use_case(&c, &h, scratch);
		assert_int_equal(app_catalog_account_plans(&c, ACCT, "sim", &items, &err), 0);
		assert_null(c.ahead);
		skus(items, got, sizeof got);
		assert_string_equal(got, "SIM-5G-20GB,SIM-DATA-3GB,SIM-VOICE-10GB");
		assert_string_equal(amount_of(items, "SIM-DATA-3GB", "price"), "890.00");
		json_object_put(items);
		assert_int_equal(h.calls, 1);
		assert_int_equal(h.acct_calls, 1);
		char *hits1 = hget_(CACHE_STATS_KEY, "hits");
		/* round 1: eligibility + catalog:entries; then the process's copy */
		if (round > 0)
			assert_int_equal(atol(hits1) - atol(hits0), round == 1 ? 2 : 1);
		free(hits0);
		free(hits1);
	}
	clean();
}

static void test_redis_eligibility(void **state)
{
	struct hook h = { 0 };
	struct app_catalog c;
	struct domain_account a;
	struct pt_err err;
	(void)state;
	scratch_begin(&h);
	h.acct_id = ACCT;
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_account_load(&c, ACCT, &a, &err), 0);
	assert_true(a.family_discount);
	assert_int_equal(h.acct_calls, 1);
	assert_int_equal(rint_("TTL %s", "acct:" ACCT ":eligibility"), -1);
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_account_load(&c, "0015F0000000003", &a, &err), 0);  /* 15 chars */
	assert_true(a.family_discount);
	assert_int_equal(h.acct_calls, 1);
	/* AccountEligibilityChanged__e: that account's keys go */
	assert_int_equal(app_catalog_invalidate(scratch, ACCT, &err), 0);
	assert_int_equal(rint_("EXISTS %s", "acct:" ACCT ":eligibility"), 0);
	long long ttl = rint_("TTL %s", "acct:" ACCT ":eligibility:gen");
	assert_true(ttl > 0 && ttl <= 3600);
	/* …also during a read: not cached */
	h.invalidate = 1;
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_account_load(&c, ACCT, &a, &err), 0);
	assert_int_equal(rint_("EXISTS %s", "acct:" ACCT ":eligibility"), 0);
	use_case(&c, &h, scratch);
	assert_int_equal(app_catalog_account_load(&c, ACCT, &a, &err), 0);
	assert_int_equal(rint_("EXISTS %s", "acct:" ACCT ":eligibility"), 1);
	assert_int_equal(h.acct_calls, 3);
	/* only account ids */
	assert_int_equal(app_catalog_invalidate(scratch, "acct:*", &err), -1);
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	clean();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_category_valid),
		cmocka_unit_test(test_offered),
		cmocka_unit_test(test_unorderable),
		cmocka_unit_test(test_summarise),
		cmocka_unit_test(test_summarise_bounded),
		cmocka_unit_test(test_public_lists),
		cmocka_unit_test(test_eligibility),
		cmocka_unit_test(test_family_pricing),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_pricebook_config),
		cmocka_unit_test(test_live_without_redis),
		cmocka_unit_test(test_redis_cache),
		cmocka_unit_test(test_redis_items_memo),
		cmocka_unit_test(test_redis_account_plans_warm),
		cmocka_unit_test(test_redis_eligibility),
	};
	const char *u = getenv("PORTAL_TEST_REDIS_URL");
	if (u && *u)
		scratch = redis_new(u, 1000, 1000);
	else
		printf("test_app_catalog: PORTAL_TEST_REDIS_URL not set, skipped the Redis tests\n");
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	redis_free(scratch);
	return rc;
}
