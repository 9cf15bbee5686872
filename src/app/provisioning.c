/* app/provisioning — seed 001's fulfillment orchestration (see provisioning.h).
 *
 * Exactly once: the run holds a PostgreSQL advisory lock on the order for
 * its whole length (released by PostgreSQL if the worker dies), records
 * "whmcs_create started" before AddOrder and the order id the moment it
 * returns, and a later run that finds "started" without an id adopts the
 * WHMCS order carrying the note "sf_order=<id>" before it would call
 * AddOrder again. Failures are written back and never retried here. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/provisioning.h"
#include "core/buf.h"
#include "core/log.h"
#include "domain/billing.h"
#include "domain/order.h"
#include "domain/provisioning.h"
#include "freebit/actions.h"
#include "salesforce/rest.h"
#include "store/db.h"
#include "whmcs/actions.h"

static const char *const step_names[PROV_STEP_COUNT] = {
	"validation", "sf_status_update", "order_details", "mapping", "whmcs_create",
	"whmcs_accept", "freebit_activate", "whmcs_link_line", "sf_success_update", "done",
};

const char *prov_step_name(enum prov_step s)
{
	return (unsigned)s < PROV_STEP_COUNT ? step_names[s] : "unknown";
}

int prov_step_from_name(const char *name, enum prov_step *out)
{
	for (int i = 0; name && i < PROV_STEP_COUNT; i++) {
		if (strcmp(name, step_names[i]) == 0) {
			*out = (enum prov_step)i;
			return 0;
		}
	}
	return -1;
}

enum prov_step prov_step_next(enum prov_step s, int is_sim)
{
	if (s >= PROV_DONE)
		return PROV_DONE;
	s = (enum prov_step)(s + 1);
	if (!is_sim && (s == PROV_FREEBIT_ACTIVATE || s == PROV_WHMCS_LINK_LINE))
		s = PROV_SF_SUCCESS_UPDATE;
	return s;
}

int prov_step_needed(enum prov_step reached, enum prov_step s)
{
	if (s <= PROV_ORDER_DETAILS)
		return 1;
	if (reached >= PROV_DONE)
		return s == PROV_SF_SUCCESS_UPDATE;
	if (s == PROV_MAPPING)       /* only AddOrder needs the lines */
		return reached <= PROV_WHMCS_CREATE;
	return s >= reached && s < PROV_DONE;
}

enum prov_create_action prov_create_action(long whmcs_order_id, int create_started)
{
	if (whmcs_order_id > 0)
		return PROV_CREATE_DONE;
	return create_started ? PROV_CREATE_SEARCH : PROV_CREATE_CALL;
}

void prov_error_code(const struct pt_err *err, char *out, size_t size)
{
	const char *c;

	if (err->code == PT_PAYMENT_METHOD_MISSING)
		c = "PAYMENT_METHOD_MISSING";
	else if (err->provider_code[0])
		c = err->provider_code;
	else
		c = pt_err_code_name(err->code);
	size_t n = strnlen(c, 40);

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(out, c, n);
	out[n] = '\0';
}

/* ---- one run ------------------------------------------------------------ */

struct run {
	struct prov_ctx *ctx;
	char id[19];
	enum prov_step reached;        /* recorded progress */
	long whmcs_order_id;
	int create_started;
	struct domain_prov_order order;
	struct domain_prov_line lines[DOMAIN_PROV_ITEMS_MAX];
	size_t nlines;
	unsigned long db_gen;          /* connection holding the advisory lock */
	int lock_lost;
};

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static long step_ms;

static void iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int db_cmd(struct run *r, const char *sql, int n, const char *const *p, struct pt_err *err)
{
	return db_command(r->ctx->db, sql, n, p, err) < 0 ? -1 : 0;
}

static void record_step(struct run *r, enum prov_step s, const char *status, const char *detail)
{
	struct pt_err e = { 0 };
	const char *p[] = { r->id, prov_step_name(s), status, detail ? detail : "" };

	if (db_cmd(r, "INSERT INTO provisioning_steps (sf_order_id, step, status, detail) "
		"VALUES ($1, $2, $3, NULLIF($4, ''))", 4, p, &e))
		log_warn("step not recorded", "order_id", r->id, "step", prov_step_name(s),
			"error", e.detail);
}

