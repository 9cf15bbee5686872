/* test_whmcs_sim — every WHMCS action wrapper against tests/sim/whmcs_sim.py
 * (PORTAL_TEST_WHMCS_URL, e.g. http://127.0.0.1:18083; skipped when unset):
 * happy paths on the CROSSREF.md fixtures, error mapping, and faults — a 503
 * on a read is retried, a 503/429/timeout/drop on AddOrder/AcceptOrder is
 * reported within the timeout and reached the simulator exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/http.h"
#include "core/log.h"
#include "simctl_client.h"
#include "whmcs/actions.h"

#define TIMEOUT_MS 1500
#define SF_ORDER "801000000000077AAA"

static const char *base;
static const struct domain_whmcs_ctx ctx = { "JPY", "2026-11-23" };

static struct whmcs_client *client(const char *secret)
{
	static char url[256];
	struct whmcs_client_opts o = { 0 };
	struct pt_err err = { 0 };
	struct whmcs_client *c;

	snprintf(url, sizeof(url), "%s/includes/api.php", base);
	o.api_url = url;
	o.identifier = "sim-identifier";
	o.secret = secret;
	o.timeout_ms = TIMEOUT_MS;
	o.max_retries = 2;
	c = whmcs_client_new(&o, &err);
	assert_non_null(c);
	return c;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(simctl_post(base, "/__sim/reset", NULL), 200);
	return 0;
}

static void test_reads(void **state)
{
	struct whmcs_client *c = client("sim-secret");
	struct pt_err err = { 0 };
	struct domain_client_summary_list cl;
	struct domain_profile p;
	struct domain_invoice_list il;
	struct domain_invoice inv;
	struct domain_paymethod_list pm;
	struct domain_gateway_list gw;
	struct domain_subscription_list sl;
	struct domain_currency_list cur;
	const struct domain_subscription *s;

	(void)state;
	assert_int_equal(whmcs_get_clients(c, "taro", 0, 10, &cl, &err), 0);
	assert_true(cl.n >= 1);
	assert_int_equal(cl.v[0].id, 101);
	domain_client_summary_list_clear(&cl);

	assert_int_equal(whmcs_get_client_details(c, 103, NULL, 1, &p, &err), 0);
	assert_string_equal(p.customer_number, "CN10000003");
	assert_string_equal(p.address.prefecture, "Osaka");
	assert_true(domain_profile_has_user(&p, 503));
	assert_int_equal(whmcs_get_client_details(c, 0, "taro.yamada@example.jp", 1, &p, &err), 0);
	assert_int_equal(p.client_id, 101);
	assert_int_equal(whmcs_get_client_details(c, 99999, NULL, 1, &p, &err), -1);
	assert_int_equal(err.code, PT_NOT_FOUND);

	assert_int_equal(whmcs_get_invoices(c, 101, NULL, 0, 50, &ctx, &il, &err), 0);
	assert_true(il.n >= 8);
	assert_int_equal(whmcs_get_invoice(c, il.v[0].id, &ctx, &inv, &err), 0);
	assert_int_equal(inv.client_id, 101);
	assert_true(inv.n_items >= 1);
	domain_invoice_clear(&inv);
	domain_invoice_list_clear(&il);
	assert_int_equal(whmcs_get_invoice(c, 987654, &ctx, &inv, &err), -1);
	assert_int_equal(err.code, PT_NOT_FOUND);

	assert_int_equal(whmcs_get_paymethods(c, 101, &pm, &err), 0);
	assert_true(pm.n >= 1);
	assert_string_equal(pm.v[0].last_four, "4242");
	assert_string_equal(pm.v[0].gateway, "stripe");
	domain_paymethod_list_clear(&pm);
	assert_int_equal(whmcs_get_paymethods(c, 104, &pm, &err), 0);
	assert_int_equal(pm.n, 0);

	assert_int_equal(whmcs_get_gateways(c, &gw, &err), 0);
	assert_true(domain_gateway_list_has(&gw, "stripe"));
	assert_true(domain_gateway_list_has(&gw, "banktransfer"));
	domain_gateway_list_clear(&gw);

	assert_int_equal(whmcs_get_services(c, 103, 0, &ctx, &sl, &err), 0);
	s = domain_subscription_find(&sl, 201);
	assert_non_null(s);
	assert_true(s->is_sim);
	assert_string_equal(s->msisdn, "08012340001");
	assert_string_equal(s->sim_type, "physical");
	domain_subscription_list_clear(&sl);
	assert_int_equal(whmcs_get_services(c, 104, 0, &ctx, &sl, &err), 0);
	domain_subscription_list_clear(&sl);

	assert_int_equal(whmcs_get_currencies(c, &cur, &err), 0);
	assert_string_equal(cur.v[0].code, "JPY");
	domain_currency_list_clear(&cur);
	whmcs_client_free(c);
}

static void test_login_and_clients(void **state)
{
	struct whmcs_client *c = client("sim-secret");
	struct pt_err err = { 0 };
	struct domain_whmcs_login login;
	struct domain_address addr = { "100-0001", "Tokyo", "Chiyoda-ku", "1-1 Chiyoda", "", "JP" };
	struct whmcs_new_client nc = { "Hanako", "Suzuki", "hanako.suzuki@example.jp", "09011110102",
		&addr, "Random-Passw0rd-For-Whmcs-123456", 1, "CN10000002", NULL };
	struct whmcs_client_update up = { 0 };
	struct domain_profile p;
	long id = 0;
	char url[512];

	(void)state;
	assert_int_equal(whmcs_validate_login(c, "taro.yamada@example.jp", "Whmcs-Pass-101!", &login,
		&err), 0);
	assert_int_equal(login.user_id, 501);
	assert_false(login.two_factor);
	assert_int_equal(whmcs_validate_login(c, "ken.ito@example.jp", "Whmcs-Pass-105!", &login,
		&err), 0);
	assert_true(login.two_factor);
	assert_int_equal(whmcs_validate_login(c, "taro.yamada@example.jp", "wrong", &login, &err), -1);
	assert_int_equal(err.code, PT_INVALID_CREDENTIALS);

	assert_int_equal(whmcs_add_client(c, &nc, &id, &err), 0);
	assert_true(id > 0);
	assert_int_equal(whmcs_get_client_details(c, id, NULL, 1, &p, &err), 0);
	assert_string_equal(p.customer_number, "CN10000002");
	assert_string_equal(p.address.street, "1-1 Chiyoda");
	assert_int_equal(whmcs_add_client(c, &nc, &id, &err), -1);
	assert_int_equal(err.code, PT_EMAIL_IN_USE);

	up.phone = "09099990000";
	assert_int_equal(whmcs_update_client(c, id, &up, &err), 0);
	assert_int_equal(whmcs_get_client_details(c, id, NULL, 1, &p, &err), 0);
	assert_string_equal(p.phone, "09099990000");

	assert_int_equal(whmcs_create_sso_token(c, 101, "sso:custom_redirect",
		"viewinvoice.php?id=1001", 0, url, sizeof(url), &err), 0);
	assert_non_null(strstr(url, "access_token="));
	whmcs_client_free(c);
}

static void test_orders(void **state)
{
	struct whmcs_client *c = client("sim-secret");
	struct pt_err err = { 0 };
	struct whmcs_kv cf[] = { { 101, "08012349901" }, { 102, "esim" } };
	struct whmcs_order_line line = { 10, "monthly", 1, NULL, 0, NULL, 0 };
	struct whmcs_new_order o = { 103, "stripe", SF_ORDER, &line, 1 };
	struct domain_whmcs_order_result res;
	struct domain_whmcs_order found;
	struct whmcs_service_update su = { 0 };
	struct domain_subscription_list sl;
	const struct domain_subscription *s;
	long bid = 0, sid;
	int is_found = 0;

	(void)state;
	assert_int_equal(whmcs_find_order_by_sf_order(c, 103, SF_ORDER, &found, &is_found, &err), 0);
	assert_false(is_found);
	assert_int_equal(whmcs_add_order(c, &o, &res, &err), 0);
	assert_true(res.order_id > 0);
	assert_true(res.service_ids[0] != '\0');
	assert_int_equal(whmcs_find_order_by_sf_order(c, 103, SF_ORDER, &found, &is_found, &err), 0);
	assert_true(is_found);
	assert_int_equal(found.id, res.order_id);
	assert_string_equal(found.status, "Pending");
	assert_int_equal(whmcs_accept_order(c, res.order_id, &err), 0);
	assert_int_equal(whmcs_accept_order(c, res.order_id, &err), -1);
	assert_int_equal(err.code, PT_CONFLICT);

	sid = strtol(res.service_ids, NULL, 10);
	su.service_id = sid;
	su.customfields = cf;
	su.n_customfields = 2;
	su.recurring_amount = "890";
	assert_int_equal(whmcs_update_client_product(c, &su, &err), 0);
	assert_int_equal(whmcs_get_services(c, 103, sid, &ctx, &sl, &err), 0);
	s = domain_subscription_find(&sl, sid);
	assert_non_null(s);
	assert_true(s->is_sim);
	assert_string_equal(s->msisdn, "08012349901");
	assert_string_equal(s->sim_type, "esim");
	assert_string_equal(s->amount, "890.00");
	domain_subscription_list_clear(&sl);

	/* Not an active gateway. */
	o.payment_method = "paypal";
	o.sf_order_id = "801000000000078AAA";
	assert_int_equal(whmcs_add_order(c, &o, &res, &err), -1);
	assert_int_equal(err.code, PT_PAYMENT_METHOD_MISSING);

	assert_int_equal(whmcs_add_billable_item(c, 103, "SIM top-up 1GB", "500", NULL, &bid, &err), 0);
	assert_true(bid > 0);
	whmcs_client_free(c);
}

