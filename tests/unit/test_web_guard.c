/* test_web_guard — the pure decisions (origin allow-list, CSRF compare,
 * unsafe methods, token from cookies), the guard's answers without Redis
 * (no cookie 401, Redis down 503 + Retry-After), cookie headers, and, when
 * PORTAL_TEST_REDIS_URL names a scratch Redis, the guard end to end: ids
 * from the session, CSRF missing / wrong / foreign Origin → 403. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "web/app.h"
#include "web/guard.h"

#define TOK "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_"

static void test_origin_allowed(void **state)
{
	(void)state;
	const char *base = "https://portal.example.jp";
	/* empty list: same origin as PUBLIC_BASE_URL only */
	assert_true(web_guard_origin_allowed("https://portal.example.jp", NULL, base, NULL));
	assert_true(web_guard_origin_allowed("https://portal.example.jp", "", base, NULL));
	assert_true(web_guard_origin_allowed("HTTPS://Portal.Example.JP", "", base, NULL));
	assert_true(web_guard_origin_allowed("https://portal.example.jp:443", "", base, NULL));
	assert_true(web_guard_origin_allowed("https://portal.example.jp", "",
		"https://portal.example.jp/app/", NULL));
	assert_false(web_guard_origin_allowed("http://portal.example.jp", "", base, NULL));
	assert_false(web_guard_origin_allowed("https://portal.example.jp:8443", "", base, NULL));
	assert_false(web_guard_origin_allowed("https://evil.example.jp", "", base, NULL));
	assert_false(web_guard_origin_allowed("https://portal.example.jp.evil.jp", "", base, NULL));
	assert_false(web_guard_origin_allowed("https://evil.jp/portal.example.jp", "", base, NULL));
	assert_false(web_guard_origin_allowed("https://portal.example.jp/", "", base, NULL));
	assert_false(web_guard_origin_allowed("https://x@portal.example.jp", "", base, NULL));
	assert_false(web_guard_origin_allowed("null", "", base, NULL));
	assert_false(web_guard_origin_allowed("", "", base, NULL));
	assert_false(web_guard_origin_allowed(NULL, "", base, NULL));
	assert_false(web_guard_origin_allowed("ftp://portal.example.jp", "", base, NULL));
	/* the Host header is not consulted once a base URL is configured */
	assert_false(web_guard_origin_allowed("https://evil.jp", "", base, "evil.jp"));

	/* list: exact entries, spaces ignored, base still allowed */
	const char *list = " https://a.example.jp , http://localhost:5173,https://[::1]:8443";
	assert_true(web_guard_origin_allowed("https://a.example.jp", list, base, NULL));
	assert_true(web_guard_origin_allowed("http://localhost:5173", list, base, NULL));
	assert_true(web_guard_origin_allowed("https://[::1]:8443", list, base, NULL));
	assert_true(web_guard_origin_allowed("https://portal.example.jp", list, base, NULL));
	assert_false(web_guard_origin_allowed("http://localhost:5174", list, base, NULL));
	assert_false(web_guard_origin_allowed("https://b.example.jp", list, base, NULL));
	assert_false(web_guard_origin_allowed("https://example.jp", list, base, NULL));
	assert_false(web_guard_origin_allowed("https://a.example.jp", "*", NULL, NULL));
	assert_true(web_guard_origin_allowed("https://a.example.jp", list, NULL, NULL));

	/* nothing configured: same-origin with the Host the browser used */
	assert_true(web_guard_origin_allowed("http://127.0.0.1:8080", NULL, NULL, "127.0.0.1:8080"));
	assert_true(web_guard_origin_allowed("https://portal.test", NULL, NULL, "Portal.test"));
	assert_false(web_guard_origin_allowed("http://127.0.0.1:8081", NULL, NULL, "127.0.0.1:8080"));
	assert_false(web_guard_origin_allowed("http://evil.jp", NULL, NULL, "127.0.0.1:8080"));
	assert_false(web_guard_origin_allowed("http://127.0.0.1:8080", NULL, NULL, NULL));
}

