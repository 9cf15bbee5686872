/* app/catalog — load, group, render and cache the portal catalog.
 *
 * Cache writes are guarded by a generation value: a filler reads the
 * generation before it asks Salesforce and writes its result only if the
 * generation is still the same (one EVAL), and an invalidation changes the
 * generation before it deletes. So a read that overlapped a change event can
 * never put the old catalog back for good (there is no TTL to end it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/catalog.h"
#include "core/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "salesforce/rest.h"
#include "store/cache.h"
#include "store/redis.h"

/* How long an account's generation outlives its invalidation: far longer
 * than any Salesforce read can take, short enough not to pile up keys. */
#define ACCT_GEN_TTL_S "3600"
#define GEN_MAX 64

/* KEYS[1] = generation key, KEYS[2..] = keys to set; ARGV[1] = generation
 * seen before the read ("" = none), ARGV[i] = value of KEYS[i]. */
static const char store_lua[] =
	"local g = redis.call('GET', KEYS[1]) or '' "
	"if g ~= ARGV[1] then return 0 end "
	"for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i]) end "
	"return 1";

/* ---- pure functions --------------------------------------------------------- */

int app_catalog_category_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= APP_CATALOG_CATEGORY_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

int app_catalog_offered(const struct domain_catalog_item *it)
{
	return it->orderable && app_catalog_category_valid(it->category);
}

int app_catalog_eligible(const struct domain_catalog_item *it, const struct domain_account *a)
{
	return domain_account_eligible(a, it->eligibility_group);
}

/* Family pricing is a SIM offer (salesforce-org.md SIM_Family_Discount__c). */
static int family_for(const struct domain_catalog_item *it, const struct domain_account *a)
{
	return a && a->family_discount && strcmp(it->category, "sim") == 0 &&
		domain_catalog_is_plan(it) && it->family_price[0];
}

const char *app_catalog_price_for(const struct domain_catalog_item *it,
	const struct domain_account *a)
{
	return family_for(it, a) ? it->family_price : it->price;
}

static int category_cmp(const void *x, const void *y)
{
	return strcmp(((const struct app_catalog_category *)x)->name,
		((const struct app_catalog_category *)y)->name);
}

int app_catalog_summary_find(const struct app_catalog_summary *s, const char *category)
{
	for (size_t i = 0; category && i < s->n; i++)
		if (strcmp(s->v[i].name, category) == 0)
			return (int)i;
	return -1;
}

void app_catalog_summarise(const struct domain_catalog_item *items, size_t n,
	struct app_catalog_summary *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		const struct domain_catalog_item *it = &items[i];
		if (!app_catalog_offered(it))
			continue;
		int k = app_catalog_summary_find(out, it->category);
		if (k < 0) {
			if (out->n == APP_CATALOG_CATEGORIES_MAX)
				continue;
			k = (int)out->n++;
			str_lcpy(out->v[k].name, it->category, sizeof out->v[k].name);
		}
		if (domain_catalog_is_plan(it))
			out->v[k].plans++;
		else
			out->v[k].addons++;
	}
	qsort(out->v, out->n, sizeof out->v[0], category_cmp);
}

struct json_object *app_catalog_list_json(const struct domain_catalog_item *items, size_t n,
	const char *category, int plans, const struct domain_account *a)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < n; i++) {
		const struct domain_catalog_item *it = &items[i];
		if (!app_catalog_offered(it) || strcmp(it->category, category) != 0 ||
		    domain_catalog_is_plan(it) != !!plans || (a && !app_catalog_eligible(it, a)))
			continue;
		struct json_object *o = domain_catalog_item_json(it, family_for(it, a));
		if (!o || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

struct json_object *app_catalog_summary_json(const struct app_catalog_summary *s)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < s->n; i++) {
		struct json_object *o = json_object_new_object();
		if (!o || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
		json_object_object_add(o, "category", json_object_new_string(s->v[i].name));
		json_object_object_add(o, "plans", json_object_new_int64((int64_t)s->v[i].plans));
		json_object_object_add(o, "addons", json_object_new_int64((int64_t)s->v[i].addons));
	}
	return arr;
}

int app_catalog_body(struct json_object *items, struct buf *out)
{
	struct json_object *o;
	size_t len, n;
	const char *s;
	int rc = -1;

	if (!items)
		return -1;
	n = json_object_array_length(items);
	o = json_object_new_object();
	if (!o) {
		json_object_put(items);
		return -1;
	}
	json_object_object_add(o, "data", items);
	json_object_object_add(o, "page", json_object_new_int64(1));
	json_object_object_add(o, "limit", json_object_new_int64((int64_t)n));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)n));
	buf_reset(out);
	s = json_compact(o, &len);
	if (s && buf_append(out, s, len) == 0)
		rc = 0;
	json_object_put(o);
	return rc;
}

