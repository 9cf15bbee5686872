/* freebit/client — see client.h. */
#include "freebit/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"

struct freebit_client {
	struct http_client *http;
	struct redis *redis;
	char *base_url;
	char *oem_id;
	char *oem_key;
	long retry_delay_ms;
	/* Used only while Redis is unreachable: each process then holds its own. */
	char local_key[FREEBIT_MAX_AUTHKEY + 1];
	time_t local_key_exp;
};

static void wipe_free(char *s)
{
	if (!s)
		return;
	memset(s, 0, strlen(s));
	free(s);
}

struct freebit_client *freebit_client_new(const struct freebit_client_opts *opts, struct pt_err *err)
{
	struct freebit_client *c;
	struct http_client_opts ho = { 0 };

	if (!opts || !opts->base_url || !*opts->base_url || !opts->oem_id || !*opts->oem_id ||
	    !opts->oem_key || !*opts->oem_key) {
		pt_err_set(err, PT_CONFIG_INVALID, "FREEBIT_BASE_URL/FREEBIT_OEM_ID/FREEBIT_OEM_KEY: missing");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto oom;
	ho.system = "freebit";
	ho.total_timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
	ho.connect_timeout_ms = ho.total_timeout_ms < 3000 ? ho.total_timeout_ms : 3000;
	ho.max_retries = 0;   /* retries follow freebit.md §1, done here */
	ho.max_response = FREEBIT_MAX_RESPONSE;
	c->http = http_client_new(&ho);
	c->redis = opts->redis;
	c->base_url = strdup(opts->base_url);
	c->oem_id = strdup(opts->oem_id);
	c->oem_key = strdup(opts->oem_key);
	c->retry_delay_ms = opts->read_retry_delay_ms > 0 ? opts->read_retry_delay_ms : 500;
	if (!c->http || !c->base_url || !c->oem_id || !c->oem_key)
		goto oom;
	/* "no trailing slash" per contract; tolerate one. */
	if (c->base_url[0] && c->base_url[strlen(c->base_url) - 1] == '/')
		c->base_url[strlen(c->base_url) - 1] = '\0';
	return c;
oom:
	freebit_client_free(c);
	pt_err_set(err, PT_INTERNAL, "freebit client: out of memory");
	return NULL;
}

struct freebit_client *freebit_client_from_config(const struct pt_config *cfg, struct redis *redis,
	struct pt_err *err)
{
	struct freebit_client_opts o = { 0 };
	long timeout = 10000;

	o.base_url = config_get(cfg, "FREEBIT_BASE_URL");
	o.oem_id = config_get(cfg, "FREEBIT_OEM_ID");
	o.oem_key = config_get(cfg, "FREEBIT_OEM_KEY");
	if (config_get(cfg, "FREEBIT_TIMEOUT") &&
	    config_get_long(cfg, "FREEBIT_TIMEOUT", &timeout, err) != 0)
		return NULL;
	o.timeout_ms = timeout;
	o.redis = redis;
	return freebit_client_new(&o, err);
}

void freebit_client_free(struct freebit_client *c)
{
	if (!c)
		return;
	http_client_free(c->http);
	free(c->base_url);
	free(c->oem_id);
	wipe_free(c->oem_key);
	memset(c->local_key, 0, sizeof(c->local_key));
	free(c);
}

int freebit_msisdn_norm(const char *in, char out[12])
{
	size_t n = 0;

	out[0] = '\0';
	for (; in && *in; in++) {
		if (*in == '-')
			continue;
		if (*in < '0' || *in > '9' || n >= 11)
			return -1;
		out[n++] = *in;
	}
	out[n] = '\0';
	if (n != 11 || out[0] != '0') {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* --- result codes ----------------------------------------------------- */

static int retry_after_of(struct json_object *reply, int dflt)
{
	long s = 0;

	if (reply && json_get_lenient_int(reply, "retryAfter", &s) == 0 && s > 0 && s <= 86400)
		return (int)s;
	return dflt;
}

int freebit_result_error(const char *rc, struct json_object *reply, struct pt_err *err)
{
	struct json_object *st = NULL;
	const char *msg = "";
	enum pt_code code = PT_UPSTREAM_UNAVAILABLE;
	int retry = 0;

	if (reply && json_object_object_get_ex(reply, "status", &st))
		msg = json_str_or(st, "message", "");
	if (!strcmp(rc, "220") || !strcmp(rc, "400"))
		code = PT_VALIDATION_FAILED;
	else if (!strcmp(rc, "230"))
		code = PT_NOT_FOUND;
	else if (!strcmp(rc, "240"))
		code = PT_OPERATION_TOO_SOON, retry = 300;
	else if (!strcmp(rc, "241"))
		code = PT_OPERATION_TOO_SOON, retry = retry_after_of(reply, 1800);
	else if (!strcmp(rc, "250"))
		code = PT_SIM_ACTION_NOT_ALLOWED;
	else if (!strcmp(rc, "900"))
		retry = 600;
	/* status.message is for the log only (freebit.md §3). */
	pt_err_set(err, code, "freebit resultCode %s: %s", rc, msg);
	pt_err_provider(err, rc);
	if (err)
		err->retry_after = retry;
	return -1;
}

/* resultCode as text whether Freebit sent a string or a number. */
static int result_code_of(struct json_object *o, char *rc, size_t size)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, "resultCode", &v) || !v)
		return -1;
	if (json_object_is_type(v, json_type_int))
		snprintf(rc, size, "%lld", (long long)json_object_get_int64(v));
	else if (json_object_is_type(v, json_type_string) &&
		 json_object_get_string_len(v) > 0 && json_object_get_string_len(v) < 8 &&
		 strspn(json_object_get_string(v), "0123456789") ==
			 (size_t)json_object_get_string_len(v))
		str_lcpy(rc, json_object_get_string(v), size);
	else
		return -1;
	return 0;
}