/* Moves the recorded progress forward (never back: a resumed run re-reads). */
static int advance(struct run *r, enum prov_step done, struct pt_err *err)
{
	enum prov_step next = prov_step_next(done, domain_prov_is_sim(&r->order));
	const char *p[] = { r->id, prov_step_name(next) };

	if (next <= r->reached)
		return 0;
	if (db_cmd(r, "UPDATE provisioning_runs SET step = $2, updated_at = now() "
		"WHERE sf_order_id = $1", 2, p, err))
		return -1;
	r->reached = next;
	return 0;
}

static void step_begin(struct run *r)
{
	step_ms = now_ms();
	(void)r;
}

/* k2 may be NULL (ends the line there), so does k. */
static void step_log2(struct run *r, enum prov_step s, const char *system, const char *status,
	const char *k, const char *v, const char *k2, const char *v2)
{
	char ms[24];

	log_info(prov_step_name(s), "order_id", r->id, "step", prov_step_name(s),
		"system", system, "latency_ms", log_itoa(now_ms() - step_ms, ms),
		"status", status, k, v, k2, v2);
}

static void step_log(struct run *r, enum prov_step s, const char *system, const char *status,
	const char *k, const char *v)
{
	step_log2(r, s, system, status, k, v, NULL, NULL);
}

/* ---- steps ------------------------------------------------------------------ */

static int sf_order_get(struct run *r, struct pt_err *err)
{
	struct json_object *rec = NULL;
	int rc = sf_rest_get(r->ctx->sf, "Order", r->id, domain_prov_guard_fields, &rec, err);

	if (rc == 0)
		rc = domain_prov_order_from_sf(rec, &r->order, err);
	json_object_put(rec);
	return rc;
}

