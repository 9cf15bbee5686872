/* delayed — the delayed-job sorted set (see delayed.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/delayed.h"
#include "store/redis.h"

/* Take and lease in one step: no other runner can see the job in between. */
static const char POP_LUA[] =
	"local m = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)\n"
	"if #m == 0 then return false end\n"
	"redis.call('ZREM', KEYS[1], m[1])\n"
	"redis.call('ZADD', KEYS[2], ARGV[1], m[1])\n"
	"return m[1]\n";

/* Only a lease that is still there goes back: a job finished meanwhile is
 * not revived. */
static const char REQUEUE_LUA[] =
	"local m = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])\n"
	"for _, v in ipairs(m) do\n"
	"  redis.call('ZREM', KEYS[2], v)\n"
	"  redis.call('ZADD', KEYS[1], ARGV[2], v)\n"
	"end\n"
	"return #m\n";

static const char *key_set(const struct delayed_keys *k)
{
	return k && k->set ? k->set : DELAYED_KEY;
}

static const char *key_running(const struct delayed_keys *k)
{
	return k && k->running ? k->running : DELAYED_RUNNING_KEY;
}

static const char *key_failed(const struct delayed_keys *k)
{
	return k && k->failed ? k->failed : DELAYED_FAILED_KEY;
}

/* NULL reply (Redis unreachable) or an error reply → -1 + err. */
static int check(redisReply *rep, const char *what, struct pt_err *err)
{
	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "%s: %s", what, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	return 0;
}

int delayed_schedule(struct redis *r, const struct delayed_keys *k, long long due_ms,
	const char *payload, struct pt_err *err)
{
	redisReply *rep;

	if (!payload || !*payload || strlen(payload) >= DELAYED_JOB_MAX)
		return pt_err_set(err, PT_INTERNAL, "delayed job payload empty or too long");
	rep = redis_cmd(r, err, "ZADD %s NX %lld %s", key_set(k), due_ms, payload);
	if (check(rep, "ZADD", err))
		return -1;
	freeReplyObject(rep);
	return 0;
}

int delayed_pop_due(struct redis *r, const struct delayed_keys *k, long long now_ms,
	char *payload, size_t size, struct pt_err *err)
{
	redisReply *rep = redis_cmd(r, err, "EVAL %s 2 %s %s %lld", POP_LUA, key_set(k),
		key_running(k), now_ms);
	int rc = 0;

	if (check(rep, "delayed pop", err))
		return -1;
	if (rep->type == REDIS_REPLY_STRING) {
		if (rep->len >= size)
			rc = pt_err_set(err, PT_INTERNAL, "delayed job payload too long");
		else {
			memcpy(payload, rep->str, rep->len);
			payload[rep->len] = '\0';
			rc = 1;
		}
	}
	freeReplyObject(rep);
	return rc;
}

int delayed_done(struct redis *r, const struct delayed_keys *k, const char *payload,
	int failed, long long now_ms, struct pt_err *err)
{
	redisReply *rep = redis_cmd(r, err, "ZREM %s %s", key_running(k), payload);

	if (check(rep, "ZREM", err))
		return -1;
	freeReplyObject(rep);
	if (!failed)
		return 0;
	rep = redis_cmd(r, err, "ZADD %s %lld %s", key_failed(k), now_ms, payload);
	if (check(rep, "ZADD failed", err))
		return -1;
	freeReplyObject(rep);
	return 0;
}

int delayed_requeue_stale(struct redis *r, const struct delayed_keys *k, long long now_ms,
	long lease_ms, long *moved, struct pt_err *err)
{
	redisReply *rep = redis_cmd(r, err, "EVAL %s 2 %s %s %lld %lld", REQUEUE_LUA, key_set(k),
		key_running(k), now_ms - lease_ms, now_ms);

	if (check(rep, "delayed requeue", err))
		return -1;
	if (moved)
		*moved = rep->type == REDIS_REPLY_INTEGER ? (long)rep->integer : 0;
	freeReplyObject(rep);
	return 0;
}

const char *delayed_state_name(enum delayed_state s)
{
	switch (s) {
	case DELAYED_WAITING: return "waiting";
	case DELAYED_RUNNING: return "running";
	case DELAYED_FAILED: return "failed";
	}
	return "unknown";
}

/* ZRANGE key 0 max-1 WITHSCORES appended to out. */
static int list_one(struct redis *r, const char *key, enum delayed_state st,
	struct delayed_entry *out, size_t max, size_t *n, struct pt_err *err)
{
	redisReply *rep;

	if (*n >= max)
		return 0;
	rep = redis_cmd(r, err, "ZRANGE %s 0 %lld WITHSCORES", key, (long long)(max - *n - 1));
	if (check(rep, "ZRANGE", err))
		return -1;
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements && *n < max;
	     i += 2) {
		struct delayed_entry *e = &out[(*n)++];

		e->state = st;
		snprintf(e->payload, sizeof e->payload, "%s", rep->element[i]->str ?
			rep->element[i]->str : "");
		e->at_ms = rep->element[i + 1]->str ? strtoll(rep->element[i + 1]->str, NULL, 10) : 0;
	}
	freeReplyObject(rep);
	return 0;
}

int delayed_list(struct redis *r, const struct delayed_keys *k, struct delayed_entry *out,
	size_t max, size_t *n, struct pt_err *err)
{
	*n = 0;
	if (list_one(r, key_set(k), DELAYED_WAITING, out, max, n, err) ||
	    list_one(r, key_running(k), DELAYED_RUNNING, out, max, n, err) ||
	    list_one(r, key_failed(k), DELAYED_FAILED, out, max, n, err))
		return -1;
	return 0;
}
