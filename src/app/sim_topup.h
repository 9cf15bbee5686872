/* app/sim_topup — POST /api/sim/{id}/top-up (portal-api.md, resolutions
 * §23): a sim_topups row first (pending), Freebit addSpec with quotaCode
 * portal-topup-<id> (quota_added), then WHMCS AddBillableItem to the next
 * invoice (billed). Billing that fails leaves billing_pending — answered 200
 * because the quota was added — and sim_topup_bill_pending bills it later,
 * once: the row is locked (FOR UPDATE SKIP LOCKED) while WHMCS is called.
 * AddBillableItem is not idempotent and cannot be looked up, so only a
 * failure that certainly made no item (err->not_applied: never sent, HTTP
 * 429/503, result=error) is billing_pending; one that may have (timeout or
 * connection lost after sending, another 5xx, a garbled reply) is
 * billing_unknown: never billed again automatically, logged at crit with
 * portal-topup-<id>, settled by an operator (`portalctl topups resolve`).
 * The customer sees billing_pending for both: the quota is added, the charge
 * is not confirmed yet. */
#ifndef PT_APP_SIM_TOPUP_H
#define PT_APP_SIM_TOPUP_H

#include <json-c/json.h>

#include "app/sim.h"
#include "store/db.h"

enum sim_topup_state {
	SIM_TOPUP_PENDING, SIM_TOPUP_QUOTA_ADDED, SIM_TOPUP_BILLING_PENDING, SIM_TOPUP_BILLED,
	SIM_TOPUP_FAILED, SIM_TOPUP_BILLING_UNKNOWN, SIM_TOPUP_INVALID
};
/* BILL_FAIL: AddBillableItem certainly made no item; BILL_UNKNOWN: it may
 * have. RESOLVED_*: an operator checked WHMCS for a billing_unknown one. */
enum sim_topup_event {
	SIM_EV_QUOTA_OK, SIM_EV_QUOTA_FAIL, SIM_EV_BILL_OK, SIM_EV_BILL_FAIL, SIM_EV_BILL_UNKNOWN,
	SIM_EV_RESOLVED_BILLED, SIM_EV_RESOLVED_UNBILLED
};

/* The state machine; SIM_TOPUP_INVALID for a transition that must not happen. */
enum sim_topup_state sim_topup_next(enum sim_topup_state s, enum sim_topup_event ev);
/* The event of an AddBillableItem call that returned rc with err. */
enum sim_topup_event sim_topup_bill_event(int rc, const struct pt_err *err);
/* The status a customer is shown: billing_unknown reads billing_pending. */
const char *sim_topup_public_state(enum sim_topup_state s);
const char *sim_topup_state_name(enum sim_topup_state s);
enum sim_topup_state sim_topup_state_from(const char *name);

/* SIM_TOPUP_OPTIONS ("1024:500,3072:1200", MB:JPY): the price of quota_mb,
 * -1 when it is not offered (or the option text is malformed). */
int sim_topup_price(const char *options, long quota_mb, long *price_jpy);
/* ^[A-Za-z0-9_-]{1,64}$ */
int sim_topup_key_valid(const char *key);

int sim_topup(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *idem_key, const char *body, size_t len, struct json_object **out,
	struct pt_err *err);

struct sim_topup_stats {
	long billed, failed, unknown;
};
/* Bills every billing_pending top-up exactly once. A quota_added one left by
 * a crash more than 10 minutes ago may have been sent to WHMCS: it becomes
 * billing_unknown (counted in unknown), as does one whose call now ends with
 * an unknown outcome. billing_unknown ones are never touched. */
int sim_topup_bill_pending(struct db *db, struct whmcs_client *whmcs, struct sim_topup_stats *st,
	struct pt_err *err);

/* The billing_unknown top-ups, oldest first: id, marker (the text to search
 * WHMCS billable items for), whmcs_client_id, msisdn, quota_mb, price,
 * error_code, quota_added_at, updated_at. NULL + err on a database error. */
PGresult *sim_topup_list_unknown(struct db *db, struct pt_err *err);
/* An operator's verdict on billing_unknown top-up id after looking for
 * portal-topup-<id> in WHMCS: SIM_EV_RESOLVED_BILLED → billed,
 * SIM_EV_RESOLVED_UNBILLED → billing_pending (the next bill-pending bills it).
 * PT_NOT_FOUND when no such top-up, PT_CONFLICT when it is not
 * billing_unknown (nothing changed). */
int sim_topup_resolve(struct db *db, const char *id, enum sim_topup_event ev, struct pt_err *err);

#endif
