/* response — the one way a handler answers: JSON envelopes ({"data": …} or
 * {"error": {code, message, request_id}}), headers, cookies and cache policy.
 * A reply is buffered until web_response_send writes it, so a later error can
 * still replace it and HEAD / 204 can drop the body. Output goes through
 * struct web_out (an FCGX_Stream, stdout, or a memory buffer in tests). */
#ifndef PT_WEB_RESPONSE_H
#define PT_WEB_RESPONSE_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/buf.h"
#include "core/err.h"

#define WEB_RESPONSE_BODY_MAX (16u * 1024 * 1024)

struct web_request;

struct web_response {
	int status;                  /* 0 until a reply is set */
	const char *content_type;    /* static string */
	int cache_public;            /* 0: private, no-store */
	long max_age, s_maxage;
	struct buf headers;          /* extra "Name: value\r\n" lines */
	struct buf body;
};

/* write returns bytes written or -1. */
struct web_out {
	long (*write)(void *ctx, const char *p, size_t n);
	void *ctx;
};

void web_response_init(struct web_response *res);
void web_response_free(struct web_response *res);

/* {"data": data} with status; takes ownership of data (NULL → null). */
int web_reply_json(struct web_request *req, int status, struct json_object *data);
/* Same with data already serialised (e.g. a cached JSON value): the caller
 * guarantees json is one valid JSON value. */
int web_reply_json_raw(struct web_request *req, int status, const char *json, size_t len);
/* body as given, without the envelope, for the few bodies a contract fixes at
 * the top level (GET /health); takes ownership of body. */
int web_reply_json_bare(struct web_request *req, int status, struct json_object *body);
/* 200 {"data": items, "page", "limit", "total"}; takes ownership of items. */
int web_reply_list(struct web_request *req, struct json_object *items,
	long page, long limit, long total);
/* Mapped status + {"error": {"code", "message", "request_id"}} (plus "field"
 * for VALIDATION_FAILED); message from the err table, never err->detail;
 * Retry-After: err->retry_after when > 0, else the code's default
 * (pt_err_retry_after: every 503 has one). Drops headers set before. */
int web_reply_error(struct web_request *req, const struct pt_err *err);
/* Shorthand for web_reply_error with a bare code. */
int web_reply_code(struct web_request *req, enum pt_code code);
/* Body-less reply (204, 304). */
int web_reply_empty(struct web_request *req, int status);
/* Non-JSON body (e.g. Prometheus text); content_type must be a static string. */
int web_reply_text(struct web_request *req, int status, const char *content_type,
	const char *data, size_t len);

/* Adds a header line; -1 when name/value hold CR/LF/controls or on ENOMEM. */
int web_set_header(struct web_request *req, const char *name, const char *value);

enum {
	WEB_COOKIE_HTTPONLY = 1,
	WEB_COOKIE_SECURE = 2,
	WEB_COOKIE_SAMESITE_LAX = 4,
	WEB_COOKIE_SAMESITE_STRICT = 8,
	/* what the session cookie uses (DESIGN §5) */
	WEB_COOKIE_SESSION = WEB_COOKIE_HTTPONLY | WEB_COOKIE_SECURE | WEB_COOKIE_SAMESITE_LAX,
};
/* Set-Cookie: name=value; Path=/[; Max-Age=n][; HttpOnly][; Secure][; SameSite=…].
 * max_age < 0: session cookie; 0: delete. -1 on a name/value that is not a
 * valid cookie token/octets. */
int web_set_cookie(struct web_request *req, const char *name, const char *value,
	long max_age, unsigned flags);
/* Switches to Cache-Control: public, max-age=…, s-maxage=… (public catalog). */
void web_cache_public(struct web_request *req, long max_age, long s_maxage);

/* Writes status line, headers and body (none for HEAD, 204, 304). A request
 * that never got a reply answers 500 INTERNAL. 0, or -1 on a write error. */
int web_response_send(struct web_request *req, const struct web_out *out);

const char *web_status_reason(int status);

#endif