static int run_row(struct run *r, struct pt_err *err)
{
	const char *p[] = { r->id, r->order.account_id };
	PGresult *res = db_exec(r->ctx->db,
		"INSERT INTO provisioning_runs (sf_order_id, sf_account_id) VALUES ($1, NULLIF($2, '')) "
		"ON CONFLICT (sf_order_id) DO UPDATE SET status = 'running', "
		"attempts = provisioning_runs.attempts + 1, error_code = NULL, error_message = NULL, "
		"finished_at = NULL, updated_at = now() "
		"RETURNING step, coalesce(whmcs_order_id, 0), "
		"(whmcs_create_started_at IS NOT NULL)::int", 2, p, err);

	if (!res)
		return -1;
	if (PQntuples(res) != 1 || prov_step_from_name(PQgetvalue(res, 0, 0), &r->reached)) {
		PQclear(res);
		return pt_err_set(err, PT_INTERNAL, "provisioning_runs: unexpected row");
	}
	r->whmcs_order_id = atol(PQgetvalue(res, 0, 1));
	r->create_started = atoi(PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

static int step_sf_status_update(struct run *r, struct pt_err *err)
{
	char ts[32];
	struct json_object *f;
	int rc;

	iso_now(ts);
	if (!(f = domain_order_sf_attempt(ts)))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	rc = sf_rest_update(r->ctx->sf, "Order", r->id, f, err);
	json_object_put(f);
	return rc;
}

static int step_order_details(struct run *r, struct pt_err *err)
{
	struct buf q;
	struct json_object *rows = NULL;
	int rc = -1;

	buf_init(&q, 8192);
	if (domain_prov_order_soql(&q, r->id, err) ||
	    sf_rest_query(r->ctx->sf, buf_cstr(&q), 1, &rows, NULL, err))
		goto out;
	if (json_object_array_length(rows) != 1) {
		pt_err_set(err, PT_NOT_FOUND, "order %s not found", r->id);
		goto out;
	}
	rc = domain_prov_order_from_sf(json_object_array_get_idx(rows, 0), &r->order, err);
	if (rc == 0 && r->order.whmcs_client_id <= 0) {
		pt_err_set(err, PT_VALIDATION_FAILED, "account has no WHMCS client id");
		pt_err_provider(err, "WHMCS_CLIENT_MISSING");
		rc = -1;
	}
out:
	json_object_put(rows);
	buf_free(&q);
	return rc;
}

static int step_mapping(struct run *r, struct pt_err *err)
{
	struct buf report;
	int rc;

	buf_init(&report, 2048);
	rc = domain_prov_map_items(&r->order, r->lines, &r->nlines, &report, err);
	if (rc)
		log_error("item mapping report", "order_id", r->id, "step", "mapping",
			"report", buf_cstr(&report));
	buf_free(&report);
	return rc;
}

/* resolutions §6: the default pay method's gateway, else the client's
 * defaultgateway; no pay method at all → PAYMENT_METHOD_MISSING (seed). */
static int payment_gateway(struct run *r, char *gw, size_t size, struct pt_err *err)
{
	struct domain_paymethod_list pms = { 0 };
	struct domain_profile prof;

	gw[0] = '\0';
	if (whmcs_get_paymethods(r->ctx->whmcs, r->order.whmcs_client_id, &pms, err))
		return -1;
	for (size_t i = 0; i < pms.n && !gw[0]; i++)
		snprintf(gw, size, "%s", pms.v[i].gateway);
	if (pms.n == 0) {
		domain_paymethod_list_clear(&pms);
		return pt_err_set(err, PT_PAYMENT_METHOD_MISSING,
			"WHMCS client %ld has no payment method", r->order.whmcs_client_id);
	}
	domain_paymethod_list_clear(&pms);
	if (gw[0])
		return 0;
	memset(&prof, 0, sizeof prof);
	if (whmcs_get_client_details(r->ctx->whmcs, r->order.whmcs_client_id, NULL, 0, &prof, err))
		return -1;
	snprintf(gw, size, "%s", prof.default_gateway);
	return 0;
}

static int record_whmcs_id(struct run *r, long id, struct pt_err *err)
{
	char ids[24];
	const char *p[] = { r->id, ids };

	snprintf(ids, sizeof ids, "%ld", id);
	r->whmcs_order_id = id;
	return db_cmd(r, "UPDATE provisioning_runs SET whmcs_order_id = $2, "
		"step = 'whmcs_accept', updated_at = now() WHERE sf_order_id = $1", 2, p, err);
}

static int step_whmcs_create(struct run *r, struct pt_err *err, const char **how)
{
	struct whmcs_order_line wl[DOMAIN_PROV_ITEMS_MAX];
	struct domain_whmcs_order found;
	struct domain_whmcs_order_result res;
	struct whmcs_new_order no;
	char gw[64];
	const char *p[] = { r->id };
	int hit = 0;

	switch (prov_create_action(r->whmcs_order_id, r->create_started)) {
	case PROV_CREATE_DONE:
		*how = "recorded";
		return 0;
	case PROV_CREATE_SEARCH:
		if (whmcs_find_order_by_sf_order(r->ctx->whmcs, r->order.whmcs_client_id, r->id,
			&found, &hit, err))
			return -1;
		if (hit) {
			*how = "adopted";
			return record_whmcs_id(r, found.id, err);
		}
		break;
	case PROV_CREATE_CALL:
		break;
	}
	if (payment_gateway(r, gw, sizeof gw, err))
		return -1;
	memset(wl, 0, sizeof wl);
	for (size_t i = 0; i < r->nlines; i++) {
		wl[i].pid = r->lines[i].pid;
		wl[i].billing_cycle = r->lines[i].billing_cycle;
		wl[i].qty = r->lines[i].qty;
	}
	no = (struct whmcs_new_order){ .client_id = r->order.whmcs_client_id,
		.payment_method = gw, .sf_order_id = r->id, .lines = wl, .n_lines = r->nlines };
	/* "started" is durable before the call: a crash or timeout after it
	 * makes the next run search by note instead of ordering twice. */
	if (db_cmd(r, "UPDATE provisioning_runs SET whmcs_create_started_at = now(), "
		"step = 'whmcs_create', updated_at = now() WHERE sf_order_id = $1", 1, p, err))
		return -1;
	r->create_started = 1;
	if (whmcs_add_order(r->ctx->whmcs, &no, &res, err))
		return -1;
	*how = "created";
	return record_whmcs_id(r, res.order_id, err);
}

/* A second AcceptOrder errors (resolutions §6): when the order is already
 * Active (the crashed run's call went through), that is success. */
static int step_whmcs_accept(struct run *r, struct pt_err *err)
{
	struct domain_whmcs_order o;
	struct pt_err e2 = { 0 };
	int hit = 0;

	if (whmcs_accept_order(r->ctx->whmcs, r->whmcs_order_id, err) == 0)
		return 0;
	if (whmcs_find_order_by_sf_order(r->ctx->whmcs, r->order.whmcs_client_id, r->id,
		&o, &hit, &e2) == 0 && hit && o.id == r->whmcs_order_id &&
	    strcmp(o.status, "Active") == 0) {
		pt_err_clear(err);
		return 0;
	}
	return -1;
}

static const char *sim_plan_code(const struct run *r)
{
	for (size_t i = 0; i < r->order.nitems; i++)
		if (r->order.items[i].freebit_plan_code[0])
			return r->order.items[i].freebit_plan_code;
	return NULL;
}

/* addAcnt answered 250 (line already open): done before only if the open
 * line has this order's plan (resolutions §4); another plan means the MSISDN
 * was given to a different line, which an operator must sort out. */
static int line_already_ours(struct run *r, const char *plan, struct pt_err *err)
{
	struct domain_sim_line line;

	memset(&line, 0, sizeof line);
	if (freebit_get_detail(r->ctx->freebit, r->order.sim_msisdn, &line, err))
		return -1;
	if (strcmp(line.plan_code, plan) != 0) {
		pt_err_set(err, PT_CONFLICT, "MSISDN %s is open with plan %s, not %s",
			r->order.sim_msisdn, line.plan_code, plan);
		pt_err_provider(err, "LINE_IN_USE");
		return -1;
	}
	return 0;
}

/* resolutions §4: physical SIM addAcnt, eSIM addAcnt with addKind N. */
static int step_freebit_activate(struct run *r, struct pt_err *err)
{
	const char *plan = sim_plan_code(r);
	int rc;

	if (!r->ctx->freebit)
		return pt_err_set(err, PT_INTERNAL, "Freebit client not configured");
	if (!plan || !r->order.sim_msisdn[0]) {
		pt_err_set(err, PT_VALIDATION_FAILED, "SIM order without plan code or MSISDN");
		pt_err_provider(err, "MAPPING_MISSING");
		return -1;
	}
	if (domain_prov_is_esim(&r->order))
		rc = freebit_open_esim(r->ctx->freebit, r->order.sim_msisdn, r->order.sim_eid, plan,
			err);
	else
		rc = freebit_open_line(r->ctx->freebit, r->order.sim_msisdn, plan, err);
	if (rc && strcmp(err->provider_code, "250") == 0) {
		pt_err_clear(err);
		rc = line_already_ours(r, plan, err);
	}
	return rc;
}

/* The SIM service this order created: the first of its services whose
 * product has an MSISDN custom field (an activation fee line has none). */
static const struct domain_subscription *sim_service(const struct run *r,
	const struct domain_subscription_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].order_id == r->whmcs_order_id && l->v[i].msisdn_field_id > 0)
			return &l->v[i];
	return NULL;
}

