/* rest — calls to the Salesforce REST API and the mapping of its answers.
 * Ids and sObject names are validated before they become part of a URL;
 * nextRecordsUrl is checked before it is followed, so a response can never
 * point our bearer token at another host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "salesforce/rest.h"

#define ERR_BODY_MAX (256 * 1024)

struct sf_client {
	struct sf_auth *auth;
	struct http_client *http;
	struct redis *redis;         /* borrowed */
	char api_version[16];
};

/* ---- error mapping ------------------------------------------------------- */

static const struct {
	const char *code;
	enum pt_code pt;
} sf_codes[] = {
	{ "NOT_FOUND", PT_NOT_FOUND },
	{ "ENTITY_IS_DELETED", PT_NOT_FOUND },
	{ "DUPLICATE_VALUE", PT_CONFLICT },
	/* our query or payload is wrong: a bug, not the customer's fault */
	{ "MALFORMED_QUERY", PT_INTERNAL },
	{ "INVALID_FIELD", PT_INTERNAL },
	{ "INVALID_TYPE", PT_INTERNAL },
	{ "MALFORMED_ID", PT_INTERNAL },
	{ "JSON_PARSER_ERROR", PT_INTERNAL },
	{ "INVALID_FIELD_FOR_INSERT_UPDATE", PT_INTERNAL },
	{ "REQUIRED_FIELD_MISSING", PT_INTERNAL },
	{ "INSUFFICIENT_ACCESS_OR_READONLY", PT_INTERNAL },
	{ "INVALID_QUERY_LOCATOR", PT_INTERNAL },
	/* transient or capacity: the customer should try again later */
	{ "REQUEST_LIMIT_EXCEEDED", PT_UPSTREAM_UNAVAILABLE },
	{ "SERVER_UNAVAILABLE", PT_UPSTREAM_UNAVAILABLE },
	{ "UNABLE_TO_LOCK_ROW", PT_UPSTREAM_UNAVAILABLE },
	{ "INVALID_SESSION_ID", PT_UPSTREAM_UNAVAILABLE },
	{ "INVALID_AUTH_HEADER", PT_UPSTREAM_UNAVAILABLE },
	/* the customer's text broke an org rule */
	{ "STRING_TOO_LONG", PT_VALIDATION_FAILED },
	{ "FIELD_CUSTOM_VALIDATION_EXCEPTION", PT_VALIDATION_FAILED },
	{ "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", PT_VALIDATION_FAILED },
	{ "INVALID_EMAIL_ADDRESS", PT_VALIDATION_FAILED },
	/* data inconsistent on Salesforce's side */
	{ "FIELD_INTEGRITY_EXCEPTION", PT_UPSTREAM_ERROR },
	{ "INVALID_CROSS_REFERENCE_KEY", PT_UPSTREAM_ERROR },
};

static enum pt_code code_by_status(long status)
{
	if (status >= 500 || status == 429 || status == 401 || status == 403 || status <= 0)
		return PT_UPSTREAM_UNAVAILABLE;
	if (status == 404)
		return PT_NOT_FOUND;
	if (status == 409)
		return PT_CONFLICT;
	return PT_UPSTREAM_ERROR;
}

static int code_token_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* The error entry to report: the first that is not PROCESSING_HALTED
 * (composite marks every innocent subrequest with it). */
static struct json_object *pick_error(struct json_object *errors)
{
	struct json_object *first = NULL;

