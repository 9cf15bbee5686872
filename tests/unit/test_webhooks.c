/* Unit tests for webhook_verify (resolutions §17): the signature over the
 * raw body (any case, wrong secret, one changed byte, missing or short
 * header), the ±300 s window at both edges, and the body's fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <cmocka.h>

#include "app/webhooks.h"
#include "core/crypto.h"

#define SECRET "sim-webhook-secret"
#define NOW 1800000000LL

static void sign(const char *secret, const char *body, char hex[65])
{
	unsigned char mac[CRYPTO_SHA256_LEN];

	assert_int_equal(crypto_hmac_sha256(secret, strlen(secret), body, strlen(body), mac), 0);
	for (int i = 0; i < CRYPTO_SHA256_LEN; i++)
		sprintf(hex + 2 * i, "%02x", mac[i]);
}

static char *body_at(long long ts, const char *event, const char *extra)
{
	static char b[512];

	snprintf(b, sizeof b, "{\"id\":\"7f1c0a7e-1\",\"event\":\"%s\",\"timestamp\":%lld,"
		"\"client_id\":101,\"data\":{%s}}", event, ts, extra);
	return b;
}

static int verify(const char *body, const char *sig, long long now, struct webhook_event *ev,
	struct pt_err *err)
{
	memset(err, 0, sizeof *err);
	return webhook_verify(SECRET, body, strlen(body), sig, now, ev, err);
}

static void test_valid(void **state)
{
	struct webhook_event ev;
	struct pt_err err;
	char sig[65];
	const char *b = body_at(NOW, "InvoicePaid", "\"invoiceid\":1002");

	(void)state;
	sign(SECRET, b, sig);
	assert_int_equal(verify(b, sig, NOW, &ev, &err), 0);
	assert_string_equal(ev.id, "7f1c0a7e-1");
	assert_int_equal(ev.kind, WEBHOOK_INVOICE_PAID);
	assert_int_equal(ev.client_id, 101);
	assert_int_equal(ev.invoice_id, 1002);
	for (char *p = sig; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(verify(b, sig, NOW, &ev, &err), 0);   /* hex in any case */
	b = body_at(NOW, "ClientEdit", "\"invoiceid\":\"x\"");
	sign(SECRET, b, sig);
	assert_int_equal(verify(b, sig, NOW, &ev, &err), 0);
	assert_int_equal(ev.kind, WEBHOOK_CLIENT_EDIT);
	assert_int_equal(ev.invoice_id, 0);
}

static void test_signature(void **state)
{
	struct webhook_event ev;
	struct pt_err err;
	char sig[65], body[512];

	(void)state;
	strcpy(body, body_at(NOW, "InvoicePaid", ""));
	sign("another-secret", body, sig);
	assert_int_equal(verify(body, sig, NOW, &ev, &err), -1);
	assert_int_equal(err.code, PT_INVALID_SIGNATURE);
	sign(SECRET, body, sig);
	body[strlen(body) - 3] = ' ';                           /* one byte changed */
	assert_int_equal(verify(body, sig, NOW, &ev, &err), -1);
	assert_int_equal(err.code, PT_INVALID_SIGNATURE);
	assert_int_equal(verify(body, NULL, NOW, &ev, &err), -1);
	assert_int_equal(err.code, PT_INVALID_SIGNATURE);
	assert_int_equal(verify(body, "abcd", NOW, &ev, &err), -1);
	assert_int_equal(err.code, PT_INVALID_SIGNATURE);
	assert_int_equal(verify(body, "", NOW, &ev, &err), -1);
	memset(&err, 0, sizeof err);
	assert_int_equal(webhook_verify("", body, strlen(body), sig, NOW, &ev, &err), -1);
	assert_int_equal(err.code, PT_INVALID_SIGNATURE);
}

static void test_window(void **state)
{
	struct webhook_event ev;
	struct pt_err err;
	char sig[65];
	static const long long ok[] = { -300, 300, 0 }, bad[] = { -301, 301, -600 };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		const char *b = body_at(NOW + ok[i], "ServiceEdit", "");
		sign(SECRET, b, sig);
		assert_int_equal(verify(b, sig, NOW, &ev, &err), 0);
		b = body_at(NOW + bad[i], "ServiceEdit", "");
		sign(SECRET, b, sig);
		assert_int_equal(verify(b, sig, NOW, &ev, &err), -1);
		assert_int_equal(err.code, PT_INVALID_SIGNATURE);
	}
}

static void refused(const char *body, const char *field)
{
	struct webhook_event ev;
	struct pt_err err;
	char sig[65];

	sign(SECRET, body, sig);
	if (verify(body, sig, NOW, &ev, &err) != -1 || err.code != PT_VALIDATION_FAILED ||
	    strcmp(err.field, field) != 0)
		fail_msg("%s: expected VALIDATION_FAILED on %s, got %d '%s'", body, field,
			(int)err.code, err.field);
}

static void test_fields(void **state)
{
	(void)state;
	refused("not json", "body");
	refused("{\"id\":\"a\",\"event\":\"InvoicePaid\",\"client_id\":1}", "timestamp");
	refused("{\"id\":\"a\",\"event\":\"Nope\",\"timestamp\":1800000000,\"client_id\":1}", "event");
	refused("{\"event\":\"InvoicePaid\",\"timestamp\":1800000000,\"client_id\":1}", "id");
	refused("{\"id\":\"\",\"event\":\"InvoicePaid\",\"timestamp\":1800000000,\"client_id\":1}", "id");
	refused("{\"id\":\"a\",\"event\":\"InvoicePaid\",\"timestamp\":1800000000,\"client_id\":0}",
		"client_id");
	refused("{\"id\":\"a\",\"event\":\"InvoicePaid\",\"timestamp\":1800000000}", "client_id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
