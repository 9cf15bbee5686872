/* test_domain_billing — every WHMCS mapper: fixture reply (numbers as
 * strings or ints, "" / [] / absent empty lists, nested wrappers) → domain
 * struct → portal JSON; secrets in the replies (card tokens, service
 * passwords) must never appear in the rendered JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/json.h"
#include "domain/billing.h"
#include "domain/profile.h"
#include "whmcs/client.h"

static struct json_object *fixture(const char *name)
{
	char path[512], *data;
	FILE *f;
	long n;
	struct json_object *o = NULL;
	struct pt_err err = { 0 };

	snprintf(path, sizeof(path), "%s/unit/whmcs/%s", FIXTURES_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	/* Through the same reply check as the live client. */
	if (whmcs_parse_reply(200, data, (size_t)n, "", &o, &err) != 0)
		o = NULL;
	free(data);
	return o;
}

static const char *js(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static const struct domain_whmcs_ctx ctx = { "JPY", "2026-11-23" };

static void test_invoice_list(void **state)
{
	struct json_object *r = fixture("get_invoices.json"), *j;
	struct domain_invoice_list l;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(domain_invoice_list_from_whmcs(r, &ctx, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.total, 3);
	assert_int_equal(l.v[0].id, 1001);
	assert_int_equal(l.v[0].client_id, 101);
	assert_string_equal(l.v[0].number, "INV-1001");
	assert_string_equal(l.v[0].paid_date, "2026-10-03");
	assert_string_equal(l.v[0].total, "6413.00");
	/* No invoicenum → the id; past due and Unpaid → Overdue; int money. */
	assert_string_equal(l.v[1].number, "1002");
	assert_string_equal(l.v[1].status, "Overdue");
	assert_string_equal(l.v[1].subtotal, "5830.00");
	assert_string_equal(l.v[1].paid_date, "");
	assert_string_equal(l.v[1].currency, "JPY");
	assert_string_equal(l.v[2].status, "Unpaid");
	assert_string_equal(l.v[2].total, "100.50");
	j = domain_invoice_list_json(&l);
	assert_non_null(strstr(js(j), "\"total\":{\"amount\":\"6413.00\",\"currency\":\"JPY\"}"));
	assert_non_null(strstr(js(j), "\"paid_date\":null"));
	assert_non_null(strstr(js(j), "\"due_date\":\"2026-09-15\""));
	json_object_put(j);
	domain_invoice_list_clear(&l);
	json_object_put(r);

	r = fixture("get_invoices_empty.json");
	assert_int_equal(domain_invoice_list_from_whmcs(r, &ctx, &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.total, 0);
	domain_invoice_list_clear(&l);
	json_object_put(r);
	domain_invoice_list_clear(NULL);
}

static void test_invoice_detail(void **state)
{
	struct json_object *r = fixture("get_invoice.json"), *j;
	struct domain_invoice inv;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(domain_invoice_from_whmcs(r, &ctx, &inv, &err), 0);
	assert_int_equal(inv.id, 1001);
	assert_int_equal(inv.client_id, 101);
	assert_string_equal(inv.balance, "0.00");
	assert_int_equal(inv.n_items, 2);
	assert_int_equal(inv.items[0].service_id, 150);
	assert_true(inv.items[0].taxed);
	assert_string_equal(inv.items[1].amount, "550.00");
	assert_true(inv.items[1].taxed);
	assert_string_equal(inv.items[0].description, "INT-FTTH-1G (01/10/2026 - 31/10/2026)");
	j = domain_invoice_json(&inv, 1);
	assert_non_null(strstr(js(j), "\"items\":[{\"id\":5001"));
	assert_non_null(strstr(js(j), "\"subscription_id\":152"));
	json_object_put(j);
	domain_invoice_clear(&inv);
	json_object_put(r);

	/* Not found never reaches the mapper: the reply check fails first. */
	assert_null(fixture("get_invoice_notfound.json"));
	r = json_tokener_parse("{\"result\":\"success\"}");
	assert_int_equal(domain_invoice_from_whmcs(r, &ctx, &inv, &err), -1);
	json_object_put(r);
}

static void test_paymethods(void **state)
{
	struct json_object *r = fixture("get_paymethods.json"), *j;
	struct domain_paymethod_list l;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(domain_paymethods_from_whmcs(r, &l, &err), 0);
	assert_int_equal(l.n, 2);   /* the unknown type is dropped */
	assert_string_equal(l.v[0].type, "card");
	assert_string_equal(l.v[0].last_four, "4242");
	assert_string_equal(l.v[0].expiry, "02/29");
	assert_string_equal(l.v[0].gateway, "stripe");
	assert_string_equal(l.v[1].type, "bank_account");
	assert_int_equal(l.v[1].id, 2);
	j = domain_paymethod_list_json(&l);
	assert_null(strstr(js(j), "tok_secret"));
	assert_null(strstr(js(j), "acct-secret"));
	assert_null(strstr(js(j), "stripe"));
	assert_non_null(strstr(js(j), "\"last_four\":\"4242\""));
	json_object_put(j);
	domain_paymethod_list_clear(&l);
	json_object_put(r);

	r = json_tokener_parse("{\"result\":\"success\",\"paymethods\":[]}");
	assert_int_equal(domain_paymethods_from_whmcs(r, &l, &err), 0);
	assert_int_equal(l.n, 0);
	json_object_put(r);
}

static void test_gateways_currencies(void **state)
{
	struct json_object *r = fixture("get_paymentmethods.json"), *j;
	struct domain_gateway_list g;
	struct domain_currency_list c;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(domain_gateways_from_whmcs(r, &g, &err), 0);
	assert_int_equal(g.n, 2);
	assert_true(domain_gateway_list_has(&g, "banktransfer"));
	assert_false(domain_gateway_list_has(&g, "paypal"));
	j = domain_gateway_list_json(&g);
	assert_string_equal(js(j), "[{\"id\":\"stripe\",\"name\":\"Credit Card\"},"
		"{\"id\":\"banktransfer\",\"name\":\"Bank Transfer\"}]");
	json_object_put(j);
	domain_gateway_list_clear(&g);
	json_object_put(r);
	/* Absent key = no gateways. */
	r = json_tokener_parse("{\"result\":\"success\",\"totalresults\":0}");
	assert_int_equal(domain_gateways_from_whmcs(r, &g, &err), 0);
	assert_int_equal(g.n, 0);
	json_object_put(r);

	r = fixture("get_currencies.json");
	assert_int_equal(domain_currencies_from_whmcs(r, &c, &err), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].id, 1);
	assert_string_equal(c.v[0].code, "JPY");
	domain_currency_list_clear(&c);
	json_object_put(r);
}

static void test_subscriptions(void **state)
{
	struct json_object *r = fixture("get_clients_products.json"), *j;
	struct domain_subscription_list l;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(domain_subscriptions_from_whmcs(r, &ctx, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].id, 201);
	assert_true(l.v[0].is_sim);
	assert_string_equal(l.v[0].msisdn, "08012340001");
	assert_string_equal(l.v[0].sim_type, "physical");
	assert_string_equal(l.v[0].billing_cycle, "Monthly");
	assert_false(l.v[1].is_sim);
	assert_string_equal(l.v[1].billing_cycle, "One Time");
	assert_string_equal(l.v[1].next_due_date, "");
	assert_int_equal(l.v[0].msisdn_field_id, 111);
	assert_int_equal(l.v[0].sim_type_field_id, 112);
	assert_int_equal(l.v[1].msisdn_field_id, 0);
	/* SIM product whose MSISDN is not filled yet: not a SIM service, but
	 * provisioning finds its fields by name to fill them (resolutions §4). */
	assert_false(l.v[2].is_sim);
	assert_int_equal(l.v[2].msisdn_field_id, 101);
	assert_int_equal(l.v[2].sim_type_field_id, 102);
	assert_string_equal(l.v[2].billing_cycle, "Semi-Annually");
	assert_non_null(domain_subscription_find(&l, 151));
	assert_null(domain_subscription_find(&l, 999));
	j = domain_subscription_list_json(&l);
	assert_null(strstr(js(j), "should-never-leave"));
	assert_non_null(strstr(js(j), "\"amount\":{\"amount\":\"1780.00\",\"currency\":\"JPY\"}"));
	assert_non_null(strstr(js(j), "\"is_sim\":true,\"msisdn\":\"08012340001\""));
	assert_non_null(strstr(js(j), "\"next_due_date\":null"));
	json_object_put(j);
	domain_subscription_list_clear(&l);
	json_object_put(r);

	r = fixture("get_clients_products_empty.json");
	assert_int_equal(domain_subscriptions_from_whmcs(r, &ctx, &l, &err), 0);
	assert_int_equal(l.n, 0);
	json_object_put(r);
}

static void test_profile(void **state)
{
	struct json_object *r = fixture("get_clients_details.json"), *j;
	struct domain_profile p;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(domain_profile_from_whmcs(r, 1, &p, &err), 0);
	assert_int_equal(p.client_id, 103);
	assert_string_equal(p.customer_number, "CN10000003");
	assert_string_equal(p.address.prefecture, "Osaka");
	assert_string_equal(p.address.postcode, "530-0001");
	assert_string_equal(p.currency, "JPY");
	assert_true(domain_profile_has_user(&p, 503));
	assert_false(domain_profile_has_user(&p, 501));
	j = domain_profile_json(&p);
	assert_string_equal(js(j), "{\"name\":{\"first\":\"Ichiro\",\"last\":\"Tanaka\"},"
		"\"company\":null,\"email\":\"ichiro.tanaka@example.jp\",\"phone\":\"09011110103\","
		"\"address\":{\"postcode\":\"530-0001\",\"prefecture\":\"Osaka\",\"city\":\"Kita-ku\","
		"\"street\":\"4-5-6 Umeda\",\"building\":null,\"country\":\"JP\"}}");
	json_object_put(j);
	assert_int_equal(domain_profile_from_whmcs(r, 2, &p, &err), 0);
	assert_string_equal(p.customer_number, "other");
	json_object_put(r);
	r = json_tokener_parse("{\"result\":\"success\",\"client\":{}}");
	assert_int_equal(domain_profile_from_whmcs(r, 1, &p, &err), -1);
	json_object_put(r);
}

static void test_orders_and_replies(void **state)
{
	struct json_object *r = fixture("get_orders.json");
	struct domain_whmcs_order_list l;
	struct domain_whmcs_order_result res;
	struct domain_whmcs_login login;
	struct pt_err err = { 0 };
	char url[256];
	long id = 0;

	(void)state;
	assert_int_equal(domain_whmcs_orders_from_whmcs(r, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].id, 310);
	assert_string_equal(l.v[0].notes, "sf_order=801000000000001AAA");
	assert_string_equal(l.v[0].date, "2026-11-20T10:00:00Z");
	assert_int_equal(l.v[1].invoice_id, 1011);
	domain_whmcs_order_list_clear(&l);
	json_object_put(r);

	r = fixture("add_order.json");
	assert_int_equal(domain_whmcs_order_result_from(r, &res, &err), 0);
	assert_int_equal(res.order_id, 311);
	assert_int_equal(res.invoice_id, 1041);
	assert_string_equal(res.service_ids, "206,207");
	json_object_put(r);
	r = json_tokener_parse("{\"result\":\"success\",\"orderid\":12,\"serviceids\":\"\"}");
	assert_int_equal(domain_whmcs_order_result_from(r, &res, &err), 0);
	assert_int_equal(res.invoice_id, 0);
	json_object_put(r);

	r = fixture("validate_login_2fa.json");
	assert_int_equal(domain_whmcs_login_from(r, &login, &err), 0);
	assert_int_equal(login.user_id, 505);
	assert_true(login.two_factor);
	json_object_put(r);
	r = json_tokener_parse("{\"result\":\"success\",\"userid\":501,\"passwordhash\":\"abc\","
		"\"twoFactorEnabled\":false}");
	assert_int_equal(domain_whmcs_login_from(r, &login, &err), 0);
	assert_false(login.two_factor);
	json_object_put(r);

	r = json_tokener_parse("{\"result\":\"success\",\"clientid\":\"5\",\"billableid\":7}");
	assert_int_equal(domain_whmcs_id_from(r, "clientid", &id, &err), 0);
	assert_int_equal(id, 5);
	assert_int_equal(domain_whmcs_id_from(r, "billableid", &id, &err), 0);
	assert_int_equal(id, 7);
	assert_int_equal(domain_whmcs_id_from(r, "orderid", &id, &err), -1);
	json_object_put(r);

	r = json_tokener_parse("{\"result\":\"success\",\"access_token\":\"x\",\"redirect_url\":"
		"\"http:\\/\\/example.test\\/oauth\\/singlesignon.php?access_token=x\"}");
	assert_int_equal(domain_whmcs_sso_url_from(r, url, sizeof(url), &err), 0);
	assert_string_equal(url, "http://example.test/oauth/singlesignon.php?access_token=x");
	json_object_put(r);
	r = json_tokener_parse("{\"redirect_url\":\"javascript:alert(1)\"}");
	assert_int_equal(domain_whmcs_sso_url_from(r, url, sizeof(url), &err), -1);
	json_object_put(r);
}

static void test_quirk_helpers(void **state)
{
	struct json_object *o = json_tokener_parse("{\"a\":\"1\",\"b\":0,\"c\":\"false\",\"d\":true,"
		"\"e\":\"\",\"list\":{\"x\":[]},\"flat\":[1],\"s\":\"\",\"long\":"
		"\"\xe6\x97\xa5\xe6\x97\xa5\"}");
	char buf[5];

	(void)state;
	assert_true(domain_whmcs_bool(o, "a", 0));
	assert_false(domain_whmcs_bool(o, "b", 1));
	assert_false(domain_whmcs_bool(o, "c", 1));
	assert_true(domain_whmcs_bool(o, "d", 0));
	assert_false(domain_whmcs_bool(o, "e", 1));
	assert_true(domain_whmcs_bool(o, "missing", 1));
	assert_null(domain_whmcs_list(o, "list", "x"));
	assert_non_null(domain_whmcs_list(o, "flat", "y"));
	assert_null(domain_whmcs_list(o, "s", "y"));
	/* Truncation never splits a UTF-8 character. */
	domain_copy_field(buf, sizeof(buf), o, "long");
	assert_string_equal(buf, "\xe6\x97\xa5");
	assert_string_equal(domain_billing_cycle_system("Semi-Annually"), "semiannually");
	assert_string_equal(domain_billing_cycle_system("One Time"), "onetime");
	assert_string_equal(domain_billing_cycle_display("One-Time"), "One Time");
	assert_string_equal(domain_billing_cycle_display("Free Account"), "Free Account");
	assert_null(domain_billing_cycle_system("weekly"));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invoice_list),
		cmocka_unit_test(test_invoice_detail),
		cmocka_unit_test(test_paymethods),
		cmocka_unit_test(test_gateways_currencies),
		cmocka_unit_test(test_subscriptions),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_orders_and_replies),
		cmocka_unit_test(test_quirk_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
