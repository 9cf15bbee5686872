/* Unit tests for src/salesforce/grpc: framing (contract §3 vectors), the
 * incremental deframer at every split point, trailers and status mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "salesforce/grpc.h"

struct collected {
	int count;
	struct buf all;   /* messages concatenated, each prefixed by its length byte */
};

static int collect(void *ctx, const unsigned char *msg, size_t len, struct pt_err *err)
{
	struct collected *c = ctx;
	unsigned char l = (unsigned char)len;
	(void)err;
	c->count++;
	buf_append(&c->all, &l, 1);
	return buf_append(&c->all, msg, len);
}

static void test_frame_vector(void **state)
{
	/* top-up {num_requested 25} = 00000000022019 (contract §3) */
	static const unsigned char pb[] = { 0x20, 0x19 };
	static const unsigned char want[] = { 0, 0, 0, 0, 2, 0x20, 0x19 };
	struct buf b;
	struct pt_err e = { 0 };
	(void)state;
	buf_init(&b, 64);
	assert_int_equal(grpc_frame(&b, pb, sizeof(pb), &e), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	buf_reset(&b);
	assert_int_equal(grpc_frame(&b, NULL, 0, &e), 0);   /* all-default message */
	assert_int_equal(b.len, 5);
	assert_int_equal(grpc_frame(&b, pb, (size_t)GRPC_MSG_MAX + 1, &e), -1);
	buf_free(&b);
}

static void test_deframe_splits(void **state)
{
	/* three messages: "ab", "" and "xyz" */
	static const unsigned char s[] = { 0, 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 0, 0,
		0, 0, 0, 0, 3, 'x', 'y', 'z' };
	static const unsigned char want[] = { 2, 'a', 'b', 0, 3, 'x', 'y', 'z' };
	(void)state;
	for (size_t cut1 = 0; cut1 <= sizeof(s); cut1++) {
		for (size_t cut2 = cut1; cut2 <= sizeof(s); cut2++) {
			struct grpc_deframer d;
			struct collected c = { 0 };
			struct pt_err e = { 0 };
			buf_init(&c.all, 64);
			grpc_deframer_init(&d, 0);
			assert_int_equal(grpc_deframer_feed(&d, s, cut1, collect, &c, &e), 0);
			assert_int_equal(grpc_deframer_feed(&d, s + cut1, cut2 - cut1, collect, &c, &e), 0);
			assert_int_equal(grpc_deframer_feed(&d, s + cut2, sizeof(s) - cut2, collect, &c, &e), 0);
			assert_int_equal(c.count, 3);
			assert_memory_equal(c.all.data, want, sizeof(want));
			assert_true(grpc_deframer_idle(&d));
			grpc_deframer_free(&d);
			buf_free(&c.all);
		}
	}
}

static void test_deframe_errors(void **state)
{
	static const unsigned char compressed[] = { 1, 0, 0, 0, 1, 'a' };
	static const unsigned char huge[] = { 0, 0, 0, 1, 0 };   /* 256 > bound 100 */
	struct grpc_deframer d;
	struct collected c = { 0 };
	struct pt_err e = { 0 };
	(void)state;
	buf_init(&c.all, 64);
	grpc_deframer_init(&d, 0);
	assert_int_equal(grpc_deframer_feed(&d, compressed, sizeof(compressed), collect, &c, &e), -1);
	assert_string_equal(e.provider_code, "INTERNAL");
	assert_int_equal(grpc_deframer_feed(&d, "", 0, collect, &c, &e), -1);  /* sticky */
	grpc_deframer_free(&d);
	grpc_deframer_init(&d, 100);
	assert_int_equal(grpc_deframer_feed(&d, huge, sizeof(huge), collect, &c, &e), -1);
	assert_int_equal(c.count, 0);
	grpc_deframer_free(&d);
	/* a partial message is not idle */
	grpc_deframer_init(&d, 0);
	assert_int_equal(grpc_deframer_feed(&d, huge, 3, collect, &c, &e), 0);
	assert_false(grpc_deframer_idle(&d));
	grpc_deframer_free(&d);
	buf_free(&c.all);
}

static void feed(struct grpc_result *r, const char *line)
{
	grpc_result_header(r, line, strlen(line));
}

static void test_trailers(void **state)
{
	struct grpc_result r;
	struct pt_err e = { 0 };
	(void)state;
	grpc_result_init(&r);
	feed(&r, "HTTP/2 200\r\n");
	feed(&r, "content-type: application/grpc\r\n");
	feed(&r, "\r\n");
	assert_int_equal(grpc_result_status(&r), GRPC_UNAVAILABLE);  /* no status yet */
	feed(&r, "grpc-status: 3\r\n");
	feed(&r, "grpc-message: The%20Replay%20ID%20validation%20failed.%20rpcId%3A%20abc\r\n");
	feed(&r, "error-code: sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted\r\n");
	feed(&r, "Rpc-Id: 1234-abcd\r\n");
	assert_int_equal(grpc_result_status(&r), GRPC_INVALID_ARGUMENT);
	assert_string_equal(r.message, "The Replay ID validation failed. rpcId: abc");
	assert_string_equal(r.error_code,
		"sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted");
	assert_string_equal(r.rpc_id, "1234-abcd");
	assert_int_equal(grpc_result_err(&r, &e), -1);
	assert_int_equal(e.code, PT_VALIDATION_FAILED);
	assert_string_equal(e.provider_code, "INVALID_ARGUMENT");

	/* Trailers-Only UNAUTHENTICATED; a bad escape keeps the raw text */
	grpc_result_init(&r);
	feed(&r, "HTTP/2 200\r\n");
	feed(&r, "grpc-status: 16\r\n");
	feed(&r, "grpc-message: bad %zz\r\n");
	assert_int_equal(grpc_result_err(&r, &e), -1);
	assert_int_equal(e.code, PT_UNAUTHENTICATED);
	assert_string_equal(r.message, "bad %zz");

	/* OK */
	grpc_result_init(&r);
	feed(&r, "HTTP/2 200\r\n");
	feed(&r, "grpc-status: 0\r\n");
	assert_int_equal(grpc_result_err(&r, &e), 0);

	/* garbage status → UNKNOWN; HTTP errors map per contract */
	grpc_result_init(&r);
	feed(&r, "grpc-status: x1\r\n");
	assert_int_equal(grpc_result_status(&r), GRPC_UNKNOWN);
	feed(&r, "HTTP/2 503\r\n");
	assert_int_equal(grpc_result_status(&r), GRPC_UNAVAILABLE);
	feed(&r, "HTTP/2 401\r\n");
	assert_int_equal(grpc_result_status(&r), GRPC_UNAUTHENTICATED);
	feed(&r, "HTTP/2 404\r\n");
	assert_int_equal(grpc_result_status(&r), GRPC_UNIMPLEMENTED);
	feed(&r, "HTTP/2 400\r\n");
	assert_int_equal(grpc_result_status(&r), GRPC_INTERNAL);
	feed(&r, "HTTP/2 500\r\n");
	assert_int_equal(grpc_result_status(&r), GRPC_UNKNOWN);
	assert_string_equal(grpc_status_name(14), "UNAVAILABLE");
	assert_string_equal(grpc_status_name(99), "UNKNOWN");
	assert_int_equal(grpc_status_pt_code(GRPC_RESOURCE_EXHAUSTED), PT_RATE_LIMITED);
	assert_int_equal(grpc_status_pt_code(GRPC_INTERNAL), PT_UPSTREAM_UNAVAILABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_vector),
		cmocka_unit_test(test_deframe_splits),
		cmocka_unit_test(test_deframe_errors),
		cmocka_unit_test(test_trailers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