	if (json_object_is_type(errors, json_type_object))
		return errors;
	if (!json_object_is_type(errors, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(errors) && i < 200; i++) {
		struct json_object *e = json_object_array_get_idx(errors, i);
		const char *code;
		if (!json_object_is_type(e, json_type_object))
			continue;
		code = json_str_or(e, "errorCode", json_str_or(e, "statusCode", ""));
		if (!first)
			first = e;
		if (strcmp(code, "PROCESSING_HALTED") != 0)
			return e;
	}
	return first;
}

/* Log-safe copy of Salesforce's message: printable ASCII only, truncated. */
static void safe_message(char *out, size_t outsz, const char *msg)
{
	size_t j = 0;

	for (size_t i = 0; msg && msg[i] && j + 1 < outsz && i < 160; i++)
		out[j++] = (msg[i] >= 0x20 && msg[i] < 0x7F && msg[i] != '"') ? msg[i] : ' ';
	out[j] = '\0';
}

int sf_rest_error_json(long status, struct json_object *errors, struct pt_err *err)
{
	struct json_object *e = pick_error(errors), *fields = NULL;
	const char *code = e ? json_str_or(e, "errorCode", json_str_or(e, "statusCode", "")) : "";
	enum pt_code pt = code_by_status(status);
	char scode[24], msg[168];

	if (!code_token_ok(code)) {
		snprintf(scode, sizeof scode, "%ld", status);
		code = scode;
	} else {
		for (size_t i = 0; i < sizeof sf_codes / sizeof sf_codes[0]; i++)
			if (strcmp(sf_codes[i].code, code) == 0)
				pt = sf_codes[i].pt;
	}
	safe_message(msg, sizeof msg, e ? json_str_or(e, "message", "") : "");
	pt_err_set(err, pt, "salesforce HTTP %ld %s: %s", status, code, msg);
	pt_err_provider(err, code);
	if (err && e && json_object_object_get_ex(e, "fields", &fields) &&
	    json_object_is_type(fields, json_type_array) && json_object_array_length(fields) > 0) {
		const char *f = json_object_get_string(json_object_array_get_idx(fields, 0));
		if (f && str_valid_text(f, strlen(f), 0))
			str_lcpy(err->field, f, sizeof err->field);
	}
	return -1;
}

int sf_rest_error(long status, const char *body, size_t len, struct pt_err *err)
{
	struct pt_err perr;
	struct json_object *doc = NULL;

	if (body && len > 0 && len <= ERR_BODY_MAX)
		doc = json_parse_bounded(body, len, ERR_BODY_MAX, 8, &perr);
	sf_rest_error_json(status, doc, err);
	json_object_put(doc);
	return -1;
}

/* ---- construction -------------------------------------------------------- */

/* Everything but the auth object, which the two constructors make differently. */
static struct sf_client *client_alloc(const char *api_version, long timeout_ms, int max_retries,
	struct redis *redis, struct pt_err *err)
{
	struct sf_client *c = calloc(1, sizeof *c);
	struct http_client_opts ho = { 0 };

	if (!c) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	str_lcpy(c->api_version, api_version && *api_version ? api_version : "v60.0",
		sizeof c->api_version);
	if (c->api_version[0] != 'v' || strchr(c->api_version, '/')) {
		pt_err_set(err, PT_CONFIG_INVALID, "SF_API_VERSION: expected vNN.N");
		goto fail;
	}
	ho.system = "salesforce";
	ho.total_timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	ho.connect_timeout_ms = ho.total_timeout_ms < 3000 ? ho.total_timeout_ms : 3000;
	ho.max_retries = max_retries > 0 ? max_retries : 2;
	ho.max_response = SF_REST_BODY_MAX;
	c->http = http_client_new(&ho);
	if (!c->http) {
		pt_err_set(err, PT_INTERNAL, "salesforce: http client");
		goto fail;
	}
	c->redis = redis;
	return c;
fail:
	sf_client_free(c);
	return NULL;
}

struct sf_client *sf_client_new(const struct sf_client_opts *o, struct redis *redis,
	struct pt_err *err)
{
	struct sf_client *c = client_alloc(o->api_version, o->timeout_ms, o->max_retries,
		redis, err);

	if (c && !(c->auth = sf_auth_new(&o->auth, redis, err))) {
		sf_client_free(c);
		return NULL;
	}
	return c;
}

struct sf_client *sf_client_new_config(const struct pt_config *cfg, struct redis *redis,
	struct pt_err *err)
{
	struct sf_client *c;
	long timeout = 10000;

	if (config_get_long(cfg, "SF_TIMEOUT_MS", &timeout, err))
		return NULL;
	c = client_alloc(config_get(cfg, "SF_API_VERSION"), timeout, 2, redis, err);
	if (c && !(c->auth = sf_auth_new_config(cfg, redis, err))) {
		sf_client_free(c);
		return NULL;
	}
	return c;
}

void sf_client_free(struct sf_client *c)
{
	if (!c)
		return;
	sf_auth_free(c->auth);
	http_client_free(c->http);
	free(c);
}

/* ---- one call with the 401 refresh -------------------------------------- */

struct sf_call {
	const char *method;
	const char *path;        /* absolute path on the instance, e.g. /services/data/… */
	const char *body;        /* JSON or NULL */
	int idempotent;
	const char *op;
};

static int call_once(struct sf_client *c, const struct sf_token *tok, const struct sf_call *k,
	struct http_response *resp, struct pt_err *err)
{
	struct buf url, auth;
	const char *headers[4];
	struct http_request req = { 0 };
	int rc = -1, h = 0;

