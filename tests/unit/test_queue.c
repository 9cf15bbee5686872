/* test_queue — the provisioning queue against a real Redis (skipped unless
 * PORTAL_TEST_REDIS_URL is set): group creation is idempotent, a job is
 * read once, an unacked job is re-claimed with its delivery count, a job
 * over max deliveries goes to the dead stream, and retry-dead re-queues it.
 * Streams are named per run so parallel suites never share them. */
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
#include "store/queue.h"
#include "store/redis.h"

static char stream[64], dead[80];

static struct queue *mkq(struct redis *r, const char *consumer, long vis_ms, long max)
{
	struct queue_opts o = { .stream = stream, .dead_stream = dead, .group = "provisiond",
		.consumer = consumer, .visibility_ms = vis_ms, .max_deliveries = max };
	return queue_new(r, &o, NULL);
}

static void test_queue_flow(void **state)
{
	(void)state;
	const char *url = getenv("PORTAL_TEST_REDIS_URL");
	struct pt_err err = { 0 };
	struct queue_job job;
	struct queue_stats st;
	char id[QUEUE_ID_MAX];
	long moved = 0;

	if (!url || !*url)
		skip();
	snprintf(stream, sizeof stream, "test:q:%ld", (long)getpid());
	snprintf(dead, sizeof dead, "%s:dead", stream);
	struct redis *r = redis_new(url, 500, 3000);
	assert_non_null(r);
	struct queue *a = mkq(r, "a", 1, 2), *b = mkq(r, "b", 1, 2);
	assert_int_equal(queue_ensure_group(a, &err), 0);
	assert_int_equal(queue_ensure_group(b, &err), 0);   /* BUSYGROUP is fine */
	assert_int_equal(queue_next(a, 10, &job, &err), 0);  /* empty: times out */
	assert_int_equal(queue_enqueue(a, "8015F0000000006QAA", "ev-1", id, &err), 0);
	assert_int_equal(queue_next(a, 100, &job, &err), 1);
	assert_string_equal(job.id, id);
	assert_string_equal(job.sf_order_id, "8015F0000000006QAA");
	assert_string_equal(job.event_id, "ev-1");
	assert_int_equal(job.deliveries, 1);
	assert_int_equal(queue_stats(a, &st, &err), 0);
	assert_int_equal(st.length, 1);
	assert_int_equal(st.pending, 1);
	assert_true(st.group_exists);
	/* a dies: after the visibility timeout b re-claims it */
	usleep(20000);
	assert_int_equal(queue_next(b, 10, &job, &err), 1);
	assert_string_equal(job.id, id);
	assert_int_equal(job.deliveries, 2);
	/* third delivery exceeds max 2: dead-lettered, nothing returned */
	usleep(20000);
	assert_int_equal(queue_next(a, 10, &job, &err), 0);
	assert_int_equal(queue_stats(a, &st, &err), 0);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.dead, 1);
	assert_int_equal(queue_retry_dead(a, "1-1", &moved, &err), -1);
	assert_int_equal(err.code, PT_NOT_FOUND);
	assert_int_equal(queue_retry_dead(a, NULL, &moved, &err), 0);
	assert_int_equal(moved, 1);
	assert_int_equal(queue_next(a, 100, &job, &err), 1);
	assert_string_equal(job.sf_order_id, "8015F0000000006QAA");
	assert_int_equal(queue_ack(a, job.id, &err), 0);
	assert_int_equal(queue_stats(a, &st, &err), 0);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.dead, 0);
	redisReply *rep = redis_cmd(r, &err, "DEL %s %s", stream, dead);
	if (rep)
		freeReplyObject(rep);
	queue_free(a);
	queue_free(b);
	queue_free(NULL);
	redis_free(r);
}

int main(void)
{
	log_init("test_queue", LOG_LVL_CRIT, 0);
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_queue_flow) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
