/* test_auth — the pure parts of portal-auth's use cases: the password policy
 * (length in characters, the shipped common list, email-like and repeated
 * passwords), email normalisation, the otpauth:// URI, recovery-code hashes,
 * the reset mail text and the SMTP message rendering (no header injection). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "app/auth.h"
#include "core/buf.h"
#include "core/mail.h"

static struct app_password_list list;

static int setup(void **state)
{
	struct pt_err err;

	(void)state;
	return app_password_list_load(DATA_DIR "/common-passwords.txt", &list, &err);
}

static int teardown(void **state)
{
	(void)state;
	app_password_list_free(&list);
	return 0;
}

static enum pt_code policy(const char *pw, const char *email)
{
	struct pt_err err;

	pt_err_clear(&err);
	return app_password_policy(&list, pw, email, "password", &err) == 0 ? PT_OK : err.code;
}

static void test_policy(void **state)
{
	(void)state;
	assert_true(list.n > 2000);
	assert_int_equal(policy("short-pass1", NULL), PT_WEAK_PASSWORD);        /* 11 */
	assert_int_equal(policy("Correct-Horse-9", NULL), PT_OK);
	assert_int_equal(policy("password1234", NULL), PT_WEAK_PASSWORD);       /* on the list */
	assert_int_equal(policy("PASSWORD1234", NULL), PT_WEAK_PASSWORD);       /* any case */
	assert_int_equal(policy("123456789012", NULL), PT_WEAK_PASSWORD);
	assert_int_equal(policy("qwertyuiop123", NULL), PT_WEAK_PASSWORD);
	assert_int_equal(policy("aaaaaaaaaaaaaaaa", NULL), PT_WEAK_PASSWORD);
	assert_int_equal(policy("hanako.suzuki", "hanako.suzuki@example.jp"), PT_WEAK_PASSWORD);
	assert_int_equal(policy("Hanako.Suzuki@example.jp", "hanako.suzuki@example.jp"),
		PT_WEAK_PASSWORD);
	/* 12 characters of 3-byte UTF-8 count as 12, not 36 */
	assert_int_equal(policy("\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86\xe3\x81\x88\xe3\x81\x8a"
		"\xe3\x81\x8b\xe3\x81\x8d\xe3\x81\x8f\xe3\x81\x91\xe3\x81\x93\xe3\x81\x95", NULL),
		PT_WEAK_PASSWORD);                                                 /* 11 */
	char big[APP_AUTH_PASSWORD_MAX + 2];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[0] = 'Y';
	assert_int_equal(policy(big, NULL), PT_VALIDATION_FAILED);
	assert_int_equal(policy("tab\tinside-pass", NULL), PT_VALIDATION_FAILED);
}

static void test_email(void **state)
{
	char out[APP_AUTH_EMAIL_MAX + 1];

	(void)state;
	assert_int_equal(app_email_normalise("Hanako.Suzuki@Example.JP", out), 0);
	assert_string_equal(out, "hanako.suzuki@example.jp");
	assert_int_equal(app_email_normalise("no-at-sign", out), -1);
	assert_int_equal(app_email_normalise("@example.jp", out), -1);
	assert_int_equal(app_email_normalise("a@", out), -1);
	assert_int_equal(app_email_normalise("a@b@c", out), -1);
	assert_int_equal(app_email_normalise("a b@c.jp", out), -1);
	assert_int_equal(app_email_normalise("a@c.jp\r\nBcc: x@y", out), -1);
	assert_int_equal(app_email_normalise(NULL, out), -1);
}

static void test_totp_uri_and_recovery(void **state)
{
	char uri[512], h1[65], h2[65], h3[65];

	(void)state;
	assert_int_equal(app_totp_uri("Portal", "a+b@example.jp", "JBSWY3DPEHPK3PXP", uri,
		sizeof uri), 0);
	assert_string_equal(uri, "otpauth://totp/Portal:a%2Bb%40example.jp?secret=JBSWY3DPEHPK3PXP"
		"&issuer=Portal&algorithm=SHA1&digits=6&period=30");
	assert_int_equal(app_totp_uri("Portal", "a@b.jp", "X", uri, 10), -1);
	app_recovery_hash("pepper-0123456789", "ab12c-de34f", h1);
	app_recovery_hash("pepper-0123456789", "AB12CDE34F", h2);
	app_recovery_hash("other-pepper-0123", "ab12c-de34f", h3);
	assert_string_equal(h1, h2);          /* typed without the dash, upper case */
	assert_string_not_equal(h1, h3);      /* keyed by the pepper */
}

static void test_reset_mail(void **state)
{
	char body[1024];
	struct buf b;
	struct mail_msg m = { "Portal <no-reply@example.jp>", "a@example.jp", "Reset", "line1\nline2" };
	char addr[64];

	(void)state;
	assert_int_equal(app_reset_mail_body("https://portal.example.jp", "TOK", body, sizeof body), 0);
	assert_non_null(strstr(body, "https://portal.example.jp/reset-password?token=TOK\n"));
	assert_int_equal(app_reset_mail_body("x", "TOK", body, 10), -1);
	assert_int_equal(mail_addr("Portal <no-reply@example.jp>", addr, sizeof addr), 0);
	assert_string_equal(addr, "no-reply@example.jp");
	assert_int_equal(mail_addr("plain@example.jp", addr, sizeof addr), 0);
	assert_int_equal(mail_addr("Broken <x@y", addr, sizeof addr), -1);
	buf_init(&b, 65536);
	assert_int_equal(mail_render(&m, "example.jp", &b), 0);
	assert_non_null(strstr(buf_cstr(&b), "Subject: Reset\r\n"));
	assert_non_null(strstr(buf_cstr(&b), "\r\n\r\nline1\r\nline2\r\n"));
	buf_free(&b);
	m.subject = "Reset\r\nBcc: victim@example.jp";
	assert_int_equal(mail_render(&m, "example.jp", &b), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_totp_uri_and_recovery),
		cmocka_unit_test(test_reset_mail),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