	buf_init(&url, 0);
	buf_init(&auth, 0);
	if (buf_printf(&url, "%s%s", tok->instance_url, k->path) ||
	    buf_printf(&auth, "Authorization: Bearer %s", tok->access_token)) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto out;
	}
	headers[h++] = buf_cstr(&auth);
	headers[h++] = "Accept: application/json";
	if (k->body)
		headers[h++] = "Content-Type: application/json";
	headers[h] = NULL;
	req.method = k->method;
	req.url = buf_cstr(&url);
	req.headers = headers;
	req.body = k->body;
	req.body_len = k->body ? strlen(k->body) : 0;
	req.idempotent = k->idempotent;
	req.op = k->op;
	rc = http_do(c->http, &req, resp, err);
out:
	if (auth.data)
		OPENSSL_cleanse(auth.data, auth.len);
	buf_free(&auth);
	buf_free(&url);
	return rc;
}

static void set_retry_after(const struct http_response *resp, struct pt_err *err)
{
	char *end;
	long v;

	if (!err || !resp->retry_after[0])
		return;
	v = strtol(resp->retry_after, &end, 10);
	if (*end == '\0' && v > 0 && v < 86400)
		err->retry_after = (int)v;
}

/* 0 with resp holding a 2xx answer; -1 + err otherwise (resp freed). */
static int sf_do(struct sf_client *c, const struct sf_call *k, struct http_response *resp,
	struct pt_err *err)
{
	struct sf_token tok;
	int rc = -1;

	memset(resp, 0, sizeof *resp);
	if (sf_auth_token(c->auth, &tok, err))
		goto out;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (call_once(c, &tok, k, resp, err))
			goto out;
		if (resp->status != 401 || attempt == 1)
			break;
		/* Expired or revoked session: the request was not executed, so even
		 * a write is safe to send once more with a fresh token. */
		log_info("salesforce session expired, refreshing token", "system", "salesforce",
			"op", k->op);
		http_response_free(resp);
		memset(resp, 0, sizeof *resp);
		struct sf_token fresh;
		if (sf_auth_refresh(c->auth, &tok, &fresh, err))
			goto out;
		tok = fresh;
		OPENSSL_cleanse(&fresh, sizeof fresh);
	}
	if (resp->status >= 200 && resp->status < 300) {
		rc = 0;
		goto out;
	}
	sf_rest_error(resp->status, resp->body.data, resp->body.len, err);
	set_retry_after(resp, err);
	{
		char st[24];
		log_warn("salesforce call failed", "system", "salesforce", "op", k->op,
			"status", log_itoa(resp->status, st),
			"provider_code", err ? err->provider_code : "");
	}
out:
	OPENSSL_cleanse(&tok, sizeof tok);
	if (rc != 0)
		http_response_free(resp);
	return rc;
}

/* ---- query -------------------------------------------------------------- */

static int pct_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int rc;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~')
			rc = buf_putc(b, (char)ch);
		else
			rc = buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
		if (rc)
			return -1;
	}
	return 0;
}