int freebit_parse_reply(long http_status, const char *body, size_t len,
	struct json_object **out, struct pt_err *err)
{
	struct json_object *o;
	struct pt_err perr = { 0 };
	char rc[16], st[16];

	*out = NULL;
	if (http_status < 200 || http_status > 299) {
		/* Prefixed: bare numbers are Freebit result codes. */
		snprintf(st, sizeof(st), "HTTP%ld", http_status);
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "freebit HTTP %ld", http_status);
		pt_err_provider(err, st);
		return -1;
	}
	o = json_parse_bounded(body, len, FREEBIT_MAX_RESPONSE, JSON_DEFAULT_MAX_DEPTH, &perr);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    result_code_of(o, rc, sizeof(rc)) != 0) {
		json_object_put(o);
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "freebit reply without resultCode");
		pt_err_provider(err, "EBADREPLY");
		return -1;
	}
	if (strcmp(rc, "100") != 0) {
		freebit_result_error(rc, o, err);
		json_object_put(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* --- one HTTP exchange ------------------------------------------------- */

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

static void log_call(const char *path, const char *result, long ms)
{
	char lat[24];
	enum log_level lvl = LOG_LVL_DEBUG;

	/* Seed 000 thresholds for any Freebit call: warn 3 s, crit 10 s. */
	if (ms > 10000)
		lvl = LOG_LVL_CRIT;
	else if (ms > 3000)
		lvl = LOG_LVL_WARN;
	log_msg(lvl, "freebit call", "system", "freebit", "op", path, "result", result,
		"latency_ms", log_itoa(ms, lat), (char *)0);
}

/* Posts `json=<payload>` once; the payload holds secrets and is wiped. */
static int post_once(struct freebit_client *c, const char *path, struct json_object *payload,
	struct json_object **out, struct pt_err *err)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL
	};
	struct buf body, url;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	struct timespec t0;
	size_t jlen = 0;
	const char *js = json_compact(payload, &jlen);
	int rc = -1;

	*out = NULL;
	buf_init(&body, 256 * 1024);
	buf_init(&url, 4096);
	if (!js || buf_puts(&body, "json=") || str_url_encode(&body, js, jlen) ||
	    buf_printf(&url, "%s/emptool/api%s", c->base_url, path)) {
		pt_err_set(err, PT_INTERNAL, "freebit %s: request too large", path);
		goto out;
	}
	req.method = "POST";
	req.url = buf_cstr(&url);
	req.headers = headers;
	req.body = buf_cstr(&body);
	req.body_len = body.len;
	req.idempotent = 0;
	req.op = path;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (http_do(c->http, &req, &resp, err) == 0)
		rc = freebit_parse_reply(resp.status, buf_cstr(&resp.body), resp.body.len, out, err);
	log_call(path, rc == 0 ? "100" : (err && err->provider_code[0] ? err->provider_code : "error"),
		ms_since(&t0));
out:
	http_response_free(&resp);
	if (body.data)
		memset(body.data, 0, body.cap);
	buf_free(&body);
	buf_free(&url);
	return rc;
}

