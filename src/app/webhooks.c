/* app/webhooks — see webhooks.h. */
#include "app/webhooks.h"

#include <stdio.h>
#include <string.h>

#include "app/billing.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "store/db.h"

static const struct {
	const char *name;
	enum webhook_kind kind;
} kinds[] = {
	{ "InvoiceCreated", WEBHOOK_INVOICE_CREATED },
	{ "InvoicePaid", WEBHOOK_INVOICE_PAID },
	{ "InvoiceCancelled", WEBHOOK_INVOICE_CANCELLED },
	{ "ClientEdit", WEBHOOK_CLIENT_EDIT },
	{ "ServiceEdit", WEBHOOK_SERVICE_EDIT },
	{ "PayMethodChanged", WEBHOOK_PAYMETHOD_CHANGED },
};

static int kind_of(const char *name, enum webhook_kind *out)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(name, kinds[i].name) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	}
	return -1;
}

static int fields(struct json_object *doc, struct webhook_event *out, struct pt_err *err)
{
	const char *id = NULL, *event = NULL;
	struct json_object *data = NULL;

	if (!json_object_is_type(doc, json_type_object))
		return pt_err_field(err, PT_VALIDATION_FAILED, "body", "not an object");
	if (json_get_str(doc, "id", 1, WEBHOOK_ID_MAX, &id, err) != 0 || !*id ||
	    !str_valid_text(id, strlen(id), 0))
		return pt_err_field(err, PT_VALIDATION_FAILED, "id", "missing or not 1..128 chars");
	if (json_get_str(doc, "event", 1, 32, &event, err) != 0 || kind_of(event, &out->kind) != 0)
		return pt_err_field(err, PT_VALIDATION_FAILED, "event", "unknown event");
	if (json_get_int(doc, "client_id", 1, 1, 2147483647L, &out->client_id, err) != 0)
		return -1;
	str_lcpy(out->id, id, sizeof out->id);
	if (json_object_object_get_ex(doc, "data", &data) &&
	    json_object_is_type(data, json_type_object) &&
	    (json_get_lenient_int(data, "invoiceid", &out->invoice_id) != 0 || out->invoice_id < 0))
		out->invoice_id = 0;
	return 0;
}

int webhook_verify(const char *secret, const char *body, size_t len, const char *sig_hex,
	long long now, struct webhook_event *out, struct pt_err *err)
{
	struct json_object *doc = NULL;
	long ts = 0;
	int rc = -1;

	memset(out, 0, sizeof *out);
	/* The signature first: nothing of an unsigned body is even parsed. */
	if (!secret || !*secret || !sig_hex || strlen(sig_hex) != 2 * CRYPTO_SHA256_LEN ||
	    !crypto_hmac_sha256_verify_hex(secret, strlen(secret), body, len, sig_hex))
		return pt_err_set(err, PT_INVALID_SIGNATURE, "bad webhook signature");
	doc = json_parse_bounded(body, len, len + 1, JSON_DEFAULT_MAX_DEPTH, err);
	if (!doc) {
		pt_err_field(err, PT_VALIDATION_FAILED, "body", "not JSON");
		goto out;
	}
	if (json_get_int(doc, "timestamp", 1, 0, 0x7fffffffL * 2, &ts, err) != 0)
		goto out;
	/* Outside the window is a replay of a captured body (or a broken clock). */
	if (ts < now - WEBHOOK_WINDOW_S || ts > now + WEBHOOK_WINDOW_S) {
		pt_err_set(err, PT_INVALID_SIGNATURE, "webhook timestamp %ld outside ±%ds of %lld",
			ts, WEBHOOK_WINDOW_S, now);
		goto out;
	}
	out->timestamp = ts;
	rc = fields(doc, out, err);
out:
	json_object_put(doc);
	return rc;
}

static int drop_caches(struct redis *r, const struct webhook_event *ev, struct pt_err *err)
{
	char suffix[48];

	switch (ev->kind) {
	case WEBHOOK_INVOICE_CREATED:
	case WEBHOOK_INVOICE_PAID:
	case WEBHOOK_INVOICE_CANCELLED:
		if (!ev->invoice_id)  /* which one is unknown: list and every detail */
			return billing_cache_drop(r, ev->client_id, "invoice", 1, err);
		snprintf(suffix, sizeof suffix, "invoice:%ld", ev->invoice_id);
		if (billing_cache_drop(r, ev->client_id, "invoices", 0, err) != 0 ||
		    billing_cache_drop(r, ev->client_id, suffix, 0, err) != 0)
			return -1;
		return 0;
	case WEBHOOK_CLIENT_EDIT:
		return billing_cache_drop(r, ev->client_id, "profile", 0, err);
	case WEBHOOK_SERVICE_EDIT:
		return billing_cache_drop(r, ev->client_id, "services", 0, err);
	case WEBHOOK_PAYMETHOD_CHANGED:
		return billing_cache_drop(r, ev->client_id, "paymethods", 0, err);
	}
	return pt_err_set(err, PT_INTERNAL, "event kind %d", (int)ev->kind);
}

int webhook_apply(struct db *db, struct redis *r, const struct webhook_event *ev,
	int *duplicate, struct pt_err *err)
{
	const char *p[] = { ev->id };
	long n;

	*duplicate = 0;
	n = db_command(db, "INSERT INTO webhook_events (event_id, source) VALUES ($1, 'whmcs') "
		"ON CONFLICT (event_id) DO NOTHING", 1, p, err);
	if (n < 0)
		return -1;
	if (n == 0) {
		*duplicate = 1;
		return 0;
	}
	if (drop_caches(r, ev, err) != 0) {
		struct pt_err de = { 0 };
		if (db_command(db, "DELETE FROM webhook_events WHERE event_id = $1", 1, p, &de) < 0)
			log_error("webhook id not forgotten after a failed invalidation",
				"event_id", ev->id, "error", de.detail);
		if (err->code != PT_MAINTENANCE) {
			err->code = PT_UPSTREAM_UNAVAILABLE;
			err->retry_after = 30;
		}
		return -1;
	}
	return 0;
}
