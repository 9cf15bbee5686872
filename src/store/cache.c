/* cache — cache-aside on Redis. A read and its hit/miss counter travel in
 * one EVAL, so counting costs no extra round trip. Errors that happen while
 * Redis is away are counted locally and added to cache:stats on the next
 * read that reaches Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/cache.h"

#define CACHE_SUFFIX_MAX 200
#define CACHE_SCAN_COUNT "500"
#define CACHE_SCAN_MAX_ROUNDS 1000000L

/* Errors seen while Redis could not be told; flushed by the next read. */
static long cache_pending_errors;

/* KEYS: key, stats. ARGV: errors to add, caller's size bound (0 = none).
 * Returns the value, nil (miss) or 1 (value over the bound: counted as an
 * error, and never shipped to a caller that would have to drop it). */
static const char cache_get_lua[] =
	"local e = tonumber(ARGV[1]) "
	"if e and e > 0 then redis.call('HINCRBY', KEYS[2], 'errors', e) end "
	"local v = redis.call('GET', KEYS[1]) "
	"local max = tonumber(ARGV[2]) "
	"if v and max and max > 0 and #v > max then "
	"redis.call('HINCRBY', KEYS[2], 'errors', 1) return 1 end "
	"redis.call('HINCRBY', KEYS[2], v and 'hits' or 'misses', 1) "
	"return v";

static const char cache_get_with_lua[] =
	"local v = redis.call('MGET', KEYS[1], KEYS[2]) "
	"redis.call('HINCRBY', KEYS[3], v[1] and 'hits' or 'misses', 1) "
	"return v";

static const char cache_del_lua[] =
	"local n = redis.call('UNLINK', KEYS[1]) "
	"redis.call('HINCRBY', KEYS[2], 'invalidations', 1) "
	"return n";

/* ---- keys -------------------------------------------------------------- */

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Counts the leading characters of s accepted by ok, up to max+1. */
static size_t span(const char *s, int (*ok)(char), size_t max)
{
	size_t n = 0;
	while (n <= max && s[n] && ok(s[n]))
		n++;
	return n;
}

static int suffix_char(char c)
{
	return is_alnum(c) || c == '_' || c == '.' || c == ':' || c == '-';
}

static int suffix_ok(const char *suffix)
{
	size_t n = strnlen(suffix, CACHE_SUFFIX_MAX + 1);
	return n >= 1 && n <= CACHE_SUFFIX_MAX && span(suffix, suffix_char, CACHE_SUFFIX_MAX) == n;
}

static int id_ok(const char *id, int (*ok)(char), size_t min, size_t max)
{
	if (!id)
		return 0;
	size_t n = strnlen(id, max + 1);
	return n >= min && n <= max && span(id, ok, max) == n;
}

/* scope ":" id ":" [suffix] */
static int key_build(struct buf *key, const char *scope, const char *id, const char *suffix,
	struct pt_err *err)
{
	buf_reset(key);
	if (suffix && !suffix_ok(suffix))
		return pt_err_field(err, PT_VALIDATION_FAILED, "cache_key", "cache key: bad suffix");
	if (buf_printf(key, "%s:%s:%s", scope, id, suffix ? suffix : "") != 0)
		return pt_err_set(err, PT_INTERNAL, "cache key: buffer too small");
	return 0;
}

int cache_key_global(struct buf *key, const char *ns, const char *suffix, struct pt_err *err)
{
	buf_reset(key);
	if (ns && strcmp(ns, "gateways") == 0 && !suffix)
		return buf_puts(key, "gateways") == 0 ? 0 :
			pt_err_set(err, PT_INTERNAL, "cache key: buffer too small");
	if (!ns || strcmp(ns, "catalog") != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "cache_key",
			"cache key: unknown global namespace");
	if (suffix && !suffix_ok(suffix))
		return pt_err_field(err, PT_VALIDATION_FAILED, "cache_key", "cache key: bad suffix");
	if (buf_printf(key, "catalog:%s", suffix ? suffix : "") != 0)
		return pt_err_set(err, PT_INTERNAL, "cache key: buffer too small");
	return 0;
}

int cache_key_acct(struct buf *key, const char *sf_account_id, const char *suffix,
	struct pt_err *err)
{
	if (!id_ok(sf_account_id, is_alnum, 18, 18)) {
		buf_reset(key);
		return pt_err_field(err, PT_VALIDATION_FAILED, "sf_account_id",
			"cache key: bad account id");
	}
	return key_build(key, "acct", sf_account_id, suffix, err);
}

int cache_key_client(struct buf *key, const char *whmcs_client_id, const char *suffix,
	struct pt_err *err)
{
	if (!id_ok(whmcs_client_id, is_alnum, 1, 20)) {
		buf_reset(key);
		return pt_err_field(err, PT_VALIDATION_FAILED, "whmcs_client_id",
			"cache key: bad client id");
	}
	return key_build(key, "client", whmcs_client_id, suffix, err);
}

