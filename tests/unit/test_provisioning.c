/* test_provisioning — the pure parts of provisioning: the step order and
 * resume rules (what a rerun repeats and what it never repeats), the
 * whmcs_create decision of resolutions §5, the error code written back, the
 * billing-cycle map of resolutions §7 and the item mapping report. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "app/provisioning.h"
#include "core/buf.h"
#include "domain/provisioning.h"

static void test_step_names(void **state)
{
	(void)state;
	static const char *const want[] = { "validation", "sf_status_update", "order_details",
		"mapping", "whmcs_create", "whmcs_accept", "freebit_activate", "whmcs_link_line",
		"sf_success_update", "done" };
	enum prov_step s;

	for (int i = 0; i < PROV_STEP_COUNT; i++) {
		assert_string_equal(prov_step_name((enum prov_step)i), want[i]);
		assert_int_equal(prov_step_from_name(want[i], &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(prov_step_from_name("Validation", &s), -1);
	assert_int_equal(prov_step_from_name(NULL, &s), -1);
}

static void test_step_order(void **state)
{
	(void)state;
	assert_int_equal(prov_step_next(PROV_WHMCS_ACCEPT, 0), PROV_SF_SUCCESS_UPDATE);
	assert_int_equal(prov_step_next(PROV_WHMCS_ACCEPT, 1), PROV_FREEBIT_ACTIVATE);
	assert_int_equal(prov_step_next(PROV_FREEBIT_ACTIVATE, 1), PROV_WHMCS_LINK_LINE);
	assert_int_equal(prov_step_next(PROV_WHMCS_LINK_LINE, 1), PROV_SF_SUCCESS_UPDATE);
	assert_int_equal(prov_step_next(PROV_SF_SUCCESS_UPDATE, 0), PROV_DONE);
	assert_int_equal(prov_step_next(PROV_DONE, 0), PROV_DONE);
	assert_int_equal(prov_step_next(PROV_VALIDATION, 0), PROV_SF_STATUS_UPDATE);
}

static void test_resume(void **state)
{
	(void)state;
	/* fresh run: everything */
	for (int s = PROV_VALIDATION; s < PROV_DONE; s++)
		assert_true(prov_step_needed(PROV_VALIDATION, (enum prov_step)s));
	/* AddOrder done (crash before AcceptOrder): reads again, never create/map */
	assert_true(prov_step_needed(PROV_WHMCS_ACCEPT, PROV_ORDER_DETAILS));
	assert_true(prov_step_needed(PROV_WHMCS_ACCEPT, PROV_SF_STATUS_UPDATE));
	assert_false(prov_step_needed(PROV_WHMCS_ACCEPT, PROV_MAPPING));
	assert_false(prov_step_needed(PROV_WHMCS_ACCEPT, PROV_WHMCS_CREATE));
	assert_true(prov_step_needed(PROV_WHMCS_ACCEPT, PROV_WHMCS_ACCEPT));
	assert_true(prov_step_needed(PROV_WHMCS_ACCEPT, PROV_SF_SUCCESS_UPDATE));
	/* failed at whmcs_create: mapping again (the admin may have fixed it) */
	assert_true(prov_step_needed(PROV_WHMCS_CREATE, PROV_MAPPING));
	assert_true(prov_step_needed(PROV_WHMCS_CREATE, PROV_WHMCS_CREATE));
	/* crash before sf_success_update */
	assert_false(prov_step_needed(PROV_SF_SUCCESS_UPDATE, PROV_WHMCS_ACCEPT));
	assert_false(prov_step_needed(PROV_SF_SUCCESS_UPDATE, PROV_FREEBIT_ACTIVATE));
	assert_true(prov_step_needed(PROV_SF_SUCCESS_UPDATE, PROV_SF_SUCCESS_UPDATE));
	/* finished run asked again: only the success write-back */
	assert_false(prov_step_needed(PROV_DONE, PROV_WHMCS_CREATE));
	assert_false(prov_step_needed(PROV_DONE, PROV_MAPPING));
	assert_true(prov_step_needed(PROV_DONE, PROV_SF_SUCCESS_UPDATE));
	assert_true(prov_step_needed(PROV_DONE, PROV_VALIDATION));
}

static void test_create_action(void **state)
{
	(void)state;
	assert_int_equal(prov_create_action(0, 0), PROV_CREATE_CALL);
	assert_int_equal(prov_create_action(0, 1), PROV_CREATE_SEARCH);
	assert_int_equal(prov_create_action(42, 1), PROV_CREATE_DONE);
	assert_int_equal(prov_create_action(42, 0), PROV_CREATE_DONE);
}

static void test_error_code(void **state)
{
	(void)state;
	struct pt_err e = { 0 };
	char code[48];

	pt_err_set(&e, PT_PAYMENT_METHOD_MISSING, "none");
	prov_error_code(&e, code, sizeof code);
	assert_string_equal(code, "PAYMENT_METHOD_MISSING");
	pt_err_set(&e, PT_UPSTREAM_UNAVAILABLE, "x");
	pt_err_provider(&e, "503");
	prov_error_code(&e, code, sizeof code);
	assert_string_equal(code, "503");
	pt_err_clear(&e);
	pt_err_set(&e, PT_UPSTREAM_UNAVAILABLE, "x");
	pt_err_provider(&e, "ETIMEOUT");
	prov_error_code(&e, code, sizeof code);
	assert_string_equal(code, "ETIMEOUT");
	pt_err_clear(&e);
	pt_err_set(&e, PT_INTERNAL, "x");
	prov_error_code(&e, code, sizeof code);
	assert_string_equal(code, "INTERNAL");
}

