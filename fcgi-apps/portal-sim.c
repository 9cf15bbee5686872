/* portal-sim.fcgi — SIM lines, usage alerts and notifications (portal-api.md
 * "SIM", resolutions §20-§23, §28). Every route is an account route: the
 * WHMCS client comes from the session only, {id} must be one of its SIM
 * services (else 404) before any line-scoped key is read, and unsafe
 * methods need the CSRF token. The work is in src/app/sim*.c. */
#include <stdlib.h>
#include <string.h>

#include "app/catalog.h"
#include "app/sim.h"
#include "app/sim_topup.h"
#include "freebit/client.h"
#include "salesforce/rest.h"
#include "web/app.h"
#include "web/guard.h"
#include "whmcs/client.h"

struct sim_app {
	struct whmcs_client *whmcs;
	struct freebit_client *fb;
	struct sf_client *sf;           /* the catalog of a plan change */
	char pricebook_id[SF_ID_LEN18 + 1];
	long gap_s;
};

/* Session, deps and (with_line) the resolved {id}. */
static int prologue(struct web_request *req, struct session *s, struct sim_deps *d,
	struct sim_line_ref *l, struct pt_err *err)
{
	struct sim_app *st = web_ctx_user(req->ctx);

	if (web_guard_require_session(req, s, err) != 0)
		return -1;
	d->db = web_ctx_db(req->ctx);
	d->redis = web_ctx_redis(req->ctx);
	d->whmcs = st->whmcs;
	d->fb = st->fb;
	d->cfg = web_ctx_config(req->ctx);
	d->gap_s = st->gap_s;
	d->sf = st->sf;
	d->pricebook_id = st->pricebook_id;
	if (!l)
		return 0;
	struct sim_who who = { s->user_id, s->whmcs_client_id, s->sf_account_id };
	return sim_resolve(d, &who, web_param(req, "id"), l, err);
}

#define PROLOGUE(line)                                                        \
	struct session s;                                                     \
	struct sim_deps d;                                                    \
	struct sim_line_ref l;                                                \
	struct json_object *out = NULL;                                       \
	if (prologue(req, &s, &d, (line) ? &l : NULL, err) != 0)              \
		return -1;                                                    \
	struct sim_who who = { s.user_id, s.whmcs_client_id, s.sf_account_id }; \
	(void)who

static int h_detail(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_details(&d, &who, &l, &out, err) != 0)
		return -1;
	return web_reply_json(req, 200, out);
}

static int h_usage(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_usage(&d, &who, &l, web_query(req, "from"), web_query(req, "to"), &out, err))
		return -1;
	return web_reply_json(req, 200, out);
}

static int h_topup(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_topup(&d, &who, &l, web_header(req, "Idempotency-Key"), req->body, req->body_len,
		&out, err) != 0)
		return -1;
	return web_reply_json(req, 200, out);
}

static int h_network(struct web_request *req, struct pt_err *err)
{
	int status = 0;

	PROLOGUE(1);
	if (sim_network_type(&d, &l, req->body, req->body_len, &status, &out, err) != 0)
		return -1;
	return web_reply_json(req, status, out);
}

static int h_plan(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_change_plan(&d, &who, &l, req->body, req->body_len, &out, err) != 0)
		return -1;
	return web_reply_json(req, 200, out);
}

static int h_voice(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_voice_options(&d, &l, req->body, req->body_len, &out, err) != 0)
		return -1;
	return web_reply_json(req, 202, out);
}

static int h_cancel(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_cancel(&d, &l, req->body, req->body_len, &out, err) != 0)
		return -1;
	return web_reply_json(req, 202, out);
}

static int h_reissue(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_reissue_esim(&d, &l, req->body, req->body_len, &out, err) != 0)
		return -1;
	return web_reply_json(req, 202, out);
}

static int h_calls(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_cdr(&d, &l, 0, web_query(req, "month"), &out, err) != 0)
		return -1;
	return web_reply_json(req, 200, out);
}

