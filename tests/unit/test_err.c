/* test_err — the error table is complete, consistent and speaks to people. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"

static void test_table_complete(void **state)
{
	(void)state;
	for (int c = 0; c < PT_CODE_COUNT; c++) {
		const char *name = pt_err_code_name((enum pt_code)c);
		const char *msg = pt_err_user_message((enum pt_code)c);
		assert_non_null(name);
		assert_non_null(msg);
		assert_true(strlen(msg) >= 5);
		/* the table is indexed by code: a misplaced row breaks the round trip */
		assert_int_equal(pt_err_code_from_name(name), c);
		int st = pt_err_http_status((enum pt_code)c);
		assert_true(st >= 200 && st <= 599);
		/* messages never leak internals */
		assert_null(strstr(msg, "Salesforce"));
		assert_null(strstr(msg, "WHMCS"));
		assert_null(strstr(msg, "Redis"));
		assert_null(strstr(msg, "SQL"));
	}
}

static void test_statuses(void **state)
{
	(void)state;
	assert_int_equal(pt_err_http_status(PT_BAD_REQUEST), 400);
	assert_int_equal(pt_err_http_status(PT_VALIDATION_FAILED), 400);
	assert_int_equal(pt_err_http_status(PT_UNAUTHENTICATED), 401);
	assert_int_equal(pt_err_http_status(PT_INVALID_SIGNATURE), 401);
	assert_int_equal(pt_err_http_status(PT_TOTP_REQUIRED), 401);
	assert_int_equal(pt_err_http_status(PT_CSRF_FAILED), 403);
	assert_int_equal(pt_err_http_status(PT_NOT_FOUND), 404);
	assert_int_equal(pt_err_http_status(PT_METHOD_NOT_ALLOWED), 405);
	assert_int_equal(pt_err_http_status(PT_PAYLOAD_TOO_LARGE), 413);
	assert_int_equal(pt_err_http_status(PT_UNSUPPORTED_MEDIA_TYPE), 415);
	assert_int_equal(pt_err_http_status(PT_RATE_LIMITED), 429);
	assert_int_equal(pt_err_http_status(PT_UPSTREAM_ERROR), 502);
	assert_int_equal(pt_err_http_status(PT_UPSTREAM_UNAVAILABLE), 503);
	assert_int_equal(pt_err_http_status(PT_MAINTENANCE), 503);
	assert_int_equal(pt_err_http_status(PT_CUSTOMER_NUMBER_NOT_FOUND), 404);
	assert_int_equal(pt_err_http_status(PT_ACCOUNT_ALREADY_REGISTERED), 409);
	assert_int_equal(pt_err_http_status(PT_EMAIL_IN_USE), 409);
	assert_int_equal(pt_err_http_status(PT_WEAK_PASSWORD), 400);
	assert_int_equal(pt_err_http_status(PT_LINK_2FA_UNSUPPORTED), 409);
	assert_int_equal(pt_err_http_status(PT_RESET_TOKEN_INVALID), 400);
	assert_int_equal(pt_err_http_status(PT_PAYMENT_METHOD_MISSING), 409);
	assert_int_equal(pt_err_http_status(PT_NOT_ELIGIBLE), 400);
	assert_int_equal(pt_err_http_status(PT_UNKNOWN_SKU), 400);
	assert_int_equal(pt_err_http_status(PT_NOT_ORDERABLE), 400);
	assert_int_equal(pt_err_http_status(PT_MIXED_CART), 400);
	assert_int_equal(pt_err_http_status(PT_IDEMPOTENCY_KEY_REQUIRED), 400);
	assert_int_equal(pt_err_http_status(PT_OPERATION_TOO_SOON), 409);
	assert_int_equal(pt_err_http_status(PT_SIM_ACTION_NOT_ALLOWED), 409);
	assert_int_equal(pt_err_http_status(PT_RECORDS_NOT_AVAILABLE), 404);
	assert_int_equal(pt_err_http_status(PT_CONFIG_INVALID), 500);
	assert_int_equal(pt_err_http_status(PT_INTERNAL), 500);
}

