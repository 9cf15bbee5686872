/* redis — hiredis connection, opened lazily with connect and command
 * timeouts, re-opened after an error. Callers that can degrade (caches)
 * treat -1/NULL as "Redis unavailable" and carry on with live reads. */
#ifndef PT_STORE_REDIS_H
#define PT_STORE_REDIS_H

#include <hiredis/hiredis.h>
#include "core/err.h"

struct redis;

/* url: redis://[:password@]host:port[/db] or unix:///path. */
struct redis *redis_new(const char *url, long connect_timeout_ms, long command_timeout_ms);
void redis_free(struct redis *r);

/* Like redisCommand (printf-style with %s/%b binary-safe args). Returns a
 * reply the caller frees with freeReplyObject, or NULL + PT_UPSTREAM_UNAVAILABLE
 * (connection dropped, timeout). An error reply (REDIS_REPLY_ERROR) is returned
 * as a reply, not NULL. */
redisReply *redis_cmd(struct redis *r, struct pt_err *err, const char *fmt, ...);
/* argv form, binary safe. */
redisReply *redis_cmd_argv(struct redis *r, struct pt_err *err, int argc,
	const char **argv, const size_t *argvlen);
/* PING with timing, for /health. */
int redis_ping(struct redis *r, long *latency_ms, struct pt_err *err);

#endif
