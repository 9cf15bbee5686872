/* test_web_request — the request parsers: methods, paths (strict decoding,
 * dot segments, bounds), how nginx / Apache / CGI pass the path, query,
 * cookies, headers, body limits and request-id acceptance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "web/request.h"

struct mem_reader {
	const char *data;
	size_t len, pos;
	size_t chunk;      /* at most this many bytes per read (0 = any) */
};

static long mem_read(void *ctx, char *dst, size_t n)
{
	struct mem_reader *m = ctx;
	size_t left = m->len - m->pos;

	if (m->chunk && n > m->chunk)
		n = m->chunk;
	if (n > left)
		n = left;
	memcpy(dst, m->data + m->pos, n);
	m->pos += n;
	return (long)n;
}

/* Parses envp with an optional body; returns the pt_code (PT_OK on success). */
static enum pt_code parse(struct web_request **out, char *const *envp, const char *body,
	size_t max_body)
{
	struct mem_reader m = { body ? body : "", body ? strlen(body) : 0, 0, 3 };
	struct web_body_reader rd = { mem_read, &m };
	struct pt_err err;

	pt_err_clear(&err);
	*out = web_request_new();
	assert_non_null(*out);
	if (web_request_parse(*out, envp, &rd, max_body, &err) != 0) {
		assert_int_not_equal(err.code, PT_OK);
		return err.code;
	}
	return PT_OK;
}

static enum pt_code parse_path(const char *raw, char *out, size_t outsz)
{
	struct pt_err err;

	pt_err_clear(&err);
	if (web_parse_path(raw, strlen(raw), out, outsz, &err) != 0)
		return err.code;
	return PT_OK;
}

static void test_methods(void **state)
{
	enum web_method m;
	struct pt_err err;
	(void)state;

	const char *ok[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(web_parse_method(ok[i], &m, &err), 0);
		assert_string_equal(web_method_name(m), ok[i]);
	}
	assert_int_equal(web_parse_method("TRACE", &m, &err), -1);
	assert_int_equal(err.code, PT_METHOD_NOT_ALLOWED);
	assert_int_equal(web_parse_method("get", &m, &err), -1);
	assert_int_equal(web_parse_method("G ET", &m, &err), -1);
	assert_int_equal(err.code, PT_BAD_REQUEST);
	assert_int_equal(web_parse_method("", &m, &err), -1);
	assert_int_equal(web_parse_method(NULL, &m, &err), -1);
	assert_int_equal(err.code, PT_BAD_REQUEST);
	assert_int_equal(web_parse_method("AVERYLONGMETHODNAMEX", &m, &err), -1);
}

