/* Unit tests for the pure parts of app/checkout: the Idempotency-Key rule
 * (resolutions §13), the body (portal-api.md Orders, resolutions §12: field
 * named on every refusal, quantity bounds, sim_type / eid), the cart rules
 * against a catalog (UNKNOWN_SKU, NOT_ORDERABLE, NOT_ELIGIBLE, MIXED_CART,
 * family price, totals), the Text(80) idempotency value, the q_ id parser
 * and the outbox order rendering. Catalog values are CROSSREF.md's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/checkout.h"
#include "app/orders.h"
#include "core/json.h"

static struct domain_catalog_item cat[8];
static size_t ncat;

static void add_item(const char *sku, const char *category, const char *cls, const char *price,
	const char *family, const char *group, long pid, const char *plan_code)
{
	struct domain_catalog_item *it = &cat[ncat++];

	memset(it, 0, sizeof *it);
	snprintf(it->sku, sizeof it->sku, "%s", sku);
	snprintf(it->name, sizeof it->name, "%s name", sku);
	snprintf(it->category, sizeof it->category, "%s", category);
	snprintf(it->item_class, sizeof it->item_class, "%s", cls);
	snprintf(it->price, sizeof it->price, "%s", price);
	snprintf(it->family_price, sizeof it->family_price, "%s", family);
	snprintf(it->eligibility_group, sizeof it->eligibility_group, "%s", group);
	snprintf(it->pricebook_entry_id, sizeof it->pricebook_entry_id, "01u5F00000000%02zuAAA", ncat);
	snprintf(it->freebit_plan_code, sizeof it->freebit_plan_code, "%s", plan_code);
	it->whmcs_pid = pid;
	it->orderable = pid > 0 && (strcmp(category, "sim") != 0 || strcmp(cls, "Plan") != 0 ||
		*plan_code);
}

static int setup(void **state)
{
	(void)state;
	ncat = 0;
	add_item("INT-FTTH-1G", "internet", "Plan", "5280.00", "", "FTTH_1G", 1, "");
	add_item("INT-FTTH-10G", "internet", "Plan", "6380.00", "", "FTTH_10G", 2, "");
	add_item("INT-ROUTER", "internet", "Add-on", "550.00", "", "", 5, "");
	add_item("INT-LEGACY-100M", "internet", "Plan", "3300.00", "", "", 0, "");
	add_item("SIM-DATA-3GB", "sim", "Plan", "990.00", "890.00", "", 10, "PASI_3G");
	add_item("SIM-ACTIVATION", "sim", "Activation Fee", "3300.00", "", "", 13, "");
	add_item("VPN-BASIC", "vpn", "Plan", "700.00", "", "", 20, "");
	return 0;
}

static struct domain_account account(const char *group, int family)
{
	struct domain_account a;

	memset(&a, 0, sizeof a);
	if (group) {
		snprintf(a.eligibility[0], sizeof a.eligibility[0], "%s", group);
		a.neligibility = 1;
	}
	a.family_discount = family;
	return a;
}

static int parse(const char *body, struct checkout_request *rq, struct pt_err *e)
{
	memset(e, 0, sizeof *e);
	return checkout_parse(body, strlen(body), rq, e);
}

static void parse_fails(const char *body, enum pt_code code, const char *field)
{
	struct checkout_request rq;
	struct pt_err e;

	assert_int_equal(parse(body, &rq, &e), -1);
	assert_int_equal(e.code, code);
	assert_string_equal(e.field, field);
}

static void test_key(void **state)
{
	struct pt_err e = { 0 };
	char k65[66];

	(void)state;
	assert_int_equal(checkout_key_check("abc-DEF_123", &e), 0);
	assert_int_equal(checkout_key_check("a", &e), 0);
	memset(k65, 'k', 64);
	k65[64] = '\0';
	assert_int_equal(checkout_key_check(k65, &e), 0);
	k65[64] = 'k';
	k65[65] = '\0';
	const char *bad[] = { NULL, "", k65, "has space", "semi;colon", "dot.dot", "ä", "a:b" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		assert_int_equal(checkout_key_check(bad[i], &e), -1);
		assert_int_equal(e.code, PT_IDEMPOTENCY_KEY_REQUIRED);
		assert_string_equal(e.field, "Idempotency-Key");
	}
}

static void test_idem_value(void **state)
{
	char v[DOMAIN_ORDER_IDEM_MAX + 1], k64[65];
	struct pt_err e = { 0 };

	(void)state;
	memset(k64, 'z', 64);
	k64[64] = '\0';
	/* 15-char account form: the longest value fits Text(80) exactly. */
	assert_int_equal(domain_order_idem_value("0015F0000000001QAA", k64, v, &e), 0);
	assert_int_equal(strlen(v), 80);
	assert_memory_equal(v, "0015F0000000001:", 16);
	assert_int_equal(domain_order_idem_value("0015F0000000001", "k1", v, &e), 0);
	assert_string_equal(v, "0015F0000000001:k1");
	assert_int_equal(domain_order_idem_value("0015F0000000001QAA", "bad key", v, &e), -1);
	assert_int_equal(domain_order_idem_value("a0x5F0000000001QAA", "k", v, &e), -1);
}

