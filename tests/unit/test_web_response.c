/* test_web_response — envelopes, error mapping (status, code, message from
 * the table, never the detail), Retry-After, X-Request-Id, cache headers,
 * cookies, 204 and HEAD without body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "web/request.h"
#include "web/response.h"

static long mem_write(void *ctx, const char *p, size_t n)
{
	return buf_append(ctx, p, n) == 0 ? (long)n : -1;
}

/* Sends req and returns the whole CGI response (caller frees). */
static char *send_to_string(struct web_request *req)
{
	struct buf b;
	struct web_out out = { mem_write, &b };

	buf_init(&b, 0);
	assert_int_equal(web_response_send(req, &out), 0);
	return buf_steal(&b);
}

static const char *body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");
	assert_non_null(p);
	return p + 4;
}

static struct web_request *new_req(void)
{
	struct web_request *req = web_request_new();
	assert_non_null(req);
	strcpy(req->request_id, "req-test-0001");
	return req;
}

static void test_json_envelope(void **state)
{
	struct web_request *req = new_req();
	(void)state;

	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string("a/b"));
	assert_int_equal(web_reply_json(req, 201, o), 0);
	char *r = send_to_string(req);
	assert_non_null(strstr(r, "Status: 201 Created\r\n"));
	assert_non_null(strstr(r, "Content-Type: application/json; charset=utf-8\r\n"));
	assert_non_null(strstr(r, "X-Request-Id: req-test-0001\r\n"));
	assert_non_null(strstr(r, "Cache-Control: private, no-store\r\n"));
	assert_non_null(strstr(r, "Content-Length: 21\r\n"));
	assert_string_equal(body_of(r), "{\"data\":{\"id\":\"a/b\"}}");
	free(r);
	web_request_free(req);
}

static void test_raw_and_list(void **state)
{
	struct web_request *req = new_req();
	(void)state;

	assert_int_equal(web_reply_json_raw(req, 200, "[1,2]", 5), 0);
	char *r = send_to_string(req);
	assert_string_equal(body_of(r), "{\"data\":[1,2]}");
	free(r);

	struct json_object *a = json_object_new_array();
	json_object_array_add(a, json_object_new_int(7));
	assert_int_equal(web_reply_list(req, a, 2, 10, 11), 0);
	r = send_to_string(req);
	assert_string_equal(body_of(r), "{\"data\":[7],\"page\":2,\"limit\":10,\"total\":11}");
	free(r);

	assert_int_equal(web_reply_json(req, 200, NULL), 0);
	r = send_to_string(req);
	assert_string_equal(body_of(r), "{\"data\":null}");
	free(r);
	web_request_free(req);
}

