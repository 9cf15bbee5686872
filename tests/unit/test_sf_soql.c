/* Unit tests for src/salesforce/soql: escaping, id checksum, allow-list, builder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "salesforce/soql.h"

static const char *esc(struct buf *b, const char *s, int like)
{
	buf_free(b);
	buf_init(b, 0);
	int rc = like ? sf_soql_escape_like(b, s, strlen(s)) : sf_soql_escape(b, s, strlen(s));
	return rc == 0 ? buf_cstr(b) : NULL;
}

static void test_escape(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 0);
	assert_string_equal(esc(&b, "O'Brien", 0), "O\\'Brien");
	assert_string_equal(esc(&b, "a\\b", 0), "a\\\\b");
	assert_string_equal(esc(&b, "x' OR Id != '", 0), "x\\' OR Id != \\'");
	assert_string_equal(esc(&b, "l1\nl2\r\t\"q\"", 0), "l1\\nl2\\r\\t\\\"q\\\"");
	assert_string_equal(esc(&b, "\b\f", 0), "\\b\\f");
	assert_string_equal(esc(&b, "50%_off", 0), "50%_off");
	assert_string_equal(esc(&b, "50%_off", 1), "50\\%\\_off");
	/* unicode passes through unchanged */
	assert_string_equal(esc(&b, "山田 太郎 ✓ 😀", 0), "山田 太郎 ✓ 😀");
	/* refused: other controls, invalid UTF-8, overlong encodings */
	assert_null(esc(&b, "a\x01" "b", 0));
	assert_null(esc(&b, "\x7f", 0));
	assert_null(esc(&b, "\xc3", 0));
	assert_null(esc(&b, "\xc0\xa7", 0));      /* overlong ' */
	assert_null(esc(&b, "\xed\xa0\x80", 0));  /* surrogate */
	/* embedded NUL via explicit length */
	buf_reset(&b);
	assert_int_equal(sf_soql_escape(&b, "a\0b", 3), -1);
	buf_free(&b);
}

static void test_ids(void **state)
{
	char out[19];
	(void)state;
	/* documented ids (salesforce-rest.md §7) */
	assert_int_equal(sf_soql_id_to18("001D000000IRFma", out), 0);
	assert_string_equal(out, "001D000000IRFmaIAH");
	const char *good[] = { "001D000000IRFmaIAH", "003D000000QV9n2IAD", "00Dxx0000001gPLEAY",
		"005xx000001SwiUAAS", "001D000000K0fXOIAZ", "0015F0000000001QAA", NULL };
	for (int i = 0; good[i]; i++) {
		assert_true(sf_soql_id_valid(good[i], NULL));
		assert_int_equal(sf_soql_id_to18(good[i], out), 0);
		assert_string_equal(out, good[i]);
	}
	/* suffix compared case-insensitively, output canonical */
	assert_int_equal(sf_soql_id_to18("001D000000IRFmaiah", out), 0);
	assert_string_equal(out, "001D000000IRFmaIAH");
	/* bad checksum, length, characters */
	assert_false(sf_soql_id_valid("001D000000IRFmaIAA", NULL));
	assert_false(sf_soql_id_valid("001D000000IRFm", NULL));
	assert_false(sf_soql_id_valid("001D000000IRFmaIAHX", NULL));
	assert_false(sf_soql_id_valid("001D000000IRF'a", NULL));
	assert_false(sf_soql_id_valid("", NULL));
	assert_false(sf_soql_id_valid(NULL, NULL));
	/* key prefix */
	assert_true(sf_soql_id_valid("0015F0000000001QAA", "001"));
	assert_false(sf_soql_id_valid("0015F0000000001QAA", "801"));
	struct pt_err e = { 0 };
	assert_int_equal(sf_soql_id_check("8015F0000000001", "001", NULL, &e), -1);
	assert_int_equal(e.code, PT_VALIDATION_FAILED);
}

static void test_allow_list(void **state)
{
	(void)state;
	assert_true(sf_soql_object_allowed("Order"));
	assert_false(sf_soql_object_allowed("User"));
	assert_true(sf_soql_field_allowed("Account", "Customer_Number__c"));
	assert_false(sf_soql_field_allowed("Account", "customer_number__c"));
	assert_false(sf_soql_field_allowed("Account", "Password__c"));
	assert_true(sf_soql_field_allowed("Case", "Account.Name"));
	assert_true(sf_soql_field_allowed("OrderItem", "Product2.WH_Product_ID__c"));
	assert_false(sf_soql_field_allowed("OrderItem", "Product2.Secret__c"));
	assert_false(sf_soql_field_allowed("Account", "Owner.Name"));
	assert_false(sf_soql_field_allowed("Case", "Account."));
}

static void test_build(void **state)
{
	struct buf q;
	struct pt_err e = { 0 };
	(void)state;
	buf_init(&q, 0);
	assert_int_equal(sf_soql_build(&q, &e,
		"SELECT %F, %F FROM %O WHERE %F = %I AND %F = %S AND %F LIKE %L LIMIT %d",
		"Case", "Id", "Case", "Account.Name", "Case", "Case", "AccountId", "0015F0000000001",
		"Case", "Subject", "it's \\ bad", "Case", "Description", "100%", 5), 0);
	assert_string_equal(buf_cstr(&q),
		"SELECT Id, Account.Name FROM Case WHERE AccountId = '0015F0000000001QAA' AND "
		"Subject = 'it\\'s \\\\ bad' AND Description LIKE '%100\\%%' LIMIT 5");
	buf_reset(&q);
	assert_int_equal(sf_soql_build(&q, &e, "x %B %B %l %T %%", 1, 0, 12345678901L, "2026-01-02"), 0);
	assert_string_equal(buf_cstr(&q), "x true false 12345678901 2026-01-02 %");
	/* failures leave the buffer as it was */
	buf_reset(&q);
	buf_puts(&q, "keep");
	assert_int_equal(sf_soql_build(&q, &e, " WHERE Id = %I", "0015F0000000001QAB"), -1);
	assert_int_equal(e.code, PT_VALIDATION_FAILED);
	assert_string_equal(buf_cstr(&q), "keep");
	assert_int_equal(sf_soql_build(&q, &e, " WHERE Id = %I", "' OR Name != '"), -1);
	assert_int_equal(sf_soql_build(&q, &e, " %F", "Account", "Secret__c"), -1);
	assert_int_equal(e.code, PT_INTERNAL);
	assert_int_equal(sf_soql_build(&q, &e, " %O", "User"), -1);
	assert_int_equal(sf_soql_build(&q, &e, " %s", "raw"), -1);
	assert_int_equal(e.code, PT_INTERNAL);
	assert_int_equal(sf_soql_build(&q, &e, " %T", "2026-1-02"), -1);
	assert_int_equal(sf_soql_build(&q, &e, " %S", "bell\x07"), -1);
	assert_int_equal(e.code, PT_VALIDATION_FAILED);
	assert_int_equal(sf_soql_build(&q, &e, " trailing %"), -1);
	assert_string_equal(buf_cstr(&q), "keep");
	buf_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
