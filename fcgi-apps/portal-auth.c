/* portal-auth.fcgi — accounts and sessions (portal-api.md "Auth",
 * resolutions §14, §15, §27, §28): sign-up, link, login (+ 2FA step),
 * logout, me, password change, sessions, password reset, 2FA enrolment.
 * Handlers read and shape-check the body, call the use case in src/app and
 * turn its user into a session: a new one at every login (any presented one
 * is destroyed first, so a fixated cookie is worthless), rotated at a
 * privilege change. Unsafe routes without a session check Origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/auth.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "salesforce/rest.h"
#include "store/session.h"
#include "web/app.h"
#include "web/guard.h"
#include "whmcs/client.h"

struct auth_app {
	struct sf_client *sf;
	struct whmcs_client *whmcs;
	struct app_password_list common;
	struct session_opts sess;
	char pepper[512];
	char dummy_hash[CRYPTO_PWHASH_MAX];
	long field_id, per_ip, per_account, window_s, max_body;
};

static struct auth_app *state(struct web_request *req)
{
	return web_ctx_user(req->ctx);
}

/* The use-case context of this request; PT_UPSTREAM_UNAVAILABLE without
 * Redis (sessions and throttles live there, resolutions §18), PT_MAINTENANCE
 * without a database handle. */
static int use_case(struct web_request *req, struct app_auth *a, struct pt_err *err)
{
	struct auth_app *st = state(req);

	memset(a, 0, sizeof *a);
	a->cfg = web_ctx_config(req->ctx);
	a->db = web_ctx_db(req->ctx);
	a->redis = web_ctx_redis(req->ctx);
	a->sf = st->sf;
	a->whmcs = st->whmcs;
	a->common = &st->common;
	a->pepper = st->pepper;
	a->dummy_hash = st->dummy_hash;
	a->customer_field_id = st->field_id;
	a->limit_per_ip = st->per_ip;
	a->limit_per_account = st->per_account;
	a->limit_window_s = st->window_s;
	a->client_ip = req->remote_addr;
	a->request_id = req->request_id;
	if (!a->redis) {
		err->retry_after = SESSION_RETRY_AFTER_S;
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "no redis");
	}
	if (!a->db)
		return pt_err_set(err, PT_MAINTENANCE, "no database");
	return 0;
}

static void put_json(void *o)
{
	json_object_put(o);
}

/* The request body as a JSON object (VALIDATION_FAILED naming "body"). */
static struct json_object *body_object(struct web_request *req, struct pt_err *err)
{
	struct json_object *o = json_parse_bounded(req->body, req->body_len,
		(size_t)state(req)->max_body, 8, err);

	if (!o) {
		if (err->code == PT_VALIDATION_FAILED && !err->field[0])
			str_lcpy(err->field, "body", sizeof err->field);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		pt_err_field(err, PT_VALIDATION_FAILED, "body", "not an object");
		return NULL;
	}
	if (web_defer(req, put_json, o) != 0) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	return o;
}

/* A required non-empty text field of at most max bytes. */
static int text(struct json_object *o, const char *key, const char *field, size_t max,
	int required, const char **out, struct pt_err *err)
{
	if (json_get_str(o, key, required, max, out, err) != 0) {
		str_lcpy(err->field, field, sizeof err->field);
		return -1;
	}
	if (required && (!*out || !**out))
		return pt_err_field(err, PT_VALIDATION_FAILED, field, "empty");
	if (*out && !str_valid_text(*out, strlen(*out), 0))
		return pt_err_field(err, PT_VALIDATION_FAILED, field, "not text");
	return 0;
}

static int email_field(struct json_object *o, const char **out, struct pt_err *err)
{
	char norm[APP_AUTH_EMAIL_MAX + 1];

	if (text(o, "email", "email", APP_AUTH_EMAIL_MAX, 1, out, err) != 0)
		return -1;
	if (app_email_normalise(*out, norm) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "email", "not an email");
	return 0;
}

