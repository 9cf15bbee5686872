/* Unit tests for src/salesforce/avro: decoding every simulator event schema
 * from the vectors in tests/fixtures/unit/avro (gen_vectors.py), the
 * changedFields bitmaps (contract §5 examples), truncation and the cache. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "salesforce/avro.h"

static size_t slurp(const char *name, const char *ext, char *out, size_t size)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/unit/avro/%s.%s", FIXTURES_DIR, name, ext);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(out, 1, size - 1, f);
	fclose(f);
	out[n] = '\0';
	return n;
}

static struct sf_avro_schema *load(const char *name, struct sf_event *ev, int expect_rc)
{
	static char json[8192], bin[4096];
	struct pt_err e = { 0 };
	size_t jl = slurp(name, "avsc", json, sizeof(json));
	size_t bl = slurp(name, "bin", bin, sizeof(bin));
	struct sf_avro_schema *s = sf_avro_schema_new(json, jl, &e);

	assert_non_null(s);
	assert_int_equal(sf_avro_decode(s, bin, bl, ev, &e), expect_rc);
	return s;
}

static void test_provision(void **state)
{
	struct sf_event ev;
	struct sf_avro_schema *s;
	(void)state;
	sf_event_init(&ev);
	s = load("opr", &ev, 0);
	assert_string_equal(sf_avro_schema_name(s), "OrderProvisionRequested__e");
	assert_int_equal(ev.kind, SF_EVENT_PROVISION);
	assert_true(ev.created_date == 1700000000000LL);
	assert_string_equal(ev.order_id, "801000000000001AAA");
	assert_string_equal(ev.idem_key, "");
	sf_avro_schema_free(s);
	s = load("opr_full", &ev, 0);
	assert_string_equal(ev.order_id, "8015F0000000001QAA");
	assert_string_equal(ev.idem_key, "idem-1");
	assert_string_equal(ev.correlation_id, "corr-1");
	sf_avro_schema_free(s);
	sf_event_free(&ev);
}

static void test_eligibility(void **state)
{
	struct sf_event ev;
	struct sf_avro_schema *s;
	(void)state;
	sf_event_init(&ev);
	s = load("eligibility", &ev, 0);
	assert_int_equal(ev.kind, SF_EVENT_ELIGIBILITY);
	assert_string_equal(ev.account_id, "0015F0000000001QAA");
	sf_avro_schema_free(s);
	sf_event_free(&ev);
}

static void test_cdc(void **state)
{
	struct sf_event ev;
	struct sf_avro_schema *s;
	(void)state;
	sf_event_init(&ev);
	s = load("product2", &ev, 0);
	assert_int_equal(ev.kind, SF_EVENT_CDC);
	assert_string_equal(ev.entity_name, "Product2");
	assert_string_equal(ev.change_type, "UPDATE");
	assert_int_equal(ev.n_record_ids, 1);
	assert_string_equal(ev.record_ids[0], "01t5F0000000001QAA");
	assert_true(ev.commit_timestamp == 1700000000123LL);
	assert_string_equal(buf_cstr(&ev.changed_fields), "Name,LastModifiedDate");
	sf_avro_schema_free(s);

	s = load("pricebookentry", &ev, 0);
	assert_string_equal(ev.change_type, "GAP_OVERFLOW");
	assert_string_equal(ev.record_ids[0], "01u*");
	assert_string_equal(buf_cstr(&ev.changed_fields), "");
	sf_avro_schema_free(s);

	s = load("order", &ev, 0);
	assert_string_equal(ev.entity_name, "Order");
	assert_string_equal(ev.account_id, "0015F0000000001QAA");
	assert_string_equal(buf_cstr(&ev.changed_fields), "Status,ShippingAddress,ShippingAddress.City");
	sf_avro_schema_free(s);

	s = load("orderitem", &ev, 0);
	assert_string_equal(ev.change_type, "CREATE");
	assert_int_equal(ev.n_record_ids, 2);
	assert_string_equal(ev.order_id, "8015F0000000001QAA");
	assert_string_equal(ev.account_id, "");
	assert_string_equal(buf_cstr(&ev.changed_fields), "OrderId,Product2Id,Quantity,UnitPrice");
	sf_avro_schema_free(s);
	sf_event_free(&ev);
}

static void test_bitmaps(void **state)
{
	static char json[8192];
	struct pt_err e = { 0 };
	struct buf out;
	struct sf_avro_schema *s;
	size_t jl;
	(void)state;
	jl = slurp("order", "avsc", json, sizeof(json));
	s = sf_avro_schema_new(json, jl, &e);
	assert_non_null(s);
	buf_init(&out, 4096);
	assert_int_equal(sf_avro_bitmap_names(s, "0X06", &out, &e), 0);  /* either case */
	assert_string_equal(buf_cstr(&out), "AccountId,Status");
	buf_reset(&out);
	assert_int_equal(sf_avro_bitmap_names(s, "4-0x1f", &out, &e), 0);
	assert_string_equal(buf_cstr(&out), "ShippingAddress.Street,ShippingAddress.City,"
		"ShippingAddress.State,ShippingAddress.PostalCode,ShippingAddress.Country");
	buf_reset(&out);
	/* bits past the field count are ignored */
	assert_int_equal(sf_avro_bitmap_names(s, "0xF0000000000000000002", &out, &e), 0);
	assert_string_equal(buf_cstr(&out), "AccountId");
	buf_reset(&out);
	assert_int_equal(sf_avro_bitmap_names(s, "99-0x1", &out, &e), 0);
	assert_string_equal(buf_cstr(&out), "");
	assert_int_equal(sf_avro_bitmap_names(s, "0x", &out, &e), -1);
	assert_int_equal(sf_avro_bitmap_names(s, "82", &out, &e), -1);
	assert_int_equal(sf_avro_bitmap_names(s, "0xZ1", &out, &e), -1);
	assert_int_equal(sf_avro_bitmap_names(s, "2-0x1", &out, &e), -1);   /* Status: not a record */
	assert_int_equal(sf_avro_bitmap_names(s, "-0x1", &out, &e), -1);
	buf_free(&out);
	sf_avro_schema_free(s);
}

