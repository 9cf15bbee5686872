/* app/jobs — the delayed jobs portal-provisiond runs when they fall due
 * (store/delayed holds them): a SIM network-type change queued
 * FREEBIT_CHANGE_GAP_S after the previous change (resolutions §22), and the
 * WHMCS service update of a plan change on its effective date (§21).
 * A job is a small JSON object of our own:
 *   {"id":"<uuid>","type":"sim_network_type","msisdn":"080…","network_type":"5G"}
 *   {"id":"<uuid>","type":"whmcs_plan_change","service_id":N,"pid":N,
 *    "recurring_amount":"1980.00"}
 * Both effects are idempotent (setting a value it already has), which is
 * what makes the lease's re-run after a crash harmless.
 *
 * The network-type job keeps the gap rule of freebit.md §5: it takes the
 * line's change claim (app/sim's sim_claim) before calling Freebit; on a
 * taken claim, 240 or 241 it schedules itself again JOBS_NT_RETRY_S later
 * with "attempt":N+1 (absent = 1), and after JOBS_NT_MAX_TRIES tries gives
 * up with an ERROR "network type change abandoned". When it is over (done,
 * abandoned or refused) it drops the line's pending marker and fresh caches. */
#ifndef PT_APP_JOBS_H
#define PT_APP_JOBS_H

#include <stddef.h>

#include "core/err.h"

struct redis;
struct delayed_keys;
struct whmcs_client;
struct freebit_client;

#define JOBS_LEASE_MS_DEFAULT 600000L
#define JOBS_GAP_S_DEFAULT    1800L   /* FREEBIT_CHANGE_GAP_S's default */
#define JOBS_NT_RETRY_S       300L    /* freebit.md §5: "retries in 5 min" */
#define JOBS_NT_MAX_TRIES     12L

struct jobs_ctx {
	struct redis *redis;
	const struct delayed_keys *keys;   /* NULL = the production keys */
	struct whmcs_client *whmcs;
	struct freebit_client *freebit;    /* NULL: SIM jobs fail */
	long lease_ms;                     /* 0 → JOBS_LEASE_MS_DEFAULT */
	long gap_s;                        /* FREEBIT_CHANGE_GAP_S; 0 → JOBS_GAP_S_DEFAULT */
};

/* Payload builders for whoever schedules (the SIM API); out ≥ 256 bytes. */
int jobs_network_type_payload(const char *msisdn, const char *network_type, char *out,
	size_t size, struct pt_err *err);
int jobs_plan_change_payload(long service_id, long pid, const char *recurring_amount,
	char *out, size_t size, struct pt_err *err);

/* What a network-type try leads to (pure): rc/err of the try (claim, then
 * Freebit), attempt = which try it was (1-based). */
enum jobs_nt_next {
	JOBS_NT_DONE,      /* changed: finish */
	JOBS_NT_RETRY,     /* claim taken, 240 or 241: again in JOBS_NT_RETRY_S */
	JOBS_NT_ABANDON,   /* the same after the last try: ERROR log, finish */
	JOBS_NT_FAILED     /* any other error: finish, job filed as failed */
};
enum jobs_nt_next jobs_network_type_next(int rc, const struct pt_err *err, long attempt);

/* The payload of the next try: the same job (same id) with "attempt" one
 * more; *attempt = that number. VALIDATION_FAILED for an unreadable one. */
int jobs_network_type_retry_payload(const char *payload, char *out, size_t size,
	long *attempt, struct pt_err *err);

/* Runs one job's effect. PT_VALIDATION_FAILED for a payload we cannot read. */
int jobs_run_one(struct jobs_ctx *c, const char *payload, struct pt_err *err);

struct jobs_stats {
	long ran;        /* succeeded */
	long failed;     /* filed in the failed set */
	long requeued;   /* stale leases given back before the run */
};

/* Gives stale leases back, then pops and runs due jobs one at a time until
 * none is due or max ran (max ≤ 0: no limit). A failed job is logged and
 * filed in the failed set, never retried by itself. -1 only for Redis. */
int jobs_run_due(struct jobs_ctx *c, long long now_ms, long max, struct jobs_stats *st,
	struct pt_err *err);

long long jobs_now_ms(void);

#endif
