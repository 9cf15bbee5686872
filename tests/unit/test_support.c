/* Unit tests for the pure parts of app/support and domain/support:
 * the POST bodies (required fields named, subject 255 / description 32000
 * characters — not bytes — comment 4000 bytes, picklists any case, control
 * characters dropped except \t \n \r where kept, invalid UTF-8 refused, the
 * rest kept as given) and the §16 contact choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/support.h"
#include "core/json.h"
#include "domain/support.h"

static int parse(const char *body, struct support_case_input *in, struct pt_err *e)
{
	memset(e, 0, sizeof *e);
	return support_parse_case(body, strlen(body), in, e);
}

static void refused(const char *body, const char *field)
{
	struct support_case_input in;
	struct pt_err e;

	assert_int_equal(parse(body, &in, &e), -1);
	assert_int_equal(e.code, PT_VALIDATION_FAILED);
	assert_string_equal(e.field, field);
	assert_null(in.subject);
}

static void test_case_ok(void **state)
{
	struct support_case_input in;
	struct pt_err e;
	(void)state;

	assert_int_equal(parse("{\"subject\":\"Line <b>down</b>\",\"description\":"
		"\"since 9\\r\\n\\tno link\",\"priority\":\"HIGH\",\"category\":\"billing\"}",
		&in, &e), 0);
	assert_string_equal(in.subject, "Line <b>down</b>");   /* stored as given */
	assert_string_equal(in.description, "since 9\r\n\tno link");
	assert_string_equal(in.priority, "HIGH");
	assert_string_equal(in.category, "billing");
	support_case_input_clear(&in);

	/* Optional fields absent or null: defaults later (Medium / Other). */
	assert_int_equal(parse("{\"subject\":\"s\",\"description\":\"d\",\"priority\":null}", &in, &e), 0);
	assert_string_equal(in.priority, "");
	assert_string_equal(in.category, "");
	support_case_input_clear(&in);
}

static void test_case_strips_controls(void **state)
{
	struct support_case_input in;
	struct pt_err e;
	(void)state;

	/* NUL, BEL, ESC, DEL and C1 (U+0085) go; the subject loses \t \n too. */
	assert_int_equal(parse("{\"subject\":\"a\\u0000b\\u0007c\\td\\ne\\u001b\\u007f\\u0085f\","
		"\"description\":\"x\\u0001y\\nz\\u009f\"}", &in, &e), 0);
	assert_string_equal(in.subject, "abcdef");
	assert_string_equal(in.description, "xy\nz");
	support_case_input_clear(&in);
	/* Nothing left after stripping → the field is empty → refused. */
	refused("{\"subject\":\"\\u0001\\u0002\",\"description\":\"d\"}", "subject");
}

static void test_case_limits(void **state)
{
	struct support_case_input in;
	struct pt_err e;
	struct buf b;
	(void)state;

	/* 255 three-byte characters (765 bytes) fit: the limit is characters. */
	buf_init(&b, 0);
	buf_puts(&b, "{\"description\":\"d\",\"subject\":\"");
	for (int i = 0; i < 255; i++)
		buf_puts(&b, "\xe3\x81\x82");
	buf_puts(&b, "\"}");
	assert_int_equal(parse(buf_cstr(&b), &in, &e), 0);
	assert_int_equal(strlen(in.subject), 765);
	support_case_input_clear(&in);
	/* 256 do not. */
	b.len -= 2;
	buf_puts(&b, "a\"}");
	refused(buf_cstr(&b), "subject");
	buf_free(&b);

	buf_init(&b, 0);
	buf_puts(&b, "{\"subject\":\"s\",\"description\":\"");
	for (int i = 0; i < DOMAIN_CASE_DESCRIPTION_MAX; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\"}");
	assert_int_equal(parse(buf_cstr(&b), &in, &e), 0);
	support_case_input_clear(&in);
	b.len -= 2;
	buf_puts(&b, "x\"}");
	refused(buf_cstr(&b), "description");
	buf_free(&b);
}

static void test_case_refused(void **state)
{
	(void)state;
	refused("{\"description\":\"d\"}", "subject");
	refused("{\"subject\":\"s\"}", "description");
	refused("{\"subject\":5,\"description\":\"d\"}", "subject");
	refused("{\"subject\":\"\",\"description\":\"d\"}", "subject");
	refused("{\"subject\":\"s\",\"description\":\"\"}", "description");
	refused("{\"subject\":\"s\",\"description\":\"d\",\"priority\":\"urgent\"}", "priority");
	refused("{\"subject\":\"s\",\"description\":\"d\",\"priority\":3}", "priority");
	refused("{\"subject\":\"s\",\"description\":\"d\",\"category\":\"hardware\"}", "category");
	refused("{\"subject\":\"s\",\"description\":\"d\",\"category\":\"a-very-long-category-name\"}",
		"category");

	struct support_case_input in;
	struct pt_err e;
	assert_int_equal(parse("[1]", &in, &e), -1);
	assert_int_equal(e.code, PT_VALIDATION_FAILED);
	assert_int_equal(parse("{\"subject\":", &in, &e), -1);
	assert_int_equal(e.code, PT_VALIDATION_FAILED);
	/* Raw invalid UTF-8 in the body is refused by the parser already. */
	assert_int_equal(parse("{\"subject\":\"s\xff\",\"description\":\"d\"}", &in, &e), -1);
	assert_int_equal(e.code, PT_VALIDATION_FAILED);
}

