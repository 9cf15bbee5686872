/* test_freebit_sim — every Freebit endpoint wrapper against
 * tests/sim/freebit_sim.py (PORTAL_TEST_FREEBIT_URL; skipped when unset):
 * happy paths on the CROSSREF.md lines, result codes (250, 241), authKey
 * expiry → exactly one re-auth, read retry on 500, writes never repeated,
 * timeouts bounded; Redis down → the process keeps its own key; with
 * PORTAL_TEST_REDIS_URL the key is shared through freebit:auth:token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/http.h"
#include "core/log.h"
#include "freebit/actions.h"
#include "simctl_client.h"

#define TIMEOUT_MS 1500

static const char *base;
static struct redis *dead_redis;

static struct freebit_client *client(struct redis *r)
{
	struct freebit_client_opts o = { 0 };
	struct pt_err err = { 0 };
	struct freebit_client *c;

	o.base_url = base;
	o.oem_id = "sim-oem";
	o.oem_key = "sim-oem-key";
	o.timeout_ms = TIMEOUT_MS;
	o.redis = r;
	c = freebit_client_new(&o, &err);
	assert_non_null(c);
	return c;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* "YYYYMMDD" of today + days (JST is close enough for range checks). */
static void ymd(int days, char out[9])
{
	time_t t = time(NULL) + 9 * 3600 + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 9, "%Y%m%d", &tm);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(simctl_post(base, "/__sim/reset", NULL), 200);
	return 0;
}

static void test_reads(void **state)
{
	struct freebit_client *c = client(dead_redis);
	struct pt_err err = { 0 };
	struct domain_sim_line l;
	struct domain_sim_traffic t;
	struct domain_usage_list u;
	struct domain_quota_history q;
	char from[9], to[9];

	(void)state;
	assert_int_equal(freebit_get_detail(c, "080-1234-0001", &l, &err), 0);
	assert_string_equal(l.msisdn, "08012340001");
	assert_string_equal(l.plan_code, "PASI_10G_V");
	assert_string_equal(l.iccid, "8981100000000000001");
	assert_true(l.has_voice);
	assert_int_equal(freebit_get_traffic_info(c, "08012340001", &t, &err), 0);
	assert_true(t.quota_total_mb >= 0);
	ymd(-29, from);
	ymd(0, to);
	assert_int_equal(freebit_get_traffic_history(c, "08012340001", from, to, &u, &err), 0);
	assert_true(u.n >= 28);
	domain_usage_list_clear(&u);
	assert_int_equal(freebit_get_quota_history(c, "08012340001", from, to, &q, &err), 0);
	domain_quota_history_clear(&q);
	assert_int_equal(freebit_get_detail(c, "09999999999", &l, &err), -1);
	assert_int_equal(err.code, PT_NOT_FOUND);
	/* Redis unreachable: one authOem for the process, reused after. */
	assert_int_equal(simctl_count_calls(base, "/authOem/"), 1);
	freebit_client_free(c);
}

static void test_writes_and_codes(void **state)
{
	struct freebit_client *c = client(dead_redis);
	struct pt_err err = { 0 };
	struct freebit_voice_change v = { 0, -1, -1, -1 };
	struct domain_sim_line l;
	char first[9];

	(void)state;
	assert_int_equal(freebit_add_spec(c, "08012340001", 1024, "portal-topup-1", NULL, &err), 0);
	/* Data-only SIM: no voice options. Suspended line: every write refused. */
	assert_int_equal(freebit_change_voice_options(c, "08012340002", &v, &err), -1);
	assert_int_equal(err.code, PT_SIM_ACTION_NOT_ALLOWED);
	assert_int_equal(freebit_add_spec(c, "08012340003", 1024, "portal-topup-2", NULL, &err), -1);
	assert_int_equal(err.code, PT_SIM_ACTION_NOT_ALLOWED);
	assert_int_equal(freebit_change_plan(c, "08012340001", "NO_SUCH", NULL, &err), -1);
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	/* A change, then another within the gap: 241 with retryAfter. */
	assert_int_equal(freebit_change_voice_options(c, "08012340001", &v, &err), 0);
	assert_int_equal(freebit_change_network_type(c, "08012340001", "5G", &err), -1);
	assert_int_equal(err.code, PT_OPERATION_TOO_SOON);
	assert_true(err.retry_after > 0);
	/* eSIM reissue on the eSIM line; cancel at a date. */
	assert_int_equal(freebit_get_detail(c, "08012340002", &l, &err), 0);
	assert_int_equal(freebit_reissue_esim(c, &l, "89049032000000000000000000000099", &err), 0);
	ymd(20, first);
	assert_int_equal(simctl_post(base, "/__sim/reset", NULL), 200);
	assert_int_equal(freebit_change_plan(c, "08012340001", "V_20GB", NULL, &err), 0);
	assert_int_equal(simctl_post(base, "/__sim/reset", NULL), 200);
	assert_int_equal(freebit_cancel_line(c, "08012340001", NULL, &err), 0);
	assert_int_equal(freebit_open_line(c, "08012349901", "PASI_10G_V", &err), 0);
	freebit_client_free(c);
}

