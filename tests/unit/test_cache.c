/* test_cache — key scoping (pure: the exact names of resolutions §30 and
 * refusal of ids that could reach another scope), the degrade-to-miss path
 * against a closed port, and, when PORTAL_TEST_REDIS_URL names a scratch
 * Redis, get/set/TTL/del/del_prefix/stats against the real server (with
 * run-unique keys: nothing is flushed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "store/cache.h"

#define ACCT "001000000000001AAA"
#define ACCT2 "001000000000002AAA"

static void test_key_names(void **state)
{
	(void)state;
	struct buf k;
	struct pt_err err = { 0 };
	buf_init(&k, CACHE_KEY_MAX);
	assert_int_equal(cache_key_global(&k, "catalog", "internet:plans", &err), 0);
	assert_string_equal(buf_cstr(&k), "catalog:internet:plans");
	assert_int_equal(cache_key_global(&k, "catalog", NULL, &err), 0);
	assert_string_equal(buf_cstr(&k), "catalog:");
	assert_int_equal(cache_key_global(&k, "gateways", NULL, &err), 0);
	assert_string_equal(buf_cstr(&k), "gateways");
	assert_int_equal(cache_key_acct(&k, ACCT, "orders", &err), 0);
	assert_string_equal(buf_cstr(&k), "acct:" ACCT ":orders");
	assert_int_equal(cache_key_acct(&k, ACCT, "catalog:sim", &err), 0);
	assert_string_equal(buf_cstr(&k), "acct:" ACCT ":catalog:sim");
	assert_int_equal(cache_key_acct(&k, ACCT, NULL, &err), 0);
	assert_string_equal(buf_cstr(&k), "acct:" ACCT ":");
	assert_int_equal(cache_key_client(&k, "42", "invoice:1007", &err), 0);
	assert_string_equal(buf_cstr(&k), "client:42:invoice:1007");
	assert_int_equal(cache_key_client(&k, "42", NULL, &err), 0);
	assert_string_equal(buf_cstr(&k), "client:42:");
	assert_int_equal(cache_key_line(&k, "08012345678", "info", &err), 0);
	assert_string_equal(buf_cstr(&k), "freebit:line:08012345678:info");
	buf_free(&k);
}

static void expect_acct_bad(const char *id, const char *suffix)
{
	struct buf k;
	struct pt_err err = { 0 };
	buf_init(&k, CACHE_KEY_MAX);
	buf_puts(&k, "stale");
	assert_int_equal(cache_key_acct(&k, id, suffix, &err), -1);
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	assert_string_equal(buf_cstr(&k), "");   /* never a usable key on failure */
	buf_free(&k);
}

static void test_key_scoping_rejects(void **state)
{
	(void)state;
	expect_acct_bad(NULL, "orders");
	expect_acct_bad("", "orders");
	expect_acct_bad("001000000000001AA", "orders");      /* 17 */
	expect_acct_bad("001000000000001AAAA", "orders");    /* 19 */
	expect_acct_bad("001000000000001AA:", "orders");     /* would open a new scope */
	expect_acct_bad("00100000000:client", "orders");
	expect_acct_bad("0010000000000*1AAA", "orders");     /* glob */
	expect_acct_bad("001000000000001AA ", "orders");
	expect_acct_bad(ACCT, "");
	expect_acct_bad(ACCT, "a b");
	expect_acct_bad(ACCT, "orders*");
	expect_acct_bad(ACCT, "orders\n");
	expect_acct_bad(ACCT, "x[1]");
	char longsuffix[260];
	memset(longsuffix, 'a', sizeof longsuffix - 1);
	longsuffix[sizeof longsuffix - 1] = '\0';
	expect_acct_bad(ACCT, longsuffix);

	struct buf k;
	struct pt_err err = { 0 };
	buf_init(&k, CACHE_KEY_MAX);
	assert_int_equal(cache_key_client(&k, "42:acct", "x", &err), -1);
	assert_int_equal(cache_key_client(&k, "", "x", &err), -1);
	assert_int_equal(cache_key_client(&k, "123456789012345678901", "x", &err), -1);
	assert_int_equal(cache_key_client(&k, "-1", "x", &err), -1);
	assert_int_equal(cache_key_line(&k, "0801234567a", "x", &err), -1);
	assert_int_equal(cache_key_line(&k, "080123", "x", &err), -1);
	assert_int_equal(cache_key_global(&k, "acct", "x", &err), -1);
	assert_int_equal(cache_key_global(&k, "sess", "x", &err), -1);
	assert_int_equal(cache_key_global(&k, NULL, "x", &err), -1);
	assert_int_equal(cache_key_global(&k, "gateways", "x", &err), -1);
	assert_int_equal(cache_key_global(&k, "catalog", "*", &err), -1);
	buf_free(&k);
}