static void test_text_clean(void **state)
{
	struct pt_err e = { 0 };
	char *s;
	(void)state;

	s = domain_case_text_clean("ok\xe3\x81\x82\x01!", 7, 1, "body", &e);
	assert_string_equal(s, "ok\xe3\x81\x82!");
	free(s);
	/* Invalid UTF-8 is refused, naming the field. */
	assert_null(domain_case_text_clean("a\xff", 2, 1, "body", &e));
	assert_string_equal(e.field, "body");
	assert_null(domain_case_text_clean("\xe3\x81", 2, 1, "body", &e));
	/* Dropping a control never joins broken bytes into a character. */
	assert_null(domain_case_text_clean("\xc3\x01\xa9", 3, 1, "body", &e));
	assert_int_equal(domain_utf8_chars("a\xe3\x81\x82", 4), 2);
}

static void test_comment(void **state)
{
	struct pt_err e = { 0 };
	char *t = NULL;
	char big[DOMAIN_CASE_COMMENT_MAX + 32];
	(void)state;

	const char *ok = "{\"body\":\"Thanks\\n\\u0007<i>x</i>\"}";
	assert_int_equal(support_parse_comment(ok, strlen(ok), &t, &e), 0);
	assert_string_equal(t, "Thanks\n<i>x</i>");
	free(t);
	assert_int_equal(support_parse_comment("{}", 2, &t, &e), -1);
	assert_string_equal(e.field, "body");
	assert_null(t);
	assert_int_equal(support_parse_comment("{\"body\":\"\"}", 11, &t, &e), -1);
	assert_string_equal(e.field, "body");
	int n = snprintf(big, sizeof big, "{\"body\":\"");
	memset(big + n, 'a', DOMAIN_CASE_COMMENT_MAX + 1);
	strcpy(big + n + DOMAIN_CASE_COMMENT_MAX + 1, "\"}");
	memset(&e, 0, sizeof e);
	assert_int_equal(support_parse_comment(big, strlen(big), &t, &e), -1);
	assert_string_equal(e.field, "body");
}

static void test_contact_pick(void **state)
{
	struct pt_err e = { 0 };
	char id[19];
	struct json_object *recs = json_tokener_parse("["
		"{\"Id\":\"0035F0000000001QAA\",\"Email\":\"yamada.office@example.jp\"},"
		"{\"Id\":\"0035F0000000002QAA\",\"Email\":\"Taro.Yamada@example.jp\"}]");
	struct json_object *none = json_object_new_array();
	struct json_object *bad = json_tokener_parse("[{\"Id\":\"xyz\",\"Email\":null}]");
	(void)state;

	assert_int_equal(domain_case_contact_pick(recs, "taro.yamada@example.jp", id, &e), 1);
	assert_string_equal(id, "0035F0000000002QAA");
	/* No match → the oldest (first) contact. */
	assert_int_equal(domain_case_contact_pick(recs, "someone@example.jp", id, &e), 1);
	assert_string_equal(id, "0035F0000000001QAA");
	assert_int_equal(domain_case_contact_pick(none, "x@example.jp", id, &e), 0);
	assert_int_equal(domain_case_contact_pick(bad, "x@example.jp", id, &e), -1);
	assert_int_equal(e.code, PT_UPSTREAM_ERROR);

	struct buf q;
	buf_init(&q, 0);
	assert_int_equal(domain_case_contact_soql(&q, "0015F0000000001QAA", &e), 0);
	assert_non_null(strstr(buf_cstr(&q), "FROM Contact WHERE AccountId = '0015F0000000001QAA'"));
	assert_non_null(strstr(buf_cstr(&q), "ORDER BY CreatedDate ASC"));
	buf_free(&q);
	json_object_put(recs);
	json_object_put(none);
	json_object_put(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_ok),
		cmocka_unit_test(test_case_strips_controls),
		cmocka_unit_test(test_case_limits),
		cmocka_unit_test(test_case_refused),
		cmocka_unit_test(test_text_clean),
		cmocka_unit_test(test_comment),
		cmocka_unit_test(test_contact_pick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
