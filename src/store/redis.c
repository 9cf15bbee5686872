/* redis — hiredis 0.14 connection. Connects lazily (one immediate retry),
 * authenticates and selects the db from REDIS_URL, and on any I/O error
 * drops the context so the next call reconnects. A connection the server
 * closed while this process was idle (a Redis restart) is noticed before a
 * command is sent and replaced, so a restart does not fail the next call of
 * every process; a command is still never retried. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "store/redis.h"

struct redis {
	struct redis_url url;
	long connect_timeout_ms;
	long command_timeout_ms;
	redisContext *ctx;
};

/* ---- URL parsing ----------------------------------------------------- */

static int url_fail(struct pt_err *err, const char *why)
{
	/* The URL itself may hold a password: name the problem, not the value. */
	pt_err_field(err, PT_CONFIG_INVALID, "REDIS_URL", "REDIS_URL: %s", why);
	return -1;
}

static int parse_uint(const char *s, size_t len, long max, long *out)
{
	long v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* "user:password" or ":password", both percent-encoded. */
static int parse_userinfo(const char *s, size_t len, struct redis_url *out, struct pt_err *err)
{
	const char *colon = memchr(s, ':', len);
	if (!colon)
		return url_fail(err, "credentials must be [user]:password@");
	size_t ulen = (size_t)(colon - s);
	if (str_url_decode(out->username, sizeof out->username, s, ulen, 0) != 0)
		return url_fail(err, "bad user name");
	if (str_url_decode(out->password, sizeof out->password, colon + 1,
			len - ulen - 1, 0) != 0)
		return url_fail(err, "bad password encoding or too long");
	return 0;
}

static int host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int ipv6_char_ok(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		(c >= '0' && c <= '9') || c == ':' || c == '.';
}

/* host[:port] or [v6][:port] */
static int parse_hostport(const char *s, size_t len, struct redis_url *out, struct pt_err *err)
{
	const char *host = s, *rest;
	size_t hlen;
	int (*ok)(char) = host_char_ok;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return url_fail(err, "unterminated [ipv6] host");
		host = s + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
		ok = ipv6_char_ok;
	} else {
		const char *colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
		rest = s + hlen;
	}
	if (hlen == 0 || hlen >= sizeof out->host)
		return url_fail(err, "missing or overlong host");
	for (size_t i = 0; i < hlen; i++)
		if (!ok(host[i]))
			return url_fail(err, "bad character in host");
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	size_t rlen = len - (size_t)(rest - s);
	if (rlen == 0)
		return 0;
	long port;
	if (rest[0] != ':' || parse_uint(rest + 1, rlen - 1, 65535, &port) != 0 || port == 0)
		return url_fail(err, "bad port");
	out->port = (int)port;
	return 0;
}

static int parse_db(const char *s, size_t len, struct redis_url *out, struct pt_err *err)
{
	long db;
	if (parse_uint(s, len, 9999, &db) != 0)
		return url_fail(err, "bad database number");
	out->db = (int)db;
	return 0;
}

static int parse_tcp(const char *s, size_t len, struct redis_url *out, struct pt_err *err)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)   /* the last '@' ends the userinfo */
		if (s[i] == '@')
			at = s + i;
	const char *hp = s;
	if (at) {
		if (parse_userinfo(s, (size_t)(at - s), out, err) != 0)
			return -1;
		hp = at + 1;
	}
	if (parse_hostport(hp, alen - (size_t)(hp - s), out, err) != 0)
		return -1;
	if (!slash || len - alen == 1)      /* none, or a bare "/" */
		return 0;
	return parse_db(slash + 1, len - alen - 1, out, err);
}

static int parse_unix(const char *s, size_t len, struct redis_url *out, struct pt_err *err)
{
	const char *p = s;
	if (len && s[0] != '/') {
		const char *at = memchr(s, '@', len);
		if (!at || at + 1 >= s + len || at[1] != '/')
			return url_fail(err, "unix socket path must be absolute");
		if (parse_userinfo(s, (size_t)(at - s), out, err) != 0)
			return -1;
		p = at + 1;
	}
	size_t plen = len - (size_t)(p - s);
	const char *q = memchr(p, '?', plen);
	size_t pathlen = q ? (size_t)(q - p) : plen;
	if (pathlen < 2 || pathlen >= sizeof out->path)
		return url_fail(err, "missing or overlong unix socket path");
	memcpy(out->path, p, pathlen);
	out->path[pathlen] = '\0';
	if (!q)
		return 0;
	size_t qlen = plen - pathlen - 1;
	if (qlen < 4 || memcmp(q + 1, "db=", 3) != 0)
		return url_fail(err, "only ?db=N is understood");
	return parse_db(q + 4, qlen - 3, out, err);
}