static void test_down_is_a_miss(void **state)
{
	(void)state;
	struct redis *r = redis_new("redis://127.0.0.1:1", 200, 200);
	assert_non_null(r);
	struct buf out;
	buf_init(&out, 1024);
	struct pt_err err = { 0 };
	assert_int_equal(cache_get(r, "catalog:x", &out, &err), 0);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_int_equal(cache_get(r, "catalog:x", &out, NULL), 0);
	assert_int_equal(cache_get(NULL, "catalog:x", &out, NULL), 0);
	assert_int_equal(cache_set(r, "catalog:x", "v", 1, 60, &err), -1);
	assert_int_equal(cache_del(r, "catalog:x", &err), -1);
	assert_int_equal(cache_del_prefix(r, "catalog:", NULL, &err), -1);
	buf_free(&out);
	redis_free(r);
}

static void test_del_prefix_refuses_wide_prefixes(void **state)
{
	(void)state;
	struct pt_err err = { 0 };
	/* validated before any I/O: NULL redis is fine */
	const char *bad[] = { "", "c", "acct:", "acct:*", "client:", "cache:stats",
		"sess:", "acct:00100000000000AA:", "catalog*", "catalog:[a]", "gateways" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pt_err_clear(&err);
		assert_int_equal(cache_del_prefix(NULL, bad[i], NULL, &err), -1);
		assert_int_equal(err.code, PT_VALIDATION_FAILED);
	}
}

/* ---- against Redis ----------------------------------------------------------- */

static const char *redis_url(void)
{
	const char *u = getenv("PORTAL_TEST_REDIS_URL");
	return u && *u ? u : NULL;
}

static long ttl_of(struct redis *r, const char *key)
{
	struct pt_err err = { 0 };
	redisReply *rep = redis_cmd(r, &err, "TTL %s", key);
	assert_non_null(rep);
	long t = (long)rep->integer;
	freeReplyObject(rep);
	return t;
}

/* Run-unique ids and keys: the Redis may be shared with tests running at
 * the same time, so nothing is flushed and counters are compared as deltas. */
static char acct1[32], acct2[32], client1[32], client2[32], catalog_ns[32];

static void live_ids(void)
{
	long pid = (long)getpid() % 100000000L;
	snprintf(acct1, sizeof acct1, "001T%08ldAAAAAA", pid);
	snprintf(acct2, sizeof acct2, "001T%08ldBBBBBB", pid);
	snprintf(client1, sizeof client1, "9%08ld", pid);
	snprintf(client2, sizeof client2, "9%08ld1", pid);   /* client1 is its prefix */
	snprintf(catalog_ns, sizeof catalog_ns, "test%ld", pid);
}