int cache_key_line(struct buf *key, const char *msisdn, const char *suffix, struct pt_err *err)
{
	if (!id_ok(msisdn, is_digit, 10, 15)) {
		buf_reset(key);
		return pt_err_field(err, PT_VALIDATION_FAILED, "msisdn", "cache key: bad msisdn");
	}
	return key_build(key, "freebit:line", msisdn, suffix, err);
}

/* A prefix for cache_del_prefix must start with a whole scope, so that a
 * short or crafted prefix can never sweep other scopes (or cache:stats). */
static int prefix_ok(const char *p)
{
	static const struct {
		const char *scope;
		int (*ok)(char);
		size_t min, max;
	} scopes[] = {
		{ "catalog:", NULL, 0, 0 },
		{ "acct:", is_alnum, 18, 18 },
		{ "client:", is_alnum, 1, 20 },
		{ "freebit:line:", is_digit, 10, 15 },
	};
	size_t len = strnlen(p, CACHE_KEY_MAX + 1);
	if (len == 0 || len > CACHE_KEY_MAX || span(p, suffix_char, CACHE_KEY_MAX) != len)
		return 0;
	for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
		size_t sl = strlen(scopes[i].scope);
		if (strncmp(p, scopes[i].scope, sl) != 0)
			continue;
		if (!scopes[i].ok)
			return 1;
		size_t n = span(p + sl, scopes[i].ok, scopes[i].max);
		return n >= scopes[i].min && n <= scopes[i].max && p[sl + n] == ':';
	}
	return 0;
}

/* ---- operations --------------------------------------------------------- */

static void cache_failed(const char *op, struct pt_err *local, struct pt_err *err)
{
	cache_pending_errors++;
	log_warn("cache unavailable, reading live", "system", "redis", "op", op,
		"error", local->detail);
	if (err)
		*err = *local;
}

int cache_get(struct redis *r, const char *key, struct buf *out, struct pt_err *err)
{
	struct pt_err e = { 0 };
	char pending[24], max[24];
	if (!key || !out)
		return pt_err_set(err, PT_INTERNAL, "cache_get: bad arguments") + 1;
	buf_reset(out);   /* a miss never leaves an older value looking valid */
	snprintf(pending, sizeof pending, "%ld", cache_pending_errors);
	snprintf(max, sizeof max, "%zu", out->max);
	redisReply *rep = redis_cmd(r, &e, "EVAL %s 2 %s %s %s %s",
		cache_get_lua, key, CACHE_STATS_KEY, pending, max);
	if (!rep) {
		cache_failed("get", &e, err);
		return 0;
	}
	int hit = 0;
	if (rep->type == REDIS_REPLY_ERROR) {
		pt_err_set(&e, PT_UPSTREAM_UNAVAILABLE, "redis: %.200s", rep->str);
		cache_failed("get", &e, err);
		goto out;
	}
	cache_pending_errors = 0;   /* the script added them */
	if (rep->type == REDIS_REPLY_INTEGER) {
		pt_err_set(err, PT_PAYLOAD_TOO_LARGE, "cache value of %s over the bound", key);
		log_warn("cache value over the bound, reading live", "system", "redis", "key", key);
		goto out;
	}
	if (rep->type != REDIS_REPLY_STRING)
		goto out;
	if (buf_append(out, rep->str, rep->len) != 0) {
		pt_err_set(&e, PT_INTERNAL, "cache: out of memory for %zu bytes", rep->len);
		cache_failed("get", &e, err);
		buf_reset(out);
		goto out;
	}
	hit = 1;
out:
	freeReplyObject(rep);
	return hit;
}

redisReply *cache_get_with(struct redis *r, const char *key, const char *plain,
	struct pt_err *err)
{
	struct pt_err e = { 0 };

	if (!key || !plain) {
		pt_err_set(err, PT_INTERNAL, "cache_get_with: bad arguments");
		return NULL;
	}
	redisReply *rep = redis_cmd(r, &e, "EVAL %s 3 %s %s %s", cache_get_with_lua, key, plain,
		CACHE_STATS_KEY);
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2)
		return rep;
	if (rep && rep->type == REDIS_REPLY_ERROR)
		pt_err_set(&e, PT_UPSTREAM_UNAVAILABLE, "redis: %.200s", rep->str);
	else if (rep)
		pt_err_set(&e, PT_UPSTREAM_UNAVAILABLE, "redis: unexpected reply");
	freeReplyObject(rep);
	cache_failed("get", &e, err);
	return NULL;
}

static int cache_reply_ok(redisReply *rep, const char *op, struct pt_err *e, struct pt_err *err)
{
	if (!rep) {
		cache_failed(op, e, err);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		pt_err_set(e, PT_UPSTREAM_UNAVAILABLE, "redis: %.200s", rep->str);
		cache_failed(op, e, err);
		return -1;
	}
	return 0;
}

