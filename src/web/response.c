/* response — envelopes, headers and the CGI-style response writer.
 * Replies are buffered: a handler may set one and later replace it with an
 * error, and HEAD drops the body only at the moment of writing. */
#include <stdio.h>
#include <string.h>

#include "web/request.h"
#include "web/response.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define CT_JSON "application/json; charset=utf-8"
#define HEADERS_MAX 16384

void web_response_init(struct web_response *res)
{
	memset(res, 0, sizeof *res);
	res->content_type = CT_JSON;
	buf_init(&res->headers, HEADERS_MAX);
	buf_init(&res->body, WEB_RESPONSE_BODY_MAX);
}

void web_response_free(struct web_response *res)
{
	if (!res)
		return;
	buf_free(&res->headers);
	buf_free(&res->body);
}

static void set_body_empty(struct web_response *res, int status, const char *ct)
{
	res->status = status;
	res->content_type = ct;
	buf_reset(&res->body);
}

/* A reply that cannot be built (ENOMEM, oversized) becomes a bare 500 so the
 * client still gets a well-formed answer. */
static int fallback_500(struct web_request *req)
{
	struct web_response *res = &req->res;

	set_body_empty(res, 500, CT_JSON);
	buf_reset(&res->headers);
	buf_printf(&res->body, "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"%s\","
		"\"request_id\":\"%s\"}}", pt_err_user_message(PT_INTERNAL), req->request_id);
	return -1;
}

int web_reply_json(struct web_request *req, int status, struct json_object *data)
{
	const char *s = json_object_to_json_string_ext(data, JSON_FLAGS);
	int rc = web_reply_json_raw(req, status, s, strlen(s));

	json_object_put(data);
	return rc;
}

int web_reply_json_raw(struct web_request *req, int status, const char *json, size_t len)
{
	struct web_response *res = &req->res;

	set_body_empty(res, status, CT_JSON);
	if (buf_puts(&res->body, "{\"data\":") != 0 || buf_append(&res->body, json, len) != 0 ||
	    buf_putc(&res->body, '}') != 0)
		return fallback_500(req);
	return 0;
}

int web_reply_json_bare(struct web_request *req, int status, struct json_object *body)
{
	const char *s = json_object_to_json_string_ext(body, JSON_FLAGS);
	int rc = 0;

	set_body_empty(&req->res, status, CT_JSON);
	if (buf_puts(&req->res.body, s) != 0)
		rc = fallback_500(req);
	json_object_put(body);
	return rc;
}

int web_reply_list(struct web_request *req, struct json_object *items,
	long page, long limit, long total)
{
	struct json_object *o = json_object_new_object();
	int rc;

	if (!o) {
		json_object_put(items);
		return fallback_500(req);
	}
	json_object_object_add(o, "data", items ? items : json_object_new_array());
	json_object_object_add(o, "page", json_object_new_int64(page));
	json_object_object_add(o, "limit", json_object_new_int64(limit));
	json_object_object_add(o, "total", json_object_new_int64(total));
	const char *s = json_object_to_json_string_ext(o, JSON_FLAGS);
	set_body_empty(&req->res, 200, CT_JSON);
	rc = buf_puts(&req->res.body, s) != 0 ? fallback_500(req) : 0;
	json_object_put(o);
	return rc;
}

/* Field names come from code, but keep them to an identifier-like set so the
 * message stays clean whatever a caller passes. */
static int field_name_ok(const char *f)
{
	if (!f[0])
		return 0;
	for (; *f; f++)
		if (!((*f >= 'a' && *f <= 'z') || (*f >= 'A' && *f <= 'Z') ||
		      (*f >= '0' && *f <= '9') || strchr("_.-[]", *f)))
			return 0;
	return 1;
}

/* Internal-only codes (and PT_OK passed by mistake) reach a client as
 * INTERNAL: their names describe our plumbing, not the customer's request. */
static enum pt_code shown_code(enum pt_code code)
{
	if ((unsigned)code >= PT_CODE_COUNT || code == PT_OK || code == PT_CONFIG_INVALID)
		return PT_INTERNAL;
	return code;
}

static struct json_object *error_object(struct web_request *req, const struct pt_err *err)
{
	enum pt_code code = err ? err->code : PT_INTERNAL;
	struct json_object *e = json_object_new_object();
	char msg[512];

	if (!e)
		return NULL;
	code = shown_code(code);
	const char *user = pt_err_user_message(code);
	int with_field = code == PT_VALIDATION_FAILED && field_name_ok(err->field);
	if (with_field)
		snprintf(msg, sizeof msg, "%s (field: %s)", user, err->field);
	else
		snprintf(msg, sizeof msg, "%s", user);
	json_object_object_add(e, "code", json_object_new_string(pt_err_code_name(code)));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(e, "request_id", json_object_new_string(req->request_id));
	if (with_field)
		json_object_object_add(e, "field", json_object_new_string(err->field));
	struct json_object *o = json_object_new_object();
	if (!o) {
		json_object_put(e);
		return NULL;
	}
	json_object_object_add(o, "error", e);
	return o;
}