static void test_csrf_equal(void **state)
{
	(void)state;
	assert_true(web_guard_csrf_equal(TOK, TOK));
	assert_false(web_guard_csrf_equal(TOK, "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_"));
	assert_false(web_guard_csrf_equal(TOK, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_false(web_guard_csrf_equal(TOK, TOK "A"));
	assert_false(web_guard_csrf_equal(TOK, TOK + 1));
	assert_false(web_guard_csrf_equal(TOK, ""));
	assert_false(web_guard_csrf_equal(TOK, NULL));
	assert_false(web_guard_csrf_equal("", ""));        /* a session without a token never passes */
	assert_false(web_guard_csrf_equal(NULL, NULL));
}

static void test_methods(void **state)
{
	(void)state;
	assert_true(web_guard_method_unsafe(WEB_POST));
	assert_true(web_guard_method_unsafe(WEB_PUT));
	assert_true(web_guard_method_unsafe(WEB_PATCH));
	assert_true(web_guard_method_unsafe(WEB_DELETE));
	assert_false(web_guard_method_unsafe(WEB_GET));
	assert_false(web_guard_method_unsafe(WEB_HEAD));
	assert_false(web_guard_method_unsafe(WEB_OPTIONS));
}

/* ---- requests ---------------------------------------------------------------- */

static struct web_request *request(char **envp, struct web_ctx *ctx)
{
	struct pt_err err = { 0 };
	struct web_request *req = web_request_new();
	assert_non_null(req);
	assert_int_equal(web_request_parse(req, envp, NULL, 1024, &err), 0);
	req->ctx = ctx;
	return req;
}

static void test_token_from_cookies(void **state)
{
	(void)state;
	char *e1[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
		"HTTP_COOKIE=a=1; portal_session=" TOK "; b=2", NULL };
	struct web_request *req = request(e1, NULL);
	assert_string_equal(web_guard_session_token(req), TOK);
	web_request_free(req);
	/* a malformed one first (cookie tossing) does not hide the real one */
	char *e2[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
		"HTTP_COOKIE=portal_session=junk; portal_session=" TOK, NULL };
	req = request(e2, NULL);
	assert_string_equal(web_guard_session_token(req), TOK);
	web_request_free(req);
	char *e3[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
		"HTTP_COOKIE=portal_sessionx=" TOK "; portal_session=", NULL };
	req = request(e3, NULL);
	assert_null(web_guard_session_token(req));
	web_request_free(req);
	char *e4[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL };
	req = request(e4, NULL);
	assert_null(web_guard_session_token(req));
	web_request_free(req);
}

static const struct web_app_def def = { .name = "test_web_guard" };

static struct pt_config *cfg_with(const char *text)
{
	struct pt_err err = { 0 };
	struct pt_config *cfg = config_parse_buffer("t.conf", text, strlen(text), &err);
	assert_non_null(cfg);
	return cfg;
}

static void test_guard_without_redis(void **state)
{
	(void)state;
	struct pt_config *cfg = cfg_with("REDIS_URL = redis://127.0.0.1:1/0\n"
		"REDIS_CONNECT_TIMEOUT_MS = 200\n");
	struct web_ctx *ctx = web_ctx_new(&def, cfg);
	struct session s;
	struct pt_err err = { 0 };

	char *none[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/auth/me", NULL };
	struct web_request *req = request(none, ctx);
	assert_int_equal(web_guard_require_session(req, &s, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
	web_request_free(req);

	/* Redis down: 503 with Retry-After, never 401 (nobody is logged out) */
	char *with[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/auth/me",
		"HTTP_COOKIE=portal_session=" TOK, NULL };
	req = request(with, ctx);
	pt_err_clear(&err);
	assert_int_equal(web_guard_require_session(req, &s, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	assert_int_equal(pt_err_http_status(err.code), 503);
	assert_true(err.retry_after > 0);
	assert_string_equal(s.user_id, "");
	web_request_free(req);
	web_ctx_free(ctx);
	config_free(cfg);
}

static void test_set_cookies(void **state)
{
	(void)state;
	struct pt_err err = { 0 };
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login", NULL };

	struct pt_config *cfg = cfg_with("SESSION_COOKIE_SECURE = false\n");
	struct web_ctx *ctx = web_ctx_new(&def, cfg);
	struct web_request *req = request(env, ctx);
	assert_int_equal(web_guard_set_session_cookie(req, TOK, &err), 0);
	assert_int_equal(web_guard_clear_session_cookie(req, &err), 0);
	assert_int_equal(web_guard_set_session_cookie(req, "bad;token", &err), -1);
	const char *h = buf_cstr(&req->res.headers);
	assert_non_null(strstr(h, "Set-Cookie: portal_session=" TOK
		"; Path=/; HttpOnly; SameSite=Lax\r\n"));
	assert_non_null(strstr(h, "Set-Cookie: portal_session=; Path=/; Max-Age=0; HttpOnly; "
		"SameSite=Lax\r\n"));
	assert_null(strstr(h, "Secure"));
	web_request_free(req);
	web_ctx_free(ctx);
	config_free(cfg);

	cfg = cfg_with("ENVIRONMENT = test\n");   /* default: Secure */
	ctx = web_ctx_new(&def, cfg);
	req = request(env, ctx);
	assert_int_equal(web_guard_set_session_cookie(req, TOK, &err), 0);
	assert_non_null(strstr(buf_cstr(&req->res.headers), "SameSite=Lax; Secure\r\n"));
	web_request_free(req);
	web_ctx_free(ctx);
	config_free(cfg);
}

static void test_check_origin_only(void **state)
{
	(void)state;
	struct pt_err err = { 0 };
	struct pt_config *cfg = cfg_with("PUBLIC_BASE_URL = https://portal.example.jp\n");
	struct web_ctx *ctx = web_ctx_new(&def, cfg);
	char *ok[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login",
		"HTTP_ORIGIN=https://portal.example.jp", NULL };
	char *none[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login", NULL };
	char *bad[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/auth/login",
		"HTTP_ORIGIN=https://evil.jp", NULL };
	struct web_request *req = request(ok, ctx);
	assert_int_equal(web_guard_check_origin(req, &err), 0);
	web_request_free(req);
	req = request(none, ctx);
	assert_int_equal(web_guard_check_origin(req, &err), 0);
	web_request_free(req);
	req = request(bad, ctx);
	assert_int_equal(web_guard_check_origin(req, &err), -1);
	assert_int_equal(err.code, PT_CSRF_FAILED);
	assert_int_equal(pt_err_http_status(err.code), 403);
	web_request_free(req);
	web_ctx_free(ctx);
	config_free(cfg);
}

/* ---- against Redis ------------------------------------------------------------ */

static struct pt_config *LCFG;
static struct web_ctx *LCTX;
static struct session S;
static char COOKIE[128], CSRF_OK[128], CSRF_BAD[128];

static int live_setup(void **state)
{
	(void)state;
	char text[1400];
	char uid[24];
	struct pt_err err = { 0 };
	snprintf(text, sizeof text, "REDIS_URL = %s\nPUBLIC_BASE_URL = https://portal.example.jp\n"
		"HTTP_ALLOWED_ORIGINS = https://app.example.jp\n", getenv("PORTAL_TEST_REDIS_URL"));
	LCFG = config_parse_buffer("t.conf", text, strlen(text), &err);
	if (!LCFG)
		return -1;
	LCTX = web_ctx_new(&def, LCFG);
	struct session_opts o = { 1800, 43200 };
	snprintf(uid, sizeof uid, "8%08ld", (long)getpid());
	struct session_subject who = { uid, "001000000000001AAA", "77" };
	if (session_create(web_ctx_redis(LCTX), &o, &who, "198.51.100.7", "test", &S, &err) != 0)
		return -1;
	snprintf(COOKIE, sizeof COOKIE, "HTTP_COOKIE=portal_session=%s", S.token);
	snprintf(CSRF_OK, sizeof CSRF_OK, "HTTP_X_CSRF_TOKEN=%s", S.csrf);
	snprintf(CSRF_BAD, sizeof CSRF_BAD, "HTTP_X_CSRF_TOKEN=%.42sx", S.csrf);
	return 0;
}

static int live_teardown(void **state)
{
	(void)state;
	session_destroy(web_ctx_redis(LCTX), &S, NULL);
	web_ctx_free(LCTX);
	config_free(LCFG);
	return 0;
}

static int guard(char **envp, struct session *s, struct pt_err *err)
{
	struct web_request *req = request(envp, LCTX);
	pt_err_clear(err);
	int rc = web_guard_require_session(req, s, err);
	web_request_free(req);
	return rc;
}

static void test_live_guard(void **state)
{
	(void)state;
	struct session s;
	struct pt_err err;

	char *get[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/orders", COOKIE,
		"HTTP_ORIGIN=https://evil.jp", NULL };   /* safe method: no CSRF check */
	assert_int_equal(guard(get, &s, &err), 0);
	assert_string_equal(s.sf_account_id, "001000000000001AAA");
	assert_string_equal(s.whmcs_client_id, "77");
	assert_string_equal(s.user_id, S.user_id);

	char *post_ok[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/orders", COOKIE, CSRF_OK,
		"HTTP_ORIGIN=https://portal.example.jp", NULL };
	assert_int_equal(guard(post_ok, &s, &err), 0);
	char *post_list[] = { "REQUEST_METHOD=DELETE", "REQUEST_URI=/api/auth/sessions", COOKIE,
		CSRF_OK, "HTTP_ORIGIN=https://app.example.jp", NULL };
	assert_int_equal(guard(post_list, &s, &err), 0);
	char *post_no_origin[] = { "REQUEST_METHOD=PATCH", "REQUEST_URI=/api/account/profile",
		COOKIE, CSRF_OK, NULL };
	assert_int_equal(guard(post_no_origin, &s, &err), 0);

	char *missing[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/orders", COOKIE,
		"HTTP_ORIGIN=https://portal.example.jp", NULL };
	assert_int_equal(guard(missing, &s, &err), -1);
	assert_int_equal(err.code, PT_CSRF_FAILED);
	assert_string_equal(s.user_id, "");   /* nothing leaks to a handler that ignores rc */
	char *wrong[] = { "REQUEST_METHOD=PUT", "REQUEST_URI=/api/orders", COOKIE, CSRF_BAD, NULL };
	assert_int_equal(guard(wrong, &s, &err), -1);
	assert_int_equal(err.code, PT_CSRF_FAILED);
	char *foreign[] = { "REQUEST_METHOD=DELETE", "REQUEST_URI=/api/orders", COOKIE, CSRF_OK,
		"HTTP_ORIGIN=https://evil.jp", NULL };
	assert_int_equal(guard(foreign, &s, &err), -1);
	assert_int_equal(err.code, PT_CSRF_FAILED);
	char *nullorigin[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/orders", COOKIE, CSRF_OK,
		"HTTP_ORIGIN=null", NULL };
	assert_int_equal(guard(nullorigin, &s, &err), -1);
	assert_int_equal(err.code, PT_CSRF_FAILED);

	/* unknown token: 401 before any CSRF question */
	char *unknown[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/api/orders",
		"HTTP_COOKIE=portal_session=" TOK, NULL };
	assert_int_equal(guard(unknown, &s, &err), -1);
	assert_int_equal(err.code, PT_UNAUTHENTICATED);
}

int main(void)
{
	log_init("test_web_guard", LOG_LVL_CRIT, 0);
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_origin_allowed),
		cmocka_unit_test(test_csrf_equal),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_token_from_cookies),
		cmocka_unit_test(test_guard_without_redis),
		cmocka_unit_test(test_set_cookies),
		cmocka_unit_test(test_check_origin_only),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_guard),
	};
	int rc = cmocka_run_group_tests_name("web_guard_pure", pure, NULL, NULL);
	const char *u = getenv("PORTAL_TEST_REDIS_URL");
	if (!u || !*u) {
		printf("test_web_guard: PORTAL_TEST_REDIS_URL not set, skipped the Redis tests\n");
		return rc;
	}
	return rc + cmocka_run_group_tests_name("web_guard_redis", live, live_setup, live_teardown);
}
