/* domain/whmcs_reply — readers of the small WHMCS write replies; declared in
 * billing.h so that every WHMCS field is read inside src/domain/. */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "domain/billing.h"

int domain_whmcs_id_from(struct json_object *reply, const char *key, long *out,
	struct pt_err *err)
{
	long v = 0;

	if (json_get_lenient_int(reply, key, &v) != 0 || v <= 0)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "whmcs reply: no valid %s", key);
	*out = v;
	return 0;
}

int domain_whmcs_order_result_from(struct json_object *reply,
	struct domain_whmcs_order_result *out, struct pt_err *err)
{
	char ids[256];

	memset(out, 0, sizeof(*out));
	if (domain_whmcs_id_from(reply, "orderid", &out->order_id, err) != 0)
		return -1;
	/* invoiceid is omitted with noinvoice. */
	if (json_get_lenient_int(reply, "invoiceid", &out->invoice_id) != 0 || out->invoice_id < 0)
		out->invoice_id = 0;
	domain_copy_field(ids, sizeof(ids), reply, "serviceids");
	if (!ids[0])
		domain_copy_field(ids, sizeof(ids), reply, "productids");
	/* Keep only a clean "1,2,3" list. */
	if (strspn(ids, "0123456789,") == strlen(ids))
		str_lcpy(out->service_ids, ids, sizeof(out->service_ids));
	return 0;
}

int domain_whmcs_login_from(struct json_object *reply, struct domain_whmcs_login *out,
	struct pt_err *err)
{
	struct json_object *h;

	memset(out, 0, sizeof(*out));
	if (domain_whmcs_id_from(reply, "userid", &out->user_id, err) != 0)
		return -1;
	/* 2FA users come back without passwordhash (whmcs.md ValidateLogin). */
	out->two_factor = domain_whmcs_bool(reply, "twoFactorEnabled", 0) ||
		!json_object_object_get_ex(reply, "passwordhash", &h) ||
		!json_object_is_type(h, json_type_string) || !json_object_get_string_len(h);
	return 0;
}

int domain_whmcs_sso_url_from(struct json_object *reply, char *url, size_t size,
	struct pt_err *err)
{
	const char *u = json_str_or(reply, "redirect_url", "");

	if (size)
		url[0] = '\0';
	if ((strncmp(u, "https://", 8) && strncmp(u, "http://", 7)) ||
	    !str_valid_text(u, strlen(u), 0) || strpbrk(u, " \"<>") || strlen(u) >= size)
		return pt_err_set(err, PT_UPSTREAM_ERROR, "CreateSsoToken: no usable redirect_url");
	str_lcpy(url, u, size);
	return 0;
}
