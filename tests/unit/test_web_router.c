/* test_web_router — pattern matching and captures, 404, 405 with Allow,
 * HEAD served by the GET handler, OPTIONS, handler errors mapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "web/router.h"

static char last[64];

static int h_list(struct web_request *req, struct pt_err *err)
{
	(void)err;
	strcpy(last, "list");
	return web_reply_json(req, 200, json_object_new_array());
}

static int h_create(struct web_request *req, struct pt_err *err)
{
	(void)err;
	strcpy(last, "create");
	return web_reply_json(req, 201, NULL);
}

static int h_one(struct web_request *req, struct pt_err *err)
{
	(void)err;
	snprintf(last, sizeof last, "one:%s", web_param(req, "id"));
	return web_reply_json(req, 200, NULL);
}

static int h_comment(struct web_request *req, struct pt_err *err)
{
	(void)err;
	snprintf(last, sizeof last, "comment:%s:%s", web_param(req, "id"), web_param(req, "cid"));
	return web_reply_json(req, 200, NULL);
}

static int h_fail(struct web_request *req, struct pt_err *err)
{
	(void)req;
	strcpy(last, "fail");
	return pt_err_set(err, PT_PAYMENT_METHOD_MISSING, "client 7 has none");
}

static int h_silent(struct web_request *req, struct pt_err *err)
{
	(void)req, (void)err;
	strcpy(last, "silent");
	return 0;
}

static const struct web_route routes[] = {
	{ WEB_GET, "/api/orders", h_list },
	{ WEB_POST, "/api/orders", h_create },
	{ WEB_GET, "/api/orders/{id}", h_one },
	{ WEB_DELETE, "/api/orders/{id}/comments/{cid}", h_comment },
	{ WEB_POST, "/api/fail", h_fail },
	{ WEB_GET, "/api/silent", h_silent },
};
#define NROUTES (sizeof routes / sizeof routes[0])

static struct web_request *dispatch(enum web_method m, const char *path)
{
	struct web_request *req = web_request_new();

	assert_non_null(req);
	req->method = m;
	req->method_name = web_method_name(m);
	req->head = m == WEB_HEAD;
	req->path = path;
	last[0] = '\0';
	web_route_dispatch(routes, NROUTES, req);
	return req;
}

static const char *error_code(struct web_request *req)
{
	static char code[64];
	const char *p = strstr(buf_cstr(&req->res.body), "\"code\":\"");

	if (!p)
		return "";
	p += 8;
	size_t n = strcspn(p, "\"");
	snprintf(code, sizeof code, "%.*s", (int)n, p);
	return code;
}

static void test_match(void **state)
{
	struct web_request *req = web_request_new();
	(void)state;

	assert_true(web_route_match("/a/b", "/a/b", req));
	assert_int_equal(req->ncaptures, 0);
	assert_false(web_route_match("/a/b", "/a/b/", req));
	assert_false(web_route_match("/a/b", "/a", req));
	assert_false(web_route_match("/a", "/a/b", req));
	assert_true(web_route_match("/a/{x}/c/{y}", "/a/1/c/two", req));
	assert_int_equal(req->ncaptures, 2);
	assert_string_equal(web_param(req, "x"), "1");
	assert_string_equal(web_param(req, "y"), "two");
	assert_false(web_route_match("/a/{x}", "/a/", req));     /* empty capture */
	assert_int_equal(req->ncaptures, 0);
	assert_false(web_route_match("/a/{x}", "/a/b/c", req));  /* one segment only */
	assert_true(web_route_match("/", "/", req));

	char path[WEB_CAPTURE_MAX + 8];
	strcpy(path, "/a/");
	memset(path + 3, 'z', WEB_CAPTURE_MAX);
	path[3 + WEB_CAPTURE_MAX] = '\0';
	assert_true(web_route_match("/a/{x}", path, req));
	strcat(path, "z");
	assert_false(web_route_match("/a/{x}", path, req));     /* over the bound */
	web_request_free(req);
}

static void test_dispatch(void **state)
{
	struct web_request *req;
	(void)state;

	req = dispatch(WEB_GET, "/api/orders");
	assert_string_equal(last, "list");
	assert_int_equal(req->res.status, 200);
	web_request_free(req);

	req = dispatch(WEB_POST, "/api/orders");
	assert_string_equal(last, "create");
	assert_int_equal(req->res.status, 201);
	web_request_free(req);

	req = dispatch(WEB_GET, "/api/orders/801xx0000001");
	assert_string_equal(last, "one:801xx0000001");
	web_request_free(req);

	req = dispatch(WEB_DELETE, "/api/orders/9/comments/c1");
	assert_string_equal(last, "comment:9:c1");
	web_request_free(req);
}

static void test_not_found(void **state)
{
	struct web_request *req;
	(void)state;

	const char *paths[] = { "/nope", "/api/orders/", "/api/orders/1/2", "/api", "/" };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		req = dispatch(WEB_GET, paths[i]);
		assert_int_equal(req->res.status, 404);
		assert_string_equal(error_code(req), "NOT_FOUND");
		assert_string_equal(last, "");
		web_request_free(req);
	}
}

