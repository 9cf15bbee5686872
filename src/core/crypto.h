/* crypto — the few primitives the portal needs, over OpenSSL and libargon2:
 * SHA-256 / HMAC-SHA256 (session keys, webhook signatures), argon2id password
 * hashing with a server-side pepper, base32 and RFC 6238 TOTP for 2FA.
 * Comparisons of secrets are constant-time. */
#ifndef PT_CORE_CRYPTO_H
#define PT_CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
/* "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" fits comfortably. */
#define CRYPTO_PWHASH_MAX 160

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
/* Lower-case hex digest, 65 bytes with NUL. */
void crypto_sha256_hex(const void *data, size_t len, char out[2 * CRYPTO_SHA256_LEN + 1]);
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
	unsigned char out[CRYPTO_SHA256_LEN]);
/* Verifies a hex HMAC-SHA256 (any case) of data in constant time: 1 match, 0 not. */
int crypto_hmac_sha256_verify_hex(const void *key, size_t keylen, const void *data,
	size_t len, const char *hex_sig);

/* argon2id, OWASP parameters (m = 19 MiB, t = 2, p = 1), 16-byte random salt.
 * The pepper (PASSWORD_PEPPER) is mixed in with HMAC-SHA256 before hashing, so
 * a stolen database alone cannot be brute-forced. Returns 0 / -1. */
int crypto_password_hash(const char *password, const char *pepper,
	char out[CRYPTO_PWHASH_MAX]);
/* 1 = match, 0 = no match or malformed hash. */
int crypto_password_verify(const char *encoded, const char *password, const char *pepper);

/* RFC 4648 base32 without padding (TOTP secrets). -1 if out too small. */
int crypto_base32_encode(const unsigned char *in, size_t n, char *out, size_t outsz);
/* Decodes (case-insensitive, padding and spaces ignored); returns length or -1. */
int crypto_base32_decode(const char *in, unsigned char *out, size_t outsz);
/* RFC 6238: HMAC-SHA1, 30 s step, 6 digits, for the step containing `t`. */
uint32_t crypto_totp(const unsigned char *key, size_t keylen, int64_t t);
/* Accepts ±window steps; returns the matched step (>0) or 0. `code` must be 6 digits.
 * Callers store the last used step to refuse replays. */
int64_t crypto_totp_verify(const unsigned char *key, size_t keylen, const char *code,
	int64_t now, int window);

#endif