/* ---- sessions ---------------------------------------------------------------- */

static struct json_object *user_body(const struct app_user *u, const char *csrf)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "user", app_user_json(u));
	json_object_object_add(o, "account", app_account_json(u));
	if (csrf)
		json_object_object_add(o, "csrf_token", json_object_new_string(csrf));
	return o;
}

/* Ends the session the request came with (session fixation: the cookie a
 * login was made with never becomes a logged-in one). */
static void drop_presented(struct web_request *req, struct redis *r)
{
	const char *tok = web_guard_session_token(req);
	struct session old;
	struct pt_err e;

	pt_err_clear(&e);
	if (tok && session_load(r, &state(req)->sess, tok, &old, &e) == 0)
		session_destroy(r, &old, &e);
}

static int issue_session(struct web_request *req, struct app_auth *a, const struct app_user *u,
	int status, struct pt_err *err)
{
	struct session_subject who = { u->id, u->sf_account_id, u->whmcs_client_id };
	const char *ua = web_header(req, "User-Agent");
	struct session s;

	drop_presented(req, a->redis);
	if (session_create(a->redis, &state(req)->sess, &who, req->remote_addr, ua, &s, err) != 0 ||
	    web_guard_set_session_cookie(req, s.token, err) != 0)
		return -1;
	return web_reply_json(req, status, user_body(u, s.csrf));
}

/* ---- sign-up, link, login -------------------------------------------------------- */

static int signup_address(struct json_object *o, struct app_signup *s, struct pt_err *err)
{
	struct json_object *ad;
	const char *v[5] = { 0 };
	static const struct { const char *key, *field; size_t max; int req; } f[] = {
		{ "postcode", "address.postcode", 15, 1 },
		{ "prefecture", "address.prefecture", 63, 1 },
		{ "city", "address.city", 127, 1 },
		{ "street", "address.street", 255, 1 },
		{ "building", "address.building", 255, 0 },
	};

	if (!json_object_object_get_ex(o, "address", &ad) || !json_object_is_type(ad, json_type_object))
		return pt_err_field(err, PT_VALIDATION_FAILED, "address", "missing or not an object");
	for (size_t i = 0; i < 5; i++)
		if (text(ad, f[i].key, f[i].field, f[i].max, f[i].req, &v[i], err) != 0)
			return -1;
	str_lcpy(s->address.postcode, v[0], sizeof s->address.postcode);
	str_lcpy(s->address.prefecture, v[1], sizeof s->address.prefecture);
	str_lcpy(s->address.city, v[2], sizeof s->address.city);
	str_lcpy(s->address.street, v[3], sizeof s->address.street);
	str_lcpy(s->address.building, v[4] ? v[4] : "", sizeof s->address.building);
	str_lcpy(s->address.country, "JP", sizeof s->address.country);
	return 0;
}

static int signup_body(struct web_request *req, struct app_signup *s, struct pt_err *err)
{
	struct json_object *o = body_object(req, err);

	memset(s, 0, sizeof *s);
	if (!o || text(o, "customer_number", "customer_number", APP_AUTH_CUSTOMER_NUMBER_MAX, 1,
		&s->customer_number, err) != 0 ||
	    email_field(o, &s->email, err) != 0 ||
	    text(o, "password", "password", APP_AUTH_PASSWORD_MAX, 1, &s->password, err) != 0 ||
	    text(o, "first_name", "first_name", 127, 1, &s->first_name, err) != 0 ||
	    text(o, "last_name", "last_name", 127, 1, &s->last_name, err) != 0 ||
	    text(o, "phone", "phone", 39, 1, &s->phone, err) != 0 ||
	    signup_address(o, s, err) != 0)
		return -1;
	return app_password_policy(&state(req)->common, s->password, s->email, "password", err);
}

