/* simctl_client — see simctl_client.h. Uses the portal's own HTTP client. */
#include "simctl_client.h"

#include <stdio.h>
#include <string.h>

#include "core/http.h"
#include "core/json.h"

static int req(const char *method, const char *base, const char *path, const char *body,
	struct http_response *resp)
{
	static const char *const headers[] = { "Content-Type: application/json", NULL };
	struct http_client_opts o = { 0 };
	struct http_client *c;
	struct http_request r = { 0 };
	struct pt_err err = { 0 };
	char url[512];
	int rc;

	o.system = "simctl";
	o.total_timeout_ms = 5000;
	o.max_response = 16u * 1024u * 1024u;
	c = http_client_new(&o);
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "%s%s", base, path);
	r.method = method;
	r.url = url;
	r.headers = headers;
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	r.op = "simctl";
	rc = http_do(c, &r, resp, &err);
	http_client_free(c);
	return rc == 0 ? (int)resp->status : -1;
}

int simctl_post(const char *base, const char *path, const char *json)
{
	struct http_response resp = { 0 };
	int st = req("POST", base, path, json ? json : "", &resp);

	http_response_free(&resp);
	return st;
}

int simctl_delete(const char *base, const char *path)
{
	struct http_response resp = { 0 };
	int st = req("DELETE", base, path, NULL, &resp);

	http_response_free(&resp);
	return st;
}

int simctl_count_calls(const char *base, const char *action)
{
	struct http_response resp = { 0 };
	struct json_object *a;
	size_t i;
	int n = 0;

	if (req("GET", base, "/__sim/calls", NULL, &resp) != 200) {
		http_response_free(&resp);
		return -1;
	}
	a = json_tokener_parse(buf_cstr(&resp.body));
	http_response_free(&resp);
	if (!a || !json_object_is_type(a, json_type_array)) {
		json_object_put(a);
		return -1;
	}
	for (i = 0; i < json_object_array_length(a); i++)
		if (!strcmp(json_str_or(json_object_array_get_idx(a, i), "action", ""), action))
			n++;
	json_object_put(a);
	return n;
}

int simctl_fault(const char *base, const char *match, int status, long delay_ms, int count, int drop)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"match\":\"%s\",\"status\":%d,\"delay_ms\":%ld,"
		"\"count\":%d,\"drop\":%s}", match, status, delay_ms, count, drop ? "true" : "false");
	return simctl_post(base, "/__sim/faults", body);
}
