/* cache — cache-aside over Redis with the key names of resolutions §30.
 * Keys are built only through the cache_key_* functions, which check the
 * scope id's characters so a crafted id can never address another account.
 * A Redis failure is a miss with err set: callers read live, never fail. */
#ifndef PT_STORE_CACHE_H
#define PT_STORE_CACHE_H

#include <stddef.h>
#include "core/buf.h"
#include "core/err.h"
#include "store/redis.h"

/* Upper bound of a key; suffixes longer than this are refused. */
#define CACHE_KEY_MAX 256
/* Hash holding the counters shown by /api/health/services/cache. */
#define CACHE_STATS_KEY "cache:stats"

/* Key builders: reset key, then write the key. With suffix NULL they write
 * the scope's prefix ("catalog:", "acct:<id>:", "client:<id>:") for
 * cache_del_prefix. suffix is 1..200 chars of [A-Za-z0-9_.:-] (no glob
 * characters). -1 + PT_VALIDATION_FAILED on a bad id, name or suffix.
 *   global namespaces: "catalog" (catalog:<suffix>) and "gateways" (the one
 *   key "gateways", suffix must be NULL)
 *   sf_account_id: exactly 18 of [A-Za-z0-9]  → acct:<id>:<suffix>
 *   whmcs_client_id: 1..20 of [A-Za-z0-9]     → client:<id>:<suffix>
 *   msisdn: 10..15 digits                     → freebit:line:<msisdn>:<suffix> */
int cache_key_global(struct buf *key, const char *ns, const char *suffix, struct pt_err *err);
int cache_key_acct(struct buf *key, const char *sf_account_id, const char *suffix,
	struct pt_err *err);
int cache_key_client(struct buf *key, const char *whmcs_client_id, const char *suffix,
	struct pt_err *err);
int cache_key_line(struct buf *key, const char *msisdn, const char *suffix, struct pt_err *err);

/* 1 = hit (value in out, replacing its content), 0 = miss (out emptied). A Redis failure,
 * or a value larger than out->max, is also 0 with err->code set
 * (PT_UPSTREAM_UNAVAILABLE / PT_PAYLOAD_TOO_LARGE): read live, don't fail.
 * err may be NULL. Counts hits/misses/errors in cache:stats. */
int cache_get(struct redis *r, const char *key, struct buf *out, struct pt_err *err);
/* key (a cache value, counted in cache:stats like cache_get) and plain (any
 * other key, e.g. a generation) in one round trip. A new reply: an array of
 * two, each nil or a string; NULL + err when Redis failed. The caller bounds
 * the sizes it accepts. */
redisReply *cache_get_with(struct redis *r, const char *key, const char *plain,
	struct pt_err *err);
/* ttl_s 0 = no TTL (catalog: invalidated by CDC). 0 / -1 + err. */
int cache_set(struct redis *r, const char *key, const void *data, size_t len, long ttl_s,
	struct pt_err *err);
/* Deleting a missing key is success. Counts an invalidation. */
int cache_del(struct redis *r, const char *key, struct pt_err *err);
/* Removes every key starting with prefix (SCAN + UNLINK, never KEYS).
 * prefix must be one a cache_key_* builder produced with suffix NULL, or
 * longer; *deleted (may be NULL) = keys removed. */
int cache_del_prefix(struct redis *r, const char *prefix, long *deleted, struct pt_err *err);

struct cache_stats {
	long hits, misses, errors, invalidations;
};
/* Reads cache:stats (missing fields are 0). */
int cache_stats_get(struct redis *r, struct cache_stats *out, struct pt_err *err);

#endif
