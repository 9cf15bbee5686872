/* test_web_app — one request through web_app_serve (parse, route, reply,
 * write) with memory I/O: the status the client sees for good requests and
 * for each way parsing fails, and that every answer carries X-Request-Id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/log.h"
#include "web/app.h"

static int h_echo(struct web_request *req, struct pt_err *err)
{
	(void)err;
	assert_non_null(req->ctx);
	return web_reply_json(req, 200, json_object_new_string_len(req->body, (int)req->body_len));
}

static const struct web_route routes[] = {
	{ WEB_POST, "/echo", h_echo },
	{ WEB_GET, "/echo", h_echo },
};
static const struct web_app_def def = { .name = "test", .routes = routes, .nroutes = 2 };

struct mem { const char *p; size_t n; };

static long mem_read(void *ctx, char *dst, size_t n)
{
	struct mem *m = ctx;
	if (n > m->n)
		n = m->n;
	memcpy(dst, m->p, n);
	m->p += n;
	m->n -= n;
	return (long)n;
}

static long mem_write(void *ctx, const char *p, size_t n)
{
	return buf_append(ctx, p, n) == 0 ? (long)n : -1;
}

static int serve(char *const *envp, const char *body, struct buf *out)
{
	struct web_ctx *ctx = web_ctx_new(&def, NULL);
	struct mem m = { body, strlen(body) };
	struct web_body_reader rd = { mem_read, &m };
	struct web_out wo = { mem_write, out };

	assert_non_null(ctx);
	buf_init(out, 0);
	int status = web_app_serve(ctx, envp, &rd, &wo);
	assert_int_equal(web_ctx_requests(ctx), 1);
	web_ctx_free(ctx);
	assert_non_null(strstr(buf_cstr(out), "\r\nX-Request-Id: "));
	return status;
}

static void test_serve(void **state)
{
	struct buf out;
	(void)state;

	char *ok[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=5",
		"CONTENT_TYPE=application/json; charset=utf-8", NULL };
	assert_int_equal(serve(ok, "hello", &out), 200);
	assert_non_null(strstr(buf_cstr(&out), "{\"data\":\"hello\"}"));
	buf_free(&out);

	/* a body that does not say it is JSON: 415, with or without a type */
	char *form[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=5",
		"CONTENT_TYPE=application/x-www-form-urlencoded", NULL };
	assert_int_equal(serve(form, "a=1&b", &out), 415);
	assert_non_null(strstr(buf_cstr(&out), "Status: 415 Unsupported Media Type\r\n"));
	assert_non_null(strstr(buf_cstr(&out), "\"UNSUPPORTED_MEDIA_TYPE\""));
	buf_free(&out);
	char *untyped[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=5", NULL };
	assert_int_equal(serve(untyped, "hello", &out), 415);
	buf_free(&out);
	/* no body, no type: fine (logout) */
	char *empty[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", NULL };
	assert_int_equal(serve(empty, "", &out), 200);
	buf_free(&out);

	char *big[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=70000", NULL };
	assert_int_equal(serve(big, "x", &out), 413);
	assert_non_null(strstr(buf_cstr(&out), "\"PAYLOAD_TOO_LARGE\""));
	buf_free(&out);

	char *bad[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/ec%zzho",
		"HTTP_X_REQUEST_ID=client-id-123", NULL };
	assert_int_equal(serve(bad, "", &out), 400);
	assert_non_null(strstr(buf_cstr(&out), "X-Request-Id: client-id-123\r\n"));
	assert_non_null(strstr(buf_cstr(&out), "\"request_id\":\"client-id-123\""));
	buf_free(&out);

	char *head[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/echo", NULL };
	assert_int_equal(serve(head, "", &out), 200);
	assert_non_null(strstr(buf_cstr(&out), "\r\n\r\n"));
	assert_string_equal(strstr(buf_cstr(&out), "\r\n\r\n"), "\r\n\r\n");
	buf_free(&out);

	char *nf[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/missing", NULL };
	assert_int_equal(serve(nf, "", &out), 404);
	buf_free(&out);

	char *na[] = { "REQUEST_METHOD=DELETE", "REQUEST_URI=/echo", NULL };
	assert_int_equal(serve(na, "", &out), 405);
	assert_non_null(strstr(buf_cstr(&out), "Allow: POST, GET, HEAD\r\n"));
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serve),
	};
	log_init("test", LOG_LVL_CRIT, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