static int h_signup(struct web_request *req, struct pt_err *err)
{
	struct app_signup s;
	struct app_auth a;
	struct app_user u;

	if (web_guard_check_origin(req, err) != 0 || use_case(req, &a, err) != 0 ||
	    signup_body(req, &s, err) != 0 || app_signup(&a, &s, &u, err) != 0)
		return -1;
	return issue_session(req, &a, &u, 201, err);
}

static int credentials(struct web_request *req, const char **email, const char **password,
	struct pt_err *err)
{
	struct json_object *o = body_object(req, err);

	return !o || email_field(o, email, err) != 0 ||
		text(o, "password", "password", APP_AUTH_PASSWORD_MAX, 1, password, err) != 0 ? -1 : 0;
}

static int h_link(struct web_request *req, struct pt_err *err)
{
	const char *email, *password;
	struct app_auth a;
	struct app_user u;

	if (web_guard_check_origin(req, err) != 0 || use_case(req, &a, err) != 0 ||
	    credentials(req, &email, &password, err) != 0 ||
	    app_link(&a, email, password, &u, err) != 0)
		return -1;
	return issue_session(req, &a, &u, 201, err);
}

/* 401 TOTP_REQUIRED in the usual error shape, plus the challenge id. */
static int reply_totp_required(struct web_request *req, const char *challenge)
{
	struct json_object *e = json_object_new_object(), *o = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string("TOTP_REQUIRED"));
	json_object_object_add(e, "message",
		json_object_new_string(pt_err_user_message(PT_TOTP_REQUIRED)));
	json_object_object_add(e, "request_id", json_object_new_string(req->request_id));
	json_object_object_add(e, "challenge_id", json_object_new_string(challenge));
	json_object_object_add(e, "expires_in", json_object_new_int(APP_AUTH_CHALLENGE_TTL_S));
	json_object_object_add(o, "error", e);
	return web_reply_json_bare(req, 401, o);
}

static int h_login(struct web_request *req, struct pt_err *err)
{
	const char *email, *password;
	enum app_login_result res;
	char challenge[64];
	struct app_auth a;
	struct app_user u;

	if (web_guard_check_origin(req, err) != 0 || use_case(req, &a, err) != 0 ||
	    credentials(req, &email, &password, err) != 0 ||
	    app_login(&a, email, password, &u, &res, challenge, err) != 0)
		return -1;
	if (res == APP_LOGIN_TOTP)
		return reply_totp_required(req, challenge);
	return issue_session(req, &a, &u, 200, err);
}

static int h_login_2fa(struct web_request *req, struct pt_err *err)
{
	const char *challenge, *code;
	struct json_object *o;
	struct app_auth a;
	struct app_user u;

	if (web_guard_check_origin(req, err) != 0 || use_case(req, &a, err) != 0 ||
	    !(o = body_object(req, err)) ||
	    text(o, "challenge_id", "challenge_id", 64, 1, &challenge, err) != 0 ||
	    text(o, "code", "code", 32, 1, &code, err) != 0 ||
	    app_login_2fa(&a, challenge, code, &u, err) != 0)
		return -1;
	return issue_session(req, &a, &u, 200, err);
}

/* ---- the session's own routes ------------------------------------------------------ */

static int h_logout(struct web_request *req, struct pt_err *err)
{
	struct session s;
	struct app_auth a;

	if (web_guard_require_session(req, &s, err) != 0 || use_case(req, &a, err) != 0 ||
	    session_destroy(a.redis, &s, err) != 0 ||
	    web_guard_clear_session_cookie(req, err) != 0)
		return -1;
	return web_reply_empty(req, 204);
}

static int h_me(struct web_request *req, struct pt_err *err)
{
	struct session s;
	struct app_auth a;
	struct app_user u;

	if (web_guard_require_session(req, &s, err) != 0 || use_case(req, &a, err) != 0 ||
	    app_user_by_id(&a, s.user_id, &u, err) != 0)
		return -1;
	return web_reply_json(req, 200, user_body(&u, s.csrf));
}

