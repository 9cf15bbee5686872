/* Unit tests for core/crypto: RFC test vectors for HMAC-SHA256 (RFC 4231),
 * TOTP (RFC 6238), base32 (RFC 4648), and argon2id with a pepper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/crypto.h"

static void test_hmac_rfc4231(void **state)
{
	(void)state;
	const char *data = "what do ya want for nothing?";
	const char *hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

	assert_int_equal(crypto_hmac_sha256_verify_hex("Jefe", 4, data, strlen(data), hex), 1);
	assert_int_equal(crypto_hmac_sha256_verify_hex("Jefe", 4, data, strlen(data),
		"5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"), 1);
	assert_int_equal(crypto_hmac_sha256_verify_hex("Jeff", 4, data, strlen(data), hex), 0);
	assert_int_equal(crypto_hmac_sha256_verify_hex("Jefe", 4, data, strlen(data), "5bdc"), 0);
	assert_int_equal(crypto_hmac_sha256_verify_hex("Jefe", 4, data, strlen(data), NULL), 0);
	assert_int_equal(crypto_hmac_sha256_verify_hex("Jefe", 4, data, strlen(data),
		"zz" "dcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"), 0);
}

static void test_sha256_hex(void **state)
{
	(void)state;
	char out[65];

	crypto_sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_base32(void **state)
{
	(void)state;
	char enc[32];
	unsigned char dec[32];

	assert_int_equal(crypto_base32_encode((const unsigned char *)"foobar", 6, enc, sizeof enc), 0);
	assert_string_equal(enc, "MZXW6YTBOI");
	assert_int_equal(crypto_base32_decode("mzxw6ytboi======", dec, sizeof dec), 6);
	assert_memory_equal(dec, "foobar", 6);
	assert_int_equal(crypto_base32_decode("MZ1W", dec, sizeof dec), -1);
	assert_int_equal(crypto_base32_encode((const unsigned char *)"foobar", 6, enc, 5), -1);
	assert_int_equal(crypto_base32_decode("MZXW6YTBOI", dec, 2), -1);
}

static void test_totp_rfc6238(void **state)
{
	(void)state;
	const unsigned char *key = (const unsigned char *)"12345678901234567890";

	/* RFC 6238 appendix B (SHA1), last six digits. */
	assert_int_equal(crypto_totp(key, 20, 59), 287082);
	assert_int_equal(crypto_totp(key, 20, 1111111109), 81804);
	assert_int_equal(crypto_totp(key, 20, 1234567890), 5924);
	assert_int_equal(crypto_totp(key, 20, 2000000000), 279037);

	assert_int_equal(crypto_totp_verify(key, 20, "287082", 59, 1), 59 / 30);
	assert_true(crypto_totp_verify(key, 20, "287082", 59 + 30, 1) > 0);   /* one step late */
	assert_int_equal(crypto_totp_verify(key, 20, "287082", 59 + 90, 1), 0);
	assert_int_equal(crypto_totp_verify(key, 20, "28708", 59, 1), 0);
	assert_int_equal(crypto_totp_verify(key, 20, "28708a", 59, 1), 0);
	assert_int_equal(crypto_totp_verify(key, 20, NULL, 59, 1), 0);
}

static void test_password(void **state)
{
	(void)state;
	char h1[CRYPTO_PWHASH_MAX], h2[CRYPTO_PWHASH_MAX];

	assert_int_equal(crypto_password_hash("correct horse battery", "pep", h1), 0);
	assert_non_null(strstr(h1, "$argon2id$v=19$m=19456,t=2,p=1$"));
	assert_int_equal(crypto_password_hash("correct horse battery", "pep", h2), 0);
	assert_string_not_equal(h1, h2);            /* random salt */
	assert_int_equal(crypto_password_verify(h1, "correct horse battery", "pep"), 1);
	assert_int_equal(crypto_password_verify(h1, "correct horse batterY", "pep"), 0);
	assert_int_equal(crypto_password_verify(h1, "correct horse battery", "other"), 0);
	assert_int_equal(crypto_password_verify("$argon2i$bogus", "x", "pep"), 0);
	assert_int_equal(crypto_password_verify("garbage", "x", "pep"), 0);
	assert_int_equal(crypto_password_verify(NULL, "x", "pep"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_sha256_hex),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_totp_rfc6238),
		cmocka_unit_test(test_password),
	};
	return cmocka_run_group_tests_name("core/crypto", tests, NULL, NULL);
}
