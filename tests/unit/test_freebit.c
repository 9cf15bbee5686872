/* test_freebit — result codes → pt_err per freebit.md §3 (241 with
 * retryAfter, 240 fixed 300 s, 900 maintenance…), transport failures, MSISDN
 * normalisation, and the SIM mappers: fixture reply → domain → JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domain/sim.h"
#include "freebit/client.h"

static struct json_object *fixture(const char *name, struct pt_err *err)
{
	char path[512], *data;
	FILE *f;
	long n;
	struct json_object *o = NULL;

	snprintf(path, sizeof(path), "%s/unit/freebit/%s", FIXTURES_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (freebit_parse_reply(200, data, (size_t)n, &o, err) != 0)
		o = NULL;
	free(data);
	return o;
}

static const char *js(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void code(const char *rc, enum pt_code want, int retry)
{
	char body[128];
	struct json_object *o = NULL;
	struct pt_err err = { 0 };

	snprintf(body, sizeof(body), "{\"resultCode\":\"%s\",\"status\":{\"message\":\"m\"}}", rc);
	assert_int_equal(freebit_parse_reply(200, body, strlen(body), &o, &err), -1);
	assert_null(o);
	assert_int_equal(err.code, want);
	assert_string_equal(err.provider_code, rc);
	assert_int_equal(err.retry_after, retry);
}

static void test_result_codes(void **state)
{
	struct pt_err err = { 0 };
	struct json_object *o;

	(void)state;
	code("210", PT_UPSTREAM_UNAVAILABLE, 0);
	code("211", PT_UPSTREAM_UNAVAILABLE, 0);
	code("220", PT_VALIDATION_FAILED, 0);
	code("230", PT_NOT_FOUND, 0);
	code("240", PT_OPERATION_TOO_SOON, 300);
	code("241", PT_OPERATION_TOO_SOON, 1800);   /* no retryAfter given */
	code("250", PT_SIM_ACTION_NOT_ALLOWED, 0);
	code("400", PT_VALIDATION_FAILED, 0);
	code("500", PT_UPSTREAM_UNAVAILABLE, 0);
	code("900", PT_UPSTREAM_UNAVAILABLE, 600);
	code("777", PT_UPSTREAM_UNAVAILABLE, 0);
	o = fixture("error_241.json", &err);
	assert_null(o);
	assert_int_equal(err.code, PT_OPERATION_TOO_SOON);
	assert_int_equal(err.retry_after, 1234);
	/* status.message is kept for the log only. */
	assert_non_null(strstr(err.detail, "too soon"));
}

static void test_transport(void **state)
{
	struct json_object *o = NULL;
	struct pt_err err = { 0 };
	const char *ok_num = "{\"resultCode\":100}";

	(void)state;
	assert_int_equal(freebit_parse_reply(200, ok_num, strlen(ok_num), &o, &err), 0);
	json_object_put(o);
	assert_int_equal(freebit_parse_reply(502, "", 0, &o, &err), -1);
	assert_string_equal(err.provider_code, "HTTP502");
	pt_err_clear(&err);
	assert_int_equal(freebit_parse_reply(200, "{}", 2, &o, &err), -1);
	assert_string_equal(err.provider_code, "EBADREPLY");
	pt_err_clear(&err);
	assert_int_equal(freebit_parse_reply(200, "[]", 2, &o, &err), -1);
	assert_int_equal(freebit_parse_reply(200, "{\"resultCode\":\"1x0\"}", 20, &o, &err), -1);
	assert_string_equal(err.provider_code, "EBADREPLY");
}

static void test_msisdn(void **state)
{
	char out[12];

	(void)state;
	assert_int_equal(freebit_msisdn_norm("080-1234-0001", out), 0);
	assert_string_equal(out, "08012340001");
	assert_int_equal(freebit_msisdn_norm("8012340001", out), -1);
	assert_int_equal(freebit_msisdn_norm("080123400011", out), -1);
	assert_int_equal(freebit_msisdn_norm("0801234000a", out), -1);
	assert_int_equal(freebit_msisdn_norm(NULL, out), -1);
}