static void test_paths(void **state)
{
	char out[WEB_PATH_MAX + 1];
	(void)state;

	assert_int_equal(parse_path("/health", out, sizeof out), PT_OK);
	assert_string_equal(out, "/health");
	assert_int_equal(parse_path("/a%20b/%E3%81%82", out, sizeof out), PT_OK);
	assert_string_equal(out, "/a b/\xe3\x81\x82");
	assert_int_equal(parse_path("/a+b", out, sizeof out), PT_OK);
	assert_string_equal(out, "/a+b");            /* '+' is literal in paths */
	assert_int_equal(parse_path("/", out, sizeof out), PT_OK);
	assert_int_equal(parse_path("/a..b/.c", out, sizeof out), PT_OK);

	assert_int_equal(parse_path("health", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/a%2", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/a%zz", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/a%00b", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/a%2Fb", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/a%2fb", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/a%FFb", out, sizeof out), PT_BAD_REQUEST);   /* not UTF-8 */
	assert_int_equal(parse_path("/a%C0%AFb", out, sizeof out), PT_BAD_REQUEST);/* overlong */
	assert_int_equal(parse_path("/a%0Ab", out, sizeof out), PT_BAD_REQUEST);   /* control */
	assert_int_equal(parse_path("/a/../b", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/a/%2e%2e/b", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/..", out, sizeof out), PT_BAD_REQUEST);
	assert_int_equal(parse_path("/a/.", out, sizeof out), PT_BAD_REQUEST);

	char *big = malloc(WEB_PATH_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', WEB_PATH_MAX + 1);
	big[0] = '/';
	big[WEB_PATH_MAX] = '\0';                    /* exactly the limit */
	assert_int_equal(parse_path(big, out, sizeof out), PT_OK);
	big[WEB_PATH_MAX] = 'a';
	big[WEB_PATH_MAX + 1] = '\0';                /* one over */
	char *out2 = malloc(WEB_PATH_MAX + 2);
	assert_int_equal(parse_path(big, out2, WEB_PATH_MAX + 2), PT_BAD_REQUEST);
	free(out2);
	free(big);
}

/* How each web server passes the path: the parser must find the same one. */
static void test_path_sources(void **state)
{
	struct web_request *req;
	(void)state;

	char *nginx[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/orders/a%20b?x=1",
		"DOCUMENT_URI=/api/orders/a b", "SCRIPT_NAME=/api/orders/a b",
		"QUERY_STRING=x=1", NULL };
	assert_int_equal(parse(&req, nginx, NULL, 100), PT_OK);
	assert_string_equal(req->path, "/api/orders/a b");
	assert_string_equal(web_query(req, "x"), "1");
	web_request_free(req);

	char *apache[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/api/orders",
		"PATH_INFO=/123", "REQUEST_URI=/api/orders/123", "QUERY_STRING=", NULL };
	assert_int_equal(parse(&req, apache, NULL, 100), PT_OK);
	assert_string_equal(req->path, "/api/orders/123");
	web_request_free(req);

	char *cgi[] = { "REQUEST_METHOD=GET", "PATH_INFO=/health", NULL };
	assert_int_equal(parse(&req, cgi, NULL, 100), PT_OK);
	assert_string_equal(req->path, "/health");
	assert_int_equal(req->nquery, 0);
	web_request_free(req);

	char *cgi2[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/health", "PATH_INFO=", NULL };
	assert_int_equal(parse(&req, cgi2, NULL, 100), PT_OK);
	assert_string_equal(req->path, "/health");
	web_request_free(req);

	char *docuri[] = { "REQUEST_METHOD=GET", "DOCUMENT_URI=/metrics", NULL };
	assert_int_equal(parse(&req, docuri, NULL, 100), PT_OK);
	assert_string_equal(req->path, "/metrics");
	web_request_free(req);

	char *absolute[] = { "REQUEST_METHOD=GET", "REQUEST_URI=http://h.example/x?y=2", NULL };
	assert_int_equal(parse(&req, absolute, NULL, 100), PT_OK);
	assert_string_equal(req->path, "/x");
	assert_string_equal(web_query(req, "y"), "2");   /* query from the URI */
	web_request_free(req);

	char *none[] = { "REQUEST_METHOD=GET", NULL };
	assert_int_equal(parse(&req, none, NULL, 100), PT_BAD_REQUEST);
	web_request_free(req);

	char *bad[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a/%2e%2e/etc", NULL };
	assert_int_equal(parse(&req, bad, NULL, 100), PT_BAD_REQUEST);
	assert_null(req->path);
	assert_int_equal(strlen(req->request_id), 32);   /* still has an id */
	web_request_free(req);

	char *decoded_pct[] = { "REQUEST_METHOD=GET", "PATH_INFO=/a%41", NULL };
	assert_int_equal(parse(&req, decoded_pct, NULL, 100), PT_BAD_REQUEST);
	web_request_free(req);

	char *badm[] = { "REQUEST_METHOD=TRACE", "REQUEST_URI=/", NULL };
	assert_int_equal(parse(&req, badm, NULL, 100), PT_METHOD_NOT_ALLOWED);
	web_request_free(req);
}

static void test_query(void **state)
{
	struct web_request *req = web_request_new();
	struct pt_err err;
	(void)state;

	const char *qs = "page=2&limit=10&status=Unpaid+due&e=%E3%81%82&flag&&=x&page=3";
	assert_int_equal(web_parse_query(req, qs, strlen(qs), &err), 0);
	assert_string_equal(web_query(req, "page"), "2");    /* first wins */
	assert_string_equal(web_query(req, "limit"), "10");
	assert_string_equal(web_query(req, "status"), "Unpaid due");
	assert_string_equal(web_query(req, "e"), "\xe3\x81\x82");
	assert_string_equal(web_query(req, "flag"), "");
	assert_null(web_query(req, "missing"));
	assert_int_equal(req->nquery, 6);

	const char *bads[] = { "a=%zz", "a=%", "a=%00", "a=%FF", "%ZZ=1", "a=%0A" };
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		pt_err_clear(&err);
		assert_int_equal(web_parse_query(req, bads[i], strlen(bads[i]), &err), -1);
		assert_int_equal(err.code, PT_BAD_REQUEST);
	}

	/* 64 pairs pass, 65 fail */
	char many[1024] = "";
	for (int i = 0; i < 65; i++)
		strcat(many, i ? "&a=1" : "a=1");
	size_t len64 = strlen(many) - 4;
	assert_int_equal(web_parse_query(req, many, len64, &err), 0);
	assert_int_equal(req->nquery, 64);
	assert_int_equal(web_parse_query(req, many, strlen(many), &err), -1);
	assert_int_equal(err.code, PT_BAD_REQUEST);

	char *longv = malloc(WEB_QUERY_VALUE_MAX + 8);
	memcpy(longv, "v=", 2);
	memset(longv + 2, 'x', WEB_QUERY_VALUE_MAX + 1);
	longv[WEB_QUERY_VALUE_MAX + 3] = '\0';
	assert_int_equal(web_parse_query(req, longv, strlen(longv), &err), -1);
	free(longv);
	web_request_free(req);
}

static void test_cookies(void **state)
{
	struct web_request *req = web_request_new();
	struct pt_err err;
	(void)state;

	assert_int_equal(web_parse_cookies(req,
		"portal_session=abc-DEF_123; theme=\"dark\";  bad cookie=1; x=a,b; novalue; empty=",
		&err), 0);
	assert_string_equal(web_cookie(req, "portal_session"), "abc-DEF_123");
	assert_string_equal(web_cookie(req, "theme"), "dark");
	assert_string_equal(web_cookie(req, "empty"), "");
	assert_null(web_cookie(req, "bad cookie"));
	assert_null(web_cookie(req, "x"));           /* ',' is not a cookie-octet */
	assert_null(web_cookie(req, "novalue"));
	assert_int_equal(web_parse_cookies(req, "", &err), 0);
	assert_int_equal(req->ncookies, 0);

	char *big = malloc(WEB_COOKIE_HEADER_MAX + 10);
	memset(big, 'a', WEB_COOKIE_HEADER_MAX + 5);
	big[1] = '=';
	big[WEB_COOKIE_HEADER_MAX + 5] = '\0';
	assert_int_equal(web_parse_cookies(req, big, &err), -1);
	assert_int_equal(err.code, PT_BAD_REQUEST);
	free(big);

	/* more than WEB_COOKIES_MAX: the rest is ignored, not an error */
	char many[2048] = "";
	for (int i = 0; i < WEB_COOKIES_MAX + 10; i++)
		strcat(many, "c=1; ");
	assert_int_equal(web_parse_cookies(req, many, &err), 0);
	assert_int_equal(req->ncookies, WEB_COOKIES_MAX);
	web_request_free(req);
}

static void test_headers(void **state)
{
	struct web_request *req;
	(void)state;

	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", "HTTP_X_CSRF_TOKEN=tok",
		"HTTP_IDEMPOTENCY_KEY=k-1", "HTTP_COOKIE=portal_session=s1",
		"CONTENT_TYPE=application/json", "REMOTE_ADDR=192.0.2.7", NULL };
	assert_int_equal(parse(&req, env, NULL, 100), PT_OK);
	assert_string_equal(web_header(req, "X-CSRF-Token"), "tok");
	assert_string_equal(web_header(req, "x-csrf-token"), "tok");
	assert_string_equal(web_header(req, "Idempotency-Key"), "k-1");
	assert_null(web_header(req, "X-Missing"));
	assert_string_equal(web_cookie(req, "portal_session"), "s1");
	assert_string_equal(req->content_type, "application/json");
	assert_string_equal(req->remote_addr, "192.0.2.7");
	assert_string_equal(req->method_name, "POST");
	assert_int_equal(req->body_len, 0);
	web_request_free(req);

	char *ctl[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", "HTTP_X_A=a\x01" "b", NULL };
	assert_int_equal(parse(&req, ctl, NULL, 100), PT_BAD_REQUEST);
	web_request_free(req);

	char *longh = malloc(WEB_HEADER_VALUE_MAX + 32);
	strcpy(longh, "HTTP_X_LONG=");
	memset(longh + 12, 'v', WEB_HEADER_VALUE_MAX + 1);
	longh[12 + WEB_HEADER_VALUE_MAX + 1] = '\0';
	char *lh[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", longh, NULL };
	assert_int_equal(parse(&req, lh, NULL, 100), PT_BAD_REQUEST);
	web_request_free(req);
	free(longh);
}

static void test_body(void **state)
{
	struct web_request *req;
	(void)state;

	char *ok[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", "CONTENT_LENGTH=11", NULL };
	assert_int_equal(parse(&req, ok, "{\"a\":\"bc\"}\n", 100), PT_OK);
	assert_int_equal(req->body_len, 11);
	assert_string_equal(req->body, "{\"a\":\"bc\"}\n");
	web_request_free(req);

	/* exactly at the limit */
	assert_int_equal(parse(&req, ok, "{\"a\":\"bc\"}\n", 11), PT_OK);
	web_request_free(req);

	/* declared over the limit: 413 without reading */
	char *big[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", "CONTENT_LENGTH=65537", NULL };
	assert_int_equal(parse(&req, big, "x", 65536), PT_PAYLOAD_TOO_LARGE);
	web_request_free(req);
	char *huge[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=99999999999999999999999", NULL };
	assert_int_equal(parse(&req, huge, "x", 65536), PT_PAYLOAD_TOO_LARGE);
	web_request_free(req);

	/* body longer or shorter than declared */
	char *short_cl[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", "CONTENT_LENGTH=3", NULL };
	assert_int_equal(parse(&req, short_cl, "abcdef", 100), PT_BAD_REQUEST);
	web_request_free(req);
	char *long_cl[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", "CONTENT_LENGTH=30", NULL };
	assert_int_equal(parse(&req, long_cl, "abcdef", 100), PT_BAD_REQUEST);
	web_request_free(req);

	char *badcl[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", "CONTENT_LENGTH=-1", NULL };
	assert_int_equal(parse(&req, badcl, "", 100), PT_BAD_REQUEST);
	web_request_free(req);

	/* nginx passes an empty CONTENT_LENGTH on GET */
	char *empty[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", "CONTENT_LENGTH=", NULL };
	assert_int_equal(parse(&req, empty, "", 100), PT_OK);
	assert_string_equal(req->body, "");
	web_request_free(req);

	/* chunked without length: bounded read to the end */
	char *chunked[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"HTTP_TRANSFER_ENCODING=chunked", NULL };
	assert_int_equal(parse(&req, chunked, "hello", 100), PT_OK);
	assert_string_equal(req->body, "hello");
	web_request_free(req);
	assert_int_equal(parse(&req, chunked, "hello", 4), PT_PAYLOAD_TOO_LARGE);
	web_request_free(req);
}

static void test_request_id(void **state)
{
	struct web_request *req;
	(void)state;

	assert_true(web_request_id_valid("abcd1234"));
	assert_true(web_request_id_valid("A.b_c-D.e_f-0123456789"));
	assert_false(web_request_id_valid("abc1234"));            /* 7 chars */
	assert_false(web_request_id_valid("abcd 1234"));
	assert_false(web_request_id_valid("abcd1234\n"));
	assert_false(web_request_id_valid("<script>alert</script>"));
	assert_false(web_request_id_valid(NULL));
	char s65[66];
	memset(s65, 'a', 65);
	s65[65] = '\0';
	assert_false(web_request_id_valid(s65));
	s65[64] = '\0';
	assert_true(web_request_id_valid(s65));

	char *with[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
		"HTTP_X_REQUEST_ID=lb-req.0001_ab", NULL };
	assert_int_equal(parse(&req, with, NULL, 100), PT_OK);
	assert_string_equal(req->request_id, "lb-req.0001_ab");
	web_request_free(req);

	char *bad[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", "HTTP_X_REQUEST_ID=a b c d e f g h",
		NULL };
	assert_int_equal(parse(&req, bad, NULL, 100), PT_OK);
	assert_int_equal(strlen(req->request_id), 32);
	for (size_t i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", req->request_id[i]));
	web_request_free(req);
}

static void free_counter(void *p)
{
	(*(int *)p)++;
}

static void test_arena(void **state)
{
	struct web_request *req = web_request_new();
	int freed = 0;
	(void)state;

	assert_non_null(web_alloc(req, 100));
	assert_string_equal(web_strndup(req, "abcdef", 3), "abc");
	assert_int_equal(web_defer(req, free_counter, &freed), 0);
	web_request_free(req);
	assert_int_equal(freed, 1);
	web_request_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_path_sources),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
