/* app/login — password login with the 2FA step-up, and password change.
 * A login answers the same INVALID_CREDENTIALS whether the email is unknown,
 * the password wrong or the user locked, and spends the same argon2id time
 * in each case (a dummy hash is verified when there is no user). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/rand.h"
#include "store/db.h"
#include "store/ratelimit.h"
#include "store/redis.h"

#define CHALLENGE_BYTES 32

struct cred {
	char id[21];
	char hash[CRYPTO_PWHASH_MAX];
	int active, totp;
};

/* found = 0 when no such user (cred filled with the dummy hash). */
static int cred_by(struct app_auth *a, const char *sql, const char *arg, struct cred *c,
	int *found, struct pt_err *err)
{
	const char *p[] = { arg };
	PGresult *r = db_exec(a->db, sql, 1, p, err);

	memset(c, 0, sizeof *c);
	*found = 0;
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		*found = 1;
		str_lcpy(c->id, PQgetvalue(r, 0, 0), sizeof c->id);
		str_lcpy(c->hash, PQgetvalue(r, 0, 1), sizeof c->hash);
		c->active = !strcmp(PQgetvalue(r, 0, 2), "active");
		c->totp = PQgetvalue(r, 0, 3)[0] == 't';
	} else {
		str_lcpy(c->hash, a->dummy_hash, sizeof c->hash);
	}
	PQclear(r);
	return 0;
}

#define CRED_SELECT "SELECT id, password_hash, status, totp_enabled FROM users "

static void challenge_key(const char *challenge, char *key, size_t sz, const char *suffix)
{
	char h[2 * CRYPTO_SHA256_LEN + 1];

	crypto_sha256_hex(challenge, strlen(challenge), h);
	snprintf(key, sz, "auth:2fa:%s%s", h, suffix);
}

static int challenge_new(struct app_auth *a, const char *user_id, char challenge[64],
	struct pt_err *err)
{
	char key[128];
	redisReply *rep;
	int ok;

	if (rand_token_b64url(challenge, 64, CHALLENGE_BYTES) != 0)
		return pt_err_set(err, PT_INTERNAL, "randomness failed");
	challenge_key(challenge, key, sizeof key, "");
	rep = redis_cmd(a->redis, err, "SET %s %s EX %d", key, user_id, APP_AUTH_CHALLENGE_TTL_S);
	ok = rep && rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	if (!ok) {
		err->retry_after = 5;
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis: challenge not stored");
	}
	return 0;
}

static void login_done(struct app_auth *a, const char *user_id)
{
	const char *p[] = { user_id };
	struct pt_err e;

	db_command(a->db, "UPDATE users SET last_login_at = now() WHERE id = $1", 1, p, &e);
}

int app_login(struct app_auth *a, const char *email_in, const char *password,
	struct app_user *out, enum app_login_result *result, char challenge[64],
	struct pt_err *err)
{
	char email[APP_AUTH_EMAIL_MAX + 1];
	struct cred c;
	int found = 0, ok;
	struct pt_err e;

	memset(out, 0, sizeof *out);
	*result = APP_LOGIN_OK;
	challenge[0] = '\0';
	if (app_email_normalise(email_in, email) != 0)
		str_lcpy(email, "invalid@invalid", sizeof email);   /* same path, same time */
	if (app_throttle_check(a, "login", email, err) != 0)
		return -1;
	if (cred_by(a, CRED_SELECT "WHERE email = $1", email, &c, &found, err) != 0)
		return -1;
	ok = crypto_password_verify(c.hash, password, a->pepper);
	if (!found || !ok || !c.active) {
		app_throttle_fail(a, "login", email);
		return pt_err_set(err, PT_INVALID_CREDENTIALS, "login failed");
	}
	pt_err_clear(&e);
	ratelimit_reset(a->redis, "login_acct", email, &e);
	if (c.totp) {
		*result = APP_LOGIN_TOTP;
		return challenge_new(a, c.id, challenge, err);
	}
	login_done(a, c.id);
	if (app_user_by_id(a, c.id, out, err) != 0)
		return -1;
	app_sf_sync(a, out);
	return 0;
}

