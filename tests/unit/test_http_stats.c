/* test_http_stats — the per-attempt accumulator behind /metrics' provider
 * series: outcome mapping, bucket choice at the bounds, record and drain
 * (copy, then zero), label rows in order of first use, the "other" row for
 * labels beyond the table or unfit for a Prometheus label, and a concurrent
 * record/drain that loses nothing (portal-subscriberd's threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "core/http.h"

static const struct http_stats_row *row_of(const struct http_stats *s, const char *system)
{
	for (size_t i = 0; i < HTTP_STATS_ROWS; i++)
		if (!strcmp(s->row[i].system, system))
			return &s->row[i];
	return NULL;
}

static int reset(void **state)
{
	struct http_stats s;

	(void)state;
	http_stats_drain(&s);
	return 0;
}

static void test_outcome_mapping(void **state)
{
	(void)state;
	assert_int_equal(http_outcome_of(CURLE_OK, 200, 0), HTTP_OUTCOME_OK);
	assert_int_equal(http_outcome_of(CURLE_OK, 302, 0), HTTP_OUTCOME_OK);
	assert_int_equal(http_outcome_of(CURLE_OK, 399, 0), HTTP_OUTCOME_OK);
	assert_int_equal(http_outcome_of(CURLE_OK, 400, 0), HTTP_OUTCOME_4XX);
	assert_int_equal(http_outcome_of(CURLE_OK, 429, 0), HTTP_OUTCOME_4XX);
	assert_int_equal(http_outcome_of(CURLE_OK, 499, 0), HTTP_OUTCOME_4XX);
	assert_int_equal(http_outcome_of(CURLE_OK, 500, 0), HTTP_OUTCOME_5XX);
	assert_int_equal(http_outcome_of(CURLE_OK, 503, 0), HTTP_OUTCOME_5XX);
	assert_int_equal(http_outcome_of(CURLE_OPERATION_TIMEDOUT, 0, 0), HTTP_OUTCOME_TIMEOUT);
	assert_int_equal(http_outcome_of(CURLE_COULDNT_CONNECT, 0, 0), HTTP_OUTCOME_CONNECT);
	assert_int_equal(http_outcome_of(CURLE_COULDNT_RESOLVE_HOST, 0, 0), HTTP_OUTCOME_CONNECT);
	assert_int_equal(http_outcome_of(CURLE_RECV_ERROR, 0, 0), HTTP_OUTCOME_CONNECT);
	assert_int_equal(http_outcome_of(CURLE_GOT_NOTHING, 0, 0), HTTP_OUTCOME_CONNECT);
	assert_int_equal(http_outcome_of(CURLE_FILESIZE_EXCEEDED, 0, 0), HTTP_OUTCOME_TOO_BIG);
	/* the body callback's abort shows as a write error: too_big wins */
	assert_int_equal(http_outcome_of(CURLE_WRITE_ERROR, 200, 1), HTTP_OUTCOME_TOO_BIG);
	assert_int_equal(http_outcome_of(CURLE_UNSUPPORTED_PROTOCOL, 0, 0), HTTP_OUTCOME_ERROR);

	assert_string_equal(http_outcome_name(HTTP_OUTCOME_OK), "ok");
	assert_string_equal(http_outcome_name(HTTP_OUTCOME_4XX), "http_4xx");
	assert_string_equal(http_outcome_name(HTTP_OUTCOME_5XX), "http_5xx");
	assert_string_equal(http_outcome_name(HTTP_OUTCOME_TIMEOUT), "timeout");
	assert_string_equal(http_outcome_name(HTTP_OUTCOME_CONNECT), "connect");
	assert_string_equal(http_outcome_name(HTTP_OUTCOME_TOO_BIG), "too_big");
	assert_string_equal(http_outcome_name(HTTP_OUTCOME_ERROR), "error");
	assert_string_equal(http_outcome_name((enum http_outcome)99), "error");
}

static void test_buckets(void **state)
{
	(void)state;
	/* le is inclusive, like Prometheus' le: 5 ms is in the 5 bucket */
	assert_int_equal(http_stats_bucket(-3), 0);
	assert_int_equal(http_stats_bucket(0), 0);
	assert_int_equal(http_stats_bucket(5), 0);
	assert_int_equal(http_stats_bucket(6), 1);
	assert_int_equal(http_stats_bucket(10), 1);
	assert_int_equal(http_stats_bucket(11), 2);
	assert_int_equal(http_stats_bucket(250), 5);
	assert_int_equal(http_stats_bucket(251), 6);
	assert_int_equal(http_stats_bucket(10000), 10);
	assert_int_equal(http_stats_bucket(10001), HTTP_STATS_NBUCKETS - 1);
	assert_int_equal(http_stats_bucket(3600000), HTTP_STATS_NBUCKETS - 1);
	assert_int_equal(http_stats_bounds_ms[0], 5);
	assert_int_equal(http_stats_bounds_ms[HTTP_STATS_NBOUNDS - 1], 10000);
}

