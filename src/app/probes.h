/* probes — portal-probed's health checks (seed 000): one cheap check per
 * dependency, its latency classified against the seed's alert thresholds, the
 * result and a rolling error rate kept in Redis `probe:<system>` for /health
 * and /metrics, and one WARN/CRIT/INFO line per status change (not per tick).
 * The pure parts (classification, transitions, schedule) are unit-tested. */
#ifndef PT_APP_PROBES_H
#define PT_APP_PROBES_H
#include <time.h>
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"

struct redis;
struct db;
struct sf_client;
struct whmcs_client;
struct freebit_client;

enum probe_system {
	PROBE_SALESFORCE = 0,
	PROBE_WHMCS,
	PROBE_FREEBIT,
	PROBE_SFTP,
	PROBE_REDIS,
	PROBE_POSTGRES,
	PROBE_NSYSTEMS
};

/* resolutions.md §26; the string forms are what `probe:<system>` holds. */
enum probe_status { PROBE_UNKNOWN = 0, PROBE_OK, PROBE_DEGRADED, PROBE_DOWN };

#define PROBE_KEY_FMT "probe:%s"
#define PROBE_HISTORY_FMT "probe:%s:history"

/* "salesforce", "whmcs", "freebit", "sftp", "redis", "postgres". */
const char *probe_system_name(enum probe_system s);
/* "PROBE_INTERVAL_SALESFORCE_S"… */
const char *probe_interval_key(enum probe_system s);
const char *probe_status_name(enum probe_status st);
/* PROBE_UNKNOWN for NULL or anything not in §26. */
enum probe_status probe_status_parse(const char *s);

/* Response-time thresholds of the seed's alerting table, milliseconds. */
struct probe_thresholds {
	long warn_ms;
	long crit_ms;
};
/* PROBE_<SYSTEM>_WARN_MS / _CRIT_MS from cfg (table defaults = the seed's). */
void probe_thresholds_get(const struct pt_config *cfg, enum probe_system s,
	struct probe_thresholds *out);

/* One check's outcome. error is a fixed short phrase safe for the public
 * /health body; detail (hosts, provider messages) is for the log only. */
struct probe_result {
	enum probe_system system;
	enum probe_status status;
	int failed;               /* the check itself failed (counts in error_rate) */
	int critical;             /* latency over the critical threshold */
	long latency_ms;
	time_t checked_at;
	char error[96];
	char detail[256];
};

/* Failure → down; latency over warn → degraded (still counted a success: it
 * answered); else ok. Fills status, critical and error. */
void probe_classify(struct probe_result *r, const struct probe_thresholds *t);

/* What a change from prev to cur means for the log. */
enum probe_alert {
	PROBE_ALERT_NONE = 0,
	PROBE_ALERT_FIRST,        /* no previous result: INFO */
	PROBE_ALERT_DEGRADED,     /* WARN (CRIT when over the critical latency) */
	PROBE_ALERT_DOWN,         /* CRIT */
	PROBE_ALERT_RECOVERED,    /* INFO "probe recovered" */
};
enum probe_alert probe_transition(enum probe_status prev, enum probe_status cur);

/* Next-due schedule: due[i] is the monotonic second system i runs next.
 * Returns the index due first and sets *wait_s to how long until then (0 if
 * overdue). enabled[i] == 0 skips a system; -1 if none is enabled. */
int probe_sched_next(const time_t *due, const int *enabled, int n, time_t now, long *wait_s);

/* Everything the checks use; all borrowed. NULL client = not configured
 * (the system's result is `unknown`, "not configured"). */
struct probe_ctx {
	const struct pt_config *cfg;
	struct redis *redis;            /* where results go, and the Redis probe */
	struct db *db;
	struct sf_client *sf;
	struct whmcs_client *whmcs;
	struct freebit_client *freebit;
	long error_window;              /* PROBE_ERROR_WINDOW: checks in error_rate */
};

/* Runs system s's check now and classifies it. */
void probe_check(struct probe_ctx *ctx, enum probe_system s, struct probe_result *out);

/* Writes r to probe:<system> (status, latency_ms, checked_at, error,
 * error_rate, checks) with a TTL of four intervals, pushes it on the rolling
 * history, and returns the previous status in *prev and the error rate in
 * *rate — in one atomic script, so of several instances only the one that
 * changed the status sees the change. */
int probe_store(struct redis *redis, const struct probe_result *r, long interval_s, long window,
	enum probe_status *prev, double *rate, struct pt_err *err);

/* probe_check + probe_store + the once-per-change log line. */
void probe_run(struct probe_ctx *ctx, enum probe_system s);

#endif