int cache_set(struct redis *r, const char *key, const void *data, size_t len, long ttl_s,
	struct pt_err *err)
{
	struct pt_err e = { 0 };
	redisReply *rep;
	if (ttl_s < 0)
		return pt_err_set(err, PT_INTERNAL, "cache_set: negative ttl");
	if (ttl_s > 0) {
		char ttl[24];
		snprintf(ttl, sizeof ttl, "%ld", ttl_s);
		rep = redis_cmd(r, &e, "SET %s %b EX %s", key, data, len, ttl);
	} else {
		rep = redis_cmd(r, &e, "SET %s %b", key, data, len);
	}
	int rc = cache_reply_ok(rep, "set", &e, err);
	freeReplyObject(rep);
	return rc;
}

int cache_del(struct redis *r, const char *key, struct pt_err *err)
{
	struct pt_err e = { 0 };
	redisReply *rep = redis_cmd(r, &e, "EVAL %s 2 %s %s", cache_del_lua, key, CACHE_STATS_KEY);
	int rc = cache_reply_ok(rep, "del", &e, err);
	freeReplyObject(rep);
	return rc;
}

/* UNLINK one SCAN page's keys; returns how many were removed or -1. */
static long cache_unlink_page(struct redis *r, const redisReply *keys, struct pt_err *e,
	struct pt_err *err)
{
	if (keys->elements == 0)
		return 0;
	size_t n = keys->elements + 1;
	const char **argv = calloc(n, sizeof *argv);
	size_t *argvlen = calloc(n, sizeof *argvlen);
	long removed = -1;
	if (!argv || !argvlen) {
		pt_err_set(err, PT_INTERNAL, "cache: out of memory");
		goto out;
	}
	argv[0] = "UNLINK";
	argvlen[0] = 6;
	for (size_t i = 0; i < keys->elements; i++) {
		argv[i + 1] = keys->element[i]->str;
		argvlen[i + 1] = keys->element[i]->len;
	}
	redisReply *rep = redis_cmd_argv(r, e, (int)n, argv, argvlen);
	if (cache_reply_ok(rep, "del_prefix", e, err) == 0)
		removed = rep->type == REDIS_REPLY_INTEGER ? (long)rep->integer : 0;
	freeReplyObject(rep);
out:
	free(argv);
	free(argvlen);
	return removed;
}

static int scan_reply_ok(const redisReply *rep)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
		return 0;
	const redisReply *cur = rep->element[0], *keys = rep->element[1];
	if (cur->type != REDIS_REPLY_STRING || keys->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t i = 0; i < keys->elements; i++)
		if (keys->element[i]->type != REDIS_REPLY_STRING)
			return 0;
	return 1;
}

int cache_del_prefix(struct redis *r, const char *prefix, long *deleted, struct pt_err *err)
{
	struct pt_err e = { 0 };
	char cursor[32] = "0";
	long total = 0;
	int rc = -1;
	if (deleted)
		*deleted = 0;
	if (!prefix || !prefix_ok(prefix))
		return pt_err_field(err, PT_VALIDATION_FAILED, "prefix", "cache: refused prefix");
	/* prefix_ok allows no glob characters, so prefix + "*" matches literally. */
	for (long round = 0; round < CACHE_SCAN_MAX_ROUNDS; round++) {
		redisReply *rep = redis_cmd(r, &e, "SCAN %s MATCH %s* COUNT " CACHE_SCAN_COUNT,
			cursor, prefix);
		if (cache_reply_ok(rep, "del_prefix", &e, err) != 0) {
			freeReplyObject(rep);
			goto out;
		}
		if (!scan_reply_ok(rep)) {
			freeReplyObject(rep);
			pt_err_set(err, PT_INTERNAL, "cache: unexpected SCAN reply");
			goto out;
		}
		long n = cache_unlink_page(r, rep->element[1], &e, err);
		str_lcpy(cursor, rep->element[0]->str, sizeof cursor);
		freeReplyObject(rep);
		if (n < 0)
			goto out;
		total += n;
		if (strcmp(cursor, "0") == 0) {
			rc = 0;
			break;
		}
	}
	if (rc != 0) {
		pt_err_set(err, PT_INTERNAL, "cache: SCAN did not finish");
		goto out;
	}
	redisReply *rep = redis_cmd(r, &e, "HINCRBY %s invalidations 1", CACHE_STATS_KEY);
	freeReplyObject(rep);   /* a lost counter is not worth failing the flush */
out:
	if (deleted)
		*deleted = total;
	return rc;
}

int cache_stats_get(struct redis *r, struct cache_stats *out, struct pt_err *err)
{
	memset(out, 0, sizeof *out);
	redisReply *rep = redis_cmd(r, err, "HMGET %s hits misses errors invalidations",
		CACHE_STATS_KEY);
	if (!rep)
		return -1;
	int rc = -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: unexpected HMGET reply");
		goto out;
	}
	long *fields[4] = { &out->hits, &out->misses, &out->errors, &out->invalidations };
	for (size_t i = 0; i < 4; i++) {
		const redisReply *v = rep->element[i];
		if (v->type == REDIS_REPLY_STRING)
			*fields[i] = strtol(v->str, NULL, 10);
	}
	/* what this process could not report yet still happened */
	out->errors += cache_pending_errors;
	rc = 0;
out:
	freeReplyObject(rep);
	return rc;
}
