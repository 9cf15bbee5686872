/* Unit tests for the pure parts of app/billing and domain/profile's
 * validators: paging parameters, ids, the profile PATCH body (email, phone,
 * Japanese postcode NNN-NNNN, the 47 prefectures, unknown members, field
 * named on every refusal) and the patch overlay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/billing.h"
#include "domain/profile.h"

static void test_page(void **state)
{
	struct billing_page pg;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(billing_page_parse(NULL, NULL, NULL, &pg, &err), 0);
	assert_int_equal(pg.page, 1);
	assert_int_equal(pg.limit, BILLING_PAGE_LIMIT_DEFAULT);
	assert_string_equal(pg.status, "");
	assert_int_equal(billing_page_parse("3", "100", "unpaid", &pg, &err), 0);
	assert_int_equal(pg.page, 3);
	assert_int_equal(pg.limit, 100);
	assert_string_equal(pg.status, "Unpaid");
	assert_int_equal(billing_page_parse("1", "5", "payment pending", &pg, &err), 0);
	assert_string_equal(pg.status, "Payment Pending");

	static const char *const bad_page[] = { "0", "-1", "", "x", "1.5", "+1", " 1", "1000001",
		"99999999999999999999" };
	for (size_t i = 0; i < sizeof bad_page / sizeof bad_page[0]; i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(billing_page_parse(bad_page[i], NULL, NULL, &pg, &err), -1);
		assert_int_equal(err.code, PT_VALIDATION_FAILED);
		assert_string_equal(err.field, "page");
	}
	static const char *const bad_limit[] = { "0", "101", "abc", "" };
	for (size_t i = 0; i < sizeof bad_limit / sizeof bad_limit[0]; i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(billing_page_parse("1", bad_limit[i], NULL, &pg, &err), -1);
		assert_string_equal(err.field, "limit");
	}
	memset(&err, 0, sizeof err);
	assert_int_equal(billing_page_parse("1", "1", "Pending", &pg, &err), -1);
	assert_string_equal(err.field, "status");
	assert_int_equal(billing_page_parse("1", "1", "", &pg, &err), -1);
}

static void test_id(void **state)
{
	long id = 0;

	(void)state;
	assert_int_equal(billing_id_parse("1001", &id), 0);
	assert_int_equal(id, 1001);
	assert_int_equal(billing_id_parse("0", &id), -1);
	assert_int_equal(billing_id_parse("01", &id), -1);
	assert_int_equal(billing_id_parse("-1", &id), -1);
	assert_int_equal(billing_id_parse("1e3", &id), -1);
	assert_int_equal(billing_id_parse("", &id), -1);
	assert_int_equal(billing_id_parse(NULL, &id), -1);
	assert_int_equal(billing_id_parse("1234567890123456789", &id), -1);
}

static void test_postcode(void **state)
{
	(void)state;
	assert_true(domain_postcode_valid("150-0001"));
	assert_true(domain_postcode_valid("000-0000"));
	assert_false(domain_postcode_valid("1500001"));
	assert_false(domain_postcode_valid("150-001"));
	assert_false(domain_postcode_valid("150-00011"));
	assert_false(domain_postcode_valid("15a-0001"));
	assert_false(domain_postcode_valid("150 0001"));
	assert_false(domain_postcode_valid("１５０-0001"));
	assert_false(domain_postcode_valid(""));
	assert_false(domain_postcode_valid(NULL));
}

static void test_prefecture(void **state)
{
	char out[32];

	(void)state;
	assert_true(domain_prefecture_canonical("Tokyo", out, sizeof out));
	assert_string_equal(out, "Tokyo");
	assert_true(domain_prefecture_canonical("okinawa", out, sizeof out));
	assert_string_equal(out, "Okinawa");
	assert_true(domain_prefecture_canonical("HOKKAIDO", out, sizeof out));
	assert_string_equal(out, "Hokkaido");
	assert_false(domain_prefecture_canonical("Tokio", out, sizeof out));
	assert_false(domain_prefecture_canonical("California", out, sizeof out));
	assert_false(domain_prefecture_canonical("Tokyo ", out, sizeof out));
	assert_false(domain_prefecture_canonical("", out, sizeof out));
	assert_false(domain_prefecture_canonical(NULL, out, sizeof out));
}

static void test_phone(void **state)
{
	(void)state;
	assert_true(domain_phone_valid("03-1234-5678"));
	assert_true(domain_phone_valid("090-1234-5678"));
	assert_true(domain_phone_valid("+81 90 1234 5678"));
	assert_true(domain_phone_valid("0312345678"));
	assert_false(domain_phone_valid("123-4567"));           /* too few digits */
	assert_false(domain_phone_valid("03--1234-5678"));
	assert_false(domain_phone_valid("-0312345678"));
	assert_false(domain_phone_valid("0312345678-"));
	assert_false(domain_phone_valid("03(1234)5678"));
	assert_false(domain_phone_valid("1234567890123456"));   /* 16 digits */
	assert_false(domain_phone_valid("+"));
	assert_false(domain_phone_valid(NULL));
}