/* A privilege change: other sessions end, this one gets a new token (the
 * CSRF token is kept: a 204 cannot hand out a new one). */
static int rotate_current(struct web_request *req, struct app_auth *a, struct session *s,
	int end_others, struct pt_err *err)
{
	if (end_others &&
	    session_destroy_all_for_user(a->redis, s->user_id, s->hash, NULL, err) != 0)
		return -1;
	if (session_rotate(a->redis, &state(req)->sess, s, SESSION_ROTATE_KEEP_CSRF, err) != 0)
		return -1;
	return web_guard_set_session_cookie(req, s->token, err);
}

static int h_password(struct web_request *req, struct pt_err *err)
{
	const char *cur, *neu;
	struct json_object *o;
	struct session s;
	struct app_auth a;

	if (web_guard_require_session(req, &s, err) != 0 || use_case(req, &a, err) != 0 ||
	    !(o = body_object(req, err)) ||
	    text(o, "current_password", "current_password", APP_AUTH_PASSWORD_MAX, 1, &cur, err) ||
	    text(o, "new_password", "new_password", APP_AUTH_PASSWORD_MAX, 1, &neu, err) ||
	    app_password_change(&a, s.user_id, cur, neu, err) != 0 ||
	    rotate_current(req, &a, &s, 1, err) != 0)
		return -1;
	return web_reply_empty(req, 204);
}

static void rfc3339(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int h_sessions(struct web_request *req, struct pt_err *err)
{
	struct session_info *list = NULL;
	struct session s;
	struct app_auth a;
	size_t n = 0;
	char t[32];

	if (web_guard_require_session(req, &s, err) != 0 || use_case(req, &a, err) != 0 ||
	    session_list_for_user(a.redis, s.user_id, &list, &n, err) != 0)
		return -1;
	struct json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		/* a prefix of the hash names a session without being usable as one */
		json_object_object_add(e, "id", json_object_new_string_len(list[i].hash, 16));
		rfc3339(list[i].created, t);
		json_object_object_add(e, "created_at", json_object_new_string(t));
		rfc3339(list[i].last_seen, t);
		json_object_object_add(e, "last_seen_at", json_object_new_string(t));
		json_object_object_add(e, "ip", json_object_new_string(list[i].ip));
		json_object_object_add(e, "user_agent", json_object_new_string(list[i].user_agent));
		json_object_object_add(e, "current",
			json_object_new_boolean(!strcmp(list[i].hash, s.hash)));
		json_object_array_add(arr, e);
	}
	session_list_free(list);
	return web_reply_list(req, arr, 1, (long)n, (long)n);
}

static int h_sessions_delete(struct web_request *req, struct pt_err *err)
{
	struct session s;
	struct app_auth a;

	if (web_guard_require_session(req, &s, err) != 0 || use_case(req, &a, err) != 0 ||
	    session_destroy_all_for_user(a.redis, s.user_id, NULL, NULL, err) != 0 ||
	    web_guard_clear_session_cookie(req, err) != 0)
		return -1;
	return web_reply_empty(req, 204);
}

/* ---- password reset ------------------------------------------------------------------ */

static int h_reset(struct web_request *req, struct pt_err *err)
{
	struct json_object *o, *d;
	const char *email;
	struct app_auth a;

	if (web_guard_check_origin(req, err) != 0 || use_case(req, &a, err) != 0 ||
	    !(o = body_object(req, err)) ||
	    text(o, "email", "email", APP_AUTH_EMAIL_MAX, 1, &email, err) != 0 ||
	    app_reset_request(&a, email, err) != 0)
		return -1;
	d = json_object_new_object();
	json_object_object_add(d, "status", json_object_new_string("accepted"));
	return web_reply_json(req, 202, d);
}

