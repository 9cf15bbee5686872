/* auth — JWT bearer token minting and the fleet-wide shared token.
 * The Redis lock exists because a deploy starts dozens of FastCGI processes at
 * once and each would otherwise hit the OAuth endpoint (which rate-limits
 * logins) at the same moment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "salesforce/auth.h"
#include "store/redis.h"

#define TOKEN_BODY_MAX (64 * 1024)
#define KEY_FILE_MAX (64 * 1024)
#define JWT_LIFETIME_S 180
#define LOCK_PX_MS 5000
#define POLL_MS 50
/* How long a token read from Redis is reused from memory before re-reading:
 * short, so a refresh by another process is picked up soon. */
#define LOCAL_REUSE_S 30

struct sf_auth {
	char login_url[256];
	char audience[256];
	char client_id[256];
	char username[256];
	long token_ttl_s;
	long lock_wait_ms;
	EVP_PKEY *key;
	struct http_client *http;
	struct redis *redis;         /* borrowed, may be NULL */
	struct sf_token local;
	time_t local_until;          /* 0 = no local token */
};

/* ---- building blocks ------------------------------------------------------ */

int sf_auth_b64url(struct buf *out, const unsigned char *in, size_t n)
{
	size_t cap = 4 * ((n + 2) / 3) + 1;
	unsigned char *tmp = malloc(cap);
	int len, rc = -1;

	if (!tmp)
		return -1;
	len = EVP_EncodeBlock(tmp, in, (int)n);
	while (len > 0 && tmp[len - 1] == '=')
		len--;
	for (int i = 0; i < len; i++)
		if (tmp[i] == '+')
			tmp[i] = '-';
		else if (tmp[i] == '/')
			tmp[i] = '_';
	rc = buf_append(out, tmp, (size_t)len);
	free(tmp);
	return rc;
}

static int b64url_str(struct buf *out, const char *s)
{
	return sf_auth_b64url(out, (const unsigned char *)s, strlen(s));
}

static int rs256_sign(EVP_PKEY *key, const char *data, size_t len, struct buf *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int rc = -1;

	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, len) != 1)
		goto out;
	sig = malloc(siglen);
	if (!sig || EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, len) != 1)
		goto out;
	rc = sf_auth_b64url(out, sig, siglen);
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Signs exactly the bytes sent (out[start..] = header.claims), appends ".sig". */
static int jwt_append_signature(EVP_PKEY *key, struct buf *out, size_t start)
{
	struct buf sig;
	int rc = -1;

	buf_init(&sig, 0);
	if (rs256_sign(key, out->data + start, out->len - start, &sig) == 0 &&
	    buf_putc(out, '.') == 0 && buf_append(out, sig.data, sig.len) == 0)
		rc = 0;
	buf_free(&sig);
	return rc;
}

int sf_auth_jwt(EVP_PKEY *key, const char *iss, const char *sub, const char *aud,
	long exp, struct buf *out, struct pt_err *err)
{
	struct json_object *claims = json_object_new_object();
	size_t start = out->len;
	int rc = -1;

	if (!key || !iss || !sub || !aud || !claims) {
		pt_err_set(err, PT_INTERNAL, "salesforce jwt: missing key or claim");
		goto out;
	}
	json_object_object_add(claims, "iss", json_object_new_string(iss));
	json_object_object_add(claims, "sub", json_object_new_string(sub));
	json_object_object_add(claims, "aud", json_object_new_string(aud));
	json_object_object_add(claims, "exp", json_object_new_int64(exp));
	if (b64url_str(out, "{\"alg\":\"RS256\"}") || buf_putc(out, '.') ||
	    b64url_str(out, json_compact(claims, NULL))) {
		pt_err_set(err, PT_INTERNAL, "salesforce jwt: out of memory");
		goto out;
	}
	if (jwt_append_signature(key, out, start) != 0) {
		pt_err_set(err, PT_INTERNAL, "salesforce jwt: signing failed");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	json_object_put(claims);
	return rc;
}

static EVP_PKEY *key_from_mem(const unsigned char *data, size_t len)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	EVP_PKEY *k = NULL;

	if (!bio)
		return NULL;
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	BIO_free(bio);
	if (!k) {
		const unsigned char *p = data;
		k = d2i_AutoPrivateKey(NULL, &p, (long)len);
	}
	ERR_clear_error();
	return k;
}

