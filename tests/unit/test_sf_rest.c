/* Unit tests for the response side of src/salesforce/rest: error bodies →
 * pt_err, query pages, create and composite answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "salesforce/rest.h"

static void check(long status, const char *body, enum pt_code code, const char *provider,
	const char *field)
{
	struct pt_err e = { 0 };
	assert_int_equal(sf_rest_error(status, body, body ? strlen(body) : 0, &e), -1);
	if (e.code != code)
		fail_msg("%ld %s: got %s", status, body ? body : "(null)", pt_err_code_name(e.code));
	assert_string_equal(e.provider_code, provider);
	assert_string_equal(e.field, field);
}

static void test_error_bodies(void **state)
{
	(void)state;
	check(404, "[{\"errorCode\":\"NOT_FOUND\",\"message\":\"The requested resource does not exist\"}]",
		PT_NOT_FOUND, "NOT_FOUND", "");
	check(400, "[{\"message\":\"dup\",\"errorCode\":\"DUPLICATE_VALUE\",\"fields\":[\"Portal_Idempotency_Key__c\"]}]",
		PT_CONFLICT, "DUPLICATE_VALUE", "Portal_Idempotency_Key__c");
	check(400, "[{\"message\":\"unexpected token: 'FRM'\",\"errorCode\":\"MALFORMED_QUERY\"}]",
		PT_INTERNAL, "MALFORMED_QUERY", "");
	check(400, "[{\"message\":\"\\nSELECT Id, Foo FROM Account\",\"errorCode\":\"INVALID_FIELD\"}]",
		PT_INTERNAL, "INVALID_FIELD", "");
	check(403, "[{\"message\":\"TotalRequests Limit exceeded.\",\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}]",
		PT_UPSTREAM_UNAVAILABLE, "REQUEST_LIMIT_EXCEEDED", "");
	check(503, "[{\"message\":\"Server Unavailable\",\"errorCode\":\"SERVER_UNAVAILABLE\"}]",
		PT_UPSTREAM_UNAVAILABLE, "SERVER_UNAVAILABLE", "");
	check(503, "<html>maintenance</html>", PT_UPSTREAM_UNAVAILABLE, "503", "");
	check(429, NULL, PT_UPSTREAM_UNAVAILABLE, "429", "");
	check(500, "[{\"message\":\"unable to obtain exclusive access\",\"errorCode\":\"UNABLE_TO_LOCK_ROW\",\"fields\":[]}]",
		PT_UPSTREAM_UNAVAILABLE, "UNABLE_TO_LOCK_ROW", "");
	check(401, "[{\"message\":\"Session expired or invalid\",\"errorCode\":\"INVALID_SESSION_ID\"}]",
		PT_UPSTREAM_UNAVAILABLE, "INVALID_SESSION_ID", "");
	check(400, "[{\"message\":\"too long\",\"errorCode\":\"STRING_TOO_LONG\",\"fields\":[\"Subject\"]}]",
		PT_VALIDATION_FAILED, "STRING_TOO_LONG", "Subject");
	check(400, "[{\"message\":\"x\",\"errorCode\":\"SOMETHING_NEW\"}]", PT_UPSTREAM_ERROR, "SOMETHING_NEW", "");
	check(400, "[{\"message\":\"x\",\"errorCode\":\"bad code; DROP\"}]", PT_UPSTREAM_ERROR, "400", "");
	check(404, "{}", PT_NOT_FOUND, "404", "");
	/* sObject tree errors use statusCode */
	check(400, "{\"errorCode\":\"FIELD_INTEGRITY_EXCEPTION\",\"message\":\"m\",\"fields\":[\"PricebookEntryId\"]}",
		PT_UPSTREAM_ERROR, "FIELD_INTEGRITY_EXCEPTION", "PricebookEntryId");
}