static void test_read_retried_on_503(void **state)
{
	struct whmcs_client *c = client("sim-secret");
	struct pt_err err = { 0 };
	struct domain_invoice_list il;

	(void)state;
	assert_int_equal(simctl_fault(base, "GetInvoices", 503, 0, 1, 0), 201);
	assert_int_equal(whmcs_get_invoices(c, 101, NULL, 0, 10, &ctx, &il, &err), 0);
	domain_invoice_list_clear(&il);
	assert_int_equal(simctl_count_calls(base, "GetInvoices"), 2);
	whmcs_client_free(c);
}

static void write_fault(const char *action, int status, long delay, int drop, const char *want_pc)
{
	struct whmcs_client *c = client("sim-secret");
	struct pt_err err = { 0 };
	struct whmcs_order_line line = { 10, "monthly", 1, NULL, 0, NULL, 0 };
	struct whmcs_new_order o = { 103, "stripe", SF_ORDER, &line, 1 };
	struct domain_whmcs_order_result res;
	long t0;
	int rc;

	assert_int_equal(simctl_post(base, "/__sim/reset", NULL), 200);
	assert_int_equal(simctl_fault(base, action, status, delay, 5, drop), 201);
	t0 = now_ms();
	if (!strcmp(action, "AddOrder"))
		rc = whmcs_add_order(c, &o, &res, &err);
	else
		rc = whmcs_accept_order(c, 303, &err);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	if (want_pc)
		assert_string_equal(err.provider_code, want_pc);
	assert_true(now_ms() - t0 < TIMEOUT_MS + 1000);
	/* The simulator logs a delayed call only once its delay is over. */
	if (delay)
		usleep((useconds_t)(delay - (now_ms() - t0) + 300) * 1000);
	/* A write is never repeated, whatever the failure. */
	assert_int_equal(simctl_count_calls(base, action), 1);
	whmcs_client_free(c);
}