/* --- auth key ---------------------------------------------------------- */

static int valid_key(const char *k, size_t n)
{
	return n > 0 && n <= FREEBIT_MAX_AUTHKEY && str_valid_text(k, n, 0) && !strchr(k, '"');
}

/* Calls /authOem/ and leaves the key in key (size FREEBIT_MAX_AUTHKEY+1). */
static int auth_oem(struct freebit_client *c, char *key, struct pt_err *err)
{
	struct json_object *req = json_object_new_object(), *reply = NULL;
	const char *k;
	int rc = -1;

	if (!req)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	json_object_object_add(req, "oemId", json_object_new_string(c->oem_id));
	json_object_object_add(req, "oemKey", json_object_new_string(c->oem_key));
	if (post_once(c, "/authOem/", req, &reply, err) != 0) {
		if (err && !strcmp(err->provider_code, "211"))
			log_crit("freebit OEM credentials rejected", "system", "freebit");
		goto out;
	}
	k = json_str_or(reply, "authKey", "");
	if (!valid_key(k, strlen(k))) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "freebit authOem: no usable authKey");
		pt_err_provider(err, "EBADREPLY");
		goto out;
	}
	str_lcpy(key, k, FREEBIT_MAX_AUTHKEY + 1);
	rc = 0;
out:
	/* The request object holds oemKey: overwrite before release. */
	json_object_object_add(req, "oemKey", json_object_new_string(""));
	json_object_put(req);
	json_object_put(reply);
	return rc;
}

/* 1 found, 0 missing, -1 Redis unusable. */
static int redis_get_key(struct freebit_client *c, char *key)
{
	struct pt_err e = { 0 };
	redisReply *r;
	int rc = -1;

	if (!c->redis)
		return -1;
	r = redis_cmd(c->redis, &e, "GET %s", FREEBIT_AUTH_KEY);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_STRING && valid_key(r->str, r->len)) {
		memcpy(key, r->str, r->len);
		key[r->len] = '\0';
		rc = 1;
	} else if (r->type == REDIS_REPLY_NIL || r->type == REDIS_REPLY_STRING) {
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

static void redis_store_key(struct freebit_client *c, const char *key)
{
	struct pt_err e = { 0 };
	redisReply *r;

	if (!c->redis)
		return;
	r = redis_cmd(c->redis, &e, "SET %s %s EX %d", FREEBIT_AUTH_KEY, key, FREEBIT_AUTH_TTL_S);
	freeReplyObject(r);
	r = redis_cmd(c->redis, &e, "DEL %s", FREEBIT_AUTH_LOCK);
	freeReplyObject(r);
}

/* 1 lock taken, 0 held by another process, -1 Redis unusable. */
static int redis_take_lock(struct freebit_client *c)
{
	struct pt_err e = { 0 };
	redisReply *r;
	char pid[24];
	int rc = -1;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	r = redis_cmd(c->redis, &e, "SET %s %s NX EX 10", FREEBIT_AUTH_LOCK, pid);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_STATUS)
		rc = 1;
	else if (r->type == REDIS_REPLY_NIL)
		rc = 0;
	freeReplyObject(r);
	return rc;
}

static int local_key(struct freebit_client *c, char *key, struct pt_err *err)
{
	if (c->local_key[0] && time(NULL) < c->local_key_exp) {
		str_lcpy(key, c->local_key, FREEBIT_MAX_AUTHKEY + 1);
		return 0;
	}
	if (auth_oem(c, key, err) != 0)
		return -1;
	str_lcpy(c->local_key, key, sizeof(c->local_key));
	c->local_key_exp = time(NULL) + FREEBIT_AUTH_TTL_S;
	return 0;
}

/* freebit.md §2: one process fetches a missing key, the others wait ≤ 2 s. */
static int get_key(struct freebit_client *c, char *key, struct pt_err *err)
{
	int st = redis_get_key(c, key), i;

	if (st == 1)
		return 0;
	if (st < 0)
		return local_key(c, key, err);
	st = redis_take_lock(c);
	if (st == 0) {
		for (i = 0; i < 20; i++) {
			struct timespec ts = { 0, 100 * 1000000L };
			nanosleep(&ts, NULL);
			if (redis_get_key(c, key) == 1)
				return 0;
		}
	}
	if (st < 0)
		return local_key(c, key, err);
	if (auth_oem(c, key, err) != 0)
		return -1;
	redis_store_key(c, key);
	return 0;
}

