/* app/jobs — delayed SIM / WHMCS jobs (see jobs.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "app/jobs.h"
#include "app/sim.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "freebit/actions.h"
#include "store/cache.h"
#include "store/delayed.h"
#include "store/redis.h"
#include "whmcs/actions.h"

long long jobs_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int valid_msisdn(const char *s)
{
	return s && strlen(s) == 11 && s[0] == '0' && strspn(s, "0123456789") == 11;
}

static int valid_network_type(const char *s)
{
	return s && (strcmp(s, "4G") == 0 || strcmp(s, "5G") == 0);
}

/* Decimal text such as "1980" or "1980.00": the only thing WHMCS takes. */
static int valid_amount(const char *s)
{
	size_t n = s ? strspn(s, "0123456789") : 0;

	if (n == 0 || n > 9)
		return 0;
	if (s[n] == '\0')
		return 1;
	return s[n] == '.' && strspn(s + n + 1, "0123456789") == 2 && s[n + 3] == '\0';
}

static int emit(struct json_object *o, char *out, size_t size, struct pt_err *err)
{
	char id[37];
	size_t len = 0;
	const char *s;
	int rc = 0;

	if (rand_uuid(id)) {
		json_object_put(o);
		return pt_err_set(err, PT_INTERNAL, "no randomness for a job id");
	}
	json_object_object_add(o, "id", json_object_new_string(id));
	s = json_compact(o, &len);
	if (!s || len + 1 > size || len + 1 > DELAYED_JOB_MAX)
		rc = pt_err_set(err, PT_INTERNAL, "job payload does not fit");
	else
		memcpy(out, s, len + 1);
	json_object_put(o);
	return rc;
}

int jobs_network_type_payload(const char *msisdn, const char *network_type, char *out,
	size_t size, struct pt_err *err)
{
	struct json_object *o;

	if (!valid_msisdn(msisdn) || !valid_network_type(network_type))
		return pt_err_set(err, PT_VALIDATION_FAILED, "bad MSISDN or network type");
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("sim_network_type"));
	json_object_object_add(o, "msisdn", json_object_new_string(msisdn));
	json_object_object_add(o, "network_type", json_object_new_string(network_type));
	return emit(o, out, size, err);
}

int jobs_plan_change_payload(long service_id, long pid, const char *recurring_amount,
	char *out, size_t size, struct pt_err *err)
{
	struct json_object *o;

	if (service_id <= 0 || pid <= 0 || !valid_amount(recurring_amount))
		return pt_err_set(err, PT_VALIDATION_FAILED, "bad service, product or amount");
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("whmcs_plan_change"));
	json_object_object_add(o, "service_id", json_object_new_int64(service_id));
	json_object_object_add(o, "pid", json_object_new_int64(pid));
	json_object_object_add(o, "recurring_amount", json_object_new_string(recurring_amount));
	return emit(o, out, size, err);
}

/* ---- network type: the gap rule of freebit.md §5 ---------------------------- */

/* Our own claim taken (no provider code), Freebit's line lock (240) and its
 * "too soon" (241) all pass with time: worth another try. Anything else
 * (refused, not found, Freebit down, an unknown outcome) is not. */
static int nt_retryable(const struct pt_err *err)
{
	const char *pc = err->provider_code;

	return err->code == PT_OPERATION_TOO_SOON &&
		(!pc[0] || !strcmp(pc, "240") || !strcmp(pc, "241"));
}

enum jobs_nt_next jobs_network_type_next(int rc, const struct pt_err *err, long attempt)
{
	if (rc == 0)
		return JOBS_NT_DONE;
	if (!err || !nt_retryable(err))
		return JOBS_NT_FAILED;
	return attempt < JOBS_NT_MAX_TRIES ? JOBS_NT_RETRY : JOBS_NT_ABANDON;
}

/* "attempt" is absent on the first try (the route's payload). */
static int nt_attempt(struct json_object *o, long *attempt, struct pt_err *err)
{
	*attempt = 1;
	return json_get_int(o, "attempt", 0, 1, JOBS_NT_MAX_TRIES, attempt, err);
}

