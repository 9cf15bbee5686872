/* app/sim_topup — POST /api/sim/{id}/top-up (portal-api.md, resolutions
 * §23): a sim_topups row first (pending), Freebit addSpec with quotaCode
 * portal-topup-<id> (quota_added), then WHMCS AddBillableItem to the next
 * invoice (billed). Billing that fails leaves billing_pending — answered 200
 * because the quota was added — and sim_topup_bill_pending bills it later,
 * once: the row is locked (FOR UPDATE SKIP LOCKED) while WHMCS is called. */
#ifndef PT_APP_SIM_TOPUP_H
#define PT_APP_SIM_TOPUP_H

#include <json-c/json.h>

#include "app/sim.h"

enum sim_topup_state {
	SIM_TOPUP_PENDING, SIM_TOPUP_QUOTA_ADDED, SIM_TOPUP_BILLING_PENDING, SIM_TOPUP_BILLED,
	SIM_TOPUP_FAILED, SIM_TOPUP_INVALID
};
enum sim_topup_event { SIM_EV_QUOTA_OK, SIM_EV_QUOTA_FAIL, SIM_EV_BILL_OK, SIM_EV_BILL_FAIL };

/* The state machine; SIM_TOPUP_INVALID for a transition that must not happen. */
enum sim_topup_state sim_topup_next(enum sim_topup_state s, enum sim_topup_event ev);
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
	long billed, failed;
};
/* Bills every billing_pending top-up (and quota_added ones left by a crash
 * more than 10 minutes ago) exactly once. */
int sim_topup_bill_pending(struct db *db, struct whmcs_client *whmcs, struct sim_topup_stats *st,
	struct pt_err *err);

#endif
