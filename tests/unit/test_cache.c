/* test_cache — key scoping (pure: the exact names of resolutions §30 and
 * refusal of ids that could reach another scope), the degrade-to-miss path
 * against a closed port, and, when PORTAL_TEST_REDIS_URL names a scratch
 * Redis, get/set/TTL/del/del_prefix/stats against the real server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void test_live_roundtrip(void **state)
{
	(void)state;
	struct redis *r = redis_new(redis_url(), 1000, 1000);
	assert_non_null(r);
	struct pt_err err = { 0 };
	redisReply *rep = redis_cmd(r, &err, "FLUSHDB");
	assert_non_null(rep);
	freeReplyObject(rep);

	struct buf k, v;
	buf_init(&k, CACHE_KEY_MAX);
	buf_init(&v, 64);
	assert_int_equal(cache_key_client(&k, "42", "invoices", &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 0);
	assert_int_equal(err.code, PT_OK);

	const char val[] = "{\"data\":[1,2]}\0binary";
	assert_int_equal(cache_set(r, buf_cstr(&k), val, sizeof val, 90, &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 1);
	assert_int_equal(v.len, sizeof val);
	assert_memory_equal(v.data, val, sizeof val);
	long t = ttl_of(r, buf_cstr(&k));
	assert_true(t > 80 && t <= 90);

	assert_int_equal(cache_set(r, "catalog:all", "[]", 2, 0, &err), 0);
	assert_int_equal(ttl_of(r, "catalog:all"), -1);

	/* too large for the caller's bound: a miss with an error, never a truncation */
	char big[100];
	memset(big, 'x', sizeof big);
	assert_int_equal(cache_set(r, "catalog:big", big, sizeof big, 0, &err), 0);
	assert_int_equal(cache_get(r, "catalog:big", &v, &err), 0);
	assert_int_equal(err.code, PT_PAYLOAD_TOO_LARGE);
	assert_int_equal(v.len, 0);

	pt_err_clear(&err);
	assert_int_equal(cache_del(r, buf_cstr(&k), &err), 0);
	assert_int_equal(cache_del(r, buf_cstr(&k), &err), 0);
	assert_int_equal(cache_get(r, buf_cstr(&k), &v, &err), 0);
	assert_int_equal(err.code, PT_OK);

	struct cache_stats st;
	assert_int_equal(cache_stats_get(r, &st, &err), 0);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.invalidations, 2);
	assert_true(st.errors >= 1);   /* the oversized value (+ earlier down tests) */
	buf_free(&k);
	buf_free(&v);
	redis_free(r);
}

static void test_live_del_prefix_scoped(void **state)
{
	(void)state;
	struct redis *r = redis_new(redis_url(), 1000, 1000);
	assert_non_null(r);
	struct pt_err err = { 0 };
	char key[64];
	for (int i = 0; i < 1200; i++) {   /* more than one SCAN page */
		snprintf(key, sizeof key, "acct:%s:catalog:%d", ACCT, i);
		assert_int_equal(cache_set(r, key, "1", 1, 0, &err), 0);
	}
	assert_int_equal(cache_set(r, "acct:" ACCT2 ":orders", "1", 1, 0, &err), 0);
	assert_int_equal(cache_set(r, "client:4:profile", "1", 1, 0, &err), 0);
	assert_int_equal(cache_set(r, "client:42:profile", "1", 1, 0, &err), 0);

	long n = -1;
	assert_int_equal(cache_del_prefix(r, "acct:" ACCT ":", &n, &err), 0);
	assert_int_equal(n, 1200);
	assert_int_equal(cache_del_prefix(r, "client:4:", &n, &err), 0);
	assert_int_equal(n, 1);

	struct buf v;
	buf_init(&v, 64);
	assert_int_equal(cache_get(r, "acct:" ACCT2 ":orders", &v, &err), 1);
	assert_int_equal(cache_get(r, "client:42:profile", &v, &err), 1);
	assert_int_equal(cache_get(r, "client:4:profile", &v, &err), 0);
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
	redisReply *rep = redis_cmd(r, &err, "CLIENT KILL TYPE normal SKIPME no");
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
	return rc + cmocka_run_group_tests_name("cache_redis", live, NULL, NULL);
}