static void test_body_ok(void **state)
{
	struct checkout_request rq;
	struct pt_err e;

	(void)state;
	assert_int_equal(parse("{\"items\":[{\"sku\":\"INT-FTTH-1G\",\"quantity\":1},"
		"{\"sku\":\"INT-ROUTER\",\"quantity\":2}],\"notes\":\"ring twice\\nplease\","
		"\"address\":{\"postcode\":\"150-0001\",\"prefecture\":\"Tokyo\",\"city\":\"Shibuya-ku\","
		"\"street\":\"1-2-3 Jingumae\",\"building\":\"Room 4\"}}", &rq, &e), 0);
	assert_int_equal(rq.nlines, 2);
	assert_string_equal(rq.lines[1].sku, "INT-ROUTER");
	assert_int_equal(rq.lines[1].quantity, 2);
	assert_int_equal(rq.has_address, 1);
	assert_string_equal(rq.address.country, "JP");
	assert_string_equal(rq.address.building, "Room 4");
	assert_string_equal(rq.notes, "ring twice\nplease");
	assert_int_equal(parse("{\"items\":[{\"sku\":\"SIM-DATA-3GB\",\"quantity\":99}],"
		"\"sim_type\":\"esim\",\"eid\":\"89049032000000000000000000000099\"}", &rq, &e), 0);
	assert_int_equal(rq.has_address, 0);
	assert_string_equal(rq.sim_type, "esim");
}

