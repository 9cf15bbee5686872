/* session — Redis-backed login sessions. Every multi-key change (create,
 * rotate, destroy, destroy-all) is one Lua script, so an outage or a crash
 * never leaves a session hash without its user-set entry or the reverse
 * (resolutions §18: nothing is written half). The scripts touch only sess:*
 * and user:*:sessions keys, which is fine on the single Redis the portal
 * uses (DESIGN §2); a Redis Cluster would need hash tags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/rand.h"
#include "store/session.h"

#define SESS_PREFIX "sess:"
#define KEY_MAX     96

/* ---- scripts ----------------------------------------------------------- */

/* KEYS: sess, user set. ARGV: ttl, set ttl, hash, field/value pairs… */
static const char SCRIPT_CREATE[] =
	"redis.call('HSET', KEYS[1], unpack(ARGV, 4))\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
	"redis.call('SADD', KEYS[2], ARGV[3])\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
	"return 1\n";

/* KEYS: sess. ARGV: now, ttl. Never re-creates a hash deleted meanwhile
 * (a bare HSET would resurrect half a session). */
static const char SCRIPT_TOUCH[] =
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	"return 1\n";

/* KEYS: old sess, new sess, user set. ARGV: old hash, new hash, now, ttl, csrf ("" = keep). */
static const char SCRIPT_ROTATE[] =
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
	"redis.call('RENAME', KEYS[1], KEYS[2])\n"
	"redis.call('HSET', KEYS[2], 'last_seen', ARGV[3])\n"
	"if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'csrf', ARGV[5]) end\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
	"redis.call('SREM', KEYS[3], ARGV[1])\n"
	"redis.call('SADD', KEYS[3], ARGV[2])\n"
	"return 1\n";

/* KEYS: sess, user set. ARGV: hash. */
static const char SCRIPT_DESTROY[] =
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('SREM', KEYS[2], ARGV[1])\n"
	"return 1\n";

/* KEYS: user set. ARGV: hash to keep. Returns sessions deleted. */
static const char SCRIPT_DESTROY_ALL[] =
	"local n = 0\n"
	"for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  if h ~= ARGV[1] then\n"
	"    n = n + redis.call('DEL', 'sess:' .. h)\n"
	"    redis.call('SREM', KEYS[1], h)\n"
	"  end\n"
	"end\n"
	"return n\n";

/* KEYS: user set. Returns {hash, created, last_seen, ip, ua, …}; prunes
 * members whose hash has expired. */
static const char SCRIPT_LIST[] =
	"local out = {}\n"
	"for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  local v = redis.call('HMGET', 'sess:' .. h, 'created', 'last_seen', 'ip', 'user_agent')\n"
	"  if v[1] then\n"
	"    table.insert(out, h)\n"
	"    for i = 1, 4 do table.insert(out, v[i] or '') end\n"
	"  else\n"
	"    redis.call('SREM', KEYS[1], h)\n"
	"  end\n"
	"end\n"
	"return out\n";

/* ---- helpers ------------------------------------------------------------ */

static int redis_down(struct pt_err *err, const char *what)
{
	if (err) {
		if (err->code != PT_UPSTREAM_UNAVAILABLE)
			pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "session: %s", what);
		err->retry_after = SESSION_RETRY_AFTER_S;
	}
	return -1;
}

static int unauthenticated(struct pt_err *err, const char *why)
{
	pt_err_set(err, PT_UNAUTHENTICATED, "session: %s", why);
	if (err)
		err->retry_after = 0;
	return -1;
}

/* EVAL script with nkeys keys then args (all NUL-terminated strings). An
 * error reply (OOM, READONLY, a script fault) means Redis cannot serve
 * sessions now: it is reported like an outage and logged. */
static redisReply *sess_eval(struct redis *r, const char *script, int nkeys,
	const char **args, int nargs, struct pt_err *err)
{
	const char *argv[24];
	size_t lens[24];
	char nk[8];
	int argc = 0;

	if (nargs + 3 > (int)(sizeof argv / sizeof argv[0])) {
		pt_err_set(err, PT_INTERNAL, "session: too many script arguments");
		return NULL;
	}
	snprintf(nk, sizeof nk, "%d", nkeys);
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = nk;
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisReply *rep = redis_cmd_argv(r, err, argc, argv, lens);
	if (!rep) {
		redis_down(err, "redis unavailable");
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		log_error("session script failed", "system", "redis", "error", rep->str);
		freeReplyObject(rep);
		redis_down(err, "redis error reply");
		return NULL;
	}
	return rep;
}