static void test_error_mapping(void **state)
{
	struct {
		enum pt_code code, shown;
		const char *status, *name;
	} cases[] = {
		{ PT_BAD_REQUEST, PT_BAD_REQUEST, "Status: 400 ", "BAD_REQUEST" },
		{ PT_NOT_FOUND, PT_NOT_FOUND, "Status: 404 ", "NOT_FOUND" },
		{ PT_METHOD_NOT_ALLOWED, PT_METHOD_NOT_ALLOWED, "Status: 405 ", "METHOD_NOT_ALLOWED" },
		{ PT_PAYLOAD_TOO_LARGE, PT_PAYLOAD_TOO_LARGE, "Status: 413 ", "PAYLOAD_TOO_LARGE" },
		{ PT_MAINTENANCE, PT_MAINTENANCE, "Status: 503 ", "MAINTENANCE" },
		{ PT_PAYMENT_METHOD_MISSING, PT_PAYMENT_METHOD_MISSING, "Status: 409 ",
		  "PAYMENT_METHOD_MISSING" },
		/* internal-only codes reach a client as INTERNAL */
		{ PT_CONFIG_INVALID, PT_INTERNAL, "Status: 500 ", "INTERNAL" },
		{ PT_OK, PT_INTERNAL, "Status: 500 ", "INTERNAL" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct web_request *req = new_req();
		struct pt_err err;
		char want[512];

		pt_err_clear(&err);
		pt_err_set(&err, cases[i].code, "secret detail host=db.internal");
		assert_int_equal(web_reply_error(req, &err), 0);
		char *r = send_to_string(req);
		assert_non_null(strstr(r, cases[i].status));
		snprintf(want, sizeof want, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\","
			"\"request_id\":\"req-test-0001\"}}", cases[i].name,
			pt_err_user_message(cases[i].shown));
		assert_string_equal(body_of(r), want);
		assert_null(strstr(r, "secret detail"));
		/* only a 503 has one, from the table when the cause set none */
		if (pt_err_http_status(cases[i].shown) == 503) {
			snprintf(want, sizeof want, "Retry-After: %d\r\n",
				pt_err_default_retry_after(cases[i].shown));
			assert_non_null(strstr(r, want));
		} else {
			assert_null(strstr(r, "Retry-After"));
		}
		free(r);
		web_request_free(req);
	}
}

/* portal-api.md: a 503 always says when to come back. A cause that knows
 * (Freebit 900 → 600) keeps its value; one that does not (a sign-up's WHMCS
 * timeout, PostgreSQL down) gets the code's default. */
static void test_503_retry_after(void **state)
{
	struct {
		enum pt_code code;
		int set;
		const char *want;
	} cases[] = {
		{ PT_UPSTREAM_UNAVAILABLE, 0, "Retry-After: 30\r\n" },
		{ PT_UPSTREAM_UNAVAILABLE, 600, "Retry-After: 600\r\n" },
		{ PT_MAINTENANCE, 0, "Retry-After: 15\r\n" },
		{ PT_MAINTENANCE, 5, "Retry-After: 5\r\n" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct web_request *req = new_req();
		struct pt_err err;

		pt_err_clear(&err);
		pt_err_set(&err, cases[i].code, "down");
		err.retry_after = cases[i].set;
		web_reply_error(req, &err);
		char *r = send_to_string(req);
		assert_non_null(strstr(r, "Status: 503 Service Unavailable\r\n"));
		assert_non_null(strstr(r, cases[i].want));
		free(r);
		web_request_free(req);
	}
	/* web_reply_code (no err of the handler's) too */
	struct web_request *req = new_req();
	web_reply_code(req, PT_MAINTENANCE);
	char *r = send_to_string(req);
	assert_non_null(strstr(r, "Retry-After: 15\r\n"));
	free(r);
	web_request_free(req);
}

static void test_error_extras(void **state)
{
	struct web_request *req = new_req();
	struct pt_err err;
	(void)state;

	pt_err_clear(&err);
	pt_err_set(&err, PT_RATE_LIMITED, "ip 1.2.3.4");
	err.retry_after = 30;
	web_set_cookie(req, "x", "y", -1, 0);
	web_cache_public(req, 60, 300);
	web_reply_error(req, &err);
	char *r = send_to_string(req);
	assert_non_null(strstr(r, "Status: 429 Too Many Requests\r\n"));
	assert_non_null(strstr(r, "Retry-After: 30\r\n"));
	assert_null(strstr(r, "Set-Cookie"));             /* success headers dropped */
	assert_non_null(strstr(r, "Cache-Control: private, no-store\r\n"));
	free(r);

	pt_err_clear(&err);
	pt_err_field(&err, PT_VALIDATION_FAILED, "address.postcode", "too long");
	web_reply_error(req, &err);
	r = send_to_string(req);
	assert_non_null(strstr(r, "Status: 400 "));
	assert_non_null(strstr(body_of(r), "\"code\":\"VALIDATION_FAILED\""));
	assert_non_null(strstr(body_of(r), "(field: address.postcode)\""));
	assert_non_null(strstr(body_of(r), "\"field\":\"address.postcode\""));
	assert_null(strstr(r, "too long"));
	free(r);

	/* no reply at all → 500 */
	web_request_free(req);
	req = new_req();
	r = send_to_string(req);
	assert_non_null(strstr(r, "Status: 500 "));
	assert_non_null(strstr(body_of(r), "\"code\":\"INTERNAL\""));
	free(r);
	web_request_free(req);
}

static void test_headers_cookies_cache(void **state)
{
	struct web_request *req = new_req();
	(void)state;

	assert_int_equal(web_set_cookie(req, "portal_session", "tok123", 3600,
		WEB_COOKIE_SESSION), 0);
	assert_int_equal(web_set_cookie(req, "gone", "", 0, WEB_COOKIE_HTTPONLY), 0);
	assert_int_equal(web_set_cookie(req, "bad name", "v", -1, 0), -1);
	assert_int_equal(web_set_cookie(req, "n", "a;b", -1, 0), -1);
	assert_int_equal(web_set_header(req, "X-Evil", "a\r\nSet-Cookie: x=y"), -1);
	assert_int_equal(web_set_header(req, "Bad:Name", "v"), -1);
	assert_int_equal(web_set_header(req, "ETag", "\"v1\""), 0);
	web_cache_public(req, 300, 600);
	web_reply_json(req, 200, json_object_new_int(1));
	char *r = send_to_string(req);
	assert_non_null(strstr(r, "Set-Cookie: portal_session=tok123; Path=/; Max-Age=3600; "
		"HttpOnly; Secure; SameSite=Lax\r\n"));
	assert_non_null(strstr(r, "Set-Cookie: gone=; Path=/; Max-Age=0; HttpOnly\r\n"));
	assert_non_null(strstr(r, "ETag: \"v1\"\r\n"));
	assert_non_null(strstr(r, "Cache-Control: public, max-age=300, s-maxage=600\r\n"));
	assert_null(strstr(r, "X-Evil"));
	free(r);
	web_request_free(req);
}

static void test_no_body(void **state)
{
	struct web_request *req = new_req();
	(void)state;

	web_reply_empty(req, 204);
	char *r = send_to_string(req);
	assert_non_null(strstr(r, "Status: 204 No Content\r\n"));
	assert_null(strstr(r, "Content-Length"));
	assert_non_null(strstr(r, "X-Request-Id: req-test-0001\r\n"));
	assert_string_equal(body_of(r), "");
	free(r);

	req->head = 1;
	web_reply_json(req, 200, json_object_new_string("x"));
	r = send_to_string(req);
	assert_non_null(strstr(r, "Content-Length: 12\r\n"));   /* as GET would send */
	assert_string_equal(body_of(r), "");
	free(r);

	req->head = 0;
	web_reply_text(req, 200, "text/plain; version=0.0.4", "a 1\n", 4);
	r = send_to_string(req);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4\r\n"));
	assert_string_equal(body_of(r), "a 1\n");
	free(r);
	web_request_free(req);
}

static long fail_write(void *ctx, const char *p, size_t n)
{
	(void)ctx, (void)p, (void)n;
	return -1;
}

static void test_write_error(void **state)
{
	struct web_request *req = new_req();
	struct web_out out = { fail_write, NULL };
	(void)state;

	web_reply_json(req, 200, NULL);
	assert_int_equal(web_response_send(req, &out), -1);
	web_request_free(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_envelope),
		cmocka_unit_test(test_raw_and_list),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_503_retry_after),
		cmocka_unit_test(test_error_extras),
		cmocka_unit_test(test_headers_cookies_cache),
		cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