/* ---- config ------------------------------------------------------------------- */

int app_catalog_pricebook_from_config(const struct pt_config *cfg,
	char out[SF_ID_LEN18 + 1], struct pt_err *err)
{
	const char *id = config_get(cfg, "PORTAL_PRICEBOOK_ID");

	if (id && *id && sf_soql_id_check(id, "01s", out, NULL) == 0)
		return 0;
	return pt_err_field(err, PT_CONFIG_INVALID, "PORTAL_PRICEBOOK_ID",
		"PORTAL_PRICEBOOK_ID: %s", id && *id ?
		"not a Pricebook2 id (01s…, 15 or 18 characters with a valid checksum)" : "missing");
}

/* ---- Redis helpers -------------------------------------------------------------- */

/* The generation now ("" when there is none). -1 when Redis is away: then
 * nothing read afterwards may be cached. */
static int gen_read(struct redis *r, const char *key, char gen[GEN_MAX])
{
	struct pt_err e;
	redisReply *rep;
	int rc = -1;

	gen[0] = '\0';
	if (!r)
		return -1;
	pt_err_clear(&e);
	rep = redis_cmd(r, &e, "GET %s", key);
	if (rep && rep->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (rep && rep->type == REDIS_REPLY_STRING && rep->len < GEN_MAX) {
		memcpy(gen, rep->str, rep->len);
		gen[rep->len] = '\0';
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

/* A new generation: unguessable and never equal to an earlier one. */
static int gen_new(char gen[GEN_MAX])
{
	return rand_hex(gen, GEN_MAX, 12);
}

/* Makes sure key holds a generation before a live read starts (SET NX, so
 * an invalidation that got there first wins) and reads it back into gen.
 * The per-process copy of the items is keyed by a non-empty generation:
 * without this the catalog would have none until the first change event. */
static int gen_ensure(struct redis *r, const char *key, char gen[GEN_MAX])
{
	char fresh[GEN_MAX];
	struct pt_err e;
	redisReply *rep;

	if (*gen)
		return 0;
	if (gen_new(fresh) != 0)
		return -1;
	pt_err_clear(&e);
	rep = redis_cmd(r, &e, "SET %s %s NX", key, fresh);
	int ok = rep && rep->type != REDIS_REPLY_ERROR;
	freeReplyObject(rep);
	return ok ? gen_read(r, key, gen) : -1;
}

struct kv {
	const char *key;
	const char *val;
	size_t len;
};

/* Sets every kv if the generation is still gen. 1 stored, 0 not (an
 * invalidation came in between), -1 Redis failed. */
static int store_if_gen(struct redis *r, const char *gen_key, const char *gen,
	const struct kv *kv, size_t n)
{
	const char **argv = calloc(2 * n + 5, sizeof *argv);
	size_t *lens = calloc(2 * n + 5, sizeof *lens);
	char nkeys[24];
	struct pt_err e;
	redisReply *rep = NULL;
	int rc = -1;

	if (!argv || !lens)
		goto out;
	snprintf(nkeys, sizeof nkeys, "%zu", n + 1);
	size_t a = 0;
	argv[a] = "EVAL", lens[a++] = 4;
	argv[a] = store_lua, lens[a++] = sizeof store_lua - 1;
	argv[a] = nkeys, lens[a++] = strlen(nkeys);
	argv[a] = gen_key, lens[a++] = strlen(gen_key);
	for (size_t i = 0; i < n; i++)
		argv[a] = kv[i].key, lens[a++] = strlen(kv[i].key);
	argv[a] = gen, lens[a++] = strlen(gen);
	for (size_t i = 0; i < n; i++)
		argv[a] = kv[i].val, lens[a++] = kv[i].len;
	pt_err_clear(&e);
	rep = redis_cmd_argv(r, &e, (int)a, argv, lens);
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		rc = rep->integer == 1;
	else
		log_warn("cache unavailable, not stored", "system", "redis", "key", kv[0].key,
			"error", rep && rep->type == REDIS_REPLY_ERROR ? rep->str : e.detail);
out:
	freeReplyObject(rep);
	free(argv);
	free(lens);
	return rc;
}

static int key_public(struct buf *key, const char *category, enum app_catalog_view view)
{
	char suffix[64];

	if (view == APP_CATALOG_CATEGORIES)
		return cache_key_global(key, "catalog", "public:categories", NULL);
	snprintf(suffix, sizeof suffix, "public:%s:%s", category,
		view == APP_CATALOG_PLANS ? "plans" : "addons");
	return cache_key_global(key, "catalog", suffix, NULL);
}

/* The value of key from the MGET done ahead (read_ahead): 1 when key was
 * one of its keys (*v NULL: the key does not exist), else 0. */
static int ahead_get(const struct app_catalog *c, const char *key, const char **v, size_t *len)
{
	const redisReply *rep = c->ahead;

	if (!rep)
		return 0;
	for (size_t i = 0; i < rep->elements && i < 2; i++) {
		if (!c->ahead_keys[i] || strcmp(c->ahead_keys[i], key) != 0)
			continue;
		const redisReply *e = rep->element[i];
		*v = e->type == REDIS_REPLY_STRING ? e->str : NULL;
		*len = *v ? e->len : 0;
		return 1;
	}
	return 0;
}

/* Reads the cache value k1 and the plain key k2 in one round trip; their
 * later reads in this call cost nothing. A Redis failure makes the rest of
 * the call live reads, as cache_read does. */
static void read_ahead(struct app_catalog *c, const char *k1, const char *k2)
{
	struct pt_err e;
	redisReply *rep;

	if (!c->redis)
		return;
	pt_err_clear(&e);
	rep = cache_get_with(c->redis, k1, k2, &e);
	if (!rep) {
		if (e.code == PT_UPSTREAM_UNAVAILABLE)
			c->redis = NULL;
		return;
	}
	c->ahead_keys[0] = k1;
	c->ahead_keys[1] = k2;
	c->ahead = rep;
}

static void ahead_free(struct app_catalog *c)
{
	freeReplyObject(c->ahead);
	c->ahead = NULL;
	c->ahead_keys[0] = c->ahead_keys[1] = NULL;
}

/* The generation of key for this call, from the read ahead when there was one. */
static int gen_read_c(struct app_catalog *c, const char *key, char gen[GEN_MAX])
{
	const char *v;
	size_t len;

	gen[0] = '\0';
	if (!ahead_get(c, key, &v, &len))
		return gen_read(c->redis, key, gen);
	if (len >= GEN_MAX)
		return -1;
	if (v) {
		memcpy(gen, v, len);
		gen[len] = '\0';
	}
	return 0;
}

/* cache_get for this call; a Redis failure turns the rest of the call into
 * live reads (c is the caller's per-call copy), so an outage costs one
 * connect attempt per request, not one per key. */
static int cache_read(struct app_catalog *c, const char *key, struct buf *out)
{
	struct pt_err e;
	const char *v;
	size_t len;

	if (!c->redis)
		return 0;
	if (ahead_get(c, key, &v, &len)) {
		buf_reset(out);   /* over out's bound: a miss, read live */
		return v && buf_append(out, v, len) == 0;
	}
	pt_err_clear(&e);
	int hit = cache_get(c->redis, key, out, &e);
	if (hit != 1 && e.code == PT_UPSTREAM_UNAVAILABLE)
		c->redis = NULL;
	return hit == 1;
}

/* ---- live read ---------------------------------------------------------------- */

static void upstream_down(struct pt_err *err, const char *what)
{
	/* Whatever Salesforce did (down, slow, malformed), the customer can
	 * only try again later: 503 with Retry-After (portal-api.md). */
	if (err && err->code != PT_UPSTREAM_UNAVAILABLE) {
		log_warn("salesforce read failed", "what", what, "code",
			pt_err_code_name(err->code), "error", err->detail);
		err->code = PT_UPSTREAM_UNAVAILABLE;
	}
	if (err && err->retry_after <= 0)
		err->retry_after = APP_CATALOG_RETRY_AFTER_S;
}

/* Rows → items; a row the mapper refuses is left out and logged (one bad
 * product must not take the catalog down). */
static int items_from_rows(struct json_object *rows, struct app_catalog_items *out,
	struct pt_err *err)
{
	size_t n = json_object_is_type(rows, json_type_array) ? json_object_array_length(rows) : 0;

	out->v = NULL;
	out->n = 0;
	if (!json_object_is_type(rows, json_type_array))
		return pt_err_set(err, PT_UPSTREAM_ERROR, "catalog: rows are not an array");
	if (n == 0)
		return 0;
	out->v = calloc(n, sizeof *out->v);
	if (!out->v)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct pt_err e;
		pt_err_clear(&e);
		if (domain_catalog_item_from_sf(json_object_array_get_idx(rows, i), &out->v[out->n],
			&e) == 0)
			out->n++;
		else
			log_warn("catalog row skipped", "system", "salesforce", "reason", e.detail);
	}
	return 0;
}

static int sf_query(struct app_catalog *c, const char *soql, size_t max,
	struct json_object **rows, long *total, struct pt_err *err)
{
	if (c->query) {
		int rc = c->query(c, soql, max, rows, err);
		if (rc == 0 && total)
			*total = (long)json_object_array_length(*rows);
		return rc;
	}
	if (!c->sf)
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "salesforce client not configured");
	return sf_rest_query(c->sf, soql, max, rows, total, err);
}

static int query_rows(struct app_catalog *c, struct json_object **rows, struct pt_err *err)
{
	struct buf q;
	long total = 0;
	int rc = -1;

	*rows = NULL;
	buf_init(&q, 16384);
	if (domain_catalog_soql(&q, c->pricebook_id, NULL, err) != 0)
		goto out;
	if (sf_query(c, buf_cstr(&q), APP_CATALOG_ROWS_MAX, rows, &total, err) != 0)
		goto out;
	if (total > APP_CATALOG_ROWS_MAX) {
		char t[24];
		log_warn("catalog larger than the portal reads, rest ignored", "rows",
			log_itoa(total, t));
	}
	rc = 0;
out:
	buf_free(&q);
	return rc;
}

/* Every response body of the public catalog, rendered once. */
struct rendered {
	struct app_catalog_summary sum;
	struct buf categories;
	struct buf plans[APP_CATALOG_CATEGORIES_MAX];
	struct buf addons[APP_CATALOG_CATEGORIES_MAX];
};

static void rendered_free(struct rendered *rd)
{
	buf_free(&rd->categories);
	for (size_t i = 0; i < APP_CATALOG_CATEGORIES_MAX; i++) {
		buf_free(&rd->plans[i]);
		buf_free(&rd->addons[i]);
	}
}

static int render_all(const struct app_catalog_items *items, struct rendered *rd,
	struct pt_err *err)
{
	memset(rd, 0, sizeof *rd);
	buf_init(&rd->categories, APP_CATALOG_VALUE_MAX);
	for (size_t i = 0; i < APP_CATALOG_CATEGORIES_MAX; i++) {
		buf_init(&rd->plans[i], APP_CATALOG_VALUE_MAX);
		buf_init(&rd->addons[i], APP_CATALOG_VALUE_MAX);
	}
	app_catalog_summarise(items->v, items->n, &rd->sum);
	if (app_catalog_body(app_catalog_summary_json(&rd->sum), &rd->categories) != 0)
		return pt_err_set(err, PT_INTERNAL, "catalog: rendering failed");
	for (size_t i = 0; i < rd->sum.n; i++) {
		const char *cat = rd->sum.v[i].name;
		if (app_catalog_body(app_catalog_list_json(items->v, items->n, cat, 1, NULL),
			&rd->plans[i]) != 0 ||
		    app_catalog_body(app_catalog_list_json(items->v, items->n, cat, 0, NULL),
			&rd->addons[i]) != 0)
			return pt_err_set(err, PT_INTERNAL, "catalog: rendering failed");
	}
	return 0;
}

static void store_rendered(struct app_catalog *c, const char *gen, struct json_object *rows,
	const struct rendered *rd)
{
	struct kv kv[2 + 2 * APP_CATALOG_CATEGORIES_MAX];
	struct buf keys[2 * APP_CATALOG_CATEGORIES_MAX];
	size_t n = 0, nk = 0, len = 0;
	const char *rows_s = json_compact(rows, &len);

	if (!rows_s)
		return;
	kv[n++] = (struct kv){ APP_CATALOG_KEY_ENTRIES, rows_s, len };
	kv[n++] = (struct kv){ APP_CATALOG_KEY_CATEGORIES, rd->categories.data, rd->categories.len };
	for (size_t i = 0; i < rd->sum.n; i++) {
		buf_init(&keys[nk], CACHE_KEY_MAX);
		buf_init(&keys[nk + 1], CACHE_KEY_MAX);
		if (key_public(&keys[nk], rd->sum.v[i].name, APP_CATALOG_PLANS) != 0 ||
		    key_public(&keys[nk + 1], rd->sum.v[i].name, APP_CATALOG_ADDONS) != 0) {
			nk += 2;
			goto out;
		}
		kv[n++] = (struct kv){ buf_cstr(&keys[nk]), rd->plans[i].data, rd->plans[i].len };
		kv[n++] = (struct kv){ buf_cstr(&keys[nk + 1]), rd->addons[i].data,
			rd->addons[i].len };
		nk += 2;
	}
	if (store_if_gen(c->redis, APP_CATALOG_KEY_GEN, gen, kv, n) == 0)
		log_info("catalog changed while it was read: not cached");
out:
	for (size_t i = 0; i < nk; i++)
		buf_free(&keys[i]);
}

/* Reads Salesforce, maps, renders, caches (when Redis is there and no
 * invalidation overlapped). items and rd are the caller's (free both). */
static int fill(struct app_catalog *c, struct app_catalog_items *items, struct rendered *rd,
	struct pt_err *err)
{
	struct json_object *rows = NULL;
	char gen[GEN_MAX] = "";
	char n[24];
	int can_cache = c->redis && gen_read(c->redis, APP_CATALOG_KEY_GEN, gen) == 0 &&
		gen_ensure(c->redis, APP_CATALOG_KEY_GEN, gen) == 0;
	int rc = -1;

	memset(rd, 0, sizeof *rd);
	items->v = NULL;
	items->n = 0;
	if (query_rows(c, &rows, err) != 0 || items_from_rows(rows, items, err) != 0) {
		upstream_down(err, "catalog");
		goto out;
	}
	if (render_all(items, rd, err) != 0)
		goto out;
	log_info("catalog read from salesforce", "system", "salesforce", "items",
		log_itoa((long)items->n, n));
	if (can_cache)
		store_rendered(c, gen, rows, rd);
	rc = 0;
out:
	json_object_put(rows);
	return rc;
}

/* ---- public reads ------------------------------------------------------------- */

/* When the categories are cached but this category's list is not, the
 * category is (almost always) unknown: answer that without Salesforce, so
 * made-up category names cannot be used to make us query it. 1 known or
 * can't tell, 0 unknown. */
static int category_known_in_cache(struct app_catalog *c, const char *category)
{
	struct buf v;
	struct json_object *doc = NULL, *data = NULL;
	int known = 1;

	buf_init(&v, APP_CATALOG_VALUE_MAX);
	if (!cache_read(c, APP_CATALOG_KEY_CATEGORIES, &v))
		goto out;
	doc = json_parse_bounded(v.data, v.len, APP_CATALOG_VALUE_MAX, JSON_DEFAULT_MAX_DEPTH, NULL);
	if (!doc || !json_object_object_get_ex(doc, "data", &data) ||
	    !json_object_is_type(data, json_type_array))
		goto out;
	known = 0;
	for (size_t i = 0; i < json_object_array_length(data); i++)
		if (strcmp(json_str_or(json_object_array_get_idx(data, i), "category", ""),
			category) == 0)
			known = 1;
out:
	json_object_put(doc);
	buf_free(&v);
	return known;
}

int app_catalog_public(struct app_catalog *c, enum app_catalog_view view,
	const char *category, struct buf *out, int *cached, struct pt_err *err)
{
	struct app_catalog_items items = { 0 };
	struct rendered rd;
	struct buf key;
	int rc = -1;

	if (cached)
		*cached = 0;
	if (view != APP_CATALOG_CATEGORIES && !app_catalog_category_valid(category))
		return pt_err_set(err, PT_NOT_FOUND, "catalog: no such category");
	buf_init(&key, CACHE_KEY_MAX);
	if (key_public(&key, category, view) != 0) {
		buf_free(&key);
		return pt_err_set(err, PT_INTERNAL, "catalog: key");
	}
	if (cache_read(c, buf_cstr(&key), out)) {
		if (cached)
			*cached = 1;
		buf_free(&key);
		return 0;
	}
	buf_free(&key);
	if (view != APP_CATALOG_CATEGORIES && !category_known_in_cache(c, category))
		return pt_err_set(err, PT_NOT_FOUND, "catalog: no such category");
	if (fill(c, &items, &rd, err) != 0)
		goto out;
	const struct buf *b = &rd.categories;
	if (view != APP_CATALOG_CATEGORIES) {
		int k = app_catalog_summary_find(&rd.sum, category);
		if (k < 0) {
			pt_err_set(err, PT_NOT_FOUND, "catalog: no such category");
			goto out;
		}
		b = view == APP_CATALOG_PLANS ? &rd.plans[k] : &rd.addons[k];
	}
	buf_reset(out);
	if (buf_append(out, b->data, b->len) != 0) {
		pt_err_set(err, PT_INTERNAL, "catalog: response too large");
		goto out;
	}
	rc = 0;
out:
	rendered_free(&rd);
	app_catalog_items_free(&items);
	return rc;
}

/* ---- items, account ----------------------------------------------------------- */

/* The items this process last read from catalog:entries, and the generation
 * they were read under. A warm account read then costs a GET of catalog:gen
 * instead of a GET of the whole catalog and a JSON parse of it (the profile
 * in docs/performance.md). Valid while catalog:gen is unchanged: every
 * invalidation sets a new random one before it deletes anything, and the
 * entries read after a generation was read are at least that new (a fill
 * stores only under the generation it started with). Replaced only while
 * nobody borrows it (single-threaded: one request at a time). */
static struct {
	struct app_catalog_items items;
	char gen[GEN_MAX];
	int held;
} memo;

void app_catalog_items_free(struct app_catalog_items *items)
{
	if (!items)
		return;
	if (items->borrowed)
		memo.held--;
	else
		free(items->v);
	memset(items, 0, sizeof *items);
}

static void memo_lend(struct app_catalog_items *out)
{
	*out = memo.items;
	out->borrowed = 1;
	memo.held++;
}

/* out becomes the process's copy (under gen) and is lent back to the caller. */
static void memo_keep(const char *gen, struct app_catalog_items *out)
{
	if (!*gen || memo.held > 0)
		return;
	free(memo.items.v);
	memo.items = *out;
	str_lcpy(memo.gen, gen, sizeof memo.gen);
	memo_lend(out);
}

static int items_from_cache(struct app_catalog *c, struct app_catalog_items *out)
{
	struct buf v;
	struct json_object *rows = NULL;
	int rc = -1;

	buf_init(&v, APP_CATALOG_VALUE_MAX);
	if (!cache_read(c, APP_CATALOG_KEY_ENTRIES, &v))
		goto out;
	rows = json_parse_bounded(v.data, v.len, APP_CATALOG_VALUE_MAX, JSON_DEFAULT_MAX_DEPTH, NULL);
	if (!rows || items_from_rows(rows, out, NULL) != 0) {
		log_warn("cached catalog unreadable, reading live", "key", APP_CATALOG_KEY_ENTRIES);
		goto out;
	}
	rc = 0;
out:
	json_object_put(rows);
	buf_free(&v);
	return rc;
}

int app_catalog_items_load(struct app_catalog *c, struct app_catalog_items *out,
	struct pt_err *err)
{
	struct rendered rd;
	char gen[GEN_MAX] = "";
	int rc;

	memset(out, 0, sizeof *out);
	if (c->redis && gen_read_c(c, APP_CATALOG_KEY_GEN, gen) == 0 && *gen &&
	    memo.items.v && strcmp(memo.gen, gen) == 0) {
		memo_lend(out);
		return 0;
	}
	if (items_from_cache(c, out) == 0) {
		memo_keep(gen, out);
		return 0;
	}
	rc = fill(c, out, &rd, err);
	rendered_free(&rd);
	if (rc != 0)
		app_catalog_items_free(out);
	return rc;
}

static int account_from_cache(struct app_catalog *c, const char *key, struct domain_account *a)
{
	struct buf v;
	struct json_object *rec = NULL;
	int rc = -1;

	buf_init(&v, 16384);
	if (!cache_read(c, key, &v))
		goto out;
	rec = json_parse_bounded(v.data, v.len, 16384, 4, NULL);
	if (!rec || domain_account_from_sf(rec, a, NULL) != 0) {
		log_warn("cached eligibility unreadable, reading live", "key", key);
		goto out;
	}
	rc = 0;
out:
	json_object_put(rec);
	buf_free(&v);
	return rc;
}

int app_catalog_account_load(struct app_catalog *c, const char *sf_account_id,
	struct domain_account *out, struct pt_err *err)
{
	char id[SF_ID_LEN18 + 1], gen[GEN_MAX] = "";
	struct buf key, gen_key, q;
	struct json_object *rows = NULL, *sub = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	buf_init(&key, CACHE_KEY_MAX);
	buf_init(&gen_key, CACHE_KEY_MAX);
	buf_init(&q, 4096);
	if (sf_soql_id_check(sf_account_id, "001", id, NULL) != 0 ||
	    cache_key_acct(&key, id, "eligibility", err) != 0 ||
	    cache_key_acct(&gen_key, id, "eligibility:gen", err) != 0) {
		pt_err_set(err, PT_UNAUTHENTICATED, "session without a valid account id");
		goto out;
	}
	if (account_from_cache(c, buf_cstr(&key), out) == 0) {
		rc = 0;
		goto out;
	}
	int can_cache = c->redis && gen_read(c->redis, buf_cstr(&gen_key), gen) == 0;
	if (domain_account_soql_by_id(&q, id, err) != 0)
		goto out;
	if (sf_query(c, buf_cstr(&q), 1, &rows, NULL, err) != 0) {
		upstream_down(err, "account");
		goto out;
	}
	if (json_object_array_length(rows) == 0) {
		/* A session's account that Salesforce does not know: show it
		 * nothing gated, and do not cache (no event would ever clear it). */
		log_warn("account of the session not in salesforce", "sf_account_id", id);
		str_lcpy(out->id, id, sizeof out->id);
		rc = 0;
		goto out;
	}
	sub = domain_account_eligibility_record(json_object_array_get_idx(rows, 0));
	if (!sub || domain_account_from_sf(sub, out, err) != 0) {
		upstream_down(err, "account");
		goto out;
	}
	if (can_cache) {
		size_t len = 0;
		const char *s = json_compact(sub, &len);
		struct kv kv = { buf_cstr(&key), s, len };
		if (s)
			store_if_gen(c->redis, buf_cstr(&gen_key), gen, &kv, 1);
	}
	rc = 0;
out:
	json_object_put(sub);
	json_object_put(rows);
	buf_free(&q);
	buf_free(&gen_key);
	buf_free(&key);
	return rc;
}

int app_catalog_account_plans(struct app_catalog *c, const char *sf_account_id,
	const char *category, struct json_object **items_out, struct pt_err *err)
{
	struct app_catalog_items items = { 0 };
	struct app_catalog_summary sum;
	struct domain_account a;
	char id[SF_ID_LEN18 + 1];
	struct buf key;
	int rc = -1;

	*items_out = NULL;
	if (!app_catalog_category_valid(category))
		return pt_err_set(err, PT_NOT_FOUND, "catalog: no such category");
	/* A warm read is then two round trips to Redis: the session, and this. */
	buf_init(&key, CACHE_KEY_MAX);
	if (sf_soql_id_check(sf_account_id, "001", id, NULL) == 0 &&
	    cache_key_acct(&key, id, "eligibility", NULL) == 0)
		read_ahead(c, buf_cstr(&key), APP_CATALOG_KEY_GEN);
	if (app_catalog_account_load(c, sf_account_id, &a, err) != 0 ||
	    app_catalog_items_load(c, &items, err) != 0)
		goto out;
	app_catalog_summarise(items.v, items.n, &sum);
	if (app_catalog_summary_find(&sum, category) < 0) {
		pt_err_set(err, PT_NOT_FOUND, "catalog: no such category");
		goto out;
	}
	*items_out = app_catalog_list_json(items.v, items.n, category, 1, &a);
	if (!*items_out) {
		pt_err_set(err, PT_INTERNAL, "catalog: rendering failed");
		goto out;
	}
	rc = 0;
out:
	app_catalog_items_free(&items);
	ahead_free(c);
	buf_free(&key);
	return rc;
}

/* ---- invalidation --------------------------------------------------------------- */

int app_catalog_invalidate(struct redis *r, const char *sf_account_id, struct pt_err *err)
{
	char gen[GEN_MAX], id[SF_ID_LEN18 + 1];
	struct buf gen_key, key, prefix;
	redisReply *rep = NULL;
	int rc = -1;

	buf_init(&gen_key, CACHE_KEY_MAX);
	buf_init(&key, CACHE_KEY_MAX);
	buf_init(&prefix, CACHE_KEY_MAX);
	if (!r) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis not configured");
		goto out;
	}
	if (gen_new(gen) != 0) {
		pt_err_set(err, PT_INTERNAL, "no randomness");
		goto out;
	}
	if (!sf_account_id) {
		/* New generation first: a fill in flight will not write back. */
		rep = redis_cmd(r, err, "SET %s %s", APP_CATALOG_KEY_GEN, gen);
		if (!rep || rep->type == REDIS_REPLY_ERROR)
			goto fail;
		if (cache_del_prefix(r, APP_CATALOG_PUBLIC_PREFIX, NULL, err) != 0 ||
		    cache_del(r, APP_CATALOG_KEY_ENTRIES, err) != 0)
			goto out;
		log_info("catalog cache invalidated", "scope", "catalog");
		rc = 0;
		goto out;
	}
	if (sf_soql_id_check(sf_account_id, "001", id, NULL) != 0 ||
	    cache_key_acct(&gen_key, id, "eligibility:gen", err) != 0 ||
	    cache_key_acct(&key, id, "eligibility", err) != 0 ||
	    cache_key_acct(&prefix, id, "catalog:", err) != 0) {
		pt_err_field(err, PT_VALIDATION_FAILED, "sf_account_id", "not an account id");
		goto out;
	}
	rep = redis_cmd(r, err, "SET %s %s EX " ACCT_GEN_TTL_S, buf_cstr(&gen_key), gen);
	if (!rep || rep->type == REDIS_REPLY_ERROR)
		goto fail;
	if (cache_del(r, buf_cstr(&key), err) != 0 ||
	    cache_del_prefix(r, buf_cstr(&prefix), NULL, err) != 0)
		goto out;
	log_info("catalog cache invalidated", "scope", "account", "sf_account_id", id);
	rc = 0;
	goto out;
fail:
	if (rep && rep->type == REDIS_REPLY_ERROR)
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: %.200s", rep->str);
out:
	freeReplyObject(rep);
	buf_free(&prefix);
	buf_free(&key);
	buf_free(&gen_key);
	return rc;
}
