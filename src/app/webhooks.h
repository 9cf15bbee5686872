/* app/webhooks — WHMCS → portal webhooks (portal-api.md "Webhooks",
 * resolutions §17). They only invalidate caches: the signature (hex
 * HMAC-SHA256 of the raw body) and the ±5 min timestamp are checked before
 * anything else, the event id is recorded once in webhook_events (a repeat
 * is answered 200 and does nothing), then the client's caches named by the
 * event type are dropped. */
#ifndef PT_APP_WEBHOOKS_H
#define PT_APP_WEBHOOKS_H

#include <stddef.h>
#include "core/err.h"

struct db;
struct redis;

#define WEBHOOK_WINDOW_S 300
#define WEBHOOK_ID_MAX 128

enum webhook_kind {
	WEBHOOK_INVOICE_CREATED, WEBHOOK_INVOICE_PAID, WEBHOOK_INVOICE_CANCELLED,
	WEBHOOK_CLIENT_EDIT, WEBHOOK_SERVICE_EDIT, WEBHOOK_PAYMETHOD_CHANGED,
};

struct webhook_event {
	char id[WEBHOOK_ID_MAX + 1];
	enum webhook_kind kind;
	long long timestamp;
	long client_id;
	long invoice_id;        /* data.invoiceid, 0 when absent */
};

/* Pure: signature over the raw body (constant time) and the time window →
 * PT_INVALID_SIGNATURE; then the JSON → PT_VALIDATION_FAILED naming the
 * field. sig_hex may be NULL (missing header). */
int webhook_verify(const char *secret, const char *body, size_t len, const char *sig_hex,
	long long now, struct webhook_event *out, struct pt_err *err);

/* Records the id and drops the caches: *duplicate 1 when the id was seen
 * before (nothing done). When the caches cannot be dropped the id is
 * forgotten again, so the sender's retry is not taken for a repeat. */
int webhook_apply(struct db *db, struct redis *r, const struct webhook_event *ev,
	int *duplicate, struct pt_err *err);

#endif
