/* whmcs/client — see client.h. */
#include "whmcs/client.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/json.h"
#include "core/log.h"

/* A request body never needs more: the largest is AddOrder with a few lines. */
#define WHMCS_MAX_BODY (256u * 1024u)

struct whmcs_client {
	struct http_client *http;
	char *api_url;
	char *identifier;
	char *secret;
	char *access_key;
};

static char *dup_or_null(const char *s)
{
	return (s && *s) ? strdup(s) : NULL;
}

struct whmcs_client *whmcs_client_new(const struct whmcs_client_opts *opts, struct pt_err *err)
{
	struct whmcs_client *c = NULL;
	struct http_client_opts ho = { 0 };

	if (!opts || !opts->api_url || !*opts->api_url) {
		pt_err_set(err, PT_CONFIG_INVALID, "WHMCS_API_URL: missing");
		return NULL;
	}
	if (!opts->identifier || !*opts->identifier || !opts->secret || !*opts->secret) {
		pt_err_set(err, PT_CONFIG_INVALID, "WHMCS_API_IDENTIFIER/WHMCS_API_SECRET: missing");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto oom;
	ho.system = "whmcs";
	ho.total_timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
	ho.connect_timeout_ms = ho.total_timeout_ms < 3000 ? ho.total_timeout_ms : 3000;
	ho.max_retries = opts->max_retries >= 0 ? opts->max_retries : 2;
	ho.backoff_ms = 200;
	ho.max_response = WHMCS_MAX_RESPONSE;
	c->http = http_client_new(&ho);
	c->api_url = strdup(opts->api_url);
	c->identifier = strdup(opts->identifier);
	c->secret = strdup(opts->secret);
	c->access_key = dup_or_null(opts->access_key);
	if (!c->http || !c->api_url || !c->identifier || !c->secret ||
	    (opts->access_key && *opts->access_key && !c->access_key))
		goto oom;
	return c;
oom:
	whmcs_client_free(c);
	pt_err_set(err, PT_INTERNAL, "whmcs client: out of memory");
	return NULL;
}

struct whmcs_client *whmcs_client_from_config(const struct pt_config *cfg, struct pt_err *err)
{
	struct whmcs_client_opts o = { 0 };
	long timeout = 10000;

	o.api_url = config_get(cfg, "WHMCS_API_URL");
	o.identifier = config_get(cfg, "WHMCS_API_IDENTIFIER");
	o.secret = config_get(cfg, "WHMCS_API_SECRET");
	o.access_key = config_get(cfg, "WHMCS_API_ACCESS_KEY");
	if (config_get(cfg, "WHMCS_TIMEOUT_MS") &&
	    config_get_long(cfg, "WHMCS_TIMEOUT_MS", &timeout, err) != 0)
		return NULL;
	o.timeout_ms = timeout;
	o.max_retries = 2;
	return whmcs_client_new(&o, err);
}

void whmcs_client_free(struct whmcs_client *c)
{
	if (!c)
		return;
	http_client_free(c->http);
	free(c->api_url);
	free(c->identifier);
	if (c->secret) {
		memset(c->secret, 0, strlen(c->secret));
		free(c->secret);
	}
	if (c->access_key) {
		memset(c->access_key, 0, strlen(c->access_key));
		free(c->access_key);
	}
	free(c);
}

int whmcs_action_is_read(const char *action)
{
	return action && strncmp(action, "Get", 3) == 0;
}

/* Exact texts from whmcs.md §2/§4, compared case-insensitively by prefix so
 * that "Invalid Payment Method. Valid options include …" still matches. */
static const struct {
	const char *prefix;
	enum pt_code code;
} error_map[] = {
	{ "Client Not Found", PT_NOT_FOUND },
	{ "Client ID Not Found", PT_NOT_FOUND },
	{ "Invoice ID Not Found", PT_NOT_FOUND },
	{ "Invalid client_id", PT_NOT_FOUND },
	{ "Invalid user_id", PT_NOT_FOUND },
	{ "Service ID not owned", PT_NOT_FOUND },
	{ "Email or Password Invalid", PT_INVALID_CREDENTIALS },
	{ "Invalid Login Details", PT_INVALID_CREDENTIALS },
	{ "The email address entered is not available", PT_EMAIL_IN_USE },
	{ "A user already exists with that email", PT_EMAIL_IN_USE },
	{ "Duplicate Email Address", PT_EMAIL_IN_USE },
	{ "You did not enter", PT_VALIDATION_FAILED },
	{ "The email address you entered was not valid", PT_VALIDATION_FAILED },
	{ "The email address entered is not valid", PT_VALIDATION_FAILED },
	{ "Valid country required", PT_VALIDATION_FAILED },
	{ "Invalid telephone", PT_VALIDATION_FAILED },
	{ "Either clientid Or email Is Required", PT_VALIDATION_FAILED },
	{ "Client ID Is Required", PT_VALIDATION_FAILED },
	{ "Invalid Pay Method Type", PT_VALIDATION_FAILED },
	{ "Invalid IP address provided", PT_VALIDATION_FAILED },
	{ "Invalid Payment Method", PT_PAYMENT_METHOD_MISSING },
	{ "Order ID not found or Status not Pending", PT_CONFLICT },
	{ "Unable to add order when client status is Closed", PT_CONFLICT },
	{ "SSO authentication blocked", PT_CONFLICT },
};

enum pt_code whmcs_error_code(const char *message)
{
	size_t i;