static void test_truncated(void **state)
{
	static char json[8192], bin[4096];
	struct pt_err e = { 0 };
	struct sf_event ev;
	size_t jl = slurp("order", "avsc", json, sizeof(json));
	size_t bl = slurp("order", "bin", bin, sizeof(bin));
	struct sf_avro_schema *s = sf_avro_schema_new(json, jl, &e);
	(void)state;
	sf_event_init(&ev);
	for (size_t n = 0; n < bl; n++)
		assert_int_equal(sf_avro_decode(s, bin, n, &ev, &e), -1);
	assert_int_equal(sf_avro_decode(s, bin, bl, &ev, &e), 0);
	/* a string claiming 2 GiB in a 8-byte payload: refused before Avro C allocates */
	assert_int_equal(sf_avro_decode(s, "\x00\x80\x01\xfe\xff\xff\xff\x0f", 8, &ev, &e), -1);
	assert_null(sf_avro_schema_new("{\"type\":", 8, &e));
	assert_null(sf_avro_schema_new("\"string\"", 8, &e));   /* not a record */
	sf_event_free(&ev);
	sf_avro_schema_free(s);
}

static void test_cache(void **state)
{
	static const char js[] = "{\"type\":\"record\",\"name\":\"X\",\"fields\":[]}";
	struct pt_err e = { 0 };
	struct sf_avro_cache *c = sf_avro_cache_new();
	char id[32];
	(void)state;
	assert_null(sf_avro_cache_get(c, "a"));
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "id%d", i);
		assert_int_equal(sf_avro_cache_put(c, id, sf_avro_schema_new(js, strlen(js), &e), &e), 0);
	}
	assert_null(sf_avro_cache_get(c, "id0"));    /* evicted */
	assert_non_null(sf_avro_cache_get(c, "id99"));
	assert_string_equal(sf_avro_schema_name(sf_avro_cache_get(c, "id99")), "X");
	sf_avro_cache_free(c);
	sf_avro_cache_free(NULL);
	sf_avro_schema_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provision),
		cmocka_unit_test(test_eligibility),
		cmocka_unit_test(test_cdc),
		cmocka_unit_test(test_bitmaps),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