/* The challenge's user, counting this try; UNAUTHENTICATED when unknown or
 * expired (start again with the password), RATE_LIMITED past the tries. */
static int challenge_use(struct app_auth *a, const char *challenge, char user_id[21],
	struct pt_err *err)
{
	char key[128], tries[140];
	redisReply *rep;
	long n = 0;

	challenge_key(challenge, key, sizeof key, "");
	challenge_key(challenge, tries, sizeof tries, ":tries");
	rep = redis_cmd(a->redis, err, "GET %s", key);
	if (!rep) {
		err->retry_after = 5;
		return pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "redis down");
	}
	if (rep->type != REDIS_REPLY_STRING || rep->len >= 21) {
		freeReplyObject(rep);
		return pt_err_set(err, PT_UNAUTHENTICATED, "unknown challenge");
	}
	str_lcpy(user_id, rep->str, 21);
	freeReplyObject(rep);
	rep = redis_cmd(a->redis, err, "INCR %s", tries);
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		n = (long)rep->integer;
	freeReplyObject(rep);
	freeReplyObject(redis_cmd(a->redis, err, "EXPIRE %s %d", tries, APP_AUTH_CHALLENGE_TTL_S));
	if (n > APP_AUTH_CHALLENGE_TRIES) {
		freeReplyObject(redis_cmd(a->redis, err, "DEL %s %s", key, tries));
		return pt_err_set(err, PT_UNAUTHENTICATED, "challenge used up");
	}
	return 0;
}

int app_login_2fa(struct app_auth *a, const char *challenge, const char *code,
	struct app_user *out, struct pt_err *err)
{
	char user_id[21], key[128], tries[140];
	struct pt_err e;

	memset(out, 0, sizeof *out);
	if (app_throttle_check(a, "totp", NULL, err) != 0)
		return -1;
	if (strlen(challenge) != 43 || challenge_use(a, challenge, user_id, err) != 0) {
		if (err->code != PT_UPSTREAM_UNAVAILABLE) {
			app_throttle_fail(a, "totp", NULL);
			pt_err_set(err, PT_UNAUTHENTICATED, "bad challenge");
		}
		return -1;
	}
	if (app_totp_check(a, user_id, code, err) != 0) {
		app_throttle_fail(a, "totp", NULL);
		return -1;
	}
	pt_err_clear(&e);
	challenge_key(challenge, key, sizeof key, "");
	challenge_key(challenge, tries, sizeof tries, ":tries");
	freeReplyObject(redis_cmd(a->redis, &e, "DEL %s %s", key, tries));
	login_done(a, user_id);
	if (app_user_by_id(a, user_id, out, err) != 0)
		return -1;
	app_sf_sync(a, out);
	return 0;
}

int app_password_change(struct app_auth *a, const char *user_id, const char *current,
	const char *new_password, struct pt_err *err)
{
	char hash[CRYPTO_PWHASH_MAX];
	struct app_user u;
	struct cred c;
	int found;

	if (app_throttle_check(a, "password", user_id, err) != 0)
		return -1;
	if (cred_by(a, CRED_SELECT "WHERE id = $1", user_id, &c, &found, err) != 0)
		return -1;
	if (!found || !crypto_password_verify(c.hash, current, a->pepper)) {
		app_throttle_fail(a, "password", user_id);
		return pt_err_field(err, PT_INVALID_CREDENTIALS, "current_password", "wrong password");
	}
	if (app_user_by_id(a, user_id, &u, err) != 0 ||
	    app_password_policy(a->common, new_password, u.email, "new_password", err) != 0)
		return -1;
	if (crypto_password_hash(new_password, a->pepper, hash) != 0)
		return pt_err_set(err, PT_INTERNAL, "hash failed");
	const char *p[] = { user_id, hash };
	if (db_command(a->db, "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
		2, p, err) < 0)
		return -1;
	const char *pa[] = { user_id, a->request_id };
	db_command(a->db, "INSERT INTO audit_log (user_id, actor, action, request_id) "
		"VALUES ($1, 'customer', 'password_change', $2)", 2, pa, err);
	pt_err_clear(err);
	return 0;
}
