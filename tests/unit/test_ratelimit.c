/* test_ratelimit — key building (pure: hashed ids, refused scopes), Redis
 * down (fail-open vs fail-closed), and, when PORTAL_TEST_REDIS_URL names a
 * scratch Redis, the sliding window: N allowed, then 429 with Retry-After,
 * peek does not count, the window slides, reset forgets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "store/ratelimit.h"

static void test_key(void **state)
{
	(void)state;
	struct buf k;
	struct pt_err err = { 0 };
	char hex[65], want[80];
	buf_init(&k, RATELIMIT_KEY_MAX);
	assert_int_equal(ratelimit_key(&k, "login_ip", "203.0.113.9", &err), 0);
	crypto_sha256_hex("203.0.113.9", 11, hex);
	snprintf(want, sizeof want, "rl:login_ip:%.32s", hex);
	assert_string_equal(buf_cstr(&k), want);
	/* whatever the id holds, the key is hex after the scope */
	assert_int_equal(ratelimit_key(&k, "login_acct", "a*b:c\r\n{x}@example.jp", &err), 0);
	assert_int_equal(strlen(buf_cstr(&k)), strlen("rl:login_acct:") + 32);
	assert_null(strpbrk(buf_cstr(&k) + strlen("rl:login_acct:"), "*:{}\r\n "));
	buf_free(&k);
}

static void expect_bad(const char *scope, const char *id)
{
	struct buf k;
	struct pt_err err = { 0 };
	buf_init(&k, RATELIMIT_KEY_MAX);
	buf_puts(&k, "stale");
	assert_int_equal(ratelimit_key(&k, scope, id, &err), -1);
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	assert_string_equal(buf_cstr(&k), "");
	buf_free(&k);
}

static void test_key_rejects(void **state)
{
	(void)state;
	char longid[RATELIMIT_ID_MAX + 2];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	expect_bad(NULL, "x");
	expect_bad("", "x");
	expect_bad("login:ip", "x");
	expect_bad("Login", "x");
	expect_bad("log*", "x");
	expect_bad("abcdefghijklmnopqrstuvwxyz0123456", "x");   /* 33 */
	expect_bad("login", NULL);
	expect_bad("login", "");
	expect_bad("login", longid);
}

