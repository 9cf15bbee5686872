/* Unit tests for src/salesforce/pubsub building blocks: the FetchRequest
 * vectors of salesforce-pubsub.md §3 and the tenant id taken from a token. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "salesforce/pubsub.h"

static void test_fetch_vectors(void **state)
{
	static const unsigned char rid[] = { 0, 0, 0, 0, 0, 0, 0x1a, 0x2b };
	static const char topic[] = "/event/OrderProvisionRequested__e";
	static const unsigned char topup[] = { 0, 0, 0, 0, 2, 0x20, 0x19 };
	unsigned char want[5 + 0x31];
	struct buf b;
	struct pt_err e = { 0 };
	size_t o = 0;
	(void)state;
	memcpy(want, "\x00\x00\x00\x00\x31\x0a\x21", 7);
	o = 7;
	memcpy(want + o, topic, 33);
	o += 33;
	memcpy(want + o, "\x10\x02\x1a\x08", 4);
	o += 4;
	memcpy(want + o, rid, 8);
	o += 8;
	memcpy(want + o, "\x20\x32", 2);
	o += 2;
	assert_int_equal(o, sizeof(want));
	buf_init(&b, 4096);
	assert_int_equal(pubsub_fetch_request(&b, topic, PUBSUB_CUSTOM, rid, sizeof(rid), 50, &e), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	buf_reset(&b);
	assert_int_equal(pubsub_fetch_request(&b, NULL, PUBSUB_LATEST, NULL, 0, 25, &e), 0);
	assert_int_equal(b.len, sizeof(topup));
	assert_memory_equal(b.data, topup, sizeof(topup));
	buf_free(&b);
}

static void test_tenant(void **state)
{
	char t[64];
	(void)state;
	assert_int_equal(pubsub_tenant_from_token("00D5F0000000001!abc.def", t, sizeof(t)), 0);
	assert_string_equal(t, "00D5F0000000001");
	assert_int_equal(pubsub_tenant_from_token("no-bang-token", t, sizeof(t)), -1);
	assert_int_equal(pubsub_tenant_from_token("00D5F00!x", t, sizeof(t)), -1);
	assert_int_equal(pubsub_tenant_from_token("0055F0000000001!x", t, sizeof(t)), -1);
	assert_int_equal(pubsub_tenant_from_token("00D5F0000000001!x", t, 8), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_vectors),
		cmocka_unit_test(test_tenant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
