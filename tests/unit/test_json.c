/* test_json — bounded parsing rejects what it must (size, depth, trailing
 * bytes, bad UTF-8, NUL) and field getters name the offending field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/json.h"

static struct json_object *parse(const char *s, struct pt_err *err)
{
	pt_err_clear(err);
	return json_parse_bounded(s, strlen(s), 65536, JSON_DEFAULT_MAX_DEPTH, err);
}

static void test_parse_ok(void **state)
{
	struct pt_err err;
	struct json_object *o;
	(void)state;

	o = parse("{\"a\": 1, \"b\": [true, null, \"x\"]}", &err);
	assert_non_null(o);
	json_object_put(o);
	o = parse("  {\"a\":\"東京\"}\r\n\t ", &err);      /* trailing whitespace is fine */
	assert_non_null(o);
	json_object_put(o);
	o = parse("123", &err);                            /* top-level number ends at EOF */
	assert_non_null(o);
	assert_int_equal(json_object_get_int(o), 123);
	json_object_put(o);
	/* a lone surrogate escape becomes U+FFFD: the string stays valid UTF-8 */
	o = parse("[\"\\ud800\"]", &err);
	assert_non_null(o);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 0)), "\xef\xbf\xbd");
	json_object_put(o);
	o = parse("[-0.5e+10, 0, 1E3, -1, true, false, null]", &err);
	assert_non_null(o);
	json_object_put(o);
	o = parse("[]", &err);
	assert_non_null(o);
	json_object_put(o);
}

static void test_parse_reject(void **state)
{
	struct pt_err err;
	static const char *const bad[] = {
		"", "   ", "{", "{\"a\":1}x", "{\"a\":1} {}", "[1,]", "{'a':1}", "{\"a\":1,}",
		"nul", "null", "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", "01", "[1] ]",
		"{\"a\" 1}", "\"unterminated", "{\"a\":1}\x01", "NaN", "Infinity", "-Infinity", "[NaN]", "{\"a\":tru}", "TRUE",
		"[1 2]", "{\"a\":1 \"b\":2}", "[\"a\tb\"]", "[\"\\x41\"]", "[.5]", "[1.]", "[+1]", "[0x10]",
		"/* c */ 1", "[1] // c", "truex", "[nulll]", "[-]", "[1e]", "[1e+]",
	};
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct json_object *o = parse(bad[i], &err);
		if (o)
			fail_msg("accepted bad input #%zu: %s", i, bad[i]);
		assert_int_equal(err.code, PT_VALIDATION_FAILED);
	}
	/* embedded NUL */
	assert_null(json_parse_bounded("{\"a\":1}\0", 8, 100, 4, &err));
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	/* size */
	assert_null(json_parse_bounded("[1,2,3]", 7, 6, 4, &err));
	assert_int_equal(err.code, PT_PAYLOAD_TOO_LARGE);
	assert_null(json_parse_bounded(NULL, 0, 6, 4, &err));
}

static void test_depth(void **state)
{
	struct pt_err err;
	char deep[200];
	struct json_object *o;
	(void)state;

	memset(deep, '[', 10);
	memset(deep + 10, ']', 10);
	deep[20] = '\0';
	o = json_parse_bounded(deep, 20, 1000, 10, &err);
	assert_non_null(o);
	json_object_put(o);
	assert_null(json_parse_bounded(deep, 20, 1000, 9, &err));
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_null(json_parse_bounded(deep, 200, 1000, JSON_DEFAULT_MAX_DEPTH, &err));
}

