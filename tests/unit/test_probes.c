/* test_probes — the pure parts of portal-probed: status classification
 * against seed 000's thresholds, the once-per-change alert rule, the
 * next-due schedule, the config defaults and the public error phrase. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "app/probes.h"
#include "core/config.h"

static void test_names(void **state)
{
	(void)state;
	static const char *const want[] = { "salesforce", "whmcs", "freebit", "sftp", "redis",
		"postgres" };

	for (int i = 0; i < PROBE_NSYSTEMS; i++)
		assert_string_equal(probe_system_name((enum probe_system)i), want[i]);
	assert_string_equal(probe_interval_key(PROBE_FREEBIT), "PROBE_INTERVAL_FREEBIT_S");
	assert_int_equal(probe_status_parse("ok"), PROBE_OK);
	assert_int_equal(probe_status_parse("degraded"), PROBE_DEGRADED);
	assert_int_equal(probe_status_parse("down"), PROBE_DOWN);
	assert_int_equal(probe_status_parse("unknown"), PROBE_UNKNOWN);
	assert_int_equal(probe_status_parse("OK"), PROBE_UNKNOWN);
	assert_int_equal(probe_status_parse(NULL), PROBE_UNKNOWN);
	assert_string_equal(probe_status_name(PROBE_DEGRADED), "degraded");
}

static void test_classify(void **state)
{
	(void)state;
	struct probe_thresholds t = { 2000, 5000 };
	struct probe_result r = { 0 };

	r.latency_ms = 120;
	probe_classify(&r, &t);
	assert_int_equal(r.status, PROBE_OK);
	assert_string_equal(r.error, "");

	r.latency_ms = 2000;           /* "> 2s": equal is still fine */
	probe_classify(&r, &t);
	assert_int_equal(r.status, PROBE_OK);

	r.latency_ms = 2001;
	probe_classify(&r, &t);
	assert_int_equal(r.status, PROBE_DEGRADED);
	assert_int_equal(r.critical, 0);
	assert_non_null(strstr(r.error, "warning"));

	r.latency_ms = 6000;
	probe_classify(&r, &t);
	assert_int_equal(r.status, PROBE_DEGRADED);
	assert_int_equal(r.critical, 1);
	assert_non_null(strstr(r.error, "critical"));

	/* A failure is down whatever the latency. */
	memset(&r, 0, sizeof r);
	r.failed = 1;
	r.latency_ms = 10;
	probe_classify(&r, &t);
	assert_int_equal(r.status, PROBE_DOWN);
	assert_string_equal(r.error, "check failed");
}

static void test_transition(void **state)
{
	(void)state;
	/* Same status again: nothing logged, however long it lasts. */
	assert_int_equal(probe_transition(PROBE_DOWN, PROBE_DOWN), PROBE_ALERT_NONE);
	assert_int_equal(probe_transition(PROBE_OK, PROBE_OK), PROBE_ALERT_NONE);
	assert_int_equal(probe_transition(PROBE_DEGRADED, PROBE_DEGRADED), PROBE_ALERT_NONE);
	assert_int_equal(probe_transition(PROBE_OK, PROBE_DOWN), PROBE_ALERT_DOWN);
	assert_int_equal(probe_transition(PROBE_DEGRADED, PROBE_DOWN), PROBE_ALERT_DOWN);
	assert_int_equal(probe_transition(PROBE_UNKNOWN, PROBE_DOWN), PROBE_ALERT_DOWN);
	assert_int_equal(probe_transition(PROBE_OK, PROBE_DEGRADED), PROBE_ALERT_DEGRADED);
	assert_int_equal(probe_transition(PROBE_DOWN, PROBE_DEGRADED), PROBE_ALERT_DEGRADED);
	assert_int_equal(probe_transition(PROBE_DOWN, PROBE_OK), PROBE_ALERT_RECOVERED);
	assert_int_equal(probe_transition(PROBE_DEGRADED, PROBE_OK), PROBE_ALERT_RECOVERED);
	assert_int_equal(probe_transition(PROBE_UNKNOWN, PROBE_OK), PROBE_ALERT_FIRST);
	/* Not configured: no alert either way. */
	assert_int_equal(probe_transition(PROBE_OK, PROBE_UNKNOWN), PROBE_ALERT_NONE);
}

