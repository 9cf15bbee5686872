/* router — linear match over a small static table; apps have a handful of
 * routes, so a scan is simpler and as fast as anything cleverer. */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "web/response.h"
#include "web/router.h"

/* Captures point into the pattern (names) and into req's arena (values). */
static int capture(struct web_request *req, const char *name, size_t nl,
	const char *val, size_t vl)
{
	if (!req)
		return 0;
	if (req->ncaptures == WEB_CAPTURES_MAX)
		return -1;
	char *n = web_strndup(req, name, nl);
	char *v = web_strndup(req, val, vl);
	if (!n || !v)
		return -1;
	req->captures[req->ncaptures].name = n;
	req->captures[req->ncaptures].value = v;
	req->ncaptures++;
	return 0;
}

static int match_segment(const char *pat, size_t pl, const char *seg, size_t sl,
	struct web_request *req)
{
	if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
		if (sl == 0 || sl > WEB_CAPTURE_MAX)
			return 0;
		return capture(req, pat + 1, pl - 2, seg, sl) == 0;
	}
	return pl == sl && memcmp(pat, seg, pl) == 0;
}

int web_route_match(const char *pattern, const char *path, struct web_request *req)
{
	const char *p = pattern, *s = path;

	if (req)
		req->ncaptures = 0;
	if (*p != '/' || *s != '/')
		return 0;
	for (;;) {
		p++, s++;
		size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
		if (!match_segment(p, pl, s, sl, req))
			goto fail;
		p += pl, s += sl;
		if (!*p && !*s)
			return 1;
		if (!*p || !*s)
			goto fail;
	}
fail:
	if (req)
		req->ncaptures = 0;
	return 0;
}

/* "GET, POST, HEAD": table order, HEAD last when GET is served, so the
 * list reads the way the routes were written. */
static void allow_list(const struct web_route *routes, size_t n, const char *path,
	char *out, size_t outsz)
{
	unsigned seen = 0;
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned bit = 1u << routes[i].method;
		if ((seen & bit) || !web_route_match(routes[i].pattern, path, NULL))
			continue;
		seen |= bit;
		len += (size_t)snprintf(out + len, outsz - len, "%s%s", len ? ", " : "",
			web_method_name(routes[i].method));
		if (len >= outsz)
			return;
	}
	if ((seen & (1u << WEB_GET)) && !(seen & (1u << WEB_HEAD)))
		snprintf(out + len, outsz - len, "%sHEAD", len ? ", " : "");
}

static void run(const struct web_route *r, struct web_request *req,
	enum web_body_types bodies)
{
	struct pt_err err;

	pt_err_clear(&err);
	/* Checked here, once for every handler, so none parses a form or text
	 * body as JSON by accident (and a cross-site form cannot post one). */
	if (bodies == WEB_BODY_JSON && req->body_len > 0 &&
	    !web_content_type_is_json(req->content_type)) {
		pt_err_set(&err, PT_UNSUPPORTED_MEDIA_TYPE, "body with Content-Type '%.100s'",
			req->content_type);
		web_reply_error(req, &err);
		return;
	}
	if (r->handler(req, &err) != 0)
		web_reply_error(req, &err);
	else if (req->res.status == 0)
		web_reply_code(req, PT_INTERNAL);
}

void web_route_dispatch(const struct web_route *routes, size_t nroutes,
	struct web_request *req)
{
	web_route_dispatch_bodies(routes, nroutes, req, WEB_BODY_JSON);
}

void web_route_dispatch_bodies(const struct web_route *routes, size_t nroutes,
	struct web_request *req, enum web_body_types bodies)
{
	enum web_method want = req->method == WEB_HEAD ? WEB_GET : req->method;
	char allow[128];

	for (size_t i = 0; i < nroutes; i++) {
		if (routes[i].method != req->method && routes[i].method != want)
			continue;
		if (web_route_match(routes[i].pattern, req->path, req)) {
			req->route = routes[i].pattern;
			run(&routes[i], req, bodies);
			return;
		}
	}
	allow_list(routes, nroutes, req->path, allow, sizeof allow);
	if (!allow[0]) {
		web_reply_code(req, PT_NOT_FOUND);
		return;
	}
	if (req->method == WEB_OPTIONS)
		web_reply_empty(req, 204);
	else
		web_reply_code(req, PT_METHOD_NOT_ALLOWED);
	web_set_header(req, "Allow", allow);
}
