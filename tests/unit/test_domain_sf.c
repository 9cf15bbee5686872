/* Unit tests for the Salesforce-side domain mappers and the shared helpers:
 * fixture JSON → domain → portal JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/json.h"
#include "domain/account.h"
#include "domain/catalog.h"
#include "domain/common.h"
#include "domain/order.h"
#include "domain/support.h"

static struct json_object *fixture(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/unit/salesforce/%s", FIXTURES_DIR, name);
	struct json_object *o = json_object_from_file(path);
	assert_non_null(o);
	return o;
}

static void assert_json(struct json_object *o, const char *expect)
{
	const char *got = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		JSON_C_TO_STRING_NOSLASHESCAPE);
	if (strcmp(got, expect) != 0)
		fail_msg("got      %s\nexpected %s", got, expect);
}

static void test_decimal(void **state)
{
	char o[DOMAIN_DECIMAL_MAX];
	(void)state;
	struct { const char *in; int scale; const char *out; } ok[] = {
		{ "5280", 2, "5280.00" }, { "5280.0", 2, "5280.00" }, { "-1.005", 2, "-1.01" },
		{ "0.004", 2, "0.00" }, { "-0.004", 2, "0.00" }, { "1.5E3", 2, "1500.00" },
		{ "2.5e-1", 2, "0.25" }, { "0.995", 2, "1.00" }, { "99.995", 2, "100.00" },
		{ ".5", 0, "1" }, { "1.0", 0, "1" }, { "007", 1, "7.0" }, { "+3", 2, "3.00" },
		{ "12345678901234567.89", 2, "12345678901234567.89" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(domain_decimal_norm(ok[i].in, ok[i].scale, o, sizeof o), 0);
		assert_string_equal(o, ok[i].out);
	}
	const char *bad[] = { "", "-", ".", "1.2.3", " 1", "1 ", "abc", "1e", "NaN", "1e999", "0x10", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(domain_decimal_norm(bad[i], 2, o, sizeof o), -1);
	struct json_object *m = domain_money_json("5280", NULL);
	assert_json(m, "{\"amount\":\"5280.00\",\"currency\":\"JPY\"}");
	json_object_put(m);
	assert_null(domain_money_json("x", "JPY"));
	/* json-c keeps the parsed text of numbers: no float rounding */
	struct pt_err e;
	struct json_object *n = json_parse_bounded("0.1", 3, 100, 4, &e);
	assert_int_equal(domain_decimal_from_json(n, 2, o, sizeof o), 0);
	assert_string_equal(o, "0.10");
	json_object_put(n);
}

