/* app/provisioning — the order-to-activation orchestration of seed 001: one
 * run per Salesforce order, steps logged by their runbook names, each step
 * recorded in provisioning_runs / provisioning_steps so a crash, a
 * redelivery or a second worker never creates a second WHMCS order and a
 * rerun resumes where the last one stopped (resolutions §1-§8). */
#ifndef PT_APP_PROVISIONING_H
#define PT_APP_PROVISIONING_H

#include <stddef.h>

#include "core/err.h"

struct db;
struct sf_client;
struct whmcs_client;
struct freebit_client;

/* Order of execution; the names are the seed's (logged verbatim) and the
 * values of provisioning_runs.step. */
enum prov_step {
	PROV_VALIDATION = 0,
	PROV_SF_STATUS_UPDATE,
	PROV_ORDER_DETAILS,
	PROV_MAPPING,
	PROV_WHMCS_CREATE,
	PROV_WHMCS_ACCEPT,
	PROV_FREEBIT_ACTIVATE,      /* SIM orders only */
	PROV_WHMCS_LINK_LINE,       /* SIM orders only */
	PROV_SF_SUCCESS_UPDATE,
	PROV_DONE,
	PROV_STEP_COUNT
};

const char *prov_step_name(enum prov_step s);
/* -1 for a name not in the list. */
int prov_step_from_name(const char *name, enum prov_step *out);
/* The step after s for this kind of order (skips the SIM steps otherwise). */
enum prov_step prov_step_next(enum prov_step s, int is_sim);
/* Whether step s runs when the order's recorded progress is `reached`:
 * the reads and the guard always run; a step with an external effect runs
 * only if it was not completed before; a finished run only re-writes
 * Salesforce's success fields. */
int prov_step_needed(enum prov_step reached, enum prov_step s);

/* What whmcs_create does given the record (resolutions §5). */
enum prov_create_action {
	PROV_CREATE_CALL,           /* never started: AddOrder */
	PROV_CREATE_SEARCH,         /* started, no id: GetOrders by note first */
	PROV_CREATE_DONE            /* id recorded: nothing to do */
};
enum prov_create_action prov_create_action(long whmcs_order_id, int create_started);

/* The Activation_Error_Code__c for a failure: MAPPING_MISSING,
 * PAYMENT_METHOD_MISSING, the provider's code ("429", "503", "ETIMEOUT"…),
 * else the portal code name. Fits Text(40). */
void prov_error_code(const struct pt_err *err, char *out, size_t size);

struct prov_ctx {
	struct db *db;
	struct sf_client *sf;
	struct whmcs_client *whmcs;
	struct freebit_client *freebit;   /* NULL: SIM orders fail at freebit_activate */
};

enum prov_outcome {
	PROV_ACTIVATED,     /* all steps done, Salesforce says Activated */
	PROV_SKIPPED,       /* not Activating: nothing to do (duplicate or stale event) */
	PROV_BUSY,          /* another worker holds this order's run */
	PROV_FAILED         /* written back as Failed; the operator retries */
};

/* Runs (or resumes) the order's provisioning. Returns the outcome (ack the
 * job), or -1 when the failure could not even be recorded (PostgreSQL or
 * Salesforce unreachable): leave the job pending for redelivery. */
int prov_run(struct prov_ctx *ctx, const char *sf_order_id, struct pt_err *err);

#endif
