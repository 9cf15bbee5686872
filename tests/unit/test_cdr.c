/* test_cdr — the call/SMS CSV parser of freebit.md §7 at its edges: BOM,
 * CRLF, RFC 4180 quotes ("" inside, commas inside), quotes spanning lines,
 * short/long rows, bad numbers and times, over-long lines, invalid UTF-8,
 * header mismatch, empty and header-only files, any chunking; plus the
 * record renderers and the file names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sftp/cdr.h"
#include "sftp/sftp.h"

#define CALLS_HDR "msisdn,started_at,called_number,duration_sec,call_type,charge_jpy"
#define SMS_HDR "msisdn,sent_at,destination,sms_type,charge_jpy"

struct sink {
	struct domain_call_record calls[16];
	struct domain_sms_record sms[16];
	int n_calls, n_sms, stop_after;
};

static int on_call(void *ctx, const struct domain_call_record *r, struct pt_err *err)
{
	struct sink *s = ctx;

	if (s->n_calls < 16)
		s->calls[s->n_calls] = *r;
	s->n_calls++;
	if (s->stop_after && s->n_calls >= s->stop_after)
		return pt_err_set(err, PT_INTERNAL, "stop");
	return 0;
}

static int on_sms(void *ctx, const struct domain_sms_record *r, struct pt_err *err)
{
	struct sink *s = ctx;

	(void)err;
	if (s->n_sms < 16)
		s->sms[s->n_sms] = *r;
	s->n_sms++;
	return 0;
}

static const struct cdr_callbacks cbs = { on_call, on_sms };

/* Parses text fed in chunks of `chunk` bytes; returns finish's result. */
static int run(enum domain_cdr_kind kind, const char *text, size_t len, size_t chunk,
	struct sink *s, struct cdr_stats *st, struct pt_err *err)
{
	struct cdr_parser *p = cdr_parser_new(kind, 2026, 9, &cbs, s);
	size_t off;
	int rc = 0;

	assert_non_null(p);
	memset(st, 0, sizeof(*st));
	for (off = 0; off < len && rc == 0; off += chunk)
		rc = cdr_parser_feed(p, text + off, len - off < chunk ? len - off : chunk, err);
	if (rc == 0)
		rc = cdr_parser_finish(p, st, err);
	cdr_parser_free(p);
	return rc;
}

static void test_good_file_any_chunking(void **state)
{
	const char *text = "\xEF\xBB\xBF" CALLS_HDR "\r\n"
		"09000000101,2026-09-02T21:04:00+09:00,\"+14155550100\",62,international,180\r\n"
		"\r\n"
		"09000000101,2026-09-01T00:10:00+09:00,0312**5678,0,domestic,0\r\n"
		"09000000102,2026-09-30T23:59:59+09:00,\"#31#\",86400,domestic,9999999";
	size_t chunks[] = { 1, 2, 3, 7, 64, 100000 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct sink s = { 0 };
		struct cdr_stats st;
		struct pt_err err = { 0 };
		assert_int_equal(run(DOMAIN_CDR_CALLS, text, strlen(text), chunks[i], &s, &st, &err), 0);
		assert_int_equal(st.rows, 3);
		assert_int_equal(st.bad_lines, 0);
		assert_int_equal(s.n_calls, 3);
		assert_string_equal(s.calls[0].msisdn, "09000000101");
		assert_string_equal(s.calls[0].started_at, "2026-09-02T12:04:00Z");
		assert_string_equal(s.calls[0].called_number, "+14155550100");
		assert_int_equal(s.calls[0].duration_sec, 62);
		assert_true(s.calls[0].international);
		assert_int_equal(s.calls[0].charge_jpy, 180);
		/* JST midnight of the 1st is still the previous day in UTC. */
		assert_string_equal(s.calls[1].started_at, "2026-08-31T15:10:00Z");
		assert_string_equal(s.calls[1].called_number, "0312**5678");
		assert_string_equal(s.calls[2].called_number, "#31#");
	}
}