static void test_write_faults(void **state)
{
	(void)state;
	write_fault("AddOrder", 503, 0, 0, "503");
	write_fault("AddOrder", 429, 0, 0, "429");
	write_fault("AddOrder", 0, TIMEOUT_MS + 1500, 0, "ETIMEOUT");
	write_fault("AddOrder", 0, 0, 1, NULL);
	write_fault("AcceptOrder", 503, 0, 0, "503");
	write_fault("AcceptOrder", 0, TIMEOUT_MS + 1500, 0, "ETIMEOUT");
	write_fault("AcceptOrder", 0, 0, 1, NULL);
}

static void test_read_timeout_bounded(void **state)
{
	struct whmcs_client *c = client("sim-secret");
	struct pt_err err = { 0 };
	struct domain_gateway_list gw;
	long t0 = now_ms();

	(void)state;
	assert_int_equal(simctl_fault(base, "GetPaymentMethods", 0, TIMEOUT_MS + 1500, 5, 0), 201);
	assert_int_equal(whmcs_get_gateways(c, &gw, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "ETIMEOUT");
	log_debug("read timeout", "ms", "x");
	/* core/http keeps the retries of a read inside its total budget. */
	assert_true(now_ms() - t0 < TIMEOUT_MS * 3 + 2000);
	whmcs_client_free(c);
}

static void test_bad_secret(void **state)
{
	struct whmcs_client *c = client("wrong-secret");
	struct pt_err err = { 0 };
	struct domain_gateway_list gw;

	(void)state;
	assert_int_equal(whmcs_get_gateways(c, &gw, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "403");
	whmcs_client_free(c);
	/* The failed login counts toward the simulator's IP ban: undo it. */
	assert_int_equal(simctl_post(base, "/__sim/reset", NULL), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reads, setup),
		cmocka_unit_test_setup(test_login_and_clients, setup),
		cmocka_unit_test_setup(test_orders, setup),
		cmocka_unit_test_setup(test_read_retried_on_503, setup),
		cmocka_unit_test_setup(test_write_faults, setup),
		cmocka_unit_test_setup(test_read_timeout_bounded, setup),
		cmocka_unit_test_setup(test_bad_secret, setup),
	};

	base = getenv("PORTAL_TEST_WHMCS_URL");
	if (!base || !*base) {
		printf("SKIP: PORTAL_TEST_WHMCS_URL not set (start tests/sim/simctl and export it)\n");
		return 77;
	}
	log_init("test_whmcs_sim", LOG_LVL_CRIT, 0);
	http_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
