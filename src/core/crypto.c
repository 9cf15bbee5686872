/* crypto — see crypto.h. */
#include "core/crypto.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/rand.h"

/* OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. */
#define PW_T_COST 2
#define PW_M_COST_KIB (19 * 1024)
#define PW_PARALLELISM 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	SHA256(data, len, out);
}

void crypto_sha256_hex(const void *data, size_t len, char out[2 * CRYPTO_SHA256_LEN + 1])
{
	unsigned char d[CRYPTO_SHA256_LEN];

	crypto_sha256(data, len, d);
	str_hex(out, d, sizeof d);
}

int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
	unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen))
		return -1;
	return outlen == CRYPTO_SHA256_LEN ? 0 : -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int crypto_hmac_sha256_verify_hex(const void *key, size_t keylen, const void *data,
	size_t len, const char *hex_sig)
{
	unsigned char want[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN];

	if (!hex_sig || strlen(hex_sig) != 2 * CRYPTO_SHA256_LEN)
		return 0;
	for (size_t i = 0; i < CRYPTO_SHA256_LEN; i++) {
		int hi = hexval(hex_sig[2 * i]), lo = hexval(hex_sig[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	if (crypto_hmac_sha256(key, keylen, data, len, want) != 0)
		return 0;
	return CRYPTO_memcmp(want, got, sizeof want) == 0;
}

/* The peppered input is HMAC(pepper, password): fixed length, so argon2 never
 * sees the raw password length and an empty pepper still works. */
static int pepper_password(const char *password, const char *pepper,
	unsigned char out[CRYPTO_SHA256_LEN])
{
	const char *p = pepper ? pepper : "";

	return crypto_hmac_sha256(p, strlen(p), password, strlen(password), out);
}

int crypto_password_hash(const char *password, const char *pepper, char out[CRYPTO_PWHASH_MAX])
{
	unsigned char salt[PW_SALT_LEN], pw[CRYPTO_SHA256_LEN];
	int rc = -1;

	if (!password || rand_bytes(salt, sizeof salt) != 0 ||
	    pepper_password(password, pepper, pw) != 0)
		goto out;
	if (argon2id_hash_encoded(PW_T_COST, PW_M_COST_KIB, PW_PARALLELISM, pw, sizeof pw,
	    salt, sizeof salt, PW_HASH_LEN, out, CRYPTO_PWHASH_MAX) == ARGON2_OK)
		rc = 0;
out:
	OPENSSL_cleanse(pw, sizeof pw);
	return rc;
}

int crypto_password_verify(const char *encoded, const char *password, const char *pepper)
{
	unsigned char pw[CRYPTO_SHA256_LEN];
	int ok = 0;

	if (!encoded || !password || strncmp(encoded, "$argon2id$", 10) != 0)
		return 0;
	if (pepper_password(password, pepper, pw) == 0)
		ok = argon2id_verify(encoded, pw, sizeof pw) == ARGON2_OK;
	OPENSSL_cleanse(pw, sizeof pw);
	return ok;
}

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int crypto_base32_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	size_t need = (n * 8 + 4) / 5 + 1, o = 0;
	unsigned int acc = 0;
	int bits = 0;

	if (outsz < need)
		return -1;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = B32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = B32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

static int b32val(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	const char *p = (c != '\0') ? strchr(B32, c) : NULL;
	return p ? (int)(p - B32) : -1;
}

int crypto_base32_decode(const char *in, unsigned char *out, size_t outsz)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t o = 0;

	for (; *in; in++) {
		if (*in == '=' || *in == ' ' || *in == '-')
			continue;
		int v = b32val(*in);
		if (v < 0)
			return -1;
		acc = (acc << 5) | (unsigned int)v;
		bits += 5;
		if (bits >= 8) {
			if (o >= outsz)
				return -1;
			out[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return (int)o;
}

uint32_t crypto_totp(const unsigned char *key, size_t keylen, int64_t t)
{
	unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	uint64_t step = (uint64_t)(t / 30);

	for (int i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(step & 0xff);
		step >>= 8;
	}
	if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, mac, &maclen) || maclen < 20)
		return UINT32_MAX;
	int off = mac[maclen - 1] & 0x0f;
	uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
		((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	return bin % 1000000u;
}

int64_t crypto_totp_verify(const unsigned char *key, size_t keylen, const char *code,
	int64_t now, int window)
{
	uint32_t want = 0;

	if (!code || strlen(code) != 6)
		return 0;
	for (int i = 0; i < 6; i++) {
		if (code[i] < '0' || code[i] > '9')
			return 0;
		want = want * 10 + (uint32_t)(code[i] - '0');
	}
	/* Check every candidate step so timing doesn't reveal which one matched. */
	int64_t matched = 0;
	for (int d = -window; d <= window; d++) {
		int64_t t = now + (int64_t)d * 30;
		if (crypto_totp(key, keylen, t) == want && matched == 0)
			matched = t / 30;
	}
	return matched;
}