static void test_redis_down(void **state)
{
	(void)state;
	struct redis *r = redis_new("redis://127.0.0.1:1", 200, 200);
	struct ratelimit_result res;
	struct pt_err err = { 0 };
	assert_non_null(r);
	/* login: closed */
	assert_int_equal(ratelimit_hit(r, "login_ip", "1.2.3.4", 5, 60, 0, &res, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_true(err.retry_after > 0);
	/* public catalog: open */
	pt_err_clear(&err);
	assert_int_equal(ratelimit_hit(r, "public", "1.2.3.4", 5, 60, RATELIMIT_FAIL_OPEN,
		&res, &err), 0);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.degraded, 1);
	assert_int_equal(err.code, PT_OK);
	/* bad arguments are refused before any I/O, open or not */
	assert_int_equal(ratelimit_hit(r, "public", "1.2.3.4", 0, 60, RATELIMIT_FAIL_OPEN,
		NULL, &err), -1);
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	pt_err_clear(&err);
	assert_int_equal(ratelimit_reset(r, "login_ip", "1.2.3.4", &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	redis_free(r);
}

/* ---- against Redis ------------------------------------------------------------ */

static struct redis *R;
static char ID[32];

static int live_setup(void **state)
{
	(void)state;
	R = redis_new(getenv("PORTAL_TEST_REDIS_URL"), 1000, 1000);
	snprintf(ID, sizeof ID, "test-%ld", (long)getpid());
	return R ? 0 : -1;
}

static int live_teardown(void **state)
{
	(void)state;
	ratelimit_reset(R, "t_window", ID, NULL);
	ratelimit_reset(R, "t_slide", ID, NULL);
	redis_free(R);
	return 0;
}

static void test_live_window(void **state)
{
	(void)state;
	struct ratelimit_result res;
	struct pt_err err = { 0 };
	ratelimit_reset(R, "t_window", ID, &err);
	/* peeking does not count */
	for (int i = 0; i < 5; i++)
		assert_int_equal(ratelimit_hit(R, "t_window", ID, 3, 60, RATELIMIT_PEEK, &res, &err), 0);
	assert_int_equal(res.count, 0);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(ratelimit_hit(R, "t_window", ID, 3, 60, 0, &res, &err), 0);
		assert_int_equal(res.allowed, 1);
		assert_int_equal(res.count, i);
	}
	assert_int_equal(ratelimit_hit(R, "t_window", ID, 3, 60, 0, &res, &err), -1);
	assert_int_equal(err.code, PT_RATE_LIMITED);
	assert_int_equal(res.allowed, 0);
	assert_true(err.retry_after >= 59 && err.retry_after <= 60);
	assert_int_equal(res.retry_after_s, err.retry_after);
	/* a peek sees the same refusal; a refused hit was not recorded */
	pt_err_clear(&err);
	assert_int_equal(ratelimit_hit(R, "t_window", ID, 3, 60, RATELIMIT_PEEK, &res, &err), -1);
	assert_int_equal(err.code, PT_RATE_LIMITED);
	assert_int_equal(res.count, 3);
	/* other ids are not affected */
	assert_int_equal(ratelimit_hit(R, "t_window", "someone-else", 3, 60, RATELIMIT_PEEK,
		&res, &err), 0);
	/* reset forgets */
	assert_int_equal(ratelimit_reset(R, "t_window", ID, &err), 0);
	assert_int_equal(ratelimit_hit(R, "t_window", ID, 3, 60, 0, &res, &err), 0);
	assert_int_equal(res.count, 1);
}

static void test_live_slides(void **state)
{
	(void)state;
	struct ratelimit_result res;
	struct pt_err err = { 0 };
	ratelimit_reset(R, "t_slide", ID, &err);
	assert_int_equal(ratelimit_hit(R, "t_slide", ID, 2, 1, 0, &res, &err), 0);
	assert_int_equal(ratelimit_hit(R, "t_slide", ID, 2, 1, 0, &res, &err), 0);
	assert_int_equal(ratelimit_hit(R, "t_slide", ID, 2, 1, 0, &res, &err), -1);
	assert_int_equal(err.retry_after, 1);
	usleep(1100 * 1000);
	pt_err_clear(&err);
	assert_int_equal(ratelimit_hit(R, "t_slide", ID, 2, 1, 0, &res, &err), 0);
	assert_int_equal(res.count, 1);
	/* the key expires with its window: nothing is left behind */
	usleep(1100 * 1000);
	struct buf k;
	buf_init(&k, RATELIMIT_KEY_MAX);
	assert_int_equal(ratelimit_key(&k, "t_slide", ID, &err), 0);
	redisReply *rep = redis_cmd(R, &err, "EXISTS %s", buf_cstr(&k));
	assert_non_null(rep);
	assert_int_equal(rep->integer, 0);
	freeReplyObject(rep);
	buf_free(&k);
}

int main(void)
{
	log_init("test_ratelimit", LOG_LVL_CRIT, 0);
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_key_rejects),
		cmocka_unit_test(test_redis_down),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_window),
		cmocka_unit_test(test_live_slides),
	};
	int rc = cmocka_run_group_tests_name("ratelimit_pure", pure, NULL, NULL);
	const char *u = getenv("PORTAL_TEST_REDIS_URL");
	if (!u || !*u) {
		printf("test_ratelimit: PORTAL_TEST_REDIS_URL not set, skipped the Redis tests\n");
		return rc;
	}
	return rc + cmocka_run_group_tests_name("ratelimit_redis", live, live_setup, live_teardown);
}