	if (!message)
		return PT_UPSTREAM_ERROR;
	for (i = 0; i < sizeof(error_map) / sizeof(error_map[0]); i++) {
		size_t n = strlen(error_map[i].prefix);
		if (strncasecmp(message, error_map[i].prefix, n) == 0)
			return error_map[i].code;
	}
	return PT_UPSTREAM_ERROR;
}

static int retry_after_seconds(const char *v)
{
	char *end;
	long s;

	if (!v || !*v)
		return 0;
	s = strtol(v, &end, 10);
	if (end == v || s < 0)
		return 0;
	return s > 86400 ? 86400 : (int)s;
}

/* HTTP-level failures: api.php answers 200 for action errors, so anything
 * else is the service (or something in front of it) being unusable. */
static int map_http_status(long status, const char *body, size_t len, const char *retry_after,
	struct pt_err *err)
{
	char code[16];

	snprintf(code, sizeof(code), "%ld", status);
	if (status == 403 || status == 401) {
		/* Our credentials or IP are rejected: an operator problem, not the
		 * customer's; keep WHMCS's text for the log. */
		struct pt_err perr = { 0 };
		struct json_object *o = json_parse_bounded(body, len, 65536, 4, &perr);
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "whmcs access denied (HTTP %ld): %s",
			status, o ? json_str_or(o, "message", "") : "");
		json_object_put(o);
	} else {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "whmcs HTTP %ld", status);
	}
	pt_err_provider(err, code);
	if (err) {
		err->retry_after = retry_after_seconds(retry_after);
		/* Refused before the action ran: rate limit, maintenance/overload
		 * (503) or our credentials. Any other status (500, a proxy's
		 * 502/504) may come after the action did its work. */
		err->not_applied = status == 429 || status == 503 || status == 401 ||
			status == 403;
	}
	return -1;
}

int whmcs_parse_reply(long http_status, const char *body, size_t len, const char *retry_after,
	struct json_object **out, struct pt_err *err)
{
	struct json_object *o = NULL, *res = NULL;
	struct pt_err perr = { 0 };
	const char *msg;
	enum pt_code code;