static void test_bad_lines_skipped(void **state)
{
	const char *text = CALLS_HDR "\n"
		"09000000101,2026-09-02T21:04:00+09:00,+1415,62,international\n"        /* short */
		"09000000101,2026-09-02T21:04:00+09:00,+1415,62,international,1,9\n"    /* long */
		"9000000101,2026-09-02T21:04:00+09:00,+1415,62,domestic,1\n"            /* msisdn */
		"09000000101,2026-10-02T21:04:00+09:00,+1415,62,domestic,1\n"           /* other month */
		"09000000101,2026-09-02 21:04:00+09:00,+1415,62,domestic,1\n"           /* format */
		"09000000101,2026-09-31T21:04:00+09:00,+1415,62,domestic,1\n"           /* no 31st */
		"09000000101,2026-09-02T21:04:00Z,+1415,62,domestic,1\n"                /* zone */
		"09000000101,2026-09-02T21:04:00+09:00,+14a5,62,domestic,1\n"           /* number */
		"09000000101,2026-09-02T21:04:00+09:00,,62,domestic,1\n"                /* empty number */
		"09000000101,2026-09-02T21:04:00+09:00,+1415,86401,domestic,1\n"        /* duration */
		"09000000101,2026-09-02T21:04:00+09:00,+1415,-1,domestic,1\n"           /* negative */
		"09000000101,2026-09-02T21:04:00+09:00,+1415,1.5,domestic,1\n"          /* decimal */
		"09000000101,2026-09-02T21:04:00+09:00,+1415,6,roaming,1\n"             /* type */
		"09000000101,2026-09-02T21:04:00+09:00,+1415,6,domestic,10000000\n"     /* charge */
		"09000000101,2026-09-02T21:04:00+09:00,\"+1415,6,domestic,1\n"          /* unclosed */
		"09000000101,2026-09-02T21:04:00+09:00,\"+14\"15,6,domestic,1\n"        /* after quote */
		"09000000101,2026-09-02T21:04:00+09:00,+1\"415,6,domestic,1\n"          /* stray quote */
		"09000000101,2026-09-02T21:04:00+09:00,+1415,6,dom\xff" "estic,1\n"     /* UTF-8 */
		"09000000101,2026-09-02T21:04:00+09:00,+1415,6,domestic,1\n";           /* good */
	struct sink s = { 0 };
	struct cdr_stats st;
	struct pt_err err = { 0 };

	(void)state;
	assert_int_equal(run(DOMAIN_CDR_CALLS, text, strlen(text), 5, &s, &st, &err), 0);
	assert_int_equal(st.bad_lines, 18);
	assert_int_equal(st.rows, 1);
	assert_int_equal(st.lines, 20);
}

static void test_quotes_and_long_lines(void **state)
{
	struct sink s = { 0 };
	struct cdr_stats st;
	struct pt_err err = { 0 };
	char *text = malloc(4096);
	size_t n;

	(void)state;
	/* A quoted field with "" and a comma is one field, then rejected by
	 * the number rule — but as one bad line, not a shifted row. */
	n = (size_t)snprintf(text, 4096, SMS_HDR "\n"
		"09000000101,2026-09-05T10:00:00+09:00,\"12\"\"3,4\",domestic,3\n"
		"\"09000000101\",\"2026-09-05T10:00:00+09:00\",\"0901\",\"domestic\",\"3\"\n");
	assert_int_equal(run(DOMAIN_CDR_SMS, text, n, 4096, &s, &st, &err), 0);
	assert_int_equal(st.bad_lines, 1);
	assert_int_equal(st.rows, 1);
	assert_string_equal(s.sms[0].destination, "0901");
	assert_string_equal(s.sms[0].sent_at, "2026-09-05T01:00:00Z");

	/* 1025-byte line: too long; the next line still parses. */
	memset(&s, 0, sizeof(s));
	n = (size_t)snprintf(text, 4096, SMS_HDR "\n");
	memset(text + n, 'x', 1025);
	n += 1025;
	n += (size_t)snprintf(text + n, 4096 - n,
		"\n09000000101,2026-09-05T10:00:00+09:00,0901,international,3\n");
	assert_int_equal(run(DOMAIN_CDR_SMS, text, n, 333, &s, &st, &err), 0);
	assert_int_equal(st.bad_lines, 1);
	assert_int_equal(st.rows, 1);
	assert_true(s.sms[0].international);
	free(text);
}