/* resolutions §4: MSISDN and SIM type into the service's custom fields. The
 * field ids differ per SIM product, so they are read by name from the
 * service itself rather than configured. Writing the same values twice is
 * harmless, so a resumed run simply writes them again. */
static int step_whmcs_link_line(struct run *r, struct pt_err *err)
{
	struct domain_subscription_list l = { 0 };
	const struct domain_subscription *svc;
	struct whmcs_kv kv[2];
	struct whmcs_service_update u = { 0 };
	int rc = -1;

	if (whmcs_get_services(r->ctx->whmcs, r->order.whmcs_client_id, 0, NULL, &l, err))
		goto out;
	svc = sim_service(r, &l);
	if (!svc) {
		pt_err_set(err, PT_VALIDATION_FAILED,
			"WHMCS order %ld has no service with an MSISDN field", r->whmcs_order_id);
		pt_err_provider(err, "MAPPING_MISSING");
		goto out;
	}
	kv[0] = (struct whmcs_kv){ svc->msisdn_field_id, r->order.sim_msisdn };
	kv[1] = (struct whmcs_kv){ svc->sim_type_field_id,
		domain_prov_is_esim(&r->order) ? "esim" : "physical" };
	u.service_id = svc->id;
	u.customfields = kv;
	u.n_customfields = svc->sim_type_field_id > 0 ? 2 : 1;
	rc = whmcs_update_client_product(r->ctx->whmcs, &u, err);
out:
	domain_subscription_list_clear(&l);
	return rc;
}