static void test_time(void **state)
{
	char o[DOMAIN_TIME_MAX];
	(void)state;
	struct { const char *in, *out; } ok[] = {
		{ "2026-11-23T15:21:51.000+0000", "2026-11-23T15:21:51Z" },
		{ "2026-11-23T15:21:51Z", "2026-11-23T15:21:51Z" },
		{ "2026-11-24T00:21:51+09:00", "2026-11-23T15:21:51Z" },
		{ "2026-01-01T01:00:00.123456-0200", "2026-01-01T03:00:00Z" },
		{ "2026-03-01 00:30:00+0100", "2026-02-28T23:30:00Z" },
		{ "2024-02-29T12:00:00", "2024-02-29T12:00:00Z" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(domain_time_rfc3339(ok[i].in, o, sizeof o), 0);
		assert_string_equal(o, ok[i].out);
	}
	const char *bad[] = { "", "2026-11-23", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
		"2026-11-23T24:00:00Z", "2026-11-23T15:21:51.+0000", "2026-11-23T15:21:51+2500",
		"2026-11-23T15:21:51Zjunk", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(domain_time_rfc3339(bad[i], o, sizeof o), -1);
	char d[DOMAIN_DATE_MAX];
	assert_int_equal(domain_date_norm("2026-08-10", d, sizeof d), 0);
	assert_int_equal(domain_date_norm("2026-02-30", d, sizeof d), -1);
}

static void test_catalog(void **state)
{
	struct json_object *rows = fixture("catalog_entries.json"), *j;
	struct domain_catalog_item it;
	struct pt_err e = { 0 };
	(void)state;

	assert_int_equal(domain_catalog_item_from_sf(json_object_array_get_idx(rows, 0), &it, &e), 0);
	assert_true(it.orderable);
	j = domain_catalog_item_json(&it, 0);
	assert_json(j, "{\"id\":\"01t5F0000000002QAA\",\"sku\":\"INT-FTTH-10G\",\"name\":\"Fiber 10 Gbps\","
		"\"description\":\"Fiber 10 Gbps\",\"category\":\"internet\",\"type\":\"plan\","
		"\"price\":{\"amount\":\"6380.00\",\"currency\":\"JPY\"},\"family_price\":null,"
		"\"billing_cycle\":\"monthly\",\"features\":[\"Up to 10 Gbps\",\"IPv6 (IPoE)\",\"No data cap\"],"
		"\"eligibility_group\":\"FTTH_10G\",\"orderable\":true}");
	json_object_put(j);
	/* SIM plan with family price: account catalog shows the family price */
	assert_int_equal(domain_catalog_item_from_sf(json_object_array_get_idx(rows, 1), &it, &e), 0);
	assert_true(it.orderable);
	assert_int_equal(it.whmcs_pid, 11);
	j = domain_catalog_item_json(&it, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(
		json_object_object_get(j, "price"), "amount")), "1780.00");
	json_object_put(j);
	/* no WH_Product_ID__c → not orderable */
	assert_int_equal(domain_catalog_item_from_sf(json_object_array_get_idx(rows, 2), &it, &e), 0);
	assert_false(it.orderable);
	/* SIM plan without Freebit plan code → not orderable */
	assert_int_equal(domain_catalog_item_from_sf(json_object_array_get_idx(rows, 3), &it, &e), 0);
	assert_false(it.orderable);
	/* malformed: bad id */
	struct json_object *broken = json_tokener_parse("{\"Id\":\"01u5F0000000021QAB\",\"UnitPrice\":1,\"Product2\":{}}");
	assert_int_equal(domain_catalog_item_from_sf(broken, &it, &e), -1);
	assert_int_equal(e.code, PT_UPSTREAM_ERROR);
	json_object_put(broken);
	json_object_put(rows);

	struct buf q;
	buf_init(&q, 0);
	assert_int_equal(domain_catalog_soql(&q, "01s5F0000000002QAA", "sim", &e), 0);
	assert_non_null(strstr(buf_cstr(&q), "FROM PricebookEntry WHERE Pricebook2Id = '01s5F0000000002QAA'"));
	assert_non_null(strstr(buf_cstr(&q), "Product2.Portal_Category__c = 'sim'"));
	buf_reset(&q);
	assert_int_equal(domain_catalog_soql(&q, "01s5F0000000002QAA", NULL, &e), 0);
	buf_reset(&q);
	assert_int_equal(domain_catalog_soql(&q, "bogus", NULL, &e), -1);
	buf_free(&q);
	assert_string_equal(domain_billing_cycle_whmcs("Semi-Annually"), "semiannually");
	assert_null(domain_billing_cycle_whmcs("monthly"));
}

static void test_order(void **state)
{
	struct json_object *rec = fixture("order_failed.json"), *j;
	struct domain_order o;
	struct pt_err e = { 0 };
	(void)state;

	assert_int_equal(domain_order_from_sf(rec, &o, &e), 0);
	j = domain_order_json(&o);
	assert_json(j, "{\"id\":\"8015F0000000007QAA\",\"number\":\"00000107\",\"status\":\"Approved\","
		"\"activation_status\":\"Failed\",\"activation_error\":{\"code\":\"TEMPORARY_FAILURE\","
		"\"message\":\"Your order was delayed by a temporary problem. Our team will complete it; "
		"there is nothing you need to do.\"},\"whmcs_order_id\":null,\"order_type\":\"Internet\","
		"\"total\":{\"amount\":\"5830.00\",\"currency\":\"JPY\"},\"effective_date\":\"2026-11-05\","
		"\"created_at\":\"2026-11-05T04:00:00Z\",\"items\":["
		"{\"id\":\"8025F0000000010QAA\",\"product_id\":\"01t5F0000000001QAA\",\"sku\":\"INT-FTTH-1G\","
		"\"name\":\"Fiber 1 Gbps\",\"quantity\":1,\"unit_price\":{\"amount\":\"5280.00\",\"currency\":\"JPY\"},"
		"\"total\":{\"amount\":\"5280.00\",\"currency\":\"JPY\"}},"
		"{\"id\":\"8025F0000000011QAA\",\"product_id\":\"01t5F0000000003QAA\",\"sku\":\"INT-ROUTER\","
		"\"name\":\"Router rental\",\"quantity\":1,\"unit_price\":{\"amount\":\"550.00\",\"currency\":\"JPY\"},"
		"\"total\":{\"amount\":\"550.00\",\"currency\":\"JPY\"}}]}");
	/* the operator's text never reaches the customer */
	assert_null(strstr(json_object_to_json_string(j), "WHMCS AddOrder"));
	json_object_put(j);
	json_object_put(rec);

	rec = fixture("order_activated.json");
	assert_int_equal(domain_order_from_sf(rec, &o, &e), 0);
	assert_int_equal(o.nitems, 0);
	j = domain_order_json(&o);
	assert_null(json_object_object_get(j, "activation_error"));
	assert_string_equal(json_object_get_string(json_object_object_get(j, "whmcs_order_id")), "9001");
	assert_string_equal(json_object_get_string(json_object_object_get(j, "created_at")), "2026-08-10T02:00:00Z");
	json_object_put(j);
	json_object_put(rec);

	const char *msg;
	assert_string_equal(domain_activation_error_public("PAYMENT_METHOD_MISSING", &msg), "PAYMENT_METHOD_MISSING");
	assert_string_equal(domain_activation_error_public("429", &msg), "TEMPORARY_FAILURE");
	assert_string_equal(domain_activation_error_public("ETIMEOUT", &msg), "TEMPORARY_FAILURE");
	assert_string_equal(domain_activation_error_public("MAPPING_MISSING", &msg), "NEEDS_ATTENTION");
	assert_string_equal(domain_activation_error_public("", &msg), "NEEDS_ATTENTION");
	assert_string_equal(domain_activation_error_public(NULL, &msg), "NEEDS_ATTENTION");
}

static void test_order_new(void **state)
{
	struct domain_order_new_item items[] = { { "01u5F0000000020QAA", 1, "1980" } };
	struct domain_order_new in = { "0015F0000000003", "01s5F0000000002QAA", "2026-11-20", "sim",
		"esim", "89049032000000000000000000000099", "abc-123", "1-2-3 Jingumae", "Shibuya-ku",
		"Tokyo", "150-0001", "JP", NULL, items, 1 };
	struct json_object *o, *arr;
	struct pt_err e = { 0 };
	(void)state;

	assert_int_equal(domain_order_sf_new(&in, &o, &arr, &e), 0);
	assert_json(o, "{\"AccountId\":\"0015F0000000003QAA\",\"Pricebook2Id\":\"01s5F0000000002QAA\","
		"\"EffectiveDate\":\"2026-11-20\",\"Status\":\"Pending Review\",\"Activation_Status__c\":\"Not Started\","
		"\"Order_Type__c\":\"SIM\",\"Portal_Idempotency_Key__c\":\"0015F0000000003:abc-123\","
		"\"SIM_Type__c\":\"eSIM\",\"SIM_EID__c\":\"89049032000000000000000000000099\","
		"\"ShippingStreet\":\"1-2-3 Jingumae\",\"ShippingCity\":\"Shibuya-ku\",\"ShippingState\":\"Tokyo\","
		"\"ShippingPostalCode\":\"150-0001\",\"ShippingCountry\":\"JP\"}");
	assert_json(arr, "[{\"PricebookEntryId\":\"01u5F0000000020QAA\",\"Quantity\":1,\"UnitPrice\":1980.00}]");
	json_object_put(o);
	json_object_put(arr);
	struct json_object *w = domain_order_sf_failed("PAYMENT_METHOD_MISSING", "no pay method", "2026-11-23T15:00:00.000+0000");
	assert_json(w, "{\"Activation_Status__c\":\"Failed\",\"Activation_Error_Code__c\":\"PAYMENT_METHOD_MISSING\","
		"\"Activation_Error_Message__c\":\"no pay method\",\"Activation_Last_Attempt__c\":\"2026-11-23T15:00:00Z\"}");
	json_object_put(w);
	w = domain_order_sf_activated("9007");
	assert_json(w, "{\"Status\":\"Activated\",\"Activation_Status__c\":\"Activated\",\"WHMCS_Order_ID__c\":\"9007\","
		"\"Activation_Error_Code__c\":null,\"Activation_Error_Message__c\":null}");
	json_object_put(w);
	w = domain_order_sf_attempt("2026-11-23T15:00:00Z");
	assert_json(w, "{\"Activation_Last_Attempt__c\":\"2026-11-23T15:00:00Z\"}");
	json_object_put(w);
	assert_null(domain_order_sf_attempt("yesterday"));
	in.sim_eid = "123";
	assert_int_equal(domain_order_sf_new(&in, &o, &arr, &e), -1);
	assert_string_equal(e.field, "eid");
	in.sim_type = NULL;
	assert_int_equal(domain_order_sf_new(&in, &o, &arr, &e), -1);
	in.sim_type = "physical";
	in.idempotency_key = "bad key!";
	assert_int_equal(domain_order_sf_new(&in, &o, &arr, &e), -1);
	assert_int_equal(e.code, PT_IDEMPOTENCY_KEY_REQUIRED);
}

static void test_case(void **state)
{
	struct json_object *rec = fixture("case_with_comments.json"), *j;
	struct pt_err e = { 0 };
	(void)state;

	struct domain_case *c = domain_case_from_sf(rec, &e);
	assert_non_null(c);
	assert_int_equal(c->ncomments, 2);   /* the unpublished one is dropped */
	j = domain_case_json(c, 1);
	assert_json(j, "{\"id\":\"5005F0000000001QAA\",\"number\":\"00001001\",\"subject\":\"Internet slow in the evening\","
		"\"description\":\"Speed drops below 50 Mbps after 20:00.\\nSince Monday.\",\"status\":\"Working\","
		"\"priority\":\"High\",\"category\":\"Technical\",\"created_at\":\"2026-10-01T01:00:00Z\","
		"\"closed_at\":null,\"closed\":false,\"comments\":["
		"{\"id\":\"00a5F0000000001QAA\",\"body\":\"We are checking the line quality in your area.\",\"created_at\":\"2026-10-01T05:00:00Z\"},"
		"{\"id\":\"00a5F0000000003QAA\",\"body\":\"Please run a speed test with a cable connection.\",\"created_at\":\"2026-10-02T02:00:00Z\"}]}");
	assert_null(strstr(json_object_to_json_string(j), "Internal"));
	json_object_put(j);
	domain_case_free(c);
	domain_case_free(NULL);
	json_object_put(rec);

	j = domain_case_sf_new("0015F0000000001QAA", "0035F0000000002QAA", "Help", "Line down\nsince 9",
		"high", "technical", &e);
	assert_json(j, "{\"Subject\":\"Help\",\"Description\":\"Line down\\nsince 9\",\"Priority\":\"High\","
		"\"Type\":\"Technical\",\"Origin\":\"Portal Website\",\"Status\":\"New\","
		"\"AccountId\":\"0015F0000000001QAA\",\"ContactId\":\"0035F0000000002QAA\"}");
	json_object_put(j);
	assert_null(domain_case_sf_new("0015F0000000001QAA", NULL, "", "x", NULL, NULL, &e));
	assert_string_equal(e.field, "subject");
	assert_null(domain_case_sf_new("0015F0000000001QAA", NULL, "s", "x", "urgent", NULL, &e));
	assert_string_equal(e.field, "priority");
	j = domain_case_comment_sf_new("5005F0000000001QAA", "Thanks", &e);
	assert_json(j, "{\"ParentId\":\"5005F0000000001QAA\",\"CommentBody\":\"Thanks\",\"IsPublished\":true}");
	json_object_put(j);
	char big[DOMAIN_CASE_COMMENT_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_null(domain_case_comment_sf_new("5005F0000000001QAA", big, &e));

	struct buf q;
	buf_init(&q, 0);
	assert_int_equal(domain_case_soql_by_id(&q, "5005F0000000001QAA", "0015F0000000001QAA", &e), 0);
	assert_non_null(strstr(buf_cstr(&q), "FROM CaseComments WHERE IsPublished = true"));
	assert_non_null(strstr(buf_cstr(&q), "AccountId = '0015F0000000001QAA'"));
	buf_free(&q);
}

static void test_account(void **state)
{
	struct json_object *rec = fixture("account.json"), *j;
	struct domain_account a;
	struct pt_err e = { 0 };
	(void)state;

	assert_int_equal(domain_account_from_sf(rec, &a, &e), 0);
	j = domain_account_json(&a);
	assert_json(j, "{\"id\":\"0015F0000000001QAA\",\"name\":\"Yamada Taro\",\"customer_number\":\"CN10000001\","
		"\"email\":\"taro.yamada@example.jp\",\"portal_status\":\"Not Registered\",\"whmcs_client_id\":\"101\","
		"\"eligibility\":[\"FTTH_1G\",\"FTTH_10G\"],\"family_discount\":false}");
	json_object_put(j);
	assert_true(domain_account_eligible(&a, "FTTH_10G"));
	assert_true(domain_account_eligible(&a, ""));
	assert_false(domain_account_eligible(&a, "FTTH_100G"));
	json_object_put(rec);

	rec = fixture("contacts.json");
	char id[19];
	assert_int_equal(domain_contact_pick(rec, "taro.yamada@example.jp", id), 0);
	assert_string_equal(id, "0035F0000000002QAA");
	assert_int_equal(domain_contact_pick(rec, "other@example.jp", id), 0);
	assert_string_equal(id, "0035F0000000001QAA");
	json_object_put(rec);

	struct buf q;
	buf_init(&q, 0);
	assert_int_equal(domain_account_soql_by_number(&q, "CN1' OR Name != '", &e), 0);
	assert_non_null(strstr(buf_cstr(&q), "WHERE Customer_Number__c = 'CN1\\' OR Name != \\'' LIMIT 1"));
	buf_free(&q);
	j = domain_account_sf_portal_active("101");
	assert_json(j, "{\"Portal_Status__c\":\"Active\",\"WHMCS_Client_ID__c\":\"101\"}");
	json_object_put(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_catalog),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_order_new),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_account),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