/* Parses body; returns rc and leaves the error's field in err. */
static int patch(const char *body, struct billing_profile_patch *p, struct pt_err *err)
{
	struct json_object *doc = NULL;
	int rc;

	memset(err, 0, sizeof *err);
	rc = billing_profile_patch_parse(body, strlen(body), &doc, p, err);
	json_object_put(doc);
	return rc;
}

static void refused(const char *body, const char *field)
{
	struct billing_profile_patch p;
	struct pt_err err;

	if (patch(body, &p, &err) != -1 || err.code != PT_VALIDATION_FAILED ||
	    strcmp(err.field, field) != 0)
		fail_msg("%s: expected VALIDATION_FAILED on %s, got code %d field '%s'", body, field,
			(int)err.code, err.field);
}

static void test_patch_refusals(void **state)
{
	(void)state;
	refused("", "body");
	refused("[]", "body");
	refused("{}", "body");
	refused("{\"nope\":1}", "body");
	refused("{\"email\":\"not-an-email\"}", "email");
	refused("{\"email\":\"a@b\"}", "email");
	refused("{\"email\":\"a b@example.jp\"}", "email");
	refused("{\"email\":5}", "email");
	refused("{\"phone\":\"12\"}", "phone");
	refused("{\"phone\":\"03-1234-5678x\"}", "phone");
	refused("{\"address\":{\"postcode\":\"1500001\"}}", "address.postcode");
	refused("{\"address\":{\"prefecture\":\"Gotham\"}}", "address.prefecture");
	refused("{\"address\":{\"country\":\"US\"}}", "address.country");
	refused("{\"address\":{\"city\":\"\"}}", "address.city");
	refused("{\"address\":{\"street\":\"a\\nb\"}}", "address.street");
	refused("{\"address\":{\"zip\":\"150-0001\"}}", "address");
	refused("{\"address\":\"Tokyo\"}", "address");
	refused("{\"name\":{\"first\":\"\"}}", "name.first");
	refused("{\"name\":{\"middle\":\"X\"}}", "name");
	refused("{\"name\":\"Taro\"}", "name");
}

static void test_patch_ok(void **state)
{
	struct billing_profile_patch p;
	struct domain_profile prof;
	struct pt_err err;
	struct json_object *doc = NULL;
	const char *body = "{\"email\":\"Taro.New@Example.JP\",\"phone\":\"090-1111-2222\","
		"\"address\":{\"postcode\":\"530-0001\",\"prefecture\":\"osaka\",\"building\":\"\"}}";

	(void)state;
	memset(&err, 0, sizeof err);
	assert_int_equal(billing_profile_patch_parse(body, strlen(body), &doc, &p, &err), 0);
	assert_string_equal(p.email, "taro.new@example.jp");
	assert_string_equal(p.prefecture, "Osaka");
	assert_null(p.city);
	memset(&prof, 0, sizeof prof);
	strcpy(prof.first_name, "Taro");
	strcpy(prof.address.city, "Kita-ku");
	strcpy(prof.address.building, "Old Bldg");
	strcpy(prof.address.prefecture, "Tokyo");
	billing_profile_patch_apply(&p, &prof);
	assert_string_equal(prof.first_name, "Taro");        /* untouched */
	assert_string_equal(prof.email, "taro.new@example.jp");
	assert_string_equal(prof.phone, "090-1111-2222");
	assert_string_equal(prof.address.postcode, "530-0001");
	assert_string_equal(prof.address.prefecture, "Osaka");
	assert_string_equal(prof.address.city, "Kita-ku");
	assert_string_equal(prof.address.building, "");      /* cleared on request */
	assert_string_equal(prof.address.country, "JP");
	json_object_put(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_postcode),
		cmocka_unit_test(test_prefecture),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_patch_refusals),
		cmocka_unit_test(test_patch_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