int web_reply_error(struct web_request *req, const struct pt_err *err)
{
	struct web_response *res = &req->res;
	struct json_object *o = error_object(req, err);
	enum pt_code code = err ? err->code : PT_INTERNAL;
	int rc = 0;

	if (!o)
		return fallback_500(req);
	set_body_empty(res, pt_err_http_status(shown_code(code)), CT_JSON);
	/* Headers a handler set for its success path (cookies, caching) must
	 * not ride along on an error. */
	buf_reset(&res->headers);
	res->cache_public = 0;
	/* Every 503 says when to come back (portal-api.md): the cause's own
	 * value when it knows one (Freebit 900, a Retry-After from WHMCS or
	 * Salesforce), else the code's default from the err table. */
	int retry_after = err ? pt_err_retry_after(err) : 0;
	if (buf_puts(&res->body, json_object_to_json_string_ext(o, JSON_FLAGS)) != 0)
		rc = fallback_500(req);
	else if (retry_after > 0)
		buf_printf(&res->headers, "Retry-After: %d\r\n", retry_after);
	json_object_put(o);
	return rc;
}

int web_reply_code(struct web_request *req, enum pt_code code)
{
	struct pt_err err;

	pt_err_clear(&err);
	err.code = code;
	return web_reply_error(req, &err);
}

int web_reply_empty(struct web_request *req, int status)
{
	set_body_empty(&req->res, status, CT_JSON);
	return 0;
}

int web_reply_text(struct web_request *req, int status, const char *content_type,
	const char *data, size_t len)
{
	set_body_empty(&req->res, status, content_type);
	if (buf_append(&req->res.body, data, len) != 0)
		return fallback_500(req);
	return 0;
}

static int token_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (n >= max || c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c))
			return 0;
	}
	return n > 0;
}

static int value_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

int web_set_header(struct web_request *req, const char *name, const char *value)
{
	if (!token_ok(name, 64) || !value_ok(value))
		return -1;
	return buf_printf(&req->res.headers, "%s: %s\r\n", name, value);
}

static int cookie_value_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\')
			return 0;
	}
	return 1;
}

int web_set_cookie(struct web_request *req, const char *name, const char *value,
	long max_age, unsigned flags)
{
	char line[WEB_COOKIE_VALUE_MAX + 256];
	int n;

	if (!token_ok(name, WEB_COOKIE_NAME_MAX) || !cookie_value_ok(value) ||
	    strlen(value) > WEB_COOKIE_VALUE_MAX)
		return -1;
	n = snprintf(line, sizeof line, "%s=%s; Path=/", name, value);
	if (max_age >= 0)
		n += snprintf(line + n, sizeof line - (size_t)n, "; Max-Age=%ld", max_age);
	if (flags & WEB_COOKIE_HTTPONLY)
		n += snprintf(line + n, sizeof line - (size_t)n, "; HttpOnly");
	if (flags & WEB_COOKIE_SECURE)
		n += snprintf(line + n, sizeof line - (size_t)n, "; Secure");
	if (flags & WEB_COOKIE_SAMESITE_STRICT)
		snprintf(line + n, sizeof line - (size_t)n, "; SameSite=Strict");
	else if (flags & WEB_COOKIE_SAMESITE_LAX)
		snprintf(line + n, sizeof line - (size_t)n, "; SameSite=Lax");
	return web_set_header(req, "Set-Cookie", line);
}

void web_cache_public(struct web_request *req, long max_age, long s_maxage)
{
	req->res.cache_public = 1;
	req->res.max_age = max_age < 0 ? 0 : max_age;
	req->res.s_maxage = s_maxage < 0 ? 0 : s_maxage;
}

const char *web_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static int build_head(struct web_request *req, struct buf *h, int has_body)
{
	struct web_response *res = &req->res;
	int rc = 0;

	rc |= buf_printf(h, "Status: %d %s\r\n", res->status, web_status_reason(res->status));
	if (has_body)
		rc |= buf_printf(h, "Content-Type: %s\r\nContent-Length: %zu\r\n",
			res->content_type, res->body.len);
	rc |= buf_printf(h, "X-Request-Id: %s\r\n", req->request_id);
	if (res->cache_public)
		rc |= buf_printf(h, "Cache-Control: public, max-age=%ld, s-maxage=%ld\r\n",
			res->max_age, res->s_maxage);
	else
		rc |= buf_puts(h, "Cache-Control: private, no-store\r\n");
	rc |= buf_puts(h, "X-Content-Type-Options: nosniff\r\n");
	rc |= buf_append(h, buf_cstr(&res->headers), res->headers.len);
	rc |= buf_puts(h, "\r\n");
	return rc ? -1 : 0;
}

static int out_all(const struct web_out *out, const char *p, size_t n)
{
	while (n) {
		long w = out->write(out->ctx, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int web_response_send(struct web_request *req, const struct web_out *out)
{
	struct web_response *res = &req->res;
	struct buf h;
	int rc = -1;

	if (res->status == 0)
		web_reply_code(req, PT_INTERNAL);
	int has_body = res->status != 204 && res->status != 304;
	buf_init(&h, HEADERS_MAX + 1024);
	if (build_head(req, &h, has_body) != 0)
		goto out;
	if (out_all(out, buf_cstr(&h), h.len) != 0)
		goto out;
	if (has_body && !req->head && out_all(out, buf_cstr(&res->body), res->body.len) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&h);
	return rc;
}