static unsigned char *b64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in), j = 0;
	char *clean = malloc(n + 1);
	unsigned char *out = NULL;
	int len;

	if (!clean)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (in[i] != '\n' && in[i] != '\r' && in[i] != ' ' && in[i] != '\t')
			clean[j++] = in[i];
	clean[j] = '\0';
	out = malloc(j / 4 * 3 + 4);
	if (out && j % 4 == 0 &&
	    (len = EVP_DecodeBlock(out, (unsigned char *)clean, (int)j)) >= 0) {
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		if (j >= 1 && clean[j - 1] == '=')
			len--;
		if (j >= 2 && clean[j - 2] == '=')
			len--;
		*outlen = (size_t)len;
	} else {
		free(out);
		out = NULL;
	}
	free(clean);
	return out;
}

static char *read_small_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;

	if (!f)
		return NULL;
	data = malloc(KEY_FILE_MAX + 1);
	if (data) {
		*len = fread(data, 1, KEY_FILE_MAX + 1, f);
		if (*len > KEY_FILE_MAX || ferror(f)) {
			free(data);
			data = NULL;
		} else {
			data[*len] = '\0';
		}
	}
	fclose(f);
	return data;
}

EVP_PKEY *sf_auth_load_key(const char *pem, const char *base64, const char *path,
	struct pt_err *err)
{
	EVP_PKEY *k = NULL;
	unsigned char *raw = NULL;
	size_t len = 0;

	if (pem && *pem) {
		k = key_from_mem((const unsigned char *)pem, strlen(pem));
	} else if (base64 && *base64) {
		raw = b64_decode(base64, &len);
		if (raw)
			k = key_from_mem(raw, len);
	} else if (path && *path) {
		raw = (unsigned char *)read_small_file(path, &len);
		if (!raw) {
			pt_err_set(err, PT_CONFIG_INVALID, "SF_PRIVATE_KEY_PATH: cannot read %s", path);
			return NULL;
		}
		k = key_from_mem(raw, len);
	} else {
		pt_err_set(err, PT_CONFIG_INVALID,
			"SF_PRIVATE_KEY_PATH / SF_PRIVATE_KEY_BASE64: missing");
		return NULL;
	}
	if (raw) {
		OPENSSL_cleanse(raw, len);
		free(raw);
	}
	if (!k)
		pt_err_set(err, PT_CONFIG_INVALID, "%s: not a readable private key",
			base64 && *base64 ? "SF_PRIVATE_KEY_BASE64" : "SF_PRIVATE_KEY_PATH");
	else if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		k = NULL;
		pt_err_set(err, PT_CONFIG_INVALID, "salesforce private key: RS256 needs an RSA key");
	}
	return k;
}

/* instance_url ends up as the base of every data call: only a plain
 * http(s) origin without spaces, quotes or a path trick is accepted. */
static int instance_url_ok(const char *u)
{
	size_t n = strlen(u);

	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7F || u[i] == '"' ||
		    u[i] == '\\' || u[i] == '?' || u[i] == '#' || u[i] == '@')
			return 0;
	return n > 8;
}

