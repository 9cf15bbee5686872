/* test_session — cookie strings and token shape (pure); the Redis-down
 * answer (503, never 401) against a closed port; and, when
 * PORTAL_TEST_REDIS_URL names a scratch Redis, the whole life cycle: create,
 * load + touch, idle and absolute expiry, rotation, destroy, destroy-all-but-
 * one and listing. User ids are derived from the pid: nothing is flushed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "store/session.h"

#define TOK "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_"   /* 43 chars */

static void test_cookie_build(void **state)
{
	(void)state;
	char c[SESSION_COOKIE_MAX];
	assert_int_equal(session_cookie_build(c, sizeof c, TOK, 1), 0);
	assert_string_equal(c, "portal_session=" TOK "; Path=/; HttpOnly; SameSite=Lax; Secure");
	assert_int_equal(session_cookie_build(c, sizeof c, TOK, 0), 0);
	assert_string_equal(c, "portal_session=" TOK "; Path=/; HttpOnly; SameSite=Lax");
	assert_int_equal(session_cookie_clear_build(c, sizeof c, 1), 0);
	assert_string_equal(c, "portal_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
	assert_int_equal(session_cookie_clear_build(c, sizeof c, 0), 0);
	assert_string_equal(c, "portal_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
	/* nothing but a token's shape goes into a header */
	assert_int_equal(session_cookie_build(c, sizeof c, "abc", 1), -1);
	assert_int_equal(session_cookie_build(c, sizeof c, NULL, 1), -1);
	assert_int_equal(session_cookie_build(c, sizeof c,
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA;", 1), -1);
	assert_int_equal(session_cookie_build(c, 20, TOK, 1), -1);
}

static void test_token_shape(void **state)
{
	(void)state;
	assert_true(session_token_valid(TOK));
	assert_true(session_token_valid("0123456789abcdefghijklmnopqrstuvwxyzABCDEF-"));
	assert_false(session_token_valid(NULL));
	assert_false(session_token_valid(""));
	assert_false(session_token_valid(TOK "A"));              /* 44 */
	assert_false(session_token_valid(TOK + 1));              /* 42 */
	assert_false(session_token_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	assert_false(session_token_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"));
	assert_false(session_token_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "));
}

static const struct session_opts opts = { 1800, 43200 };

static void test_redis_down(void **state)
{
	(void)state;
	struct redis *r = redis_new("redis://127.0.0.1:1", 200, 200);
	struct session s;
	struct pt_err err = { 0 };
	struct session_subject who = { "1", "", "" };
	assert_non_null(r);
	assert_int_equal(session_load(r, &opts, TOK, &s, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_true(err.retry_after > 0);
	pt_err_clear(&err);
	assert_int_equal(session_create(r, &opts, &who, "127.0.0.1", "ua", &s, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	/* a malformed token is 401 without asking Redis */
	pt_err_clear(&err);
	assert_int_equal(session_load(r, &opts, "short", &s, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
	pt_err_clear(&err);
	assert_int_equal(session_destroy_all_for_user(r, "1", NULL, NULL, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	redis_free(r);
}

static void test_subject_validated(void **state)
{
	(void)state;
	struct session s;
	struct pt_err err = { 0 };
	/* refused before any I/O: NULL redis is fine */
	struct session_subject bad[] = {
		{ NULL, "", "" }, { "", "", "" }, { "12a", "", "" }, { "1:x", "", "" },
		{ "1", "001000000000001AA", "" }, { "1", "001000000000001AA*", "" },
		{ "1", "", "12x" }, { "123456789012345678901", "", "" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pt_err_clear(&err);
		assert_int_equal(session_create(NULL, &opts, &bad[i], NULL, NULL, &s, &err), -1);
		assert_int_equal(err.code, PT_VALIDATION_FAILED);
	}
	pt_err_clear(&err);
	assert_int_equal(session_destroy_all_for_user(NULL, "1*", NULL, NULL, &err), -1);
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
}

/* ---- against Redis ------------------------------------------------------------ */

static struct redis *R;
static char UID[24];
static char UID2[24];

static int live_setup(void **state)
{
	(void)state;
	R = redis_new(getenv("PORTAL_TEST_REDIS_URL"), 1000, 1000);
	snprintf(UID, sizeof UID, "9%08ld%03d", (long)getpid(), 1);
	snprintf(UID2, sizeof UID2, "9%08ld%03d", (long)getpid(), 2);
	return R ? 0 : -1;
}

static int live_teardown(void **state)
{
	(void)state;
	session_destroy_all_for_user(R, UID, NULL, NULL, NULL);
	session_destroy_all_for_user(R, UID2, NULL, NULL, NULL);
	redis_free(R);
	return 0;
}

/* A raw command whose reply only has to exist. */
#define RUN(...) do { \
		redisReply *rep_ = redis_cmd(R, NULL, __VA_ARGS__); \
		assert_non_null(rep_); \
		freeReplyObject(rep_); \
	} while (0)

static long ttl_of(const char *hash)
{
	struct pt_err err = { 0 };
	redisReply *rep = redis_cmd(R, &err, "TTL sess:%s", hash);
	assert_non_null(rep);
	long t = (long)rep->integer;
	freeReplyObject(rep);
	return t;
}

static void make(struct session *s, const struct session_opts *o, const char *uid)
{
	struct pt_err err = { 0 };
	struct session_subject who = { uid, "001000000000001AAA", "42" };
	assert_int_equal(session_create(R, o, &who, "203.0.113.9", "Mozilla/5.0\x01test", s, &err), 0);
}

static void test_live_create_load(void **state)
{
	(void)state;
	struct session s, l;
	struct pt_err err = { 0 };
	char hex[65];
	make(&s, &opts, UID);
	assert_true(session_token_valid(s.token));
	crypto_sha256_hex(s.token, strlen(s.token), hex);
	assert_string_equal(s.hash, hex);
	assert_int_equal(strlen(s.csrf), SESSION_CSRF_LEN);
	assert_string_not_equal(s.csrf, s.token);
	assert_string_equal(s.user_agent, "Mozilla/5.0?test");
	long t = ttl_of(s.hash);
	assert_true(t > 1790 && t <= 1800);

	assert_int_equal(session_load(R, &opts, s.token, &l, &err), 0);
	assert_string_equal(l.user_id, UID);
	assert_string_equal(l.sf_account_id, "001000000000001AAA");
	assert_string_equal(l.whmcs_client_id, "42");
	assert_string_equal(l.csrf, s.csrf);
	assert_string_equal(l.ip, "203.0.113.9");
	assert_int_equal(l.created, s.created);

	/* the token is nowhere in Redis, only its hash */
	redisReply *rep = redis_cmd(R, &err, "HGETALL sess:%s", s.hash);
	assert_non_null(rep);
	for (size_t i = 0; i < rep->elements; i++)
		assert_null(strstr(rep->element[i]->str, s.token));
	freeReplyObject(rep);

	/* an unknown token is 401 */
	pt_err_clear(&err);
	assert_int_equal(session_load(R, &opts, TOK, &l, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
	assert_int_equal(session_destroy(R, &s, &err), 0);
}

static void test_live_touch_and_absolute_cap(void **state)
{
	(void)state;
	struct session s, l;
	struct pt_err err = { 0 };
	struct session_opts o = { 100, 1000 };
	make(&s, &o, UID);
	/* pretend the session started 950 s ago: TTL is capped by what remains */
	RUN("HSET sess:%s created %lld last_seen %lld", s.hash,
		(long long)time(NULL) - 950, (long long)time(NULL) - 50);
	assert_int_equal(session_load(R, &o, s.token, &l, &err), 0);
	assert_true(l.last_seen >= (long long)time(NULL) - 1);
	long t = ttl_of(s.hash);
	assert_true(t > 40 && t <= 50);
	/* past the absolute deadline: refused and deleted even though recently used */
	RUN("HSET sess:%s created %lld", s.hash,
		(long long)time(NULL) - 1001);
	assert_int_equal(session_load(R, &o, s.token, &l, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
	assert_int_equal(ttl_of(s.hash), -2);
}

/* A session used again within min(idle/30, 60) s is read, not rewritten. */
static void test_live_touch_throttled(void **state)
{
	(void)state;
	struct session s, l;
	struct pt_err err = { 0 };
	struct session_opts o = { 1800, 43200 };
	long long now = (long long)time(NULL);
	make(&s, &o, UID);
	RUN("HSET sess:%s last_seen %lld", s.hash, now - 30);
	RUN("EXPIRE sess:%s 1000", s.hash);
	assert_int_equal(session_load(R, &o, s.token, &l, &err), 0);
	assert_int_equal(l.last_seen, now - 30);
	assert_int_equal(ttl_of(s.hash), 1000);
	/* 61 s since the last touch: touched again */
	RUN("HSET sess:%s last_seen %lld", s.hash, now - 61);
	assert_int_equal(session_load(R, &o, s.token, &l, &err), 0);
	assert_true(l.last_seen >= now);
	long t = ttl_of(s.hash);
	assert_true(t > 1790 && t <= 1800);
}

static void test_live_idle_expiry(void **state)
{
	(void)state;
	struct session s, l;
	struct pt_err err = { 0 };
	struct session_opts o = { 1, 60 };
	make(&s, &o, UID);
	assert_int_equal(ttl_of(s.hash), 1);
	/* enforced on load even if the key were still there */
	RUN("HSET sess:%s last_seen %lld", s.hash,
		(long long)time(NULL) - 5);
	RUN("EXPIRE sess:%s 60", s.hash);
	assert_int_equal(session_load(R, &o, s.token, &l, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
	/* and by the key TTL */
	make(&s, &o, UID);
	usleep(2100 * 1000);
	pt_err_clear(&err);
	assert_int_equal(session_load(R, &o, s.token, &l, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
}

static void test_live_absolute_expiry(void **state)
{
	(void)state;
	struct session s, l;
	struct pt_err err = { 0 };
	struct session_opts o = { 60, 3 };
	make(&s, &o, UID);
	usleep(1000 * 1000);
	assert_int_equal(session_load(R, &o, s.token, &l, &err), 0);   /* use doesn't extend */
	usleep(2200 * 1000);
	assert_int_equal(session_load(R, &o, s.token, &l, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
}

static void test_live_rotate(void **state)
{
	(void)state;
	struct session s, old, l;
	struct pt_err err = { 0 };
	make(&s, &opts, UID);
	old = s;
	assert_int_equal(session_rotate(R, &opts, &s, 0, &err), 0);
	assert_string_not_equal(s.token, old.token);
	assert_string_not_equal(s.hash, old.hash);
	assert_string_not_equal(s.csrf, old.csrf);
	assert_int_equal(s.created, old.created);
	/* the old token is dead at once, the new one carries the same data */
	assert_int_equal(session_load(R, &opts, old.token, &l, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
	assert_int_equal(session_load(R, &opts, s.token, &l, &err), 0);
	assert_string_equal(l.user_id, UID);
	assert_string_equal(l.whmcs_client_id, "42");
	assert_string_equal(l.csrf, s.csrf);
	/* keep-CSRF variant */
	old = s;
	assert_int_equal(session_rotate(R, &opts, &s, SESSION_ROTATE_KEEP_CSRF, &err), 0);
	assert_string_equal(s.csrf, old.csrf);
	assert_int_equal(session_load(R, &opts, s.token, &l, &err), 0);
	assert_string_equal(l.csrf, old.csrf);
	/* rotating a session that is gone fails instead of resurrecting it */
	pt_err_clear(&err);
	assert_int_equal(session_rotate(R, &opts, &old, 0, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
	/* the user set follows: one live session */
	struct session_info *list;
	size_t n;
	assert_int_equal(session_list_for_user(R, UID, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].hash, s.hash);
	session_list_free(list);
	assert_int_equal(session_destroy(R, &s, &err), 0);
	assert_int_equal(session_load(R, &opts, s.token, &l, &err), -1);
	assert_int_equal(session_destroy(R, &s, &err), 0);   /* twice is fine */
}

static void test_live_destroy_all_and_list(void **state)
{
	(void)state;
	struct session a, b, c, other, l;
	struct pt_err err = { 0 };
	struct session_info *list;
	size_t n;
	long deleted;
	session_destroy_all_for_user(R, UID, NULL, NULL, &err);
	make(&a, &opts, UID);
	make(&b, &opts, UID);
	make(&c, &opts, UID);
	make(&other, &opts, UID2);
	RUN("HSET sess:%s last_seen %lld", a.hash,
		(long long)time(NULL) - 100);
	assert_int_equal(session_list_for_user(R, UID, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[2].hash, a.hash);        /* least recently used last */
	assert_string_equal(list[0].ip, "203.0.113.9");
	session_list_free(list);

	/* an expired member is pruned from the list */
	RUN("DEL sess:%s", c.hash);
	assert_int_equal(session_list_for_user(R, UID, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	session_list_free(list);

	assert_int_equal(session_destroy_all_for_user(R, UID, b.hash, &deleted, &err), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(session_load(R, &opts, a.token, &l, &err), -1);
	assert_int_equal(session_load(R, &opts, b.token, &l, &err), 0);   /* kept */
	assert_int_equal(session_load(R, &opts, other.token, &l, &err), 0); /* other user */
	assert_int_equal(session_destroy_all_for_user(R, UID, NULL, &deleted, &err), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(session_load(R, &opts, b.token, &l, &err), -1);
	assert_int_equal(session_list_for_user(R, UID, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(list);
	assert_int_equal(session_destroy(R, &other, &err), 0);
}

static void test_live_malformed_hash_refused(void **state)
{
	(void)state;
	struct session s, l;
	struct pt_err err = { 0 };
	make(&s, &opts, UID);
	/* a hash this code did not write (tampered ids) is dropped, not trusted */
	RUN("HSET sess:%s whmcs_client_id %s", s.hash, "1 OR 1");
	assert_int_equal(session_load(R, &opts, s.token, &l, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
	assert_int_equal(ttl_of(s.hash), -2);
}

int main(void)
{
	log_init("test_session", LOG_LVL_CRIT, 0);
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_cookie_build),
		cmocka_unit_test(test_token_shape),
		cmocka_unit_test(test_redis_down),
		cmocka_unit_test(test_subject_validated),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_create_load),
		cmocka_unit_test(test_live_touch_and_absolute_cap),
		cmocka_unit_test(test_live_touch_throttled),
		cmocka_unit_test(test_live_idle_expiry),
		cmocka_unit_test(test_live_absolute_expiry),
		cmocka_unit_test(test_live_rotate),
		cmocka_unit_test(test_live_destroy_all_and_list),
		cmocka_unit_test(test_live_malformed_hash_refused),
	};
	int rc = cmocka_run_group_tests_name("session_pure", pure, NULL, NULL);
	const char *u = getenv("PORTAL_TEST_REDIS_URL");
	if (!u || !*u) {
		printf("test_session: PORTAL_TEST_REDIS_URL not set, skipped the Redis tests\n");
		return rc;
	}
	return rc + cmocka_run_group_tests_name("session_redis", live, live_setup, live_teardown);
}
