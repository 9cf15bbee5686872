/* test_sim — the pure parts of app/sim and app/sim_topup: the calls/SMS
 * month window, usage date validation, cancellation and plan dates, top-up
 * options, Idempotency-Key shape and the top-up state machine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "app/sim.h"
#include "app/sim_topup.h"

static void test_month_window(void **state)
{
	int y, m;

	(void)state;
	assert_int_equal(sim_parse_month("2026-09", &y, &m), 0);
	assert_int_equal(y, 2026);
	assert_int_equal(m, 9);
	assert_int_equal(sim_parse_month("2026-13", &y, &m), -1);
	assert_int_equal(sim_parse_month("2026-9", &y, &m), -1);
	assert_int_equal(sim_parse_month("202609", &y, &m), -1);
	assert_int_equal(sim_parse_month(NULL, &y, &m), -1);
	/* November 2026: September is the newest, October 2025 the oldest. */
	assert_true(sim_month_offered(2026, 9, 2026, 11));
	assert_false(sim_month_offered(2026, 10, 2026, 11));
	assert_false(sim_month_offered(2026, 11, 2026, 11));
	assert_true(sim_month_offered(2025, 10, 2026, 11));
	assert_false(sim_month_offered(2025, 9, 2026, 11));
	/* across the year: January → November of last year */
	assert_true(sim_month_offered(2025, 11, 2026, 1));
	assert_false(sim_month_offered(2025, 12, 2026, 1));
}

static void test_usage_window(void **state)
{
	char f[9], t[9];
	struct pt_err e = { 0 };

	(void)state;
	assert_int_equal(sim_usage_window(NULL, NULL, 2026, 11, 23, f, t, &e), 0);
	assert_string_equal(f, "20261025");
	assert_string_equal(t, "20261123");
	assert_int_equal(sim_usage_window("2026-11-01", "2026-11-10", 2026, 11, 23, f, t, &e), 0);
	assert_string_equal(f, "20261101");
	assert_string_equal(t, "20261110");
	assert_int_equal(sim_usage_window("2026-11-10", "2026-11-01", 2026, 11, 23, f, t, &e), -1);
	assert_string_equal(e.field, "from");
	assert_int_equal(sim_usage_window(NULL, "2026-11-24", 2026, 11, 23, f, t, &e), -1);
	assert_string_equal(e.field, "to");
	assert_int_equal(sim_usage_window("2026-02-30", NULL, 2026, 11, 23, f, t, &e), -1);
	assert_int_equal(sim_usage_window("2026-07-31", NULL, 2026, 11, 23, f, t, &e), -1);
	assert_int_equal(sim_usage_window("2026-08-01", "2026-10-31", 2026, 11, 23, f, t, &e), 0);
	assert_int_equal(sim_usage_window("x", NULL, 2026, 11, 23, f, t, &e), -1);
}

static void test_dates(void **state)
{
	char d[9], dd[11];

	(void)state;
	sim_cancel_date(2026, 11, 23, d);
	assert_string_equal(d, "20261130");
	sim_cancel_date(2026, 11, 30, d);
	assert_string_equal(d, "20261231");
	sim_cancel_date(2026, 12, 31, d);
	assert_string_equal(d, "20270131");
	sim_cancel_date(2028, 2, 3, d);
	assert_string_equal(d, "20280229");
	sim_next_month_first(2026, 12, d);
	assert_string_equal(d, "20270101");
	sim_dashed("20270101", dd);
	assert_string_equal(dd, "2027-01-01");
}

static void test_topup_options(void **state)
{
	long p = 0;

	(void)state;
	assert_int_equal(sim_topup_price("1024:500,3072:1200,5120:1800", 3072, &p), 0);
	assert_int_equal(p, 1200);
	assert_int_equal(sim_topup_price("1024:500,3072:1200,5120:1800", 5120, &p), 0);
	assert_int_equal(p, 1800);
	assert_int_equal(sim_topup_price("1024:500,3072:1200", 2048, &p), -1);
	assert_int_equal(sim_topup_price("1024:500,x", 2048, &p), -1);
	assert_int_equal(sim_topup_price("", 1024, &p), -1);
	assert_int_equal(sim_topup_price(NULL, 1024, &p), -1);
	assert_true(sim_topup_key_valid("abc-123_X"));
	assert_false(sim_topup_key_valid(""));
	assert_false(sim_topup_key_valid("a b"));
	assert_false(sim_topup_key_valid("0123456789012345678901234567890123456789012345678901234567890123X"));
}

