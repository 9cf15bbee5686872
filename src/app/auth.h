/* app/auth — the use cases behind portal-auth.fcgi (issue 6 items 1-5):
 * sign-up, link, login, password change and reset, 2FA. They take C values
 * the app has validated for shape, talk to PostgreSQL, Redis, Salesforce and
 * WHMCS, and return portal users; sessions and cookies stay in the app.
 * Account ids come from the database (or from a session), never from input. */
#ifndef PT_APP_AUTH_H
#define PT_APP_AUTH_H
#include <stddef.h>
#include <json-c/json.h>
#include "core/config.h"
#include "core/crypto.h"
#include "core/err.h"
#include "domain/profile.h"

struct db;
struct redis;
struct sf_client;
struct whmcs_client;

#define APP_AUTH_PASSWORD_MIN 12
#define APP_AUTH_PASSWORD_MAX 256   /* bytes; argon2 does not care, abuse does */
#define APP_AUTH_EMAIL_MAX 254
#define APP_AUTH_CUSTOMER_NUMBER_MAX 64
#define APP_AUTH_RESET_TTL_S 1800
#define APP_AUTH_CHALLENGE_TTL_S 300
#define APP_AUTH_CHALLENGE_TRIES 5
#define APP_AUTH_RECOVERY_CODES 10
#define APP_AUTH_TOTP_SECRET_BYTES 20

/* The sorted, lower-cased common-password list (data/common-passwords.txt). */
struct app_password_list {
	char **words;
	size_t n;
};
/* One word per line, '#' comments and blank lines skipped. -1 + PT_CONFIG_INVALID. */
int app_password_list_load(const char *path, struct app_password_list *out, struct pt_err *err);
void app_password_list_free(struct app_password_list *l);
/* 0, or -1 + PT_WEAK_PASSWORD (field "password"-like name given) when shorter
 * than APP_AUTH_PASSWORD_MIN characters (UTF-8 code points), on the list
 * (case-insensitively), equal to the email or its local part, or one
 * repeated character. Longer than APP_AUTH_PASSWORD_MAX bytes is
 * VALIDATION_FAILED. list may be NULL (length rules only). */
int app_password_policy(const struct app_password_list *list, const char *password,
	const char *email, const char *field, struct pt_err *err);
/* Email shape for sign-up/login bodies: 3..254 bytes, one '@' not first or
 * last, no spaces or controls. Lower-cases into out. */
int app_email_normalise(const char *in, char out[APP_AUTH_EMAIL_MAX + 1]);

struct app_auth {
	const struct pt_config *cfg;
	struct db *db;
	struct redis *redis;
	struct sf_client *sf;
	struct whmcs_client *whmcs;
	const struct app_password_list *common;
	const char *pepper;
	const char *dummy_hash;       /* verified when the user does not exist */
	long customer_field_id;
	long limit_per_ip, limit_per_account, limit_window_s;
	const char *client_ip;        /* for rate limits and WHMCS AddClient */
	const char *request_id;
};

struct app_user {
	char id[21];
	char email[APP_AUTH_EMAIL_MAX + 1];
	char status[16];
	int totp_enabled;
	char created_at[40];
	char sf_account_id[19];
	char whmcs_client_id[21];
	int sf_synced;
};
/* {"id","email","totp_enabled","created_at"} and {"sf_account_id","whmcs_client_id"}. */
struct json_object *app_user_json(const struct app_user *u);
struct json_object *app_account_json(const struct app_user *u);

/* By id (from a session); PT_UNAUTHENTICATED when it no longer exists. */
int app_user_by_id(struct app_auth *a, const char *user_id, struct app_user *out,
	struct pt_err *err);

/* ---- sign-up and link (signup.c) ---- */
struct app_signup {
	const char *customer_number, *email, *password, *first_name, *last_name, *phone;
	struct domain_address address;
};
int app_signup(struct app_auth *a, const struct app_signup *s, struct app_user *out,
	struct pt_err *err);
int app_link(struct app_auth *a, const char *email, const char *password,
	struct app_user *out, struct pt_err *err);
/* Writes WHMCS_Client_ID__c + Portal_Status__c = Active and marks the
 * mapping synced; failures are logged and left for the next try. */
void app_sf_sync(struct app_auth *a, struct app_user *u);

/* ---- login and password (login.c) ---- */
enum app_login_result { APP_LOGIN_OK, APP_LOGIN_TOTP };
/* INVALID_CREDENTIALS (same for unknown email, wrong password, locked
 * user), RATE_LIMITED, or *result = APP_LOGIN_TOTP with challenge set
 * (APP_AUTH_CHALLENGE_TTL_S, Redis) when the user has 2FA on. */
int app_login(struct app_auth *a, const char *email, const char *password,
	struct app_user *out, enum app_login_result *result, char challenge[64],
	struct pt_err *err);
/* Second step: a TOTP code or a recovery code for the challenge. */
int app_login_2fa(struct app_auth *a, const char *challenge, const char *code,
	struct app_user *out, struct pt_err *err);
int app_password_change(struct app_auth *a, const char *user_id, const char *current,
	const char *new_password, struct pt_err *err);
/* Throttle helpers shared by the routes: PEEK on (scope, id) pairs before an
 * attempt, hit after a failure. id may be NULL (skipped). */
int app_throttle_check(struct app_auth *a, const char *scope, const char *account_id,
	struct pt_err *err);
void app_throttle_fail(struct app_auth *a, const char *scope, const char *account_id);

/* ---- password reset (password_reset.c) ---- */
/* Always 0 unless throttled or Redis is down: a missing user is not an error. */
int app_reset_request(struct app_auth *a, const char *email, struct pt_err *err);
int app_reset_confirm(struct app_auth *a, const char *token, const char *new_password,
	char user_id[21], struct pt_err *err);
/* The mail text, exposed for unit tests. */
int app_reset_mail_body(const char *base_url, const char *token, char *out, size_t outsz);

/* ---- 2FA (totp.c) ---- */
int app_totp_setup(struct app_auth *a, const char *user_id, char secret_b32[64],
	char *uri, size_t urisz, struct pt_err *err);
/* On success codes[] gets APP_AUTH_RECOVERY_CODES fresh recovery codes. */
int app_totp_confirm(struct app_auth *a, const char *user_id, const char *code,
	char codes[APP_AUTH_RECOVERY_CODES][16], struct pt_err *err);
int app_totp_disable(struct app_auth *a, const char *user_id, const char *password,
	const char *code, struct pt_err *err);
/* TOTP code or recovery code of an enabled user: 0 or -1 + TOTP_INVALID. */
int app_totp_check(struct app_auth *a, const char *user_id, const char *code,
	struct pt_err *err);
/* otpauth://totp/<issuer>:<email>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30 */
int app_totp_uri(const char *issuer, const char *email, const char *secret_b32, char *out,
	size_t outsz);
/* Keyed hash of a recovery code (normalised: lower-case, no '-' or spaces). */
void app_recovery_hash(const char *pepper, const char *code, char out[2 * CRYPTO_SHA256_LEN + 1]);

#endif
