/* session — server-side login sessions in Redis (DESIGN §5, issue 6 item 2).
 * The browser holds only an opaque 256-bit token (cookie portal_session);
 * Redis holds sess:<sha256hex(token)> with the account ids, the CSRF token and
 * the timestamps, plus user:<user_id>:sessions (the set of a user's hashes) for
 * listing and "log out everywhere". The token itself is never stored or logged. */
#ifndef PT_STORE_SESSION_H
#define PT_STORE_SESSION_H

#include <stddef.h>
#include "core/err.h"
#include "store/redis.h"

#define SESSION_COOKIE_NAME   "portal_session"
#define SESSION_TOKEN_BYTES   32
#define SESSION_TOKEN_LEN     43     /* unpadded base64url of 32 bytes */
#define SESSION_HASH_LEN      64     /* sha256 hex */
#define SESSION_CSRF_LEN      43
#define SESSION_USER_ID_MAX   20     /* bigserial, decimal */
#define SESSION_SF_ID_MAX     18
#define SESSION_WHMCS_ID_MAX  20
#define SESSION_IP_MAX        64
#define SESSION_UA_MAX        256    /* longer user agents are cut, not refused */
#define SESSION_LIST_MAX      100    /* sessions listed per user at most */
#define SESSION_COOKIE_MAX    160    /* room for the longest Set-Cookie value */
/* Retry-After sent when Redis is down (resolutions §18). */
#define SESSION_RETRY_AFTER_S 5

struct pt_config;

struct session_opts {
	long idle_timeout_s;       /* SESSION_IDLE_TIMEOUT_S */
	long absolute_timeout_s;   /* SESSION_ABSOLUTE_TIMEOUT_S */
};

/* Reads SESSION_IDLE_TIMEOUT_S and SESSION_ABSOLUTE_TIMEOUT_S (table defaults
 * 1800 / 43200). -1 + err if a value is malformed. */
int session_opts_from_config(const struct pt_config *cfg, struct session_opts *out,
	struct pt_err *err);

/* Who a session belongs to. user_id: 1..20 digits; sf_account_id: "" or 15/18
 * of [A-Za-z0-9]; whmcs_client_id: "" or 1..20 digits. NULL counts as "". */
struct session_subject {
	const char *user_id;
	const char *sf_account_id;
	const char *whmcs_client_id;
};

struct session {
	/* The cookie value; set by session_create/session_rotate, and by
	 * session_load (the token it was given). Never log it. */
	char token[SESSION_TOKEN_LEN + 1];
	char hash[SESSION_HASH_LEN + 1];          /* sha256hex(token): the Redis id */
	char user_id[SESSION_USER_ID_MAX + 1];
	char sf_account_id[SESSION_SF_ID_MAX + 1];
	char whmcs_client_id[SESSION_WHMCS_ID_MAX + 1];
	char csrf[SESSION_CSRF_LEN + 1];          /* compare with web_guard_csrf_equal */
	long long created;                         /* unix seconds */
	long long last_seen;
	char ip[SESSION_IP_MAX + 1];
	char user_agent[SESSION_UA_MAX + 1];
};

/* A new session with fresh random token and CSRF token; ip and user_agent
 * may be NULL (stored cut to their bounds, control bytes replaced).
 * -1 + PT_VALIDATION_FAILED on a bad subject id, PT_UPSTREAM_UNAVAILABLE when
 * Redis is down (retry_after set), PT_INTERNAL when randomness fails. */
int session_create(struct redis *r, const struct session_opts *o,
	const struct session_subject *who, const char *ip, const char *user_agent,
	struct session *out, struct pt_err *err);

/* Looks the token up, enforces the idle and absolute timeouts and touches it
 * (last_seen = now; key TTL = min(idle, absolute remaining)) when last_seen is
 * at least min(idle / 30, 60) s old.
 * -1 + PT_UNAUTHENTICATED when the token is malformed, unknown or expired
 * (an expired one is deleted); PT_UPSTREAM_UNAVAILABLE (retry_after set) when
 * Redis is down — callers answer 503, never 401, so nobody is logged out by
 * an outage. */
int session_load(struct redis *r, const struct session_opts *o, const char *token,
	struct session *out, struct pt_err *err);

enum {
	/* Keep the CSRF token across the rotation (a privilege change answered
	 * with 204, where the client cannot learn a new one). Never at login:
	 * a fixated session's CSRF token may be known to the attacker. */
	SESSION_ROTATE_KEEP_CSRF = 1,
};
/* Gives s a new token (and, unless flags say otherwise, a new CSRF token),
 * keeping ids, created, ip and user agent; the old token stops working at
 * once. s must come from session_load/session_create; it is updated in place
 * (s->token is the new cookie value). */
int session_rotate(struct redis *r, const struct session_opts *o, struct session *s,
	unsigned flags, struct pt_err *err);

/* Deletes the session (logout). Deleting a missing one is success. */
int session_destroy(struct redis *r, const struct session *s, struct pt_err *err);

/* Deletes every session of user_id except the one whose hash is except_hash
 * (NULL or "" = all). *deleted (may be NULL) = sessions removed. */
int session_destroy_all_for_user(struct redis *r, const char *user_id,
	const char *except_hash, long *deleted, struct pt_err *err);

/* One entry of a user's session list (no token, no CSRF token). */
struct session_info {
	char hash[SESSION_HASH_LEN + 1];   /* expose a prefix at most */
	long long created;
	long long last_seen;
	char ip[SESSION_IP_MAX + 1];
	char user_agent[SESSION_UA_MAX + 1];
};
/* The user's live sessions, most recently used first (at most
 * SESSION_LIST_MAX); stale set members are pruned on the way. *out is a
 * malloc'd array the caller frees with session_list_free (NULL when *n = 0). */
int session_list_for_user(struct redis *r, const char *user_id, struct session_info **out,
	size_t *n, struct pt_err *err);
void session_list_free(struct session_info *list);

/* Set-Cookie values (without "Set-Cookie: "):
 *   portal_session=<token>; Path=/; HttpOnly; SameSite=Lax[; Secure]
 * and the clearing one with an empty value and Max-Age=0. No Max-Age on the
 * live cookie: it dies with the browser, and the server enforces the timeouts.
 * -1 when token is not SESSION_TOKEN_LEN chars of base64url or out is small. */
int session_cookie_build(char *out, size_t outsz, const char *token, int secure);
int session_cookie_clear_build(char *out, size_t outsz, int secure);

/* 1 when s has the shape of a token (SESSION_TOKEN_LEN of [A-Za-z0-9_-]). */
int session_token_valid(const char *s);

#endif
