/* test_jobs — delayed jobs: payload builders and the payload checks of
 * jobs_run_one (no I/O); against a real Redis (skipped unless
 * PORTAL_TEST_REDIS_URL is set) the sorted set: only due jobs are popped,
 * each exactly once even with two runners, a stale lease comes back, and
 * jobs_run_due files an unreadable job as failed instead of retrying it.
 * Keys are named per run so parallel suites never share them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/jobs.h"
#include "core/log.h"
#include "store/delayed.h"
#include "store/redis.h"

static void test_payloads(void **state)
{
	struct jobs_ctx c = { 0 };
	struct pt_err err = { 0 };
	char p[DELAYED_JOB_MAX], q[DELAYED_JOB_MAX];

	(void)state;
	assert_int_equal(jobs_network_type_payload("08012340001", "5G", p, sizeof p, &err), 0);
	assert_non_null(strstr(p, "\"type\":\"sim_network_type\""));
	assert_non_null(strstr(p, "\"network_type\":\"5G\""));
	/* two equal requests are two jobs: each has its own id */
	assert_int_equal(jobs_network_type_payload("08012340001", "5G", q, sizeof q, &err), 0);
	assert_string_not_equal(p, q);
	assert_int_equal(jobs_network_type_payload("0801234000", "5G", p, sizeof p, &err), -1);
	assert_int_equal(jobs_network_type_payload("08012340001", "3G", p, sizeof p, &err), -1);
	assert_int_equal(jobs_plan_change_payload(201, 11, "1980.00", p, sizeof p, &err), 0);
	assert_non_null(strstr(p, "\"service_id\":201"));
	assert_int_equal(jobs_plan_change_payload(201, 11, "19.8", p, sizeof p, &err), -1);
	assert_int_equal(jobs_plan_change_payload(0, 11, "1980", p, sizeof p, &err), -1);
	assert_int_equal(jobs_plan_change_payload(201, 11, "1980", p, 8, &err), -1);
	/* jobs_run_one refuses what it cannot read before any call */
	assert_int_equal(jobs_run_one(&c, "not json", &err), -1);
	assert_int_equal(jobs_run_one(&c, "{\"type\":\"reboot\"}", &err), -1);
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	assert_int_equal(jobs_run_one(&c, "{\"type\":\"sim_network_type\",\"msisdn\":\"x\","
		"\"network_type\":\"5G\"}", &err), -1);
	assert_int_equal(jobs_run_one(&c, "{\"type\":\"whmcs_plan_change\",\"service_id\":1,"
		"\"pid\":2,\"recurring_amount\":\"-1\"}", &err), -1);
	/* a SIM job without a Freebit client fails, it does not crash */
	assert_int_equal(jobs_network_type_payload("08012340001", "4G", p, sizeof p, &err), 0);
	assert_int_equal(jobs_run_one(&c, p, &err), -1);
}

static void del(struct redis *r, const struct delayed_keys *k)
{
	struct pt_err err = { 0 };
	redisReply *rep = redis_cmd(r, &err, "DEL %s %s %s", k->set, k->running, k->failed);

	if (rep)
		freeReplyObject(rep);
}

static void test_delayed_redis(void **state)
{
	const char *url = getenv("PORTAL_TEST_REDIS_URL");
	char set[64], running[80], failed[80], p[DELAYED_JOB_MAX];
	struct delayed_keys k = { set, running, failed };
	struct delayed_entry list[8];
	struct jobs_stats st;
	struct pt_err err = { 0 };
	struct redis *r, *r2;
	long moved = 0;
	size_t n = 0;

	(void)state;
	if (!url || !*url)
		skip();
	snprintf(set, sizeof set, "test:delayed:%ld", (long)getpid());
	snprintf(running, sizeof running, "%s:running", set);
	snprintf(failed, sizeof failed, "%s:failed", set);
	assert_non_null(r = redis_new(url, 500, 3000));
	assert_non_null(r2 = redis_new(url, 500, 3000));
	del(r, &k);
	assert_int_equal(delayed_schedule(r, &k, 1000, "{\"id\":\"a\"}", &err), 0);
	assert_int_equal(delayed_schedule(r, &k, 5000, "{\"id\":\"b\"}", &err), 0);
	assert_int_equal(delayed_schedule(r, &k, 9000, "{\"id\":\"a\"}", &err), 0); /* NX */
	/* at t=2000 only a is due, and only one of two runners gets it */
	assert_int_equal(delayed_pop_due(r, &k, 2000, p, sizeof p, &err), 1);
	assert_string_equal(p, "{\"id\":\"a\"}");
	assert_int_equal(delayed_pop_due(r2, &k, 2000, p, sizeof p, &err), 0);
	assert_int_equal(delayed_list(r, &k, list, 8, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].state, DELAYED_WAITING);
	assert_int_equal(list[0].at_ms, 5000);
	assert_int_equal(list[1].state, DELAYED_RUNNING);
	/* the runner died: the lease (started 2000) expires after 1000 ms */
	assert_int_equal(delayed_requeue_stale(r, &k, 2500, 1000, &moved, &err), 0);
	assert_int_equal(moved, 0);
	assert_int_equal(delayed_requeue_stale(r, &k, 3500, 1000, &moved, &err), 0);
	assert_int_equal(moved, 1);
	assert_int_equal(delayed_pop_due(r2, &k, 3500, p, sizeof p, &err), 1);
	assert_string_equal(p, "{\"id\":\"a\"}");
	assert_int_equal(delayed_done(r2, &k, p, 0, 3600, &err), 0);
	/* jobs_run_due: b is unreadable as a job → failed set, not retried */
	struct jobs_ctx c = { .redis = r, .keys = &k, .lease_ms = 1000 };
	assert_int_equal(jobs_run_due(&c, 6000, 0, &st, &err), 0);
	assert_int_equal(st.ran, 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(jobs_run_due(&c, 7000, 0, &st, &err), 0);
	assert_int_equal(st.failed, 0);
	assert_int_equal(delayed_list(r, &k, list, 8, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].state, DELAYED_FAILED);
	assert_string_equal(list[0].payload, "{\"id\":\"b\"}");
	del(r, &k);
	redis_free(r2);
	redis_free(r);
}

int main(void)
{
	log_init("test_jobs", LOG_LVL_CRIT, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payloads),
		cmocka_unit_test(test_delayed_redis),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