int jobs_network_type_retry_payload(const char *payload, char *out, size_t size,
	long *attempt, struct pt_err *err)
{
	struct json_object *o = json_parse_bounded(payload, strlen(payload), DELAYED_JOB_MAX, 4,
		err);
	const char *s;
	size_t len = 0;
	int rc = -1;

	if (!o)
		return -1;
	if (!json_object_is_type(o, json_type_object))
		pt_err_set(err, PT_VALIDATION_FAILED, "job is not a JSON object");
	else if (nt_attempt(o, attempt, err) == 0) {
		/* The same id: a lease re-run that schedules it again adds the
		 * very same member, which ZADD NX keeps once. */
		json_object_object_add(o, "attempt", json_object_new_int64(++*attempt));
		s = json_compact(o, &len);
		if (!s || len + 1 > size || len + 1 > DELAYED_JOB_MAX)
			pt_err_set(err, PT_INTERNAL, "job payload does not fit");
		else {
			memcpy(out, s, len + 1);
			rc = 0;
		}
	}
	json_object_put(o);
	return rc;
}

/* One try. The claim first, so the job never calls inside another change's
 * gap; it then settles on Freebit's answer exactly as the routes' does
 * (kept, re-set for 241's retryAfter, or given back). */
static int nt_try(struct jobs_ctx *c, const char *msisdn, const char *nt, struct pt_err *err)
{
	int rc;

	if (!c->freebit)
		return pt_err_set(err, PT_INTERNAL, "Freebit client not configured");
	if (sim_claim(c->redis, c->gap_s > 0 ? c->gap_s : JOBS_GAP_S_DEFAULT, msisdn,
		    "contractline", err) != 0)
		return -1;
	rc = freebit_change_network_type(c->freebit, msisdn, nt, err);
	sim_settle(c->redis, msisdn, rc, err);
	return rc;
}

/* SET …:pending: the route set it for the first due time only; while it is
 * there no second change is queued behind this one, so it must last until
 * the next try (with the route's 10 minutes to spare). */
static void nt_keep_pending(struct jobs_ctx *c, const char *msisdn, long long due_s)
{
	struct buf key;
	struct pt_err e = { 0 };
	redisReply *rep = NULL;

	buf_init(&key, CACHE_KEY_MAX);
	if (cache_key_line(&key, msisdn, "pending", &e) == 0)
		rep = redis_cmd(c->redis, &e, "SET %s %lld EX %ld", buf_cstr(&key), due_s,
			JOBS_NT_RETRY_S + 600);
	if (rep)
		freeReplyObject(rep);
	buf_free(&key);
}

/* Not this time: the same job again in 5 minutes, one try more. This run
 * itself succeeded (err cleared), so it is not filed as failed. */
static int nt_retry(struct jobs_ctx *c, const char *payload, const char *msisdn,
	struct pt_err *err)
{
	struct pt_err why = *err;
	char next[DELAYED_JOB_MAX], n[24];
	long attempt = 0;
	long long due_ms = jobs_now_ms() + JOBS_NT_RETRY_S * 1000;

	pt_err_clear(err);
	if (jobs_network_type_retry_payload(payload, next, sizeof next, &attempt, err) != 0 ||
	    delayed_schedule(c->redis, c->keys, due_ms, next, err) != 0)
		return -1;
	nt_keep_pending(c, msisdn, due_ms / 1000);
	log_warn("network type change re-scheduled", "msisdn", msisdn,
		"attempt", log_itoa(attempt, n), "provider_code",
		why.provider_code[0] ? why.provider_code : "claim", "error", why.detail);
	return 0;
}

/* The change is over, one way or the other: a new one may be queued, and
 * the line's cached detail (network type, pendingOperation) must come from
 * Freebit again (freebit.md §6: writes drop all but the stale keys). */
static void nt_finish(struct jobs_ctx *c, const char *msisdn)
{
	struct buf key;
	struct pt_err e = { 0 };
	redisReply *rep = NULL;

	buf_init(&key, CACHE_KEY_MAX);
	if (cache_key_line(&key, msisdn, "pending", &e) == 0)
		rep = redis_cmd(c->redis, &e, "DEL %s", buf_cstr(&key));
	if (rep)
		freeReplyObject(rep);
	buf_free(&key);
	if (c->redis)
		sim_drop_line_caches(c->redis, msisdn);
}

static int run_network_type(struct jobs_ctx *c, const char *payload, struct json_object *o,
	struct pt_err *err)
{
	const char *msisdn = NULL, *nt = NULL;
	char n[24];
	long attempt;
	int rc;