static int h_reset_confirm(struct web_request *req, struct pt_err *err)
{
	const char *token, *pw;
	struct json_object *o;
	struct app_auth a;
	char uid[21];

	if (web_guard_check_origin(req, err) != 0 || use_case(req, &a, err) != 0 ||
	    !(o = body_object(req, err)) ||
	    text(o, "token", "token", 128, 1, &token, err) != 0 ||
	    text(o, "new_password", "new_password", APP_AUTH_PASSWORD_MAX, 1, &pw, err) != 0 ||
	    app_reset_confirm(&a, token, pw, uid, err) != 0 ||
	    session_destroy_all_for_user(a.redis, uid, NULL, NULL, err) != 0 ||
	    web_guard_clear_session_cookie(req, err) != 0)
		return -1;
	return web_reply_empty(req, 204);
}

/* ---- 2FA ---------------------------------------------------------------------------- */

static int h_2fa_setup(struct web_request *req, struct pt_err *err)
{
	char secret[64], uri[1024];
	struct session s;
	struct app_auth a;

	if (web_guard_require_session(req, &s, err) != 0 || use_case(req, &a, err) != 0 ||
	    app_totp_setup(&a, s.user_id, secret, uri, sizeof uri, err) != 0)
		return -1;
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "secret", json_object_new_string(secret));
	json_object_object_add(d, "otpauth_uri", json_object_new_string(uri));
	return web_reply_json(req, 200, d);
}

static int h_2fa_confirm(struct web_request *req, struct pt_err *err)
{
	char codes[APP_AUTH_RECOVERY_CODES][16];
	struct json_object *o;
	const char *code;
	struct session s;
	struct app_auth a;

	if (web_guard_require_session(req, &s, err) != 0 || use_case(req, &a, err) != 0 ||
	    !(o = body_object(req, err)) || text(o, "code", "code", 32, 1, &code, err) != 0 ||
	    app_totp_confirm(&a, s.user_id, code, codes, err) != 0 ||
	    rotate_current(req, &a, &s, 0, err) != 0)
		return -1;
	struct json_object *arr = json_object_new_array(), *d = json_object_new_object();
	for (int i = 0; i < APP_AUTH_RECOVERY_CODES; i++)
		json_object_array_add(arr, json_object_new_string(codes[i]));
	json_object_object_add(d, "totp_enabled", json_object_new_boolean(1));
	json_object_object_add(d, "recovery_codes", arr);
	return web_reply_json(req, 200, d);
}

static int h_2fa_disable(struct web_request *req, struct pt_err *err)
{
	const char *pw, *code;
	struct json_object *o;
	struct session s;
	struct app_auth a;

	if (web_guard_require_session(req, &s, err) != 0 || use_case(req, &a, err) != 0 ||
	    !(o = body_object(req, err)) ||
	    text(o, "password", "password", APP_AUTH_PASSWORD_MAX, 1, &pw, err) != 0 ||
	    text(o, "code", "code", 32, 1, &code, err) != 0 ||
	    app_totp_disable(&a, s.user_id, pw, code, err) != 0 ||
	    rotate_current(req, &a, &s, 0, err) != 0)
		return -1;
	return web_reply_empty(req, 204);
}

/* ---- app -------------------------------------------------------------------------------- */