static void test_query_page(void **state)
{
	struct json_object *acc = json_object_new_array();
	char next[SF_NEXT_URL_MAX];
	long total = 0;
	struct pt_err e = { 0 };
	(void)state;
	const char *p1 = "{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"/services/data/v60.0/query/01gD0000002HU6KIAW-2\","
		"\"records\":[{\"Id\":\"a\"},{\"Id\":\"b\"}]}";
	assert_int_equal(sf_rest_parse_page(p1, strlen(p1), acc, 10, &total, next, &e), 0);
	assert_int_equal(total, 3);
	assert_string_equal(next, "/services/data/v60.0/query/01gD0000002HU6KIAW-2");
	assert_int_equal(json_object_array_length(acc), 2);
	/* room limits the rows taken */
	assert_int_equal(sf_rest_parse_page(p1, strlen(p1), acc, 1, &total, next, &e), 0);
	assert_int_equal(json_object_array_length(acc), 3);
	/* a nextRecordsUrl to another host is refused */
	const char *evil = "{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"https://evil.example/x\",\"records\":[]}";
	assert_int_equal(sf_rest_parse_page(evil, strlen(evil), acc, 10, &total, next, &e), -1);
	const char *dots = "{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"/services/data/../../x\",\"records\":[]}";
	assert_int_equal(sf_rest_parse_page(dots, strlen(dots), acc, 10, &total, next, &e), -1);
	const char *missing = "{\"totalSize\":3,\"done\":false,\"records\":[]}";
	assert_int_equal(sf_rest_parse_page(missing, strlen(missing), acc, 10, &total, next, &e), -1);
	const char *count = "{\"totalSize\":42,\"done\":true,\"records\":[]}";
	assert_int_equal(sf_rest_parse_page(count, strlen(count), acc, 10, &total, next, &e), 0);
	assert_int_equal(total, 42);
	assert_string_equal(next, "");
	assert_int_equal(sf_rest_parse_page("[]", 2, acc, 10, &total, next, &e), -1);
	assert_int_equal(e.code, PT_UPSTREAM_ERROR);
	json_object_put(acc);
}

static void test_create_and_composite(void **state)
{
	char id[19];
	struct pt_err e = { 0 };
	(void)state;
	const char *ok = "{\"id\":\"8015F00000000AbQAI\",\"success\":true,\"errors\":[]}";
	assert_int_equal(sf_rest_parse_create(ok, strlen(ok), id, &e), 0);
	assert_string_equal(id, "8015F00000000AbQAI");
	const char *badid = "{\"id\":\"8015F00000000AbQAA\",\"success\":true}";
	assert_int_equal(sf_rest_parse_create(badid, strlen(badid), id, &e), -1);

	const char *comp = "{\"compositeResponse\":["
		"{\"body\":{\"id\":\"8015F00000000AbQAI\",\"success\":true,\"errors\":[]},\"httpHeaders\":{},\"httpStatusCode\":201,\"referenceId\":\"refOrder\"},"
		"{\"body\":{\"id\":\"8025F00000000AbQAI\",\"success\":true,\"errors\":[]},\"httpHeaders\":{},\"httpStatusCode\":201,\"referenceId\":\"refItem0\"}]}";
	assert_int_equal(sf_rest_parse_composite(200, comp, strlen(comp), id, &e), 0);
	assert_string_equal(id, "8015F00000000AbQAI");
	const char *rolled = "{\"compositeResponse\":["
		"{\"body\":[{\"errorCode\":\"PROCESSING_HALTED\",\"message\":\"rolled back\"}],\"httpHeaders\":{},\"httpStatusCode\":400,\"referenceId\":\"refOrder\"},"
		"{\"body\":[{\"message\":\"dup\",\"errorCode\":\"DUPLICATE_VALUE\",\"fields\":[\"Portal_Idempotency_Key__c\"]}],\"httpHeaders\":{},\"httpStatusCode\":400,\"referenceId\":\"refItem0\"}]}";
	assert_int_equal(sf_rest_parse_composite(200, rolled, strlen(rolled), id, &e), -1);
	assert_int_equal(e.code, PT_CONFLICT);
	assert_string_equal(e.provider_code, "DUPLICATE_VALUE");
	const char *top = "[{\"errorCode\":\"INVALID_FIELD\",\"message\":\"x\"}]";
	assert_int_equal(sf_rest_parse_composite(400, top, strlen(top), id, &e), -1);
	assert_int_equal(e.code, PT_INTERNAL);
	assert_int_equal(sf_rest_parse_composite(200, "{}", 2, id, &e), -1);
	assert_int_equal(e.code, PT_UPSTREAM_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_query_page),
		cmocka_unit_test(test_create_and_composite),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
