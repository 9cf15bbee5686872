/* test_whmcs — api.php reply handling without a server: result/success vs
 * error envelopes (and GetInvoice's {"status":"error"} quirk), HTTP 403/429/
 * 5xx mapping, error-message → code table, the PHP serialiser of
 * customfields/configoptions, read/write classification for retries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "whmcs/actions.h"
#include "whmcs/client.h"

static int parse(long status, const char *body, const char *ra, struct json_object **out,
	struct pt_err *err)
{
	return whmcs_parse_reply(status, body, strlen(body), ra, out, err);
}

static void test_success(void **state)
{
	struct json_object *o = NULL;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(parse(200, "{\"result\":\"success\",\"clientid\":\"5\"}", "", &o, &err), 0);
	assert_non_null(o);
	json_object_put(o);
}

static void test_error_envelopes(void **state)
{
	struct json_object *o = NULL;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(parse(200, "{\"result\":\"error\",\"message\":\"Client Not Found\"}", "",
		&o, &err), -1);
	assert_null(o);
	assert_int_equal(err.code, PT_NOT_FOUND);
	assert_non_null(strstr(err.detail, "Client Not Found"));

	pt_err_clear(&err);
	/* GetInvoice quirk: no result key at all. */
	assert_int_equal(parse(200, "{\"status\":\"error\",\"message\":\"Invoice ID Not Found\"}", "",
		&o, &err), -1);
	assert_int_equal(err.code, PT_NOT_FOUND);

	pt_err_clear(&err);
	assert_int_equal(parse(200, "{\"result\":\"error\",\"message\":\"Email or Password Invalid\"}",
		"", &o, &err), -1);
	assert_int_equal(err.code, PT_INVALID_CREDENTIALS);

	pt_err_clear(&err);
	assert_int_equal(parse(200, "{\"foo\":1}", "", &o, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_ERROR);

	pt_err_clear(&err);
	assert_int_equal(parse(200, "<html>oops</html>", "", &o, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "EBADREPLY");

	pt_err_clear(&err);
	assert_int_equal(parse(200, "[1,2]", "", &o, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
}

static void test_http_status(void **state)
{
	struct json_object *o = NULL;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(parse(429, "", "17", &o, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "429");
	assert_int_equal(err.retry_after, 17);

	pt_err_clear(&err);
	assert_int_equal(parse(503, "busy", "", &o, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "503");

	pt_err_clear(&err);
	assert_int_equal(parse(403, "{\"result\":\"error\",\"message\":\"Authentication Failed\"}", "",
		&o, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_string_equal(err.provider_code, "403");
	assert_non_null(strstr(err.detail, "Authentication Failed"));
}

/* A failed write may be sent again only when WHMCS certainly did not run it
 * (err.not_applied): an explicit refusal, 429, 503, rejected credentials.
 * Anything that may follow a processed request keeps it 0. */
static void test_not_applied(void **state)
{
	struct json_object *o = NULL;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(parse(200, "{\"result\":\"error\",\"message\":\"Client ID Not Found\"}",
		"", &o, &err), -1);
	assert_int_equal(err.not_applied, 1);
	assert_int_equal(parse(200, "{\"status\":\"error\",\"message\":\"x\"}", "", &o, &err),
		-1);
	assert_int_equal(err.not_applied, 1);
	assert_int_equal(parse(429, "", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 1);
	assert_int_equal(parse(503, "busy", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 1);
	assert_int_equal(parse(403, "", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 1);
	/* each of these may come after the action did its work; err still
	 * carries not_applied = 1 from the call before: it must be reset */
	assert_int_equal(parse(500, "", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 0);
	err.not_applied = 1;
	assert_int_equal(parse(502, "", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 0);
	err.not_applied = 1;
	assert_int_equal(parse(504, "", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 0);
	err.not_applied = 1;
	assert_int_equal(parse(200, "{\"result\":\"succ", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 0);
	err.not_applied = 1;
	assert_int_equal(parse(200, "", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 0);
	err.not_applied = 1;
	assert_int_equal(parse(200, "{\"billableid\":7}", "", &o, &err), -1);
	assert_int_equal(err.not_applied, 0);
	err.not_applied = 1;
	assert_int_equal(parse(200, "{\"result\":\"success\",\"billableid\":7}", "", &o, &err), 0);
	assert_int_equal(err.not_applied, 0);
	json_object_put(o);
}

static void test_error_codes(void **state)
{
	(void)state;
	assert_int_equal(whmcs_error_code("Client ID Not Found"), PT_NOT_FOUND);
	assert_int_equal(whmcs_error_code("Invalid Login Details"), PT_INVALID_CREDENTIALS);
	assert_int_equal(whmcs_error_code("A user already exists with that email address"),
		PT_EMAIL_IN_USE);
	assert_int_equal(whmcs_error_code("Duplicate Email Address"), PT_EMAIL_IN_USE);
	assert_int_equal(whmcs_error_code("You did not enter your  address line 1"),
		PT_VALIDATION_FAILED);
	assert_int_equal(whmcs_error_code("Invalid Payment Method. Valid options include mailin,paypal"),
		PT_PAYMENT_METHOD_MISSING);
	assert_int_equal(whmcs_error_code("Order ID not found or Status not Pending"), PT_CONFLICT);
	assert_int_equal(whmcs_error_code("something new"), PT_UPSTREAM_ERROR);
	assert_int_equal(whmcs_error_code(NULL), PT_UPSTREAM_ERROR);
}

static void ser(const struct whmcs_kv *kv, size_t n, const char *want)
{
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(whmcs_php_serialize_b64(kv, n, &b), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_free(&b);
}

static void test_php_serialize(void **state)
{
	/* Both examples of whmcs.md §4 AddOrder. */
	struct whmcs_kv a[] = { { 5, "2" } };
	struct whmcs_kv b[] = { { 1, "999" } };
	/* a:2:{i:111;s:11:"08012340001";i:112;s:8:"physical";} */
	struct whmcs_kv c[] = { { 111, "08012340001" }, { 112, "physical" } };
	/* a:1:{i:1;s:6:"日本";} — byte length, not characters */
	struct whmcs_kv d[] = { { 1, "\xe6\x97\xa5\xe6\x9c\xac" } };
	struct whmcs_kv e[] = { { 7, "-0" }, { 8, "" } };

	(void)state;
	ser(a, 1, "YToxOntpOjU7aToyO30=");
	ser(b, 1, "YToxOntpOjE7aTo5OTk7fQ==");
	ser(c, 2, "YToyOntpOjExMTtzOjExOiIwODAxMjM0MDAwMSI7aToxMTI7czo4OiJwaHlzaWNhbCI7fQ==");
	ser(d, 1, "YToxOntpOjE7czo2OiLml6XmnKwiO30=");
	ser(e, 2, "YToyOntpOjc7czoyOiItMCI7aTo4O3M6MDoiIjt9");
	ser(NULL, 0, "YTowOnt9");
}

static void test_read_classification(void **state)
{
	(void)state;
	assert_true(whmcs_action_is_read("GetInvoices"));
	assert_true(whmcs_action_is_read("GetClientsProducts"));
	assert_false(whmcs_action_is_read("AddOrder"));
	assert_false(whmcs_action_is_read("AcceptOrder"));
	assert_false(whmcs_action_is_read("AddBillableItem"));
	assert_false(whmcs_action_is_read("ValidateLogin"));
	assert_false(whmcs_action_is_read(NULL));
}

static void test_client_config(void **state)
{
	struct whmcs_client_opts o = { 0 };
	struct pt_err err = { 0 };

	(void)state;
	assert_null(whmcs_client_new(&o, &err));
	assert_int_equal(err.code, PT_CONFIG_INVALID);
	o.api_url = "http://127.0.0.1:1/includes/api.php";
	o.identifier = "id";
	assert_null(whmcs_client_new(&o, &err));
	o.secret = "s";
	o.timeout_ms = 500;
	struct whmcs_client *c = whmcs_client_new(&o, &err);
	assert_non_null(c);
	whmcs_client_free(c);
	whmcs_client_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_error_envelopes),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_not_applied),
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_php_serialize),
		cmocka_unit_test(test_read_classification),
		cmocka_unit_test(test_client_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