static int init_config(const struct pt_config *cfg, struct auth_app *st, struct pt_err *err)
{
	const char *pepper = config_get(cfg, "PASSWORD_PEPPER");
	const char *list = config_get(cfg, "PASSWORD_COMMON_LIST");

	if (!pepper || strlen(pepper) < 16 || strlen(pepper) >= sizeof st->pepper)
		return pt_err_field(err, PT_CONFIG_INVALID, "PASSWORD_PEPPER",
			"PASSWORD_PEPPER: missing or shorter than 16");
	str_lcpy(st->pepper, pepper, sizeof st->pepper);
	if (session_opts_from_config(cfg, &st->sess, err) != 0 ||
	    config_get_long(cfg, "WHMCS_CUSTOMER_NUMBER_FIELD_ID", &st->field_id, err) != 0 ||
	    config_get_long(cfg, "RATE_LIMIT_LOGIN_PER_IP", &st->per_ip, err) != 0 ||
	    config_get_long(cfg, "RATE_LIMIT_LOGIN_PER_ACCOUNT", &st->per_account, err) != 0 ||
	    config_get_long(cfg, "RATE_LIMIT_LOGIN_WINDOW_S", &st->window_s, err) != 0 ||
	    config_get_long(cfg, "HTTP_MAX_BODY", &st->max_body, err) != 0)
		return -1;
	if (app_password_list_load(list ? list : "", &st->common, err) != 0) {
		str_lcpy(err->field, "PASSWORD_COMMON_LIST", sizeof err->field);
		return -1;
	}
	return 0;
}

static int init(struct web_ctx *ctx, struct pt_err *err)
{
	const struct pt_config *cfg = web_ctx_config(ctx);
	struct auth_app *st = calloc(1, sizeof *st);
	char dummy[40];

	if (!st)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	web_ctx_set_user(ctx, st);
	if (init_config(cfg, st, err) != 0)
		return -1;
	/* A hash of a random password, verified for unknown emails so that a
	 * miss costs the same argon2id time as a wrong password. */
	if (rand_hex(dummy, sizeof dummy, 16) != 0 ||
	    crypto_password_hash(dummy, st->pepper, st->dummy_hash) != 0)
		return pt_err_set(err, PT_INTERNAL, "dummy hash failed");
	st->sf = sf_client_new_config(cfg, web_ctx_redis(ctx), err);
	if (!st->sf)
		return -1;
	st->whmcs = whmcs_client_from_config(cfg, err);
	return st->whmcs ? 0 : -1;
}

static void fini(struct web_ctx *ctx)
{
	struct auth_app *st = web_ctx_user(ctx);

	if (!st)
		return;
	sf_client_free(st->sf);
	whmcs_client_free(st->whmcs);
	app_password_list_free(&st->common);
	free(st);
	web_ctx_set_user(ctx, NULL);
}

static const struct web_route routes[] = {
	{ WEB_POST, "/api/auth/signup", h_signup },
	{ WEB_POST, "/api/auth/link", h_link },
	{ WEB_POST, "/api/auth/login", h_login },
	{ WEB_POST, "/api/auth/login/2fa", h_login_2fa },
	{ WEB_POST, "/api/auth/logout", h_logout },
	{ WEB_GET, "/api/auth/me", h_me },
	{ WEB_POST, "/api/auth/password", h_password },
	{ WEB_GET, "/api/auth/sessions", h_sessions },
	{ WEB_DELETE, "/api/auth/sessions", h_sessions_delete },
	{ WEB_POST, "/api/auth/password-reset", h_reset },
	{ WEB_POST, "/api/auth/password-reset/confirm", h_reset_confirm },
	{ WEB_POST, "/api/auth/2fa/setup", h_2fa_setup },
	{ WEB_POST, "/api/auth/2fa/confirm", h_2fa_confirm },
	{ WEB_POST, "/api/auth/2fa/disable", h_2fa_disable },
};

static const char *const required[] = {
	"DATABASE_URL", "REDIS_URL", "PASSWORD_PEPPER", "SF_LOGIN_URL", "SF_CLIENT_ID",
	"SF_USERNAME", "WHMCS_API_URL", "WHMCS_API_IDENTIFIER", "WHMCS_API_SECRET",
	"WHMCS_CUSTOMER_NUMBER_FIELD_ID", NULL,
};

static const struct web_app_def app = {
	.name = "portal-auth",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
	.required_keys = required,
	.init = init,
	.fini = fini,
};

int main(int argc, char **argv)
{
	return web_app_run(&app, argc, argv);
}