/* nextRecordsUrl must be a path on the same instance. */
static int next_url_ok(const char *u)
{
	if (strncmp(u, "/services/data/", 15) != 0 || strstr(u, ".."))
		return 0;
	for (const char *p = u; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '.' || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

int sf_rest_parse_page(const char *body, size_t len, struct json_object *acc, size_t room,
	long *total, char *next_url, struct pt_err *err)
{
	struct pt_err perr;
	struct json_object *doc = json_parse_bounded(body, len, SF_REST_BODY_MAX,
		JSON_DEFAULT_MAX_DEPTH, &perr);
	struct json_object *recs;
	int done = 1, rc = -1;
	long ts = 0;
	const char *next = NULL;

	next_url[0] = '\0';
	if (!doc || !json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "records", &recs) ||
	    !json_object_is_type(recs, json_type_array) ||
	    json_get_bool(doc, "done", 1, &done, &perr) ||
	    json_get_int(doc, "totalSize", 1, 0, 2147483647L, &ts, &perr)) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce query: malformed response");
		pt_err_provider(err, "BAD_RESPONSE");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(recs) && i < room; i++) {
		struct json_object *r = json_object_array_get_idx(recs, i);
		if (!json_object_is_type(r, json_type_object))
			continue;
		json_object_array_add(acc, json_object_get(r));
	}
	if (!done) {
		if (json_get_str(doc, "nextRecordsUrl", 1, SF_NEXT_URL_MAX - 1, &next, &perr) ||
		    !next_url_ok(next)) {
			pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce query: bad nextRecordsUrl");
			pt_err_provider(err, "BAD_RESPONSE");
			goto out;
		}
		str_lcpy(next_url, next, SF_NEXT_URL_MAX);
	}
	if (total)
		*total = ts;
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

static int query_impl(struct sf_client *c, const char *resource, const char *soql,
	size_t max_records, struct json_object **records, long *total, struct pt_err *err)
{
	struct buf path;
	struct json_object *acc = json_object_new_array();
	struct http_response resp;
	char next[SF_NEXT_URL_MAX];
	int rc = -1, pages = 0;

	*records = NULL;
	buf_init(&path, 0);
	if (!acc || !soql || max_records > SF_REST_MAX_RECORDS) {
		pt_err_set(err, PT_INTERNAL, "salesforce query: bad arguments");
		goto out;
	}
	if (buf_printf(&path, "/services/data/%s/%s?q=", c->api_version, resource) ||
	    pct_encode(&path, soql)) {
		pt_err_set(err, PT_INTERNAL, "out of memory");
		goto out;
	}
	for (;;) {
		struct sf_call k = { "GET", buf_cstr(&path), NULL, 1, "query" };
		size_t have = json_object_array_length(acc);
		int prc;

		if (sf_do(c, &k, &resp, err))
			goto out;
		prc = sf_rest_parse_page(resp.body.data, resp.body.len, acc,
			max_records - have, pages == 0 ? total : NULL, next, err);
		http_response_free(&resp);
		if (prc)
			goto out;
		pages++;
		if (!next[0] || json_object_array_length(acc) >= max_records)
			break;
		/* Every page adds rows, so max_records bounds the pages too; this
		 * guards against a server that sends empty pages forever. */
		if (json_object_array_length(acc) == have && pages > 2) {
			pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce query: empty pages");
			goto out;
		}
		buf_reset(&path);
		if (buf_puts(&path, next)) {
			pt_err_set(err, PT_INTERNAL, "out of memory");
			goto out;
		}
	}
	*records = acc;
	acc = NULL;
	rc = 0;
out:
	json_object_put(acc);
	buf_free(&path);
	return rc;
}

int sf_rest_query(struct sf_client *c, const char *soql, size_t max_records,
	struct json_object **records, long *total, struct pt_err *err)
{
	return query_impl(c, "query", soql, max_records, records, total, err);
}

int sf_rest_query_all(struct sf_client *c, const char *soql, size_t max_records,
	struct json_object **records, long *total, struct pt_err *err)
{
	return query_impl(c, "queryAll", soql, max_records, records, total, err);
}

/* ---- sObjects ------------------------------------------------------------- */

static int sobject_path(struct sf_client *c, struct buf *path, const char *sobject,
	const char *id, struct pt_err *err)
{
	char id18[SF_ID_LEN18 + 1];

	if (!sf_soql_object_allowed(sobject))
		return pt_err_set(err, PT_INTERNAL, "salesforce: sObject not allow-listed");
	if (id && sf_soql_id_check(id, NULL, id18, err))
		return -1;
	if (buf_printf(path, "/services/data/%s/sobjects/%s/%s", c->api_version, sobject,
		id ? id18 : ""))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	return 0;
}

static struct json_object *parse_object(const char *body, size_t len, struct pt_err *err)
{
	struct pt_err perr;
	struct json_object *doc = json_parse_bounded(body, len, SF_REST_BODY_MAX,
		JSON_DEFAULT_MAX_DEPTH, &perr);

	if (!doc || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce: malformed response");
		pt_err_provider(err, "BAD_RESPONSE");
		return NULL;
	}
	return doc;
}

int sf_rest_get(struct sf_client *c, const char *sobject, const char *id,
	const char *const *fields, struct json_object **record, struct pt_err *err)
{
	struct buf path;
	struct http_response resp;
	int rc = -1;

	*record = NULL;
	buf_init(&path, 0);
	if (!id) {
		pt_err_set(err, PT_INTERNAL, "salesforce get: id required");
		goto out;
	}
	if (sobject_path(c, &path, sobject, id, err))
		goto out;
	for (size_t i = 0; fields && fields[i]; i++) {
		if (!sf_soql_field_allowed(sobject, fields[i]) || strchr(fields[i], '.')) {
			pt_err_set(err, PT_INTERNAL, "salesforce get: field not allow-listed");
			goto out;
		}
		if (buf_puts(&path, i ? "," : "?fields=") || buf_puts(&path, fields[i])) {
			pt_err_set(err, PT_INTERNAL, "out of memory");
			goto out;
		}
	}
	struct sf_call k = { "GET", buf_cstr(&path), NULL, 1, "get" };
	if (sf_do(c, &k, &resp, err))
		goto out;
	*record = parse_object(resp.body.data, resp.body.len, err);
	http_response_free(&resp);
	rc = *record ? 0 : -1;
out:
	buf_free(&path);
	return rc;
}

int sf_rest_parse_create(const char *body, size_t len, char id_out[SF_ID_LEN18 + 1],
	struct pt_err *err)
{
	struct pt_err perr;
	struct json_object *doc = parse_object(body, len, err);
	const char *id = NULL;
	int rc = -1;

	id_out[0] = '\0';
	if (!doc)
		return -1;
	if (json_get_str(doc, "id", 1, SF_ID_LEN18, &id, &perr) ||
	    sf_soql_id_check(id, NULL, id_out, &perr)) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce create: no valid id in response");
		pt_err_provider(err, "BAD_RESPONSE");
		goto out;
	}
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

int sf_rest_create(struct sf_client *c, const char *sobject, struct json_object *fields,
	char id_out[SF_ID_LEN18 + 1], struct pt_err *err)
{
	struct buf path;
	struct http_response resp;
	int rc = -1;

	id_out[0] = '\0';
	buf_init(&path, 0);
	if (!json_object_is_type(fields, json_type_object)) {
		pt_err_set(err, PT_INTERNAL, "salesforce create: fields must be an object");
		goto out;
	}
	if (sobject_path(c, &path, sobject, NULL, err))
		goto out;
	struct sf_call k = { "POST", buf_cstr(&path), json_compact(fields, NULL), 0, "create" };
	if (sf_do(c, &k, &resp, err))
		goto out;
	rc = sf_rest_parse_create(resp.body.data, resp.body.len, id_out, err);
	http_response_free(&resp);
out:
	buf_free(&path);
	return rc;
}

int sf_rest_update(struct sf_client *c, const char *sobject, const char *id,
	struct json_object *fields, struct pt_err *err)
{
	struct buf path;
	struct http_response resp;
	int rc = -1;

	buf_init(&path, 0);
	if (!id || !json_object_is_type(fields, json_type_object)) {
		pt_err_set(err, PT_INTERNAL, "salesforce update: id and fields required");
		goto out;
	}
	if (sobject_path(c, &path, sobject, id, err))
		goto out;
	struct sf_call k = { "PATCH", buf_cstr(&path), json_compact(fields, NULL), 0, "update" };
	if (sf_do(c, &k, &resp, err))
		goto out;
	http_response_free(&resp);
	rc = 0;
out:
	buf_free(&path);
	return rc;
}

/* ---- Order + OrderItems (composite, §6 A) ---------------------------------- */

static struct json_object *subrequest(const char *url, const char *ref, struct json_object *body)
{
	struct json_object *r = json_object_new_object();

	if (!r)
		return NULL;
	json_object_object_add(r, "method", json_object_new_string("POST"));
	json_object_object_add(r, "url", json_object_new_string(url));
	json_object_object_add(r, "referenceId", json_object_new_string(ref));
	json_object_object_add(r, "body", body);
	return r;
}

static struct json_object *composite_body(const char *ver, struct json_object *order,
	struct json_object *items)
{
	struct json_object *root = json_object_new_object(), *list = json_object_new_array();
	char url[96], ref[32];

	if (!root || !list)
		goto fail;
	json_object_object_add(root, "allOrNone", json_object_new_boolean(1));
	json_object_object_add(root, "compositeRequest", list);
	snprintf(url, sizeof url, "/services/data/%s/sobjects/Order", ver);
	json_object_array_add(list, subrequest(url, "refOrder", json_object_get(order)));
	snprintf(url, sizeof url, "/services/data/%s/sobjects/OrderItem", ver);
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = NULL;
		if (json_object_deep_copy(json_object_array_get_idx(items, i), &it, NULL) != 0 ||
		    !json_object_is_type(it, json_type_object)) {
			json_object_put(it);
			goto fail;
		}
		json_object_object_add(it, "OrderId", json_object_new_string("@{refOrder.id}"));
		snprintf(ref, sizeof ref, "refItem%u", (unsigned)(i & 0xFFFF));
		json_object_array_add(list, subrequest(url, ref, it));
	}
	return root;
fail:
	if (!root)
		json_object_put(list);
	json_object_put(root);
	return NULL;
}