int redis_url_parse(const char *url, struct redis_url *out, struct pt_err *err)
{
	memset(out, 0, sizeof *out);
	out->port = 6379;
	if (!url)
		return url_fail(err, "missing");
	size_t len = strnlen(url, REDIS_URL_MAX + 1);
	if (len > REDIS_URL_MAX)
		return url_fail(err, "too long");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= 0x20 || c >= 0x7f || c == '#')
			return url_fail(err, "unexpected character");
	}
	int rc;
	if (len > 8 && strncmp(url, "redis://", 8) == 0) {
		if (memchr(url, '?', len))
			return url_fail(err, "query parameters are not supported");
		rc = parse_tcp(url + 8, len - 8, out, err);
	} else if (len > 7 && strncmp(url, "unix://", 7) == 0) {
		out->is_unix = 1;
		out->port = 0;
		rc = parse_unix(url + 7, len - 7, out, err);
	} else {
		return url_fail(err, "scheme must be redis:// or unix://");
	}
	if (rc != 0) {
		/* never leave half a secret behind in a struct the caller may dump */
		memset(out->password, 0, sizeof out->password);
	}
	return rc;
}

/* ---- connection ------------------------------------------------------ */

struct redis *redis_new(const char *url, long connect_timeout_ms, long command_timeout_ms)
{
	struct redis *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	if (redis_url_parse(url, &r->url, NULL) != 0) {
		free(r);
		return NULL;
	}
	r->connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 1000;
	r->command_timeout_ms = command_timeout_ms > 0 ? command_timeout_ms : 1000;
	return r;
}

struct redis *redis_new_from_config(const struct pt_config *cfg, struct pt_err *err)
{
	const char *url = config_get(cfg, "REDIS_URL");
	long connect_ms = 500, command_ms = 1000;
	struct redis_url parsed;
	if (redis_url_parse(url, &parsed, err) != 0)
		return NULL;
	explicit_bzero(&parsed, sizeof parsed);
	if (config_get_long(cfg, "REDIS_CONNECT_TIMEOUT_MS", &connect_ms, err) != 0 ||
	    config_get_long(cfg, "REDIS_COMMAND_TIMEOUT_MS", &command_ms, err) != 0)
		return NULL;
	struct redis *r = redis_new(url, connect_ms, command_ms);
	if (!r)
		pt_err_set(err, PT_INTERNAL, "redis: out of memory");
	return r;
}

static void redis_drop(struct redis *r)
{
	if (r->ctx) {
		redisFree(r->ctx);
		r->ctx = NULL;
	}
}

void redis_free(struct redis *r)
{
	if (!r)
		return;
	redis_drop(r);
	explicit_bzero(&r->url, sizeof r->url);
	free(r);
}

static struct timeval ms_to_tv(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

static redisContext *redis_open(const struct redis *r)
{
	struct timeval tv = ms_to_tv(r->connect_timeout_ms);
	if (r->url.is_unix)
		return redisConnectUnixWithTimeout(r->url.path, tv);
	return redisConnectWithTimeout(r->url.host, r->url.port, tv);
}

/* AUTH and SELECT right after connecting; an error reply here means the
 * configuration is wrong, which the log says (without the password). */
static int redis_handshake(struct redis *r, struct pt_err *err)
{
	redisReply *rep = NULL;
	char db[16];
	if (r->url.password[0]) {
		if (r->url.username[0])
			rep = redisCommand(r->ctx, "AUTH %s %s", r->url.username, r->url.password);
		else
			rep = redisCommand(r->ctx, "AUTH %s", r->url.password);
		if (!rep || rep->type == REDIS_REPLY_ERROR)
			goto fail;
		freeReplyObject(rep);
		rep = NULL;
	}
	if (r->url.db != 0) {
		snprintf(db, sizeof db, "%d", r->url.db);
		rep = redisCommand(r->ctx, "SELECT %s", db);
		if (!rep || rep->type == REDIS_REPLY_ERROR)
			goto fail;
		freeReplyObject(rep);
	}
	return 0;
fail:
	log_error("redis handshake failed", "system", "redis",
		"error", rep && rep->type == REDIS_REPLY_ERROR ? rep->str : r->ctx->errstr);
	freeReplyObject(rep);
	return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: AUTH/SELECT failed");
}

static int redis_connect(struct redis *r, struct pt_err *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		r->ctx = redis_open(r);
		if (r->ctx && !r->ctx->err) {
			struct timeval tv = ms_to_tv(r->command_timeout_ms);
			if (redisSetTimeout(r->ctx, tv) == REDIS_OK && redis_handshake(r, err) == 0)
				return 0;
			redis_drop(r);
			return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: connection setup failed");
		}
		log_warn("redis connect failed", "system", "redis",
			"error", r->ctx ? r->ctx->errstr : "out of memory",
			"attempt", attempt ? "2" : "1");
		redis_drop(r);
	}
	return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis unreachable");
}

