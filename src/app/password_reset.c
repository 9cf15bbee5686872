/* app/password_reset — "forgot password": a single-use token (only its
 * SHA-256 stored, 30-minute TTL) mailed to the user, and the confirm step
 * that sets the new password. The request answers the same whether the
 * email exists or not; the caller ends every session after a confirm. */
#include <stdio.h>
#include <string.h>

#include "app/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mail.h"
#include "core/rand.h"
#include "store/db.h"
#include "store/ratelimit.h"

#define RESET_TOKEN_BYTES 32
#define RESET_PER_EMAIL 3   /* mails per email per throttle window */

int app_reset_mail_body(const char *base_url, const char *token, char *out, size_t outsz)
{
	int n = snprintf(out, outsz,
		"Someone asked to reset the password of your portal account.\n\n"
		"To choose a new password, open this link within 30 minutes:\n\n"
		"%s/reset-password?token=%s\n\n"
		"The link works once. If you did not ask for this, ignore this mail:\n"
		"your password stays as it is.\n",
		base_url && *base_url ? base_url : "", token);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

static void reset_mail(struct app_auth *a, const char *email, const char *token)
{
	char body[2048];
	const char *base = config_get(a->cfg, "PUBLIC_BASE_URL");
	struct mail_msg m = {
		.from = config_get(a->cfg, "MAIL_FROM"),
		.to = email,
		.subject = "Reset your portal password",
		.body = body,
	};
	struct pt_err e;
	size_t bl = base ? strlen(base) : 0;
	char b[512];

	/* the link is base + path: drop a trailing '/' of the configured URL */
	str_lcpy(b, base ? base : "", sizeof b);
	if (bl && bl < sizeof b && b[bl - 1] == '/')
		b[bl - 1] = '\0';
	pt_err_clear(&e);
	if (!m.from || app_reset_mail_body(b, token, body, sizeof body) != 0 ||
	    mail_send(config_get(a->cfg, "SMTP_URL"), &m, 10000, &e) != 0)
		log_error("password reset mail not sent", "code", pt_err_code_name(e.code),
			"detail", e.detail);
}

int app_reset_request(struct app_auth *a, const char *email_in, struct pt_err *err)
{
	char email[APP_AUTH_EMAIL_MAX + 1], token[64], hash[2 * CRYPTO_SHA256_LEN + 1];
	char ttl[16];
	struct pt_err e;
	PGresult *r;

	if (app_throttle_check(a, "reset", NULL, err) != 0)
		return -1;
	/* Every request counts per address (not only failures: each may send mail). */
	app_throttle_fail(a, "reset", NULL);
	if (app_email_normalise(email_in, email) != 0)
		return 0;
	pt_err_clear(&e);
	/* Past the per-email limit nothing more is sent, and nothing tells. */
	if (ratelimit_hit(a->redis, "reset_mail", email, RESET_PER_EMAIL, a->limit_window_s, 0,
		NULL, &e) != 0)
		return 0;
	r = db_exec(a->db, "SELECT id FROM users WHERE email = $1 AND status = 'active'", 1,
		(const char *const[]){ email }, err);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	char uid[21];
	str_lcpy(uid, PQgetvalue(r, 0, 0), sizeof uid);
	PQclear(r);
	if (rand_token_b64url(token, sizeof token, RESET_TOKEN_BYTES) != 0)
		return pt_err_set(err, PT_INTERNAL, "randomness failed");
	crypto_sha256_hex(token, strlen(token), hash);
	snprintf(ttl, sizeof ttl, "%d", APP_AUTH_RESET_TTL_S);
	if (db_command(a->db, "INSERT INTO password_reset_tokens (token_hash, user_id, expires_at) "
		"VALUES ($1, $2, now() + make_interval(secs => $3::int))", 3,
		(const char *const[]){ hash, uid, ttl }, err) < 0)
		return -1;
	reset_mail(a, email, token);
	return 0;
}

int app_reset_confirm(struct app_auth *a, const char *token, const char *new_password,
	char user_id[21], struct pt_err *err)
{
	char hash[2 * CRYPTO_SHA256_LEN + 1], pw[CRYPTO_PWHASH_MAX], email[APP_AUTH_EMAIL_MAX + 1];
	PGresult *r;
	int rc = -1;

	user_id[0] = '\0';
	if (app_throttle_check(a, "reset_confirm", NULL, err) != 0)
		return -1;
	crypto_sha256_hex(token, strlen(token), hash);
	/* The policy needs the email; look the token up without using it yet. */
	r = db_exec(a->db, "SELECT u.id, u.email FROM password_reset_tokens t JOIN users u "
		"ON u.id = t.user_id WHERE t.token_hash = $1 AND t.used_at IS NULL "
		"AND t.expires_at > now()", 1, (const char *const[]){ hash }, err);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		app_throttle_fail(a, "reset_confirm", NULL);
		return pt_err_field(err, PT_RESET_TOKEN_INVALID, "token", "unknown/used/expired");
	}
	str_lcpy(user_id, PQgetvalue(r, 0, 0), 21);
	str_lcpy(email, PQgetvalue(r, 0, 1), sizeof email);
	PQclear(r);
	if (app_password_policy(a->common, new_password, email, "new_password", err) != 0)
		return -1;
	if (crypto_password_hash(new_password, a->pepper, pw) != 0)
		return pt_err_set(err, PT_INTERNAL, "hash failed");
	if (db_begin(a->db, err) != 0)
		return -1;
	/* Marking it used in the transaction makes the token single-use even
	 * when two confirms race. */
	long n = db_command(a->db, "UPDATE password_reset_tokens SET used_at = now() "
		"WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()", 1,
		(const char *const[]){ hash }, err);
	if (n != 1) {
		if (n == 0)
			pt_err_field(err, PT_RESET_TOKEN_INVALID, "token", "used meanwhile");
		goto out;
	}
	if (db_command(a->db, "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
		2, (const char *const[]){ user_id, pw }, err) != 1 ||
	    db_command(a->db, "UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 "
		"AND used_at IS NULL", 1, (const char *const[]){ user_id }, err) < 0 ||
	    db_command(a->db, "INSERT INTO audit_log (user_id, actor, action, request_id) "
		"VALUES ($1, 'customer', 'password_reset', $2)", 2,
		(const char *const[]){ user_id, a->request_id }, err) < 0 ||
	    db_commit(a->db, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		db_rollback(a->db);
	return rc;
}