static void test_body_refused(void **state)
{
	(void)state;
	parse_fails("", PT_VALIDATION_FAILED, "body");
	parse_fails("not json", PT_VALIDATION_FAILED, "body");
	parse_fails("[]", PT_VALIDATION_FAILED, "body");
	parse_fails("{}", PT_VALIDATION_FAILED, "items");
	parse_fails("{\"items\":[]}", PT_VALIDATION_FAILED, "items");
	parse_fails("{\"items\":{}}", PT_VALIDATION_FAILED, "items");
	parse_fails("{\"items\":[1]}", PT_VALIDATION_FAILED, "items[0]");
	parse_fails("{\"items\":[{\"quantity\":1}]}", PT_VALIDATION_FAILED, "items[0].sku");
	parse_fails("{\"items\":[{\"sku\":\"A'B\",\"quantity\":1}]}", PT_VALIDATION_FAILED,
		"items[0].sku");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"B\"}]}",
		PT_VALIDATION_FAILED, "items[1].quantity");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":0}]}", PT_VALIDATION_FAILED,
		"items[0].quantity");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":100}]}", PT_VALIDATION_FAILED,
		"items[0].quantity");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":-1}]}", PT_VALIDATION_FAILED,
		"items[0].quantity");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1.5}]}", PT_VALIDATION_FAILED,
		"items[0].quantity");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":\"1\"}]}", PT_VALIDATION_FAILED,
		"items[0].quantity");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":1}]}",
		PT_VALIDATION_FAILED, "items");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"price\":1}",
		PT_VALIDATION_FAILED, "body");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"sim_type\":\"nano\"}",
		PT_VALIDATION_FAILED, "sim_type");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"sim_type\":\"esim\",\"eid\":\"123\"}",
		PT_VALIDATION_FAILED, "eid");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"sim_type\":\"physical\","
		"\"eid\":\"89049032000000000000000000000099\"}", PT_VALIDATION_FAILED, "eid");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"address\":{\"city\":\"x\"}}",
		PT_VALIDATION_FAILED, "address.postcode");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"address\":{\"postcode\":\"1\","
		"\"prefecture\":\"T\",\"city\":\"C\",\"street\":\"S\",\"country\":\"US\"}}",
		PT_VALIDATION_FAILED, "address.country");
	parse_fails("{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"notes\":5}",
		PT_VALIDATION_FAILED, "notes");
}

static int cart(const char *body, const struct domain_account *a, struct checkout_cart *c,
	struct pt_err *e)
{
	struct checkout_request rq;

	assert_int_equal(parse(body, &rq, e), 0);
	return checkout_cart_resolve(&rq, cat, ncat, a, c, e);
}

static void cart_fails(const char *body, const struct domain_account *a, enum pt_code code,
	const char *field)
{
	struct checkout_cart c;
	struct pt_err e;

	assert_int_equal(cart(body, a, &c, &e), -1);
	assert_int_equal(e.code, code);
	assert_string_equal(e.field, field);
}

static void test_cart_ok(void **state)
{
	struct domain_account a1 = account("FTTH_1G", 0), a3 = account(NULL, 1);
	struct checkout_cart c;
	struct pt_err e;

	(void)state;
	assert_int_equal(cart("{\"items\":[{\"sku\":\"INT-FTTH-1G\",\"quantity\":1},"
		"{\"sku\":\"INT-ROUTER\",\"quantity\":2}]}", &a1, &c, &e), 0);
	assert_string_equal(c.category, "internet");
	assert_string_equal(c.lines[1].line_total, "1100.00");
	assert_string_equal(c.total, "6380.00");
	/* family price for a SIM plan, the fee at list price */
	assert_int_equal(cart("{\"items\":[{\"sku\":\"SIM-DATA-3GB\",\"quantity\":2},"
		"{\"sku\":\"SIM-ACTIVATION\",\"quantity\":1}],\"sim_type\":\"physical\"}", &a3, &c, &e), 0);
	assert_string_equal(c.lines[0].unit_price, "890.00");
	assert_string_equal(c.total, "5080.00");
	assert_string_equal(c.category, "sim");
}

static void test_cart_refused(void **state)
{
	struct domain_account a1 = account("FTTH_1G", 0);

	(void)state;
	cart_fails("{\"items\":[{\"sku\":\"NOPE\",\"quantity\":1}]}", &a1, PT_UNKNOWN_SKU,
		"items[0].sku");
	cart_fails("{\"items\":[{\"sku\":\"INT-ROUTER\",\"quantity\":1},"
		"{\"sku\":\"INT-LEGACY-100M\",\"quantity\":1}]}", &a1, PT_NOT_ORDERABLE, "items[1].sku");
	cart_fails("{\"items\":[{\"sku\":\"INT-FTTH-10G\",\"quantity\":1}]}", &a1, PT_NOT_ELIGIBLE,
		"items[0].sku");
	cart_fails("{\"items\":[{\"sku\":\"INT-FTTH-1G\",\"quantity\":1},"
		"{\"sku\":\"VPN-BASIC\",\"quantity\":1}]}", &a1, PT_MIXED_CART, "items");
	cart_fails("{\"items\":[{\"sku\":\"SIM-DATA-3GB\",\"quantity\":1}]}", &a1,
		PT_VALIDATION_FAILED, "sim_type");
	cart_fails("{\"items\":[{\"sku\":\"SIM-DATA-3GB\",\"quantity\":1}],\"sim_type\":\"esim\"}",
		&a1, PT_VALIDATION_FAILED, "eid");
	cart_fails("{\"items\":[{\"sku\":\"VPN-BASIC\",\"quantity\":1}],\"sim_type\":\"physical\"}",
		&a1, PT_VALIDATION_FAILED, "sim_type");
}