	*out = NULL;
	if (err)
		err->not_applied = 0;
	if (http_status != 200)
		return map_http_status(http_status, body, len, retry_after, err);
	o = json_parse_bounded(body, len, WHMCS_MAX_RESPONSE, JSON_DEFAULT_MAX_DEPTH, &perr);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "whmcs reply is not a JSON object: %s",
			perr.detail);
		pt_err_provider(err, "EBADREPLY");
		return -1;
	}
	if (json_object_object_get_ex(o, "result", &res) &&
	    json_object_is_type(res, json_type_string) &&
	    strcmp(json_object_get_string(res), "success") == 0) {
		*out = o;
		return 0;
	}
	/* result=error, or GetInvoice's {"status":"error"} without `result`. */
	msg = json_str_or(o, "message", "");
	code = whmcs_error_code(msg);
	pt_err_set(err, code, "whmcs error: %s", msg);
	pt_err_provider(err, *msg ? msg : "error");
	/* Only an explicit error is WHMCS refusing the action; an object
	 * saying neither may be a mangled success. */
	if (err)
		err->not_applied = !strcmp(json_str_or(o, "result", json_str_or(o, "status", "")),
			"error");
	json_object_put(o);
	return -1;
}

static int append_param(struct buf *b, const char *key, const char *value)
{
	if (b->len && buf_putc(b, '&') != 0)
		return -1;
	if (str_url_encode(b, key, strlen(key)) != 0 || buf_putc(b, '=') != 0)
		return -1;
	return str_url_encode(b, value ? value : "", value ? strlen(value) : 0);
}

static int build_body(const struct whmcs_client *c, const char *action,
	const struct whmcs_param *params, size_t n, struct buf *b)
{
	size_t i;

	if (append_param(b, "action", action) || append_param(b, "responsetype", "json") ||
	    append_param(b, "identifier", c->identifier) || append_param(b, "secret", c->secret))
		return -1;
	if (c->access_key && append_param(b, "accesskey", c->access_key))
		return -1;
	for (i = 0; i < n; i++) {
		if (!params[i].key || !*params[i].key)
			continue;
		if (append_param(b, params[i].key, params[i].value))
			return -1;
	}
	return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

int whmcs_call(struct whmcs_client *c, const char *action, const struct whmcs_param *params,
	size_t n, struct json_object **out, struct pt_err *err)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL
	};
	struct buf body;
	struct http_request req = { 0 };
	struct http_response resp = { 0 };
	struct timespec t0;
	char lat[24], st[24];
	int rc = -1;

	*out = NULL;
	buf_init(&body, WHMCS_MAX_BODY);
	if (err)
		err->not_applied = 1;   /* http_do and whmcs_parse_reply say otherwise */
	if (!c || !action || !*action) {
		pt_err_set(err, PT_INTERNAL, "whmcs_call: no client or action");
		goto out;
	}
	if (build_body(c, action, params, n, &body) != 0) {
		pt_err_set(err, PT_INTERNAL, "whmcs %s: request too large", action);
		goto out;
	}
	req.method = "POST";
	req.url = c->api_url;
	req.headers = headers;
	req.body = buf_cstr(&body);
	req.body_len = body.len;
	req.idempotent = whmcs_action_is_read(action);
	req.op = action;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (http_do(c->http, &req, &resp, err) != 0)
		goto log;
	rc = whmcs_parse_reply(resp.status, buf_cstr(&resp.body), resp.body.len,
		resp.retry_after, out, err);
log:
	/* Values are never logged: only the action, outcome and timing. */
	if (rc != 0)
		log_warn("whmcs call failed", "system", "whmcs", "op", action,
			"status", log_itoa(resp.status, st), "code",
			pt_err_code_name(err ? err->code : PT_UPSTREAM_ERROR),
			"provider_code", err ? err->provider_code : "",
			"detail", err ? err->detail : "", "latency_ms", log_itoa(elapsed_ms(&t0), lat));
	else
		log_debug("whmcs call", "system", "whmcs", "op", action,
			"status", log_itoa(resp.status, st), "latency_ms", log_itoa(elapsed_ms(&t0), lat));
out:
	http_response_free(&resp);
	/* The body holds the secret: wipe before release. */
	if (body.data)
		memset(body.data, 0, body.cap);
	buf_free(&body);
	return rc;
}
