/* ratelimit — sliding-window limits in Redis (issue 6 item 5, resolutions §19).
 * One sorted set per key rl:<scope>:<sha256hex(id)[0..32]> holds the events of
 * the last window; one Lua script prunes, counts and records atomically, so
 * every web node and process shares the same count. The id (an IP, an email)
 * is hashed into the key: no key injection, and no addresses at rest. */
#ifndef PT_STORE_RATELIMIT_H
#define PT_STORE_RATELIMIT_H

#include <stddef.h>
#include "core/buf.h"
#include "core/err.h"
#include "store/redis.h"

#define RATELIMIT_KEY_MAX   80
#define RATELIMIT_SCOPE_MAX 32
#define RATELIMIT_ID_MAX    1024
/* Retry-After when Redis is down and the limit fails closed. */
#define RATELIMIT_RETRY_AFTER_DOWN_S 5

enum {
	/* Redis down → allow (public catalog: availability first, the web
	 * server's own limit still applies). Without it → PT_UPSTREAM_UNAVAILABLE
	 * (login, link, reset, 2FA: never unthrottled guessing). */
	RATELIMIT_FAIL_OPEN = 1,
	/* Only look: count without recording (check before a login attempt,
	 * record with ratelimit_hit only when it fails). */
	RATELIMIT_PEEK = 2,
};

struct ratelimit_result {
	int allowed;          /* 1 allowed, 0 over the limit */
	long count;           /* events in the window, this one included when recorded */
	long retry_after_s;   /* when not allowed: seconds until one slot frees (>= 1) */
	int degraded;         /* 1: Redis failed and RATELIMIT_FAIL_OPEN let it through */
};

/* rl:<scope>:<first 32 hex of sha256(id)>. scope: 1..RATELIMIT_SCOPE_MAX of
 * [a-z0-9_]; id: 1..RATELIMIT_ID_MAX bytes, anything (callers normalise, e.g.
 * lower-case an email, before). -1 + PT_VALIDATION_FAILED otherwise (key emptied). */
int ratelimit_key(struct buf *key, const char *scope, const char *id, struct pt_err *err);

/* Counts one event for (scope, id) — unless RATELIMIT_PEEK — if fewer than
 * limit happened in the last window_s seconds. Events refused are not
 * recorded, so a client that waits Retry-After gets through.
 * 0 = allowed (res->allowed = 1); -1 + PT_RATE_LIMITED with err->retry_after
 * (and res filled) when over the limit; -1 + PT_UPSTREAM_UNAVAILABLE when
 * Redis is down without RATELIMIT_FAIL_OPEN; -1 + PT_VALIDATION_FAILED on a
 * bad scope/id/limit. res may be NULL. */
int ratelimit_hit(struct redis *r, const char *scope, const char *id, long limit,
	long window_s, unsigned flags, struct ratelimit_result *res, struct pt_err *err);

/* Forgets the events of (scope, id), e.g. the per-account failures after a
 * successful login. */
int ratelimit_reset(struct redis *r, const char *scope, const char *id, struct pt_err *err);

#endif