static void test_record_and_drain(void **state)
{
	struct http_stats s;
	const struct http_stats_row *w;
	(void)state;

	assert_int_equal(http_stats_drain(&s), 0);
	http_stats_record("whmcs", HTTP_OUTCOME_OK, 3);
	http_stats_record("whmcs", HTTP_OUTCOME_OK, 40);
	http_stats_record("whmcs", HTTP_OUTCOME_5XX, 20000);
	http_stats_record("freebit", HTTP_OUTCOME_TIMEOUT, 10);
	http_stats_record("whmcs", HTTP_OUTCOME_OK, -7);   /* clock oddity: 0 ms */
	assert_int_equal(http_stats_drain(&s), 5);
	assert_int_equal(s.attempts, 5);
	assert_non_null(w = row_of(&s, "whmcs"));
	assert_int_equal(w->count[HTTP_OUTCOME_OK], 3);
	assert_int_equal(w->count[HTTP_OUTCOME_5XX], 1);
	assert_int_equal(w->count[HTTP_OUTCOME_4XX], 0);
	assert_int_equal(w->bucket[0], 2);                         /* 3 and 0 ms */
	assert_int_equal(w->bucket[3], 1);                         /* 40 ms: le 50 */
	assert_int_equal(w->bucket[HTTP_STATS_NBUCKETS - 1], 1);   /* +Inf */
	assert_int_equal(w->sum_ms, 3 + 40 + 20000);
	assert_non_null(w = row_of(&s, "freebit"));
	assert_int_equal(w->count[HTTP_OUTCOME_TIMEOUT], 1);
	assert_int_equal(w->bucket[1], 1);
	assert_null(row_of(&s, HTTP_STATS_OTHER));

	/* drained: zero, the labels keep their rows */
	assert_int_equal(http_stats_drain(&s), 0);
	assert_non_null(w = row_of(&s, "whmcs"));
	for (int o = 0; o < HTTP_OUTCOME_N; o++)
		assert_int_equal(w->count[o], 0);
	for (int k = 0; k < HTTP_STATS_NBUCKETS; k++)
		assert_int_equal(w->bucket[k], 0);
	assert_int_equal(w->sum_ms, 0);
}

static void test_overflow_row(void **state)
{
	struct http_stats s;
	char name[16];
	const struct http_stats_row *o;
	(void)state;

	http_stats_record("whmcs", (enum http_outcome)42, 1);  /* claims a row first */
	/* earlier tests may hold rows too: fill every free one, then some */
	for (int i = 0; i < HTTP_STATS_ROWS + 3; i++) {
		snprintf(name, sizeof name, "sys%d", i);
		http_stats_record(name, HTTP_OUTCOME_OK, 1);
	}
	/* labels that must never become a label value of their own */
	http_stats_record(NULL, HTTP_OUTCOME_4XX, 1);
	http_stats_record("", HTTP_OUTCOME_4XX, 1);
	http_stats_record("https://user:pw@x", HTTP_OUTCOME_4XX, 1);
	http_stats_record("Whmcs", HTTP_OUTCOME_4XX, 1);
	http_stats_record("a-very-long-system-label-name", HTTP_OUTCOME_4XX, 1);
	assert_int_equal(http_stats_drain(&s), HTTP_STATS_ROWS + 3 + 6);
	assert_non_null(o = row_of(&s, HTTP_STATS_OTHER));
	assert_ptr_equal(o, &s.row[HTTP_STATS_ROWS - 1]);
	assert_int_equal(o->count[HTTP_OUTCOME_4XX], 5);
	assert_true(o->count[HTTP_OUTCOME_OK] >= 4);
	/* every real row is a plain name; the table never grew */
	for (size_t i = 0; i < HTTP_STATS_ROWS; i++)
		assert_int_equal(strspn(s.row[i].system, "abcdefghijklmnopqrstuvwxyz0123456789_-"),
			strlen(s.row[i].system));
	assert_int_equal(row_of(&s, "whmcs")->count[HTTP_OUTCOME_ERROR], 1);
	unsigned long total = 0;
	for (size_t i = 0; i < HTTP_STATS_ROWS; i++)
		for (int k = 0; k < HTTP_OUTCOME_N; k++)
			total += s.row[i].count[k];
	assert_int_equal(total, HTTP_STATS_ROWS + 3 + 6);
}

#define THREADS 4
#define PER_THREAD 20000

static void *recorder(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++)
		http_stats_record("whmcs", HTTP_OUTCOME_OK, i % 300);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[THREADS];
	struct http_stats s;
	unsigned long seen = 0;
	(void)state;

	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, recorder, NULL), 0);
	for (int i = 0; i < 50; i++)
		seen += http_stats_drain(&s);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	seen += http_stats_drain(&s);
	assert_int_equal(seen, THREADS * PER_THREAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_mapping),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test_setup(test_record_and_drain, reset),
		cmocka_unit_test_setup(test_overflow_row, reset),
		cmocka_unit_test_setup(test_threads, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
