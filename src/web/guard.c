/* guard — session + CSRF gate. The order matters: the session comes first
 * (no session = 401, whatever else is wrong), then the CSRF checks, so a
 * forged cross-site request learns nothing beyond "forbidden". */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "web/app.h"
#include "web/guard.h"

/* ---- pure parts ----------------------------------------------------------- */

int web_guard_method_unsafe(enum web_method m)
{
	return m == WEB_POST || m == WEB_PUT || m == WEB_PATCH || m == WEB_DELETE;
}

int web_guard_csrf_equal(const char *expected, const char *given)
{
	if (!expected || !given)
		return 0;
	size_t n = strnlen(expected, SESSION_CSRF_LEN + 1);
	/* lengths are public (fixed-size tokens): only the bytes need constant time */
	if (n == 0 || n > SESSION_CSRF_LEN || strnlen(given, SESSION_CSRF_LEN + 1) != n)
		return 0;
	return str_ct_equal(expected, given, n);
}

struct origin {
	int https;
	char host[256];   /* lower-case; IPv6 without brackets */
	long port;
};

static int host_char_ok(char c, int v6)
{
	if (v6)
		return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') ||
			c == ':' || c == '.';
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		c == '.' || c == '-';
}

static int port_parse(const char *s, size_t n, long *out)
{
	long v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* "host[:port]" or "[v6][:port]" of n bytes into o (port defaults by scheme). */
static int authority_parse(const char *s, size_t n, struct origin *o)
{
	const char *host = s, *rest;
	size_t hlen;
	int v6 = n > 0 && s[0] == '[';
	if (v6) {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		host = s + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
	} else {
		const char *colon = memchr(s, ':', n);
		hlen = colon ? (size_t)(colon - s) : n;
		rest = s + hlen;
	}
	if (hlen == 0 || hlen >= sizeof o->host)
		return -1;
	for (size_t i = 0; i < hlen; i++) {
		if (!host_char_ok(host[i], v6))
			return -1;
		o->host[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] | 0x20 : host[i]);
	}
	o->host[hlen] = '\0';
	size_t rlen = n - (size_t)(rest - s);
	o->port = o->https ? 443 : 80;
	if (rlen == 0)
		return 0;
	return rest[0] == ':' ? port_parse(rest + 1, rlen - 1, &o->port) : -1;
}

/* "scheme://authority[/…]" of n bytes; with_path 0 refuses anything after the
 * authority (an Origin header never has a path). */
static int origin_parse(const char *s, size_t n, int with_path, struct origin *o)
{
	size_t skip;
	memset(o, 0, sizeof *o);
	if (n > 8 && strncasecmp(s, "https://", 8) == 0) {
		o->https = 1;
		skip = 8;
	} else if (n > 7 && strncasecmp(s, "http://", 7) == 0) {
		skip = 7;
	} else {
		return -1;
	}
	const char *auth = s + skip;
	size_t alen = n - skip;
	const char *slash = memchr(auth, '/', alen);
	if (slash) {
		if (!with_path)
			return -1;
		alen = (size_t)(slash - auth);
	}
	return authority_parse(auth, alen, o);
}