static void test_getters(void **state)
{
	struct pt_err err;
	const char *s = "keep";
	long n = 7;
	int b = 5;
	(void)state;
	struct json_object *o = parse("{\"s\":\"hello\",\"i\":42,\"neg\":-3,\"b\":true,"
		"\"n\":null,\"f\":1.5,\"nul\":\"a\\u0000b\",\"big\":99999999999999999999,"
		"\"is\":\"12\",\"bad\":\"12x\",\"e\":\"\",\"eo\":{},\"arr\":[1],\"ea\":[]}", &err);
	assert_non_null(o);

	assert_int_equal(json_get_str(o, "s", 1, 10, &s, &err), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(json_get_str(o, "s", 1, 4, &s, &err), -1);
	assert_string_equal(err.field, "s");
	assert_int_equal(json_get_str(o, "i", 1, 10, &s, &err), -1);
	assert_string_equal(err.field, "i");
	assert_int_equal(json_get_str(o, "nul", 1, 10, &s, &err), -1);
	s = "keep";
	assert_int_equal(json_get_str(o, "missing", 0, 10, &s, &err), 0);
	assert_string_equal(s, "keep");
	assert_int_equal(json_get_str(o, "n", 0, 10, &s, &err), 0);
	assert_string_equal(s, "keep");
	pt_err_clear(&err);
	assert_int_equal(json_get_str(o, "missing", 1, 10, &s, &err), -1);
	assert_int_equal(err.code, PT_VALIDATION_FAILED);
	assert_string_equal(err.field, "missing");
	assert_int_equal(json_get_str(o, "n", 1, 10, &s, &err), -1);

	assert_int_equal(json_get_int(o, "i", 1, 0, 100, &n, &err), 0);
	assert_int_equal(n, 42);
	assert_int_equal(json_get_int(o, "i", 1, 0, 41, &n, &err), -1);
	assert_int_equal(json_get_int(o, "neg", 1, -5, 5, &n, &err), 0);
	assert_int_equal(n, -3);
	assert_int_equal(json_get_int(o, "f", 1, 0, 100, &n, &err), -1);
	assert_int_equal(json_get_int(o, "s", 1, 0, 100, &n, &err), -1);
	assert_int_equal(json_get_int(o, "big", 1, 0, 1L << 62, &n, &err), -1);
	assert_int_equal(json_get_int(o, "is", 1, 0, 100, &n, &err), -1);  /* strict */

	assert_int_equal(json_get_bool(o, "b", 1, &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(json_get_bool(o, "i", 1, &b, &err), -1);
	b = 5;
	assert_int_equal(json_get_bool(o, "zz", 0, &b, &err), 0);
	assert_int_equal(b, 5);

	assert_int_equal(json_get_lenient_int(o, "is", &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(json_get_lenient_int(o, "i", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(json_get_lenient_int(o, "bad", &n), -1);
	assert_int_equal(json_get_lenient_int(o, "e", &n), -1);
	assert_int_equal(json_get_lenient_int(o, "zz", &n), -1);

	assert_non_null(json_get_lenient_array(o, "arr"));
	assert_non_null(json_get_lenient_array(o, "ea"));
	assert_null(json_get_lenient_array(o, "e"));
	assert_null(json_get_lenient_array(o, "eo"));
	assert_null(json_get_lenient_array(o, "zz"));

	assert_string_equal(json_str_or(o, "s", "d"), "hello");
	assert_string_equal(json_str_or(o, "i", "d"), "d");
	assert_string_equal(json_str_or(o, "zz", NULL), "");

	/* not an object */
	struct json_object *arr = json_object_new_array();
	assert_int_equal(json_get_str(arr, "s", 0, 10, &s, &err), -1);
	assert_int_equal(json_get_lenient_int(NULL, "s", &n), -1);
	assert_string_equal(json_str_or(NULL, "s", "x"), "x");
	json_object_put(arr);
	json_object_put(o);
}

static void test_compact(void **state)
{
	struct pt_err err;
	size_t len = 0;
	(void)state;
	struct json_object *o = parse("{ \"url\" : \"https://a/b\", \"n\" : [ 1, 2 ] }", &err);
	const char *s = json_compact(o, &len);
	assert_string_equal(s, "{\"url\":\"https://a/b\",\"n\":[1,2]}");
	assert_int_equal(len, strlen(s));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_reject),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_compact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