static void test_header_rules(void **state)
{
	struct sink s = { 0 };
	struct cdr_stats st;
	struct pt_err err = { 0 };
	const char *hdr_only = CALLS_HDR "\r\n";
	const char *wrong = "msisdn,started_at,called_number,duration,call_type,charge_jpy\n"
		"09000000101,2026-09-02T21:04:00+09:00,+1415,62,domestic,1\n";

	(void)state;
	assert_int_equal(run(DOMAIN_CDR_CALLS, hdr_only, strlen(hdr_only), 3, &s, &st, &err), 0);
	assert_int_equal(st.rows, 0);
	/* The SMS header on a calls file is a wrong header. */
	assert_int_equal(run(DOMAIN_CDR_CALLS, SMS_HDR "\n", strlen(SMS_HDR) + 1, 8, &s, &st, &err), -1);
	assert_string_equal(err.provider_code, "EBADHEADER");
	pt_err_clear(&err);
	assert_int_equal(run(DOMAIN_CDR_CALLS, wrong, strlen(wrong), 8, &s, &st, &err), -1);
	assert_int_equal(err.code, PT_UPSTREAM_UNAVAILABLE);
	pt_err_clear(&err);
	assert_int_equal(run(DOMAIN_CDR_CALLS, "", 0, 1, &s, &st, &err), -1);
	pt_err_clear(&err);
	assert_int_equal(run(DOMAIN_CDR_CALLS, "\xEF\xBB", 2, 1, &s, &st, &err), -1);
	pt_err_clear(&err);
	/* Blank lines before the header are ignored. */
	assert_int_equal(run(DOMAIN_CDR_SMS, "\n\r\n" SMS_HDR, strlen(SMS_HDR) + 3, 2, &s, &st, &err), 0);
	assert_null(cdr_parser_new(DOMAIN_CDR_SMS, 2026, 13, &cbs, &s));
}

static void test_callback_stop(void **state)
{
	const char *text = CALLS_HDR "\n"
		"09000000101,2026-09-02T21:04:00+09:00,+1415,62,domestic,1\n"
		"09000000101,2026-09-02T21:05:00+09:00,+1415,62,domestic,1\n";
	struct sink s = { 0 };
	struct cdr_stats st;
	struct pt_err err = { 0 };

	(void)state;
	s.stop_after = 1;
	assert_int_equal(run(DOMAIN_CDR_CALLS, text, strlen(text), 1000, &s, &st, &err), -1);
	assert_int_equal(s.n_calls, 1);
}

static void test_render_and_names(void **state)
{
	struct domain_call_record c = { "09000000101", "2026-09-02T12:04:00Z", "+14155550100", 62, 1, 180 };
	struct domain_sms_record m = { "09000000101", "2026-09-02T12:04:00Z", "0901", 0, 3 };
	struct json_object *a = json_object_new_array(), *o;
	char name[64];

	(void)state;
	json_object_array_add(a, domain_call_record_json(&c));
	json_object_array_add(a, domain_sms_record_json(&m));
	o = domain_cdr_month_json("2026-09", a, 183);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		"{\"month\":\"2026-09\",\"records\":[{\"started_at\":\"2026-09-02T12:04:00Z\","
		"\"called_number\":\"+14155550100\",\"duration_sec\":62,\"call_type\":\"international\","
		"\"charge\":{\"amount\":\"180.00\",\"currency\":\"JPY\"}},{\"sent_at\":"
		"\"2026-09-02T12:04:00Z\",\"destination\":\"0901\",\"sms_type\":\"domestic\","
		"\"charge\":{\"amount\":\"3.00\",\"currency\":\"JPY\"}}],\"total\":{\"amount\":\"183.00\","
		"\"currency\":\"JPY\"}}");
	json_object_put(o);
	assert_int_equal(sftp_cdr_filename(DOMAIN_CDR_CALLS, 2026, 9, name, sizeof(name)), 0);
	assert_string_equal(name, "PASI_talk-detail-202609.csv");
	assert_int_equal(sftp_cdr_filename(DOMAIN_CDR_SMS, 2026, 10, name, sizeof(name)), 0);
	assert_string_equal(name, "PASI_sms-detail-202610.csv");
	assert_int_equal(sftp_cdr_filename(DOMAIN_CDR_SMS, 2026, 0, name, sizeof(name)), -1);
}

static void test_fingerprint_format(void **state)
{
	unsigned char d[32];
	char out[64];

	(void)state;
	memset(d, 0, sizeof(d));
	sftp_fingerprint_format(d, out, sizeof(out));
	assert_string_equal(out, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(strlen(out), 7 + 43);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file_any_chunking),
		cmocka_unit_test(test_bad_lines_skipped),
		cmocka_unit_test(test_quotes_and_long_lines),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_render_and_names),
		cmocka_unit_test(test_fingerprint_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