	if (json_get_str(o, "msisdn", 1, 11, &msisdn, err) ||
	    json_get_str(o, "network_type", 1, 2, &nt, err) || nt_attempt(o, &attempt, err))
		return -1;
	if (!valid_msisdn(msisdn) || !valid_network_type(nt))
		return pt_err_set(err, PT_VALIDATION_FAILED, "bad MSISDN or network type");
	rc = nt_try(c, msisdn, nt, err);
	switch (jobs_network_type_next(rc, err, attempt)) {
	case JOBS_NT_RETRY:
		return nt_retry(c, payload, msisdn, err);
	case JOBS_NT_ABANDON:
		/* The operator's cue (docs/operations.md): the customer's
		 * change never happened and must be re-done by hand. */
		log_error("network type change abandoned", "msisdn", msisdn,
			"network_type", nt, "attempts", log_itoa(attempt, n), "provider_code",
			err->provider_code[0] ? err->provider_code : "claim", "error", err->detail);
		break;
	case JOBS_NT_DONE:
	case JOBS_NT_FAILED:
		break;
	}
	nt_finish(c, msisdn);
	return rc;
}

static int run_plan_change(struct jobs_ctx *c, struct json_object *o, struct pt_err *err)
{
	struct whmcs_service_update u = { 0 };
	const char *amount = NULL;

	if (json_get_int(o, "service_id", 1, 1, 2147483647L, &u.service_id, err) ||
	    json_get_int(o, "pid", 1, 1, 2147483647L, &u.pid, err) ||
	    json_get_str(o, "recurring_amount", 1, 16, &amount, err))
		return -1;
	if (!valid_amount(amount))
		return pt_err_set(err, PT_VALIDATION_FAILED, "bad recurring amount");
	u.recurring_amount = amount;
	return whmcs_update_client_product(c->whmcs, &u, err);
}

int jobs_run_one(struct jobs_ctx *c, const char *payload, struct pt_err *err)
{
	struct json_object *o = json_parse_bounded(payload, strlen(payload), DELAYED_JOB_MAX, 4,
		err);
	const char *type = NULL;
	int rc = -1;

	if (!o)
		return -1;
	if (json_get_str(o, "type", 1, 32, &type, err))
		goto out;
	if (strcmp(type, "sim_network_type") == 0)
		rc = run_network_type(c, payload, o, err);
	else if (strcmp(type, "whmcs_plan_change") == 0)
		rc = run_plan_change(c, o, err);
	else
		pt_err_set(err, PT_VALIDATION_FAILED, "unknown job type %s", type);
out:
	json_object_put(o);
	return rc;
}

/* The log line names the job by type and id only: the payload holds an MSISDN. */
static void log_job(const char *msg, const char *payload, const char *error, long ms)
{
	struct json_object *o = json_tokener_parse(payload);
	char lat[24];

	log_info(msg, "job_type", json_str_or(o, "type", "unknown"),
		"job_id", json_str_or(o, "id", "unknown"), "latency_ms", log_itoa(ms, lat),
		"error", error);
	json_object_put(o);
}

int jobs_run_due(struct jobs_ctx *c, long long now_ms, long max, struct jobs_stats *st,
	struct pt_err *err)
{
	char payload[DELAYED_JOB_MAX];
	long lease = c->lease_ms > 0 ? c->lease_ms : JOBS_LEASE_MS_DEFAULT;

	memset(st, 0, sizeof *st);
	if (delayed_requeue_stale(c->redis, c->keys, now_ms, lease, &st->requeued, err))
		return -1;
	if (st->requeued)
		log_warn("delayed jobs re-queued after an expired lease", "count",
			log_itoa(st->requeued, (char[24]){ 0 }));
	while (max <= 0 || st->ran + st->failed < max) {
		struct pt_err je = { 0 };
		long long t0;
		int got = delayed_pop_due(c->redis, c->keys, now_ms, payload, sizeof payload, err);

		if (got <= 0)
			return got;
		t0 = jobs_now_ms();
		if (jobs_run_one(c, payload, &je) == 0) {
			st->ran++;
			log_job("delayed job done", payload, NULL, (long)(jobs_now_ms() - t0));
		} else {
			st->failed++;
			log_job("delayed job failed", payload, je.detail, (long)(jobs_now_ms() - t0));
		}
		if (delayed_done(c->redis, c->keys, payload, je.code != PT_OK, jobs_now_ms(), err))
			return -1;
	}
	return 0;
}