int sf_auth_parse_token_response(long status, const char *body, size_t len,
	struct sf_token *out, struct pt_err *err)
{
	struct pt_err perr;
	struct json_object *doc = json_parse_bounded(body, len, TOKEN_BODY_MAX, 4, &perr);
	const char *tok = NULL, *url = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (status != 200 || !doc || !json_object_is_type(doc, json_type_object)) {
		const char *code = doc && json_object_is_type(doc, json_type_object)
			? json_str_or(doc, "error", "") : "";
		char scode[24];
		if (!*code || strlen(code) > 40 || !str_valid_text(code, strlen(code), 0)) {
			snprintf(scode, sizeof scode, "%ld", status);
			code = scode;
		}
		pt_err_set(err, status >= 500 || status == 429 ? PT_UPSTREAM_UNAVAILABLE
			: PT_UPSTREAM_ERROR, "salesforce token request refused (HTTP %ld)", status);
		pt_err_provider(err, code);
		goto out;
	}
	if (json_get_str(doc, "access_token", 1, sizeof out->access_token - 1, &tok, &perr) ||
	    json_get_str(doc, "instance_url", 1, sizeof out->instance_url - 1, &url, &perr) ||
	    !*tok || !str_valid_text(tok, strlen(tok), 0) || !instance_url_ok(url)) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce token response malformed");
		pt_err_provider(err, "BAD_TOKEN_RESPONSE");
		goto out;
	}
	str_lcpy(out->access_token, tok, sizeof out->access_token);
	str_lcpy(out->instance_url, url, sizeof out->instance_url);
	/* A trailing slash would give "//services/…" paths. */
	for (size_t n = strlen(out->instance_url); n > 0 && out->instance_url[n - 1] == '/'; n--)
		out->instance_url[n - 1] = '\0';
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

/* ---- construction ------------------------------------------------------- */

/* Takes ownership of key (NULL = load it as the options say). */
static struct sf_auth *auth_create(const struct sf_auth_opts *o, EVP_PKEY *key,
	struct redis *redis, struct pt_err *err)
{
	struct sf_auth *a = calloc(1, sizeof *a);
	struct http_client_opts ho = { 0 };

	if (!a) {
		EVP_PKEY_free(key);
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	a->key = key;
	if (!o->login_url || !*o->login_url || !o->client_id || !*o->client_id ||
	    !o->username || !*o->username) {
		pt_err_set(err, PT_CONFIG_INVALID, "SF_LOGIN_URL, SF_CLIENT_ID, SF_USERNAME: required");
		goto fail;
	}
	str_lcpy(a->login_url, o->login_url, sizeof a->login_url);
	for (size_t n = strlen(a->login_url); n > 0 && a->login_url[n - 1] == '/'; n--)
		a->login_url[n - 1] = '\0';
	str_lcpy(a->audience, o->audience && *o->audience ? o->audience : a->login_url,
		sizeof a->audience);
	str_lcpy(a->client_id, o->client_id, sizeof a->client_id);
	str_lcpy(a->username, o->username, sizeof a->username);
	a->token_ttl_s = o->token_ttl_s > 600 ? o->token_ttl_s : 7200;
	a->lock_wait_ms = o->lock_wait_ms > 0 ? o->lock_wait_ms : 6000;
	if (!a->key)
		a->key = sf_auth_load_key(o->private_key_pem, NULL, o->private_key_path, err);
	if (!a->key)
		goto fail;
	ho.system = "salesforce";
	ho.total_timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	ho.connect_timeout_ms = ho.total_timeout_ms < 3000 ? ho.total_timeout_ms : 3000;
	ho.max_response = TOKEN_BODY_MAX;
	a->http = http_client_new(&ho);
	if (!a->http) {
		pt_err_set(err, PT_INTERNAL, "salesforce auth: http client");
		goto fail;
	}
	a->redis = redis;
	return a;
fail:
	sf_auth_free(a);
	return NULL;
}

struct sf_auth *sf_auth_new_config(const struct pt_config *cfg, struct redis *redis,
	struct pt_err *err)
{
	struct sf_auth_opts o = { 0 };
	const char *b64 = config_get(cfg, "SF_PRIVATE_KEY_BASE64");
	EVP_PKEY *k = NULL;
	struct sf_auth *a;
	long ttl = 7200, timeout = 10000;

