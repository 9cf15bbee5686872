/* delayed — jobs that must not run before a given time (SIM network-type
 * changes FREEBIT_CHANGE_GAP_S later, WHMCS plan updates on the plan's
 * effective date; resolutions §21-§22). A Redis sorted set scored by the due
 * time in ms; a job is its payload text (JSON with its own id, so two equal
 * jobs never collapse into one member).
 *
 * Exactly one runner gets a due job: one Lua script takes it out of the set
 * and into the running set in the same step, so two workers polling at once
 * can never both see it. The running set is a lease: a runner that dies
 * mid-job leaves it there, and delayed_requeue_stale gives it back to the
 * set after the lease (handlers are idempotent, so a crash between the
 * effect and delayed_done at worst repeats a harmless write). */
#ifndef PT_STORE_DELAYED_H
#define PT_STORE_DELAYED_H

#include <stddef.h>

#include "core/err.h"

struct redis;

#define DELAYED_KEY         "portal:q:delayed"
#define DELAYED_RUNNING_KEY "portal:q:delayed:running"
#define DELAYED_FAILED_KEY  "portal:q:delayed:failed"
#define DELAYED_JOB_MAX     1024     /* payload bytes, NUL included */

/* keys NULL → the DELAYED_* names (tests use their own). */
struct delayed_keys {
	const char *set;
	const char *running;
	const char *failed;
};

/* ZADD NX: a payload already scheduled keeps its first due time. */
int delayed_schedule(struct redis *r, const struct delayed_keys *k, long long due_ms,
	const char *payload, struct pt_err *err);

/* The earliest job due at now_ms, moved atomically to the running set.
 * 1 = payload filled, 0 = nothing due, -1 = Redis error. A payload longer
 * than size is refused (PT_INTERNAL) and left in the running set. */
int delayed_pop_due(struct redis *r, const struct delayed_keys *k, long long now_ms,
	char *payload, size_t size, struct pt_err *err);

/* The job is finished: out of the running set; failed=1 also files it in the
 * failed set (scored by now) for the operator. */
int delayed_done(struct redis *r, const struct delayed_keys *k, const char *payload,
	int failed, long long now_ms, struct pt_err *err);

/* Running jobs whose lease began before now_ms - lease_ms go back to the set,
 * due at once. *moved = how many (may be NULL). */
int delayed_requeue_stale(struct redis *r, const struct delayed_keys *k, long long now_ms,
	long lease_ms, long *moved, struct pt_err *err);

enum delayed_state { DELAYED_WAITING, DELAYED_RUNNING, DELAYED_FAILED };

struct delayed_entry {
	enum delayed_state state;
	long long at_ms;                 /* due (waiting), lease start, failure time */
	char payload[DELAYED_JOB_MAX];
};

/* Up to max entries of each set, waiting ones first (by due time). */
int delayed_list(struct redis *r, const struct delayed_keys *k, struct delayed_entry *out,
	size_t max, size_t *n, struct pt_err *err);

const char *delayed_state_name(enum delayed_state s);

#endif