static int all_digits(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int sf_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0)
		return 1;
	if (n != 15 && n != 18)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]))
			return 0;
	return 1;
}

static int hash_ok(const char *s)
{
	if (!s || strlen(s) != SESSION_HASH_LEN)
		return 0;
	for (size_t i = 0; i < SESSION_HASH_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int session_token_valid(const char *s)
{
	if (!s || strnlen(s, SESSION_TOKEN_LEN + 1) != SESSION_TOKEN_LEN)
		return 0;
	for (size_t i = 0; i < SESSION_TOKEN_LEN; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* Copies outside text (ip, user agent) cut to the bound, printable ASCII
 * only, so whatever a client sends renders safely in the session list. */
static void copy_printable(char *dst, size_t dstsz, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

static void key_sess(char out[KEY_MAX], const char *hash)
{
	snprintf(out, KEY_MAX, SESS_PREFIX "%s", hash);
}

static void key_user(char out[KEY_MAX], const char *user_id)
{
	snprintf(out, KEY_MAX, "user:%s:sessions", user_id);
}

/* Key TTL: the idle timeout, but never past the absolute deadline. */
static long session_ttl(const struct session_opts *o, long long created, long long now)
{
	long long left = created + o->absolute_timeout_s - now;
	long long ttl = o->idle_timeout_s < left ? o->idle_timeout_s : left;
	return ttl < 1 ? 1 : (long)ttl;
}

static int new_token(struct session *s, struct pt_err *err)
{
	if (rand_token_b64url(s->token, sizeof s->token, SESSION_TOKEN_BYTES) != 0 ||
	    strlen(s->token) != SESSION_TOKEN_LEN)
		return pt_err_set(err, PT_INTERNAL, "session: no randomness");
	crypto_sha256_hex(s->token, SESSION_TOKEN_LEN, s->hash);
	return 0;
}

static int new_csrf(char out[SESSION_CSRF_LEN + 1], struct pt_err *err)
{
	if (rand_token_b64url(out, SESSION_CSRF_LEN + 1, SESSION_TOKEN_BYTES) != 0 ||
	    strlen(out) != SESSION_CSRF_LEN)
		return pt_err_set(err, PT_INTERNAL, "session: no randomness");
	return 0;
}

/* Logs carry the first 12 hex digits of the hash: enough to follow one
 * session through the log, useless to an attacker (the token is not in it). */
static void log_session(const char *msg, const struct session *s)
{
	char prefix[13];
	str_lcpy(prefix, s->hash, sizeof prefix);
	log_info(msg, "user_id", s->user_id[0] ? s->user_id : "-", "sess_sha256", prefix);
}

/* ---- config --------------------------------------------------------------- */

int session_opts_from_config(const struct pt_config *cfg, struct session_opts *out,
	struct pt_err *err)
{
	out->idle_timeout_s = 1800;
	out->absolute_timeout_s = 43200;
	if (config_get_long(cfg, "SESSION_IDLE_TIMEOUT_S", &out->idle_timeout_s, err) != 0 ||
	    config_get_long(cfg, "SESSION_ABSOLUTE_TIMEOUT_S", &out->absolute_timeout_s, err) != 0)
		return -1;
	return 0;
}

/* ---- create --------------------------------------------------------------- */

static int subject_ok(const struct session_subject *who, struct pt_err *err)
{
	if (!who || !all_digits(who->user_id, 1, SESSION_USER_ID_MAX))
		return pt_err_field(err, PT_VALIDATION_FAILED, "user_id", "session: bad user id");
	if (!sf_id_ok(who->sf_account_id))
		return pt_err_field(err, PT_VALIDATION_FAILED, "sf_account_id",
			"session: bad Salesforce account id");
	if (who->whmcs_client_id && who->whmcs_client_id[0] &&
	    !all_digits(who->whmcs_client_id, 1, SESSION_WHMCS_ID_MAX))
		return pt_err_field(err, PT_VALIDATION_FAILED, "whmcs_client_id",
			"session: bad WHMCS client id");
	return 0;
}

static void subject_copy(struct session *s, const struct session_subject *who)
{
	str_lcpy(s->user_id, who->user_id, sizeof s->user_id);
	str_lcpy(s->sf_account_id, who->sf_account_id ? who->sf_account_id : "",
		sizeof s->sf_account_id);
	str_lcpy(s->whmcs_client_id, who->whmcs_client_id ? who->whmcs_client_id : "",
		sizeof s->whmcs_client_id);
}

static int session_store(struct redis *r, const struct session_opts *o,
	const struct session *s, struct pt_err *err)
{
	char ksess[KEY_MAX], kuser[KEY_MAX], ttl[24], setttl[24], created[24], seen[24];
	key_sess(ksess, s->hash);
	key_user(kuser, s->user_id);
	snprintf(ttl, sizeof ttl, "%ld", session_ttl(o, s->created, s->created));
	snprintf(setttl, sizeof setttl, "%ld", o->absolute_timeout_s);
	snprintf(created, sizeof created, "%lld", s->created);
	snprintf(seen, sizeof seen, "%lld", s->last_seen);
	const char *args[] = { ksess, kuser, ttl, setttl, s->hash,
		"user_id", s->user_id, "sf_account_id", s->sf_account_id,
		"whmcs_client_id", s->whmcs_client_id, "csrf", s->csrf,
		"created", created, "last_seen", seen, "ip", s->ip, "user_agent", s->user_agent };
	redisReply *rep = sess_eval(r, SCRIPT_CREATE, 2, args,
		(int)(sizeof args / sizeof args[0]), err);
	if (!rep)
		return -1;
	freeReplyObject(rep);
	return 0;
}

int session_create(struct redis *r, const struct session_opts *o,
	const struct session_subject *who, const char *ip, const char *user_agent,
	struct session *out, struct pt_err *err)
{
	int rc = -1;
	memset(out, 0, sizeof *out);
	if (subject_ok(who, err) != 0)
		goto out;
	subject_copy(out, who);
	if (new_token(out, err) != 0 || new_csrf(out->csrf, err) != 0)
		goto out;
	out->created = out->last_seen = (long long)time(NULL);
	copy_printable(out->ip, sizeof out->ip, ip);
	copy_printable(out->user_agent, sizeof out->user_agent, user_agent);
	if (session_store(r, o, out, err) != 0)
		goto out;
	log_session("session created", out);
	rc = 0;
out:
	if (rc != 0)
		explicit_bzero(out, sizeof *out);
	return rc;
}

/* ---- load ----------------------------------------------------------------- */

static int parse_ll(const char *s, long long *out)
{
	char *end;
	if (!all_digits(s, 1, 19))
		return -1;
	*out = strtoll(s, &end, 10);
	return 0;
}

/* Fills one field of s from a stored (name, value) pair; unknown names are
 * ignored so a later version may add fields. -1 on a malformed value. */
static int field_set(struct session *s, const char *name, const char *v)
{
	if (strcmp(name, "user_id") == 0) {
		if (!all_digits(v, 1, SESSION_USER_ID_MAX))
			return -1;
		str_lcpy(s->user_id, v, sizeof s->user_id);
	} else if (strcmp(name, "sf_account_id") == 0) {
		if (!sf_id_ok(v))
			return -1;
		str_lcpy(s->sf_account_id, v, sizeof s->sf_account_id);
	} else if (strcmp(name, "whmcs_client_id") == 0) {
		if (v[0] && !all_digits(v, 1, SESSION_WHMCS_ID_MAX))
			return -1;
		str_lcpy(s->whmcs_client_id, v, sizeof s->whmcs_client_id);
	} else if (strcmp(name, "csrf") == 0) {
		if (strlen(v) != SESSION_CSRF_LEN)
			return -1;
		str_lcpy(s->csrf, v, sizeof s->csrf);
	} else if (strcmp(name, "created") == 0) {
		return parse_ll(v, &s->created);
	} else if (strcmp(name, "last_seen") == 0) {
		return parse_ll(v, &s->last_seen);
	} else if (strcmp(name, "ip") == 0) {
		copy_printable(s->ip, sizeof s->ip, v);
	} else if (strcmp(name, "user_agent") == 0) {
		copy_printable(s->user_agent, sizeof s->user_agent, v);
	}
	return 0;
}

/* 1 = a complete session parsed, 0 = missing (empty reply), -1 = malformed. */
static int session_parse(const redisReply *rep, struct session *s)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2 != 0)
		return -1;
	if (rep->elements == 0)
		return 0;
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *k = rep->element[i], *v = rep->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			return -1;
		if (field_set(s, k->str, v->str) != 0)
			return -1;
	}
	if (!s->user_id[0] || !s->csrf[0] || !s->created || !s->last_seen)
		return -1;
	return 1;
}

/* session_parse's result, or -2 when Redis cannot answer. */
static int session_fetch(struct redis *r, struct session *s, struct pt_err *err)
{
	char ksess[KEY_MAX];
	key_sess(ksess, s->hash);
	redisReply *rep = redis_cmd(r, err, "HGETALL %s", ksess);
	if (!rep) {
		redis_down(err, "redis unavailable");
		return -2;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		log_error("session read failed", "system", "redis", "error", rep->str);
		freeReplyObject(rep);
		redis_down(err, "redis error reply");
		return -2;
	}
	int found = session_parse(rep, s);
	freeReplyObject(rep);
	return found;
}

static int session_expired(const struct session_opts *o, const struct session *s,
	long long now)
{
	return now - s->last_seen >= o->idle_timeout_s ||
		now - s->created >= o->absolute_timeout_s ||
		s->created > now + 60;   /* written by a clock far ahead: distrust */
}

static int session_touch(struct redis *r, const struct session_opts *o,
	struct session *s, long long now, struct pt_err *err)
{
	char ksess[KEY_MAX], snow[24], ttl[24];
	key_sess(ksess, s->hash);
	snprintf(snow, sizeof snow, "%lld", now);
	snprintf(ttl, sizeof ttl, "%ld", session_ttl(o, s->created, now));
	const char *args[] = { ksess, snow, ttl };
	redisReply *rep = sess_eval(r, SCRIPT_TOUCH, 1, args, 3, err);
	if (!rep)
		return -1;
	int alive = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (!alive)
		return unauthenticated(err, "deleted while loading");
	s->last_seen = now;
	return 0;
}

/* A load refreshes last_seen and the key TTL only when last_seen is this old:
 * a customer clicking through pages costs one HGETALL per request instead of
 * a HGETALL and a script (the account routes' hot path, docs/performance.md).
 * The idle deadline then comes at most idle/30 (≤ 60 s) early, never late. */
static long long touch_interval(const struct session_opts *o)
{
	long long t = o->idle_timeout_s / 30;
	return t > 60 ? 60 : t;
}

int session_load(struct redis *r, const struct session_opts *o, const char *token,
	struct session *out, struct pt_err *err)
{
	int rc = -1, found;
	long long now = (long long)time(NULL);

	memset(out, 0, sizeof *out);
	if (!session_token_valid(token)) {
		unauthenticated(err, "malformed token");
		goto out;
	}
	str_lcpy(out->token, token, sizeof out->token);
	crypto_sha256_hex(token, SESSION_TOKEN_LEN, out->hash);
	found = session_fetch(r, out, err);
	if (found == -2)
		goto out;
	if (found == -1) {
		/* not something this code wrote: drop it rather than trust it */
		log_session("session malformed, deleted", out);
		session_destroy(r, out, NULL);
	}
	if (found <= 0) {
		unauthenticated(err, found ? "malformed" : "unknown or expired");
		goto out;
	}
	if (session_expired(o, out, now)) {
		log_session("session expired", out);
		session_destroy(r, out, NULL);
		unauthenticated(err, "expired");
		goto out;
	}
	rc = now - out->last_seen < touch_interval(o) ? 0 : session_touch(r, o, out, now, err);
out:
	if (rc != 0)
		explicit_bzero(out, sizeof *out);
	return rc;
}

/* ---- rotate / destroy ----------------------------------------------------- */

int session_rotate(struct redis *r, const struct session_opts *o, struct session *s,
	unsigned flags, struct pt_err *err)
{
	struct session next = *s;
	char kold[KEY_MAX], knew[KEY_MAX], kuser[KEY_MAX], snow[24], ttl[24];
	long long now = (long long)time(NULL);
	int rc = -1;

	if (new_token(&next, err) != 0)
		goto out;
	if (!(flags & SESSION_ROTATE_KEEP_CSRF) && new_csrf(next.csrf, err) != 0)
		goto out;
	key_sess(kold, s->hash);
	key_sess(knew, next.hash);
	key_user(kuser, s->user_id);
	snprintf(snow, sizeof snow, "%lld", now);
	snprintf(ttl, sizeof ttl, "%ld", session_ttl(o, s->created, now));
	const char *args[] = { kold, knew, kuser, s->hash, next.hash, snow, ttl,
		(flags & SESSION_ROTATE_KEEP_CSRF) ? "" : next.csrf };
	redisReply *rep = sess_eval(r, SCRIPT_ROTATE, 3, args, 8, err);
	if (!rep)
		goto out;
	int moved = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (!moved) {
		unauthenticated(err, "rotated session no longer exists");
		goto out;
	}
	next.last_seen = now;
	log_session("session rotated", &next);
	*s = next;
	rc = 0;
out:
	explicit_bzero(&next, sizeof next);
	return rc;
}

int session_destroy(struct redis *r, const struct session *s, struct pt_err *err)
{
	char ksess[KEY_MAX], kuser[KEY_MAX];
	if (!hash_ok(s->hash))
		return pt_err_set(err, PT_INTERNAL, "session: destroy without a hash");
	key_sess(ksess, s->hash);
	key_user(kuser, s->user_id[0] ? s->user_id : "0");
	const char *args[] = { ksess, kuser, s->hash };
	redisReply *rep = sess_eval(r, SCRIPT_DESTROY, 2, args, 3, err);
	if (!rep)
		return -1;
	freeReplyObject(rep);
	log_session("session destroyed", s);
	return 0;
}

int session_destroy_all_for_user(struct redis *r, const char *user_id,
	const char *except_hash, long *deleted, struct pt_err *err)
{
	char kuser[KEY_MAX];
	if (deleted)
		*deleted = 0;
	if (!all_digits(user_id, 1, SESSION_USER_ID_MAX))
		return pt_err_field(err, PT_VALIDATION_FAILED, "user_id", "session: bad user id");
	key_user(kuser, user_id);
	const char *args[] = { kuser, except_hash ? except_hash : "" };
	redisReply *rep = sess_eval(r, SCRIPT_DESTROY_ALL, 1, args, 2, err);
	if (!rep)
		return -1;
	long n = rep->type == REDIS_REPLY_INTEGER ? (long)rep->integer : 0;
	freeReplyObject(rep);
	if (deleted)
		*deleted = n;
	char nbuf[24];
	log_info("sessions of user destroyed", "user_id", user_id, "count", log_itoa(n, nbuf));
	return 0;
}

/* ---- list ----------------------------------------------------------------- */

static int info_cmp(const void *a, const void *b)
{
	const struct session_info *x = a, *y = b;
	if (x->last_seen != y->last_seen)
		return x->last_seen < y->last_seen ? 1 : -1;
	return strcmp(x->hash, y->hash);
}

/* Fills one entry from five reply strings; 0 when they don't look like ours. */
static int info_from(struct session_info *e, redisReply **v)
{
	for (int i = 0; i < 5; i++)
		if (v[i]->type != REDIS_REPLY_STRING)
			return 0;
	if (!hash_ok(v[0]->str) || parse_ll(v[1]->str, &e->created) != 0 ||
	    parse_ll(v[2]->str, &e->last_seen) != 0)
		return 0;
	str_lcpy(e->hash, v[0]->str, sizeof e->hash);
	copy_printable(e->ip, sizeof e->ip, v[3]->str);
	copy_printable(e->user_agent, sizeof e->user_agent, v[4]->str);
	return 1;
}

int session_list_for_user(struct redis *r, const char *user_id, struct session_info **out,
	size_t *n, struct pt_err *err)
{
	char kuser[KEY_MAX];
	struct session_info *list = NULL;
	size_t count = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (!all_digits(user_id, 1, SESSION_USER_ID_MAX))
		return pt_err_field(err, PT_VALIDATION_FAILED, "user_id", "session: bad user id");
	key_user(kuser, user_id);
	const char *args[] = { kuser };
	redisReply *rep = sess_eval(r, SCRIPT_LIST, 1, args, 1, err);
	if (!rep)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 5 != 0) {
		redis_down(err, "unexpected list reply");
		goto out;
	}
	if (rep->elements) {
		list = calloc(rep->elements / 5, sizeof *list);
		if (!list) {
			pt_err_set(err, PT_INTERNAL, "session: out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < rep->elements; i += 5)
		count += (size_t)info_from(&list[count], &rep->element[i]);
	if (count)
		qsort(list, count, sizeof *list, info_cmp);
	*out = count ? list : NULL;
	*n = count > SESSION_LIST_MAX ? SESSION_LIST_MAX : count;
	if (!count)
		free(list);
	list = NULL;
	rc = 0;
out:
	free(list);
	freeReplyObject(rep);
	return rc;
}

void session_list_free(struct session_info *list)
{
	free(list);
}

/* ---- cookies -------------------------------------------------------------- */

int session_cookie_build(char *out, size_t outsz, const char *token, int secure)
{
	if (!session_token_valid(token))
		return -1;
	int n = snprintf(out, outsz, SESSION_COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Lax%s",
		token, secure ? "; Secure" : "");
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int session_cookie_clear_build(char *out, size_t outsz, int secure)
{
	int n = snprintf(out, outsz, SESSION_COOKIE_NAME "=; Path=/; Max-Age=0; HttpOnly; "
		"SameSite=Lax%s", secure ? "; Secure" : "");
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}
