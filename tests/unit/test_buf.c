/* test_buf — bounds, growth, NUL handling and the string helpers that
 * parse outside bytes (URL decoding, text validation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"

static void test_empty(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 10);
	assert_null(b.data);
	assert_string_equal(buf_cstr(&b), "");
	char *s = buf_steal(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	buf_free(&b);
	buf_free(NULL);
}

static void test_bound(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(b.len, 8);
	assert_true(b.cap <= 9);   /* never allocates past the bound */
	assert_int_equal(buf_putc(&b, 'x'), -1);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_string_equal(buf_cstr(&b), "12345678");  /* unchanged after failure */
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "abcdef"), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "abc"), 0);
	assert_string_equal(buf_cstr(&b), "42-abc");
	assert_int_equal(b.max, 8);
	buf_free(&b);
	assert_int_equal(b.max, 8);   /* free keeps the bound */
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -1);  /* overflow */
	buf_free(&b);
}

static void test_growth_and_binary(void **state)
{
	struct buf b;
	char big[1000];
	(void)state;
	buf_init(&b, 0);
	memset(big, 'z', sizeof big);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_append(&b, big, sizeof big), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.data[b.len], '\0');
	buf_reset(&b);
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);   /* binary kept */
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	/* printf longer than the internal scratch buffer */
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%.*s|", 500, big), 0);
	assert_int_equal(b.len, 501);
	assert_int_equal(b.data[500], '|');
	char *s = buf_steal(&b);
	assert_int_equal(strlen(s), 501);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
}

static void test_lcpy_ieq_ndup(void **state)
{
	char d[4];
	(void)state;
	assert_int_equal(str_lcpy(d, "abcdef", sizeof d), 6);
	assert_string_equal(d, "abc");
	assert_int_equal(str_lcpy(d, "ab", sizeof d), 2);
	assert_string_equal(d, "ab");
	assert_int_equal(str_lcpy(d, "ab", 0), 2);
	assert_true(str_ieq("Content-Type", "content-type"));
	assert_false(str_ieq("abc", "abcd"));
	assert_false(str_ieq("abc", "abd"));
	char *p = str_ndup("hello", 3);
	assert_string_equal(p, "hel");
	free(p);
	p = str_ndup("hi", 10);
	assert_string_equal(p, "hi");
	free(p);
	assert_true(str_ct_equal("abc", "abc", 3));
	assert_false(str_ct_equal("abc", "abd", 3));
	assert_true(str_ct_equal("", "", 0));
	char hex[7];
	str_hex(hex, (const unsigned char *)"\x00\xab\xff", 3);
	assert_string_equal(hex, "00abff");
}

static void test_valid_text(void **state)
{
	(void)state;
	assert_true(str_valid_text("hello", 5, 0));
	assert_true(str_valid_text("", 0, 0));
	assert_true(str_valid_text("東京都", strlen("東京都"), 0));
	assert_true(str_valid_text("\xf0\x9f\x98\x80", 4, 0));       /* emoji */
	assert_false(str_valid_text("a\nb", 3, 0));
	assert_true(str_valid_text("a\r\nb\tc", 6, 1));
	assert_false(str_valid_text("a\tb", 3, 0));
	assert_false(str_valid_text("a\0b", 3, 1));                  /* NUL */
	assert_false(str_valid_text("a\x01", 2, 1));
	assert_false(str_valid_text("\x7f", 1, 1));
	assert_false(str_valid_text("\xc0\xaf", 2, 0));              /* overlong */
	assert_false(str_valid_text("\xe0\x80\xaf", 3, 0));          /* overlong */
	assert_false(str_valid_text("\xed\xa0\x80", 3, 0));          /* surrogate */
	assert_false(str_valid_text("\xf4\x90\x80\x80", 4, 0));      /* > U+10FFFF */
	assert_false(str_valid_text("\xe6\x9d", 2, 0));              /* truncated */
	assert_false(str_valid_text("\x80", 1, 0));                  /* stray continuation */
	assert_false(str_valid_text("\xff", 1, 0));
}

static void test_url_decode(void **state)
{
	char out[32];
	(void)state;
	assert_int_equal(str_url_decode(out, sizeof out, "a%20b+c", 7, 1), 0);
	assert_string_equal(out, "a b c");
	assert_int_equal(str_url_decode(out, sizeof out, "a+b", 3, 0), 0);
	assert_string_equal(out, "a+b");
	assert_int_equal(str_url_decode(out, sizeof out, "%e6%9D%B1", 9, 0), 0);
	assert_string_equal(out, "東");
	assert_int_equal(str_url_decode(out, sizeof out, "", 0, 0), 0);
	assert_string_equal(out, "");
	/* bad escapes */
	assert_int_equal(str_url_decode(out, sizeof out, "%zz", 3, 0), -1);
	assert_int_equal(str_url_decode(out, sizeof out, "%0", 2, 0), -1);
	assert_int_equal(str_url_decode(out, sizeof out, "ab%", 3, 0), -1);
	assert_int_equal(str_url_decode(out, sizeof out, "%g1", 3, 0), -1);
	assert_int_equal(str_url_decode(out, sizeof out, "%1", 2, 0), -1);
	/* NULs, escaped or raw, would truncate what later code sees */
	assert_int_equal(str_url_decode(out, sizeof out, "a%00b", 5, 0), -1);
	assert_int_equal(str_url_decode(out, sizeof out, "a\0b", 3, 0), -1);
	/* inlen is honoured: the escape is cut by the length */
	assert_int_equal(str_url_decode(out, sizeof out, "%41%42", 4, 0), -1);
	assert_int_equal(str_url_decode(out, sizeof out, "%41%42", 3, 0), 0);
	assert_string_equal(out, "A");
	/* output size: exactly fits, one too small, zero */
	assert_int_equal(str_url_decode(out, 4, "abc", 3, 0), 0);
	assert_int_equal(str_url_decode(out, 3, "abc", 3, 0), -1);
	assert_int_equal(str_url_decode(out, 0, "", 0, 0), -1);
	assert_int_equal(str_url_decode(out, 2, "%41", 3, 0), 0);
	assert_string_equal(out, "A");
}

static void test_url_encode(void **state)
{
	struct buf b;
	char back[64];
	const char *in = "a b&c=d/é~._-";
	(void)state;
	buf_init(&b, 0);
	assert_int_equal(str_url_encode(&b, in, strlen(in)), 0);
	assert_string_equal(buf_cstr(&b), "a+b%26c%3Dd%2F%C3%A9~._-");
	assert_int_equal(str_url_decode(back, sizeof back, b.data, b.len, 1), 0);
	assert_string_equal(back, in);
	buf_free(&b);
	buf_init(&b, 4);
	assert_int_equal(str_url_encode(&b, "&&", 2), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_growth_and_binary),
		cmocka_unit_test(test_lcpy_ieq_ndup),
		cmocka_unit_test(test_valid_text),
		cmocka_unit_test(test_url_decode),
		cmocka_unit_test(test_url_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
