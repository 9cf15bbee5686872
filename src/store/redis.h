/* redis — hiredis connection, opened lazily with connect and command
 * timeouts, re-opened after an error. Callers that can degrade (caches)
 * treat -1/NULL as "Redis unavailable" and carry on with live reads. */
#ifndef PT_STORE_REDIS_H
#define PT_STORE_REDIS_H

#include <hiredis/hiredis.h>
#include "core/err.h"

struct redis;

/* A parsed REDIS_URL. password/username are secrets: never log them. */
struct redis_url {
	int is_unix;          /* 1: path is a unix socket */
	char host[256];       /* hostname, IPv4, or IPv6 without brackets */
	int port;             /* default 6379 */
	char path[108];       /* unix socket path (sun_path size) */
	char username[128];   /* Redis 6 ACL user, "" = default user */
	char password[256];   /* "" = no AUTH */
	int db;               /* SELECT index, default 0 */
};

/* Bounded, validating parse of
 *   redis://[[user]:password@]host[:port][/db]   (host may be [ipv6])
 *   unix://[[user]:password@]/path/to/socket[?db=N]
 * user and password are percent-decoded. -1 + PT_CONFIG_INVALID on anything
 * else (rediss:// is refused: hiredis 0.14 has no TLS). */
#define REDIS_URL_MAX 1024
int redis_url_parse(const char *url, struct redis_url *out, struct pt_err *err);

/* url: as redis_url_parse. NULL if the URL is malformed or on ENOMEM;
 * connecting happens on first use. */
struct redis *redis_new(const char *url, long connect_timeout_ms, long command_timeout_ms);
void redis_free(struct redis *r);
/* redis_new with REDIS_URL, REDIS_CONNECT_TIMEOUT_MS and
 * REDIS_COMMAND_TIMEOUT_MS from cfg. NULL + PT_CONFIG_INVALID naming the
 * key when REDIS_URL is malformed. */
struct pt_config;
struct redis *redis_new_from_config(const struct pt_config *cfg, struct pt_err *err);

/* Like redisCommand (printf-style with %s/%b binary-safe args). Returns a
 * reply the caller frees with freeReplyObject, or NULL + PT_UPSTREAM_UNAVAILABLE
 * (connection dropped, timeout). An error reply (REDIS_REPLY_ERROR) is returned
 * as a reply, not NULL. */
redisReply *redis_cmd(struct redis *r, struct pt_err *err, const char *fmt, ...);
/* argv form, binary safe. */
redisReply *redis_cmd_argv(struct redis *r, struct pt_err *err, int argc,
	const char **argv, const size_t *argvlen);
/* Sends ncmds commands (argv form, NUL-terminated strings) in one write and
 * reads every reply: one round trip for counters that must stay cheap
 * (web_app's per-route request metrics). 0 when all replies arrived and none
 * is an error reply; -1 + err otherwise. */
int redis_pipeline_argv(struct redis *r, int ncmds, const int *argc,
	const char *const *const *argv, struct pt_err *err);

/* PING with timing, for /health. */
int redis_ping(struct redis *r, long *latency_ms, struct pt_err *err);

#endif