	if (config_get_long(cfg, "SF_TOKEN_TTL_S", &ttl, err) ||
	    config_get_long(cfg, "SF_TIMEOUT_MS", &timeout, err))
		return NULL;
	o.login_url = config_get(cfg, "SF_LOGIN_URL");
	o.audience = config_get(cfg, "SF_AUDIENCE");
	o.client_id = config_get(cfg, "SF_CLIENT_ID");
	o.username = config_get(cfg, "SF_USERNAME");
	o.private_key_path = config_get(cfg, "SF_PRIVATE_KEY_PATH");
	o.token_ttl_s = ttl;
	o.timeout_ms = timeout;
	if (b64 && *b64) {
		/* Decode here so sf_auth_new only ever sees PEM text or a path. */
		k = sf_auth_load_key(NULL, b64, NULL, err);
		if (!k)
			return NULL;
		o.private_key_path = NULL;
		o.private_key_pem = "";
	}
	a = auth_create(&o, k, redis, err);
	return a;
}

struct sf_auth *sf_auth_new(const struct sf_auth_opts *o, struct redis *redis,
	struct pt_err *err)
{
	return auth_create(o, NULL, redis, err);
}

void sf_auth_free(struct sf_auth *a)
{
	if (!a)
		return;
	EVP_PKEY_free(a->key);
	http_client_free(a->http);
	OPENSSL_cleanse(&a->local, sizeof a->local);
	free(a);
}

/* ---- token endpoint --------------------------------------------------------- */

static int fetch_token(struct sf_auth *a, struct sf_token *out, struct pt_err *err)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json", NULL };
	struct buf jwt, body, url;
	struct http_response resp;
	struct http_request req = { 0 };
	int rc = -1;

	buf_init(&jwt, 0);
	buf_init(&body, 0);
	buf_init(&url, 0);
	memset(&resp, 0, sizeof resp);
	if (sf_auth_jwt(a->key, a->client_id, a->username, a->audience,
		(long)time(NULL) + JWT_LIFETIME_S, &jwt, err))
		goto out;
	if (buf_puts(&body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
		"&assertion=") || buf_append(&body, jwt.data, jwt.len) ||
	    buf_printf(&url, "%s/services/oauth2/token", a->login_url)) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto out;
	}
	req.method = "POST";
	req.url = buf_cstr(&url);
	req.headers = headers;
	req.body = body.data;
	req.body_len = body.len;
	req.idempotent = 0;  /* one login per attempt: the acceptance counts them */
	req.op = "token";
	if (http_do(a->http, &req, &resp, err))
		goto out;
	rc = sf_auth_parse_token_response(resp.status, resp.body.data, resp.body.len, out, err);
	if (rc == 0)
		log_info("salesforce token obtained", "system", "salesforce", "op", "token");
	else
		log_error("salesforce token refused", "system", "salesforce", "op", "token",
			"provider_code", err ? err->provider_code : "");
out:
	if (jwt.data)
		OPENSSL_cleanse(jwt.data, jwt.len);
	if (body.data)
		OPENSSL_cleanse(body.data, body.len);
	if (resp.body.data)
		OPENSSL_cleanse(resp.body.data, resp.body.len);
	buf_free(&jwt);
	buf_free(&body);
	buf_free(&url);
	http_response_free(&resp);
	return rc;
}

/* ---- sharing through Redis ------------------------------------------------- */

static int token_decode(const char *s, size_t len, struct sf_token *out)
{
	struct pt_err e;
	return sf_auth_parse_token_response(200, s, len, out, &e);
}

static char *token_encode(const struct sf_token *t)
{
	struct json_object *o = json_object_new_object();
	char *s = NULL;

	if (!o)
		return NULL;
	json_object_object_add(o, "access_token", json_object_new_string(t->access_token));
	json_object_object_add(o, "instance_url", json_object_new_string(t->instance_url));
	s = strdup(json_compact(o, NULL));
	json_object_put(o);
	return s;
}

static void local_keep(struct sf_auth *a, const struct sf_token *t, long seconds)
{
	a->local = *t;
	a->local_until = time(NULL) + seconds;
}

/* 1 = found (out filled), 0 = not there, -1 = Redis unavailable. */
static int redis_get_token(struct sf_auth *a, struct sf_token *out)
{
	struct pt_err e;
	redisReply *r = redis_cmd(a->redis, &e, "GET %s", SF_AUTH_TOKEN_KEY);
	int rc = -1;

	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (r->type == REDIS_REPLY_STRING)
		rc = token_decode(r->str, r->len, out) == 0 ? 1 : 0;
	freeReplyObject(r);
	return rc;
}