static int step_sf_success_update(struct run *r, struct pt_err *err)
{
	char id[24];
	struct json_object *f;
	const char *p[] = { r->id };
	int rc;

	snprintf(id, sizeof id, "%ld", r->whmcs_order_id);
	if (!(f = domain_order_sf_activated(id)))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	rc = sf_rest_update(r->ctx->sf, "Order", r->id, f, err);
	json_object_put(f);
	if (rc == 0)
		rc = db_cmd(r, "UPDATE provisioning_runs SET status = 'succeeded', step = 'done', "
			"finished_at = now(), updated_at = now() WHERE sf_order_id = $1", 1, p, err);
	if (rc == 0)
		r->reached = PROV_DONE;
	return rc;
}

/* ---- failure write-back ------------------------------------------------------ */

static int fail(struct run *r, enum prov_step s, const struct pt_err *cause, struct pt_err *err)
{
	char code[48], msg[200], ts[32];
	struct json_object *f;
	const char *p[] = { r->id, code, msg };
	int rc;

	prov_error_code(cause, code, sizeof code);
	/* Text(255) on the Order; the full detail is in the log line below */
	snprintf(msg, sizeof msg, "%s: %.*s", prov_step_name(s), 160, cause->detail);
	log_error("provisioning failed", "order_id", r->id, "step", prov_step_name(s),
		"error_code", code, "error", cause->detail);
	record_step(r, s, "failed", msg);
	if (db_cmd(r, "UPDATE provisioning_runs SET status = 'failed', error_code = $2, "
		"error_message = $3, finished_at = now(), updated_at = now() "
		"WHERE sf_order_id = $1", 3, p, err))
		log_warn("failure not recorded", "order_id", r->id, "error", err->detail);
	iso_now(ts);
	if (!(f = domain_order_sf_failed(code, msg, ts)))
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	rc = sf_rest_update(r->ctx->sf, "Order", r->id, f, err);
	json_object_put(f);
	if (rc) {
		log_error("failure write-back to Salesforce failed", "order_id", r->id,
			"system", "salesforce", "error", err->detail);
		return -1;
	}
	return PROV_FAILED;
}

/* ---- orchestration ------------------------------------------------------------- */

/* The advisory lock belongs to the connection that took it; db_exec
 * reconnects silently, and on a new connection another worker may already
 * hold the lock. Going on would run steps unlocked, so the run stops and the
 * job stays pending (the record says where to resume). */
static int lock_held(struct run *r, enum prov_step s, struct pt_err *err)
{
	if (db_generation(r->ctx->db) == r->db_gen)
		return 1;
	r->lock_lost = 1;
	log_error("PostgreSQL reconnected: order lock lost, run aborted", "order_id", r->id,
		"step", prov_step_name(s), "system", "postgresql");
	pt_err_set(err, PT_MAINTENANCE, "order lock lost to a PostgreSQL reconnect");
	return 0;
}