static void test_live_roundtrip(void **state)
{
	(void)state;
	struct redis *r = redis_new(redis_url(), 1000, 1000);
	assert_non_null(r);
	struct pt_err err = { 0 };
	struct cache_stats before, st;
	assert_int_equal(cache_stats_get(r, &before, &err), 0);

	struct buf k, v, all, big;
	buf_init(&k, CACHE_KEY_MAX);
	buf_init(&all, CACHE_KEY_MAX);
	buf_init(&big, CACHE_KEY_MAX);
	buf_init(&v, 64);
	assert_int_equal(cache_key_client(&k, client1, "invoices", &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 0);
	assert_int_equal(err.code, PT_OK);

	const char val[] = "{\"data\":[1,2]}\0binary";
	assert_int_equal(cache_set(r, buf_cstr(&k), val, sizeof val, 90, &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 1);
	assert_int_equal(v.len, sizeof val);
	assert_memory_equal(v.data, val, sizeof val);
	long t = ttl_of(r, buf_cstr(&k));
	assert_true(t > 80 && t <= 90);

	char suffix[64];
	snprintf(suffix, sizeof suffix, "%s:all", catalog_ns);
	assert_int_equal(cache_key_global(&all, "catalog", suffix, &err), 0);
	assert_int_equal(cache_set(r, buf_cstr(&all), "[]", 2, 0, &err), 0);
	assert_int_equal(ttl_of(r, buf_cstr(&all)), -1);

	/* too large for the caller's bound: a miss with an error, never a truncation */
	char data[100];
	memset(data, 'x', sizeof data);
	snprintf(suffix, sizeof suffix, "%s:big", catalog_ns);
	assert_int_equal(cache_key_global(&big, "catalog", suffix, &err), 0);
	assert_int_equal(cache_set(r, buf_cstr(&big), data, sizeof data, 0, &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&big), &v, &err), 0);
	assert_int_equal(err.code, PT_PAYLOAD_TOO_LARGE);
	assert_int_equal(v.len, 0);

	/* a cache value and a plain key in one round trip; only the first counts */
	struct cache_stats mid, after;
	assert_int_equal(cache_stats_get(r, &mid, &err), 0);
	redisReply *two = cache_get_with(r, buf_cstr(&k), buf_cstr(&all), &err);
	assert_non_null(two);
	assert_int_equal(two->elements, 2);
	assert_int_equal(two->element[0]->len, sizeof val);
	assert_memory_equal(two->element[0]->str, val, sizeof val);
	assert_string_equal(two->element[1]->str, "[]");
	freeReplyObject(two);
	two = cache_get_with(r, "client:no-such-key", buf_cstr(&all), &err);
	assert_non_null(two);
	assert_int_equal(two->element[0]->type, REDIS_REPLY_NIL);
	freeReplyObject(two);
	assert_int_equal(cache_stats_get(r, &after, &err), 0);
	assert_int_equal(after.hits - mid.hits, 1);
	assert_int_equal(after.misses - mid.misses, 1);

	pt_err_clear(&err);
	assert_int_equal(cache_del(r, buf_cstr(&k), &err), 0);
	assert_int_equal(cache_del(r, buf_cstr(&k), &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 0);
	assert_int_equal(err.code, PT_OK);

	assert_int_equal(cache_stats_get(r, &st, &err), 0);
	assert_true(st.hits - before.hits >= 1);
	assert_true(st.misses - before.misses >= 2);
	assert_true(st.invalidations - before.invalidations >= 2);
	assert_true(st.errors - before.errors >= 1);   /* the oversized value */

	assert_int_equal(cache_del(r, buf_cstr(&all), &err), 0);
	assert_int_equal(cache_del(r, buf_cstr(&big), &err), 0);
	buf_free(&k);
	buf_free(&all);
	buf_free(&big);
	buf_free(&v);
	redis_free(r);
}

static void test_live_del_prefix_scoped(void **state)
{
	(void)state;
	struct redis *r = redis_new(redis_url(), 1000, 1000);
	assert_non_null(r);
	struct pt_err err = { 0 };
	struct buf k, v;
	buf_init(&k, CACHE_KEY_MAX);
	buf_init(&v, 64);
	char suffix[32];
	for (int i = 0; i < 1200; i++) {   /* more than one SCAN page */
		snprintf(suffix, sizeof suffix, "catalog:%d", i);
		assert_int_equal(cache_key_acct(&k, acct1, suffix, &err), 0);
		assert_int_equal(cache_set(r, buf_cstr(&k), "1", 1, 60, &err), 0);
	}
	assert_int_equal(cache_key_acct(&k, acct2, "orders", &err), 0);
	assert_int_equal(cache_set(r, buf_cstr(&k), "1", 1, 60, &err), 0);
	assert_int_equal(cache_key_client(&k, client1, "profile", &err), 0);
	assert_int_equal(cache_set(r, buf_cstr(&k), "1", 1, 60, &err), 0);
	assert_int_equal(cache_key_client(&k, client2, "profile", &err), 0);
	assert_int_equal(cache_set(r, buf_cstr(&k), "1", 1, 60, &err), 0);

	long n = -1;
	assert_int_equal(cache_key_acct(&k, acct1, NULL, &err), 0);
	assert_int_equal(cache_del_prefix(r, buf_cstr(&k), &n, &err), 0);
	assert_int_equal(n, 1200);
	assert_int_equal(cache_key_client(&k, client1, NULL, &err), 0);
	assert_int_equal(cache_del_prefix(r, buf_cstr(&k), &n, &err), 0);
	assert_int_equal(n, 1);

	/* the neighbours survive: other account, client id with ours as prefix */
	assert_int_equal(cache_key_acct(&k, acct2, "orders", &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 1);
	assert_int_equal(cache_del(r, buf_cstr(&k), &err), 0);
	assert_int_equal(cache_key_client(&k, client2, "profile", &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 1);
	assert_int_equal(cache_del(r, buf_cstr(&k), &err), 0);
	assert_int_equal(cache_key_client(&k, client1, "profile", &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 0);
	buf_free(&k);
	buf_free(&v);
	redis_free(r);
}

static void test_live_reconnect(void **state)
{
	(void)state;
	struct redis *r = redis_new(redis_url(), 1000, 1000);
	assert_non_null(r);
	struct pt_err err = { 0 };
	long ms;
	assert_int_equal(redis_ping(r, &ms, &err), 0);
	/* drop our own connection from the server side */
	redisReply *rep = redis_cmd(r, &err, "CLIENT ID");
	assert_non_null(rep);
	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	char id[24];
	snprintf(id, sizeof id, "%lld", rep->integer);
	freeReplyObject(rep);
	rep = redis_cmd(r, &err, "CLIENT KILL ID %s SKIPME no", id);   /* only ourselves */
	freeReplyObject(rep);
	/* the broken context is noticed at most once, then replaced */
	if (redis_ping(r, &ms, &err) != 0)
		assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_int_equal(redis_ping(r, &ms, &err), 0);
	redis_free(r);
}

int main(void)
{
	log_init("test_cache", LOG_LVL_CRIT, 0);
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_key_scoping_rejects),
		cmocka_unit_test(test_down_is_a_miss),
		cmocka_unit_test(test_del_prefix_refuses_wide_prefixes),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_roundtrip),
		cmocka_unit_test(test_live_del_prefix_scoped),
		cmocka_unit_test(test_live_reconnect),
	};
	int rc = cmocka_run_group_tests_name("cache_pure", pure, NULL, NULL);
	if (!redis_url()) {
		printf("test_cache: PORTAL_TEST_REDIS_URL not set, skipped the Redis tests\n");
		return rc;
	}
	live_ids();
	return rc + cmocka_run_group_tests_name("cache_redis", live, NULL, NULL);
}