static void test_topup_states(void **state)
{
	(void)state;
	assert_int_equal(sim_topup_next(SIM_TOPUP_PENDING, SIM_EV_QUOTA_OK), SIM_TOPUP_QUOTA_ADDED);
	assert_int_equal(sim_topup_next(SIM_TOPUP_PENDING, SIM_EV_QUOTA_FAIL), SIM_TOPUP_FAILED);
	assert_int_equal(sim_topup_next(SIM_TOPUP_PENDING, SIM_EV_BILL_OK), SIM_TOPUP_INVALID);
	assert_int_equal(sim_topup_next(SIM_TOPUP_QUOTA_ADDED, SIM_EV_BILL_OK), SIM_TOPUP_BILLED);
	assert_int_equal(sim_topup_next(SIM_TOPUP_QUOTA_ADDED, SIM_EV_BILL_FAIL),
		SIM_TOPUP_BILLING_PENDING);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLING_PENDING, SIM_EV_BILL_OK), SIM_TOPUP_BILLED);
	/* once the quota is added it can never become failed */
	assert_int_equal(sim_topup_next(SIM_TOPUP_QUOTA_ADDED, SIM_EV_QUOTA_FAIL), SIM_TOPUP_INVALID);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLED, SIM_EV_BILL_OK), SIM_TOPUP_INVALID);
	assert_int_equal(sim_topup_next(SIM_TOPUP_FAILED, SIM_EV_QUOTA_OK), SIM_TOPUP_INVALID);
	assert_int_equal(sim_topup_state_from("billing_pending"), SIM_TOPUP_BILLING_PENDING);
	assert_string_equal(sim_topup_state_name(SIM_TOPUP_BILLED), "billed");
	assert_int_equal(sim_topup_state_from("nope"), SIM_TOPUP_INVALID);

	/* billing outcome unknown: never billed again, only an operator's
	 * verdict moves it (billed, or back to billing_pending) */
	assert_int_equal(sim_topup_next(SIM_TOPUP_QUOTA_ADDED, SIM_EV_BILL_UNKNOWN),
		SIM_TOPUP_BILLING_UNKNOWN);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLING_PENDING, SIM_EV_BILL_UNKNOWN),
		SIM_TOPUP_BILLING_UNKNOWN);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLING_UNKNOWN, SIM_EV_BILL_OK), SIM_TOPUP_INVALID);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLING_UNKNOWN, SIM_EV_BILL_FAIL),
		SIM_TOPUP_INVALID);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLING_UNKNOWN, SIM_EV_RESOLVED_BILLED),
		SIM_TOPUP_BILLED);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLING_UNKNOWN, SIM_EV_RESOLVED_UNBILLED),
		SIM_TOPUP_BILLING_PENDING);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLED, SIM_EV_RESOLVED_UNBILLED),
		SIM_TOPUP_INVALID);
	assert_int_equal(sim_topup_next(SIM_TOPUP_BILLING_PENDING, SIM_EV_RESOLVED_BILLED),
		SIM_TOPUP_INVALID);
	assert_int_equal(sim_topup_state_from("billing_unknown"), SIM_TOPUP_BILLING_UNKNOWN);
	assert_string_equal(sim_topup_state_name(SIM_TOPUP_BILLING_UNKNOWN), "billing_unknown");
	/* the customer is told the charge is pending either way */
	assert_string_equal(sim_topup_public_state(SIM_TOPUP_BILLING_UNKNOWN), "billing_pending");
	assert_string_equal(sim_topup_public_state(SIM_TOPUP_BILLED), "billed");
}

/* AddBillableItem is not idempotent: only a failure that certainly made no
 * item is retried (billing_pending); any other is billing_unknown. */
static void test_topup_bill_event(void **state)
{
	struct pt_err e = { 0 };
	(void)state;

	assert_int_equal(sim_topup_bill_event(0, &e), SIM_EV_BILL_OK);
	e.not_applied = 1;    /* refused, never sent, 429/503 */
	assert_int_equal(sim_topup_bill_event(-1, &e), SIM_EV_BILL_FAIL);
	e.not_applied = 0;    /* timeout after sending, reset, 500, garbled reply */
	assert_int_equal(sim_topup_bill_event(-1, &e), SIM_EV_BILL_UNKNOWN);
	assert_int_equal(sim_topup_bill_event(-1, NULL), SIM_EV_BILL_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_month_window),
		cmocka_unit_test(test_usage_window),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_topup_options),
		cmocka_unit_test(test_topup_states),
		cmocka_unit_test(test_topup_bill_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
