/* test_jobs — delayed jobs: payload builders and the payload checks of
 * jobs_run_one (no I/O); against a real Redis (skipped unless
 * PORTAL_TEST_REDIS_URL is set) the sorted set: only due jobs are popped,
 * each exactly once even with two runners, a stale lease comes back, and
 * jobs_run_due files an unreadable job as failed instead of retrying it.
 * The network-type gap rule (freebit.md §5): which try leads to what, the
 * next try's payload, and (Redis) a run on a taken claim calls nothing and
 * comes back 5 minutes later one try more, the pending marker kept.
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
#include "freebit/client.h"
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

static void test_network_type_next(void **state)
{
	struct pt_err e = { 0 };

	(void)state;
	assert_int_equal(jobs_network_type_next(0, &e, 1), JOBS_NT_DONE);
	assert_int_equal(jobs_network_type_next(0, &e, 12), JOBS_NT_DONE);
	/* our own claim taken: OPERATION_TOO_SOON without a provider code */
	pt_err_set(&e, PT_OPERATION_TOO_SOON, "claim taken");
	assert_int_equal(jobs_network_type_next(-1, &e, 1), JOBS_NT_RETRY);
	assert_int_equal(jobs_network_type_next(-1, &e, 11), JOBS_NT_RETRY);
	assert_int_equal(jobs_network_type_next(-1, &e, 12), JOBS_NT_ABANDON);
	pt_err_provider(&e, "240");
	assert_int_equal(jobs_network_type_next(-1, &e, 5), JOBS_NT_RETRY);
	assert_int_equal(jobs_network_type_next(-1, &e, 12), JOBS_NT_ABANDON);
	pt_err_provider(&e, "241");
	assert_int_equal(jobs_network_type_next(-1, &e, 2), JOBS_NT_RETRY);
	/* anything else is over at once, whatever the try */
	pt_err_clear(&e);
	pt_err_set(&e, PT_SIM_ACTION_NOT_ALLOWED, "same as current");
	pt_err_provider(&e, "250");
	assert_int_equal(jobs_network_type_next(-1, &e, 1), JOBS_NT_FAILED);
	pt_err_clear(&e);
	pt_err_set(&e, PT_UPSTREAM_UNAVAILABLE, "timeout");
	pt_err_provider(&e, "ETIMEOUT");
	assert_int_equal(jobs_network_type_next(-1, &e, 1), JOBS_NT_FAILED);
	pt_err_clear(&e);
	pt_err_set(&e, PT_UPSTREAM_UNAVAILABLE, "redis: claim");
	assert_int_equal(jobs_network_type_next(-1, &e, 1), JOBS_NT_FAILED);
}

