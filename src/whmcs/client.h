/* whmcs/client — the WHMCS External API (api.php) transport: one form-encoded
 * POST per action with the API credentials, responsetype=json, the reply
 * parsed with bounds and its `result` turned into a struct pt_err.
 * Reads (Get*) may be retried by core/http; writes never are, so AddOrder,
 * AcceptOrder and AddBillableItem are sent at most once per call. */
#ifndef PT_WHMCS_CLIENT_H
#define PT_WHMCS_CLIENT_H

#include <stddef.h>
#include <json-c/json.h>
#include "core/config.h"
#include "core/err.h"

/* Largest api.php reply accepted (GetClientsProducts of a big client). */
#define WHMCS_MAX_RESPONSE (4u * 1024u * 1024u)

struct whmcs_client;

struct whmcs_client_opts {
	const char *api_url;      /* full URL of includes/api.php */
	const char *identifier;   /* API credential identifier */
	const char *secret;       /* API credential secret (never logged) */
	const char *access_key;   /* optional accesskey, NULL or "" = none */
	long timeout_ms;          /* total per call; connect = min(3000, timeout) */
	int max_retries;          /* reads only; writes are never retried */
};

/* One request parameter. `secret` marks values that must never be logged
 * (password2, card data); the client logs no values at all, the flag is
 * for callers that build their own diagnostics. */
struct whmcs_param {
	const char *key;          /* may carry PHP brackets: "pid[0]" */
	const char *value;
	int secret;
};

struct whmcs_client *whmcs_client_new(const struct whmcs_client_opts *opts, struct pt_err *err);
/* Reads WHMCS_API_URL, WHMCS_API_IDENTIFIER, WHMCS_API_SECRET,
 * WHMCS_API_ACCESS_KEY and WHMCS_TIMEOUT_MS. */
struct whmcs_client *whmcs_client_from_config(const struct pt_config *cfg, struct pt_err *err);
void whmcs_client_free(struct whmcs_client *c);

/* Calls `action` and, on `result: success`, hands the reply object to *out
 * (caller frees with json_object_put). Errors:
 *   transport / 5xx / 429 / 403 credential problems → PT_UPSTREAM_UNAVAILABLE
 *     (provider_code "429", "503", "ETIMEOUT"…; retry_after from Retry-After);
 *   `result: error` → mapped by whmcs_error_code() (message kept in detail);
 *   no `result: success` at all (GetInvoice's {"status":"error"}) → same.
 * err->not_applied (err.h) tells a write that certainly did not run — never
 * sent (core/http), HTTP 429/503/401/403, `result: error` — from one that
 * may have (timeout or connection lost after sending, another 5xx, a
 * malformed or truncated reply): only the first may be sent again. */
int whmcs_call(struct whmcs_client *c, const char *action, const struct whmcs_param *params,
	size_t n, struct json_object **out, struct pt_err *err);

/* 1 for actions that only read and may be retried (Get*). */
int whmcs_action_is_read(const char *action);

/* Maps an api.php reply (HTTP status + body) to the parsed object or an
 * error, exactly as whmcs_call does; exposed for unit tests and the fuzzer. */
int whmcs_parse_reply(long http_status, const char *body, size_t len, const char *retry_after,
	struct json_object **out, struct pt_err *err);

/* Maps a WHMCS `message` of a result=error reply to a portal error code. */
enum pt_code whmcs_error_code(const char *message);

#endif
