/* Helpers for the Salesforce integration programs: the simulator's control
 * API over plain libcurl, and the client options for the test org. */
#ifndef PT_TESTS_SF_SIM_H
#define PT_TESTS_SF_SIM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "salesforce/rest.h"

#define SIM_CLIENT_ID "3MVG9PORTALSIMULATOR.TestOnlyConsumerKey.NotARealConnectedApp"
#define SIM_USERNAME "integration@portal.example.test"

static size_t sim_write(char *p, size_t s, size_t n, void *ud)
{
	struct buf *b = ud;
	return buf_append(b, p, s * n) == 0 ? s * n : 0;
}

/* method + /__sim path + optional JSON body → parsed JSON answer (or NULL). */
static struct json_object *sim_ctl(const char *base, const char *method, const char *path,
	const char *body)
{
	CURL *c = curl_easy_init();
	struct buf b, url;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct json_object *out = NULL;

	buf_init(&b, 0);
	buf_init(&url, 0);
	buf_printf(&url, "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sim_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK && b.len)
		out = json_tokener_parse(buf_cstr(&b));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	buf_free(&b);
	buf_free(&url);
	return out;
}

/* How many calls in the simulator's log have this action (and status, 0 = any). */
static int sim_count(const char *base, const char *action, long status)
{
	struct json_object *calls = sim_ctl(base, "GET", "/__sim/calls", NULL), *list = calls;
	int n = 0;

	if (json_object_is_type(calls, json_type_object))
		json_object_object_get_ex(calls, "calls", &list);
	for (size_t i = 0; json_object_is_type(list, json_type_array) &&
	     i < json_object_array_length(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *a, *s;
		if (json_object_object_get_ex(e, "action", &a) &&
		    strcmp(json_object_get_string(a), action) == 0 &&
		    (!status || (json_object_object_get_ex(e, "status", &s) &&
				 json_object_get_int64(s) == status)))
			n++;
	}
	json_object_put(calls);
	return n;
}

static void sim_opts(struct sf_client_opts *o, const char *base, long timeout_ms)
{
	memset(o, 0, sizeof *o);
	o->auth.login_url = base;
	o->auth.audience = getenv("PORTAL_TEST_SF_AUDIENCE") ? getenv("PORTAL_TEST_SF_AUDIENCE") : base;
	o->auth.client_id = SIM_CLIENT_ID;
	o->auth.username = SIM_USERNAME;
	o->auth.private_key_path = FIXTURES_DIR "/keys/sf_jwt_private.pem";
	o->auth.timeout_ms = timeout_ms;
	o->auth.token_ttl_s = 7200;
	o->api_version = "v60.0";
	o->timeout_ms = timeout_ms;
	o->max_retries = 2;
}

#endif
