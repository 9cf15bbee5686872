/* app/sim — the SIM line use cases behind portal-sim.fcgi (portal-api.md
 * "SIM", freebit.md §4-§7, resolutions §20-§23, §28): {id} resolution
 * against the session's own WHMCS services, details and usage through the
 * line cache (stale copies when Freebit is down), the 30-minute gap claim,
 * the delayed network-type change, plan / voice / cancel / eSIM reissue,
 * calls and SMS from the SFTP files, usage alerts and notifications.
 * Top-ups are in app/sim_topup. The pure parts are exported for tests. */
#ifndef PT_APP_SIM_H
#define PT_APP_SIM_H

#include <stddef.h>
#include <json-c/json.h>

#include "core/config.h"
#include "core/err.h"

struct db;
struct redis;
struct whmcs_client;
struct freebit_client;
struct sf_client;

struct sim_deps {
	struct db *db;
	struct redis *redis;
	struct whmcs_client *whmcs;
	struct freebit_client *fb;
	const struct pt_config *cfg;
	long gap_s;                  /* FREEBIT_CHANGE_GAP_S */
	/* The catalog a plan change maps its plan code through (resolutions
	 * §21): Salesforce and PORTAL_PRICEBOOK_ID. */
	struct sf_client *sf;
	const char *pricebook_id;
};

/* The session's subject: ids from the session only. */
struct sim_who {
	const char *user_id;
	const char *whmcs_client_id;
	const char *sf_account_id;   /* "" / NULL: public prices */
};

/* A WHMCS service of the account that is a SIM. */
struct sim_line_ref {
	long service_id;
	char msisdn[12];
	char sim_type[10];
};

#define SIM_SERVICES_TTL_S   300          /* seed 002: services list 5 min */
#define SIM_DETAIL_TTL_S     300          /* freebit.md §6 */
#define SIM_USAGE_TTL_S      900
#define SIM_STALE_TTL_S      (7 * 86400)
#define SIM_CDR_LINE_TTL_S   (8 * 86400)  /* freebit.md §7 */
#define SIM_CDR_META_TTL_S   (7 * 86400)
#define SIM_CDR_MISSING_TTL_S 3600
#define SIM_CDR_LOCK_TTL_S   600
#define SIM_CDR_MAX_ROWS     5000

/* {id} → the line, or 404 NOT_FOUND when it is not a SIM service of the
 * session's client (never says whether it exists elsewhere). */
int sim_resolve(struct sim_deps *d, const struct sim_who *who, const char *id,
	struct sim_line_ref *out, struct pt_err *err);

/* GET /api/sim/{id}: line + traffic, stale copies when Freebit is down. */
int sim_details(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	struct json_object **out, struct pt_err *err);
/* GET /api/sim/{id}/usage?from=&to= (YYYY-MM-DD, JST; NULL = last 30 days). */
int sim_usage(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *from, const char *to, struct json_object **out, struct pt_err *err);

/* Actions: *status = the HTTP status to answer with *out. */
int sim_network_type(struct sim_deps *d, const struct sim_line_ref *l, const char *body,
	size_t len, int *status, struct json_object **out, struct pt_err *err);
/* Plan change (resolutions §21): the plan code must be a SIM plan of the
 * catalog mapped to a WHMCS product (else 400 naming plan_code); the WHMCS
 * update (that product's pid and the price the account pays) is scheduled
 * as a delayed job due on the effective date before Freebit is called, and
 * taken back when the call fails. */
int sim_change_plan(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *body, size_t len, struct json_object **out, struct pt_err *err);
int sim_voice_options(struct sim_deps *d, const struct sim_line_ref *l, const char *body,
	size_t len, struct json_object **out, struct pt_err *err);
int sim_cancel(struct sim_deps *d, const struct sim_line_ref *l, const char *body,
	size_t len, struct json_object **out, struct pt_err *err);
int sim_reissue_esim(struct sim_deps *d, const struct sim_line_ref *l, const char *body,
	size_t len, struct json_object **out, struct pt_err *err);

/* GET /api/sim/{id}/calls|sms?month=YYYY-MM. sms: 0 calls, 1 SMS. */
int sim_cdr(struct sim_deps *d, const struct sim_line_ref *l, int sms, const char *month,
	struct json_object **out, struct pt_err *err);

/* Alerts and notifications (PostgreSQL). */
int sim_alerts_get(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	struct json_object **out, struct pt_err *err);
int sim_alerts_put(struct sim_deps *d, const struct sim_who *who, const struct sim_line_ref *l,
	const char *body, size_t len, struct json_object **out, struct pt_err *err);
int sim_notifications(struct sim_deps *d, const struct sim_who *who, struct json_object **out,
	struct pt_err *err);

/* The line's change claim (freebit.md §5), shared by the routes and the
 * network-type job: SET freebit:line:<msisdn>:last_change <op>:<epoch> NX
 * EX gap_s. Taken → OPERATION_TOO_SOON (no provider code) with its TTL as
 * retry_after; Redis down → UPSTREAM_UNAVAILABLE. */
int sim_claim(struct redis *r, long gap_s, const char *msisdn, const char *op,
	struct pt_err *err);
/* After the Freebit call (rc, err its error): success or an unknown outcome
 * (ETIMEOUT) keep the claim, 241 re-sets it with EX retryAfter, any other
 * code gives it back. */
void sim_settle(struct redis *r, const char *msisdn, int rc, const struct pt_err *err);

/* Drops the line's fresh caches (never the stale copies, the claim or the
 * pending marker): after any write. */
void sim_drop_line_caches(struct redis *r, const char *msisdn);

/* ---- pure parts ---------------------------------------------------------- */

/* JST calendar date of t. */
void sim_jst_date(long long t, int *y, int *m, int *d);
/* "YYYY-MM" → year, month; -1 when malformed. */
int sim_parse_month(const char *s, int *y, int *m);
/* 1 when (y, m) is offered in JST month (ny, nm): M-13 … M-2 (freebit.md §7). */
int sim_month_offered(int y, int m, int ny, int nm);
/* Usage window: from/to "YYYY-MM-DD" or NULL (default: the 30 days up to
 * today) → "YYYYMMDD" each; from ≤ to, span ≤ 92 days, to ≤ today,
 * from ≥ the 1st of the month three months back. VALIDATION_FAILED naming
 * the field otherwise. */
int sim_usage_window(const char *from, const char *to, int ty, int tm, int td,
	char fb_from[9], char fb_to[9], struct pt_err *err);
/* Cancellation date: the month's last day, next month's on a last day. */
void sim_cancel_date(int y, int m, int d, char out[9]);
/* The 1st of next month. */
void sim_next_month_first(int y, int m, char out[9]);
/* "YYYYMMDD" → "YYYY-MM-DD". */
void sim_dashed(const char *yyyymmdd, char out[11]);

#endif
