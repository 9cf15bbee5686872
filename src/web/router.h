/* router — matches a request against an app's route table of
 * {method, pattern with {name} captures, handler}. Unknown path → 404
 * NOT_FOUND, known path with another method → 405 METHOD_NOT_ALLOWED with
 * Allow; HEAD runs the GET handler (the body is dropped when sent); OPTIONS
 * answers 204 with Allow. A capture is exactly one non-empty path segment of
 * at most WEB_CAPTURE_MAX bytes. */
#ifndef PT_WEB_ROUTER_H
#define PT_WEB_ROUTER_H

#include <stddef.h>
#include "core/err.h"
#include "web/request.h"

/* A handler replies through web_reply_* and returns 0, or returns -1 with
 * err filled and the router replies with the mapped error. */
struct web_route {
	enum web_method method;
	const char *pattern;         /* "/api/orders/{id}" */
	int (*handler)(struct web_request *req, struct pt_err *err);
};

/* What a request body may be labelled (portal-api.md: JSON in and out). */
enum web_body_types {
	WEB_BODY_JSON = 0,   /* a body must be Content-Type application/json, else 415 */
	WEB_BODY_ANY,        /* the handler reads any body as raw bytes (webhooks) */
};

/* Dispatches req; always leaves a reply in req->res. A matched route gets a
 * request with a body only when its Content-Type is application/json
 * (web_content_type_is_json): else 415 UNSUPPORTED_MEDIA_TYPE, the handler
 * is not run. No body (logout, DELETE): any or no Content-Type. */
void web_route_dispatch(const struct web_route *routes, size_t nroutes,
	struct web_request *req);
/* The same with the body rule chosen by the app. */
void web_route_dispatch_bodies(const struct web_route *routes, size_t nroutes,
	struct web_request *req, enum web_body_types bodies);

/* Pure matcher, for tests: 1 when path matches pattern (captures stored in
 * req->captures when req is not NULL), 0 otherwise. */
int web_route_match(const char *pattern, const char *path, struct web_request *req);

#endif