static int run_step(struct run *r, enum prov_step s, struct pt_err *err)
{
	const char *system = "salesforce", *how = NULL;
	char idbuf[24];
	int rc;

	if (!lock_held(r, s, err))
		return -1;

	if (!prov_step_needed(r->reached, s)) {
		log_info(prov_step_name(s), "order_id", r->id, "step", prov_step_name(s),
			"status", "done_before");
		return 0;
	}
	step_begin(r);
	switch (s) {
	case PROV_SF_STATUS_UPDATE: rc = step_sf_status_update(r, err); break;
	case PROV_ORDER_DETAILS: rc = step_order_details(r, err); break;
	case PROV_MAPPING: system = "portal"; rc = step_mapping(r, err); break;
	case PROV_WHMCS_CREATE: system = "whmcs"; rc = step_whmcs_create(r, err, &how); break;
	case PROV_WHMCS_ACCEPT: system = "whmcs"; rc = step_whmcs_accept(r, err); break;
	case PROV_FREEBIT_ACTIVATE: system = "freebit"; rc = step_freebit_activate(r, err); break;
	case PROV_WHMCS_LINK_LINE: system = "whmcs"; rc = step_whmcs_link_line(r, err); break;
	case PROV_SF_SUCCESS_UPDATE: rc = step_sf_success_update(r, err); break;
	default: rc = 0; break;
	}
	if (rc)
		return -1;
	snprintf(idbuf, sizeof idbuf, "%ld", r->whmcs_order_id);
	step_log2(r, s, system, "succeeded", s >= PROV_WHMCS_CREATE ? "whmcs_order_id" : NULL,
		idbuf, how ? "how" : NULL, how);
	record_step(r, s, "succeeded", how);
	return s == PROV_SF_SUCCESS_UPDATE ? 0 : advance(r, s, err);
}

/* validation: the guard of seed 001 plus the run row. 1 = go on, 0 = skip. */
static int validate(struct run *r, struct pt_err *err)
{
	step_begin(r);
	if (sf_order_get(r, err))
		return -1;
	if (strcmp(r->order.activation_status, "Activating") != 0) {
		step_log(r, PROV_VALIDATION, "salesforce", "skipped", "activation_status",
			r->order.activation_status);
		return 0;
	}
	if (run_row(r, err))
		return -1;
	step_log(r, PROV_VALIDATION, "salesforce", "succeeded", "resume_from",
		prov_step_name(r->reached));
	record_step(r, PROV_VALIDATION, "succeeded", prov_step_name(r->reached));
	return 1;
}

static int lock_order(struct run *r, int take, struct pt_err *err)
{
	const char *p[] = { r->id };
	PGresult *res = db_exec(r->ctx->db, take ?
		"SELECT pg_try_advisory_lock(8002, hashtext($1))" :
		"SELECT pg_advisory_unlock(8002, hashtext($1))", 1, p, err);
	int got;

	if (!res)
		return -1;
	got = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return got;
}

int prov_run(struct prov_ctx *ctx, const char *sf_order_id, struct pt_err *err)
{
	struct run *r = calloc(1, sizeof *r);
	struct pt_err cause = { 0 };
	enum prov_step s;
	int rc = -1, locked = 0, v;

	if (!r)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	r->ctx = ctx;
	if (sf_soql_id_check(sf_order_id, "801", r->id, err)) {
		log_error("provisioning job with an invalid order id", "step", "validation");
		rc = PROV_SKIPPED;
		goto out;
	}
	log_info("Starting fulfillment orchestration", "order_id", r->id);
	locked = lock_order(r, 1, err);
	if (locked < 0)
		goto out;
	if (!locked) {
		log_info("run in progress on another worker", "order_id", r->id);
		rc = PROV_BUSY;
		goto out;
	}
	r->db_gen = db_generation(ctx->db);
	v = validate(r, &cause);
	if (v <= 0) {
		rc = v == 0 ? PROV_SKIPPED : -1;
		if (v < 0) {
			log_error("validation failed", "order_id", r->id, "step", "validation",
				"error", cause.detail);
			*err = cause;
		}
		goto out;
	}
	for (s = PROV_SF_STATUS_UPDATE; s < PROV_DONE;
	     s = prov_step_next(s, domain_prov_is_sim(&r->order))) {
		if (run_step(r, s, &cause)) {
			if (r->lock_lost) {
				*err = cause;
				goto out;           /* -1: left pending, not Failed */
			}
			rc = fail(r, s, &cause, err);
			goto out;
		}
	}
	log_info("Activated", "order_id", r->id, "whmcs_order_id",
		log_itoa(r->whmcs_order_id, (char[24]){ 0 }));
	rc = PROV_ACTIVATED;
out:
	if (locked > 0 && !r->lock_lost && db_generation(ctx->db) == r->db_gen)
		lock_order(r, 0, &cause);
	free(r);
	return rc;
}