static void test_network_type_retry_payload(void **state)
{
	struct pt_err err = { 0 };
	char p[DELAYED_JOB_MAX], q[DELAYED_JOB_MAX], r[DELAYED_JOB_MAX];
	long attempt = 0;

	(void)state;
	assert_int_equal(jobs_network_type_payload("08012340001", "5G", p, sizeof p, &err), 0);
	assert_null(strstr(p, "attempt"));
	/* the route's payload is try 1: the next is try 2, same job id */
	assert_int_equal(jobs_network_type_retry_payload(p, q, sizeof q, &attempt, &err), 0);
	assert_int_equal(attempt, 2);
	assert_non_null(strstr(q, "\"attempt\":2"));
	assert_non_null(strstr(q, "\"msisdn\":\"08012340001\""));
	assert_memory_equal(strstr(p, "\"id\":"), strstr(q, "\"id\":"), 43);
	assert_int_equal(jobs_network_type_retry_payload(q, r, sizeof r, &attempt, &err), 0);
	assert_int_equal(attempt, 3);
	assert_non_null(strstr(r, "\"attempt\":3"));
	assert_null(strstr(r, "\"attempt\":2"));
	/* unreadable, out of range, or too small a buffer */
	assert_int_equal(jobs_network_type_retry_payload("[1]", r, sizeof r, &attempt, &err), -1);
	assert_int_equal(jobs_network_type_retry_payload("{\"attempt\":13}", r, sizeof r,
		&attempt, &err), -1);
	assert_int_equal(jobs_network_type_retry_payload("{\"attempt\":\"x\"}", r, sizeof r,
		&attempt, &err), -1);
	assert_int_equal(jobs_network_type_retry_payload(p, r, 8, &attempt, &err), -1);
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

static void rdel(struct redis *r, const char *key)
{
	struct pt_err err = { 0 };
	redisReply *rep = redis_cmd(r, &err, "DEL %s", key);

	if (rep)
		freeReplyObject(rep);
}

static void rset(struct redis *r, const char *key, const char *val, long ex)
{
	struct pt_err err = { 0 };
	redisReply *rep = redis_cmd(r, &err, "SET %s %s EX %ld", key, val, ex);

	assert_non_null(rep);
	freeReplyObject(rep);
}

static long long rnum(struct redis *r, const char *cmd, const char *key, const char *arg)
{
	struct pt_err err = { 0 };
	redisReply *rep = arg ? redis_cmd(r, &err, "%s %s %s", cmd, key, arg) :
		redis_cmd(r, &err, "%s %s", cmd, key);
	long long v = -99;

	if (rep && rep->type == REDIS_REPLY_INTEGER)
		v = rep->integer;
	else if (rep && rep->type == REDIS_REPLY_STRING)
		v = strtoll(rep->str, NULL, 10);
	if (rep)
		freeReplyObject(rep);
	return v;
}

/* A due network-type job while the line's claim is taken: no Freebit call
 * (the client points at a closed port: a call would fail the job), the job
 * done and again 5 minutes later as try 2, the pending marker kept until
 * then. Try 12 on a taken claim is abandoned: marker gone, no next job. */
static void test_network_type_claim_taken(void **state)
{
	const char *url = getenv("PORTAL_TEST_REDIS_URL");
	char set[64], running[80], failed[80], ms[24], claim[64], pending[64];
	char p[DELAYED_JOB_MAX], q[DELAYED_JOB_MAX];
	struct delayed_keys k = { set, running, failed };
	struct freebit_client_opts fo = { "http://127.0.0.1:1", "oem", "key", 500, 0, NULL };
	struct delayed_entry list[8];
	struct jobs_stats st;
	struct pt_err err = { 0 };
	struct redis *r;
	long attempt = 0;
	long long t0;
	size_t n = 0;

	(void)state;
	if (!url || !*url)
		skip();
	snprintf(set, sizeof set, "test:delayed:nt:%ld", (long)getpid());
	snprintf(running, sizeof running, "%s:running", set);
	snprintf(failed, sizeof failed, "%s:failed", set);
	snprintf(ms, sizeof ms, "089%08ld", (long)getpid() % 100000000L);
	snprintf(claim, sizeof claim, "freebit:line:%s:last_change", ms);
	snprintf(pending, sizeof pending, "freebit:line:%s:pending", ms);
	assert_non_null(r = redis_new(url, 500, 3000));
	struct jobs_ctx c = { .redis = r, .keys = &k, .gap_s = 5 };
	assert_non_null(c.freebit = freebit_client_new(&fo, &err));
	del(r, &k);
	rset(r, claim, "other:1", 600);
	rset(r, pending, "1", 30);
	assert_int_equal(jobs_network_type_payload(ms, "5G", p, sizeof p, &err), 0);
	assert_int_equal(delayed_schedule(r, &k, 1000, p, &err), 0);
	t0 = jobs_now_ms();
	assert_int_equal(jobs_run_due(&c, 2000, 0, &st, &err), 0);
	assert_int_equal(st.ran, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(delayed_list(r, &k, list, 8, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].state, DELAYED_WAITING);
	assert_non_null(strstr(list[0].payload, "\"attempt\":2"));
	assert_true(list[0].at_ms >= t0 + 300000 && list[0].at_ms <= jobs_now_ms() + 300000);
	assert_true(rnum(r, "TTL", pending, NULL) > 300);
	assert_int_equal(rnum(r, "TTL", claim, NULL) > 500, 1);   /* not ours: untouched */
	/* try 12 on the taken claim: abandoned, the change is over */
	del(r, &k);
	for (int i = 1; i < 12; i++) {
		assert_int_equal(jobs_network_type_retry_payload(p, q, sizeof q, &attempt, &err), 0);
		memcpy(p, q, sizeof p);
	}
	assert_int_equal(attempt, 12);
	assert_int_equal(delayed_schedule(r, &k, 1000, q, &err), 0);
	assert_int_equal(jobs_run_due(&c, 2000, 0, &st, &err), 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(delayed_list(r, &k, list, 8, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].state, DELAYED_FAILED);
	assert_int_equal(rnum(r, "EXISTS", pending, NULL), 0);
	del(r, &k);
	rdel(r, claim);
	rdel(r, pending);
	freebit_client_free(c.freebit);
	redis_free(r);
}

int main(void)
{
	log_init("test_jobs", LOG_LVL_CRIT, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payloads),
		cmocka_unit_test(test_delayed_redis),
		cmocka_unit_test(test_network_type_next),
		cmocka_unit_test(test_network_type_retry_payload),
		cmocka_unit_test(test_network_type_claim_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