static void test_today_jst(void **state)
{
	char d[11];

	(void)state;
	checkout_today_jst(1795424400LL, d);   /* 2026-11-23T09:00:00Z = 18:00 JST */
	assert_string_equal(d, "2026-11-23");
	checkout_today_jst(1795424400LL + 6 * 3600, d);   /* 15:00Z = 00:00 JST next day */
	assert_string_equal(d, "2026-11-24");
}

static void test_qid(void **state)
{
	char u[ORDERS_UUID_LEN + 1];

	(void)state;
	assert_int_equal(orders_qid_parse("q_0f8fad5b-d9cb-469f-a165-70867728950e", u), 0);
	assert_string_equal(u, "0f8fad5b-d9cb-469f-a165-70867728950e");
	assert_int_equal(orders_qid_parse("q_0F8FAD5B-d9cb-469f-a165-70867728950e", u), -1);
	assert_int_equal(orders_qid_parse("q_0f8fad5b-d9cb-469f-a165-70867728950", u), -1);
	assert_int_equal(orders_qid_parse("0f8fad5b-d9cb-469f-a165-70867728950e", u), -1);
	assert_int_equal(orders_qid_parse("q_0f8fad5bXd9cb-469f-a165-70867728950e", u), -1);
}

static void test_outbox_json(void **state)
{
	static const char vj[] = "{\"order_type\":\"internet\",\"total\":"
		"\"5280.00\",\"items\":[{\"sku\":\"INT-FTTH-1G\",\"name\":\"n\",\"quantity\":1,"
		"\"unit_price\":\"5280.00\",\"total\":\"5280.00\"}]}";
	struct json_object *view = json_parse_bounded(vj, strlen(vj), 4096, 8, NULL);
	struct json_object *o, *v;

	(void)state;
	assert_non_null(view);
	o = domain_order_outbox_json("q_x", "queued", "2026-11-23T10:00:00Z", view);
	assert_string_equal(json_str_or(o, "status", ""), "Queued");
	assert_string_equal(json_str_or(o, "activation_status", ""), "Queued");
	assert_false(json_object_object_get_ex(o, "activation_error", &v));
	assert_true(json_object_object_get_ex(o, "items", &v));
	assert_int_equal(json_object_array_length(v), 1);
	json_object_put(o);
	o = domain_order_outbox_json("q_x", "failed", "2026-11-23T10:00:00Z", view);
	assert_string_equal(json_str_or(o, "activation_status", ""), "Failed");
	assert_true(json_object_object_get_ex(o, "activation_error", &v));
	assert_string_equal(json_str_or(v, "code", ""), "NEEDS_ATTENTION");
	json_object_put(o);
	json_object_put(view);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_idem_value),
		cmocka_unit_test(test_body_ok),
		cmocka_unit_test(test_body_refused),
		cmocka_unit_test_setup(test_cart_ok, setup),
		cmocka_unit_test_setup(test_cart_refused, setup),
		cmocka_unit_test(test_today_jst),
		cmocka_unit_test(test_qid),
		cmocka_unit_test(test_outbox_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