static void test_billing_cycle(void **state)
{
	(void)state;
	assert_string_equal(domain_prov_billing_cycle("Monthly"), "monthly");
	assert_string_equal(domain_prov_billing_cycle("Quarterly"), "quarterly");
	assert_string_equal(domain_prov_billing_cycle("Semi-Annually"), "semiannually");
	assert_string_equal(domain_prov_billing_cycle("Annually"), "annually");
	assert_string_equal(domain_prov_billing_cycle("One Time"), "onetime");
	assert_null(domain_prov_billing_cycle("monthly"));
	assert_null(domain_prov_billing_cycle("Biennially"));
	assert_null(domain_prov_billing_cycle(""));
	assert_null(domain_prov_billing_cycle(NULL));
}

static const char *order_json =
	"{\"Id\":\"8015F0000000006QAA\",\"AccountId\":\"0015F0000000004QAA\","
	"\"Status\":\"Approved\",\"Activation_Status__c\":\"Activating\","
	"\"Order_Type__c\":\"Internet\",\"SIM_Type__c\":null,\"WHMCS_Order_ID__c\":null,"
	"\"Account\":{\"WHMCS_Client_ID__c\":\"104\"},"
	"\"OrderItems\":{\"totalSize\":2,\"done\":true,\"records\":["
	"{\"Id\":\"8025F0000000011QAA\",\"Quantity\":1.0,\"Product2\":{\"StockKeepingUnit\":"
	"\"INT-FTTH-1G\",\"WH_Product_ID__c\":1,\"Billing_Cycle__c\":\"Monthly\"}},"
	"{\"Id\":\"8025F0000000012QAA\",\"Quantity\":1,\"Product2\":{\"StockKeepingUnit\":"
	"\"INT-LEGACY-100M\",\"WH_Product_ID__c\":null,\"Billing_Cycle__c\":\"Monthly\"}}]}}";

static void test_order_mapping(void **state)
{
	(void)state;
	struct json_object *rec = json_tokener_parse(order_json);
	struct domain_prov_order o;
	struct domain_prov_line lines[DOMAIN_PROV_ITEMS_MAX];
	struct pt_err e = { 0 };
	struct buf report;
	size_t n = 99;

	assert_non_null(rec);
	assert_int_equal(domain_prov_order_from_sf(rec, &o, &e), 0);
	assert_int_equal(o.whmcs_client_id, 104);
	assert_int_equal(o.nitems, 2);
	assert_int_equal(o.items[0].wh_product_id, 1);
	assert_int_equal(o.items[0].quantity, 1);
	assert_int_equal(o.items[1].wh_product_id, 0);
	assert_false(domain_prov_is_sim(&o));
	buf_init(&report, 1024);
	assert_int_equal(domain_prov_map_items(&o, lines, &n, &report, &e), -1);
	assert_string_equal(e.provider_code, "MAPPING_MISSING");
	assert_int_equal(n, 0);
	assert_non_null(strstr(buf_cstr(&report), "INT-LEGACY-100M: WH_Product_ID__c missing"));
	assert_null(strstr(buf_cstr(&report), "INT-FTTH-1G"));
	/* fixed mapping: one line per item with the system cycle name */
	o.items[1].wh_product_id = 6;
	snprintf(o.items[1].billing_cycle, sizeof o.items[1].billing_cycle, "One Time");
	buf_reset(&report);
	pt_err_clear(&e);
	assert_int_equal(domain_prov_map_items(&o, lines, &n, &report, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(lines[1].pid, 6);
	assert_string_equal(lines[1].billing_cycle, "onetime");
	assert_string_equal(lines[0].billing_cycle, "monthly");
	/* a display name WHMCS would reject is a mapping error too */
	snprintf(o.items[0].billing_cycle, sizeof o.items[0].billing_cycle, "monthly");
	assert_int_equal(domain_prov_map_items(&o, lines, &n, &report, &e), -1);
	o.nitems = 0;
	assert_int_equal(domain_prov_map_items(&o, lines, &n, &report, &e), -1);
	buf_free(&report);
	json_object_put(rec);
}

static void test_order_bad_id(void **state)
{
	(void)state;
	struct json_object *rec = json_tokener_parse("{\"Id\":\"0015F0000000004QAA\"}");
	struct domain_prov_order o;
	struct pt_err e = { 0 };

	assert_int_equal(domain_prov_order_from_sf(rec, &o, &e), -1);
	json_object_put(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_names),
		cmocka_unit_test(test_step_order),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_create_action),
		cmocka_unit_test(test_error_code),
		cmocka_unit_test(test_billing_cycle),
		cmocka_unit_test(test_order_mapping),
		cmocka_unit_test(test_order_bad_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