static void test_method_not_allowed(void **state)
{
	struct web_request *req;
	(void)state;

	req = dispatch(WEB_DELETE, "/api/orders");
	assert_int_equal(req->res.status, 405);
	assert_string_equal(error_code(req), "METHOD_NOT_ALLOWED");
	assert_string_equal(buf_cstr(&req->res.headers), "Allow: GET, POST, HEAD\r\n");
	web_request_free(req);

	req = dispatch(WEB_POST, "/api/orders/5");
	assert_int_equal(req->res.status, 405);
	assert_string_equal(buf_cstr(&req->res.headers), "Allow: GET, HEAD\r\n");
	web_request_free(req);

	req = dispatch(WEB_GET, "/api/fail");
	assert_int_equal(req->res.status, 405);
	assert_string_equal(buf_cstr(&req->res.headers), "Allow: POST\r\n");
	web_request_free(req);

	req = dispatch(WEB_OPTIONS, "/api/orders");
	assert_int_equal(req->res.status, 204);
	assert_string_equal(buf_cstr(&req->res.headers), "Allow: GET, POST, HEAD\r\n");
	web_request_free(req);

	req = dispatch(WEB_OPTIONS, "/nope");
	assert_int_equal(req->res.status, 404);
	web_request_free(req);
}

/* portal-api.md: JSON in. A body labelled anything but application/json is
 * 415 before the handler runs; no body needs no Content-Type; an app that
 * reads raw bodies (webhooks) opts out. */
static struct web_request *post_body(const char *ct, const char *body,
	enum web_body_types bodies)
{
	struct web_request *req = web_request_new();

	assert_non_null(req);
	req->method = WEB_POST;
	req->method_name = "POST";
	req->path = "/api/orders";
	req->content_type = ct;
	req->body = (char *)body;
	req->body_len = strlen(body);
	last[0] = '\0';
	web_route_dispatch_bodies(routes, NROUTES, req, bodies);
	return req;
}

static void test_body_content_type(void **state)
{
	static const char *const json[] = {
		"application/json", "application/json; charset=utf-8",
		"Application/JSON;charset=UTF-8", "application/json ; charset=\"utf-8\"",
		" application/json",
	};
	static const char *const other[] = {
		"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
		"application/jsonx", "application/json-seq", "text/json", "application/xml",
	};
	struct web_request *req;
	(void)state;

	for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
		req = post_body(json[i], "{}", WEB_BODY_JSON);
		assert_string_equal(last, "create");
		assert_int_equal(req->res.status, 201);
		web_request_free(req);
	}
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		req = post_body(other[i], "{}", WEB_BODY_JSON);
		assert_string_equal(last, "");              /* the handler never ran */
		assert_int_equal(req->res.status, 415);
		assert_string_equal(error_code(req), "UNSUPPORTED_MEDIA_TYPE");
		web_request_free(req);
		/* web_route_dispatch is the same rule */
		req = web_request_new();
		req->method = WEB_POST;
		req->method_name = "POST";
		req->path = "/api/orders";
		req->content_type = other[i];
		req->body = (char *)"a=1";
		req->body_len = 3;
		web_route_dispatch(routes, NROUTES, req);
		assert_int_equal(req->res.status, 415);
		web_request_free(req);
	}
	/* no body (logout, DELETE): no Content-Type needed */
	req = post_body("", "", WEB_BODY_JSON);
	assert_string_equal(last, "create");
	web_request_free(req);
	req = post_body("text/plain", "", WEB_BODY_JSON);
	assert_int_equal(req->res.status, 201);
	web_request_free(req);
	/* raw-body apps take any */
	req = post_body("application/x-www-form-urlencoded", "a=1", WEB_BODY_ANY);
	assert_string_equal(last, "create");
	web_request_free(req);
	/* routing comes first: unknown path 404, wrong method 405 */
	req = web_request_new();
	req->method = WEB_POST;
	req->method_name = "POST";
	req->path = "/api/nowhere";
	req->content_type = "text/plain";
	req->body = (char *)"x";
	req->body_len = 1;
	web_route_dispatch(routes, NROUTES, req);
	assert_int_equal(req->res.status, 404);
	web_request_free(req);

	assert_false(web_content_type_is_json(NULL));
	assert_true(web_content_type_is_json("application/json\t;charset=utf-8"));
}

static void test_head_and_errors(void **state)
{
	struct web_request *req;
	(void)state;

	req = dispatch(WEB_HEAD, "/api/orders/7");
	assert_string_equal(last, "one:7");
	assert_int_equal(req->res.status, 200);
	web_request_free(req);

	req = dispatch(WEB_HEAD, "/api/orders/7/comments/1");   /* DELETE only */
	assert_int_equal(req->res.status, 405);
	web_request_free(req);

	req = dispatch(WEB_POST, "/api/fail");
	assert_int_equal(req->res.status, 409);
	assert_string_equal(error_code(req), "PAYMENT_METHOD_MISSING");
	assert_null(strstr(buf_cstr(&req->res.body), "client 7"));
	web_request_free(req);

	req = dispatch(WEB_GET, "/api/silent");                 /* forgot to reply */
	assert_int_equal(req->res.status, 500);
	web_request_free(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_head_and_errors),
		cmocka_unit_test(test_body_content_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