static int h_sms(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_cdr(&d, &l, 1, web_query(req, "month"), &out, err) != 0)
		return -1;
	return web_reply_json(req, 200, out);
}

static int h_alerts_get(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_alerts_get(&d, &who, &l, &out, err) != 0)
		return -1;
	return web_reply_json(req, 200, out);
}

static int h_alerts_put(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(1);
	if (sim_alerts_put(&d, &who, &l, req->body, req->body_len, &out, err) != 0)
		return -1;
	return web_reply_json(req, 200, out);
}

static int h_notifications(struct web_request *req, struct pt_err *err)
{
	PROLOGUE(0);
	if (sim_notifications(&d, &who, &out, err) != 0)
		return -1;
	long n = (long)json_object_array_length(out);
	return web_reply_list(req, out, 1, n, n);
}

static int init(struct web_ctx *ctx, struct pt_err *err)
{
	const struct pt_config *cfg = web_ctx_config(ctx);
	struct sim_app *st = calloc(1, sizeof *st);

	if (!st)
		return pt_err_set(err, PT_INTERNAL, "out of memory");
	web_ctx_set_user(ctx, st);
	if (config_get_long(cfg, "FREEBIT_CHANGE_GAP_S", &st->gap_s, err) != 0)
		return -1;
	if (!(st->whmcs = whmcs_client_from_config(cfg, err)))
		return -1;
	/* The Salesforce token is shared through Redis (sf:auth:token). */
	if (app_catalog_pricebook_from_config(cfg, st->pricebook_id, err) != 0 ||
	    !(st->sf = sf_client_new_config(cfg, web_ctx_redis(ctx), err)))
		return -1;
	/* The authKey is shared through Redis (freebit:auth:token). */
	st->fb = freebit_client_from_config(cfg, web_ctx_redis(ctx), err);
	return st->fb ? 0 : -1;
}

static void fini(struct web_ctx *ctx)
{
	struct sim_app *st = web_ctx_user(ctx);

	if (!st)
		return;
	freebit_client_free(st->fb);
	sf_client_free(st->sf);
	whmcs_client_free(st->whmcs);
	free(st);
	web_ctx_set_user(ctx, NULL);
}

static const struct web_route routes[] = {
	{ WEB_GET, "/api/sim/{id}", h_detail },
	{ WEB_GET, "/api/sim/{id}/usage", h_usage },
	{ WEB_POST, "/api/sim/{id}/top-up", h_topup },
	{ WEB_POST, "/api/sim/{id}/plan", h_plan },
	{ WEB_POST, "/api/sim/{id}/network-type", h_network },
	{ WEB_PATCH, "/api/sim/{id}/voice-options", h_voice },
	{ WEB_POST, "/api/sim/{id}/cancel", h_cancel },
	{ WEB_POST, "/api/sim/{id}/reissue-esim", h_reissue },
	{ WEB_GET, "/api/sim/{id}/calls", h_calls },
	{ WEB_GET, "/api/sim/{id}/sms", h_sms },
	{ WEB_GET, "/api/sim/{id}/alerts", h_alerts_get },
	{ WEB_PUT, "/api/sim/{id}/alerts", h_alerts_put },
	{ WEB_GET, "/api/notifications", h_notifications },
};

static const char *const required[] = {
	"DATABASE_URL", "REDIS_URL", "WHMCS_API_URL", "WHMCS_API_IDENTIFIER", "WHMCS_API_SECRET",
	"FREEBIT_BASE_URL", "FREEBIT_OEM_ID", "FREEBIT_OEM_KEY", "SF_LOGIN_URL", "SF_CLIENT_ID",
	"SF_USERNAME", "PORTAL_PRICEBOOK_ID", NULL,
};

static const struct web_app_def app = {
	.name = "portal-sim",
	.routes = routes,
	.nroutes = sizeof routes / sizeof routes[0],
	.required_keys = required,
	.init = init,
	.fini = fini,
};

int main(int argc, char **argv)
{
	return web_app_run(&app, argc, argv);
}