/* Drops the rejected key only if no other process has replaced it yet. */
static void forget_key(struct freebit_client *c, const char *key)
{
	static const char lua[] =
		"if redis.call('GET', KEYS[1]) == ARGV[1] then "
		"return redis.call('DEL', KEYS[1]) else return 0 end";
	struct pt_err e = { 0 };
	redisReply *r;

	if (!strcmp(c->local_key, key)) {
		memset(c->local_key, 0, sizeof(c->local_key));
		c->local_key_exp = 0;
	}
	if (!c->redis)
		return;
	r = redis_cmd(c->redis, &e, "EVAL %s 1 %s %s", lua, FREEBIT_AUTH_KEY, key);
	freeReplyObject(r);
}

int freebit_auth_refresh(struct freebit_client *c, struct pt_err *err)
{
	char key[FREEBIT_MAX_AUTHKEY + 1];

	if (auth_oem(c, key, err) != 0)
		return -1;
	str_lcpy(c->local_key, key, sizeof(c->local_key));
	c->local_key_exp = time(NULL) + FREEBIT_AUTH_TTL_S;
	redis_store_key(c, key);
	memset(key, 0, sizeof(key));
	return 0;
}

/* --- calls ------------------------------------------------------------- */

static int call_with_key(struct freebit_client *c, const char *path, struct json_object *req,
	const char *key, struct json_object **out, struct pt_err *err)
{
	struct json_object *payload = NULL;
	int rc;

	if (json_object_deep_copy(req, &payload, NULL) != 0 || !payload)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	json_object_object_add(payload, "authKey", json_object_new_string(key));
	rc = post_once(c, path, payload, out, err);
	json_object_put(payload);
	return rc;
}

static int is_code(const struct pt_err *err, const char *code)
{
	return err && !strcmp(err->provider_code, code);
}

/* One attempt including the single re-auth after a 210. */
static int attempt(struct freebit_client *c, const char *path, struct json_object *req,
	struct json_object **out, struct pt_err *err)
{
	char key[FREEBIT_MAX_AUTHKEY + 1];
	struct pt_err local = { 0 };
	struct pt_err *e = err ? err : &local;
	int rc;

	if (get_key(c, key, e) != 0)
		return -1;
	rc = call_with_key(c, path, req, key, out, e);
	if (rc != 0 && is_code(e, "210")) {
		log_info("freebit authKey rejected, re-authenticating", "system", "freebit", "op", path);
		forget_key(c, key);
		if (get_key(c, key, e) != 0)
			goto out;
		pt_err_clear(e);
		rc = call_with_key(c, path, req, key, out, e);
		if (rc != 0 && is_code(e, "210"))
			pt_err_set(e, PT_UPSTREAM_UNAVAILABLE, "freebit authKey rejected twice");
	}
out:
	memset(key, 0, sizeof(key));
	return rc;
}

/* Transport failure (E*, HTTP*) other than a timeout, or result code 500. */
static int retryable(const struct pt_err *err)
{
	const char *pc = err ? err->provider_code : "";

	if (!err || err->code != PT_UPSTREAM_UNAVAILABLE || !strcmp(pc, "ETIMEOUT"))
		return 0;
	return !strcmp(pc, "500") || pc[0] == 'E' || !strncmp(pc, "HTTP", 4);
}

int freebit_call(struct freebit_client *c, const char *path, struct json_object *req, int is_read,
	struct json_object **out, struct pt_err *err)
{
	int rc;

	*out = NULL;
	if (!c || !path || !req || !json_object_is_type(req, json_type_object))
		return pt_err_set(err, PT_INTERNAL, "freebit_call: bad arguments");
	rc = attempt(c, path, req, out, err);
	/* Reads retry once on a transport failure or 500 — but not after a
	 * timeout, so the caller still gets its answer within FREEBIT_TIMEOUT. */
	if (rc != 0 && is_read && retryable(err)) {
		struct timespec ts = { c->retry_delay_ms / 1000, (c->retry_delay_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		pt_err_clear(err);
		rc = attempt(c, path, req, out, err);
	}
	return rc;
}
