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

/* Dispatches req; always leaves a reply in req->res. */
void web_route_dispatch(const struct web_route *routes, size_t nroutes,
	struct web_request *req);

/* Pure matcher, for tests: 1 when path matches pattern (captures stored in
 * req->captures when req is not NULL), 0 otherwise. */
int web_route_match(const char *pattern, const char *path, struct web_request *req);

#endif
