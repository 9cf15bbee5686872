/* test_rand — formats and buffer checks of the random helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/rand.h"

static void test_bytes(void **state)
{
	unsigned char a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };
	(void)state;
	assert_int_equal(rand_bytes(a, sizeof a), 0);
	assert_int_equal(rand_bytes(b, sizeof b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	assert_memory_not_equal(a, zero, sizeof a);
	assert_int_equal(rand_bytes(a, 0), 0);
}

static void test_hex(void **state)
{
	char out[65];
	(void)state;
	assert_int_equal(rand_hex(out, sizeof out, 32), 0);
	assert_int_equal(strlen(out), 64);
	assert_int_equal(strspn(out, "0123456789abcdef"), 64);
	assert_int_equal(rand_hex(out, 64, 32), -1);  /* no room for the NUL */
}

static void test_b64url(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(rand_token_b64url(out, sizeof out, 32), 0);
	assert_int_equal(strlen(out), 43);
	assert_int_equal(strspn(out,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	assert_int_equal(rand_token_b64url(out, sizeof out, 1), 0);
	assert_int_equal(strlen(out), 2);
	assert_int_equal(rand_token_b64url(out, sizeof out, 2), 0);
	assert_int_equal(strlen(out), 3);
	assert_int_equal(rand_token_b64url(out, sizeof out, 3), 0);
	assert_int_equal(strlen(out), 4);
	assert_int_equal(rand_token_b64url(out, 43, 32), -1);
}

static void test_uuid(void **state)
{
	char u[37], v[37];
	(void)state;
	assert_int_equal(rand_uuid(u), 0);
	assert_int_equal(rand_uuid(v), 0);
	assert_int_equal(strlen(u), 36);
	assert_string_not_equal(u, v);
	assert_int_equal(u[8], '-');
	assert_int_equal(u[13], '-');
	assert_int_equal(u[14], '4');
	assert_int_equal(u[18], '-');
	assert_non_null(strchr("89ab", u[19]));
	assert_int_equal(u[23], '-');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_uuid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
