/* guard — the gate in front of every account route (issue 6 items 2 and 6):
 * the portal_session cookie → session_load → the session's ids (the ONLY
 * source of account ids a handler may use), then CSRF for unsafe methods:
 * X-CSRF-Token equal to the session's token (constant time) and a present
 * Origin in the allow-list. The decisions are pure functions, tested alone. */
#ifndef PT_WEB_GUARD_H
#define PT_WEB_GUARD_H

#include "core/err.h"
#include "store/session.h"
#include "web/request.h"

#define WEB_GUARD_CSRF_HEADER "X-CSRF-Token"

/* For an account route:
 *   struct session s;
 *   if (web_guard_require_session(req, &s, err) != 0)
 *       return -1;            // 401 / 403 / 503 mapped by the router
 *   … use s.user_id, s.sf_account_id, s.whmcs_client_id …
 * -1 + PT_UNAUTHENTICATED (no/invalid/expired cookie), PT_CSRF_FAILED (unsafe
 * method without the right X-CSRF-Token or with a foreign Origin),
 * PT_UPSTREAM_UNAVAILABLE with retry_after (Redis down, resolutions §18).
 * A session that failed CSRF is not touched further; out is zeroed on error. */
int web_guard_require_session(struct web_request *req, struct session *out,
	struct pt_err *err);

/* Origin check alone, for unsafe routes without a session (login, sign-up,
 * link, reset: login CSRF). No Origin header passes (non-browser clients;
 * SameSite=Lax still protects the cookie). -1 + PT_CSRF_FAILED. */
int web_guard_check_origin(struct web_request *req, struct pt_err *err);

/* Set-Cookie for a new/rotated session, and the clearing cookie at logout;
 * Secure unless SESSION_COOKIE_SECURE=false. -1 + PT_INTERNAL on failure. */
int web_guard_set_session_cookie(struct web_request *req, const char *token,
	struct pt_err *err);
int web_guard_clear_session_cookie(struct web_request *req, struct pt_err *err);

/* The session token from the request's cookies: the first portal_session
 * cookie that has a token's shape (a malformed one planted by a sibling
 * domain does not hide the real one); NULL when none. */
const char *web_guard_session_token(const struct web_request *req);

/* ---- pure parts --------------------------------------------------------- */

/* POST, PUT, PATCH, DELETE. */
int web_guard_method_unsafe(enum web_method m);
/* 1 when given equals expected (both SESSION_CSRF_LEN-sized tokens), in time
 * independent of where they differ; 0 for NULL/empty/other length. */
int web_guard_csrf_equal(const char *expected, const char *given);
/* 1 when origin ("scheme://host[:port]", no path) is allowed: equal — scheme
 * and host case-insensitively, default ports (80/443) implied — to the origin
 * of public_base_url or to one entry of the comma-separated allowed list
 * (spaces around entries ignored, no wildcards). When both are empty/NULL,
 * same-origin is judged against host_header (the request's Host). "null"
 * and malformed origins are never allowed. */
int web_guard_origin_allowed(const char *origin, const char *allowed_list,
	const char *public_base_url, const char *host_header);

#endif