static void redis_put_token(struct sf_auth *a, const struct sf_token *t)
{
	struct pt_err e;
	char *json = token_encode(t);
	redisReply *r;

	if (!json)
		return;
	r = redis_cmd(a->redis, &e, "SET %s %s EX %ld", SF_AUTH_TOKEN_KEY, json,
		a->token_ttl_s - 300);
	if (r)
		freeReplyObject(r);
	OPENSSL_cleanse(json, strlen(json));
	free(json);
}

/* 1 = we hold the lock, 0 = someone else does, -1 = Redis unavailable. */
static int redis_lock(struct sf_auth *a, const char *val)
{
	struct pt_err e;
	redisReply *r = redis_cmd(a->redis, &e, "SET %s %s NX PX %d", SF_AUTH_LOCK_KEY, val,
		LOCK_PX_MS);
	int rc = -1;

	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_STATUS)
		rc = 1;
	else if (r->type == REDIS_REPLY_NIL)
		rc = 0;
	freeReplyObject(r);
	return rc;
}

/* Deletes key only while it still holds what we expect, so a slow process
 * never removes a lock or token that another process has since replaced. */
static void redis_del_if(struct sf_auth *a, const char *key, const char *script,
	const char *expect)
{
	struct pt_err e;
	redisReply *r = redis_cmd(a->redis, &e, "EVAL %s 1 %s %s", script, key, expect);

	if (r)
		freeReplyObject(r);
}

static const char unlock_lua[] =
	"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
static const char forget_lua[] =
	"local v = redis.call('get', KEYS[1]) if v then local ok, t = pcall(cjson.decode, v) "
	"if not ok or t.access_token == ARGV[1] then return redis.call('del', KEYS[1]) end end "
	"return 0";

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Fetches without Redis; the token lives in this process only. */
static int token_unshared(struct sf_auth *a, struct sf_token *out, struct pt_err *err)
{
	if (fetch_token(a, out, err))
		return -1;
	local_keep(a, out, a->token_ttl_s - 300);
	return 0;
}

static int token_shared(struct sf_auth *a, struct sf_token *out, struct pt_err *err)
{
	long deadline = mono_ms() + a->lock_wait_ms;
	char lockval[33];

	if (rand_hex(lockval, sizeof lockval, 16))
		return pt_err_set(err, PT_INTERNAL, "salesforce auth: no randomness");
	for (;;) {
		int got = redis_get_token(a, out);
		if (got < 0)
			return token_unshared(a, out, err);
		if (got == 1) {
			local_keep(a, out, LOCAL_REUSE_S);
			return 0;
		}
		int lk = redis_lock(a, lockval);
		if (lk < 0)
			return token_unshared(a, out, err);
		if (lk == 1) {
			int rc = 0;
			/* Another process may have stored a token and released the
			 * lock between our GET and our SET NX: look again first. */
			if (redis_get_token(a, out) != 1) {
				rc = fetch_token(a, out, err);
				if (rc == 0)
					redis_put_token(a, out);
			}
			if (rc == 0)
				local_keep(a, out, LOCAL_REUSE_S);
			redis_del_if(a, SF_AUTH_LOCK_KEY, unlock_lua, lockval);
			return rc;
		}
		if (mono_ms() >= deadline)
			break;
		sleep_ms(POLL_MS);
	}
	/* The lock holder is stuck or gone: do not leave the customer waiting. */
	log_warn("salesforce token lock wait timed out", "system", "salesforce", "op", "token");
	return token_unshared(a, out, err);
}

int sf_auth_token(struct sf_auth *a, struct sf_token *out, struct pt_err *err)
{
	if (a->local_until > time(NULL)) {
		*out = a->local;
		return 0;
	}
	if (!a->redis)
		return token_unshared(a, out, err);
	return token_shared(a, out, err);
}

int sf_auth_refresh(struct sf_auth *a, const struct sf_token *stale, struct sf_token *out,
	struct pt_err *err)
{
	a->local_until = 0;
	if (a->redis && stale)
		redis_del_if(a, SF_AUTH_TOKEN_KEY, forget_lua, stale->access_token);
	return sf_auth_token(a, out, err);
}