static int origin_same(const struct origin *a, const struct origin *b)
{
	return a->https == b->https && a->port == b->port && strcmp(a->host, b->host) == 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Is o one of the comma-separated entries of list? Malformed entries never match. */
static int origin_in_list(const struct origin *o, const char *list)
{
	struct origin e;
	const char *p = list;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *q = p;
		while (n && is_space(*q)) {
			q++;
			n--;
		}
		while (n && is_space(q[n - 1]))
			n--;
		if (n && origin_parse(q, n, 1, &e) == 0 && origin_same(o, &e))
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

int web_guard_origin_allowed(const char *origin, const char *allowed_list,
	const char *public_base_url, const char *host_header)
{
	struct origin o, base;
	int have_list = allowed_list && *allowed_list;
	int have_base = public_base_url && *public_base_url;

	if (!origin || origin_parse(origin, strnlen(origin, 1024), 0, &o) != 0)
		return 0;   /* includes "null" (sandboxed or privacy-redirected pages) */
	if (have_base && origin_parse(public_base_url, strlen(public_base_url), 1, &base) == 0 &&
	    origin_same(&o, &base))
		return 1;
	if (have_list)
		return origin_in_list(&o, allowed_list);
	if (have_base || !host_header)
		return 0;
	/* nothing configured: same-origin means the Host the browser sent to */
	base.https = o.https;
	return authority_parse(host_header, strnlen(host_header, 300), &base) == 0 &&
		origin_same(&o, &base);
}

/* ---- request side --------------------------------------------------------- */

const char *web_guard_session_token(const struct web_request *req)
{
	for (size_t i = 0; i < req->ncookies; i++)
		if (strcmp(req->cookies[i].name, SESSION_COOKIE_NAME) == 0 &&
		    session_token_valid(req->cookies[i].value))
			return req->cookies[i].value;
	return NULL;
}

static const struct pt_config *guard_config(struct web_request *req)
{
	return req->ctx ? web_ctx_config(req->ctx) : NULL;
}

int web_guard_check_origin(struct web_request *req, struct pt_err *err)
{
	const struct pt_config *cfg = guard_config(req);
	const char *origin = web_header(req, "Origin");
	if (!origin)
		return 0;
	if (web_guard_origin_allowed(origin, cfg ? config_get(cfg, "HTTP_ALLOWED_ORIGINS") : NULL,
			cfg ? config_get(cfg, "PUBLIC_BASE_URL") : NULL, web_header(req, "Host")))
		return 0;
	log_warn("foreign origin refused", "origin", origin, "path", req->path ? req->path : "-");
	return pt_err_set(err, PT_CSRF_FAILED, "guard: origin not allowed");
}

static int csrf_check(struct web_request *req, const struct session *s, struct pt_err *err)
{
	if (!web_guard_csrf_equal(s->csrf, web_header(req, WEB_GUARD_CSRF_HEADER))) {
		log_warn("csrf token missing or wrong", "user_id", s->user_id,
			"path", req->path ? req->path : "-");
		return pt_err_set(err, PT_CSRF_FAILED, "guard: bad csrf token");
	}
	return web_guard_check_origin(req, err);
}

int web_guard_require_session(struct web_request *req, struct session *out,
	struct pt_err *err)
{
	struct session_opts opts;
	const struct pt_config *cfg = guard_config(req);
	const char *token = web_guard_session_token(req);

	memset(out, 0, sizeof *out);
	if (!cfg)
		return pt_err_set(err, PT_INTERNAL, "guard: request without app context");
	if (!token)
		return pt_err_set(err, PT_UNAUTHENTICATED, "guard: no session cookie");
	if (session_opts_from_config(cfg, &opts, err) != 0)
		return -1;
	if (session_load(web_ctx_redis(req->ctx), &opts, token, out, err) != 0)
		return -1;
	if (web_guard_method_unsafe(req->method) && csrf_check(req, out, err) != 0) {
		explicit_bzero(out, sizeof *out);
		return -1;
	}
	return 0;
}

/* ---- cookies -------------------------------------------------------------- */

static int cookie_secure(struct web_request *req)
{
	const struct pt_config *cfg = guard_config(req);
	int secure = 1;
	if (cfg && config_get_bool(cfg, "SESSION_COOKIE_SECURE", &secure, NULL) != 0)
		secure = 1;   /* a malformed value never turns Secure off */
	return secure;
}

int web_guard_set_session_cookie(struct web_request *req, const char *token,
	struct pt_err *err)
{
	char line[SESSION_COOKIE_MAX];
	int rc = -1;
	if (session_cookie_build(line, sizeof line, token, cookie_secure(req)) == 0 &&
	    web_set_header(req, "Set-Cookie", line) == 0)
		rc = 0;
	explicit_bzero(line, sizeof line);
	return rc == 0 ? 0 : pt_err_set(err, PT_INTERNAL, "guard: cannot set session cookie");
}

int web_guard_clear_session_cookie(struct web_request *req, struct pt_err *err)
{
	char line[SESSION_COOKIE_MAX];
	if (session_cookie_clear_build(line, sizeof line, cookie_secure(req)) != 0 ||
	    web_set_header(req, "Set-Cookie", line) != 0)
		return pt_err_set(err, PT_INTERNAL, "guard: cannot clear session cookie");
	return 0;
}
