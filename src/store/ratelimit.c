/* ratelimit — sliding log in a sorted set: score = event time in ms. The
 * clock is the web node's (passed in), not Redis TIME, so the script stays
 * deterministic for replication; nodes are NTP-synchronised anyway and a
 * skew of a second only shifts a window edge. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/rand.h"
#include "store/ratelimit.h"

#define HASH_HEX_CHARS 32   /* 128 bits of sha256: no collision worth worrying about */

/* KEYS: rl key. ARGV: now_ms, window_ms, limit, record (1/0), member.
 * Returns {allowed, count, retry_after_ms}. */
static const char SCRIPT_HIT[] =
	"local now, win, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)\n"
	"local n = redis.call('ZCARD', KEYS[1])\n"
	"if n < limit then\n"
	"  if ARGV[4] == '1' then\n"
	"    redis.call('ZADD', KEYS[1], now, ARGV[5])\n"
	"    redis.call('PEXPIRE', KEYS[1], win)\n"
	"    n = n + 1\n"
	"  end\n"
	"  return {1, n, 0}\n"
	"end\n"
	"local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
	"local wait = win\n"
	"if oldest[2] then wait = tonumber(oldest[2]) + win - now end\n"
	"return {0, n, wait}\n";

static int scope_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > RATELIMIT_SCOPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

int ratelimit_key(struct buf *key, const char *scope, const char *id, struct pt_err *err)
{
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	size_t idlen = id ? strnlen(id, RATELIMIT_ID_MAX + 1) : 0;

	buf_reset(key);
	if (!scope_ok(scope))
		return pt_err_field(err, PT_VALIDATION_FAILED, "scope", "ratelimit: bad scope");
	if (idlen == 0 || idlen > RATELIMIT_ID_MAX)
		return pt_err_field(err, PT_VALIDATION_FAILED, "id", "ratelimit: bad id length");
	crypto_sha256_hex(id, idlen, hex);
	if (buf_printf(key, "rl:%s:%.*s", scope, HASH_HEX_CHARS, hex) != 0) {
		buf_reset(key);
		return pt_err_set(err, PT_INTERNAL, "ratelimit: key does not fit");
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Redis failed: fail open (allowed, degraded) or closed (503) as asked. */
static int ratelimit_down(const char *scope, unsigned flags, struct ratelimit_result *res,
	struct pt_err *err)
{
	log_warn(flags & RATELIMIT_FAIL_OPEN ? "rate limit skipped: redis unavailable" :
		"rate limit refused: redis unavailable", "system", "redis", "scope", scope);
	if (flags & RATELIMIT_FAIL_OPEN) {
		res->allowed = 1;
		res->degraded = 1;
		pt_err_clear(err);
		return 0;
	}
	if (!err || err->code != PT_UPSTREAM_UNAVAILABLE)
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "ratelimit: redis unavailable");
	if (err)
		err->retry_after = RATELIMIT_RETRY_AFTER_DOWN_S;
	return -1;
}

static redisReply *run_script(struct redis *r, const char *key, long long now,
	long window_s, long limit, int record, struct pt_err *err)
{
	char snow[24], swin[24], slimit[24], member[48], rnd[17];
	if (rand_hex(rnd, sizeof rnd, 8) != 0) {
		pt_err_set(err, PT_INTERNAL, "ratelimit: no randomness");
		return NULL;
	}
	snprintf(snow, sizeof snow, "%lld", now);
	snprintf(swin, sizeof swin, "%lld", (long long)window_s * 1000);
	snprintf(slimit, sizeof slimit, "%ld", limit);
	/* unique per event, or two events in one millisecond would count once */
	snprintf(member, sizeof member, "%lld-%s", now, rnd);
	const char *argv[] = { "EVAL", SCRIPT_HIT, "1", key, snow, swin, slimit,
		record ? "1" : "0", member };
	size_t lens[9];
	for (size_t i = 0; i < 9; i++)
		lens[i] = strlen(argv[i]);
	return redis_cmd_argv(r, err, 9, argv, lens);
}

/* Reads {allowed, count, retry_ms}; -1 when the reply is not that. */
static int parse_reply(const redisReply *rep, struct ratelimit_result *res)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (rep->element[i]->type != REDIS_REPLY_INTEGER)
			return -1;
	res->allowed = rep->element[0]->integer == 1;
	res->count = (long)rep->element[1]->integer;
	long long wait_ms = rep->element[2]->integer;
	res->retry_after_s = res->allowed ? 0 : (long)((wait_ms + 999) / 1000);
	if (!res->allowed && res->retry_after_s < 1)
		res->retry_after_s = 1;
	return 0;
}

int ratelimit_hit(struct redis *r, const char *scope, const char *id, long limit,
	long window_s, unsigned flags, struct ratelimit_result *res, struct pt_err *err)
{
	struct ratelimit_result local;
	struct buf key;
	redisReply *rep = NULL;
	int rc = -1;

	if (!res)
		res = &local;
	memset(res, 0, sizeof *res);
	buf_init(&key, RATELIMIT_KEY_MAX);
	if (ratelimit_key(&key, scope, id, err) != 0)
		goto out;
	if (limit < 1 || window_s < 1 || window_s > 86400L * 31) {
		pt_err_field(err, PT_VALIDATION_FAILED, "limit", "ratelimit: bad limit/window");
		goto out;
	}
	rep = run_script(r, buf_cstr(&key), now_ms(), window_s, limit,
		!(flags & RATELIMIT_PEEK), err);
	if (!rep || rep->type == REDIS_REPLY_ERROR || parse_reply(rep, res) != 0) {
		if (rep && rep->type == REDIS_REPLY_ERROR)
			log_error("rate limit script failed", "system", "redis", "error", rep->str);
		rc = ratelimit_down(scope, flags, res, err);
		goto out;
	}
	if (!res->allowed) {
		pt_err_set(err, PT_RATE_LIMITED, "ratelimit: %s over %ld per %lds", scope, limit,
			window_s);
		if (err)
			err->retry_after = (int)res->retry_after_s;
		goto out;
	}
	rc = 0;
out:
	freeReplyObject(rep);
	buf_free(&key);
	return rc;
}

int ratelimit_reset(struct redis *r, const char *scope, const char *id, struct pt_err *err)
{
	struct buf key;
	int rc = -1;

	buf_init(&key, RATELIMIT_KEY_MAX);
	if (ratelimit_key(&key, scope, id, err) != 0)
		goto out;
	redisReply *rep = redis_cmd(r, err, "DEL %s", buf_cstr(&key));
	if (!rep)
		goto out;
	rc = rep->type == REDIS_REPLY_ERROR ?
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "ratelimit: %s", rep->str) : 0;
	freeReplyObject(rep);
out:
	buf_free(&key);
	return rc;
}