/* Replays a sequence of results through the rule: one line per change. */
static void test_once_per_change(void **state)
{
	(void)state;
	static const enum probe_status seq[] = { PROBE_OK, PROBE_OK, PROBE_DOWN, PROBE_DOWN,
		PROBE_DOWN, PROBE_DEGRADED, PROBE_DEGRADED, PROBE_OK, PROBE_OK };
	enum probe_status prev = PROBE_UNKNOWN;
	int lines = 0, crit = 0, recovered = 0;

	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		enum probe_alert a = probe_transition(prev, seq[i]);
		lines += a != PROBE_ALERT_NONE;
		crit += a == PROBE_ALERT_DOWN;
		recovered += a == PROBE_ALERT_RECOVERED;
		prev = seq[i];
	}
	assert_int_equal(lines, 4);    /* first ok, down, degraded, recovered */
	assert_int_equal(crit, 1);
	assert_int_equal(recovered, 1);
}

static void test_schedule(void **state)
{
	(void)state;
	time_t due[4] = { 100, 50, 70, 50 };
	int on[4] = { 1, 1, 1, 1 };
	long wait = -1;

	/* Earliest first; ties go to the lower index (deterministic). */
	assert_int_equal(probe_sched_next(due, on, 4, 40, &wait), 1);
	assert_int_equal(wait, 10);
	on[1] = 0;
	assert_int_equal(probe_sched_next(due, on, 4, 40, &wait), 3);
	/* Overdue: no wait. */
	assert_int_equal(probe_sched_next(due, on, 4, 90, &wait), 3);
	assert_int_equal(wait, 0);
	on[0] = on[2] = on[3] = 0;
	assert_int_equal(probe_sched_next(due, on, 4, 90, &wait), -1);
}

static void test_thresholds_config(void **state)
{
	(void)state;
	static const char conf[] = "PROBE_WHMCS_WARN_MS = 150\n";
	struct pt_err err = { 0 };
	struct pt_config *cfg = config_parse_buffer("t", conf, sizeof conf - 1, &err);
	struct probe_thresholds t;

	assert_non_null(cfg);
	probe_thresholds_get(cfg, PROBE_WHMCS, &t);
	assert_int_equal(t.warn_ms, 150);
	assert_int_equal(t.crit_ms, 5000);
	/* Seed 000's alerting table. */
	probe_thresholds_get(cfg, PROBE_SALESFORCE, &t);
	assert_int_equal(t.warn_ms, 2000);
	assert_int_equal(t.crit_ms, 5000);
	probe_thresholds_get(cfg, PROBE_FREEBIT, &t);
	assert_int_equal(t.warn_ms, 3000);
	assert_int_equal(t.crit_ms, 10000);
	probe_thresholds_get(cfg, PROBE_REDIS, &t);
	assert_int_equal(t.warn_ms, 100);
	assert_int_equal(t.crit_ms, 500);
	probe_thresholds_get(cfg, PROBE_POSTGRES, &t);
	assert_int_equal(t.warn_ms, 500);
	assert_int_equal(t.crit_ms, 2000);
	config_free(cfg);
}

/* Nothing configured: unknown, no I/O, a phrase fit for /health. */
static void test_unconfigured(void **state)
{
	(void)state;
	struct probe_ctx ctx = { 0 };
	struct probe_result r;

	for (int i = 0; i < PROBE_NSYSTEMS; i++) {
		if (i == PROBE_SFTP)
			continue;      /* reads the config */
		probe_check(&ctx, (enum probe_system)i, &r);
		assert_int_equal(r.status, PROBE_UNKNOWN);
		assert_string_equal(r.error, "not configured");
		assert_int_equal(r.failed, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_transition),
		cmocka_unit_test(test_once_per_change),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_thresholds_config),
		cmocka_unit_test(test_unconfigured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