int sf_rest_parse_composite(long status, const char *body, size_t len,
	char order_id_out[SF_ID_LEN18 + 1], struct pt_err *err)
{
	struct json_object *doc, *list, *failed = NULL;
	long failed_status = 0;
	int failed_halted = 0;
	const char *order_id = NULL;
	int rc = -1;

	order_id_out[0] = '\0';
	if (status != 200)
		return sf_rest_error(status, body, len, err);
	doc = parse_object(body, len, err);
	if (!doc)
		return -1;
	if (!json_object_object_get_ex(doc, "compositeResponse", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce composite: malformed response");
		pt_err_provider(err, "BAD_RESPONSE");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *b = NULL, *st = NULL;
		long s;
		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "httpStatusCode", &st) ||
		    !json_object_is_type(st, json_type_int))
			continue;
		s = (long)json_object_get_int64(st);
		json_object_object_get_ex(e, "body", &b);
		if (s >= 300) {
			/* Report the real failure, not the PROCESSING_HALTED echoes. */
			struct json_object *pe = pick_error(b);
			int halted = pe && strcmp(json_str_or(pe, "errorCode", ""),
				"PROCESSING_HALTED") == 0;
			if (!failed || (failed_halted && !halted)) {
				failed = b ? b : e;
				failed_status = s;
				failed_halted = halted;
			}
		} else if (strcmp(json_str_or(e, "referenceId", ""), "refOrder") == 0 &&
			   json_object_is_type(b, json_type_object)) {
			order_id = json_str_or(b, "id", NULL);
		}
	}
	if (failed) {
		sf_rest_error_json(failed_status, failed, err);
		goto out;
	}
	if (!order_id || sf_soql_id_check(order_id, "801", order_id_out, NULL)) {
		pt_err_set(err, PT_UPSTREAM_ERROR, "salesforce composite: no order id");
		pt_err_provider(err, "BAD_RESPONSE");
		goto out;
	}
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

