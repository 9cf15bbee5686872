/* Integration: the Salesforce client against tests/sim/salesforce_sim.py —
 * paging, get/create/update, composite order, token expiry → one refresh,
 * 429/503/timeout/drop faults → the right pt_err within the timeout and no
 * retried writes (checked with /__sim/calls), Redis down → still works.
 * Needs PORTAL_TEST_SF_URL (simulator started with --batch-size 2) and
 * PORTAL_TEST_REDIS_URL; exits 77 (skipped) without them. */
#include <time.h>
#include <unistd.h>

#include "core/http.h"
#include "domain/catalog.h"
#include "domain/order.h"
#include "domain/support.h"
#include "sf_sim.h"
#include "store/redis.h"

#define TIMEOUT_MS 2000L

static int failures;
static const char *sf;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
	printf(__VA_ARGS__); printf("\n"); } else { printf("ok   %s\n", #cond); } } while (0)

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void fault(const char *spec)
{
	json_object_put(sim_ctl(sf, "POST", "/__sim/faults", spec));
}

static void test_query_paging(struct sf_client *c)
{
	struct json_object *rows = NULL;
	struct pt_err e = { 0 };
	struct buf q;
	long total = 0;

	buf_init(&q, 0);
	sf_soql_build(&q, &e, "SELECT %F, %F FROM %O ORDER BY %F", "Account", "Id", "Account",
		"Customer_Number__c", "Account", "Account", "Customer_Number__c");
	int rc = sf_rest_query(c, buf_cstr(&q), 100, &rows, &total, &e);
	CHECK(rc == 0, "query: %s %s", e.detail, e.provider_code);
	CHECK(rows && json_object_array_length(rows) == (size_t)total && total >= 6,
		"all %ld rows across pages", total);
	CHECK(sim_count(sf, "queryMore", 200) >= 2, "nextRecordsUrl followed");
	json_object_put(rows);
	rc = sf_rest_query(c, buf_cstr(&q), 3, &rows, &total, &e);
	CHECK(rc == 0 && json_object_array_length(rows) == 3, "bounded to 3 rows");
	json_object_put(rows);
	buf_free(&q);
}

static void test_sobjects(struct sf_client *c)
{
	struct pt_err e = { 0 };
	struct json_object *rec = NULL, *body;
	const char *fields[] = { "Name", "Customer_Number__c", NULL };
	char id[19];

	int rc = sf_rest_get(c, "Account", "0015F0000000001", fields, &rec, &e);
	CHECK(rc == 0 && strcmp(json_object_get_string(json_object_object_get(rec, "Customer_Number__c")),
		"CN10000001") == 0, "get account: %s", e.detail);
	json_object_put(rec);
	rc = sf_rest_get(c, "Account", "0015F0000000999QAA", fields, &rec, &e);
	CHECK(rc == -1 && e.code == PT_NOT_FOUND, "unknown id → NOT_FOUND (%s)", e.provider_code);

	body = domain_case_sf_new("0015F0000000001QAA", "0035F0000000002QAA", "Router it's \"broken\"",
		"Line 1\nLine 2", "high", "technical", &e);
	rc = sf_rest_create(c, "Case", body, id, &e);
	json_object_put(body);
	CHECK(rc == 0 && strncmp(id, "500", 3) == 0, "create case: %s", e.detail);
	body = json_object_new_object();
	json_object_object_add(body, "Subject", json_object_new_string("Updated subject"));
	rc = sf_rest_update(c, "Case", id, body, &e);
	json_object_put(body);
	CHECK(rc == 0, "update case: %s", e.detail);
	const char *cf[] = { "Subject", "Origin", NULL };
	rc = sf_rest_get(c, "Case", id, cf, &rec, &e);
	CHECK(rc == 0 && strcmp(json_object_get_string(json_object_object_get(rec, "Subject")),
		"Updated subject") == 0, "update visible");
	json_object_put(rec);

	/* the case with comments through the domain query and mapper */
	struct buf q;
	struct json_object *rows = NULL;
	buf_init(&q, 0);
	domain_case_soql_by_id(&q, "5005F0000000001QAA", "0015F0000000001QAA", &e);
	rc = sf_rest_query(c, buf_cstr(&q), 1, &rows, NULL, &e);
	struct domain_case *dc = rc == 0 && json_object_array_length(rows) == 1
		? domain_case_from_sf(json_object_array_get_idx(rows, 0), &e) : NULL;
	CHECK(dc && dc->ncomments >= 1, "case + published comments via subquery: %s", e.detail);
	domain_case_free(dc);
	json_object_put(rows);
	buf_free(&q);
}

static int find_entry(struct sf_client *c, const char *sku, struct domain_catalog_item *out)
{
	struct pt_err e = { 0 };
	struct json_object *rows = NULL;
	struct buf q;
	int found = 0;

	buf_init(&q, 0);
	domain_catalog_soql(&q, "01s5F0000000002QAA", NULL, &e);
	if (sf_rest_query(c, buf_cstr(&q), 500, &rows, NULL, &e) == 0) {
		for (size_t i = 0; i < json_object_array_length(rows); i++) {
			struct domain_catalog_item it;
			if (domain_catalog_item_from_sf(json_object_array_get_idx(rows, i), &it, &e) == 0 &&
			    strcmp(it.sku, sku) == 0) {
				*out = it;
				found = 1;
			}
		}
	} else {
		printf("catalog query: %s %s\n", e.detail, e.provider_code);
	}
	json_object_put(rows);
	buf_free(&q);
	return found;
}

static void test_composite(struct sf_client *c)
{
	struct domain_catalog_item it;
	struct pt_err e = { 0 };
	struct json_object *order, *items, *rows = NULL;
	char id[19], key[40];

	int found = find_entry(c, "INT-FTTH-1G", &it);
	CHECK(found && it.orderable, "catalog mapper on the simulator's pricebook");
	if (!found)
		return;
	snprintf(key, sizeof key, "itest-%ld", (long)time(NULL));
	struct domain_order_new_item oi[] = { { it.pricebook_entry_id, 1, it.price } };
	struct domain_order_new in = { "0015F0000000002QAA", "01s5F0000000002QAA", "2026-11-20",
		"internet", NULL, NULL, key, "4-5-6 Umeda", "Osaka-shi Kita-ku", "Osaka", "530-0001",
		"JP", NULL, oi, 1 };
	CHECK(domain_order_sf_new(&in, &order, &items, &e) == 0, "order body: %s", e.detail);
	int rc = sf_rest_create_order(c, order, items, id, &e);
	CHECK(rc == 0 && strncmp(id, "801", 3) == 0, "composite order: %s %s", e.detail, e.provider_code);
	CHECK(sim_count(sf, "composite", 0) == 1, "one composite call");
	struct buf q;
	buf_init(&q, 0);
	domain_order_soql_by_id(&q, id, "0015F0000000002QAA", &e);
	rc = sf_rest_query(c, buf_cstr(&q), 1, &rows, NULL, &e);
	struct domain_order o;
	CHECK(rc == 0 && json_object_array_length(rows) == 1 &&
		domain_order_from_sf(json_object_array_get_idx(rows, 0), &o, &e) == 0 &&
		o.nitems == 1 && strcmp(o.status, "Pending Review") == 0,
		"order read back with its item: %s", e.detail);
	json_object_put(rows);
	buf_free(&q);
	/* same idempotency key again → DUPLICATE_VALUE → CONFLICT */
	rc = sf_rest_create_order(c, order, items, id, &e);
	CHECK(rc == -1 && e.code == PT_CONFLICT, "duplicate key → %s / %s",
		pt_err_code_name(e.code), e.provider_code);
	json_object_put(order);
	json_object_put(items);
}

static void test_token_expiry(struct sf_client *c)
{
	struct json_object *rows = NULL;
	struct pt_err e = { 0 };
	int before = sim_count(sf, "token", 0);

	json_object_put(sim_ctl(sf, "POST", "/__sim/tokens/expire", NULL));
	int rc = sf_rest_query(c, "SELECT Id FROM Account LIMIT 1", 1, &rows, NULL, &e);
	CHECK(rc == 0, "query after expiry: %s", e.detail);
	CHECK(sim_count(sf, "token", 0) == before + 1, "exactly one refresh (%d → %d)",
		before, sim_count(sf, "token", 0));
	json_object_put(rows);
}

static void test_faults(struct sf_client *c)
{
	struct json_object *rows = NULL, *body;
	struct pt_err e = { 0 };
	char id[19];
	long t0;
	int rc, n0;

	/* one 503 on a read: retried, succeeds */
	fault("{\"match\":\"query\",\"status\":503,\"count\":1}");
	rc = sf_rest_query(c, "SELECT Id FROM Account LIMIT 1", 1, &rows, NULL, &e);
	CHECK(rc == 0, "read retried past one 503: %s", e.detail);
	json_object_put(rows);
	/* persistent 503 → UPSTREAM_UNAVAILABLE within the timeout */
	fault("{\"match\":\"query\",\"status\":503,\"count\":20,\"body\":[{\"message\":\"Server Unavailable\",\"errorCode\":\"SERVER_UNAVAILABLE\"}]}");
	t0 = now_ms();
	rc = sf_rest_query(c, "SELECT Id FROM Account LIMIT 1", 1, &rows, NULL, &e);
	CHECK(rc == -1 && e.code == PT_UPSTREAM_UNAVAILABLE && now_ms() - t0 <= TIMEOUT_MS + 500,
		"503 → %s (%s) in %ld ms", pt_err_code_name(e.code), e.provider_code, now_ms() - t0);
	json_object_put(sim_ctl(sf, "DELETE", "/__sim/faults", NULL));
	/* 429 on a write: not retried */
	n0 = sim_count(sf, "sobject.POST.Case", 0);
	fault("{\"match\":\"sobject.POST.Case\",\"status\":429,\"count\":1}");
	body = domain_case_sf_new("0015F0000000001QAA", NULL, "s", "d", NULL, NULL, &e);
	rc = sf_rest_create(c, "Case", body, id, &e);
	CHECK(rc == -1 && e.code == PT_UPSTREAM_UNAVAILABLE, "429 → %s (%s)",
		pt_err_code_name(e.code), e.provider_code);
	CHECK(sim_count(sf, "sobject.POST.Case", 0) == n0 + 1, "write sent once, not retried");
	/* timeout on a write */
	n0 = sim_count(sf, "sobject.POST.Case", 0);
	fault("{\"match\":\"sobject.POST.Case\",\"delay_ms\":4000,\"count\":1}");
	t0 = now_ms();
	rc = sf_rest_create(c, "Case", body, id, &e);
	long took = now_ms() - t0;
	CHECK(rc == -1 && e.code == PT_UPSTREAM_UNAVAILABLE && strcmp(e.provider_code, "ETIMEOUT") == 0 &&
		took <= TIMEOUT_MS + 500, "timeout → %s/%s in %ld ms", pt_err_code_name(e.code),
		e.provider_code, took);
	sleep(3);  /* let the delayed request land in the log */
	CHECK(sim_count(sf, "sobject.POST.Case", 0) == n0 + 1, "timed-out write not retried");
	/* dropped connection on the composite */
	n0 = sim_count(sf, "composite", 0);
	fault("{\"match\":\"composite\",\"drop\":true,\"count\":1}");
	struct json_object *o = json_object_new_object(), *items = json_object_new_array();
	json_object_array_add(items, json_object_new_object());
	rc = sf_rest_create_order(c, o, items, id, &e);
	CHECK(rc == -1 && e.code == PT_UPSTREAM_UNAVAILABLE, "drop → %s (%s)",
		pt_err_code_name(e.code), e.provider_code);
	CHECK(sim_count(sf, "composite", 0) <= n0 + 1, "dropped composite not retried");
	json_object_put(o);
	json_object_put(items);
	json_object_put(body);
	json_object_put(sim_ctl(sf, "DELETE", "/__sim/faults", NULL));
}

static void test_redis_down(void)
{
	struct sf_client_opts o;
	struct pt_err e = { 0 };
	struct json_object *rows = NULL;

	sim_opts(&o, sf, TIMEOUT_MS);
	struct redis *dead = redis_new("redis://127.0.0.1:1/0", 200, 200);
	struct sf_client *c = sf_client_new(&o, dead, &e);
	int rc = c ? sf_rest_query(c, "SELECT Id FROM Account LIMIT 1", 1, &rows, NULL, &e) : -1;
	CHECK(rc == 0, "Redis down → per-process token still works: %s", e.detail);
	json_object_put(rows);
	sf_client_free(c);
	redis_free(dead);
}

/* The acceptance run: sf_token_race next to this program. */
static void test_token_race(const char *self)
{
	char cmd[1024];
	const char *slash = strrchr(self, '/');

	snprintf(cmd, sizeof cmd, "%.*ssf_token_race 20", slash ? (int)(slash - self + 1) : 0, self);
	int rc = system(cmd);
	CHECK(rc == 0, "20 processes → one token request (%s → %d)", cmd, rc);
}

int main(int argc, char **argv)
{
	const char *ru = getenv("PORTAL_TEST_REDIS_URL");
	struct sf_client_opts o;
	struct pt_err e = { 0 };

	(void)argc;
	sf = getenv("PORTAL_TEST_SF_URL");
	if (!sf || !ru) {
		printf("sf_client_check: PORTAL_TEST_SF_URL / PORTAL_TEST_REDIS_URL unset: skipped\n");
		return 77;
	}
	http_global_init();
	json_object_put(sim_ctl(sf, "POST", "/__sim/reset", NULL));
	struct redis *r = redis_new(ru, 1000, 1000);
	redisReply *rep = redis_cmd(r, &e, "DEL %s %s", SF_AUTH_TOKEN_KEY, SF_AUTH_LOCK_KEY);
	if (rep)
		freeReplyObject(rep);
	sim_opts(&o, sf, TIMEOUT_MS);
	struct sf_client *c = sf_client_new(&o, r, &e);
	if (!c) {
		printf("client: %s\n", e.detail);
		return 1;
	}
	test_query_paging(c);
	test_sobjects(c);
	test_composite(c);
	test_token_expiry(c);
	test_faults(c);
	test_redis_down();
	test_token_race(argv[0]);
	sf_client_free(c);
	redis_free(r);
	http_global_cleanup();
	printf("sf_client_check: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