static void test_detail(void **state)
{
	struct pt_err err = { 0 };
	struct json_object *r = fixture("get_detail.json", &err), *j;
	struct domain_sim_line l;

	(void)state;
	assert_non_null(r);
	assert_int_equal(domain_sim_line_from_freebit(r, &l, &err), 0);
	assert_string_equal(l.msisdn, "08012340001");
	assert_string_equal(l.status, "active");
	assert_string_equal(l.plan_code, "PASI_10G_V");
	assert_string_equal(l.next_plan_date, "2026-12-01");
	assert_string_equal(l.network_type, "4G");
	assert_true(l.has_voice);
	assert_int_equal(l.voice.voicemail, 1);
	assert_int_equal(l.voice.call_waiting, 0);
	assert_int_equal(l.remaining_quota_mb, 10240);
	/* JST → UTC */
	assert_string_equal(l.last_change_at, "2026-11-01T00:30:00Z");
	j = domain_sim_line_json(&l);
	assert_non_null(strstr(js(j), "\"msisdn\":\"08012340001\",\"iccid\":\"8981100000000000001\","
		"\"eid\":null,\"sim_type\":\"physical\""));
	assert_non_null(strstr(js(j), "\"voice_options\":{\"voicemail\":true,\"call_waiting\":false"));
	assert_non_null(strstr(js(j), "\"remaining_quota_mb\":10240"));
	json_object_put(j);
	json_object_put(r);

	r = fixture("get_detail_esim_data.json", &err);
	assert_non_null(r);
	assert_int_equal(domain_sim_line_from_freebit(r, &l, &err), 0);
	assert_false(l.has_voice);
	assert_string_equal(l.pending_operation, "contractline");
	assert_string_equal(l.cancel_date, "2026-11-30");
	j = domain_sim_line_json(&l);
	assert_non_null(strstr(js(j), "\"sim_type\":\"esim\""));
	assert_non_null(strstr(js(j), "\"voice_options\":null"));
	json_object_put(j);
	json_object_put(r);

	r = json_tokener_parse("{\"resultCode\":\"100\",\"responseDatas\":{\"account\":\"x\"}}");
	assert_int_equal(domain_sim_line_from_freebit(r, &l, &err), -1);
	json_object_put(r);
}

static void test_traffic_usage_quota(void **state)
{
	struct pt_err err = { 0 };
	struct json_object *r = fixture("get_traffic_info.json", &err), *j;
	struct domain_sim_traffic t;
	struct domain_usage_list u;
	struct domain_quota_history q;

	(void)state;
	assert_int_equal(domain_sim_traffic_from_freebit(r, &t, &err), 0);
	assert_int_equal(t.this_month_mb, 5120);
	assert_int_equal(t.quota_remain_mb, 5120);
	assert_false(t.throttled);
	j = domain_sim_traffic_json(&t);
	assert_non_null(strstr(js(j), "\"remaining_quota_mb\":5120"));
	json_object_put(j);
	json_object_put(r);

	r = fixture("get_traffic_history.json", &err);
	assert_int_equal(domain_usage_from_freebit(r, &u, &err), 0);
	assert_int_equal(u.n, 3);   /* the bad date is dropped */
	j = domain_usage_list_json(&u);
	assert_string_equal(js(j), "[{\"date\":\"2026-11-01\",\"usage_mb\":100},"
		"{\"date\":\"2026-11-02\",\"usage_mb\":0},{\"date\":\"2026-11-03\",\"usage_mb\":250}]");
	json_object_put(j);
	domain_usage_list_clear(&u);
	json_object_put(r);

	r = fixture("get_quota_history.json", &err);
	assert_int_equal(domain_quota_history_from_freebit(r, &q, &err), 0);
	assert_int_equal(q.n, 2);
	assert_string_equal(q.v[0].added_at, "2026-11-05T03:00:00Z");
	assert_string_equal(q.v[0].quota_code, "portal-topup-17");
	assert_string_equal(q.v[1].added_at, "2026-09-30T15:00:00Z");
	j = domain_quota_history_json(&q);
	assert_non_null(strstr(js(j), "\"expires_on\":\"2026-12-31\""));
	json_object_put(j);
	domain_quota_history_clear(&q);
	json_object_put(r);
}

static void test_client_config(void **state)
{
	struct freebit_client_opts o = { 0 };
	struct pt_err err = { 0 };
	struct freebit_client *c;

	(void)state;
	assert_null(freebit_client_new(&o, &err));
	assert_int_equal(err.code, PT_CONFIG_INVALID);
	o.base_url = "http://127.0.0.1:1/";
	o.oem_id = "id";
	o.oem_key = "key";
	c = freebit_client_new(&o, &err);
	assert_non_null(c);
	freebit_client_free(c);
	freebit_client_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_codes),
		cmocka_unit_test(test_transport),
		cmocka_unit_test(test_msisdn),
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_traffic_usage_quota),
		cmocka_unit_test(test_client_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