/* Every 503 carries a Retry-After (portal-api.md): the table gives each 503
 * code a default, and only 503 codes have one. */
static void test_retry_after_defaults(void **state)
{
	struct pt_err err;
	(void)state;

	for (int c = 0; c < PT_CODE_COUNT; c++) {
		int ra = pt_err_default_retry_after((enum pt_code)c);
		if (pt_err_http_status((enum pt_code)c) == 503)
			assert_true(ra > 0 && ra <= 600);
		else
			assert_int_equal(ra, 0);
	}
	assert_int_equal(pt_err_default_retry_after(PT_UPSTREAM_UNAVAILABLE), PT_RETRY_AFTER_UPSTREAM_S);
	assert_int_equal(pt_err_default_retry_after(PT_MAINTENANCE), PT_RETRY_AFTER_MAINTENANCE_S);
	assert_int_equal(pt_err_default_retry_after((enum pt_code)999), 0);
	/* the cause's own value wins over the default */
	pt_err_clear(&err);
	pt_err_set(&err, PT_UPSTREAM_UNAVAILABLE, "freebit 900");
	assert_int_equal(pt_err_retry_after(&err), PT_RETRY_AFTER_UPSTREAM_S);
	err.retry_after = 600;
	assert_int_equal(pt_err_retry_after(&err), 600);
	pt_err_set(&err, PT_RATE_LIMITED, "ip");
	err.retry_after = 0;
	assert_int_equal(pt_err_retry_after(&err), 0);
	assert_int_equal(pt_err_retry_after(NULL), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pt_err_code_name(PT_PAYMENT_METHOD_MISSING), "PAYMENT_METHOD_MISSING");
	assert_string_equal(pt_err_code_name(PT_UPSTREAM_UNAVAILABLE), "UPSTREAM_UNAVAILABLE");
	assert_string_equal(pt_err_code_name(PT_LINK_2FA_UNSUPPORTED), "LINK_2FA_UNSUPPORTED");
	assert_int_equal(pt_err_code_from_name("NO_SUCH_CODE"), PT_CODE_COUNT);
	assert_int_equal(pt_err_code_from_name(NULL), PT_CODE_COUNT);
	/* out-of-range codes degrade to INTERNAL instead of reading past the table */
	assert_int_equal(pt_err_http_status((enum pt_code)999), 500);
	assert_string_equal(pt_err_code_name((enum pt_code)-1), "INTERNAL");
}

static void test_set(void **state)
{
	struct pt_err err;
	(void)state;

	pt_err_clear(&err);
	assert_int_equal(pt_err_set(&err, PT_NOT_FOUND, "order %s", "801x"), -1);
	assert_int_equal(err.code, PT_NOT_FOUND);
	assert_string_equal(err.detail, "order 801x");
	assert_int_equal(pt_err_field(&err, PT_VALIDATION_FAILED, "email", "bad %d", 1), -1);
	assert_string_equal(err.field, "email");
	assert_string_equal(err.detail, "bad 1");
	pt_err_provider(&err, "ETIMEOUT");
	assert_string_equal(err.provider_code, "ETIMEOUT");
	pt_err_clear(&err);
	assert_int_equal(err.code, PT_OK);
	assert_string_equal(err.field, "");
	/* NULL err is allowed everywhere */
	assert_int_equal(pt_err_set(NULL, PT_INTERNAL, "x"), -1);
	assert_int_equal(pt_err_field(NULL, PT_INTERNAL, "f", "x"), -1);
	pt_err_provider(NULL, "x");
	pt_err_clear(NULL);
	/* long details are truncated, not overflowed */
	char big[1000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pt_err_set(&err, PT_INTERNAL, "%s", big);
	assert_int_equal(strlen(err.detail), sizeof err.detail - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_retry_after_defaults),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