int sf_rest_create_order(struct sf_client *c, struct json_object *order,
	struct json_object *items, char order_id_out[SF_ID_LEN18 + 1], struct pt_err *err)
{
	struct json_object *req = NULL;
	struct http_response resp;
	char path[96];
	int rc = -1;

	order_id_out[0] = '\0';
	if (!json_object_is_type(order, json_type_object) ||
	    !json_object_is_type(items, json_type_array) ||
	    json_object_array_length(items) < 1 ||
	    json_object_array_length(items) > SF_COMPOSITE_MAX_ITEMS) {
		pt_err_set(err, PT_INTERNAL, "salesforce order: 1..%d items required",
			SF_COMPOSITE_MAX_ITEMS);
		goto out;
	}
	req = composite_body(c->api_version, order, items);
	if (!req) {
		pt_err_set(err, PT_INTERNAL, "salesforce order: building request");
		goto out;
	}
	snprintf(path, sizeof path, "/services/data/%s/composite", c->api_version);
	struct sf_call k = { "POST", path, json_compact(req, NULL), 0, "create_order" };
	if (sf_do(c, &k, &resp, err))
		goto out;
	rc = sf_rest_parse_composite(resp.status, resp.body.data, resp.body.len,
		order_id_out, err);
	http_response_free(&resp);
out:
	json_object_put(req);
	return rc;
}