static void test_auth_expiry_one_refresh(void **state)
{
	struct freebit_client *c = client(dead_redis);
	struct pt_err err = { 0 };
	struct domain_sim_line l;

	(void)state;
	assert_int_equal(freebit_get_detail(c, "08012340001", &l, &err), 0);
	assert_int_equal(simctl_post(base, "/__sim/auth/expire", NULL), 200);
	assert_int_equal(freebit_get_detail(c, "08012340001", &l, &err), 0);
	assert_int_equal(simctl_count_calls(base, "/authOem/"), 2);
	assert_int_equal(simctl_count_calls(base, "/mvno/getDetail/"), 3);
	freebit_client_free(c);
}

static void test_faults(void **state)
{
	struct freebit_client *c = client(dead_redis);
	struct pt_err err = { 0 };
	struct domain_sim_line l;
	long t0;

	(void)state;
	/* Authenticate first so the counts below are about the calls only. */
	assert_int_equal(freebit_get_detail(c, "08012340001", &l, &err), 0);
	assert_int_equal(simctl_fault(base, "/mvno/getDetail/", 503, 0, 1, 0), 201);
	assert_int_equal(freebit_get_detail(c, "08012340001", &l, &err), 0);
	assert_int_equal(simctl_count_calls(base, "/mvno/getDetail/"), 3);

	assert_int_equal(simctl_fault(base, "/mvno/changePlan/", 503, 0, 5, 0), 201);
	assert_int_equal(freebit_change_plan(c, "08012340001", "V_20GB", NULL, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_int_equal(simctl_count_calls(base, "/mvno/changePlan/"), 1);

	assert_int_equal(simctl_fault(base, "/master/addSpec/", 0, 0, 5, 1), 201);
	assert_int_equal(freebit_add_spec(c, "08012340001", 1024, "portal-topup-3", NULL, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_int_equal(simctl_count_calls(base, "/master/addSpec/"), 1);

	assert_int_equal(simctl_fault(base, "/mvno/getTrafficInfo/", 0, TIMEOUT_MS + 1500, 5, 0), 201);
	t0 = now_ms();
	{
		struct domain_sim_traffic t;
		assert_int_equal(freebit_get_traffic_info(c, "08012340001", &t, &err), -1);
	}
	assert_string_equal(err.provider_code, "ETIMEOUT");
	assert_true(now_ms() - t0 < TIMEOUT_MS + 1000);
	/* The simulator logs a delayed call only once its delay is over; a
	 * read that timed out is not retried (the answer must come in time). */
	usleep(2000 * 1000);
	assert_int_equal(simctl_count_calls(base, "/mvno/getTrafficInfo/"), 1);
	freebit_client_free(c);
}

static void test_shared_key_in_redis(void **state)
{
	const char *url = getenv("PORTAL_TEST_REDIS_URL");
	struct redis *r;
	struct freebit_client *a, *b;
	struct pt_err err = { 0 };
	struct domain_sim_line l;
	redisReply *rep;

	(void)state;
	if (!url || !*url) {
		printf("SKIP: PORTAL_TEST_REDIS_URL not set\n");
		skip();
	}
	r = redis_new(url, 1000, 1000);
	assert_non_null(r);
	rep = redis_cmd(r, &err, "DEL %s", FREEBIT_AUTH_KEY);
	freeReplyObject(rep);
	a = client(r);
	b = client(r);
	assert_int_equal(freebit_get_detail(a, "08012340001", &l, &err), 0);
	assert_int_equal(freebit_get_detail(b, "08012340001", &l, &err), 0);
	assert_int_equal(simctl_count_calls(base, "/authOem/"), 1);
	rep = redis_cmd(r, &err, "TTL %s", FREEBIT_AUTH_KEY);
	assert_non_null(rep);
	assert_true(rep->integer > 3000 && rep->integer <= FREEBIT_AUTH_TTL_S);
	freeReplyObject(rep);
	/* Expired at Freebit: one process re-auths, the other finds the new key. */
	assert_int_equal(simctl_post(base, "/__sim/auth/expire", NULL), 200);
	assert_int_equal(freebit_get_detail(a, "08012340001", &l, &err), 0);
	assert_int_equal(freebit_get_detail(b, "08012340001", &l, &err), 0);
	assert_int_equal(simctl_count_calls(base, "/authOem/"), 2);
	freebit_client_free(a);
	freebit_client_free(b);
	redis_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reads, setup),
		cmocka_unit_test_setup(test_writes_and_codes, setup),
		cmocka_unit_test_setup(test_auth_expiry_one_refresh, setup),
		cmocka_unit_test_setup(test_faults, setup),
		cmocka_unit_test_setup(test_shared_key_in_redis, setup),
	};
	int rc;

	base = getenv("PORTAL_TEST_FREEBIT_URL");
	if (!base || !*base) {
		printf("SKIP: PORTAL_TEST_FREEBIT_URL not set (start tests/sim/simctl and export it)\n");
		return 77;
	}
	log_init("test_freebit_sim", LOG_LVL_CRIT, 0);
	http_global_init();
	/* Nothing listens on port 1: every Redis command fails, as when Redis is down. */
	dead_redis = redis_new("redis://127.0.0.1:1", 200, 200);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	redis_free(dead_redis);
	return rc;
}