/* After a NULL reply the context is unusable (hiredis docs): drop it. */
static void redis_io_failed(struct redis *r, struct pt_err *err)
{
	char msg[128];
	str_lcpy(msg, r->ctx->errstr, sizeof msg);
	log_warn("redis command failed", "system", "redis", "error", msg);
	redis_drop(r);
	pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: %s", msg);
	pt_err_provider(err, "EREDIS");
}

/* Between commands nothing may be waiting on the socket: end-of-file there
 * means the server closed the connection while we were idle (restart,
 * timeout, CLIENT KILL), and any byte or socket error makes the context as
 * unusable. Dropping it now, before anything is sent, costs a reconnect
 * instead of the caller's command failing with "Server closed the
 * connection" (a customer's 503 with Redis up again). */
static void redis_drop_if_closed(struct redis *r)
{
	char c;
	ssize_t n;

	if (!r->ctx)
		return;
	do
		n = recv(r->ctx->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	log_debug("redis connection closed while idle: reconnecting", "system", "redis",
		"state", n == 0 ? "eof" : n > 0 ? "unexpected bytes" : "socket error");
	redis_drop(r);
}

/* A live context for the next command, or -1 with err set. */
static int redis_ready(struct redis *r, struct pt_err *err)
{
	if (!r)
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis not configured");
	redis_drop_if_closed(r);
	if (!r->ctx && redis_connect(r, err) != 0)
		return -1;
	return 0;
}

static redisReply *redis_vcmd(struct redis *r, struct pt_err *err, const char *fmt, va_list ap)
{
	if (redis_ready(r, err) != 0)
		return NULL;
	redisReply *rep = redisvCommand(r->ctx, fmt, ap);
	if (!rep)
		redis_io_failed(r, err);
	return rep;
}

redisReply *redis_cmd(struct redis *r, struct pt_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = redis_vcmd(r, err, fmt, ap);
	va_end(ap);
	return rep;
}

redisReply *redis_cmd_argv(struct redis *r, struct pt_err *err, int argc,
	const char **argv, const size_t *argvlen)
{
	if (redis_ready(r, err) != 0)
		return NULL;
	redisReply *rep = redisCommandArgv(r->ctx, argc, argv, argvlen);
	if (!rep)
		redis_io_failed(r, err);
	return rep;
}

int redis_pipeline_argv(struct redis *r, int ncmds, const int *argc,
	const char *const *const *argv, struct pt_err *err)
{
	redisReply *rep;
	int rc = 0;

	if (redis_ready(r, err) != 0)
		return -1;
	for (int i = 0; i < ncmds; i++)
		if (redisAppendCommandArgv(r->ctx, argc[i], (const char **)argv[i], NULL) != REDIS_OK) {
			redis_io_failed(r, err);
			return -1;
		}
	/* Every appended reply must be read, or the next command gets a stale one. */
	for (int i = 0; i < ncmds; i++) {
		if (redisGetReply(r->ctx, (void **)&rep) != REDIS_OK || !rep) {
			redis_io_failed(r, err);
			return -1;
		}
		if (rep->type == REDIS_REPLY_ERROR)
			rc = pt_err_set(err, PT_INTERNAL, "redis: %s", rep->str);
		freeReplyObject(rep);
	}
	return rc;
}

int redis_ping(struct redis *r, long *latency_ms, struct pt_err *err)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	redisReply *rep = redis_cmd(r, err, "PING");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (latency_ms)
		*latency_ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
	if (!rep)
		return -1;
	int ok = rep->type == REDIS_REPLY_STATUS && rep->str && strcmp(rep->str, "PONG") == 0;
	freeReplyObject(rep);
	if (!ok)
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: unexpected PING reply");
	return 0;
}
