/* app/totp — optional TOTP 2FA (RFC 6238 via core/crypto): enrolment with an
 * otpauth:// URI, confirmation with a first code (which turns it on and
 * hands out 10 single-use recovery codes, stored as keyed hashes), checks
 * at login that refuse a replayed time step, and disable with password +
 * code. The secret is kept AES-256-GCM-encrypted under a key derived from
 * PASSWORD_PEPPER, so a database dump alone does not yield it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "app/auth.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/rand.h"
#include "store/db.h"

#define GCM_IV 12
#define GCM_TAG 16
#define SECRET_BLOB (GCM_IV + APP_AUTH_TOTP_SECRET_BYTES + GCM_TAG)

static void secret_key(const char *pepper, unsigned char key[CRYPTO_SHA256_LEN])
{
	static const char label[] = "portal totp secret v1";

	crypto_hmac_sha256(pepper, strlen(pepper), label, sizeof label - 1, key);
}

/* plain (APP_AUTH_TOTP_SECRET_BYTES) → iv || ciphertext || tag. */
static int secret_seal(const char *pepper, const unsigned char *plain, unsigned char *blob)
{
	unsigned char key[CRYPTO_SHA256_LEN];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	secret_key(pepper, key);
	ok = c && rand_bytes(blob, GCM_IV) == 0 &&
		EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, blob) == 1 &&
		EVP_EncryptUpdate(c, blob + GCM_IV, &n, plain, APP_AUTH_TOTP_SECRET_BYTES) == 1 &&
		EVP_EncryptFinal_ex(c, blob + GCM_IV + n, &n) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG,
			blob + GCM_IV + APP_AUTH_TOTP_SECRET_BYTES) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int secret_open(const char *pepper, const unsigned char *blob, unsigned char *plain)
{
	unsigned char key[CRYPTO_SHA256_LEN];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	secret_key(pepper, key);
	ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, blob) == 1 &&
		EVP_DecryptUpdate(c, plain, &n, blob + GCM_IV, APP_AUTH_TOTP_SECRET_BYTES) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG,
			(void *)(blob + GCM_IV + APP_AUTH_TOTP_SECRET_BYTES)) == 1 &&
		EVP_DecryptFinal_ex(c, plain + n, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* The user's secret (pending or enabled) and state. -1 + err. */
static int secret_load(struct app_auth *a, const char *user_id, unsigned char *plain,
	int *enabled, long long *last_step, struct pt_err *err)
{
	const char *p[] = { user_id };
	PGresult *r = db_exec(a->db, "SELECT coalesce(encode(totp_secret_enc, 'hex'), ''), "
		"totp_enabled, coalesce(totp_last_step, 0) FROM users WHERE id = $1", 1, p, err);
	unsigned char blob[SECRET_BLOB];
	const char *hex;

	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return pt_err_set(err, PT_UNAUTHENTICATED, "user gone");
	}
	hex = PQgetvalue(r, 0, 0);
	*enabled = PQgetvalue(r, 0, 1)[0] == 't';
	*last_step = atoll(PQgetvalue(r, 0, 2));
	if (strlen(hex) != 2 * SECRET_BLOB) {
		PQclear(r);
		return pt_err_set(err, PT_TOTP_INVALID, "no secret");
	}
	for (size_t i = 0; i < SECRET_BLOB; i++)
		blob[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	PQclear(r);
	if (secret_open(a->pepper, blob, plain) != 0)
		return pt_err_set(err, PT_INTERNAL, "totp secret does not decrypt (pepper changed?)");
	return 0;
}

int app_totp_uri(const char *issuer, const char *email, const char *secret_b32, char *out,
	size_t outsz)
{
	struct buf b;
	int rc;

	buf_init(&b, 2048);
	buf_puts(&b, "otpauth://totp/");
	str_url_encode(&b, issuer, strlen(issuer));
	buf_puts(&b, ":");
	str_url_encode(&b, email, strlen(email));
	buf_printf(&b, "?secret=%s&issuer=", secret_b32);
	str_url_encode(&b, issuer, strlen(issuer));
	buf_puts(&b, "&algorithm=SHA1&digits=6&period=30");
	rc = b.len < outsz ? 0 : -1;
	str_lcpy(out, buf_cstr(&b), outsz);
	buf_free(&b);
	return rc;
}

int app_totp_setup(struct app_auth *a, const char *user_id, char secret_b32[64],
	char *uri, size_t urisz, struct pt_err *err)
{
	unsigned char plain[APP_AUTH_TOTP_SECRET_BYTES], blob[SECRET_BLOB];
	char hex[2 * SECRET_BLOB + 3];
	struct app_user u;

	if (app_user_by_id(a, user_id, &u, err) != 0)
		return -1;
	if (u.totp_enabled)
		return pt_err_set(err, PT_CONFLICT, "2FA already on");
	if (rand_bytes(plain, sizeof plain) != 0 || secret_seal(a->pepper, plain, blob) != 0 ||
	    crypto_base32_encode(plain, sizeof plain, secret_b32, 64) != 0)
		return pt_err_set(err, PT_INTERNAL, "secret generation failed");
	hex[0] = '\\';
	hex[1] = 'x';
	str_hex(hex + 2, blob, sizeof blob);
	const char *p[] = { user_id, hex };
	if (db_command(a->db, "UPDATE users SET totp_secret_enc = $2::bytea, totp_last_step = NULL, "
		"updated_at = now() WHERE id = $1 AND NOT totp_enabled", 2, p, err) != 1)
		return err->code ? -1 : pt_err_set(err, PT_CONFLICT, "2FA turned on meanwhile");
	app_totp_uri("Portal", u.email, secret_b32, uri, urisz);
	return 0;
}

/* Accepts a code of a later step than the last used one, and records it in
 * the same statement, so two requests cannot both use one code. */
static int totp_code_ok(struct app_auth *a, const char *user_id, const unsigned char *key,
	const char *code, struct pt_err *err)
{
	char step[24];
	int64_t s = crypto_totp_verify(key, APP_AUTH_TOTP_SECRET_BYTES, code, (int64_t)time(NULL), 1);

	if (s <= 0)
		return pt_err_set(err, PT_TOTP_INVALID, "wrong code");
	snprintf(step, sizeof step, "%lld", (long long)s);
	const char *p[] = { user_id, step };
	long n = db_command(a->db, "UPDATE users SET totp_last_step = $2::bigint WHERE id = $1 "
		"AND (totp_last_step IS NULL OR totp_last_step < $2::bigint)", 2, p, err);
	if (n < 0)
		return -1;
	return n == 1 ? 0 : pt_err_set(err, PT_TOTP_INVALID, "code replayed");
}

void app_recovery_hash(const char *pepper, const char *code, char out[2 * CRYPTO_SHA256_LEN + 1])
{
	char norm[64];
	unsigned char mac[CRYPTO_SHA256_LEN];
	size_t n = 0;

	for (; *code && n + 1 < sizeof norm; code++)
		if (*code != '-' && *code != ' ')
			norm[n++] = (char)tolower((unsigned char)*code);
	norm[n] = '\0';
	crypto_hmac_sha256(pepper, strlen(pepper), norm, n, mac);
	str_hex(out, mac, sizeof mac);
}

static int recovery_use(struct app_auth *a, const char *user_id, const char *code,
	struct pt_err *err)
{
	char h[2 * CRYPTO_SHA256_LEN + 1];

	app_recovery_hash(a->pepper, code, h);
	const char *p[] = { user_id, h };
	long n = db_command(a->db, "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 "
		"AND code_hash = $2 AND used_at IS NULL", 2, p, err);
	if (n < 0)
		return -1;
	return n == 1 ? 0 : pt_err_set(err, PT_TOTP_INVALID, "wrong recovery code");
}

static int is_six_digits(const char *c)
{
	return strlen(c) == 6 && strspn(c, "0123456789") == 6;
}

int app_totp_check(struct app_auth *a, const char *user_id, const char *code,
	struct pt_err *err)
{
	unsigned char key[APP_AUTH_TOTP_SECRET_BYTES];
	long long last;
	int enabled;

	if (secret_load(a, user_id, key, &enabled, &last, err) != 0)
		return -1;
	if (!enabled)
		return pt_err_set(err, PT_TOTP_INVALID, "2FA is off");
	if (is_six_digits(code))
		return totp_code_ok(a, user_id, key, code, err);
	return recovery_use(a, user_id, code, err);
}

static int recovery_codes_new(struct app_auth *a, const char *user_id,
	char codes[APP_AUTH_RECOVERY_CODES][16], struct pt_err *err)
{
	char hex[11], h[2 * CRYPTO_SHA256_LEN + 1];

	if (db_command(a->db, "DELETE FROM recovery_codes WHERE user_id = $1", 1,
		(const char *const[]){ user_id }, err) < 0)
		return -1;
	for (int i = 0; i < APP_AUTH_RECOVERY_CODES; i++) {
		if (rand_hex(hex, sizeof hex, 5) != 0)
			return pt_err_set(err, PT_INTERNAL, "randomness failed");
		snprintf(codes[i], 16, "%.5s-%.5s", hex, hex + 5);
		app_recovery_hash(a->pepper, codes[i], h);
		if (db_command(a->db, "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
			2, (const char *const[]){ user_id, h }, err) < 0)
			return -1;
	}
	return 0;
}

int app_totp_confirm(struct app_auth *a, const char *user_id, const char *code,
	char codes[APP_AUTH_RECOVERY_CODES][16], struct pt_err *err)
{
	unsigned char key[APP_AUTH_TOTP_SECRET_BYTES];
	long long last;
	int enabled;

	if (secret_load(a, user_id, key, &enabled, &last, err) != 0)
		return -1;
	if (enabled)
		return pt_err_set(err, PT_CONFLICT, "2FA already on");
	if (!is_six_digits(code))
		return pt_err_set(err, PT_TOTP_INVALID, "not a code");
	if (totp_code_ok(a, user_id, key, code, err) != 0)
		return -1;
	if (db_begin(a->db, err) != 0)
		return -1;
	if (recovery_codes_new(a, user_id, codes, err) != 0 ||
	    db_command(a->db, "UPDATE users SET totp_enabled = true, updated_at = now() WHERE id = $1",
		1, (const char *const[]){ user_id }, err) != 1 ||
	    db_commit(a->db, err) != 0) {
		db_rollback(a->db);
		return err->code ? -1 : pt_err_set(err, PT_INTERNAL, "2FA not enabled");
	}
	return 0;
}

int app_totp_disable(struct app_auth *a, const char *user_id, const char *password,
	const char *code, struct pt_err *err)
{
	const char *p[] = { user_id };
	PGresult *r;
	int ok;

	if (app_throttle_check(a, "totp", user_id, err) != 0)
		return -1;
	r = db_exec(a->db, "SELECT password_hash FROM users WHERE id = $1", 1, p, err);
	if (!r)
		return -1;
	ok = PQntuples(r) == 1 && crypto_password_verify(PQgetvalue(r, 0, 0), password, a->pepper);
	PQclear(r);
	if (!ok) {
		app_throttle_fail(a, "totp", user_id);
		return pt_err_field(err, PT_INVALID_CREDENTIALS, "password", "wrong password");
	}
	if (app_totp_check(a, user_id, code, err) != 0) {
		app_throttle_fail(a, "totp", user_id);
		return -1;
	}
	if (db_command(a->db, "UPDATE users SET totp_enabled = false, totp_secret_enc = NULL, "
		"totp_last_step = NULL, updated_at = now() WHERE id = $1", 1, p, err) < 0 ||
	    db_command(a->db, "DELETE FROM recovery_codes WHERE user_id = $1", 1, p, err) < 0)
		return -1;
	return 0;
}
