/* fuzz_whmcs_json — any api.php reply body through the client's reply check
 * and then every WHMCS domain mapper and renderer. */
#include <stddef.h>
#include <stdint.h>

#include "domain/billing.h"
#include "domain/profile.h"
#include "whmcs/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct domain_whmcs_ctx ctx = { "JPY", "2026-11-23" };
	struct json_object *r = NULL, *j;
	struct pt_err err = { 0 };
	struct domain_invoice inv;
	struct domain_invoice_list il;
	struct domain_paymethod_list pl;
	struct domain_gateway_list gl;
	struct domain_subscription_list sl;
	struct domain_whmcs_order_list ol;
	struct domain_currency_list cl;
	struct domain_client_summary_list csl;
	struct domain_profile p;
	struct domain_whmcs_order_result res;
	struct domain_whmcs_login login;
	char url[512];
	long id;

	if (whmcs_parse_reply(200, (const char *)data, size, "", &r, &err) != 0)
		return 0;
	if (domain_invoice_from_whmcs(r, &ctx, &inv, &err) == 0) {
		j = domain_invoice_json(&inv, 1);
		json_object_put(j);
		domain_invoice_clear(&inv);
	}
	if (domain_invoice_list_from_whmcs(r, &ctx, &il, &err) == 0) {
		json_object_put(domain_invoice_list_json(&il));
		domain_invoice_list_clear(&il);
	}
	if (domain_paymethods_from_whmcs(r, &pl, &err) == 0) {
		json_object_put(domain_paymethod_list_json(&pl));
		domain_paymethod_list_clear(&pl);
	}
	if (domain_gateways_from_whmcs(r, &gl, &err) == 0) {
		json_object_put(domain_gateway_list_json(&gl));
		domain_gateway_list_clear(&gl);
	}
	if (domain_subscriptions_from_whmcs(r, &ctx, &sl, &err) == 0) {
		json_object_put(domain_subscription_list_json(&sl));
		domain_subscription_list_clear(&sl);
	}
	if (domain_whmcs_orders_from_whmcs(r, &ol, &err) == 0)
		domain_whmcs_order_list_clear(&ol);
	if (domain_currencies_from_whmcs(r, &cl, &err) == 0)
		domain_currency_list_clear(&cl);
	if (domain_clients_from_whmcs(r, &csl, &err) == 0)
		domain_client_summary_list_clear(&csl);
	if (domain_profile_from_whmcs(r, 1, &p, &err) == 0)
		json_object_put(domain_profile_json(&p));
	domain_whmcs_order_result_from(r, &res, &err);
	domain_whmcs_login_from(r, &login, &err);
	domain_whmcs_id_from(r, "clientid", &id, &err);
	domain_whmcs_sso_url_from(r, url, sizeof(url), &err);
	json_object_put(r);
	return 0;
}
